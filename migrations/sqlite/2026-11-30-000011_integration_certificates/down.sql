DROP TABLE integration_certificates;

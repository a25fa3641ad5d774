DROP TABLE rebookings;
DROP TABLE appointments;
DROP TABLE holds;
DROP TABLE slots;
DROP TABLE sessions;
DROP TABLE rotas;

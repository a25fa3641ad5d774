DROP INDEX slots_session;
DROP INDEX sessions_retired;

DROP TRIGGER slots_offered_in_active_sessions ON slots;
DROP FUNCTION refuse_offering_in_retired_session();
DROP TRIGGER sessions_retired_offer_nothing ON sessions;
DROP FUNCTION refuse_retiring_with_offered_slots();

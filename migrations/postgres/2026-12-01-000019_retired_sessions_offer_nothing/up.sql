-- A slot is offered (neither removed nor orphaned) only in an active session. Cancelling or
-- withdrawing a session already removes its free slots and orphans the kept ones; these triggers
-- make it a rule of the database, so that the slot search need not look up each candidate's
-- session (half of what a search read).
-- Slots left offered in a retired session by an older release, if any, stop being offered.
UPDATE slots SET orphaned_at = CURRENT_TIMESTAMP AT TIME ZONE 'UTC'
WHERE removed_at IS NULL AND orphaned_at IS NULL
  AND EXISTS (SELECT 1 FROM sessions
              WHERE sessions.cluster_id = slots.cluster_id AND sessions.id = slots.session_id
                AND sessions.status <> 'active');

CREATE FUNCTION refuse_retiring_with_offered_slots() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM slots
               WHERE cluster_id = NEW.cluster_id AND session_id = NEW.id
                 AND removed_at IS NULL AND orphaned_at IS NULL) THEN
        RAISE EXCEPTION 'session % is % with slots still offered', NEW.id, NEW.status
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sessions_retired_offer_nothing AFTER UPDATE OF status ON sessions
    FOR EACH ROW WHEN (NEW.status <> 'active')
    EXECUTE FUNCTION refuse_retiring_with_offered_slots();

CREATE FUNCTION refuse_offering_in_retired_session() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path FROM CURRENT
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM sessions
               WHERE cluster_id = NEW.cluster_id AND id = NEW.session_id
                 AND status <> 'active') THEN
        RAISE EXCEPTION 'slot % offered in a session that is not active', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER slots_offered_in_active_sessions AFTER UPDATE OF removed_at, orphaned_at, session_id ON slots
    FOR EACH ROW WHEN (NEW.removed_at IS NULL AND NEW.orphaned_at IS NULL)
    EXECUTE FUNCTION refuse_offering_in_retired_session();

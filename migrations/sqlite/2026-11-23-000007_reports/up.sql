-- Reports: the withdrawn and cancelled sessions of a period, and every slot of a session (removed
-- ones included), for the capacity report's slots lost to withdrawal. The other reports use
-- slots_cluster_time and appointments_cluster_time.
CREATE INDEX sessions_retired ON sessions (cluster_id, starts_at) WHERE status <> 'active';
CREATE INDEX slots_session ON slots (cluster_id, session_id, removed_at);

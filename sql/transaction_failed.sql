-- Has backend $1's open transaction failed, so that a COMMIT will roll it back? Asked only
-- when the scheduler did not see the transaction begin. pg_stat_get_activity(pid) reads one
-- backend's entry, not the whole pg_stat_activity view.
SELECT state = 'idle in transaction (aborted)' FROM pg_catalog.pg_stat_get_activity($1::int4);

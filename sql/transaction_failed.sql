-- Has backend $1's open transaction failed, so that a COMMIT will roll it back? Asked only
-- when the scheduler did not see the transaction begin.
SELECT state = 'idle in transaction (aborted)' FROM pg_catalog.pg_stat_activity WHERE pid = $1;

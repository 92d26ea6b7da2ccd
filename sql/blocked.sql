-- Is backend $1 waiting for a lock held by (or a safe snapshot of) one of the run's sessions $2?
-- The question PostgreSQL's isolationtester asks; available to any role since PostgreSQL 10.
SELECT pg_catalog.pg_isolation_test_session_is_blocked($1::int4, $2::int4[]);

-- Does this server have the blocked probe, and which version is it (for the error message)?
SELECT to_regprocedure('pg_catalog.pg_isolation_test_session_is_blocked(integer, integer[])') IS NOT NULL, current_setting('server_version');

-- Which backends $1 waits for, to name them in the timeline.
SELECT pg_catalog.pg_blocking_pids($1::int4);

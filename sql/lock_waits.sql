-- Who waits for whom among a run's sessions ($1: their pids), on which lock, and which modes the
-- holder has on the same lock. Read on the control connection the moment a step is seen blocked
-- (--locks). It only reads pg_locks; one snapshot of it (MATERIALIZED) so the rows agree.
WITH l AS MATERIALIZED (SELECT * FROM pg_catalog.pg_locks)
SELECT w.pid, w.locktype, w.mode,
       CASE WHEN w.relation IS NOT NULL THEN w.relation::regclass::text END,
       CASE WHEN w.tuple IS NOT NULL THEN format('(%s,%s)', w.page, w.tuple) END,
       w.transactionid::text,
       b.pid,
       ARRAY(SELECT DISTINCT h.mode FROM l h WHERE h.pid = b.pid AND h.granted
             AND h.locktype = w.locktype
             AND h.database IS NOT DISTINCT FROM w.database
             AND h.relation IS NOT DISTINCT FROM w.relation
             AND h.page IS NOT DISTINCT FROM w.page
             AND h.tuple IS NOT DISTINCT FROM w.tuple
             AND h.virtualxid IS NOT DISTINCT FROM w.virtualxid
             AND h.transactionid IS NOT DISTINCT FROM w.transactionid
             AND h.classid IS NOT DISTINCT FROM w.classid
             AND h.objid IS NOT DISTINCT FROM w.objid
             AND h.objsubid IS NOT DISTINCT FROM w.objsubid
             ORDER BY h.mode),
       (SELECT format('(%s,%s) of %s', t.page, t.tuple, t.relation::regclass)
          FROM l t WHERE t.pid = w.pid AND t.locktype = 'tuple' AND t.granted LIMIT 1)
FROM l w, LATERAL unnest(pg_catalog.pg_blocking_pids(w.pid)) AS b(pid)
WHERE NOT w.granted AND w.pid = ANY($1::int4[])
ORDER BY array_position($1::int4[], w.pid), array_position($1::int4[], b.pid), b.pid;

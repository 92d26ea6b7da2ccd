-- The state of txlab's scratch database for single-spec runs, asked inside it (issue 11):
-- may this run have it (an advisory lock, held for the run), is it ours (its owner, its comment),
-- and a signature of everything a spec could leave behind in it. A database fresh from template0
-- has no object with an oid >= 16384 (FirstNormalObjectId); grants, database settings and
-- prepared transactions change the rest of the signature. The namespaces of temporary tables
-- (pg_temp_N, created once and kept by the server) do not count; their tables do.
SELECT pg_try_advisory_lock(hashtext(current_database())) AS locked,
       current_setting('is_superuser') = 'on' AS superuser,
       d.datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS mine,
       shobj_description(d.oid, 'pg_database') AS note,
       md5(concat_ws('|',
           (SELECT count(*) FROM pg_class WHERE oid >= 16384),
           (SELECT count(*) FROM pg_type WHERE oid >= 16384),
           (SELECT count(*) FROM pg_proc WHERE oid >= 16384),
           (SELECT count(*) FROM pg_namespace WHERE oid >= 16384
              AND nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%'),
           (SELECT count(*) FROM pg_extension WHERE oid >= 16384),
           (SELECT count(*) FROM pg_operator WHERE oid >= 16384),
           (SELECT count(*) FROM pg_opfamily WHERE oid >= 16384),
           (SELECT count(*) FROM pg_collation WHERE oid >= 16384),
           (SELECT count(*) FROM pg_conversion WHERE oid >= 16384),
           (SELECT count(*) FROM pg_cast WHERE oid >= 16384),
           (SELECT count(*) FROM pg_language WHERE oid >= 16384),
           (SELECT count(*) FROM pg_am WHERE oid >= 16384),
           (SELECT count(*) FROM pg_ts_config WHERE oid >= 16384),
           (SELECT count(*) FROM pg_ts_dict WHERE oid >= 16384),
           (SELECT count(*) FROM pg_trigger WHERE oid >= 16384),
           (SELECT count(*) FROM pg_rewrite WHERE oid >= 16384),
           (SELECT count(*) FROM pg_event_trigger),
           (SELECT count(*) FROM pg_publication),
           (SELECT count(*) FROM pg_foreign_data_wrapper),
           (SELECT count(*) FROM pg_foreign_server),
           (SELECT count(*) FROM pg_largeobject_metadata),
           (SELECT count(*) FROM pg_default_acl),
           (SELECT count(*) FROM pg_statistic_ext),
           (SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()),
           (SELECT string_agg(nspname || nspowner || coalesce(nspacl::text, ''), ',' ORDER BY oid)
              FROM pg_namespace
              WHERE nspname NOT LIKE 'pg\_temp\_%' AND nspname NOT LIKE 'pg\_toast\_temp\_%'),
           (SELECT string_agg(oid || relacl::text, ',' ORDER BY oid) FROM pg_class
              WHERE relacl IS NOT NULL),
           (SELECT string_agg(oid || proacl::text, ',' ORDER BY oid) FROM pg_proc
              WHERE proacl IS NOT NULL),
           concat(d.datdba, d.datacl, d.datconnlimit, d.datallowconn, d.datistemplate),
           (SELECT string_agg(setrole || setconfig::text, ',' ORDER BY setrole)
              FROM pg_db_role_setting WHERE setdatabase = d.oid)
       )) AS signature
  FROM pg_database d WHERE d.datname = current_database();

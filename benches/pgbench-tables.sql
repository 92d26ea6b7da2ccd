-- The tables txlab bench creates (src/bench/workload.rs, TABLES), in a schema of our own, for
-- pgbench's side of benches/pgbench-compare.sh and benches/client-cost.sh (one copy for both).
-- psql variable: accounts (how many accounts).
DROP SCHEMA IF EXISTS txlab_pgbench CASCADE;
CREATE SCHEMA txlab_pgbench;
SET search_path TO txlab_pgbench;
CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(14,2) NOT NULL, version bigint NOT NULL DEFAULT 0);
CREATE TABLE counter (id int PRIMARY KEY, value bigint NOT NULL, version bigint NOT NULL DEFAULT 0);
CREATE TABLE ledger (id bigserial PRIMARY KEY, from_id int, to_id int NOT NULL, amount numeric(14,2) NOT NULL);
INSERT INTO accounts (id, balance) SELECT g, 1000000.00 FROM generate_series(1, :accounts) g;
INSERT INTO counter (id, value) VALUES (1, 0);
ANALYZE accounts; ANALYZE counter;

-- The Idempotency-Key answer is stored by an INSERT … ON CONFLICT inlined in
-- the action's statement (src/idempotency.rs `store_sql`): as a SQL function
-- it was parsed and planned again on every call (fmgr_sql: 9 % of
-- PostgreSQL's CPU samples in the approvals benchmark's decision phase).
DROP FUNCTION cs_idempotency_store(text, text, text, bytea, smallint, jsonb);

-- No statistics for columns that no query filters, joins or sorts on: opaque
-- JSON and hashes. ANALYZE sorts a sample of every column with statistics,
-- and jsonb compares container by container: measured on 43k requests and
-- 59k events, ANALYZE took 601 -> 381 ms and 397 -> 291 ms. Autoanalyze runs
-- whenever a table has grown by a tenth, which a young audit log does often.
ALTER TABLE approval_requests ALTER payload SET STATISTICS 0, ALTER required SET STATISTICS 0, ALTER execution_result SET STATISTICS 0;
ALTER TABLE audit_events ALTER details SET STATISTICS 0, ALTER on_behalf_of SET STATISTICS 0, ALTER hash SET STATISTICS 0, ALTER prev_hash SET STATISTICS 0;
ALTER TABLE idempotency_keys ALTER response SET STATISTICS 0, ALTER request_hash SET STATISTICS 0;
ALTER TABLE data_exports ALTER content SET STATISTICS 0;

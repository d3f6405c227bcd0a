-- POST /v1/approvals/{id}/decisions as PostgreSQL sees it under load: the
-- reference for the approvals benchmark. The server decides concurrent
-- decisions in batches (src/batch.rs, decide_batch in
-- src/routes/approvals.rs); one pgbench transaction here is one batch of :b
-- decisions, :b being the average batch the server formed in the same run.
-- approvals.sh prepends :b staff lookups (staff.sql: each request resolves
-- its caller first, on its own).
--
-- Each client decides its own requests in turn: approvals.sh creates
-- pending one-approver refunds with ids md5('pgb-<client>-<n>'), and :i
-- counts this client's batches (pgbench variables live as long as the
-- client). Differences from the server, each making PostgreSQL here do a
-- little more: BEGIN, the scope and the locks are three messages (the server
-- sends one); the write reads the requests again (the server binds what its
-- read returned).
\set i :i + 1
\set lo (:i - 1) * :b + 1
\set hi :i * :b
BEGIN;
SELECT set_config('countersign.scope_all', :scope_all, true),
       set_config('countersign.scope_orgs', :scope_orgs, true),
       set_config('countersign.scope_regions', :scope_regions, true);
SELECT pg_advisory_xact_lock(l) FROM (
  SELECT ('x' || left(md5('pgb-' || :client_id::text || '-' || g::text), 16))::bit(64)::bigint AS l FROM generate_series(:lo::int, :hi::int) g
  UNION ALL SELECT ('x' || left(md5('key-' || :client_id::text || '-' || g::text), 16))::bit(64)::bigint FROM generate_series(:lo::int, :hi::int) g) s ORDER BY l;
WITH stored AS (
  SELECT coalesce(array_agg(k.n), '{}') AS stored_n, coalesce(array_agg(i.request_hash), '{}') AS stored_hashes,
         coalesce(array_agg(i.status), '{}') AS stored_statuses, coalesce(array_agg(i.response), '{}') AS stored_responses
    FROM unnest(array_fill(:issuer::text, ARRAY[:b::int]), array_fill(:subject::text, ARRAY[:b::int]),
                ARRAY(SELECT 'key-' || :client_id::text || '-' || g::text FROM generate_series(:lo::int, :hi::int) g)) WITH ORDINALITY AS k (issuer, subject, key, n)
    JOIN idempotency_keys i ON i.issuer = k.issuer AND i.subject = k.subject AND i.key = k.key AND i.created_at > now() - interval '24 hours')
SELECT id, org_id, kind, target_id, amount_minor, currency, payload, reason, status, version, requester_staff_id, requester_person_id,
       policy_version, required, expires_at, created_at, execution_result, region,
       coalesce((SELECT json_agg(json_build_object(
         'approver_staff_id', d.approver_staff_id, 'approver_name', s.display_name, 'on_behalf_of_staff_id', d.on_behalf_of_staff_id,
         'decision', d.decision, 'comment', d.comment, 'version_seen', d.version_seen, 'created_at', d.created_at,
         'approver_person_id', d.approver_person_id, 'on_behalf_person_id', b.person_id, 'approver_roles', d.approver_roles) ORDER BY d.created_at, d.id)
         FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id LEFT JOIN staff b ON b.id = d.on_behalf_of_staff_id
         WHERE d.request_id = approval_requests.id), '[]') AS facts, stored.*, now() AS now
  FROM approval_requests, stored
 WHERE id = ANY (ARRAY(SELECT md5('pgb-' || :client_id::text || '-' || g::text)::uuid FROM generate_series(:lo::int, :hi::int) g))
   FOR UPDATE OF approval_requests;
WITH batch AS MATERIALIZED (
  SELECT r.* FROM approval_requests r
   WHERE r.id = ANY (ARRAY(SELECT md5('pgb-' || :client_id::text || '-' || g::text)::uuid FROM generate_series(:lo::int, :hi::int) g))),
decision AS (
  INSERT INTO approval_decisions (id, org_id, region, request_id, approver_staff_id, approver_person_id, decision, comment, version_seen, approver_roles, on_behalf_of_staff_id)
  SELECT gen_random_uuid(), org_id, region, id, :staff_id::uuid, :person_id::uuid, 'approve', '', version, ARRAY(SELECT jsonb_array_elements_text('["finance_approver"]')), NULL FROM batch),
payment AS (
  INSERT INTO payments (id, org_id, region, kind, amount_minor, currency, approval_id, invoice_id, vendor_id)
  SELECT gen_random_uuid(), org_id, region, 'refund', amount_minor, currency, id, target_id, NULL FROM batch),
request AS (
  UPDATE approval_requests r SET status = 'executed', execution_result = '{"payment_id": "x"}', executed_at = now(), updated_at = now()
    FROM batch WHERE r.id = batch.id),
stored AS (
  INSERT INTO idempotency_keys AS k (issuer, subject, key, request_hash, status, response)
  SELECT :issuer::text, :subject::text, 'key-' || :client_id::text || '-' || g::text, sha256('x'), 200, '{}' FROM generate_series(:lo::int, :hi::int) g
  ON CONFLICT (issuer, subject, key) DO UPDATE SET request_hash = EXCLUDED.request_hash WHERE k.created_at <= now() - interval '24 hours'
  RETURNING true)
SELECT count(*) FROM stored;
COMMIT;
-- The audit events of the batch (decided and executed, two per decision),
-- appended as the audit writer does: one transaction that locks the chain
-- head, appends and moves the head. (The server's writer batches whatever
-- has queued, which need not be exactly one decision batch.)
BEGIN;
SELECT seq AS audit_seq, hash AS audit_prev FROM audit_chain_head FOR UPDATE \gset
INSERT INTO audit_events (seq, id, at, actor_issuer, actor_subject, actor_kind, on_behalf_of, impersonation_id, org_id, action,
    target_type, target_id, outcome, code, reason, request_id, ip, user_agent, details, prev_hash, hash)
  SELECT :audit_seq + e, gen_random_uuid(), clock_timestamp(), :issuer, :subject, 'staff', NULL, NULL, NULL,
         CASE WHEN e % 2 = 1 THEN 'approval.decided' ELSE 'approval.executed' END,
         'approval', 'pgb-' || :client_id::text || '-' || (:lo::int + (e - 1) / 2)::text, 'success', NULL, NULL, gen_random_uuid()::text, '127.0.0.1', NULL, '{}',
         :audit_prev, sha256(:audit_prev || uuid_send(gen_random_uuid()))
    FROM generate_series(1, 2 * :b::int) e;
UPDATE audit_chain_head SET seq = :audit_seq + 2 * :b::int, hash = sha256(:audit_prev || uuid_send(gen_random_uuid()));
COMMIT;

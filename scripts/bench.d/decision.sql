-- POST /v1/approvals/{id}/decisions (src/routes/approvals.rs decide) as
-- PostgreSQL alone sees it: the reference for the approvals benchmark.
-- Prepended: staff.sql (who is calling); appended: audit.sql (the audit
-- append, here one per decision; the server appends a decision's two events,
-- decided and executed, in a batch shared with other requests).
--
-- Each client decides its own requests in turn: approvals.sh creates
-- pending one-approver refunds with ids md5('pgb-<client>-<n>'), and :i
-- counts this client's decisions (pgbench variables live as long as the
-- client). The server sends BEGIN, the scope and the locks as one message;
-- pgbench sends them as three (-M prepared), so PostgreSQL does a little
-- more here than under the server.
\set i :i + 1
BEGIN;
SELECT set_config('countersign.scope_all', :scope_all, true),
       set_config('countersign.scope_orgs', :scope_orgs, true),
       set_config('countersign.scope_regions', :scope_regions, true);
SELECT pg_advisory_xact_lock(('x' || left(md5('pgb-' || :client_id::text || '-' || :i::text), 16))::bit(64)::bigint),
       pg_advisory_xact_lock(('x' || left(md5('key-' || :client_id::text || '-' || :i::text), 16))::bit(64)::bigint);
SELECT id, org_id, kind, target_id, amount_minor, currency, payload, reason, status, version, requester_staff_id, requester_person_id,
       policy_version, required, expires_at, created_at, execution_result,
       coalesce((SELECT json_agg(json_build_object(
         'approver_staff_id', d.approver_staff_id, 'approver_name', s.display_name, 'on_behalf_of_staff_id', d.on_behalf_of_staff_id,
         'decision', d.decision, 'comment', d.comment, 'version_seen', d.version_seen, 'created_at', d.created_at,
         'approver_person_id', d.approver_person_id, 'on_behalf_person_id', b.person_id, 'approver_roles', d.approver_roles) ORDER BY d.created_at, d.id)
         FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id LEFT JOIN staff b ON b.id = d.on_behalf_of_staff_id
         WHERE d.request_id = approval_requests.id), '[]') AS facts, stored.*, now() AS now
  FROM approval_requests LEFT JOIN LATERAL (
    SELECT request_hash AS stored_hash, status AS stored_status, response AS stored_response FROM idempotency_keys
     WHERE issuer = :issuer AND subject = :subject AND key = 'key-' || :client_id::text || '-' || :i::text AND created_at > now() - interval '24 hours') stored ON true
  WHERE id = md5('pgb-' || :client_id::text || '-' || :i::text)::uuid FOR UPDATE OF approval_requests;
WITH decision AS (
  INSERT INTO approval_decisions (id, org_id, region, request_id, approver_staff_id, approver_person_id, decision, comment, version_seen, approver_roles, on_behalf_of_staff_id)
  SELECT gen_random_uuid(), org_id, region, id, :staff_id::uuid, :person_id::uuid, 'approve', '', version, '{finance_approver}', NULL
    FROM approval_requests WHERE id = md5('pgb-' || :client_id::text || '-' || :i::text)::uuid),
payment AS (
  INSERT INTO payments (id, org_id, region, kind, amount_minor, currency, approval_id, invoice_id, vendor_id)
  SELECT gen_random_uuid(), o.id, o.region, 'refund', r.amount_minor, r.currency, r.id, r.target_id, NULL
    FROM approval_requests r JOIN orgs o ON o.id = r.org_id WHERE r.id = md5('pgb-' || :client_id::text || '-' || :i::text)::uuid),
request AS (
  UPDATE approval_requests SET status = 'executed', execution_result = '{"payment_id": "x"}', executed_at = now(), updated_at = now()
   WHERE id = md5('pgb-' || :client_id::text || '-' || :i::text)::uuid),
stored AS (
  INSERT INTO idempotency_keys AS k (issuer, subject, key, request_hash, status, response)
  SELECT :issuer::text, :subject::text, 'key-' || :client_id::text || '-' || :i::text, sha256('x'), 200, '{}'
  ON CONFLICT (issuer, subject, key) DO UPDATE SET request_hash = EXCLUDED.request_hash WHERE k.created_at <= now() - interval '24 hours'
  RETURNING true)
SELECT EXISTS (SELECT FROM stored);
COMMIT;

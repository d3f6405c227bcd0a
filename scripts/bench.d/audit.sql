-- Per request, after the handler: the audit event (src/audit.rs write_event
-- -> src/auditlog.rs append), as of the hash-chained audit log: its own
-- transaction that locks the chain head, appends with seq = head + 1 and
-- moves the head. Every request of every client serializes on that row lock.
--
-- The server computes SHA-256(prev_hash || canonical JSON) in Rust and binds
-- it; here Postgres hashes a random value instead (same size, about the same
-- cost, and the bench database is thrown away). @...@ are filled per endpoint
-- by server.sh with what the handler records (org, action, target).
BEGIN;
SELECT seq + 1 AS audit_seq, hash AS audit_prev, sha256(hash || uuid_send(gen_random_uuid())) AS audit_hash
  FROM audit_chain_head FOR UPDATE \gset
INSERT INTO audit_events (seq, id, at, actor_issuer, actor_subject, actor_kind, on_behalf_of, impersonation_id, org_id, action,
    target_type, target_id, outcome, code, reason, request_id, ip, user_agent, details, prev_hash, hash)
  VALUES (:audit_seq, gen_random_uuid(), clock_timestamp(), :issuer, :subject, 'staff', NULL, NULL, @ORG_ID@, @ACTION@,
    @TARGET_TYPE@, @TARGET_ID@, 'success', NULL, NULL, gen_random_uuid()::text, '127.0.0.1', NULL, '{}', :audit_prev, :audit_hash);
UPDATE audit_chain_head SET seq = :audit_seq, hash = :audit_hash;
COMMIT;

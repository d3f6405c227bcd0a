-- Per request, before anything else: who is calling (src/principal.rs,
-- resolve()), outside the request transaction. The server reads the lookups
-- of concurrent requests in one statement (lookup_batch: `IN` an unnest of
-- their identities); this is a lone request's, one lookup per transaction.
-- The last column says whether the account's activity is due to be recorded
-- (last_active_at, at most once per 5 minutes: a rare UPDATE, left out here).
SELECT id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids, approval_limits, permission_epoch, active,
       last_active_at, deactivated_at, deactivation_reason,
       active AND (last_active_at IS NULL OR last_active_at < now() - interval '300 seconds') AS record_activity
  FROM staff WHERE issuer = :issuer AND subject = :subject;

-- Per request, before anything else: who is calling (src/principal.rs,
-- resolve()), outside the request transaction. The server reads the lookups
-- of concurrent requests in one statement (lookup_batch: `IN` an unnest of
-- their identities); this is a lone request's, one lookup per transaction.
SELECT id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids, approval_limits, permission_epoch, active
  FROM staff WHERE issuer = :issuer AND subject = :subject;

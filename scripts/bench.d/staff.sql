-- Per request, before anything else: who is calling (src/principal.rs,
-- resolve()). Its own statement on a pooled connection, outside the request
-- transaction, like the server's.
SELECT id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids, approval_limits, permission_epoch, active
  FROM staff WHERE issuer = :issuer AND subject = :subject;

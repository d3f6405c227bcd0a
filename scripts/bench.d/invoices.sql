-- GET /v1/orgs/{org_id}/invoices?limit=50 (src/routes/records.rs
-- list_invoices): the request transaction with the caller's scope set
-- transaction-locally (src/db.rs begin) and the page (limit + 1 rows, to
-- know whether there is a next page). The server asks whether the org is
-- visible only when the page is empty (records.rs org_page); the bench's org
-- has a full page, so neither the server nor this script asks.
--
-- Parameters are pgbench variables (see pg_vars in server.sh), except the
-- filters the request leaves unset (status, cursor): pgbench variables cannot
-- be NULL, so those are literal NULLs where the server binds NULL. The planner
-- folds them away here; the server's generic plan keeps them as an always-true
-- filter on the same index scan.
BEGIN;
SELECT set_config('countersign.scope_all', :scope_all, true),
       set_config('countersign.scope_orgs', :scope_orgs, true),
       set_config('countersign.scope_regions', :scope_regions, true);
SELECT id, org_id, number, amount_minor, currency, status, issued_at, due_at FROM invoices
  WHERE org_id = :org_id AND (NULL::text IS NULL OR status = NULL::text)
    AND (NULL::timestamptz IS NULL OR (issued_at, id) < (NULL::timestamptz, NULL::uuid))
  ORDER BY issued_at DESC, id DESC LIMIT :inv_fetch;
COMMIT;

-- The SQL one GET /v1/sync?limit=200 runs for carl (finance_clerk, all orgs),
-- first page, in the handler's order (crates/countersign-server/src/routes/sync.rs):
-- the scope, where the page ends (the 201st change over the feeds carl reads
-- and their tombstones), one query per feed up to there, the estimate from
-- statistics (an all-org caller's first page), the tombstones.
-- server.sh wraps it in staff.sql and audit.sql; values are pgbench variables.
BEGIN;
SELECT set_config('countersign.scope_all', :scope_all, true),
       set_config('countersign.scope_orgs', :scope_orgs, true),
       set_config('countersign.scope_regions', :scope_regions, true);
SELECT change_seq AS sync_upto FROM (
  (SELECT change_seq FROM orgs WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_limit + 1)
  UNION ALL (SELECT change_seq FROM invoices WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_limit + 1)
  UNION ALL (SELECT change_seq FROM vendors WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_limit + 1)
  UNION ALL (SELECT change_seq FROM payments WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_limit + 1)
  UNION ALL (SELECT change_seq FROM sync_tombstones WHERE change_seq > :sync_after AND record_type = ANY(:sync_types) ORDER BY change_seq LIMIT :sync_limit + 1)
) s ORDER BY change_seq OFFSET :sync_limit LIMIT 1 \gset
SELECT change_seq, id, slug, name, region, support_access, created_at FROM orgs WHERE change_seq > :sync_after AND change_seq <= :sync_upto ORDER BY change_seq LIMIT :sync_limit + 1;
SELECT change_seq, id, org_id, number, amount_minor, currency, status, issued_at, due_at FROM invoices WHERE change_seq > :sync_after AND change_seq <= :sync_upto ORDER BY change_seq LIMIT :sync_limit + 1;
SELECT v.change_seq, v.id, v.org_id, v.name, v.tax_id, v.city, b.iban, b.bank_name, b.account_holder
  FROM vendors v LEFT JOIN vendor_bank_accounts b ON b.vendor_id = v.id AND b.valid_to IS NULL WHERE v.change_seq > :sync_after AND v.change_seq <= :sync_upto ORDER BY v.change_seq LIMIT :sync_limit + 1;
SELECT change_seq, id, org_id, kind, amount_minor, currency, approval_id, vendor_id, invoice_id, created_at FROM payments WHERE change_seq > :sync_after AND change_seq <= :sync_upto ORDER BY change_seq LIMIT :sync_limit + 1;
SELECT relname::text, reltuples::int8 FROM pg_class WHERE oid = ANY('{orgs,invoices,vendors,payments}'::text[]::regclass[]) AND reltuples >= 0;
SELECT change_seq, record_type, record_id, org_id FROM sync_tombstones WHERE change_seq > :sync_after AND change_seq <= :sync_upto AND record_type = ANY(:sync_types) ORDER BY change_seq LIMIT :sync_limit + 1;
COMMIT;

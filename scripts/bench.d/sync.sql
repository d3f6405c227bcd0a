-- The SQL one GET /v1/sync?limit=200 runs for carl (finance_clerk, all orgs),
-- first page, in the handler's order (crates/countersign-server/src/routes/sync.rs):
-- the scope, one change-feed query per readable record type, the tombstones.
-- server.sh wraps it in staff.sql and audit.sql; values are pgbench variables.
BEGIN;
SELECT set_config('countersign.scope_all', :scope_all, true),
       set_config('countersign.scope_orgs', :scope_orgs, true),
       set_config('countersign.scope_regions', :scope_regions, true);
SELECT change_seq, id, slug, name, region, support_access, created_at FROM orgs WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_fetch;
SELECT change_seq, id, org_id, number, amount_minor, currency, status, issued_at, due_at FROM invoices WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_fetch;
SELECT v.change_seq, v.id, v.org_id, v.name, v.tax_id, v.city, b.iban, b.bank_name, b.account_holder
  FROM vendors v LEFT JOIN vendor_bank_accounts b ON b.vendor_id = v.id AND b.valid_to IS NULL WHERE v.change_seq > :sync_after ORDER BY v.change_seq LIMIT :sync_fetch;
SELECT change_seq, id, org_id, kind, amount_minor, currency, approval_id, vendor_id, invoice_id, created_at FROM payments WHERE change_seq > :sync_after ORDER BY change_seq LIMIT :sync_fetch;
SELECT change_seq, record_type, record_id, org_id FROM sync_tombstones WHERE change_seq > :sync_after AND record_type = ANY(:sync_types) ORDER BY change_seq LIMIT :sync_fetch;
COMMIT;

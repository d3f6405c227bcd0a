-- Least privilege (issue 19, point 14): the server never deletes a bank
-- account (a change closes it with valid_to) or an idempotency answer (an
-- expired one is overwritten in place), so its role may not either.
-- tests/api/security_privileges.rs compares every grant with the allowlist
-- in tests/api/db_privileges.txt.
REVOKE DELETE ON vendor_bank_accounts FROM countersign_app;
REVOKE DELETE ON idempotency_keys FROM countersign_app;

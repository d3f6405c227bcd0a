-- Staff access review (issue 21, point 6; API.md "Staff administration").
--
-- last_active_at: when the account last made a request, recorded by the
-- staff lookup worker at most once per account every 5 minutes (so a busy
-- account costs one UPDATE per 5 minutes, not one per request); NULL = never.
-- It does not touch roles, scope, limits or active, so the epoch trigger
-- leaves permission_epoch and updated_at as they are.
--
-- deactivated_at, deactivation_reason: the last deactivation of an account
-- that is inactive now (the reason as given to POST /v1/staff/{id}/deactivate;
-- NULL when it was deactivated some other way, or before this migration).
-- Reactivation clears both; every deactivation and reactivation stays in the
-- audit log.
--
-- No grant changes: countersign_app already has SELECT, UPDATE on staff
-- (tests/api/db_privileges.txt).
ALTER TABLE staff
  ADD COLUMN last_active_at timestamptz,
  ADD COLUMN deactivated_at timestamptz,
  ADD COLUMN deactivation_reason text,
  ADD CONSTRAINT staff_deactivation_only_when_inactive
    CHECK (NOT active OR (deactivated_at IS NULL AND deactivation_reason IS NULL));

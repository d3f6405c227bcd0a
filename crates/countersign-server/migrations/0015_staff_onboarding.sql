-- Staff onboarding (issue 23, point 4; API.md "Staff administration",
-- "Identity and permissions").
--
-- access_pending: created by just-in-time provisioning and not yet decided.
-- Such an account is answered 403 access_pending on every request and is in
-- the access review (GET /v1/staff?pending=true). A pending account holds no
-- role. Any decision ends the wait: a PUT (which clears it explicitly, also
-- when it grants nothing), and any change of what the account may do, by any
-- path (API, CLI, a DBA) — the changes that bump permission_epoch
-- (staff_bump_epoch, 0001), deactivation and reactivation among them.
ALTER TABLE staff
  ADD COLUMN access_pending boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT staff_pending_holds_no_role CHECK (NOT access_pending OR roles = '{}');

-- BEFORE UPDATE triggers fire in name order: this one after staff_bump_epoch,
-- so it sees the epoch that trigger set.
CREATE FUNCTION staff_decision_ends_wait() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.permission_epoch <> OLD.permission_epoch THEN
    NEW.access_pending := false;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER staff_decision_ends_wait BEFORE UPDATE ON staff FOR EACH ROW
  EXECUTE FUNCTION staff_decision_ends_wait();

-- The server creates staff accounts in two ways: POST /v1/staff (a security
-- admin onboards someone) and just-in-time provisioning (a first sign-in of
-- an unknown identity at an issuer configured for it creates an account with
-- no roles, waiting for a decision). Its role may insert exactly the columns
-- those two write; everything else takes the table's defaults or triggers
-- (person_id: staff_default_person; permission_epoch 1; active).
-- tests/api/db_privileges.txt lists these grants.
GRANT INSERT (id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids,
              approval_limits, access_pending)
  ON staff TO countersign_app;

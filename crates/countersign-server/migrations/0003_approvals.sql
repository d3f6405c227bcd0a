-- Approvals (API.md "Approvals"): requests, every decision ever made (never
-- deleted: a cleared approval is kept, marked by the version it saw), the
-- policy version applied, and the executed effect.

-- One person may hold several staff accounts (e.g. an admin account); the
-- separation-of-duties checks compare persons, not accounts.
ALTER TABLE staff ADD COLUMN person_id uuid;
UPDATE staff SET person_id = id;
ALTER TABLE staff ALTER COLUMN person_id SET NOT NULL;
CREATE FUNCTION staff_default_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.person_id := coalesce(NEW.person_id, NEW.id);
  RETURN NEW;
END $$;
CREATE TRIGGER staff_default_person BEFORE INSERT ON staff FOR EACH ROW EXECUTE FUNCTION staff_default_person();

CREATE TABLE approval_requests (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('refund', 'credit_note', 'vendor_bank_change', 'payout_release', 'data_export')),
  target_id uuid NOT NULL,
  amount_minor bigint CHECK (amount_minor > 0),
  currency text CHECK (currency ~ '^[A-Z]{3}$'),
  payload jsonb NOT NULL DEFAULT '{}',
  reason text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'executed', 'rejected', 'cancelled', 'expired')),
  version integer NOT NULL DEFAULT 1,
  requester_staff_id uuid NOT NULL REFERENCES staff (id),
  requester_person_id uuid NOT NULL,
  policy_version text NOT NULL,
  required jsonb NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  executed_at timestamptz,
  execution_result jsonb,
  change_seq bigint NOT NULL DEFAULT nextval('change_seq'),
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE,
  CHECK ((amount_minor IS NULL) = (currency IS NULL))
);
CREATE INDEX approval_requests_org ON approval_requests (org_id, created_at DESC);
CREATE INDEX approval_requests_status ON approval_requests (status, expires_at);
-- At most one pending bank change per vendor: the payout hold keys on it.
CREATE UNIQUE INDEX approval_requests_one_bank_change ON approval_requests (target_id) WHERE kind = 'vendor_bank_change' AND status IN ('pending', 'approved');

CREATE TABLE approval_decisions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  request_id uuid NOT NULL REFERENCES approval_requests (id),
  approver_staff_id uuid NOT NULL REFERENCES staff (id),
  approver_person_id uuid NOT NULL,
  on_behalf_of_staff_id uuid REFERENCES staff (id),
  decision text NOT NULL CHECK (decision IN ('approve', 'reject')),
  comment text NOT NULL DEFAULT '',
  version_seen integer NOT NULL,
  approver_roles text[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE,
  -- One decision per person per version of a request.
  UNIQUE (request_id, version_seen, approver_person_id)
);

-- Data exports produced by an approved data_export: downloadable once, by
-- the requester, for 24 h.
CREATE TABLE data_exports (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  approval_id uuid NOT NULL REFERENCES approval_requests (id),
  requester_staff_id uuid NOT NULL REFERENCES staff (id),
  content jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  downloaded_at timestamptz,
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['approval_requests', 'approval_decisions', 'data_exports'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_scope ON %I USING (cs_in_scope(org_id, region)) WITH CHECK (cs_in_scope(org_id, region))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO countersign_app', t);
  END LOOP;
END $$;
GRANT DELETE ON vendor_bank_accounts TO countersign_app;

-- Idempotency-Key: the first response to (principal, key), for 24 h.
CREATE TABLE idempotency_keys (
  subject text NOT NULL,
  issuer text NOT NULL,
  key text NOT NULL,
  request_hash bytea NOT NULL,
  status smallint NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject, key)
);
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO countersign_app;

-- Out-of-office delegation between approvers.
CREATE TABLE delegations (
  id uuid PRIMARY KEY,
  delegator_staff_id uuid NOT NULL REFERENCES staff (id),
  delegate_staff_id uuid NOT NULL REFERENCES staff (id),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  CHECK (ends_at > starts_at),
  CHECK (delegator_staff_id <> delegate_staff_id)
);
GRANT SELECT, INSERT, UPDATE ON delegations TO countersign_app;

-- Support impersonation (API.md "Impersonation"): reasoned, scoped,
-- time-limited sessions, approved where risky, visible to the customer,
-- reviewed by a supervisor.

CREATE TABLE impersonation_sessions (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  agent_staff_id uuid NOT NULL REFERENCES staff (id),
  agent_person_id uuid NOT NULL,
  subject_user_id uuid NOT NULL REFERENCES customer_users (id),
  reason text NOT NULL,
  ticket_ref text NOT NULL,
  scope text NOT NULL CHECK (scope IN ('read', 'write')),
  duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 60),
  status text NOT NULL CHECK (status IN ('pending_approval', 'active', 'rejected', 'ended')),
  requested_at timestamptz NOT NULL DEFAULT now(),
  decided_by_staff_id uuid REFERENCES staff (id),
  decision_comment text,
  started_at timestamptz,
  expires_at timestamptz,
  ended_at timestamptz,
  ended_by_staff_id uuid REFERENCES staff (id),
  review text NOT NULL DEFAULT 'unreviewed' CHECK (review IN ('unreviewed', 'ok', 'flagged')),
  reviewed_by_staff_id uuid REFERENCES staff (id),
  review_note text,
  reviewed_at timestamptz,
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE
);
CREATE INDEX impersonation_sessions_org ON impersonation_sessions (org_id, requested_at DESC);

-- Under support_access = 'consent', an org admin grants access for a while.
CREATE TABLE support_access_grants (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  granted_by_user_id uuid NOT NULL REFERENCES customer_users (id),
  starts_at timestamptz NOT NULL DEFAULT now(),
  ends_at timestamptz NOT NULL,
  revoked_at timestamptz,
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE
);

ALTER TABLE invoices ADD COLUMN last_sent_at timestamptz;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['impersonation_sessions', 'support_access_grants'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_scope ON %I USING (cs_in_scope(org_id, region)) WITH CHECK (cs_in_scope(org_id, region))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO countersign_app', t);
  END LOOP;
END $$;

-- Countersign core schema: tenancy with row-level security, staff identity,
-- and the append-only audit table.
--
-- Tenancy key: every tenant row carries org_id AND the org's region, kept
-- consistent by a composite foreign key to orgs(id, region). Policies compare
-- both against transaction-local settings, so a staff scope of "regions" needs
-- no join per row and a missing WHERE in the server still cannot leak a row.

-- The server's login role. It owns nothing, bypasses nothing.
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'countersign_app') THEN
    CREATE ROLE countersign_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END $$;
ALTER ROLE countersign_app NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;

GRANT USAGE ON SCHEMA public TO countersign_app;

-- True when the org is inside the request's scope. Unset settings (no request
-- scope) yield empty sets and therefore false: fail closed.
CREATE FUNCTION cs_in_scope(o uuid, r text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('countersign.scope_all', true), '') = 'on'
      OR o = ANY (coalesce(nullif(current_setting('countersign.scope_orgs', true), ''), '{}')::uuid[])
      OR r = ANY (coalesce(nullif(current_setting('countersign.scope_regions', true), ''), '{}')::text[])
$$;

CREATE TABLE orgs (
  id uuid PRIMARY KEY,
  org_id uuid GENERATED ALWAYS AS (id) STORED NOT NULL,
  region text NOT NULL CHECK (region IN ('EU', 'US')),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name text NOT NULL,
  support_access text NOT NULL DEFAULT 'open' CHECK (support_access IN ('open', 'consent')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (id, region)
);
CREATE INDEX orgs_name ON orgs (name, id);

CREATE TABLE customer_users (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  name text NOT NULL,
  email text NOT NULL,
  phone text NOT NULL,
  street text NOT NULL,
  city text NOT NULL,
  role text NOT NULL CHECK (role IN ('member', 'org_admin')),
  idp_issuer text,
  idp_subject text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE,
  UNIQUE (idp_issuer, idp_subject)
);
CREATE INDEX customer_users_org ON customer_users (org_id, name, id);

CREATE TABLE invoices (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  number text NOT NULL,
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  status text NOT NULL CHECK (status IN ('open', 'paid', 'void')),
  issued_at timestamptz NOT NULL,
  due_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE,
  UNIQUE (org_id, number)
);
CREATE INDEX invoices_org ON invoices (org_id, issued_at DESC, id DESC);

CREATE TABLE vendors (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  name text NOT NULL,
  tax_id text NOT NULL,
  street text NOT NULL,
  city text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE,
  UNIQUE (id, org_id)
);
CREATE INDEX vendors_org ON vendors (org_id, name, id);

-- Bank accounts are history: a change closes the current row (valid_to) and
-- adds a new one, so the old account is never lost.
CREATE TABLE vendor_bank_accounts (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  vendor_id uuid NOT NULL,
  iban text NOT NULL,
  bank_name text NOT NULL,
  account_holder text NOT NULL,
  valid_from timestamptz NOT NULL DEFAULT now(),
  valid_to timestamptz,
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE,
  FOREIGN KEY (vendor_id, org_id) REFERENCES vendors (id, org_id)
);
CREATE UNIQUE INDEX vendor_bank_accounts_current ON vendor_bank_accounts (vendor_id) WHERE valid_to IS NULL;

CREATE TABLE payments (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL,
  region text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('refund', 'credit_note', 'payout')),
  amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  approval_id uuid,
  vendor_id uuid REFERENCES vendors (id),
  invoice_id uuid REFERENCES invoices (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (org_id, region) REFERENCES orgs (id, region) ON UPDATE CASCADE
);
CREATE INDEX payments_org ON payments (org_id, created_at DESC, id DESC);

-- Every tenant table: RLS enabled and forced, one policy for reads and writes.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['orgs', 'customer_users', 'invoices', 'vendors', 'vendor_bank_accounts', 'payments'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_scope ON %I USING (cs_in_scope(org_id, region)) WITH CHECK (cs_in_scope(org_id, region))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO countersign_app', t);
  END LOOP;
END $$;

-- Staff are the platform's own people, not tenant data. Identity is
-- (issuer, subject); e-mail is informational only.
CREATE TABLE staff (
  id uuid PRIMARY KEY,
  issuer text NOT NULL,
  subject text NOT NULL,
  display_name text NOT NULL,
  email text NOT NULL,
  roles text[] NOT NULL DEFAULT '{}',
  scope_all boolean NOT NULL DEFAULT false,
  scope_regions text[] NOT NULL DEFAULT '{}',
  scope_org_ids uuid[] NOT NULL DEFAULT '{}',
  approval_limits jsonb NOT NULL DEFAULT '{}',
  permission_epoch bigint NOT NULL DEFAULT 1,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (issuer, subject)
);
GRANT SELECT, UPDATE ON staff TO countersign_app;

-- Any change to what a staff member may do bumps their epoch, whoever makes it
-- (API, CLI or a DBA), so clients always learn to discard their cache.
CREATE FUNCTION staff_bump_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.roles IS DISTINCT FROM OLD.roles
     OR NEW.scope_all IS DISTINCT FROM OLD.scope_all
     OR NEW.scope_regions IS DISTINCT FROM OLD.scope_regions
     OR NEW.scope_org_ids IS DISTINCT FROM OLD.scope_org_ids
     OR NEW.approval_limits IS DISTINCT FROM OLD.approval_limits
     OR NEW.active IS DISTINCT FROM OLD.active THEN
    NEW.permission_epoch := OLD.permission_epoch + 1;
    NEW.updated_at := now();
  ELSE
    NEW.permission_epoch := OLD.permission_epoch;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER staff_bump_epoch BEFORE UPDATE ON staff FOR EACH ROW EXECUTE FUNCTION staff_bump_epoch();

-- One row per request, allowed or denied. The server may only append:
-- no UPDATE/DELETE/TRUNCATE grant, and a trigger refuses them anyway.
-- Events are hash-chained (hash = SHA-256(prev_hash || canonical(event)),
-- computed by the appender, see src/audit.rs) and `seq` is gapless: the
-- appender assigns it under the chain head's row lock.
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY CHECK (seq > 0),
  id uuid NOT NULL UNIQUE,
  at timestamptz NOT NULL,
  actor_issuer text,
  actor_subject text,
  actor_kind text CHECK (actor_kind IN ('staff', 'customer', 'service')),
  on_behalf_of jsonb,
  impersonation_id uuid,
  org_id uuid,
  action text NOT NULL,
  target_type text,
  target_id text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'denied', 'error')),
  code text,
  reason text,
  request_id text NOT NULL,
  ip text,
  user_agent text,
  details jsonb NOT NULL DEFAULT '{}',
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL
);
CREATE INDEX audit_events_request ON audit_events (request_id);
CREATE INDEX audit_events_actor ON audit_events (actor_subject, at);
CREATE INDEX audit_events_org ON audit_events (org_id, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id);
CREATE INDEX audit_events_impersonation ON audit_events (impersonation_id) WHERE impersonation_id IS NOT NULL;

-- The chain's head: one row, locked by every append.
CREATE TABLE audit_chain_head (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  seq bigint NOT NULL,
  hash bytea NOT NULL
);
INSERT INTO audit_chain_head VALUES (true, 0, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- Signed statements "the chain up to seq N ends in hash H", written on a
-- schedule even when nothing happened, so a removed tail is detectable.
CREATE TABLE audit_checkpoints (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  last_seq bigint NOT NULL,
  last_hash bytea NOT NULL,
  key_id text NOT NULL,
  signature bytea NOT NULL
);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- Reading the log is scoped like everything else: staff with all-org scope
-- see every event; others see events of orgs they can see.
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_append ON audit_events FOR INSERT WITH CHECK (true);
CREATE POLICY audit_read ON audit_events FOR SELECT USING (
  coalesce(current_setting('countersign.scope_all', true), '') = 'on'
  OR (org_id IS NOT NULL AND EXISTS (SELECT 1 FROM orgs o WHERE o.id = audit_events.org_id))
);
GRANT SELECT, INSERT ON audit_events TO countersign_app;
GRANT SELECT, UPDATE ON audit_chain_head TO countersign_app;
GRANT SELECT, INSERT ON audit_checkpoints TO countersign_app;

-- The one lookup that must cross tenants: which customer account a verified
-- (issuer, subject) belongs to, before any scope exists. Returns that row only.
CREATE FUNCTION cs_customer_identity(iss text, sub text)
RETURNS TABLE (user_id uuid, org_id uuid, name text, email text, role text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
  SELECT id, org_id, name, email, role FROM public.customer_users WHERE idp_issuer = iss AND idp_subject = sub
$$;
REVOKE ALL ON FUNCTION cs_customer_identity(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cs_customer_identity(text, text) TO countersign_app;

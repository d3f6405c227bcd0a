-- The sync feed (GET /v1/sync): every tenant row carries a change_seq from
-- one global sequence, bumped on every write; deletions and moves between
-- orgs/regions leave a tombstone under the *old* org and region, so whoever
-- could see the record before learns that it is gone for them.

CREATE SEQUENCE change_seq;
GRANT USAGE ON SEQUENCE change_seq TO countersign_app;

CREATE FUNCTION bump_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := nextval('change_seq');
  RETURN NEW;
END $$;

CREATE TABLE sync_tombstones (
  record_type text NOT NULL,
  record_id uuid NOT NULL,
  org_id uuid NOT NULL,
  region text NOT NULL,
  change_seq bigint NOT NULL DEFAULT nextval('change_seq')
);
CREATE INDEX sync_tombstones_seq ON sync_tombstones (change_seq);
ALTER TABLE sync_tombstones ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_tombstones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_scope ON sync_tombstones USING (cs_in_scope(org_id, region)) WITH CHECK (cs_in_scope(org_id, region));
GRANT SELECT, INSERT ON sync_tombstones TO countersign_app;

-- Tombstones are written with the privileges of the table owner: the old
-- org is, by definition, possibly outside the writer's scope by now.
CREATE FUNCTION leave_tombstone() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.org_id IS DISTINCT FROM OLD.org_id OR NEW.region IS DISTINCT FROM OLD.region THEN
    INSERT INTO public.sync_tombstones (record_type, record_id, org_id, region) VALUES (TG_ARGV[0], OLD.id, OLD.org_id, OLD.region);
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE t text[];
BEGIN
  FOREACH t SLICE 1 IN ARRAY ARRAY[['orgs','org'], ['customer_users','user'], ['invoices','invoice'], ['vendors','vendor'], ['payments','payment']] LOOP
    EXECUTE format('ALTER TABLE %I ADD COLUMN change_seq bigint NOT NULL DEFAULT nextval(''change_seq'')', t[1]);
    EXECUTE format('CREATE INDEX %I ON %I (change_seq)', t[1] || '_change_seq', t[1]);
    EXECUTE format('CREATE TRIGGER bump_change_seq BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION bump_change_seq()', t[1]);
    EXECUTE format('CREATE TRIGGER leave_tombstone AFTER UPDATE OR DELETE ON %I FOR EACH ROW EXECUTE FUNCTION leave_tombstone(%L)', t[1], t[2]);
  END LOOP;
END $$;

-- A vendor's bank account is part of the vendor record in the feed.
CREATE FUNCTION touch_vendor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE vendors SET change_seq = nextval('change_seq') WHERE id = NEW.vendor_id;
  RETURN NULL;
END $$;
CREATE TRIGGER touch_vendor AFTER INSERT OR UPDATE ON vendor_bank_accounts FOR EACH ROW EXECUTE FUNCTION touch_vendor();

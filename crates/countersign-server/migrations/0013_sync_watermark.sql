-- Sync never skips a late commit (issue 20, point 6).
--
-- change_seq is taken when a row is written, not when its transaction
-- commits: a transaction holding 10 can commit after one holding 11, and a
-- client that synced in between (cursor 11) would never see 10. So a page
-- ends at the *settled* watermark: below every change_seq an in-flight
-- transaction may still commit.
--
-- A writing transaction announces itself before its first change_seq:
-- it takes a shared transaction-level advisory lock keyed by the sequence's
-- last value at that moment (every change_seq it then takes is larger), in
-- the two-int4 key space (objsubid = 2), which nothing else uses: the
-- server's other advisory locks take one bigint (objsubid = 1). The lock goes
-- when the transaction ends, committed or not.
--
-- A reader computes the watermark in a statement of its own BEFORE the
-- statement that reads the page (cs_settled_change_seq, run when the sync's
-- transaction begins): the smaller of the sequence's last value and every
-- announced key. Any transaction announced before that is either committed
-- before the page's snapshot (visible) or still in flight (the watermark is
-- at or below its key); one that announces later takes change_seqs above the
-- sequence's value read here. The page's snapshot is taken after, so it sees
-- everything at or below the watermark that will ever commit.

CREATE FUNCTION cs_change_seq() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE k bigint;
BEGIN
  IF current_setting('countersign.change_announced', true) IS DISTINCT FROM 'on' THEN
    k := coalesce(pg_sequence_last_value('change_seq'), 0);
    PERFORM pg_advisory_xact_lock_shared((k >> 32)::int4, k::bit(32)::int4);
    PERFORM set_config('countersign.change_announced', 'on', true);
  END IF;
  RETURN nextval('change_seq');
END $$;
REVOKE ALL ON FUNCTION cs_change_seq() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cs_change_seq() TO countersign_app;

CREATE FUNCTION cs_settled_change_seq() RETURNS bigint LANGUAGE sql VOLATILE AS $$
  SELECT least(
    coalesce(pg_sequence_last_value('change_seq'), 0),
    (SELECT min((l.classid::int8 << 32) | l.objid::int8) FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.objsubid = 2
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())))
$$;
REVOKE ALL ON FUNCTION cs_settled_change_seq() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cs_settled_change_seq() TO countersign_app;

CREATE OR REPLACE FUNCTION bump_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.change_seq := cs_change_seq();
  RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION touch_vendor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE vendors SET change_seq = cs_change_seq() WHERE id = NEW.vendor_id;
  RETURN NULL;
END $$;

ALTER TABLE orgs ALTER COLUMN change_seq SET DEFAULT cs_change_seq();
ALTER TABLE customer_users ALTER COLUMN change_seq SET DEFAULT cs_change_seq();
ALTER TABLE invoices ALTER COLUMN change_seq SET DEFAULT cs_change_seq();
ALTER TABLE vendors ALTER COLUMN change_seq SET DEFAULT cs_change_seq();
ALTER TABLE payments ALTER COLUMN change_seq SET DEFAULT cs_change_seq();
ALTER TABLE sync_tombstones ALTER COLUMN change_seq SET DEFAULT cs_change_seq();

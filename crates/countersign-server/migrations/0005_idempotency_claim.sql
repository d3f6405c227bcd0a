-- An Idempotency-Key lookup in one round trip (it took three: lock, purge,
-- read). The function is VOLATILE PL/pgSQL, so each statement in it takes a
-- new snapshot: the read happens after the lock is held and sees what the
-- key's previous holder committed. (One SQL statement with the lock in a CTE
-- would read with the snapshot taken before the lock, and miss it.)
CREATE FUNCTION cs_idempotency_claim(p_issuer text, p_subject text, p_key text)
RETURNS TABLE (request_hash bytea, status smallint, response jsonb)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_issuer || ' ' || p_subject || ' ' || p_key, 7));
  DELETE FROM idempotency_keys k
    WHERE k.issuer = p_issuer AND k.subject = p_subject AND k.key = p_key AND k.created_at <= now() - interval '24 hours';
  RETURN QUERY SELECT k.request_hash, k.status, k.response FROM idempotency_keys k
    WHERE k.issuer = p_issuer AND k.subject = p_subject AND k.key = p_key;
END
$$;
REVOKE ALL ON FUNCTION cs_idempotency_claim(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cs_idempotency_claim(text, text, text) TO countersign_app;

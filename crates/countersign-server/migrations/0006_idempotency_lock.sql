-- Idempotency-Key without a round trip of its own. The server takes the
-- key's advisory lock in the statement that begins the transaction (under an
-- id it derives from issuer, subject and key), so the plain read that follows
-- already sees what the key's previous holder committed, and a decision can
-- read its key together with the request it locks. An answer older than 24 h
-- counts as absent and is overwritten when the key is used again, which
-- needs UPDATE on the columns an answer is made of.
DROP FUNCTION cs_idempotency_claim(text, text, text);
GRANT UPDATE (request_hash, status, response, created_at) ON idempotency_keys TO countersign_app;

-- Stores an answer: true, or NULL when the key holds a live answer already
-- (the caller's lock makes that a bug, and the caller refuses to commit).
CREATE FUNCTION cs_idempotency_store(p_issuer text, p_subject text, p_key text, p_hash bytea, p_status smallint, p_response jsonb)
RETURNS boolean
LANGUAGE sql VOLATILE SECURITY INVOKER AS $$
  INSERT INTO idempotency_keys AS k (issuer, subject, key, request_hash, status, response)
  VALUES (p_issuer, p_subject, p_key, p_hash, p_status, p_response)
  ON CONFLICT (issuer, subject, key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response, created_at = now()
    WHERE k.created_at <= now() - interval '24 hours'
  RETURNING true
$$;
REVOKE ALL ON FUNCTION cs_idempotency_store(text, text, text, bytea, smallint, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cs_idempotency_store(text, text, text, bytea, smallint, jsonb) TO countersign_app;

//! `Idempotency-Key` (API.md "Conventions"): the same key and body from the
//! same principal within 24 h returns the first response; the same key with
//! another body is `409 idempotency_key_reused`. The key is stored in the
//! action's own transaction, so a response is remembered iff the action
//! happened.
//!
//! Concurrent uses of one key serialize on an advisory lock that the action
//! takes in the round trip beginning its transaction ([`Key::lock`] with
//! `db::begin_locked`); every read after it sees what the previous holder
//! committed (migration 0006).

use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::Tx;
use crate::kernel::Principal;
use axum::http::{HeaderMap, StatusCode};
use countersign_api::ErrorCode;

pub struct Key {
    pub key: String,
    pub hash: Vec<u8>,
    lock: i64,
}

/// What the key table holds for a key: the request's hash, the status and
/// body answered.
pub type Stored = (Vec<u8>, i16, serde_json::Value);

/// Reads and validates the header (1-128 visible ASCII); `what` identifies
/// the operation (method + path) so a key is bound to one endpoint.
pub fn from_headers(
    headers: &HeaderMap,
    p: &Principal,
    what: &str,
    body: &impl serde::Serialize,
) -> ApiResult<Option<Key>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = v
        .to_str()
        .ok()
        .filter(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    let key = key.ok_or_else(|| ApiError::invalid("Idempotency-Key must be 1-128 visible ASCII characters."))?;
    let digest = |parts: &[&[u8]]| {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in parts {
            ctx.update(part);
            ctx.update(&[0]);
        }
        ctx.finish()
    };
    let body = serde_json::to_vec(body).map_err(|_| ApiError::internal())?;
    let hash = digest(&[what.as_bytes(), &body]).as_ref().to_vec();
    // The lock belongs to the key whatever the endpoint: one key, one holder.
    let id = digest(&[p.issuer.as_bytes(), p.subject.as_bytes(), key.as_bytes()]);
    let lock = i64::from_be_bytes(id.as_ref()[..8].try_into().map_err(|_| ApiError::internal())?);
    Ok(Some(Key {
        key: key.to_owned(),
        hash,
        lock,
    }))
}

impl Key {
    /// The advisory lock id to hold before reading the key.
    pub fn lock(&self) -> i64 {
        self.lock
    }

    /// The answer to replay, given what the key table held for this key
    /// (`None`: first use).
    pub fn answer(&self, stored: Option<Stored>) -> ApiResult<Option<(StatusCode, serde_json::Value)>> {
        match stored {
            None => Ok(None),
            Some((hash, _, _)) if hash != self.hash => Err(ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was used with another request.",
            )),
            Some((_, status, response)) => Ok(Some((
                StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK),
                response,
            ))),
        }
    }
}

/// The live (under 24 h) answer stored for `key`, as SQL over parameters
/// issuer, subject, key at `$n`, `$n+1`, `$n+2`; its columns are
/// `stored_hash, stored_status, stored_response`.
pub fn stored_sql(n: usize) -> String {
    format!(
        "SELECT request_hash AS stored_hash, status AS stored_status, response AS stored_response FROM \
            idempotency_keys \
         WHERE issuer = ${n} AND subject = ${} AND key = ${} AND {LIVE}",
        n + 1,
        n + 2
    )
}

/// A stored answer counts for 24 h.
const LIVE: &str = "created_at > now() - interval '24 hours'";

/// [`stored_sql`] for many keys: arrays of issuers, subjects and keys at
/// `$n`..`$n+2` (NULL elements for no key), answered with one row of
/// arrays: `stored_n` (the key's 1-based position), `stored_hashes`,
/// `stored_statuses`, `stored_responses`, one element per live answer.
pub fn stored_all_sql(n: usize) -> String {
    format!(
        "SELECT coalesce(array_agg(k.n), '{{}}') AS stored_n, coalesce(array_agg(i.request_hash), '{{}}') AS \
            stored_hashes, \
           coalesce(array_agg(i.status), '{{}}') AS stored_statuses, coalesce(array_agg(i.response), '{{}}') AS \
               stored_responses \
         FROM unnest(${n}::text[], ${}::text[], ${}::text[]) WITH ORDINALITY AS k (issuer, subject, key, n) \
         JOIN idempotency_keys i ON i.issuer = k.issuer AND i.subject = k.subject AND i.key = k.key AND i.{LIVE}",
        n + 1,
        n + 2
    )
}

/// Inside the action's transaction, with [`Key::lock`] held, before acting:
/// the stored response, if this is a retry.
/// (Any transaction: a scoped one, or a global one for staff administration.)
pub async fn replay(
    tx: &mut sqlx::PgConnection,
    p: &Principal,
    key: &Key,
) -> ApiResult<Option<(StatusCode, serde_json::Value)>> {
    let stored: Option<Stored> = sqlx::query_as(&stored_sql(1))
        .bind(&p.issuer)
        .bind(&p.subject)
        .bind(&key.key)
        .fetch_optional(&mut *tx)
        .await?;
    key.answer(stored)
}

/// Stores an answer, as SQL over parameters issuer, subject, key, request
/// hash, status, response at `$n`..`$n+5`: a statement (or a CTE) that
/// returns one row when the answer is stored, none when the key is NULL or
/// holds a live answer already (the key's lock rules that out). An answer
/// older than 24 h is overwritten. Inlined rather than a SQL function, which
/// PostgreSQL would parse and plan again on every call.
pub fn store_sql(n: usize) -> String {
    format!(
        "INSERT INTO idempotency_keys AS k (issuer, subject, key, request_hash, status, response) \
         SELECT ${n}::text, ${}::text, ${}::text, ${}::bytea, ${}::smallint, ${}::jsonb WHERE ${}::text IS NOT NULL \
             {STORE_CONFLICT}",
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5,
        n + 2
    )
}

/// [`store_sql`] for many answers: arrays of issuers, subjects, keys,
/// request hashes, statuses and responses at `$n`..`$n+5`, one element per
/// answer (no key twice); one row per answer stored.
pub fn store_all_sql(n: usize) -> String {
    format!(
        "INSERT INTO idempotency_keys AS k (issuer, subject, key, request_hash, status, response) \
         SELECT * FROM unnest(${n}::text[], ${}::text[], ${}::text[], ${}::bytea[], ${}::smallint[], ${}::jsonb[]) \
             {STORE_CONFLICT}",
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5
    )
}

/// A live answer is kept; one older than 24 h is overwritten.
const STORE_CONFLICT: &str = "ON CONFLICT (issuer, subject, key) DO UPDATE \
    SET request_hash = EXCLUDED.request_hash, status = EXCLUDED.status, response = EXCLUDED.response, created_at = \
        now() \
    WHERE k.created_at <= now() - interval '24 hours' \
    RETURNING true";

/// Remembers the response, in the action's transaction.
pub async fn remember(
    tx: &mut sqlx::PgConnection,
    p: &Principal,
    key: &Key,
    status: StatusCode,
    response: &serde_json::Value,
) -> ApiResult<()> {
    let stored: Option<bool> = sqlx::query_scalar(&store_sql(1))
        .bind(&p.issuer)
        .bind(&p.subject)
        .bind(&key.key)
        .bind(&key.hash)
        .bind(status.as_u16() as i16)
        .bind(response)
        .fetch_optional(&mut *tx)
        .await?;
    stored_or_refuse(stored.is_some())
}

/// No stored answer means a live one was in the way, which the key's lock
/// rules out; should it happen, the action must not commit without its
/// answer stored.
pub fn stored_or_refuse(stored: bool) -> ApiResult<()> {
    if stored {
        Ok(())
    } else {
        tracing::error!("an idempotency key held a live answer under its lock");
        Err(ApiError::internal())
    }
}

/// An action's transaction begun under its key: act, or replay the answer
/// the key already holds.
pub enum Begun {
    Act(Tx),
    Replay(axum::response::Response),
}

/// Begins the action's transaction for `p`, holding the key's lock, and
/// looks the key up (API.md: every state-changing POST takes a key).
pub async fn begin(pool: &sqlx::PgPool, p: &Principal, key: Option<&Key>) -> ApiResult<Begun> {
    let locks: Vec<i64> = key.map(Key::lock).into_iter().collect();
    let mut tx = crate::kernel::db::begin_locked(pool, p, &locks).await?;
    if let Some(k) = key {
        if let Some((status, body)) = replay(&mut tx, p, k).await? {
            tx.commit().await?;
            return Ok(Begun::Replay(respond(status, body)));
        }
    }
    Ok(Begun::Act(tx))
}

/// In a handler: the action's transaction under its Idempotency-Key, or —
/// when the key already answered — that answer, returned from the handler.
macro_rules! begin_or_replay {
    ($pool:expr, $p:expr, $key:expr) => {
        match $crate::http::idempotency::begin($pool, $p, $key).await? {
            $crate::http::idempotency::Begun::Act(tx) => tx,
            $crate::http::idempotency::Begun::Replay(answer) => return Ok(answer),
        }
    };
}
pub(crate) use begin_or_replay;

/// Remembers the answer in the action's transaction, commits, answers.
pub async fn finish(
    mut tx: Tx,
    p: &Principal,
    key: Option<&Key>,
    status: StatusCode,
    body: &impl serde::Serialize,
) -> ApiResult<axum::response::Response> {
    let body = serde_json::to_value(body).map_err(|_| ApiError::internal())?;
    if let Some(k) = key {
        remember(&mut tx, p, k, status, &body).await?;
    }
    tx.commit().await?;
    Ok(respond(status, body))
}

pub fn respond(status: StatusCode, body: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, axum::Json(body)).into_response()
}

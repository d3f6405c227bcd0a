//! `Idempotency-Key` (API.md "Conventions"): the same key and body from the
//! same principal within 24 h returns the first response; the same key with
//! another body is `409 idempotency_key_reused`. The key is stored in the
//! action's own transaction, so a response is remembered iff the action
//! happened.

use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use axum::http::{HeaderMap, StatusCode};
use countersign_api::ErrorCode;

pub struct Key {
    key: String,
    hash: Vec<u8>,
}

/// Reads and validates the header (1-128 visible ASCII); `what` identifies
/// the operation (method + path) so a key is bound to one endpoint.
pub fn from_headers(headers: &HeaderMap, what: &str, body: &impl serde::Serialize) -> ApiResult<Option<Key>> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    let key = v.to_str().ok().filter(|k| (1..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()));
    let key = key.ok_or_else(|| ApiError::invalid("Idempotency-Key must be 1-128 visible ASCII characters."))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(what.as_bytes());
    ctx.update(&[0]);
    ctx.update(&serde_json::to_vec(body).map_err(|_| ApiError::internal())?);
    Ok(Some(Key { key: key.to_owned(), hash: ctx.finish().as_ref().to_vec() }))
}

/// Inside the action's transaction, before acting: the stored response, if
/// this is a retry. Serializes concurrent uses of one key.
pub async fn replay(tx: &mut Tx, p: &Principal, key: &Key) -> ApiResult<Option<(StatusCode, serde_json::Value)>> {
    // Lock the key, drop an expired answer, read: one round trip (migration 0005).
    let found: Option<(Vec<u8>, i16, serde_json::Value)> = sqlx::query_as("SELECT request_hash, status, response FROM cs_idempotency_claim($1, $2, $3)")
        .bind(&p.issuer)
        .bind(&p.subject)
        .bind(&key.key)
        .fetch_optional(&mut **tx)
        .await?;
    match found {
        None => Ok(None),
        Some((hash, _, _)) if hash != key.hash => Err(ApiError::new(ErrorCode::IdempotencyKeyReused, "This Idempotency-Key was used with another request.")),
        Some((_, status, response)) => Ok(Some((StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK), response))),
    }
}

/// Remembers the response, in the action's transaction.
pub async fn remember(tx: &mut Tx, p: &Principal, key: &Key, status: StatusCode, response: &serde_json::Value) -> ApiResult<()> {
    sqlx::query("INSERT INTO idempotency_keys (issuer, subject, key, request_hash, status, response) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&p.issuer)
        .bind(&p.subject)
        .bind(&key.key)
        .bind(&key.hash)
        .bind(status.as_u16() as i16)
        .bind(response)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

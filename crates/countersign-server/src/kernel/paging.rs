//! Paging of every list (API.md, Conventions): `limit` 1-200, an opaque
//! keyset cursor (the sort key and id of the previous page's last item),
//! `limit + 1` rows fetched to know whether there is more.

use super::Refusal;
use base64::Engine;
use countersign_api::{ErrorCode, Page, LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

fn invalid(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::InvalidRequest, message)
}

/// Keyset position: the sort key and id of the last item of the previous page.
#[derive(Serialize, Deserialize)]
pub struct Cursor {
    pub k: String,
    pub id: Uuid,
}

pub fn limit(l: Option<u32>) -> Result<i64, Refusal> {
    match l.unwrap_or(LIMIT_DEFAULT) {
        n @ LIMIT_MIN..=LIMIT_MAX => Ok(n as i64),
        _ => Err(invalid(format!("limit must be between {LIMIT_MIN} and {LIMIT_MAX}."))),
    }
}

pub fn decode_cursor(c: &Option<String>) -> Result<Option<Cursor>, Refusal> {
    let Some(c) = c else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .map(Some)
        .ok_or_else(|| invalid("The cursor is not valid."))
}

/// Builds the page from `limit + 1` fetched rows.
pub fn page<R, T, E>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> (String, Uuid),
    map: impl Fn(&R) -> Result<T, E>,
) -> Result<Page<T>, E> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| {
            let (k, id) = key(r);
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&Cursor { k, id }).expect("plain struct"))
        })
    } else {
        None
    };
    Ok(Page {
        items: rows.iter().map(map).collect::<Result<_, E>>()?,
        next_cursor,
    })
}

pub fn ts_key(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("valid timestamp")
}

pub fn parse_ts_key(c: &Option<Cursor>) -> Result<(Option<OffsetDateTime>, Option<Uuid>), Refusal> {
    match c {
        None => Ok((None, None)),
        Some(c) => OffsetDateTime::parse(&c.k, &time::format_description::well_known::Rfc3339)
            .map(|t| (Some(t), Some(c.id)))
            .map_err(|_| invalid("The cursor is not valid.")),
    }
}

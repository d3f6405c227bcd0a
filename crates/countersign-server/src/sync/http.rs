//! `GET /v1/sync`: changes of everything the caller may read, masked, in
//! change order. Each record type is a stream (`change_seq > cursor`, under
//! row-level security); the page is the smallest `limit` changes across the
//! streams. Tombstones carry records that left the caller's view.
//!
//! The cursor binds the caller's `permission_epoch`: after a role or scope
//! change it is `409 stale_version`, and the client starts again from empty.

use super::rules::{self, Cursor};
use super::store::{estimate, feed_sql, Feed, FEEDS};
use crate::http::extract::Query;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::Principal;
use crate::records::store::{InvoiceRow, OrgRow, PaymentRow, UserRow, VendorRow};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use base64::Engine;
use countersign_api::{Problem, RecordType, SyncChange, SyncPage};
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SyncParams {
    /// Opaque; omit for an initial sync.
    pub cursor: Option<String>,
    /// 1-200, default 200.
    pub limit: Option<u32>,
}

fn encode(c: &Cursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).expect("plain struct"))
}

#[derive(sqlx::FromRow)]
struct Tombstone {
    record_type: String,
    id: Uuid,
    org_id: Uuid,
}

/// A page row of a record type: its row struct (`R`, read by column name),
/// and `wire` giving the record's id, org and API form.
fn record<R, T: Serialize>(
    row: &PgRow,
    record_type: RecordType,
    version: i64,
    wire: impl FnOnce(R) -> ApiResult<(Uuid, Uuid, T)>,
) -> ApiResult<SyncChange>
where
    R: for<'r> FromRow<'r, PgRow>,
{
    let (id, org_id, data) = wire(R::from_row(row)?)?;
    Ok(SyncChange {
        record_type,
        record_id: id,
        org_id,
        version,
        deleted: false,
        data: Some(serde_json::to_value(data).map_err(|_| ApiError::internal())?),
    })
}

#[utoipa::path(get, path = "/v1/sync", params(SyncParams), responses((status = 200, body = SyncPage), (status = 409,
    body = Problem)), security(("bearer" = [])), tag = "sync")]
pub async fn sync(State(s): State<AppState>, p: Principal, Query(q): Query<SyncParams>) -> ApiResult<Json<SyncPage>> {
    let limit = rules::page_size(q.limit)?;
    let cursor: Option<Option<Cursor>> = q.cursor.as_ref().map(|c| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(c)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    });
    let after = rules::resume(cursor.as_ref().map(Option::as_ref), p.permission_epoch, &p.subject)?;
    let types = rules::readable(&p.permissions);
    let readable: Vec<&'static Feed> = FEEDS.iter().filter(|f| types.contains(&f.record_type)).collect();
    let kinds: Vec<&str> = readable.iter().map(|f| f.rows.feed).collect();
    let tables: Vec<&str> = readable.iter().map(|f| f.table).collect();
    // Nothing readable (a security admin): an empty feed, not a statement
    // over no tables (its estimate row would be NULL).
    if readable.is_empty() {
        return Ok(Json(SyncPage {
            changes: vec![],
            next_cursor: encode(&Cursor {
                e: p.permission_epoch,
                sub: p.subject.clone(),
                s: after,
            }),
            has_more: false,
            permission_epoch: p.permission_epoch,
            estimated_total: q.cursor.is_none().then_some(0),
        }));
    }
    // A first page also says roughly how much is coming; for an all-org
    // caller the statistics come with the page (see `estimate`).
    let first = q.cursor.is_none();
    let statistics = first && rules::statistics_may_estimate(&p.scope);
    let mut tx = db::begin_settled(&s.db, &p, s.watermark.settled().await).await?;
    let query = sqlx::query(feed_sql(&readable, statistics))
        .bind(after)
        .bind(limit)
        .bind(&kinds);
    let rows = if statistics { query.bind(&tables) } else { query }
        .fetch_all(&mut *tx)
        .await?;
    let mut changes: Vec<SyncChange> = Vec::with_capacity(rows.len());
    let mut estimated_total = None;
    for row in &rows {
        let version: i64 = row.try_get("change_seq")?;
        let feed: &str = row.try_get("feed")?;
        changes.push(match feed {
            "org" => record(row, RecordType::Org, version, |r: OrgRow| Ok((r.id, r.id, r.to_api()?)))?,
            "user" => record(row, RecordType::User, version, |r: UserRow| {
                Ok((r.id, r.org_id, r.to_api(&p)?))
            })?,
            "invoice" => record(row, RecordType::Invoice, version, |r: InvoiceRow| {
                Ok((r.id, r.org_id, r.to_api()?))
            })?,
            "vendor" => record(row, RecordType::Vendor, version, |r: VendorRow| {
                Ok((r.id, r.org_id, r.to_api(&p)?))
            })?,
            "payment" => record(row, RecordType::Payment, version, |r: PaymentRow| {
                Ok((r.id, r.org_id, r.to_api()?))
            })?,
            "tombstone" => {
                let t = Tombstone::from_row(row)?;
                let record_type = serde_json::from_value(serde_json::Value::String(t.record_type))
                    .map_err(|_| ApiError::internal())?;
                SyncChange {
                    record_type,
                    record_id: t.id,
                    org_id: t.org_id,
                    version,
                    deleted: true,
                    data: None,
                }
            }
            "estimate" => {
                estimated_total = Some(version);
                continue;
            }
            other => {
                tracing::error!(feed = other, "the sync statement returned a row of no known feed");
                return Err(ApiError::internal());
            }
        });
    }
    if first && estimated_total.is_none() {
        estimated_total = Some(estimate(&mut tx, &p, &tables).await?);
    }
    db::end_read(tx);
    changes.sort_by_key(|c| c.version);
    let has_more = changes.len() as i64 > limit;
    changes.truncate(limit as usize);
    let last = changes.last().map(|c| c.version).unwrap_or(after);
    Ok(Json(SyncPage {
        changes,
        next_cursor: encode(&Cursor {
            e: p.permission_epoch,
            sub: p.subject.clone(),
            s: last,
        }),
        has_more,
        permission_epoch: p.permission_epoch,
        estimated_total,
    }))
}

//! `GET /v1/audit` (search), `GET /v1/audit/export` (NDJSON or CSV,
//! streamed row by row from one scoped transaction, so a million events
//! never sit in memory) and `GET /v1/audit/verify` (the chain recomputed).
//! Each is itself audited by the middleware.

use crate::audit::store::{EventRow, EVENT_COLUMNS};
use crate::http::context::AuditCtx;
use crate::http::extract::Query;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::Principal;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_api::{
    AuditEvent, AuditVerification, ErrorCode, Outcome, Page, Problem, LIMIT_DEFAULT, LIMIT_MAX, LIMIT_MIN,
};
use futures::TryStreamExt;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    pub org_id: Option<Uuid>,
    pub actor_subject: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<Outcome>,
    pub request_id: Option<String>,
    pub impersonation_id: Option<Uuid>,
    /// Inclusive lower bound on `at` (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub from: Option<OffsetDateTime>,
    /// Exclusive upper bound on `at` (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub to: Option<OffsetDateTime>,
    #[serde(default)]
    #[param(ignore)]
    pub limit: Option<u32>,
    #[serde(default)]
    #[param(ignore)]
    pub cursor: Option<String>,
    #[serde(default)]
    #[param(ignore)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Ndjson,
    Csv,
}

/// Paging and format next to the filters (serde cannot flatten with
/// `deny_unknown_fields`, and unknown parameters must be refused).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Extra {
    /// Search only: 1-200, default 50.
    pub limit: Option<u32>,
    /// Search only: opaque cursor (events are returned newest first).
    pub cursor: Option<String>,
    /// Export only: `ndjson` or `csv`.
    #[param(value_type = Option<String>)]
    pub format: Option<Format>,
}

/// One static statement: every filter is a bind parameter or NULL.
fn where_clause() -> &'static str {
    "($1::uuid IS NULL OR org_id = $1) AND ($2::text IS NULL OR actor_subject = $2) AND ($3::text IS NULL OR action = \
        $3) \
     AND ($4::text IS NULL OR target_type = $4) AND ($5::text IS NULL OR target_id = $5) AND ($6::text IS NULL OR \
         outcome = $6) \
     AND ($7::text IS NULL OR request_id = $7) AND ($8::uuid IS NULL OR impersonation_id = $8) \
     AND ($9::timestamptz IS NULL OR at >= $9) AND ($10::timestamptz IS NULL OR at < $10)"
}

fn bind_filters<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    f: &'q Filters,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    q.bind(f.org_id)
        .bind(&f.actor_subject)
        .bind(&f.action)
        .bind(&f.target_type)
        .bind(&f.target_id)
        .bind(f.outcome.map(|o| o.as_str()))
        .bind(&f.request_id)
        .bind(f.impersonation_id)
        .bind(f.from)
        .bind(f.to)
}

fn record_filters(audit: &AuditCtx, f: &Filters) {
    // The search itself is evidence: who looked for what.
    let v = serde_json::json!({
        "org_id": f.org_id, "actor_subject": f.actor_subject, "action": f.action, "target_type": f.target_type,
        "target_id": f.target_id, "outcome": f.outcome.map(|o| o.as_str()), "request_id": f.request_id,
        "impersonation_id": f.impersonation_id, "from": f.from.map(|t| t.unix_timestamp()),
            "to": f.to.map(|t| t.unix_timestamp()),
    });
    audit.detail("filters", v);
}

#[utoipa::path(get, path = "/v1/audit", params(Filters, Extra), responses((status = 200, body = Page<AuditEvent>),
    (status = 403, body = Problem)), security(("bearer" = [])), tag = "audit")]
pub async fn search(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Query(q): Query<Filters>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    record_filters(&audit, &q);
    if q.format.is_some() {
        return Err(ApiError::invalid("format is a parameter of /v1/audit/export."));
    }
    super::rules::search(&p.permissions)?;
    let limit = match q.limit.unwrap_or(LIMIT_DEFAULT) {
        n @ LIMIT_MIN..=LIMIT_MAX => n as i64,
        _ => {
            return Err(ApiError::invalid(format!(
                "limit must be between {LIMIT_MIN} and {LIMIT_MAX}."
            )))
        }
    };
    let before: Option<i64> = match &q.cursor {
        None => None,
        Some(c) => Some(c.parse().map_err(|_| ApiError::invalid("The cursor is not valid."))?),
    };
    let mut tx = db::begin(&s.db, &p).await?;
    let after = db::page_start(before.is_some(), "seq <", 11, &["bigint"]);
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {} AND {after} ORDER BY seq DESC LIMIT $12",
        where_clause()
    );
    let mut rows: Vec<EventRow> = bind_filters(sqlx::query_as(&sql), &q)
        .bind(before)
        .bind(limit + 1)
        .fetch_all(&mut *tx)
        .await?;
    db::end_read(tx);
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| r.seq.to_string())
    } else {
        None
    };
    Ok(Json(Page {
        items: rows.iter().map(EventRow::to_api).collect(),
        next_cursor,
    }))
}

const CSV_HEADER: &[&str] = &[
    "seq",
    "id",
    "at",
    "actor_issuer",
    "actor_subject",
    "actor_kind",
    "on_behalf_of",
    "impersonation_id",
    "org_id",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "code",
    "reason",
    "request_id",
    "ip",
    "user_agent",
    "details",
    "prev_hash",
    "hash",
];

fn csv_line(fields: &[String]) -> Bytes {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(fields);
    Bytes::from(w.into_inner().unwrap_or_default())
}

fn csv_row(e: &EventRow) -> Bytes {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let u = |v: Option<Uuid>| v.map(|x| x.to_string()).unwrap_or_default();
    let j = |v: &Option<serde_json::Value>| v.as_ref().map(|x| x.to_string()).unwrap_or_default();
    csv_line(&[
        e.seq.to_string(),
        e.id.to_string(),
        e.at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        o(&e.actor_issuer),
        o(&e.actor_subject),
        o(&e.actor_kind),
        j(&e.on_behalf_of),
        u(e.impersonation_id),
        u(e.org_id),
        e.action.clone(),
        o(&e.target_type),
        o(&e.target_id),
        e.outcome.clone(),
        o(&e.code),
        o(&e.reason),
        e.request_id.clone(),
        o(&e.ip),
        o(&e.user_agent),
        e.details.to_string(),
        hex::encode(&e.prev_hash),
        hex::encode(&e.hash),
    ])
}

#[utoipa::path(get, path = "/v1/audit/export", params(Filters, Extra),
    responses(
        (status = 200, description = "NDJSON or CSV, streamed",
            headers(("Countersign-Export-Count" = i64, description = "How many events the body holds"))),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)
    ),
    security(("bearer" = [])), tag = "audit")]
pub async fn export(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Query(q): Query<Filters>,
) -> ApiResult<Response> {
    record_filters(&audit, &q);
    super::rules::export(
        &p.permissions,
        q.format.is_some(),
        q.limit.is_some() || q.cursor.is_some(),
    )?;
    let format = q.format.ok_or_else(ApiError::internal)?;
    audit.detail("format", serde_json::json!(format!("{format:?}").to_lowercase()));
    // One consistent snapshot per export (a transaction) is the point of it;
    // the cap keeps many of them from taking every pooled connection.
    let Ok(running) = s.exports.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "Too many audit exports are running; try again in a minute.",
        ));
    };
    // Begin before answering, so an unavailable database is an error status,
    // not a truncated download.
    let mut tx = db::begin(&s.db, &p).await?;
    // The count goes out as a header, so the client can show real progress.
    // The rows are then read up to the last seq counted: seqs commit in order
    // (under the chain head's lock) and the log is append-only, so the export
    // holds exactly the events counted, whatever is appended meanwhile.
    let (count, last): (i64, Option<i64>) = bind_filters(
        sqlx::query_as(&format!(
            "SELECT count(*), max(seq) FROM audit_events WHERE {}",
            where_clause()
        )),
        &q,
    )
    .fetch_one(&mut *tx)
    .await?;
    let (tx_out, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    tokio::spawn(async move {
        let _running = running;
        if matches!(format, Format::Csv) {
            let header: Vec<String> = CSV_HEADER.iter().map(|h| h.to_string()).collect();
            if tx_out.send(Ok(csv_line(&header))).await.is_err() {
                return;
            }
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM audit_events WHERE {} AND seq <= $11 ORDER BY seq",
            where_clause()
        );
        let mut rows = bind_filters::<EventRow>(sqlx::query_as(&sql), &q)
            .bind(last.unwrap_or(0))
            .fetch(&mut *tx);
        loop {
            let item = match rows.try_next().await {
                Ok(Some(e)) => Ok(match format {
                    Format::Ndjson => {
                        let mut line = serde_json::to_vec(&e.to_api()).unwrap_or_default();
                        line.push(b'\n');
                        Bytes::from(line)
                    }
                    Format::Csv => csv_row(&e),
                }),
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed mid-stream");
                    Err(std::io::Error::other("export interrupted"))
                }
            };
            let failed = item.is_err();
            // The client went away: stop reading.
            if tx_out.send(item).await.is_err() || failed {
                return;
            }
        }
    });
    let content_type = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    };
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static(countersign_api::EXPORT_COUNT_HEADER),
                count.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/audit/verify",
    responses(
        (status = 200, body = AuditVerification,
            description = "The whole chain and every checkpoint recomputed; `ok` false names the first bad seq"),
        (status = 403, body = Problem), (status = 429, body = Problem)
    ),
    security(("bearer" = [])), tag = "audit")]
pub async fn verify(State(s): State<AppState>, p: Principal, audit: AuditCtx) -> ApiResult<Json<AuditVerification>> {
    super::rules::verify(&p.permissions)?;
    // A pass over the whole log on one pooled connection, like an export:
    // it counts against the same cap.
    let Ok(_running) = s.exports.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "Too many audit exports or verifications are running; try again in a minute.",
        ));
    };
    let report = super::store::verify_all(&s.db, &s.signer.public_key()).await?;
    let answer = report.to_api(OffsetDateTime::now_utc());
    // What the caller was told is evidence too.
    audit.detail(
        "verification",
        serde_json::json!({
            "ok": answer.ok, "events_checked": answer.events_checked, "last_seq": answer.last_seq,
            "checkpoints_checked": answer.checkpoints_checked,
            "first_bad_seq": answer.first_bad.as_ref().map(|b| b.seq),
        }),
    );
    Ok(Json(answer))
}

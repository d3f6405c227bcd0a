//! `POST /v1/reveals`: one sensitive field, with a reason, audited by name.
//! The value goes to the caller and nowhere else: not the audit log, not the
//! logs, not an error.

use super::rules::{self, Revealer};
use super::store::source;
use crate::http::context::AuditCtx;
use crate::http::extract::Json as Body;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::masking;
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use countersign_api::{ActorKind, ErrorCode, Problem, RecordType, RevealRequest, RevealResponse};
use uuid::Uuid;

#[utoipa::path(post, path = "/v1/reveals", request_body = RevealRequest,
    responses((status = 200, body = RevealResponse), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)),
    security(("bearer" = [])), tag = "records")]
pub async fn reveal(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Body(req): Body<RevealRequest>,
) -> ApiResult<impl IntoResponse> {
    audit.target(record_type_name(req.record_type), req.record_id, None);
    // Only a field that exists is recorded: caller text is checked before
    // anything from the body reaches the append-only log.
    let sql = source(req.record_type, &req.field).ok_or_else(|| {
        ApiError::invalid(format!(
            "A {} has no revealable field \"{}\".",
            record_type_name(req.record_type),
            crate::http::extract::capped(&req.field)
        ))
    })?;
    audit.detail("field", serde_json::json!(req.field));
    let who = Revealer {
        staff: p.kind == ActorKind::Staff,
        impersonating: p.impersonation.is_some(),
        permissions: &p.permissions,
    };
    let reason = rules::reveal(&who, &req.field, &req.reason)?;
    audit.reason(reason.as_str());
    // Per person, not per account: a second account must not double the limit.
    let person = p.person_id.unwrap_or_default();
    if !s.reveals.allow(person) {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "Too many reveals; wait a minute.",
        ));
    }
    let mut tx = db::begin(&s.db, &p).await?;
    let row: Option<(Uuid, String)> = sqlx::query_as(sql).bind(req.record_id).fetch_optional(&mut *tx).await?;
    tx.commit().await?;
    let (org_id, value) = row.ok_or_else(ApiError::not_found)?;
    audit.target(record_type_name(req.record_type), req.record_id, Some(org_id));
    debug_assert!(masking::revealable(&p, &req.field));
    let body = RevealResponse {
        value,
        revealed_at: time::OffsetDateTime::now_utc(),
    };
    // Revealed values must not linger in any cache between here and the user.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)))
}

pub fn record_type_name(t: RecordType) -> &'static str {
    match t {
        RecordType::Org => "org",
        RecordType::User => "user",
        RecordType::Invoice => "invoice",
        RecordType::Vendor => "vendor",
        RecordType::Payment => "payment",
    }
}

//! `POST /v1/reveals`: one sensitive field, with a reason, audited by name.
//! The value goes to the caller and nowhere else: not the audit log, not the
//! logs, not an error.

use crate::audit::AuditCtx;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json as Body;
use crate::masking;
use crate::principal::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use countersign_api::masked::{field_class, FieldClass};
use countersign_api::{ActorKind, ErrorCode, Permission, Problem, Reason, RecordType, RevealRequest, RevealResponse};
use uuid::Uuid;

/// Which fields of which record types are revealable, and the SQL that reads
/// one (row-level security applies: out of scope is "not found").
fn source(record_type: RecordType, field: &str) -> Option<&'static str> {
    Some(match (record_type, field) {
        (RecordType::User, "email") => "SELECT org_id, email FROM customer_users WHERE id = $1",
        (RecordType::User, "phone") => "SELECT org_id, phone FROM customer_users WHERE id = $1",
        (RecordType::User, "address") => "SELECT org_id, street || ', ' || city FROM customer_users WHERE id = $1",
        (RecordType::Vendor, "tax_id") => "SELECT org_id, tax_id FROM vendors WHERE id = $1",
        (RecordType::Vendor, "address") => "SELECT org_id, street || ', ' || city FROM vendors WHERE id = $1",
        (RecordType::Vendor, "iban") => {
            "SELECT org_id, iban FROM vendor_bank_accounts WHERE vendor_id = $1 AND valid_to IS NULL"
        }
        _ => return None,
    })
}

#[utoipa::path(post, path = "/v1/reveals", request_body = RevealRequest,
    responses((status = 200, body = RevealResponse), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)),
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
            crate::extract::capped(&req.field)
        ))
    })?;
    audit.detail("field", serde_json::json!(req.field));
    let permission = match field_class(&req.field) {
        Some(FieldClass::Contact) => Permission::PiiReveal,
        Some(FieldClass::Financial) => Permission::FinanceReveal,
        None => return Err(ApiError::invalid("Not a sensitive field.")),
    };
    if p.kind != ActorKind::Staff {
        return Err(ApiError::forbidden(permission));
    }
    p.require(permission)?;
    let reason = Reason::parse(&req.reason).map_err(|e| ApiError::new(ErrorCode::ReasonRequired, format!("{e}.")))?;
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

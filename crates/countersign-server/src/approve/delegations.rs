//! Out-of-office delegation between approvers (issue 4, point 8).

use super::store::{delegates_for, delegations_of, DelegationRow as Row, DELEGATION_COLUMNS as COLUMNS};
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path};
use crate::http::idempotency::{self};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use countersign_api::{CreateDelegation, Delegate, Delegation, ErrorCode, Permission, Problem, StaffId};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[utoipa::path(post, path = "/v1/delegations", params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateDelegation, responses((status = 201, body = Delegation), (status = 403, body = Problem),
        (status = 422, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Body(req): Body<CreateDelegation>,
) -> ApiResult<Response> {
    p.require(Permission::ApprovalsDecide)?;
    let me = p
        .staff_id
        .ok_or_else(|| ApiError::forbidden(Permission::ApprovalsDecide))?
        .0;
    if req.delegate_id.0 == me {
        return Err(ApiError::invalid("You cannot delegate to yourself."));
    }
    if req.ends_at <= req.starts_at
        || req.ends_at <= OffsetDateTime::now_utc()
        || req.ends_at - req.starts_at > Duration::days(31)
    {
        return Err(ApiError::invalid(
            "The window must end after it starts, in the future, and last at most 31 days.",
        ));
    }
    // The delegate must be an approver in their own right.
    let delegate = super::store::staff_roles(&s.db, req.delegate_id.0).await?;
    let (roles, active) = delegate.ok_or_else(ApiError::not_found)?;
    if !active || !crate::kernel::permissions::staff_permissions(&roles).contains(&Permission::ApprovalsDecide) {
        return Err(ApiError::new(ErrorCode::Forbidden, "The delegate is not an approver."));
    }
    let key = idempotency::from_headers(&headers, &p, "POST /v1/delegations", &req)?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO delegations (id, delegator_staff_id, delegate_staff_id, starts_at, ends_at) VALUES ($1, $2, $3, \
            $4, $5) RETURNING {COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(me)
    .bind(req.delegate_id.0)
    .bind(req.starts_at)
    .bind(req.ends_at)
    .fetch_one(&mut *tx)
    .await?;
    audit.target("delegation", row.id, None);
    audit.detail("delegate_id", serde_json::json!(row.delegate_staff_id));
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::CREATED, &row.to_api(me)).await
}

#[utoipa::path(get, path = "/v1/delegations", responses((status = 200, body = Vec<Delegation>)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn list(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Vec<Delegation>>> {
    let me = p
        .staff_id
        .ok_or_else(|| ApiError::forbidden(Permission::ApprovalsDecide))?
        .0;
    let rows = delegations_of(&s.db, me).await?;
    Ok(Json(rows.iter().map(|r| r.to_api(me)).collect()))
}

/// Whom the caller may delegate to: approvers need this to pick a delegate,
/// and hold no `staff:read` to list the staff.
#[utoipa::path(get, path = "/v1/delegations/delegates", responses((status = 200, body = Vec<Delegate>)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn delegates(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Vec<Delegate>>> {
    p.require(Permission::ApprovalsDecide)?;
    let me = p
        .staff_id
        .ok_or_else(|| ApiError::forbidden(Permission::ApprovalsDecide))?
        .0;
    let rows = delegates_for(&s.db, me).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, name)| Delegate { id: StaffId(id), name })
            .collect(),
    ))
}

#[utoipa::path(post, path = "/v1/delegations/{delegation_id}/revoke", params(("Idempotency-Key" = Option<String>,
    Header), ("delegation_id" = Uuid, Path)), responses((status = 200, body = Delegation), (status = 404,
        body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn revoke(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    audit.target("delegation", id, None);
    let me = p.staff_id.ok_or_else(ApiError::not_found)?.0;
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/delegations/{id}/revoke"), &())?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let row: Option<Row> = sqlx::query_as(&format!(
        "UPDATE delegations SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND delegator_staff_id = $2 \
            RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(me)
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or_else(ApiError::not_found)?;
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::OK, &row.to_api(me)).await
}

//! Staff administration for `security_admin`. The same rules apply to the CLI
//! (`countersign-server staff …`), which calls `store::apply_update` too.

use super::rules;
use super::store::{self, Ended};
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path, Query};
use crate::http::idempotency::{self, respond};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::GlobalTx;
use crate::kernel::Principal;
use crate::sign_in::store::StaffRow;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use countersign_api::{DeactivateStaff, Permission, Problem, StaffMember, StaffUpdate};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// The access review's filters (API.md "Staff administration"); each left
/// out is "either", and they combine.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// `true`: accounts holding a privileged role (security_admin,
    /// finance_controller, finance_approver, support_supervisor, auditor);
    /// `false`: accounts holding none.
    pub privileged: Option<bool>,
    /// Accounts with no request for at least this many days (1-3650),
    /// never-active ones included.
    pub inactive_days: Option<u32>,
    /// `true`: active accounts only; `false`: deactivated ones only.
    pub active: Option<bool>,
}

#[utoipa::path(get, path = "/v1/staff", params(ListParams), responses((status = 200, body = Vec<StaffMember>)),
    security(("bearer" = [])), tag = "staff")]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Vec<StaffMember>>> {
    p.require(Permission::StaffRead)?;
    let inactive_days = q.inactive_days.map(rules::inactive_days).transpose()?;
    let filter = rules::Filter {
        privileged: q.privileged,
        active: q.active,
    };
    Ok(Json(
        store::all(&s.db, inactive_days)
            .await?
            .iter()
            .filter(|r| rules::listed(filter, &r.roles.0, r.active))
            .map(StaffRow::to_api)
            .collect(),
    ))
}

#[utoipa::path(get, path = "/v1/staff/{staff_id}", params(("staff_id" = Uuid, Path)), responses((status = 200,
    body = StaffMember), (status = 404, body = Problem)), security(("bearer" = [])), tag = "staff")]
pub async fn get(State(s): State<AppState>, p: Principal, Path(id): Path<Uuid>) -> ApiResult<Json<StaffMember>> {
    p.require(Permission::StaffRead)?;
    Ok(Json(
        store::one(&s.db, id).await?.ok_or_else(ApiError::not_found)?.to_api(),
    ))
}

#[utoipa::path(put, path = "/v1/staff/{staff_id}", params(("staff_id" = Uuid, Path)), request_body = StaffUpdate,
    responses((status = 200, body = StaffMember), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "staff")]
pub async fn put(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
    Body(update): Body<StaffUpdate>,
) -> ApiResult<Json<StaffMember>> {
    audit.target("staff", id, None);
    p.require(Permission::StaffManage)?;
    let (updated, ended) = store::update(&s.db, id, &update, |target| {
        rules::may_change(p.person_id, target.person_id)
    })
    .await?;
    audit.detail("roles", json!(update.roles));
    audit.detail("permission_epoch", json!(updated.permission_epoch));
    if let Some(ended) = ended {
        record_ended(&audit, &ended);
    }
    Ok(Json(updated.to_api()))
}

#[utoipa::path(post, path = "/v1/staff/{staff_id}/deactivate", request_body = DeactivateStaff,
    params(("Idempotency-Key" = Option<String>, Header), ("staff_id" = Uuid, Path)),
    responses((status = 200, description = "The account, now inactive (also when it already was)",
        body = StaffMember), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "staff")]
pub async fn deactivate(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Body(req): Body<DeactivateStaff>,
) -> ApiResult<Response> {
    audit.target("staff", id, None);
    p.require(Permission::StaffManage)?;
    let reason = rules::deactivation_reason(&req.reason)?;
    audit.reason(reason.as_str());
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/staff/{id}/deactivate"), &req)?;
    let mut tx = match store::begin_change(&s.db, &p, key.as_ref()).await? {
        (tx, Some((status, body))) => return replayed(tx, status, body),
        (tx, None) => tx,
    };
    let done = store::deactivate(&mut tx, id, &reason, |target| {
        rules::may_change(p.person_id, target.person_id)
    })
    .await?;
    audit.detail("was_active", json!(done.was_active));
    record_ended(&audit, &done.ended);
    finish(tx, &p, key.as_ref(), &done.row).await
}

#[utoipa::path(post, path = "/v1/staff/{staff_id}/reactivate",
    params(("Idempotency-Key" = Option<String>, Header), ("staff_id" = Uuid, Path)),
    responses((status = 200, description = "The account, now active (also when it already was)",
        body = StaffMember), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "staff")]
pub async fn reactivate(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    audit.target("staff", id, None);
    p.require(Permission::StaffManage)?;
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/staff/{id}/reactivate"), &())?;
    let mut tx = match store::begin_change(&s.db, &p, key.as_ref()).await? {
        (tx, Some((status, body))) => return replayed(tx, status, body),
        (tx, None) => tx,
    };
    let (row, was_inactive) =
        store::reactivate(&mut tx, id, |target| rules::may_change(p.person_id, target.person_id)).await?;
    audit.detail("was_active", json!(!was_inactive));
    finish(tx, &p, key.as_ref(), &row).await
}

/// Names what a deactivation ended in its audit event: ids only.
fn record_ended(audit: &AuditCtx, ended: &Ended) {
    audit.detail("ended_sessions", json!(ended.sessions));
    audit.detail(
        "cancelled_approvals",
        json!(ended.requests.iter().map(|(id, _)| id).collect::<Vec<_>>()),
    );
}

/// A retry under an Idempotency-Key: the first answer, nothing changed.
fn replayed(tx: GlobalTx, status: StatusCode, body: serde_json::Value) -> ApiResult<Response> {
    crate::kernel::db::end_read(tx);
    Ok(respond(status, body))
}

/// Remembers the answer under the key in the change's transaction, commits, answers.
async fn finish(
    mut tx: GlobalTx,
    p: &Principal,
    key: Option<&idempotency::Key>,
    row: &StaffRow,
) -> ApiResult<Response> {
    let body = serde_json::to_value(row.to_api()).map_err(|_| ApiError::internal())?;
    if let Some(k) = key {
        idempotency::remember(&mut tx, p, k, StatusCode::OK, &body).await?;
    }
    tx.commit().await?;
    Ok(respond(StatusCode::OK, body))
}

//! Staff administration for `security_admin`. The same rules apply to the CLI
//! (`countersign-server staff …`), which calls `store::apply_update` and
//! `store::create` too.

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
use countersign_api::{CreateStaff, DeactivateStaff, Permission, Problem, StaffMember, StaffUpdate};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// A change's transaction, holding its Idempotency-Key's lock; or, when the
/// key already answered, that answer, returned from the handler.
macro_rules! begin_change {
    ($s:expr, $p:expr, $key:expr) => {
        match store::begin_change(&$s.db, &$p, $key).await? {
            (tx, Some((status, body))) => return replayed(tx, status, body),
            (tx, None) => tx,
        }
    };
}

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
    /// `true`: accounts waiting for access (created at a first sign-in by
    /// just-in-time provisioning, no roles, never decided); `false`: the others.
    pub pending: Option<bool>,
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
        pending: q.pending,
    };
    Ok(Json(
        store::all(&s.db, inactive_days)
            .await?
            .iter()
            .filter(|r| rules::listed(filter, &r.roles.0, r.active, r.access_pending))
            .map(StaffRow::to_api)
            .collect(),
    ))
}

/// Onboarding: a staff account for someone at a trusted issuer, with its
/// roles, scope and limits, before their first sign-in.
#[utoipa::path(post, path = "/v1/staff", request_body = CreateStaff,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, description = "The new account", body = StaffMember),
        (status = 403, description = "Without staff:manage (forbidden); for one's own identity \
            (self_change_forbidden)", body = Problem),
        (status = 409, description = "The identity has an account already (staff_exists)", body = Problem),
        (status = 422, description = "An issuer the server does not trust, or a field that is not well formed \
            (invalid_request, naming the field)", body = Problem)),
    security(("bearer" = [])), tag = "staff")]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Body(new): Body<CreateStaff>,
) -> ApiResult<Response> {
    p.require(Permission::StaffManage)?;
    let key = idempotency::from_headers(&headers, &p, "POST /v1/staff", &new)?;
    let mut tx = begin_change!(s, p, key.as_ref());
    let issuers = s.config.issuers();
    let trusted: Vec<&str> = issuers.iter().map(|i| i.issuer.as_str()).collect();
    // Who was to be onboarded, also when it is refused.
    audit.detail("issuer", json!(new.issuer));
    audit.detail("subject", json!(new.subject));
    audit.detail("roles", json!(new.roles));
    let row = store::create(&mut tx, &new, &trusted, Some((&p.issuer, &p.subject))).await?;
    audit.target("staff", row.id, None);
    finish(tx, &p, key.as_ref(), StatusCode::CREATED, &row).await
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
    let mut tx = begin_change!(s, p, key.as_ref());
    let done = store::deactivate(&mut tx, id, &reason, |target| {
        rules::may_change(p.person_id, target.person_id)
    })
    .await?;
    audit.detail("was_active", json!(done.was_active));
    record_ended(&audit, &done.ended);
    finish(tx, &p, key.as_ref(), StatusCode::OK, &done.row).await
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
    let mut tx = begin_change!(s, p, key.as_ref());
    let (row, was_inactive) =
        store::reactivate(&mut tx, id, |target| rules::may_change(p.person_id, target.person_id)).await?;
    audit.detail("was_active", json!(!was_inactive));
    finish(tx, &p, key.as_ref(), StatusCode::OK, &row).await
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
    status: StatusCode,
    row: &StaffRow,
) -> ApiResult<Response> {
    let body = serde_json::to_value(row.to_api()).map_err(|_| ApiError::internal())?;
    if let Some(k) = key {
        idempotency::remember(&mut tx, p, k, status, &body).await?;
    }
    tx.commit().await?;
    Ok(respond(status, body))
}

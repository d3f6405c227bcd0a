//! Staff administration for `security_admin`. The same rules apply to the CLI
//! (`countersign-server staff …`), which calls `store::apply_update` too.

use super::rules;
use super::store;
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::Principal;
use crate::sign_in::store::StaffRow;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use countersign_api::{Permission, Problem, StaffMember, StaffUpdate};
use uuid::Uuid;

#[utoipa::path(get, path = "/v1/staff", responses((status = 200, body = Vec<StaffMember>)), security(("bearer" = [])),
    tag = "staff")]
pub async fn list(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Vec<StaffMember>>> {
    p.require(Permission::StaffRead)?;
    Ok(Json(store::all(&s.db).await?.iter().map(StaffRow::to_api).collect()))
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
    let updated = store::update(&s.db, id, &update, |target| {
        rules::may_change(p.person_id, target.person_id)
    })
    .await?;
    audit.detail("roles", serde_json::json!(update.roles));
    audit.detail("permission_epoch", serde_json::json!(updated.permission_epoch));
    Ok(Json(updated.to_api()))
}

//! Staff administration for `security_admin`. The same rules apply to the CLI
//! (`countersign-server staff …`), which calls `apply_update` too.

use super::rules;
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::Principal;
use crate::sign_in::store::{staff_by_id, StaffRow, STAFF_COLUMNS};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use countersign_api::{Permission, Problem, StaffMember, StaffUpdate};
use sqlx::PgExecutor;
use uuid::Uuid;

#[utoipa::path(get, path = "/v1/staff", responses((status = 200, body = Vec<StaffMember>)), security(("bearer" = [])), tag = "staff")]
pub async fn list(State(s): State<AppState>, p: Principal) -> ApiResult<Json<Vec<StaffMember>>> {
    p.require(Permission::StaffRead)?;
    let rows: Vec<StaffRow> = sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY display_name, id"))
        .fetch_all(&s.db)
        .await?;
    Ok(Json(rows.iter().map(StaffRow::to_api).collect()))
}

#[utoipa::path(get, path = "/v1/staff/{staff_id}", params(("staff_id" = Uuid, Path)), responses((status = 200, body = StaffMember), (status = 404, body = Problem)), security(("bearer" = [])), tag = "staff")]
pub async fn get(State(s): State<AppState>, p: Principal, Path(id): Path<Uuid>) -> ApiResult<Json<StaffMember>> {
    p.require(Permission::StaffRead)?;
    Ok(Json(
        staff_by_id(&s.db, id).await?.ok_or_else(ApiError::not_found)?.to_api(),
    ))
}

#[utoipa::path(put, path = "/v1/staff/{staff_id}", params(("staff_id" = Uuid, Path)), request_body = StaffUpdate,
    responses((status = 200, body = StaffMember), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
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
    let mut tx = s.db.begin().await?;
    // By person, not account: a second account of the same person is still oneself.
    let target = staff_by_id(&mut *tx, id).await?.ok_or_else(ApiError::not_found)?;
    rules::may_change(p.person_id, target.person_id)?;
    let updated = apply_update(&mut *tx, id, &update).await?;
    tx.commit().await?;
    audit.detail("roles", serde_json::json!(update.roles));
    audit.detail("permission_epoch", serde_json::json!(updated.permission_epoch));
    Ok(Json(updated.to_api()))
}

/// Replaces roles, scope and limits; the trigger bumps `permission_epoch`.
pub async fn apply_update<'e>(db: impl PgExecutor<'e>, id: Uuid, u: &StaffUpdate) -> ApiResult<StaffRow> {
    rules::validate(u)?;
    let mut roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
    roles.sort_unstable();
    roles.dedup();
    let row: Option<StaffRow> = sqlx::query_as(&format!(
        "UPDATE staff SET roles = $2, scope_all = $3, scope_regions = $4, scope_org_ids = $5, approval_limits = $6, active = $7 \
         WHERE id = $1 RETURNING {STAFF_COLUMNS}"
    ))
    .bind(id)
    .bind(roles)
    .bind(u.scope.all_orgs)
    .bind(u.scope.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>())
    .bind(u.scope.org_ids.iter().map(|o| o.0).collect::<Vec<_>>())
    .bind(serde_json::to_value(&u.approval_limits).map_err(|_| ApiError::internal())?)
    .bind(u.active)
    .fetch_optional(db)
    .await?;
    row.ok_or_else(ApiError::not_found)
}

//! Staff accounts as administration reads and changes them. Staff accounts
//! are outside row-level security: every transaction here is global.

use super::rules;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::Refusal;
use crate::sign_in::store::{staff_by_id, StaffRow, STAFF_COLUMNS};
use countersign_api::StaffUpdate;
use sqlx::PgExecutor;
use uuid::Uuid;

pub async fn all(pool: &sqlx::PgPool) -> ApiResult<Vec<StaffRow>> {
    let mut tx = db::global(pool).await?;
    let rows = sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY display_name, id"))
        .fetch_all(&mut *tx)
        .await?;
    db::end_read(tx);
    Ok(rows)
}

pub async fn one(pool: &sqlx::PgPool, id: Uuid) -> ApiResult<Option<StaffRow>> {
    let mut tx = db::global(pool).await?;
    let row = staff_by_id(&mut *tx, id).await?;
    db::end_read(tx);
    Ok(row)
}

/// Updates `id` if `may` allows it for the account as it is now (read and
/// changed in one transaction).
pub async fn update(
    pool: &sqlx::PgPool,
    id: Uuid,
    u: &StaffUpdate,
    may: impl FnOnce(&StaffRow) -> Result<(), Refusal>,
) -> ApiResult<StaffRow> {
    let mut tx = db::global(pool).await?;
    let target = staff_by_id(&mut *tx, id).await?.ok_or_else(ApiError::not_found)?;
    may(&target)?;
    let updated = apply_update(&mut *tx, id, u).await?;
    tx.commit().await?;
    Ok(updated)
}

/// Replaces roles, scope and limits; the trigger bumps `permission_epoch`.
pub async fn apply_update<'e>(db: impl PgExecutor<'e>, id: Uuid, u: &StaffUpdate) -> ApiResult<StaffRow> {
    rules::validate(u)?;
    let mut roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
    roles.sort_unstable();
    roles.dedup();
    let row: Option<StaffRow> = sqlx::query_as(&format!(
        "UPDATE staff SET roles = $2, scope_all = $3, scope_regions = $4, scope_org_ids = $5, approval_limits = $6, \
            active = $7 \
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

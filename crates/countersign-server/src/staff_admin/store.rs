//! Staff accounts as administration reads and changes them. Staff accounts
//! are outside row-level security, and so is what a deactivation ends (the
//! account's sessions and requests, in whichever orgs): every transaction
//! here is global.

use super::rules;
use crate::approve::store as approvals;
use crate::http::idempotency::{self, Key};
use crate::http::problem::{ApiError, ApiResult};
use crate::impersonate::store as sessions;
use crate::kernel::db::{self, GlobalTx};
use crate::kernel::{Principal, Refusal};
use crate::sign_in::store::{staff_by_id, StaffRow, STAFF_COLUMNS};
use axum::http::StatusCode;
use countersign_api::{CreateStaff, EndReason, ErrorCode, Money, Reason, Scope, StaffRole, StaffUpdate};
use sqlx::{PgConnection, PgExecutor};
use std::collections::BTreeMap;
use uuid::Uuid;

/// Every account, or with `inactive_days` those with no request for that
/// many days (never-active included), on the database's clock, the one
/// `last_active_at` is written with.
pub async fn all(pool: &sqlx::PgPool, inactive_days: Option<u32>) -> ApiResult<Vec<StaffRow>> {
    let mut tx = db::global(pool).await?;
    let rows = sqlx::query_as(&format!(
        "SELECT {STAFF_COLUMNS} FROM staff \
         WHERE $1::int IS NULL OR last_active_at IS NULL OR last_active_at < now() - make_interval(days => $1) \
         ORDER BY display_name, id"
    ))
    .bind(inactive_days.map(|d| d as i32))
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
/// changed in one transaction). Deactivating through an update ends what a
/// deactivation ends ([`end_what_the_account_holds`]): there is one meaning
/// of an inactive account, whichever way it became one.
pub async fn update(
    pool: &sqlx::PgPool,
    id: Uuid,
    u: &StaffUpdate,
    may: impl FnOnce(&StaffRow) -> Result<(), Refusal>,
) -> ApiResult<(StaffRow, Option<Ended>)> {
    let mut tx = db::global(pool).await?;
    let target = locked(&mut tx, id).await?;
    may(&target)?;
    let updated = apply_update(&mut *tx, id, u).await?;
    let ended = if target.active && !updated.active {
        Some(end_what_the_account_holds(&mut tx, id).await?)
    } else {
        None
    };
    tx.commit().await?;
    Ok((updated, ended))
}

/// Replaces roles, scope and limits; the trigger bumps `permission_epoch`.
/// An account waiting for access waits no more: this is the decision, even
/// one that grants nothing.
pub async fn apply_update<'e>(db: impl PgExecutor<'e>, id: Uuid, u: &StaffUpdate) -> ApiResult<StaffRow> {
    rules::validate(u)?;
    let a = Access::of(&u.roles, &u.scope, &u.approval_limits)?;
    // `active` on the right is the account before the update.
    let row: Option<StaffRow> = sqlx::query_as(&format!(
        "UPDATE staff SET roles = $2, scope_all = $3, scope_regions = $4, scope_org_ids = $5, approval_limits = $6, \
            active = $7, access_pending = false, \
            deactivated_at = CASE WHEN $7 THEN NULL WHEN active THEN now() ELSE deactivated_at END, \
            deactivation_reason = CASE WHEN $7 THEN NULL ELSE deactivation_reason END \
         WHERE id = $1 RETURNING {STAFF_COLUMNS}"
    ))
    .bind(id)
    .bind(a.roles)
    .bind(a.all_orgs)
    .bind(a.regions)
    .bind(a.org_ids)
    .bind(a.limits)
    .bind(u.active)
    .fetch_optional(db)
    .await?;
    row.ok_or_else(ApiError::not_found)
}

/// Creates the account `new` if `rules::new_account` allows it (`trusted`:
/// the configured issuers; `caller`: who creates it, `None` at the CLI), in
/// `tx`. An identity that has an account already is `staff_exists`, whoever
/// made it (the unique (issuer, subject) decides between concurrent ones).
pub async fn create(
    tx: &mut PgConnection,
    new: &CreateStaff,
    trusted: &[&str],
    caller: Option<(&str, &str)>,
) -> ApiResult<StaffRow> {
    rules::new_account(new, trusted, caller)?;
    let a = Access::of(&new.roles, &new.scope, &new.approval_limits)?;
    let row: Option<StaffRow> = sqlx::query_as(&format!(
        "INSERT INTO staff (id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids, \
            approval_limits) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (issuer, subject) DO NOTHING \
         RETURNING {STAFF_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(&new.issuer)
    .bind(&new.subject)
    .bind(new.display_name.trim())
    .bind(&new.email)
    .bind(a.roles)
    .bind(a.all_orgs)
    .bind(a.regions)
    .bind(a.org_ids)
    .bind(a.limits)
    .fetch_optional(tx)
    .await?;
    row.ok_or_else(|| {
        ApiError::new(
            ErrorCode::StaffExists,
            "This identity has a staff account already: change that one instead.",
        )
    })
}

/// Roles (sorted, each once), scope and limits as the staff table stores them.
struct Access {
    roles: Vec<&'static str>,
    all_orgs: bool,
    regions: Vec<&'static str>,
    org_ids: Vec<Uuid>,
    limits: serde_json::Value,
}

impl Access {
    fn of(roles: &[StaffRole], scope: &Scope, limits: &BTreeMap<String, Option<Money>>) -> ApiResult<Self> {
        let mut roles: Vec<&'static str> = roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        Ok(Access {
            roles,
            all_orgs: scope.all_orgs,
            regions: scope.regions.iter().map(|r| r.as_str()).collect(),
            org_ids: scope.org_ids.iter().map(|o| o.0).collect(),
            limits: serde_json::to_value(limits).map_err(|_| ApiError::internal())?,
        })
    }
}

/// A change of an account's state (deactivate, reactivate) begun: its
/// transaction, holding the Idempotency-Key's lock when there is a key, and
/// the answer that key already holds (a retry: answer it, change nothing).
pub async fn begin_change(
    pool: &sqlx::PgPool,
    p: &Principal,
    key: Option<&Key>,
) -> ApiResult<(GlobalTx, Option<(StatusCode, serde_json::Value)>)> {
    let mut tx = db::global(pool).await?;
    let Some(key) = key else { return Ok((tx, None)) };
    // Concurrent uses of one key serialize here; the key is read after.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key.lock())
        .execute(&mut *tx)
        .await?;
    let replay = idempotency::replay(&mut tx, p, key).await?;
    Ok((tx, replay))
}

/// What a deactivation ended: the account's open support sessions and its
/// pending approval requests (id, org).
#[derive(Debug, Default)]
pub struct Ended {
    pub sessions: Vec<Uuid>,
    pub requests: Vec<(Uuid, Uuid)>,
}

/// The account after a deactivation, whether it was active before, and
/// what ended with it.
pub struct Deactivated {
    pub row: StaffRow,
    pub was_active: bool,
    pub ended: Ended,
}

/// Deactivates `id` if `may` allows it, in `tx`: from the account's next
/// request its tokens are refused (the staff lookup reads `active`), and what
/// it holds ends with it. An account already inactive stays as it was
/// deactivated (when, why); anything still open under it ends all the same.
pub async fn deactivate(
    tx: &mut GlobalTx,
    id: Uuid,
    reason: &Reason,
    may: impl FnOnce(&StaffRow) -> Result<(), Refusal>,
) -> ApiResult<Deactivated> {
    let target = locked(tx, id).await?;
    may(&target)?;
    let row = if target.active {
        sqlx::query_as(&format!(
            "UPDATE staff SET active = false, deactivated_at = now(), deactivation_reason = $2 \
             WHERE id = $1 RETURNING {STAFF_COLUMNS}"
        ))
        .bind(id)
        .bind(reason.as_str())
        .fetch_one(&mut **tx)
        .await?
    } else {
        target.clone()
    };
    let ended = end_what_the_account_holds(tx, id).await?;
    Ok(Deactivated {
        row,
        was_active: target.active,
        ended,
    })
}

/// Reactivates `id` if `may` allows it, in `tx`: its tokens work again from
/// its next request. What ended when it was deactivated stays ended. The
/// account after, and whether it was inactive before.
pub async fn reactivate(
    tx: &mut GlobalTx,
    id: Uuid,
    may: impl FnOnce(&StaffRow) -> Result<(), Refusal>,
) -> ApiResult<(StaffRow, bool)> {
    let target = locked(tx, id).await?;
    may(&target)?;
    if target.active {
        return Ok((target, false));
    }
    let row = sqlx::query_as(&format!(
        "UPDATE staff SET active = true, deactivated_at = NULL, deactivation_reason = NULL \
         WHERE id = $1 RETURNING {STAFF_COLUMNS}"
    ))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row, true))
}

/// Account `id`, locked for the change: a concurrent change of the same
/// account waits, then sees this one.
async fn locked(tx: &mut PgConnection, id: Uuid) -> ApiResult<StaffRow> {
    let row: Option<StaffRow> = sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    row.ok_or_else(ApiError::not_found)
}

/// Ends the deactivated account's open support sessions (`account_disabled`,
/// as when its agent next uses one) and cancels its pending requests (as its
/// requester's cancel does), in the deactivation's transaction.
async fn end_what_the_account_holds(tx: &mut PgConnection, id: Uuid) -> ApiResult<Ended> {
    Ok(Ended {
        sessions: sessions::end_agents_sessions(tx, id, EndReason::AccountDisabled).await?,
        requests: approvals::cancel_requests_of(tx, id).await?,
    })
}

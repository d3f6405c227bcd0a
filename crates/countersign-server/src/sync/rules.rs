//! What a caller's sync feed holds (API.md "Sync"), as functions of the
//! caller: which record types they read, where a cursor lets them resume,
//! and whether the planner's statistics may estimate a first page. Nothing
//! here reads or writes. Row-level security decides which *rows* of a
//! readable type arrive; these rules decide which *types* and cursors.

use crate::kernel::Refusal;
use countersign_api::{ErrorCode, Permission, RecordType, Scope, LIMIT_MAX, LIMIT_MIN};
use std::collections::BTreeSet;

/// The permission that makes a record type part of the feed.
pub fn permission(record_type: RecordType) -> Permission {
    match record_type {
        RecordType::Org => Permission::OrgsRead,
        RecordType::User => Permission::UsersRead,
        RecordType::Invoice => Permission::InvoicesRead,
        RecordType::Vendor => Permission::VendorsRead,
        RecordType::Payment => Permission::PaymentsRead,
    }
}

/// The record types the caller's feed holds: exactly those they may read.
pub fn readable(permissions: &BTreeSet<Permission>) -> Vec<RecordType> {
    [
        RecordType::Org,
        RecordType::User,
        RecordType::Invoice,
        RecordType::Vendor,
        RecordType::Payment,
    ]
    .into_iter()
    .filter(|t| permissions.contains(&permission(*t)))
    .collect()
}

/// A page's size: 1-200, the most by default (a sync wants few pages).
pub fn page_size(limit: Option<u32>) -> Result<i64, Refusal> {
    match limit.unwrap_or(LIMIT_MAX) {
        n @ LIMIT_MIN..=LIMIT_MAX => Ok(n as i64),
        _ => Err(Refusal::new(
            ErrorCode::InvalidRequest,
            format!("limit must be between {LIMIT_MIN} and {LIMIT_MAX}."),
        )),
    }
}

/// Where a sync resumes, as the cursor says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cursor {
    /// The caller's permission_epoch when the sync began.
    pub e: i64,
    /// Who the cursor belongs to.
    pub sub: String,
    /// Last change_seq delivered.
    pub s: i64,
}

/// The change_seq to resume after: 0 without a cursor; a cursor of another
/// subject or permission epoch, or one that could not be read (`None`), is
/// `stale_version`, and the client starts again from empty — a role or scope
/// change must not leave records the caller may no longer see in its cache.
pub fn resume(cursor: Option<Option<&Cursor>>, epoch: i64, subject: &str) -> Result<i64, Refusal> {
    match cursor {
        None => Ok(0),
        Some(Some(c)) if c.e == epoch && c.sub == subject && c.s >= 0 => Ok(c.s),
        Some(_) => Err(Refusal::new(
            ErrorCode::StaleVersion,
            "The sync cursor is from another permission epoch or unknown: discard the cache and sync from empty.",
        )),
    }
}

/// May a first page's estimate come from the planner's statistics? Only for
/// a caller who may read every org: they see every row anyway, so the
/// statistics leak nothing; to anyone scoped they would tell how much other
/// tenants hold, so theirs is counted under row-level security.
pub fn statistics_may_estimate(scope: &Scope) -> bool {
    scope.all_orgs
}

#[cfg(test)]
mod tests;

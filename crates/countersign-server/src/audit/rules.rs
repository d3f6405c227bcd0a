//! Who may read the audit log (API.md "Audit"), as functions of the caller
//! and the request: a search needs `audit:read`; an export needs a format,
//! takes no paging (it streams every matching event) and needs
//! `audit:export`; verifying the chain needs `audit:read` (whoever may read
//! the log may know whether it is intact; the answer holds no event). Nothing
//! here reads or writes.

use crate::kernel::Refusal;
use countersign_api::{ErrorCode, Permission};
use std::collections::BTreeSet;

pub fn search(permissions: &BTreeSet<Permission>) -> Result<(), Refusal> {
    require(permissions, Permission::AuditRead)
}

pub fn verify(permissions: &BTreeSet<Permission>) -> Result<(), Refusal> {
    require(permissions, Permission::AuditRead)
}

/// An export, checked in this order: a format, no paging, the permission.
pub fn export(permissions: &BTreeSet<Permission>, has_format: bool, paged: bool) -> Result<(), Refusal> {
    let invalid = |m: &str| Refusal::new(ErrorCode::InvalidRequest, m);
    if !has_format {
        return Err(invalid("format must be ndjson or csv."));
    }
    if paged {
        return Err(invalid(
            "An export has no limit or cursor: it streams every matching event.",
        ));
    }
    require(permissions, Permission::AuditExport)
}

fn require(permissions: &BTreeSet<Permission>, p: Permission) -> Result<(), Refusal> {
    if permissions.contains(&p) {
        Ok(())
    } else {
        Err(Refusal::lacks(p))
    }
}

#[cfg(test)]
mod tests;

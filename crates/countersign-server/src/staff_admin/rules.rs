//! Changing a staff member's access (API.md "Staff"), as functions of who
//! changes whom and what: nobody changes their own roles, scope or limits
//! (compared by person, not account: a second account of the same person is
//! still oneself), and an update names only known approval kinds and
//! limits that are not negative. Nothing here reads or writes.

use crate::kernel::Refusal;
use countersign_api::{ErrorCode, StaffUpdate, APPROVAL_KINDS};
use uuid::Uuid;

/// May the person `actor` change the access of the person `target`?
pub fn may_change(actor: Option<Uuid>, target: Uuid) -> Result<(), Refusal> {
    if actor == Some(target) {
        return Err(Refusal::new(
            ErrorCode::SelfChangeForbidden,
            "Nobody changes their own roles, scope or limits.",
        ));
    }
    Ok(())
}

/// Is `update` well formed?
pub fn validate(update: &StaffUpdate) -> Result<(), Refusal> {
    let invalid = |m: String| Refusal::new(ErrorCode::InvalidRequest, m);
    if let Some(k) = update
        .approval_limits
        .keys()
        .find(|k| !APPROVAL_KINDS.contains(&k.as_str()))
    {
        return Err(invalid(format!("Unknown approval kind {k:?}.")));
    }
    if update.approval_limits.values().flatten().any(|m| m.amount_minor < 0) {
        return Err(invalid("Approval limits cannot be negative.".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! Changing a staff member's access (API.md "Staff"), as functions of who
//! changes whom and what: nobody changes their own roles, scope or limits,
//! nor deactivates or reactivates themselves (compared by person, not
//! account: a second account of the same person is still oneself); an
//! update names only known approval kinds and limits that are not negative;
//! a deactivation says why. And the access review's filters: which roles are
//! privileged, which accounts a list shows. Nothing here reads or writes.

use crate::kernel::Refusal;
use countersign_api::{ErrorCode, Reason, StaffRole, StaffUpdate, APPROVAL_KINDS};
use uuid::Uuid;

/// May the person `actor` change the access of the person `target`?
pub fn may_change(actor: Option<Uuid>, target: Uuid) -> Result<(), Refusal> {
    if actor == Some(target) {
        return Err(Refusal::new(
            ErrorCode::SelfChangeForbidden,
            "Nobody changes their own access: roles, scope, limits, deactivation.",
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

/// The reason a deactivation is given: like every reason (reveals,
/// approvals, support sessions), at least 10 characters after trimming.
pub fn deactivation_reason(text: &str) -> Result<Reason, Refusal> {
    Reason::parse(text).map_err(|e| Refusal::new(ErrorCode::ReasonRequired, format!("To deactivate an account, {e}.")))
}

/// Does `role` make its holder a privileged account, one the access review
/// (`GET /v1/staff?privileged=true`) puts in front of a reviewer?
///
/// Privileged: a role that changes who may do what, decides over money or
/// over other people's access to customers, or reads everything that
/// happened:
/// - `security_admin`: grants and removes every other access (`staff:manage`);
/// - `finance_controller`, `finance_approver`: approve refunds, credit notes,
///   bank changes and payouts, i.e. move money (`approvals:decide`);
/// - `support_supervisor`: approves other agents' write sessions into
///   customer accounts and reviews them (`impersonation:approve`);
/// - `auditor`: reads and exports the whole audit log across every org
///   (`audit:export`).
///
/// Not privileged: `support_agent` and `finance_clerk`, whose sensitive acts
/// (a write session, a payment) each need another person's approval, and
/// whose reveals are one field at a time with a reason.
///
/// An exhaustive match, so a new role cannot be added without deciding.
pub fn privileged(role: StaffRole) -> bool {
    match role {
        StaffRole::SecurityAdmin
        | StaffRole::FinanceController
        | StaffRole::FinanceApprover
        | StaffRole::SupportSupervisor
        | StaffRole::Auditor => true,
        StaffRole::SupportAgent | StaffRole::FinanceClerk => false,
    }
}

/// `GET /v1/staff`'s filters; `None` is "either".
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    /// Holds a [`privileged`] role (`true`), or none (`false`).
    pub privileged: Option<bool>,
    /// The account is active (`true`) or deactivated (`false`).
    pub active: Option<bool>,
}

/// Does an account with `roles`, active or not, pass `filter`?
pub fn listed(filter: Filter, roles: &[StaffRole], active: bool) -> bool {
    let privileged = roles.iter().any(|r| privileged(*r));
    filter.privileged.is_none_or(|p| p == privileged) && filter.active.is_none_or(|a| a == active)
}

/// The most days `?inactive_days=` looks back (ten years).
pub const INACTIVE_DAYS_MAX: u32 = 3650;

/// `?inactive_days=n`: no activity for at least `n` whole days, 1 to
/// [`INACTIVE_DAYS_MAX`] (0 would be "everyone", which the unfiltered list is).
pub fn inactive_days(n: u32) -> Result<u32, Refusal> {
    if (1..=INACTIVE_DAYS_MAX).contains(&n) {
        Ok(n)
    } else {
        Err(Refusal::new(
            ErrorCode::InvalidRequest,
            format!("inactive_days must be between 1 and {INACTIVE_DAYS_MAX}."),
        ))
    }
}

#[cfg(test)]
mod tests;

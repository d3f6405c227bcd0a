//! Changing a staff member's access (API.md "Staff"), as functions of who
//! changes whom and what: nobody changes their own roles, scope or limits,
//! nor deactivates or reactivates themselves (compared by person, not
//! account: a second account of the same person is still oneself); an
//! update names only known approval kinds and limits that are not negative;
//! a deactivation says why; a new account (onboarding) is at an issuer the
//! server trusts, names its person, is checked like an update, and is never
//! the caller's own identity. And the access review's filters: which roles
//! are privileged, which accounts a list shows. Nothing here reads or writes.

use crate::kernel::Refusal;
use countersign_api::{CreateStaff, ErrorCode, Reason, StaffRole, StaffUpdate, APPROVAL_KINDS};
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

/// The longest subject (OpenID Connect Core §2: at most 255 ASCII characters).
pub const SUBJECT_MAX_CHARS: usize = 255;
/// The longest display name and e-mail address a new account is given.
pub const NAME_MAX_CHARS: usize = 200;
pub const EMAIL_MAX_CHARS: usize = 320;

/// A new account (`POST /v1/staff`, `staff add`), by the caller whose
/// identity is `caller` (issuer, subject; `None`: an operator at the CLI):
/// - never the caller's own identity (`self_change_forbidden`, as every
///   change of one's own access);
/// - at one of the `trusted` issuers, exactly (`invalid_request` naming
///   `issuer`);
/// - a subject as the issuer sends it (no surrounding spaces, no control
///   characters, at most [`SUBJECT_MAX_CHARS`]), a display name and an
///   e-mail address (each naming its field when it is not);
/// - roles, scope and limits as an update's ([`validate`]).
pub fn new_account(new: &CreateStaff, trusted: &[&str], caller: Option<(&str, &str)>) -> Result<(), Refusal> {
    if caller == Some((new.issuer.as_str(), new.subject.as_str())) {
        return Err(Refusal::new(
            ErrorCode::SelfChangeForbidden,
            "Nobody creates a staff account for their own identity.",
        ));
    }
    let invalid = |field: &str, what: &str| {
        Refusal::new(
            ErrorCode::InvalidRequest,
            format!("The field `{field}` is invalid: {what}."),
        )
    };
    if !trusted.contains(&new.issuer.as_str()) {
        return Err(invalid(
            "issuer",
            "not an issuer this server trusts (GET /v1/client-config lists them)",
        ));
    }
    let clean = |v: &str| !v.chars().any(char::is_control) && v.trim() == v;
    if new.subject.is_empty() || !clean(&new.subject) || new.subject.chars().count() > SUBJECT_MAX_CHARS {
        return Err(invalid(
            "subject",
            "the person's `sub` at the issuer, 1-255 characters, without spaces around it",
        ));
    }
    let name = new.display_name.trim();
    if name.is_empty() || name.chars().any(char::is_control) || name.chars().count() > NAME_MAX_CHARS {
        return Err(invalid("display_name", "a name of 1-200 characters"));
    }
    let email = &new.email;
    let at = email.split_once('@');
    if !clean(email)
        || email.chars().count() > EMAIL_MAX_CHARS
        || email.contains(' ')
        || at.is_none_or(|(local, domain)| local.is_empty() || domain.is_empty())
    {
        return Err(invalid("email", "an e-mail address like name@example.com"));
    }
    validate(&StaffUpdate {
        roles: new.roles.clone(),
        scope: new.scope.clone(),
        approval_limits: new.approval_limits.clone(),
        active: true,
    })
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
    /// The account waits for access (`true`: provisioned at a first sign-in,
    /// no roles, never decided) or not (`false`).
    pub pending: Option<bool>,
}

/// Does an account with `roles`, active or not, waiting for access
/// (`pending`, see [`Filter::pending`]) or not, pass `filter`?
pub fn listed(filter: Filter, roles: &[StaffRole], active: bool, pending: bool) -> bool {
    let privileged = roles.iter().any(|r| privileged(*r));
    let pending = pending && roles.is_empty();
    filter.privileged.is_none_or(|p| p == privileged)
        && filter.active.is_none_or(|a| a == active)
        && filter.pending.is_none_or(|p| p == pending)
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

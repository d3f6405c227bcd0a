//! What each role may do. Server policy, never taken from the client.

use countersign_api::{CustomerRole, Permission as P, StaffRole};
use std::collections::BTreeSet;

pub fn role_permissions(role: StaffRole) -> &'static [P] {
    match role {
        StaffRole::SupportAgent => &[
            P::OrgsRead,
            P::UsersRead,
            P::InvoicesRead,
            P::PiiReveal,
            P::ImpersonationStart,
            P::SupportAccessRead,
        ],
        StaffRole::SupportSupervisor => &[
            P::OrgsRead,
            P::UsersRead,
            P::InvoicesRead,
            P::PiiReveal,
            P::ImpersonationApprove,
            P::ImpersonationReview,
            P::SupportAccessRead,
            P::AuditRead,
        ],
        StaffRole::FinanceClerk => &[
            P::OrgsRead,
            P::InvoicesRead,
            P::VendorsRead,
            P::PaymentsRead,
            P::ApprovalsRequest,
        ],
        StaffRole::FinanceApprover | StaffRole::FinanceController => &[
            P::OrgsRead,
            P::InvoicesRead,
            P::VendorsRead,
            P::PaymentsRead,
            P::FinanceReveal,
            P::ApprovalsRequest,
            P::ApprovalsDecide,
        ],
        StaffRole::Auditor => &[
            P::OrgsRead,
            P::UsersRead,
            P::InvoicesRead,
            P::VendorsRead,
            P::PaymentsRead,
            P::AuditRead,
            P::AuditExport,
            P::SupportAccessRead,
        ],
        StaffRole::SecurityAdmin => &[P::StaffRead, P::StaffManage, P::AuditRead],
    }
}

pub fn staff_permissions(roles: &[StaffRole]) -> BTreeSet<P> {
    roles
        .iter()
        .flat_map(|r| role_permissions(*r).iter().copied())
        .collect()
}

/// A customer account sees its own org only (scope), and only what a customer
/// user of the platform sees.
pub fn customer_permissions(role: CustomerRole) -> BTreeSet<P> {
    let mut p: BTreeSet<P> = [P::OrgsRead, P::UsersRead, P::InvoicesRead].into();
    if role == CustomerRole::OrgAdmin {
        p.insert(P::SupportAccessRead);
    }
    p
}

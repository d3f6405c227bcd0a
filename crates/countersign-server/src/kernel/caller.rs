//! Who is calling, as every verb sees it: the staff member or customer user
//! behind the request, their permissions and scope, and the support session
//! they act in, if any. Built by `sign_in` from a verified token and the
//! database on every request, so a role change is effective on the very
//! next request.

use super::Refusal;
use countersign_api::{ActorKind, CustomerRole, Money, OrgId, Permission, Scope, SessionScope, StaffId, UserId};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct CustomerIdentity {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: CustomerRole,
}

/// A support session in use on this request (`Countersign-Impersonation`).
#[derive(Debug, Clone)]
pub struct Impersonation {
    pub session_id: uuid::Uuid,
    pub subject_user_id: UserId,
    pub org_id: OrgId,
    pub scope: SessionScope,
    pub expires_at: time::OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: ActorKind,
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
    pub staff_id: Option<StaffId>,
    /// The person behind a staff account: separation of duties compares these.
    pub person_id: Option<uuid::Uuid>,
    pub customer: Option<CustomerIdentity>,
    pub roles: Vec<String>,
    pub permissions: BTreeSet<Permission>,
    pub scope: Scope,
    pub approval_limits: BTreeMap<String, Option<Money>>,
    pub permission_epoch: i64,
    /// Set while a staff member acts as a customer user: permissions, scope
    /// and `customer` are then the subject's, identity fields the agent's.
    pub impersonation: Option<Impersonation>,
}

impl Principal {
    /// The server acting on its own (schedules, masking for exports): no
    /// permissions, and all orgs only when it must see every tenant.
    pub fn service(all_orgs: bool) -> Principal {
        Principal {
            kind: ActorKind::Service,
            issuer: String::new(),
            subject: "countersign-server".into(),
            display_name: "Countersign server".into(),
            email: String::new(),
            staff_id: None,
            person_id: None,
            customer: None,
            roles: vec![],
            permissions: BTreeSet::new(),
            scope: Scope {
                all_orgs,
                regions: vec![],
                org_ids: vec![],
            },
            approval_limits: BTreeMap::new(),
            permission_epoch: 0,
            impersonation: None,
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
    pub fn require(&self, p: Permission) -> Result<(), Refusal> {
        if self.can(p) {
            Ok(())
        } else {
            Err(Refusal::lacks(p))
        }
    }
}

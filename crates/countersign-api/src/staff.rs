//! The caller's identity (`GET /v1/me`) and staff administration.

use crate::{Money, OrgId, Permission, Region, StaffId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

macro_rules! roles {
    ($($variant:ident = $text:literal;)*) => {
        /// Staff roles. What each grants is server policy.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum StaffRole { $(#[serde(rename = $text)] $variant,)* }

        crate::wire_string_schema!(StaffRole, $($text),*);

        impl StaffRole {
            pub const ALL: &'static [StaffRole] = &[$(StaffRole::$variant,)*];
            pub fn as_str(self) -> &'static str { match self { $(StaffRole::$variant => $text,)* } }
            pub fn parse(s: &str) -> Option<StaffRole> {
                StaffRole::ALL.iter().copied().find(|r| r.as_str() == s)
            }
        }
    };
}

roles! {
    SupportAgent = "support_agent";
    SupportSupervisor = "support_supervisor";
    FinanceClerk = "finance_clerk";
    FinanceApprover = "finance_approver";
    FinanceController = "finance_controller";
    Auditor = "auditor";
    SecurityAdmin = "security_admin";
}

/// Which orgs a staff member may see. Empty everywhere means nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub all_orgs: bool,
    pub regions: Vec<Region>,
    pub org_ids: Vec<OrgId>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    Staff,
    Customer,
    Service,
}

/// `GET /v1/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub issuer: String,
    pub subject: String,
    pub kind: ActorKind,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub permissions: Vec<Permission>,
    pub scope: Scope,
    /// Per approval kind: the largest amount this person may approve; `null` = no limit.
    /// Kind → limit; `null` means no limit.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Money>))]
    pub approval_limits: BTreeMap<String, Option<Money>>,
    pub permission_epoch: i64,
    pub impersonation: Option<crate::ActiveImpersonation>,
}

/// A staff member as `security_admin` sees them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StaffMember {
    pub id: StaffId,
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<StaffRole>,
    pub scope: Scope,
    /// Kind → limit; `null` means no limit.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Money>))]
    pub approval_limits: BTreeMap<String, Option<Money>>,
    pub permission_epoch: i64,
    pub active: bool,
    /// When the account last made a request, to within 5 minutes: it is
    /// recorded at most once every 5 minutes, so later requests within those
    /// 5 minutes do not move it. `null`: never active.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last_active_at: Option<OffsetDateTime>,
    /// When an inactive account was deactivated; `null` while it is active
    /// (and for one deactivated before this was recorded).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub deactivated_at: Option<OffsetDateTime>,
    /// The reason given to `POST /v1/staff/{id}/deactivate`; `null` while the
    /// account is active, or when it was deactivated through `PUT`.
    #[serde(default)]
    pub deactivation_reason: Option<String>,
}

/// `POST /v1/staff/{id}/deactivate`: from the account's next request its
/// tokens are refused (`account_disabled`), its open support sessions end and
/// its pending approval requests are cancelled, in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeactivateStaff {
    /// Why; at least 10 characters after trimming (`reason_required`, also
    /// when missing). Audited and shown on the account while it is inactive.
    #[serde(default)]
    pub reason: String,
}

/// `PUT /v1/staff/{id}`: replaces roles, scope and limits. Identity fields
/// (issuer, subject, epoch) are the server's and are refused here.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StaffUpdate {
    pub roles: Vec<StaffRole>,
    pub scope: Scope,
    #[serde(default)]
    /// Kind → limit; `null` means no limit.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Money>))]
    pub approval_limits: BTreeMap<String, Option<Money>>,
    #[serde(default = "yes")]
    pub active: bool,
}

/// `POST /v1/staff`: onboarding. A staff account for (`issuer`, `subject`)
/// at an issuer the server trusts, with its roles, scope and limits, checked
/// like [`StaffUpdate`]'s. Never for oneself (`self_change_forbidden`); an
/// identity that has an account already is `409 staff_exists`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateStaff {
    /// One of the issuers in `GET /v1/client-config`, exactly.
    pub issuer: String,
    /// The person's `sub` at that issuer (not an e-mail, not a username).
    pub subject: String,
    pub display_name: String,
    pub email: String,
    #[serde(default)]
    pub roles: Vec<StaffRole>,
    #[serde(default)]
    pub scope: Scope,
    /// Kind → limit; `null` means no limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, Money>))]
    pub approval_limits: BTreeMap<String, Option<Money>>,
}

fn yes() -> bool {
    true
}

/// Approval kinds (API.md "Approvals"); limits are keyed by these names.
pub const APPROVAL_KINDS: &[&str] = &[
    "refund",
    "credit_note",
    "vendor_bank_change",
    "payout_release",
    "data_export",
];

pub fn org_ids_display(ids: &[OrgId]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

//! Approvals (API.md "Approvals"): requests, decisions, policy rules.

use crate::{ApprovalId, ImpersonationId, Money, OrgId, StaffId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    Refund,
    CreditNote,
    VendorBankChange,
    PayoutRelease,
    DataExport,
}

impl ApprovalKind {
    pub const ALL: [ApprovalKind; 5] = [
        ApprovalKind::Refund,
        ApprovalKind::CreditNote,
        ApprovalKind::VendorBankChange,
        ApprovalKind::PayoutRelease,
        ApprovalKind::DataExport,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Refund => "refund",
            ApprovalKind::CreditNote => "credit_note",
            ApprovalKind::VendorBankChange => "vendor_bank_change",
            ApprovalKind::PayoutRelease => "payout_release",
            ApprovalKind::DataExport => "data_export",
        }
    }
    pub fn parse(s: &str) -> Option<ApprovalKind> {
        ApprovalKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Kinds that move money carry an amount.
    pub fn has_amount(self) -> bool {
        matches!(
            self,
            ApprovalKind::Refund | ApprovalKind::CreditNote | ApprovalKind::PayoutRelease
        )
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    Approved,
    Executed,
    Rejected,
    Cancelled,
    Expired,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Executed => "executed",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::Cancelled => "cancelled",
            ApprovalStatus::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        [
            Self::Pending,
            Self::Approved,
            Self::Executed,
            Self::Rejected,
            Self::Cancelled,
            Self::Expired,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// What must happen before a request is approved.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rule {
    /// Distinct approvers needed.
    pub approvals: u32,
    /// A role at least one of them must hold, if any (e.g. `finance_controller`).
    pub one_of_role: Option<String>,
    /// The permission every approver needs.
    pub permission: String,
    /// Human description, e.g. "2 distinct approvers, at least one finance_controller".
    pub description: String,
}

/// `POST /v1/approvals`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApproval {
    pub kind: ApprovalKind,
    pub org_id: OrgId,
    /// The invoice (refund, credit note), the vendor (bank change, payout) or the org (data export).
    pub target_id: uuid::Uuid,
    pub amount: Option<Money>,
    #[serde(default)]
    pub payload: serde_json::Value,
    pub reason: String,
}

/// `PATCH /v1/approvals/{id}`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AmendApproval {
    pub amount: Option<Money>,
    pub payload: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub version: i32,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// `POST /v1/approvals/{id}/decisions`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecideApproval {
    pub decision: Decision,
    #[serde(default)]
    pub comment: String,
    /// The version the approver saw; must be the current one.
    pub version: i32,
    /// Decide for an approver who delegated to you (out of office).
    #[serde(default)]
    pub on_behalf_of: Option<StaffId>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionRecord {
    pub approver_id: StaffId,
    pub approver_name: String,
    pub on_behalf_of: Option<StaffId>,
    pub decision: Decision,
    pub comment: String,
    pub version_seen: i32,
    /// Whether it still counts (approvals of an older version were cleared).
    pub current: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: OffsetDateTime,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    pub id: ApprovalId,
    pub kind: ApprovalKind,
    pub org_id: OrgId,
    pub target_id: uuid::Uuid,
    pub amount: Option<Money>,
    /// `amount` in the server's base currency, at the rate recorded when the
    /// request was made: what the policy's thresholds and approvers' limits
    /// compare (API.md, Approvals).
    #[serde(default)]
    pub amount_base: Option<Money>,
    /// The rate recorded (base units per unit of `amount`'s currency).
    #[serde(default)]
    pub exchange_rate: Option<String>,
    /// Masked per caller (e.g. the new IBAN of a bank change).
    pub payload: serde_json::Value,
    pub reason: String,
    pub status: ApprovalStatus,
    pub version: i32,
    pub requester_id: StaffId,
    pub policy_version: String,
    pub required: Vec<Rule>,
    pub decisions: Vec<DecisionRecord>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created_at: OffsetDateTime,
    pub execution_result: Option<serde_json::Value>,
    /// Whether the caller could approve this request now, as it stands: the
    /// server's decision rules asked without deciding (API.md).
    #[serde(default)]
    pub can_decide: bool,
    /// When `can_decide` is false: the code a decision would be refused
    /// with, and why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cannot_decide: Option<CannotDecide>,
}

/// Why the caller cannot decide a request.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannotDecide {
    /// The app's bindings name it by the client's `Code`, which holds every server code.
    #[cfg_attr(feature = "ts", ts(type = "Code"))]
    pub code: crate::ErrorCode,
    pub message: String,
}

/// `POST /v1/delegations`: an approver hands their approvals to another
/// approver for a time window.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateDelegation {
    pub delegate_id: StaffId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub ends_at: OffsetDateTime,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delegation {
    pub id: uuid::Uuid,
    pub delegator_id: StaffId,
    /// Added with the notification centre; older servers leave it empty.
    #[serde(default)]
    pub delegator_name: String,
    pub delegate_id: StaffId,
    #[serde(default)]
    pub delegate_name: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub ends_at: OffsetDateTime,
    pub revoked: bool,
    /// The caller gave it (false: it was given to the caller).
    #[serde(default)]
    pub mine: bool,
}

/// `GET /v1/delegations/delegates`: someone an approver may hand their
/// approvals to (an active approver other than themselves).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delegate {
    pub id: StaffId,
    pub name: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A request I can decide arrived.
    ToDecide,
    /// My request was decided (approved in part, or rejected).
    Decided,
    /// My request was executed.
    Executed,
    /// A request I can decide expires within 24 h.
    ExpiresSoon,
    /// My own pending request expires within 24 h.
    MyRequestExpiresSoon,
    /// A support session waits for a supervisor's approval, and I may give it.
    SessionToApprove,
}

/// Every kind names what it is about: a request (`approval_id`,
/// `approval_kind`) or a support session (`impersonation_id`). The other
/// fields are there to say it in words without another call.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub kind: NotificationKind,
    #[serde(default)]
    pub approval_id: Option<ApprovalId>,
    #[serde(default)]
    pub approval_kind: Option<ApprovalKind>,
    #[serde(default)]
    pub impersonation_id: Option<ImpersonationId>,
    /// The request's amount, where it has one.
    #[serde(default)]
    pub amount: Option<Money>,
    /// The customer org it concerns.
    #[serde(default)]
    pub org_name: Option<String>,
    /// Who caused it: the requester (to decide, expires soon), the approver
    /// (decided), the agent (session to approve).
    #[serde(default)]
    pub actor_name: Option<String>,
    /// For `decided`: approve or reject.
    #[serde(default)]
    pub decision: Option<Decision>,
    /// When the event happened (for the expiry kinds: the expiry).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: OffsetDateTime,
}

//! Support impersonation (API.md "Impersonation").

use crate::{ImpersonationId, OrgId, StaffId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const IMPERSONATION_HEADER: &str = "countersign-impersonation";

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SessionScope {
    Read,
    Write,
}

/// Where a support session stands, as stored. On the wire a session's
/// `status` is this name, or `expired` for an active session past its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    PendingApproval,
    Active,
    Rejected,
    Ended,
}

/// Why a session ended: by its agent or a supervisor, or by the server
/// because the agent's access changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    Ended,
    AccessRevoked,
    AccountDisabled,
}

/// A session's review by a supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    Unreviewed,
    Ok,
    Flagged,
}

macro_rules! wire_names {
    ($($t:ty { $($v:ident = $s:literal),* })*) => {$(
        impl $t {
            pub fn as_str(self) -> &'static str {
                match self { $(<$t>::$v => $s,)* }
            }
        }
    )*};
}
wire_names! {
    SessionStatus { PendingApproval = "pending_approval", Active = "active", Rejected = "rejected", Ended = "ended" }
    EndReason { Ended = "ended", AccessRevoked = "access_revoked", AccountDisabled = "account_disabled" }
    ReviewState { Unreviewed = "unreviewed", Ok = "ok", Flagged = "flagged" }
    SessionScope { Read = "read", Write = "write" }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateImpersonation {
    pub subject_user_id: UserId,
    pub reason: String,
    pub ticket_ref: String,
    pub scope: SessionScope,
    /// 1-60, default 15.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub duration_minutes: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Comment {
    #[serde(default)]
    pub comment: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ReviewOutcome {
    Ok,
    Flagged,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Review {
    pub outcome: ReviewOutcome,
    #[serde(default)]
    pub note: String,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImpersonationSession {
    pub id: ImpersonationId,
    pub org_id: OrgId,
    pub agent_id: StaffId,
    pub agent_name: String,
    pub subject_user_id: UserId,
    pub reason: String,
    pub ticket_ref: String,
    pub scope: SessionScope,
    pub duration_minutes: i64,
    /// `pending_approval`, `active`, `rejected`, `ended` or `expired`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub ended_at: Option<OffsetDateTime>,
    /// Why an `ended` session ended: `ended` (its agent or a supervisor),
    /// `access_revoked` (the agent's roles or scope no longer cover it, seen
    /// by the server) or `account_disabled` (the agent was deactivated).
    #[serde(default)]
    pub end_reason: Option<String>,
    /// `unreviewed`, `ok` or `flagged`.
    pub review: String,
    pub review_note: Option<String>,
    /// Only on `GET /v1/impersonations/{id}`: the audit events of the session.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub timeline: Option<Vec<crate::AuditEvent>>,
}

/// `POST /v1/orgs/{org_id}/support-access/grants`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateGrant {
    pub duration_hours: i64,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grant {
    pub id: uuid::Uuid,
    pub org_id: OrgId,
    pub granted_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub starts_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub ends_at: OffsetDateTime,
    pub revoked: bool,
}

/// One entry of the customer-visible evidence list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportAccessEntry {
    pub session_id: ImpersonationId,
    pub agent_name: String,
    pub reason: String,
    pub ticket_ref: String,
    pub scope: SessionScope,
    pub status: String,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub ended_at: Option<OffsetDateTime>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportAccessReport {
    pub org_id: OrgId,
    pub mode: crate::records::SupportAccess,
    pub sessions: Vec<SupportAccessEntry>,
    pub grants: Vec<Grant>,
}

/// `PATCH /v1/users/{user_id}` (a customer action).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// `/v1/me`'s `impersonation` while a session header is in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveImpersonation {
    pub session_id: ImpersonationId,
    pub subject_user_id: UserId,
    pub org_id: OrgId,
    pub scope: SessionScope,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

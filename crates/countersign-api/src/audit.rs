//! Audit events as `GET /v1/audit` and the export return them.

use crate::ActorKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub kind: Option<ActorKind>,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Error => "error",
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub seq: i64,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub at: OffsetDateTime,
    pub actor: Actor,
    pub on_behalf_of: Option<serde_json::Value>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub impersonation_id: Option<uuid::Uuid>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub org_id: Option<uuid::Uuid>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Outcome,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
    /// Hex SHA-256 of the previous event's hash and this event's canonical form.
    pub prev_hash: String,
    pub hash: String,
}

/// `GET /v1/audit/export` answers with this header before the body: how many
/// events the export holds (counted in the snapshot the export reads, so the
/// client can show real progress).
pub const EXPORT_COUNT_HEADER: &str = "countersign-export-count";

/// `GET /v1/audit/verify`: the whole chain and every signed checkpoint,
/// recomputed by the server.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerification {
    /// No event or checkpoint differs from what was written.
    pub ok: bool,
    pub events_checked: u64,
    /// Events whose chain was intact up to them (after the first bad one, the
    /// rest are counted but cannot be vouched for).
    pub events_valid: u64,
    /// The last seq read (0: an empty log).
    pub last_seq: i64,
    pub checkpoints_checked: u64,
    pub checkpoints_valid: u64,
    /// The first seq at which the log is not what was written, and why.
    pub first_bad: Option<ChainBreak>,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub verified_at: OffsetDateTime,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainBreak {
    pub seq: i64,
    /// In words, e.g. "content does not match its hash".
    pub reason: String,
}

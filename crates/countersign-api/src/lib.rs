//! The wire contract of Countersign (`shared/API.md`): every type that crosses
//! the HTTP boundary, the stable error codes and the permission names. Both the
//! server and the desktop client compile against this crate, so a renamed field
//! breaks the build on both sides instead of at run time.

pub mod approvals;
pub mod audit;
pub mod client_config;
pub mod error;
pub mod ids;
pub mod impersonation;
pub mod masked;
pub mod money;
pub mod permissions;
pub mod records;
pub mod reveal;
pub mod staff;
pub mod sync;

pub use approvals::*;
pub use audit::{Actor, AuditEvent, AuditVerification, ChainBreak, Outcome, EXPORT_COUNT_HEADER};
pub use client_config::{ClientConfigDoc, ClientVersion, ProviderInfo, CLIENT_VERSION_HEADER};
pub use error::{ErrorCode, Problem};
pub use ids::*;
pub use impersonation::*;
pub use masked::Masked;
pub use money::{Currency, Money, MoneyError};
pub use permissions::Permission;
pub use records::*;
pub use reveal::{Reason, ReasonError, RevealRequest, RevealResponse};
pub use staff::*;
pub use sync::{SyncChange, SyncPage};

/// A page of a list endpoint: `{ items, next_cursor }`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back as `cursor` to get the next page. `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Smallest and largest `limit` a list accepts, and its default.
pub const LIMIT_MIN: u32 = 1;
pub const LIMIT_MAX: u32 = 200;
pub const LIMIT_DEFAULT: u32 = 50;

/// Region of an org. Staff scope is expressed in regions or explicit org ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Region {
    EU,
    US,
}

impl Region {
    pub const ALL: [Region; 2] = [Region::EU, Region::US];
    pub fn as_str(self) -> &'static str {
        match self {
            Region::EU => "EU",
            Region::US => "US",
        }
    }
    pub fn parse(s: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A stored or received string that is not one of a wire enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a known {what}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// `TryFrom<String>` by the enums' wire names (their serde form), so that a
/// server reading a row parses a status once, at load, and an unknown value
/// is an error there instead of a silent default later (sqlx's
/// `#[sqlx(try_from = "String")]`).
macro_rules! wire_try_from {
    ($($t:ty),* $(,)?) => {$(
        impl TryFrom<String> for $t {
            type Error = UnknownValue;
            fn try_from(value: String) -> Result<Self, UnknownValue> {
                serde_json::from_value(serde_json::Value::String(value.clone()))
                    .map_err(|_| UnknownValue { what: stringify!($t), value })
            }
        }
    )*};
}
wire_try_from!(
    ApprovalKind,
    ApprovalStatus,
    Decision,
    SessionScope,
    SessionStatus,
    EndReason,
    ReviewState,
    SupportAccess,
    Region,
    CustomerRole,
    InvoiceStatus,
    PaymentKind,
    RecordType,
);

#[cfg(test)]
mod wire_try_from_tests {
    use super::*;

    #[test]
    fn wire_names_parse_and_unknown_values_are_errors() {
        assert_eq!(
            ApprovalStatus::try_from("pending".to_owned()),
            Ok(ApprovalStatus::Pending)
        );
        assert_eq!(
            SupportAccess::try_from("consent".to_owned()),
            Ok(SupportAccess::Consent)
        );
        let e = SupportAccess::try_from("closed".to_owned()).unwrap_err();
        assert_eq!(e.to_string(), "\"closed\" is not a known SupportAccess");
        assert!(ApprovalStatus::try_from("Pending".to_owned()).is_err());
    }
}

//! `POST /v1/reveals` and the reason every sensitive action carries.

use crate::RecordType;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const REASON_MIN_CHARS: usize = 10;
pub const REASON_MAX_CHARS: usize = 2_000;

/// A stated reason: at least 10 characters after trimming. Parsed once; kept
/// verbatim (line breaks, quotes and all) for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Reason(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReasonError {
    #[error("a reason of at least {REASON_MIN_CHARS} characters is required")]
    TooShort,
    #[error("a reason may have at most {REASON_MAX_CHARS} characters")]
    TooLong,
    #[error("a reason cannot contain NUL characters")]
    Nul,
}

impl Reason {
    pub fn parse(s: &str) -> Result<Reason, ReasonError> {
        let t = s.trim();
        match t.chars().count() {
            n if n < REASON_MIN_CHARS => Err(ReasonError::TooShort),
            n if n > REASON_MAX_CHARS => Err(ReasonError::TooLong),
            _ if t.contains('\0') => Err(ReasonError::Nul),
            _ => Ok(Reason(t.to_owned())),
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    pub record_type: RecordType,
    pub record_id: uuid::Uuid,
    /// The `field` of a `Masked` value, e.g. `email`, `iban`.
    pub field: String,
    /// Why; ≥ 10 characters after trimming. Audited.
    pub reason: String,
}

/// The value, for display in memory only: never cached, logged or audited.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RevealResponse {
    pub value: String,
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub revealed_at: OffsetDateTime,
}

impl std::fmt::Debug for RevealResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealResponse")
            .field("value", &"<redacted>")
            .field("revealed_at", &self.revealed_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_need_ten_characters() {
        assert_eq!(Reason::parse("   too short ").unwrap_err(), ReasonError::TooShort);
        assert_eq!(Reason::parse("          ").unwrap_err(), ReasonError::TooShort);
        assert_eq!(Reason::parse("ticket 4711").unwrap().as_str(), "ticket 4711");
        assert_eq!(
            Reason::parse(" line\r\nbreak \"quoted\" ").unwrap().as_str(),
            "line\r\nbreak \"quoted\""
        );
        assert_eq!(Reason::parse("0123456789\0").unwrap_err(), ReasonError::Nul);
        assert_eq!(Reason::parse(&"x".repeat(2001)).unwrap_err(), ReasonError::TooLong);
        // Characters, not bytes.
        assert!(Reason::parse("üüüüüüüüüü").is_ok());
        assert!(Reason::parse("üüüüü").is_err());
    }

    #[test]
    fn a_revealed_value_never_shows_in_debug_output() {
        let r = RevealResponse {
            value: "DE89370400440532013000".into(),
            revealed_at: OffsetDateTime::UNIX_EPOCH,
        };
        assert!(!format!("{r:?}").contains("DE89"));
    }
}

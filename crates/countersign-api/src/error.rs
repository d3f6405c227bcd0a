//! Stable, machine-readable error codes and the RFC 9457 problem document.
//! Codes are never renamed: clients and external checks match on them.

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($variant:ident = $text:literal, $status:literal, $title:literal;)*) => {
        /// Every `code` the API can return, with its HTTP status.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode { $($variant,)* }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];
            pub fn as_str(self) -> &'static str { match self { $(ErrorCode::$variant => $text,)* } }
            pub fn status(self) -> u16 { match self { $(ErrorCode::$variant => $status,)* } }
            /// A short human title; `detail` carries the specifics.
            pub fn title(self) -> &'static str { match self { $(ErrorCode::$variant => $title,)* } }
            pub fn parse(s: &str) -> Option<ErrorCode> {
                ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
            }
        }
    };
}

codes! {
    Unauthenticated = "unauthenticated", 401, "Authentication required";
    TokenInvalid = "token_invalid", 401, "Access token rejected";
    Forbidden = "forbidden", 403, "Not permitted";
    NotFound = "not_found", 404, "Not found";
    MethodNotAllowed = "method_not_allowed", 405, "Method not allowed";
    InvalidRequest = "invalid_request", 422, "Invalid request";
    ReasonRequired = "reason_required", 422, "A reason is required";
    SelfApprovalForbidden = "self_approval_forbidden", 403, "You cannot decide your own request";
    SelfChangeForbidden = "self_change_forbidden", 403, "You cannot change your own access";
    AlreadyDecided = "already_decided", 409, "Already decided";
    StaleVersion = "stale_version", 409, "The record has changed";
    RequestExpired = "request_expired", 409, "The request has expired";
    NotPending = "not_pending", 409, "The request is no longer pending";
    ApprovalLimitExceeded = "approval_limit_exceeded", 403, "Above your approval limit";
    ScopeExceeded = "scope_exceeded", 403, "Outside the session's scope";
    ImpersonationExpired = "impersonation_expired", 401, "The impersonation session has expired";
    ImpersonationNotActive = "impersonation_not_active", 403, "The impersonation session is not active";
    NotWhileImpersonating = "not_while_impersonating", 403, "Not allowed while impersonating";
    StepUpRequired = "step_up_required", 401, "Re-authentication required";
    RateLimited = "rate_limited", 429, "Too many requests";
    IdempotencyKeyReused = "idempotency_key_reused", 409, "Idempotency key reused with another body";
    PayoutHold = "payout_hold", 409, "Payouts to this vendor are on hold";
    ConsentRequired = "consent_required", 403, "The organisation has not granted support access";
    PayloadTooLarge = "payload_too_large", 413, "The request body is too large";
    ClientUpdateRequired = "client_update_required", 426, "This version of the app is too old";
    AccountDisabled = "account_disabled", 401, "The account is disabled";
    AccessPending = "access_pending", 403, "Access is waiting for review";
    StaffExists = "staff_exists", 409, "A staff account for this identity exists already";
    ServiceUnavailable = "service_unavailable", 503, "Service unavailable";
    Internal = "internal", 500, "Internal error";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 9457 `application/problem+json`, always with `code` and `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    pub request_id: String,
}

pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

impl Problem {
    pub fn new(code: ErrorCode, detail: impl Into<String>, request_id: impl Into<String>) -> Self {
        Problem {
            type_: format!("https://countersign.example/problems/{}", code.as_str()),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            code,
            request_id: request_id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_json_and_text() {
        for &code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }

    #[test]
    fn contract_statuses_match_api_md() {
        assert_eq!(ErrorCode::InvalidRequest.status(), 422);
        assert_eq!(ErrorCode::TokenInvalid.status(), 401);
        assert_eq!(ErrorCode::NotFound.status(), 404);
        assert_eq!(ErrorCode::IdempotencyKeyReused.status(), 409);
        assert_eq!(ErrorCode::RateLimited.status(), 429);
    }
}

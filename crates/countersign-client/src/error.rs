//! The one `Code` enum every error of the client reaches the app's UI with
//! (DESIGN.md, "Errors"; GitButler's `but-error` is the model): the server's
//! problem codes pass through unchanged, and the client adds its own for what
//! happens before or without an answer. The UI has one table from code to
//! words; a command's error is `ErrorPayload { code, message }`.

use countersign_api::ErrorCode;
use serde::Serialize;

macro_rules! codes {
    (server { $($s:ident,)* } client { $($c:ident = $text:literal,)* }) => {
        /// Every code the app's UI can be given.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum Code {
            $($s,)*
            $($c,)*
        }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$s,)* $(Code::$c,)*];
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$s => ErrorCode::$s.as_str(),)*
                    $(Code::$c => $text,)*
                }
            }
        }

        /// Exhaustive: a code the server gains fails to compile here until
        /// the app knows it too.
        impl From<ErrorCode> for Code {
            fn from(code: ErrorCode) -> Code {
                match code { $(ErrorCode::$s => Code::$s,)* }
            }
        }
    };
}

codes! {
    server {
        Unauthenticated, TokenInvalid, Forbidden, NotFound, MethodNotAllowed, InvalidRequest, ReasonRequired,
        SelfApprovalForbidden, SelfChangeForbidden, AlreadyDecided, StaleVersion, RequestExpired, NotPending,
        ApprovalLimitExceeded, ScopeExceeded, ImpersonationExpired, ImpersonationNotActive, NotWhileImpersonating,
        StepUpRequired, RateLimited, IdempotencyKeyReused, PayoutHold, ConsentRequired, PayloadTooLarge,
            ClientUpdateRequired,
        AccountDisabled, AccessPending, StaffExists, ServiceUnavailable, Internal,
    }
    client {
        // The server cannot be reached: reads come from the cache, actions are refused.
        Offline = "offline",
        Timeout = "timeout",
        Network = "network",
        Tls = "tls",
        // An address that answers, but not as a Countersign server.
        NotCountersign = "not_countersign",
        UnexpectedResponse = "unexpected_response",
        NotSignedIn = "not_signed_in",
        SignedOut = "signed_out",
        KeyringUnavailable = "keyring_unavailable",
        ConfigInvalid = "config_invalid",
        // This app is older than the server's minimum version.
        UpdateRequired = "update_required",
        CacheUnavailable = "cache_unavailable",
        // A record the local cache does not hold (not synced, or not yours).
        NotFoundLocally = "not_found_locally",
        // Support sessions: one at a time; the customer's view needs an active one.
        SupportSessionOpen = "support_session_open",
        NoSupportSession = "no_support_session",
        // Sign-in
        DiscoveryFailed = "discovery_failed",
        ListenerFailed = "listener_failed",
        // Every loopback port registered at the provider is taken.
        SignInPortsBusy = "sign_in_ports_busy",
        BrowserFailed = "browser_failed",
        SignInTimeout = "sign_in_timeout",
        SignInCancelled = "sign_in_cancelled",
        SignInInProgress = "sign_in_in_progress",
        InvalidCallback = "invalid_callback",
        StateMismatch = "state_mismatch",
        IssuerMismatch = "issuer_mismatch",
        ProviderError = "provider_error",
        CodeRejected = "code_rejected",
        TokenRequestFailed = "token_request_failed",
        IncompleteTokenResponse = "incomplete_token_response",
        NonceMismatch = "nonce_mismatch",
        IdTokenInvalid = "id_token_invalid",
        RefreshRejected = "refresh_rejected",
        RevocationFailed = "revocation_failed",
        // Audit export to a file
        ExportCancelled = "export_cancelled",
        ExportInProgress = "export_in_progress",
        FileWriteFailed = "file_write_failed",
        // Signed updates (issue 22): nothing is installed after any of these.
        UpdatesUnavailable = "updates_unavailable",
        UpdateTooLarge = "update_too_large",
        UpdateSignatureInvalid = "update_signature_invalid",
        UpdateVersionUnsigned = "update_version_unsigned",
        UpdateFailed = "update_failed",
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a failed command hands the UI: a stable code and a sentence. It never
/// carries a token, a key or a revealed value: the messages come from error
/// types that hold none (tokens are `Sensitive`, whose Display is redacted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorPayload {
    pub code: Code,
    pub message: String,
    /// The server's own sentence when it refused (the problem's `detail`,
    /// which API.md keeps free of internals), e.g. "A bank account change for
    /// this vendor is already pending.": what the UI shows for a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub detail: Option<String>,
}

impl ErrorPayload {
    pub fn new(code: Code, message: impl Into<String>) -> ErrorPayload {
        ErrorPayload {
            code,
            message: message.into(),
            detail: None,
        }
    }
}

/// Every error type of the client has a code; `ErrorPayload::from` then works for all.
pub trait HasCode: std::fmt::Display {
    fn code(&self) -> Code;
    /// The server's sentence, when the error is the server's refusal.
    fn server_detail(&self) -> Option<String> {
        None
    }
}

impl<E: HasCode> From<E> for ErrorPayload {
    fn from(e: E) -> ErrorPayload {
        ErrorPayload {
            code: e.code(),
            message: e.to_string(),
            detail: e.server_detail(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_pass_through_unchanged() {
        for &code in ErrorCode::ALL {
            let ours = Code::from(code);
            assert_eq!(ours.as_str(), code.as_str());
            assert_eq!(serde_json::to_value(ours).unwrap(), serde_json::to_value(code).unwrap());
        }
    }

    #[test]
    fn every_code_serializes_as_its_text_and_no_two_share_one() {
        let mut seen = std::collections::HashSet::new();
        for &code in Code::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::String(code.as_str().into())
            );
            assert!(seen.insert(code.as_str()), "{code} twice");
        }
    }
}

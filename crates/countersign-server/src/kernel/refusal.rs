//! The domain's one refusal: what a rule answers when the caller may not do
//! something. It carries the API's stable `code` and the sentence shown to
//! the caller; the HTTP layer renders it as problem+json (`error.rs`), the
//! approvals list as `cannot_decide`. A rule never returns anything else on
//! refusal, so the wording of a refusal lives with the rule that makes it.

use countersign_api::{ErrorCode, Permission};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    /// Specific, in the caller's words; never internal names or values.
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The caller lacks `permission`.
    pub fn lacks(permission: Permission) -> Self {
        Refusal::new(ErrorCode::Forbidden, format!("This needs the permission {permission}."))
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

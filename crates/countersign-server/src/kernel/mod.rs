//! What every verb shares, depending on no verb and on nothing of HTTP:
//! the caller (`caller`), what roles may do (`permissions`), the domain
//! refusal (`refusal`), transactions scoped to the caller or global (`db`),
//! masking (`masking`), list paging (`paging`). `tests/layout.rs` checks that the kernel names no
//! verb and no HTTP module.

pub mod caller;
pub mod db;
pub mod masking;
pub mod paging;
pub mod permissions;
pub mod refusal;

pub use caller::Principal;
pub use refusal::Refusal;

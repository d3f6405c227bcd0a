//! What every verb shares and nothing in it depends on a verb: the domain
//! refusal, …
//! The kernel imports no verb module (approve, impersonate, …) and no HTTP
//! module; `tests/layout.rs` checks it.

pub mod refusal;

pub use refusal::Refusal;

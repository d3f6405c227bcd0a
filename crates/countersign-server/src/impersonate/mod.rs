//! Support sessions (API.md "Impersonation"): a staff member acts as a
//! customer user, scoped and time-limited, with a stated reason.
//!
//! - `rules`: who may start, approve, end, review and use a session, pure;
//! - `store`: rows and SQL; `http`: the handlers.

pub mod http;
pub mod rules;
pub mod store;

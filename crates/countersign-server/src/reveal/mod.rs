//! Revealing one sensitive field with a reason (API.md "Reveal"): which
//! permission a field needs (`rules`), where its value is (`store`), the
//! handler (`http`) and the per-person rate limit (`limiter`).

pub mod http;
pub mod limiter;
pub mod rules;
pub mod store;

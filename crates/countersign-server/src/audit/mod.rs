//! The audit log (API.md "Audit"): one event per request, hash-chained and
//! signed, appended in batches (`store`); search and export (`http`).

pub mod http;
pub mod store;

//! The audit log (API.md "Audit"): one event per request, hash-chained and
//! signed, appended in batches (`store`); who may search and export
//! (`rules`) and the handlers (`http`).

pub mod http;
pub mod rules;
pub mod store;

//! Staff access administration (API.md "Staff"): who may change whose
//! roles, scope and limits (`rules`), the accounts' SQL (`store`), and the
//! handlers (`http`).

pub mod http;
pub mod rules;
pub mod store;

//! The records staff read (API.md "Records"), masked per caller: rows and
//! their wire form (`store`), the read handlers (`http`), and the customer
//! actions a support session may take (`customer`, under `rules`).

pub mod customer;
pub mod http;
pub mod rules;
pub mod store;

//! Signing in: the access token verified (`token`), resolved to a
//! principal on every request (`http`), from the staff accounts (`store`).

pub mod http;
pub mod me;
pub mod store;
pub mod token;

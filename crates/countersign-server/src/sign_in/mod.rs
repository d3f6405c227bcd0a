//! Signing in: the access token verified (`token`), resolved to a
//! principal on every request (`http`) from the accounts (`store`), under
//! `rules` (one bearer token, which accounts may act).

pub mod http;
pub mod me;
pub mod rules;
pub mod store;
pub mod token;

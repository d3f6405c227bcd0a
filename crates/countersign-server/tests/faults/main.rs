//! Faults an operator meets (issue 25), apart from the API tests: these time
//! what the server does while PostgreSQL, the identity provider or the server
//! itself go away, so they run one at a time (`serial`) and not beside the
//! ~150 API tests that would otherwise share the two cores with them.
#[path = "../api/helpers.rs"]
#[allow(dead_code)] // the API tests' harness; these tests use part of it
mod helpers;

mod cluster;
mod faults;

/// Held by each test for its whole run.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

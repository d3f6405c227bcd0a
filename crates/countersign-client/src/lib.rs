//! The desktop client's core, with no Tauri dependency so that everything the
//! app does is testable without a window. Sign-in, the token lifecycle and sync
//! arrive with the rest of the client-core issue.

pub use countersign_api as api;

// Secrets in the OS keyring and the encrypted local cache.
pub mod cache;
pub mod secrets;

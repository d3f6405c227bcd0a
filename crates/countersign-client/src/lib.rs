//! The desktop client's core, with no Tauri dependency so that everything the
//! app does is testable without a window: sign-in (`oidc`), the token
//! lifecycle (`session`), the typed API client (`api_client`), the encrypted
//! cache (`cache`), sync, offline reads and local search, and `account`, which
//! puts them together for one signed-in user.

pub use countersign_api as api;

// Sign-in (RFC 8252) and the typed API client. `api` is already the re-export
// of countersign_api above, so the client module is `api_client` (file api.rs).
#[path = "api.rs"]
pub mod api_client;
pub mod browser;
pub mod desktop;
pub mod discovery;
pub mod error;
pub mod events;
pub mod oidc;

// Secrets in the OS keyring and the encrypted local cache.
pub mod account;
pub mod cache;
pub mod offline;
pub mod search;
pub mod secrets;
pub mod session;
pub mod sync;

//! The desktop client's core, with no Tauri dependency so that everything the
//! app does is testable without a window. Sign-in, the token lifecycle, the
//! encrypted cache and sync arrive with the client-core issue; for now it
//! re-exports the contract the app compiles against.

pub use countersign_api as api;

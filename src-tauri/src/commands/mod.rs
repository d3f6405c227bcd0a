//! The app's commands, grouped by verb. Each is a one-liner over
//! `countersign_client::desktop::Desktop` (DESIGN.md, "The desktop app"): no
//! rule lives here. Errors reach the UI as `ErrorPayload { code, message }`.

pub mod approvals;
pub mod audit;
pub mod notifications;
pub mod records;
pub mod reveal;
pub mod session;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod support;
pub mod sync;
pub mod update;

use countersign_client::error::ErrorPayload;

/// What every command returns.
pub type Reply<T> = Result<T, ErrorPayload>;

/// The app's one state: the server and the signed-in account (or none).
pub type App<'a> = tauri::State<'a, countersign_client::desktop::Desktop>;

//! What the app hands its webview, written down for the end-to-end test that
//! no token, refresh token or cache key ever crosses (issue 18, point 1):
//! every command's result and every channel message, as JSON lines, when
//! `COUNTERSIGN_IPC_TRACE` names a file. Debug builds only: a release build
//! never writes it.

use crate::commands::Reply;
use serde::Serialize;
use tauri::ipc::Channel;

#[cfg(debug_assertions)]
fn record(what: &str, body: &serde_json::Value) {
    use std::io::Write;
    use std::sync::{Mutex, OnceLock};
    static FILE: OnceLock<Option<Mutex<std::fs::File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("COUNTERSIGN_IPC_TRACE")?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
            .map(Mutex::new)
    });
    if let Some(file) = file {
        let line = serde_json::json!({ "ipc": what, "body": body });
        let _ = writeln!(file.lock().unwrap_or_else(|p| p.into_inner()), "{line}");
    }
}

#[cfg(not(debug_assertions))]
fn record(_: &str, _: &serde_json::Value) {}

fn body<T: Serialize>(r: &Reply<T>) -> serde_json::Value {
    match r {
        Ok(v) => serde_json::json!({ "ok": v }),
        Err(e) => serde_json::json!({ "error": e }),
    }
}

/// A command's result, as the webview gets it.
pub fn reply<T: Serialize>(command: &str, r: Reply<T>) -> Reply<T> {
    record(command, &body(&r));
    r
}

/// The reveal's result: the value is for its dialog and is not written down
/// (the test looks for it everywhere else); errors are.
pub fn reply_secret<T: Serialize>(command: &str, r: Reply<T>) -> Reply<T> {
    let shown = match &r {
        Ok(_) => serde_json::json!({ "ok": "<the revealed value, for its dialog only>" }),
        Err(_) => body(&r),
    };
    record(command, &shown);
    r
}

/// A channel message, as the webview gets it. A closed channel (the window
/// went away) is not the sender's problem.
pub fn send<T: Serialize + Clone + tauri::ipc::IpcResponse>(what: &str, channel: &Channel<T>, message: T) {
    record(what, &serde_json::to_value(&message).unwrap_or_default());
    let _ = channel.send(message);
}

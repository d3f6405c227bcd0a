//! Bringing the encrypted cache up to date.

use super::{App, Reply};
use crate::trace::{reply, send};
use countersign_client::desktop::{SyncProgress, SyncReport, SyncStatus};
use tauri::ipc::Channel;

/// Progress goes through the channel, in order, while the sync runs.
#[tauri::command(rename_all = "snake_case")]
pub async fn sync_run(app: App<'_>, on_progress: Channel<SyncProgress>) -> Reply<SyncReport> {
    reply(
        "sync_run",
        app.sync(|p| send("sync_run.on_progress", &on_progress, p)).await,
    )
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sync_status(app: App<'_>) -> Reply<SyncStatus> {
    reply("sync_status", app.sync_status().await)
}

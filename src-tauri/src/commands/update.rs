//! Signed updates (issue 22, point 2): look for a newer version, then
//! install it and restart. The rules are in `crate::update`.

use super::{App, Reply};
use crate::trace::{reply, send};
use countersign_client::desktop::{UpdateProgress, UpdateView};
use tauri::ipc::Channel;

#[tauri::command(rename_all = "snake_case")]
pub async fn update_check(app: App<'_>, handle: tauri::AppHandle) -> Reply<Option<UpdateView>> {
    reply("update_check", crate::update::check(&handle, &app).await)
}

/// Returns only on failure: once installed, the app restarts into the new version.
#[tauri::command(rename_all = "snake_case")]
pub async fn update_install(app: App<'_>, handle: tauri::AppHandle, on_progress: Channel<UpdateProgress>) -> Reply<()> {
    let installed =
        crate::update::install(&handle, &app, |p| send("update_install.on_progress", &on_progress, p)).await;
    reply("update_install", installed)?;
    handle.restart()
}

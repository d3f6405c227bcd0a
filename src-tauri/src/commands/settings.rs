//! Settings: account, server, local cache, theme.

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::desktop::{SettingsView, Theme};

#[tauri::command(rename_all = "snake_case")]
pub async fn settings_get(app: App<'_>) -> Reply<SettingsView> {
    reply("settings_get", app.settings().await)
}

#[tauri::command(rename_all = "snake_case")]
pub fn theme_set(app: App<'_>, theme: Theme) -> Reply<()> {
    reply("theme_set", app.set_theme(theme))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn wipe_local_data(app: App<'_>) -> Reply<()> {
    reply("wipe_local_data", app.wipe_local_data().await)
}

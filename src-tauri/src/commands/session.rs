//! Where to sign in, signing in and out.

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::desktop::{AccountView, AppState};
use tauri::Manager;

#[tauri::command(rename_all = "snake_case")]
pub async fn app_start(app: App<'_>) -> Reply<AppState> {
    reply("app_start", Ok(app.start().await))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn server_set(app: App<'_>, url: String) -> Reply<AppState> {
    reply("server_set", app.set_server(&url).await)
}

/// The browser took the user away: the window comes back to the front when
/// the sign-in ends, however it ended.
#[tauri::command(rename_all = "snake_case")]
pub async fn sign_in(app: App<'_>, window: tauri::WebviewWindow, issuer: String) -> Reply<AccountView> {
    let r = app.sign_in(&issuer).await;
    let _ = window.app_handle().get_webview_window("main").map(|w| w.set_focus());
    reply("sign_in", r)
}

#[tauri::command(rename_all = "snake_case")]
pub fn sign_in_cancel(app: App<'_>) -> Reply<()> {
    app.cancel_sign_in();
    reply("sign_in_cancel", Ok(()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn sign_out(app: App<'_>) -> Reply<()> {
    reply("sign_out", app.sign_out().await)
}

//! The notification centre and out-of-office delegation. The OS notification
//! is shown from here, not from the webview, so the webview holds no
//! notification permission.

use super::{App, Reply};
use crate::trace::{reply, send};
use countersign_client::api::{CreateDelegation, Delegate, Delegation, Notification};
use countersign_client::desktop::notification_words;
use tauri::ipc::Channel;
use tauri_plugin_notification::NotificationExt;

/// Runs while someone is signed in: every notification goes through the
/// channel (the centre dedupes and keeps what was read); each one that is
/// news also becomes an OS notification. Ends at sign-out or when the
/// window starts a newer watch.
#[tauri::command(rename_all = "snake_case")]
pub async fn notifications_watch(
    app: App<'_>,
    handle: tauri::AppHandle,
    on_notification: Channel<Notification>,
) -> Reply<()> {
    let shown = app
        .watch_notifications(|d| {
            if d.news {
                let (title, body) = notification_words(&d.notification);
                // No notification daemon (a bare session, CI): the centre still has it.
                let _ = handle.notification().builder().title(title).body(body).show();
            }
            send("notifications_watch.on_notification", &on_notification, d.notification)
        })
        .await;
    reply("notifications_watch", shown)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn notifications_list(app: App<'_>) -> Reply<Vec<Notification>> {
    reply("notifications_list", app.notifications().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delegations_list(app: App<'_>) -> Reply<Vec<Delegation>> {
    reply("delegations_list", app.delegations().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delegates_list(app: App<'_>) -> Reply<Vec<Delegate>> {
    reply("delegates_list", app.delegates().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delegation_create(app: App<'_>, request: CreateDelegation) -> Reply<Delegation> {
    reply("delegation_create", app.delegate(request).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delegation_revoke(app: App<'_>, delegation_id: uuid::Uuid) -> Reply<Delegation> {
    reply("delegation_revoke", app.revoke_delegation(delegation_id).await)
}

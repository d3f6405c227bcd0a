//! The audit log, online only: search with the server's filters, export to a
//! file the user picks, verify the chain.

use super::{App, Reply};
use crate::trace::{reply, send};
use countersign_client::api::{AuditEvent, AuditVerification, Page};
use countersign_client::api_client::{AuditFilter, ExportFormat};
use countersign_client::desktop::{export_file_name, ExportProgress, ExportReport};
use std::path::PathBuf;
use tauri::ipc::Channel;
use tauri::Manager;
use tauri_plugin_dialog::DialogExt;

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_search(app: App<'_>, filter: AuditFilter) -> Reply<Page<AuditEvent>> {
    reply("audit_search", app.audit(filter).await)
}

/// Asks where to save in a native dialog opened here, so the webview never
/// names a path, then streams the export to that file with progress. `None`:
/// the user closed the dialog (nothing was asked of the server).
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_export(
    app: App<'_>,
    window: tauri::WebviewWindow,
    filter: AuditFilter,
    format: ExportFormat,
    on_progress: Channel<ExportProgress>,
) -> Reply<Option<ExportReport>> {
    let Some(path) = save_path(&window, format).await else {
        return reply("audit_export", Ok(None));
    };
    reply(
        "audit_export",
        app.audit_export(filter, format, &path, |p| {
            send("audit_export.on_progress", &on_progress, p)
        })
        .await
        .map(Some),
    )
}

/// Ends the running export; its partial file is deleted.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_export_cancel(app: App<'_>) -> Reply<()> {
    app.cancel_audit_export();
    reply("audit_export_cancel", Ok(()))
}

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_verify(app: App<'_>) -> Reply<AuditVerification> {
    reply("audit_verify", app.audit_verify().await)
}

async fn save_path(window: &tauri::WebviewWindow, format: ExportFormat) -> Option<PathBuf> {
    // TEST SEAM, debug builds only: the end-to-end run drives the window
    // through WebDriver under Xvfb, where a GTK file chooser cannot be
    // answered. COUNTERSIGN_TEST_SAVE_PATH answers it instead (a file path;
    // empty: the user closed the dialog). A release build never reads it.
    #[cfg(debug_assertions)]
    if let Some(p) = std::env::var_os("COUNTERSIGN_TEST_SAVE_PATH") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    let (label, extension) = match format {
        ExportFormat::Csv => ("CSV", "csv"),
        ExportFormat::Ndjson => ("NDJSON", "ndjson"),
    };
    let mut dialog = window
        .dialog()
        .file()
        .set_title("Export the audit log")
        .set_file_name(export_file_name(format))
        .add_filter(label, &[extension])
        .set_parent(window);
    if let Ok(dir) = window.path().download_dir() {
        dialog = dialog.set_directory(dir);
    }
    let (tx, mut rx) = tauri::async_runtime::channel(1);
    dialog.save_file(move |chosen| {
        let _ = tx.try_send(chosen.and_then(|p| p.into_path().ok()));
    });
    rx.recv().await.flatten()
}

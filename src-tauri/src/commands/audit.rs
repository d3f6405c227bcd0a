//! The audit log, online only: search with the server's filters.

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::api::{AuditEvent, Page};
use countersign_client::api_client::AuditFilter;

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_search(app: App<'_>, filter: AuditFilter) -> Reply<Page<AuditEvent>> {
    reply("audit_search", app.audit(filter).await)
}

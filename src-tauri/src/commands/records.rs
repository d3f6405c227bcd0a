//! Reads, all answered from the local encrypted cache (they work offline).

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::api::{CustomerUser, Invoice, Org, OrgId, Payment, Vendor};
use countersign_client::desktop::OrgSummary;
use countersign_client::search::Hit;

#[tauri::command(rename_all = "snake_case")]
pub async fn search(app: App<'_>, query: String, limit: u32) -> Reply<Vec<Hit>> {
    reply("search", app.search(&query, limit).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn orgs_list(app: App<'_>) -> Reply<Vec<Org>> {
    reply("orgs_list", app.orgs().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn orgs_recent(app: App<'_>) -> Reply<Vec<Org>> {
    reply("orgs_recent", app.recent_orgs().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn org_get(app: App<'_>, org_id: OrgId) -> Reply<OrgSummary> {
    reply("org_get", app.org(org_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn org_users(app: App<'_>, org_id: OrgId) -> Reply<Vec<CustomerUser>> {
    reply("org_users", app.org_users(org_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn org_invoices(app: App<'_>, org_id: OrgId) -> Reply<Vec<Invoice>> {
    reply("org_invoices", app.org_invoices(org_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn org_vendors(app: App<'_>, org_id: OrgId) -> Reply<Vec<Vendor>> {
    reply("org_vendors", app.org_vendors(org_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn org_payments(app: App<'_>, org_id: OrgId) -> Reply<Vec<Payment>> {
    reply("org_payments", app.org_payments(org_id).await)
}

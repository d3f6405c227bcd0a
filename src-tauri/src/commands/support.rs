//! Support sessions from the agent's side: start one on a customer user,
//! follow it (waiting, active, over), the customer's view through it, end
//! it. The server decides every step; quitting ends it first (`lib.rs`).

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::api::{
    CreateImpersonation, CustomerUser, Invoice, InvoiceId, OrgId, SupportAccessReport, UpdateUser, UserId,
};
use countersign_client::desktop::SupportView;

#[tauri::command(rename_all = "snake_case")]
pub async fn support_access(app: App<'_>, org_id: OrgId) -> Reply<SupportAccessReport> {
    reply("support_access", app.support_access(org_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn support_start(app: App<'_>, request: CreateImpersonation) -> Reply<SupportView> {
    reply("support_start", app.start_support(request).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn support_status(app: App<'_>) -> Reply<Option<SupportView>> {
    reply("support_status", app.support().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn support_end(app: App<'_>) -> Reply<Option<SupportView>> {
    reply("support_end", app.end_support().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn customer_users(app: App<'_>) -> Reply<Vec<CustomerUser>> {
    reply("customer_users", app.customer_users().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn customer_invoices(app: App<'_>) -> Reply<Vec<Invoice>> {
    reply("customer_invoices", app.customer_invoices().await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn customer_update_user(app: App<'_>, user_id: UserId, update: UpdateUser) -> Reply<CustomerUser> {
    reply("customer_update_user", app.customer_update_user(user_id, update).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn customer_resend_invoice(app: App<'_>, invoice_id: InvoiceId) -> Reply<()> {
    reply("customer_resend_invoice", app.customer_resend_invoice(invoice_id).await)
}

/// Quit from the app's menu: a support session ends on the server first.
#[tauri::command(rename_all = "snake_case")]
pub async fn app_quit(app: App<'_>, handle: tauri::AppHandle) -> Reply<()> {
    app.end_support_on_quit().await;
    handle.exit(0);
    reply("app_quit", Ok(()))
}

//! Approvals, online only: the server lists, answers and decides; the app
//! shows what it said.

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::api::{AmendApproval, Approval, ApprovalId, CreateApproval, DecideApproval, Page};
use countersign_client::api_client::ApprovalFilter;

#[tauri::command(rename_all = "snake_case")]
pub async fn approvals_list(app: App<'_>, filter: ApprovalFilter) -> Reply<Page<Approval>> {
    reply("approvals_list", app.approvals(filter).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn approval_get(app: App<'_>, approval_id: ApprovalId) -> Reply<Approval> {
    reply("approval_get", app.approval(approval_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn approval_decide(app: App<'_>, approval_id: ApprovalId, decision: DecideApproval) -> Reply<Approval> {
    reply("approval_decide", app.decide(approval_id, decision).await)
}

/// `idempotency_key`: one per form submission (the form makes it), so a
/// submission sent twice makes one request.
#[tauri::command(rename_all = "snake_case")]
pub async fn approval_request(app: App<'_>, request: CreateApproval, idempotency_key: String) -> Reply<Approval> {
    reply(
        "approval_request",
        app.request_approval_once(request, &idempotency_key).await,
    )
}

#[tauri::command(rename_all = "snake_case")]
pub async fn approval_amend(app: App<'_>, approval_id: ApprovalId, amend: AmendApproval) -> Reply<Approval> {
    reply("approval_amend", app.amend_approval(approval_id, amend).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn approval_cancel(app: App<'_>, approval_id: ApprovalId) -> Reply<Approval> {
    reply("approval_cancel", app.cancel_approval(approval_id).await)
}

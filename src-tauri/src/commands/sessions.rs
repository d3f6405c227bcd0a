//! Support sessions as a supervisor sees them, online only: to approve, to
//! review, each with the timeline of what the agent did.

use super::{App, Reply};
use crate::trace::reply;
use countersign_client::api::{ImpersonationId, ImpersonationSession, Page, Review};
use countersign_client::api_client::ImpersonationFilter;

#[tauri::command(rename_all = "snake_case")]
pub async fn sessions_list(app: App<'_>, filter: ImpersonationFilter) -> Reply<Page<ImpersonationSession>> {
    reply("sessions_list", app.sessions(filter).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn session_get(app: App<'_>, session_id: ImpersonationId) -> Reply<ImpersonationSession> {
    reply("session_get", app.session(session_id).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn session_answer(
    app: App<'_>,
    session_id: ImpersonationId,
    approve: bool,
    comment: String,
) -> Reply<ImpersonationSession> {
    reply("session_answer", app.answer_session(session_id, approve, comment).await)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn session_review(app: App<'_>, session_id: ImpersonationId, review: Review) -> Reply<ImpersonationSession> {
    reply("session_review", app.review_session(session_id, review).await)
}

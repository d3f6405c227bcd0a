//! The scheduled expiry of approval requests.

use crate::http::problem::ApiResult;
use crate::kernel::Principal;
use crate::state::AppState;
use uuid::Uuid;

/// Marks pending requests past their expiry as expired, with an audit event
/// each. Runs on a schedule; a decision on an expired request does the same
/// for that one request on the spot.
pub async fn sweep_expired(s: &AppState) -> ApiResult<usize> {
    let service = Principal::service(false);
    let expired = super::store::expire_overdue(&s.db).await?;
    let events: Vec<crate::audit::store::EventRow> = expired
        .iter()
        .map(|(id, org)| crate::audit::store::EventRow {
            actor_subject: Some(service.subject.clone()),
            actor_kind: Some("service".into()),
            org_id: Some(*org),
            target_type: Some("approval".into()),
            target_id: Some(id.to_string()),
            ..crate::audit::store::EventRow::new("approval.expired", format!("sweep-{}", Uuid::new_v4()))
        })
        .collect();
    if !events.is_empty() {
        s.audit.append(events).await?;
    }
    Ok(expired.len())
}

//! Approval notifications (issue 4, point 9), derived from the approvals
//! themselves rather than stored, so they can never disagree with them:
//! a request I can decide arrived, my request was decided or executed, a
//! request I can decide expires within 24 h, my own request expires within
//! 24 h; and a support session waits for an approval I may give (issue 21).
//! The event stream re-checks the caller's permissions on every poll.

use crate::http::extract::Query;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use countersign_api::{
    ApprovalId, ApprovalKind, Currency, Decision, ImpersonationId, Money, Notification, NotificationKind, Permission,
};
use serde::Deserialize;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Only notifications after this instant (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub since: Option<OffsetDateTime>,
}

/// One notification as the statement returns it.
#[derive(sqlx::FromRow)]
struct Row {
    kind: String,
    id: Uuid,
    approval_kind: Option<String>,
    at: OffsetDateTime,
    amount_minor: Option<i64>,
    currency: Option<String>,
    org_name: Option<String>,
    actor_name: Option<String>,
    decision: Option<String>,
}

impl Row {
    fn to_api(&self) -> Option<Notification> {
        let kind = match self.kind.as_str() {
            "to_decide" => NotificationKind::ToDecide,
            "expires_soon" => NotificationKind::ExpiresSoon,
            "my_request_expires_soon" => NotificationKind::MyRequestExpiresSoon,
            "decided" => NotificationKind::Decided,
            "executed" => NotificationKind::Executed,
            "session_to_approve" => NotificationKind::SessionToApprove,
            _ => return None,
        };
        let session = kind == NotificationKind::SessionToApprove;
        Some(Notification {
            kind,
            approval_id: (!session).then_some(ApprovalId(self.id)),
            approval_kind: self.approval_kind.as_deref().and_then(ApprovalKind::parse),
            impersonation_id: session.then_some(ImpersonationId(self.id)),
            amount: match (self.amount_minor, &self.currency) {
                (Some(a), Some(c)) => Currency::parse(c).ok().map(|c| Money::new(a, c)),
                _ => None,
            },
            org_name: self.org_name.clone(),
            actor_name: self.actor_name.clone(),
            decision: match self.decision.as_deref() {
                Some("approve") => Some(Decision::Approve),
                Some("reject") => Some(Decision::Reject),
                _ => None,
            },
            at: self.at,
        })
    }
}

/// Never about the caller's own actions: a request they made is not theirs
/// to decide, their own decisions tell nobody but the requester, and a
/// session they asked for does not wait for their approval (each compares
/// the person, so a second account of the same person is the same caller).
async fn query(s: &AppState, p: &Principal, since: Option<OffsetDateTime>) -> ApiResult<Vec<Notification>> {
    let person = p
        .person_id
        .ok_or_else(|| ApiError::forbidden(Permission::ApprovalsDecide))?;
    let decidable: Vec<&str> = ApprovalKind::ALL
        .iter()
        .filter(|k| p.can(crate::approve::rules::permission(**k)))
        .map(|k| k.as_str())
        .collect();
    let mut tx = db::begin(&s.db, p).await?;
    let rows: Vec<Row> = sqlx::query_as(
        "WITH waiting AS ( \
           SELECT r.* FROM approval_requests r WHERE r.status = 'pending' AND r.expires_at > now() AND \
               r.requester_person_id <> $1 AND r.kind = ANY($2) \
             AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.version_seen = \
                 r.version AND d.approver_person_id = $1)), \
         n AS ( \
           SELECT 'to_decide' AS kind, id, kind AS approval_kind, updated_at AS at, amount_minor, currency, org_id, \
               requester_staff_id AS actor, NULL::text AS decision FROM waiting \
           UNION ALL SELECT 'expires_soon', id, kind, expires_at, amount_minor, currency, org_id, requester_staff_id, \
               NULL FROM waiting WHERE expires_at < now() + interval '24 hours' \
           UNION ALL SELECT 'my_request_expires_soon', id, kind, expires_at, amount_minor, currency, org_id, NULL, \
               NULL FROM approval_requests WHERE requester_person_id = $1 AND status = 'pending' AND expires_at > \
               now() AND expires_at < now() + interval '24 hours' \
           UNION ALL SELECT 'decided', r.id, r.kind, d.created_at, r.amount_minor, r.currency, r.org_id, \
               d.approver_staff_id, d.decision FROM approval_requests r JOIN approval_decisions d ON d.request_id = \
               r.id WHERE r.requester_person_id = $1 AND d.approver_person_id <> $1 \
           UNION ALL SELECT 'executed', id, kind, executed_at, amount_minor, currency, org_id, NULL, NULL FROM \
               approval_requests WHERE requester_person_id = $1 AND status = 'executed' \
           UNION ALL SELECT 'session_to_approve', id, NULL, requested_at, NULL, NULL, org_id, agent_staff_id, NULL \
               FROM impersonation_sessions WHERE $3 AND status = 'pending_approval' AND agent_person_id <> $1) \
         SELECT n.kind, n.id, n.approval_kind, n.at, n.amount_minor, n.currency, o.name AS org_name, \
             a.display_name AS actor_name, n.decision \
         FROM n LEFT JOIN orgs o ON o.id = n.org_id LEFT JOIN staff a ON a.id = n.actor \
         ORDER BY n.at DESC LIMIT 200",
    )
    .bind(person)
    .bind(&decidable)
    .bind(p.can(Permission::ImpersonationApprove))
    .fetch_all(&mut *tx)
    .await?;
    db::end_read(tx);
    Ok(rows
        .iter()
        // "expires soon" is about the future: it is new once, when first seen.
        .filter(|r| since.is_none_or(|s| r.at > s || r.kind.ends_with("expires_soon")))
        .filter_map(Row::to_api)
        .collect())
}

#[utoipa::path(get, path = "/v1/notifications", params(Params), responses((status = 200, body = Vec<Notification>)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<Params>,
) -> ApiResult<Json<Vec<Notification>>> {
    Ok(Json(query(&s, &p, q.since).await?))
}

/// Server-sent events: one `notification` event per new notification. The
/// stream ends after 10 minutes (clients reconnect with a fresh token) or as
/// soon as the caller loses access.
#[utoipa::path(get, path = "/v1/notifications/stream", responses((status = 200, description = "text/event-stream")),
    security(("bearer" = [])), tag = "approvals")]
pub async fn stream(
    State(s): State<AppState>,
    p: Principal,
) -> ApiResult<Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>>> {
    p.person_id
        .ok_or_else(|| ApiError::forbidden(Permission::ApprovalsDecide))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(32);
    let every = Duration::from_millis(s.config.policy.notification_poll_ms.max(100));
    /// Counts the stream as live until its task ends, however it ends.
    struct Live(prometheus::IntGauge);
    impl Drop for Live {
        fn drop(&mut self) {
            self.0.dec();
        }
    }
    s.metrics.notification_streams.inc();
    let live = Live(s.metrics.notification_streams.clone());
    let mut stopping = s.stopping.subscribe();
    tokio::spawn(async move {
        let _live = live;
        let started = tokio::time::Instant::now();
        let mut seen: std::collections::HashSet<(Option<Uuid>, NotificationKind, i128)> = Default::default();
        let mut tick = tokio::time::interval(every);
        while started.elapsed() < Duration::from_secs(600) {
            // A client that has gone stops the polling at once, not at the
            // next notification or after 10 minutes; a draining server ends
            // the stream (the client reconnects, to another server).
            tokio::select! {
                _ = tx.closed() => return,
                _ = stopping.wait_for(|stop| *stop) => return,
                _ = tick.tick() => {}
            }
            // Permissions are re-read every time: a revoked role ends the stream.
            let Ok(current) = crate::sign_in::http::resolve(&s, &p.issuer, &p.subject).await else {
                return;
            };
            let Ok(items) = query(&s, &current, None).await else {
                return;
            };
            for n in items {
                let about = n.approval_id.map(|a| a.0).or(n.impersonation_id.map(|i| i.0));
                let key = (about, n.kind, n.at.unix_timestamp_nanos());
                if seen.insert(key) {
                    let Ok(event) = Event::default().event("notification").json_data(&n) else {
                        continue;
                    };
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stream = futures::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

//! Approval notifications (issue 4, point 9), derived from the approvals
//! themselves rather than stored, so they can never disagree with them:
//! a request I can decide arrived, my request was decided or executed, a
//! request I can decide expires within 24 h. The event stream re-checks the
//! caller's permissions on every poll.

use crate::http::extract::Query;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use countersign_api::{ApprovalId, ApprovalKind, Notification, NotificationKind, Permission};
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
    let rows: Vec<(String, Uuid, String, OffsetDateTime)> = sqlx::query_as(
        "WITH waiting AS ( \
           SELECT r.* FROM approval_requests r WHERE r.status = 'pending' AND r.expires_at > now() AND \
               r.requester_person_id <> $1 AND r.kind = ANY($2) \
             AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.version_seen = \
                 r.version AND d.approver_person_id = $1)) \
         SELECT 'to_decide', id, kind, updated_at FROM waiting \
         UNION ALL SELECT 'expires_soon', id, kind, expires_at FROM waiting WHERE expires_at < now() + interval '24 \
             hours' \
         UNION ALL SELECT 'decided', r.id, r.kind, d.created_at FROM approval_requests r JOIN approval_decisions d ON \
             d.request_id = r.id WHERE r.requester_person_id = $1 \
         UNION ALL SELECT 'executed', id, kind, executed_at FROM approval_requests WHERE requester_person_id = $1 AND \
             status = 'executed' \
         ORDER BY 4 DESC LIMIT 200",
    )
    .bind(person)
    .bind(&decidable)
    .fetch_all(&mut *tx)
    .await?;
    db::end_read(tx);
    Ok(rows
        .into_iter()
        // "expires soon" is about the future: it is new once, when first seen.
        .filter(|(k, _, _, at)| since.is_none_or(|s| *at > s || k == "expires_soon"))
        .filter_map(|(k, id, kind, at)| {
            let kind_n = match k.as_str() {
                "to_decide" => NotificationKind::ToDecide,
                "expires_soon" => NotificationKind::ExpiresSoon,
                "decided" => NotificationKind::Decided,
                _ => NotificationKind::Executed,
            };
            Some(Notification {
                kind: kind_n,
                approval_id: ApprovalId(id),
                approval_kind: ApprovalKind::parse(&kind)?,
                at,
            })
        })
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
        let mut seen: std::collections::HashSet<(Uuid, String, i128)> = Default::default();
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
                let key = (n.approval_id.0, format!("{:?}", n.kind), n.at.unix_timestamp_nanos());
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

//! What a request's handlers add to its audit event (`AuditCtx`), and its
//! id. The middleware (`audit.rs`) creates both and writes the event.

use countersign_api::ActorKind;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Reasons are validated (countersign_api::reveal::REASON_MAX_CHARS) where
/// they are parsed; this bounds what any path can put in the log.
const REASON_MAX_RECORDED: usize = 2_000;

#[derive(Debug, Default)]
pub(crate) struct Event {
    pub(crate) actor_issuer: Option<String>,
    pub(crate) actor_subject: Option<String>,
    pub(crate) actor_kind: Option<ActorKind>,
    pub(crate) org_id: Option<uuid::Uuid>,
    pub(crate) target_type: Option<&'static str>,
    pub(crate) target_id: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) details: serde_json::Map<String, serde_json::Value>,
    pub(crate) impersonation_id: Option<uuid::Uuid>,
    pub(crate) on_behalf_of: Option<serde_json::Value>,
    /// Further events this request caused (e.g. an execution), written after it.
    /// The route's audit action, from the route table.
    pub(crate) action: Option<&'static str>,
    pub(crate) follow_ups: Vec<(String, serde_json::Value)>,
}

/// A route's entry in the route table, carried by each request.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// What the request's audit event is named (`None`: "METHOD path").
    pub action: Option<&'static str>,
    /// May be called inside a support session.
    pub while_impersonating: bool,
}

/// What handlers add to the request's audit event.
#[derive(Debug, Clone, Default)]
pub struct AuditCtx(pub(crate) Arc<Mutex<Event>>);

impl AuditCtx {
    fn with(&self, f: impl FnOnce(&mut Event)) {
        if let Ok(mut e) = self.0.lock() {
            f(&mut e)
        }
    }
    pub fn set_actor(&self, iss: &str, sub: &str, kind: Option<ActorKind>) {
        self.with(|e| {
            e.actor_issuer = Some(iss.to_owned());
            e.actor_subject = Some(sub.to_owned());
            e.actor_kind = kind;
        })
    }
    pub fn target(&self, target_type: &'static str, id: impl ToString, org: Option<uuid::Uuid>) {
        self.with(|e| {
            e.target_type = Some(target_type);
            e.target_id = Some(super::extract::capped(&id.to_string()));
            if org.is_some() {
                e.org_id = org;
            }
        })
    }
    pub fn reason(&self, reason: &str) {
        self.with(|e| e.reason = Some(super::extract::cap_to(reason, REASON_MAX_RECORDED)))
    }
    /// The request acts through a support session: recorded on its event
    /// next to the real actor (the RFC 8693 `act` idea).
    pub fn impersonation(&self, session: uuid::Uuid, subject: serde_json::Value) {
        self.with(|e| {
            e.impersonation_id = Some(session);
            e.on_behalf_of = Some(subject);
        })
    }
    /// The request's route, as the route table describes it.
    pub fn route(&self, info: RouteInfo) {
        self.with(|e| e.action = info.action)
    }
    /// Records a further event caused by this request (same actor and target).
    pub fn follow_up(&self, action: &str, details: serde_json::Value) {
        self.with(|e| e.follow_ups.push((action.to_owned(), details)))
    }
    /// Never a secret or a revealed value: names and ids only. Caller text
    /// in it is capped, so a request cannot flood the append-only log.
    pub fn detail(&self, key: &str, value: serde_json::Value) {
        self.with(|e| {
            e.details.insert(key.to_owned(), super::extract::capped_json(value));
        })
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for AuditCtx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<AuditCtx>().cloned().unwrap_or_default())
    }
}

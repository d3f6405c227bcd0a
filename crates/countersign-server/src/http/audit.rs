//! The request middleware: request id, problem rendering, metrics, and one
//! audit event per request, allowed or denied.

use super::context::{AuditCtx, RequestId};
use super::problem::ErrorInfo;
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use countersign_api::{ActorKind, ErrorCode, Problem};
use std::net::SocketAddr;
use std::time::Instant;

/// An error's `detail` quotes caller input at most this long.
const DETAIL_MAX_CHARS: usize = 600;

/// Methods with a metrics label of their own; any other is "other", so a
/// caller cannot mint new series (issue 19, point 9).
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Errors that did not come from our handlers (router 404/405, body limits)
/// are given a code here so every error leaves as a problem document.
fn error_for_bare_status(status: StatusCode) -> ErrorInfo {
    let (code, detail) = match status {
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "No such resource."),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "This method is not allowed on this resource.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::PayloadTooLarge, "The request body is larger than 64 KB."),
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthenticated, "Authentication required."),
        s if s.is_client_error() => (ErrorCode::InvalidRequest, "The request could not be understood."),
        _ => (ErrorCode::Internal, "The server could not complete the request."),
    };
    ErrorInfo {
        code,
        detail: detail.to_owned(),
    }
}

pub async fn layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let ctx = AuditCtx::default();
    req.extensions_mut().insert(ctx.clone());
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let method = method_label(req.method().as_str()).to_owned();
    let authenticated = req.headers().contains_key(header::AUTHORIZATION);
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect::<String>());

    let mut res = next.run(req).await;
    let status = res.status();
    let error = res
        .extensions()
        .get::<ErrorInfo>()
        .cloned()
        // A bare error (no body of its own, e.g. the router's 405) gets a
        // problem document too; a deliberate body (readiness) is kept.
        .or_else(|| {
            ((status.is_client_error() || status.is_server_error())
                && !res.headers().contains_key(header::CONTENT_TYPE))
            .then(|| error_for_bare_status(status))
        });

    if let Some(info) = &error {
        let problem = Problem::new(
            info.code,
            crate::http::extract::cap_to(&info.detail, DETAIL_MAX_CHARS),
            request_id.clone(),
        );
        let status = StatusCode::from_u16(info.code.status()).unwrap_or(status);
        let allow = res.headers().get(header::ALLOW).cloned();
        res = (
            status,
            [(header::CONTENT_TYPE, countersign_api::error::PROBLEM_CONTENT_TYPE)],
            serde_json::to_string(&problem).unwrap_or_default(),
        )
            .into_response();
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let route_label = route.clone().unwrap_or_else(|| "unmatched".into());
    // Operational probes, the app's sign-in setup and its updates are not
    // actions of anyone; everything else is audited.
    if !matches!(
        route.as_deref(),
        Some(
            "/healthz"
                | "/livez"
                | "/readyz"
                | "/v1/client-config"
                | "/v1/updates/{target}/{arch}/{current_version}"
                | "/v1/updates/files/{name}"
        )
    ) {
        let outcome = match res.status() {
            s if s.is_server_error() => "error",
            s if s.is_client_error() => "denied",
            _ => "success",
        };
        let write = write_event(
            &state,
            &ctx,
            &request_id,
            &method,
            &route_label,
            outcome,
            error.as_ref().map(|e| e.code),
            ip,
            user_agent,
        );
        // A request already refused as unavailable (the database gone) waits
        // for its event only briefly: the answer is 503 either way, and it
        // must come fast (issue 25). The event stays queued and is written
        // if the database comes back; a success always waits for its event.
        let written = if res.status() == StatusCode::SERVICE_UNAVAILABLE {
            tokio::time::timeout(UNAVAILABLE_AUDIT_WAIT, write)
                .await
                .unwrap_or_else(|_| Err(crate::audit::store::AppendError::Batch("still queued".into())))
        } else {
            write.await
        };
        if let Err(e) = written {
            // An action we cannot account for is an action we do not report
            // as done: the caller gets an error instead of the result.
            tracing::error!(error = %e, request_id, "audit write failed");
            state.metrics.audit_write_failures.inc();
            let problem = Problem::new(
                ErrorCode::ServiceUnavailable,
                "The request could not be recorded.",
                request_id.clone(),
            );
            res = (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, countersign_api::error::PROBLEM_CONTENT_TYPE)],
                serde_json::to_string(&problem).unwrap_or_default(),
            )
                .into_response();
        }
    }
    // On every response, the audit failure's 503 included (API.md, Conventions).
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", v);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A 503 is a state that passes (a database restarting, a drain): say when
    // to come back, so clients and proxies retry instead of giving up.
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    let headers = res.headers_mut();
    // Authenticated responses carry personal data: no cache keeps them.
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    state.metrics.observe(
        &method,
        &route_label,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// How long a response that is already a 503 waits for its audit event.
const UNAVAILABLE_AUDIT_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// Actions named for what they do rather than their route, decided here so
/// that a request refused before its handler ran is named the same way.
#[allow(clippy::too_many_arguments)]
async fn write_event(
    state: &AppState,
    ctx: &AuditCtx,
    request_id: &str,
    method: &str,
    route: &str,
    outcome: &str,
    code: Option<ErrorCode>,
    ip: Option<String>,
    user_agent: Option<String>,
) -> Result<(), crate::audit::store::AppendError> {
    let e = std::mem::take(&mut *ctx.0.lock().unwrap_or_else(|p| p.into_inner()));
    let kind = e.actor_kind.map(|k| match k {
        ActorKind::Staff => "staff",
        ActorKind::Customer => "customer",
        ActorKind::Service => "service",
    });
    let row = crate::audit::store::EventRow {
        seq: 0,
        id: uuid::Uuid::new_v4(),
        at: time::OffsetDateTime::UNIX_EPOCH,
        actor_issuer: e.actor_issuer,
        actor_subject: e.actor_subject,
        actor_kind: kind.map(str::to_owned),
        on_behalf_of: e.on_behalf_of,
        impersonation_id: e.impersonation_id,
        org_id: e.org_id,
        action: e
            .action
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{method} {route}")),
        target_type: e.target_type.map(str::to_owned),
        target_id: e.target_id,
        outcome: outcome.to_owned(),
        code: code.map(|c| c.as_str().to_owned()),
        reason: e.reason,
        request_id: request_id.to_owned(),
        ip,
        user_agent,
        details: serde_json::Value::Object(e.details),
        prev_hash: vec![],
        hash: vec![],
    };
    // The request's event and its follow-ups, contiguous in the chain.
    let mut rows = vec![row];
    for (action, details) in e.follow_ups {
        let mut next = rows[0].clone();
        next.id = uuid::Uuid::new_v4();
        next.action = action;
        next.details = details;
        next.reason = None;
        rows.push(next);
    }
    state.audit.append(rows).await.map(|_| ())
}

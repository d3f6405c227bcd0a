//! Operational endpoints: liveness, readiness, metrics, the client's
//! configuration. (The OpenAPI document is served by the route table.)

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

/// The process is alive: touches no dependency (`/livez`, and `/healthz`
/// as before).
#[utoipa::path(get, path = "/livez", responses((status = 200, description = "The process is up")),
    tag = "operations")]
pub async fn livez() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process is up (= /livez)")),
    tag = "operations")]
pub async fn healthz() -> impl IntoResponse {
    livez().await
}

/// How long one look at the issuer's keys answers readiness probes: the
/// probe is public, and must not turn callers into requests to the issuer.
const READY_KEYS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);

/// Can serve: the database answers and usable issuer keys are cached. An
/// unreachable identity provider alone is `degraded`, still 200: tokens keep
/// being verified with the cached keys, and a load balancer must not take
/// every server out during a short provider outage. Commits that are not
/// durable (the development flag) are `degraded` too, and the body says
/// which `synchronous_commit` the database runs with.
#[utoipa::path(get, path = "/readyz", responses((status = 200), (status = 503)), tag = "operations")]
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let commit = crate::kernel::db::probe(&s.db).await;
    let db = commit.is_some();
    let reachable = s.verifier.ready_keys(READY_KEYS_MAX_AGE).await.is_ok();
    let keys = s.verifier.cached_keys().await > 0;
    // Commits not durable: only with the development flag (see startup).
    let durable = commit.as_deref() != Some("off");
    let (status, word) = match (db && keys, reachable && durable) {
        (true, true) => (StatusCode::OK, "ready"),
        (true, false) => (StatusCode::OK, "degraded"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    // Not a problem document: probes read the body, and 503 here is a state,
    // not an error of the caller's.
    (
        status,
        Json(serde_json::json!({
            "status": word,
            "database": db,
            "issuer_keys": keys,
            "identity_provider": if reachable { "reachable" } else { "unreachable" },
            "synchronous_commit": commit,
        })),
    )
}

/// Prometheus text, on `metrics_listen` only (see startup).
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}

/// Everything the desktop app needs to sign in, given only this server's URL.
/// Public and unaudited like the probes: the app calls it before anyone has
/// signed in, and it says nothing that discovery at the issuer does not.
#[utoipa::path(get, path = "/v1/client-config", responses((status = 200, body = countersign_api::ClientConfigDoc)),
    tag = "operations")]
pub async fn client_config(State(s): State<AppState>) -> impl IntoResponse {
    let d = &s.config.desktop;
    Json(countersign_api::ClientConfigDoc {
        providers: vec![countersign_api::ProviderInfo {
            name: d.provider_name.clone(),
            issuer: s.config.issuer.clone(),
            client_id: d.client_id.clone(),
            audience: Some(s.config.audience.clone()),
            scopes: d.scopes.clone(),
            redirect_ports: d.redirect_ports.clone(),
        }],
        min_client_version: d.min_client_version.clone(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

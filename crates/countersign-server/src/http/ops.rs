//! Operational endpoints: liveness, readiness, metrics, the client's
//! configuration. (The OpenAPI document is served by the route table.)

use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The process is up")),
    tag = "operations")]
pub async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

/// How long one look at the issuer's keys answers readiness probes: the
/// probe is public, and must not turn callers into requests to the issuer.
const READY_KEYS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(5);

/// Ready when the database answers and the issuer's keys can be fetched.
#[utoipa::path(get, path = "/readyz", responses((status = 200), (status = 503)), tag = "operations")]
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let db = crate::kernel::db::ping(&s.db).await;
    let keys = s
        .verifier
        .ready_keys(READY_KEYS_MAX_AGE)
        .await
        .map(|n| n > 0)
        .unwrap_or(false);
    let status = if db && keys {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Not a problem document: probes read the body, and 503 here is a state,
    // not an error of the caller's.
    (status, Json(serde_json::json!({ "database": db, "issuer_keys": keys })))
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

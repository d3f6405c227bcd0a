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

/// Can serve: the database answers and usable keys of at least one trusted
/// issuer are cached. An unreachable identity provider alone is `degraded`,
/// still 200: tokens keep being verified with the cached keys, and a load
/// balancer must not take every server out during a short provider outage.
/// With several issuers, one without usable keys (its staff are refused
/// with 503 until they come) is `degraded` too: the others' staff are
/// served. `issuers` reports each one. Commits that are not durable (the
/// development flag) are `degraded` too, and the body says which
/// `synchronous_commit` the database runs with.
#[utoipa::path(get, path = "/readyz", responses((status = 200), (status = 503)), tag = "operations")]
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let commit = crate::kernel::db::probe(&s.db).await;
    let db = commit.is_some();
    // Each issuer looked at side by side: a slow one does not hold up the probe.
    let issuers = futures::future::join_all(s.verifiers.all().iter().map(|v| async move {
        let reachable = v.ready_keys(READY_KEYS_MAX_AGE).await.is_ok();
        (v.issuer(), v.cached_keys().await > 0, reachable)
    }))
    .await;
    let any_keys = issuers.iter().any(|(_, keys, _)| *keys);
    let all_keys = issuers.iter().all(|(_, keys, _)| *keys);
    let all_reachable = issuers.iter().all(|(_, _, reachable)| *reachable);
    // Commits not durable: only with the development flag (see startup).
    let durable = commit.as_deref() != Some("off");
    let (status, word) = match (db && any_keys, all_keys && all_reachable && durable) {
        (true, true) => (StatusCode::OK, "ready"),
        (true, false) => (StatusCode::OK, "degraded"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let reachability = |reachable: bool| if reachable { "reachable" } else { "unreachable" };
    // Not a problem document: probes read the body, and 503 here is a state,
    // not an error of the caller's.
    (
        status,
        Json(serde_json::json!({
            "status": word,
            "database": db,
            // Every issuer's keys are cached / every provider answers.
            "issuer_keys": all_keys,
            "identity_provider": reachability(all_reachable),
            "issuers": issuers.iter().map(|(issuer, keys, reachable)| serde_json::json!({
                "issuer": issuer, "issuer_keys": keys, "identity_provider": reachability(*reachable),
            })).collect::<Vec<_>>(),
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
    Json(countersign_api::ClientConfigDoc {
        // One per trusted issuer, in the configuration's order.
        providers: s
            .config
            .issuers()
            .into_iter()
            .map(|i| countersign_api::ProviderInfo {
                name: i.provider_name,
                issuer: i.issuer,
                client_id: i.client_id,
                audience: Some(i.audience),
                scopes: i.scopes,
                redirect_ports: i.redirect_ports,
            })
            .collect(),
        min_client_version: s.config.desktop.min_client_version.clone(),
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

//! Issue 19, point 9: denial of service that costs the attacker nothing.
//! Unauthenticated readiness probes do not each fetch the issuer's keys, a
//! made-up HTTP method mints no metrics series, a closed notification
//! stream stops polling at once, and metrics are not served on the API.

use crate::helpers::*;
use std::time::{Duration, Instant};

#[tokio::test]
async fn readiness_probes_share_one_look_at_the_issuers_keys() {
    let app = spawn_app().await;
    let before = app.state.metrics.jwks_fetches.get();
    let probes = (0..5).map(|_| app.http.get(format!("{}/readyz", app.base)).send());
    for r in futures::future::join_all(probes).await {
        assert_eq!(r.unwrap().status(), 200);
    }
    for _ in 0..5 {
        assert_eq!(
            app.http
                .get(format!("{}/readyz", app.base))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert!(
        app.state.metrics.jwks_fetches.get() - before <= 1,
        "10 probes fetched the keys {} times",
        app.state.metrics.jwks_fetches.get() - before
    );
}

#[tokio::test]
async fn a_made_up_method_mints_no_metrics_series() {
    let app = spawn_app().await;
    for m in ["RT58F959", "XQ1", "BREW"] {
        let r = app
            .http
            .request(
                reqwest::Method::from_bytes(m.as_bytes()).unwrap(),
                format!("{}/v1/me", app.base),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_client_error(), "{m}");
    }
    let text = app
        .http
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for m in ["RT58F959", "XQ1", "BREW"] {
        assert!(!text.contains(m), "{m} became a label");
    }
    assert!(text.contains("method=\"other\""), "unknown methods share one label");
}

#[tokio::test]
async fn a_closed_notification_stream_stops_at_once() {
    let app = spawn_app().await;
    let gauge = || app.state.metrics.notification_streams.get();
    let token = app.token("ana").await;
    let r = app
        .http
        .get(format!("{}/v1/notifications/stream", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(gauge(), 1, "one live stream");
    drop(r); // the client goes away
    let deadline = Instant::now() + Duration::from_secs(3);
    while gauge() != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gauge(), 0, "the server stopped polling for a client that left");
}

#[tokio::test]
async fn metrics_are_served_apart_from_the_api_on_loopback_by_default() {
    let app = spawn_app().await;
    assert_problem(
        app.http.get(format!("{}/metrics", app.base)).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        app.http
            .get(format!("{}/metrics", app.metrics_base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let default: countersign_server::config::Config = toml::from_str(
        r#"issuer = "https://id.example" 
audience = "countersign"
database_url = "postgres://x@localhost/x""#,
    )
    .unwrap();
    assert!(
        default.metrics_listen.starts_with("127.0.0.1:"),
        "{}",
        default.metrics_listen
    );
    assert_ne!(default.metrics_listen, default.listen);
}

//! Operations and configuration (issue 2, point 6).

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn health_readiness_and_metrics() {
    let app = spawn_app().await;
    let r = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(format!("{}/livez", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "status": "ready", "database": true, "issuer_keys": true, "identity_provider": "reachable",
            "issuers": [{ "issuer": env().issuer, "issuer_keys": true, "identity_provider": "reachable" }],
            "synchronous_commit": "on",
        })
    );
    app.get_as("sam", "/v1/orgs").await;
    let text = app
        .http
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("countersign_http_requests_total{method=\"GET\",route=\"/v1/orgs\",status=\"200\"} 1"),
        "{text}"
    );
    assert!(text.contains("countersign_http_request_duration_seconds_bucket"));
}

/// Issue 25, point 5: with the identity provider gone, a server whose keys are
/// cached still serves: `/readyz` stays 200 and says `degraded`, and tokens
/// signed with the cached key are still accepted.
#[tokio::test]
async fn an_unreachable_identity_provider_with_keys_cached_is_degraded_not_unready() {
    let idp = IdpProcess::spawn(0, &env().key_file);
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuer = idp.issuer.clone();
    let config_issuer = idp.issuer.clone();
    let app = spawn_app_with(config).await;
    staff_sign_in_at(&app, &config_issuer).await;
    let token = |sub: &str| mint(json!({ "iss": idp.issuer, "sub": sub }), |_| {});
    let r = app.get_with(&token("staff-alice").await, "/v1/me").await;
    assert_eq!(r.status(), 200, "the keys are fetched and cached");

    let issuer = idp.issuer.clone();
    idp.kill();
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({
            "status": "degraded", "database": true, "issuer_keys": true, "identity_provider": "unreachable",
            "issuers": [{ "issuer": issuer, "issuer_keys": true, "identity_provider": "unreachable" }],
            "synchronous_commit": "on",
        })
    );
    // A token never seen before, signed with the cached key, still works.
    let fresh = mint(json!({ "iss": issuer, "sub": "staff-sam" }), |_| {}).await;
    let r = app.get_with(&fresh, "/v1/me").await;
    assert_eq!(r.status(), 200);
}

/// Issue 25, point 5: `/readyz` is 503 only when the server cannot serve.
#[tokio::test]
async fn readiness_fails_when_the_database_or_every_issuer_key_is_unavailable() {
    let (_, db_url) = fresh_database().await;
    // No key was ever fetched: no token can be verified.
    let mut config = test_config(&db_url);
    config.issuer = "http://127.0.0.1:9".into();
    let app = spawn_app_with(config).await;
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let body = r.json::<Value>().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["issuer_keys"].as_bool()),
        (Some("unavailable"), Some(false))
    );
    assert_eq!(body["identity_provider"], "unreachable");
    // /livez touches no dependency: the process is alive.
    let r = app.http.get(format!("{}/livez", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // A token of that issuer cannot be checked without its keys: refused,
    // not accepted (a token of an issuer not configured is refused as such).
    let token = mint(json!({ "iss": "http://127.0.0.1:9" }), |_| {}).await;
    assert_problem(app.get_with(&token, "/v1/me").await, 503, "service_unavailable").await;
    assert_problem(app.get_as("alice", "/v1/me").await, 401, "token_invalid").await;

    let mut config = test_config(&db_url);
    config.app_database_url = Some(format!(
        "{}/no_such_database",
        env().admin_base.replace("postgres@", "countersign_app@")
    ));
    let app = spawn_app_with(config).await;
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.json::<Value>().await.unwrap()["database"], false);
}

#[tokio::test]
async fn the_openapi_document_is_generated_from_the_code() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(format!("{}/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/v1/me",
        "/v1/orgs",
        "/v1/orgs/{org_id}",
        "/v1/orgs/{org_id}/users",
        "/v1/users/{user_id}",
        "/v1/orgs/{org_id}/invoices",
        "/v1/invoices/{invoice_id}",
        "/v1/orgs/{org_id}/vendors",
        "/v1/vendors/{vendor_id}",
        "/v1/orgs/{org_id}/payments",
        "/v1/staff/{staff_id}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} documented");
    }
    for schema in ["Problem", "Masked", "Org", "Vendor", "Me", "StaffUpdate", "ErrorCode"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema} schema");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[test]
fn configuration_comes_from_a_toml_file_and_the_environment_overrides_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("countersign.toml");
    std::fs::write(
        &file,
        "issuer = \"https://id.example\"\naudience = \"api\"\ndatabase_url = \"postgres://u:p@db:5432/cs\"\nlisten = \
            \"0.0.0.0:9\"\n[policy]\ntoken_leeway_secs = 5\n",
    )
    .unwrap();
    // The binary prints its error for an unreachable database after parsing
    // the configuration; parse errors are reported before any connection.
    let run = |extra: &[(&str, &str)], file: &std::path::Path| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_countersign-server"));
        c.env_clear().arg("--config").arg(file).args(["staff", "list"]);
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let out = run(&[], &file);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("database"),
        "file parsed, then the database was tried: {err}"
    );
    std::fs::write(
        &file,
        "issuer = \"x\"\naudience = \"api\"\ndatabase_url = \"postgres://db/cs\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    let out = run(&[], &file);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("colour"),
        "unknown keys are refused"
    );
    std::fs::write(&file, "audience = \"api\"\ndatabase_url = \"postgres://db/cs\"\n").unwrap();
    let out = run(&[], &file);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("issuer"),
        "a missing issuer is named"
    );
    let out = run(&[("COUNTERSIGN_ISSUER", "https://id.example")], &file);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("database"),
        "the environment filled the gap"
    );
}

#[tokio::test]
async fn client_config_tells_the_app_where_to_sign_in_without_a_token_or_an_audit_event() {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.desktop.provider_name = "Acme SSO".into();
    config.desktop.redirect_ports = vec![53682, 53683];
    config.desktop.min_client_version = "0.1.0".into();
    let app = spawn_app_with(config).await;
    let before = app.audit_count().await;
    let r = app
        .http
        .get(format!("{}/v1/client-config", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "providers": [{
                "name": "Acme SSO",
                "issuer": env().issuer,
                "client_id": "countersign-desktop",
                "audience": env().audience,
                "scopes": ["openid", "profile", "email", "offline_access"],
                "redirect_ports": [53682, 53683],
            }],
            "min_client_version": "0.1.0",
            "server_version": env!("CARGO_PKG_VERSION"),
        })
    );
    // The app's typed view of it parses the same document.
    let doc: countersign_api::ClientConfigDoc = serde_json::from_value(body).unwrap();
    assert_eq!(doc.providers[0].redirect_ports, vec![53682, 53683]);
    // A token is neither needed nor looked at: a garbage one changes nothing.
    let r = app
        .http
        .get(format!("{}/v1/client-config", app.base))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.audit_count().await,
        before,
        "client-config is not audited, like the probes"
    );
    // Every other /v1 route still needs a token and is audited.
    let r = app.http.get(format!("{}/v1/me", app.base)).send().await.unwrap();
    assert_problem(r, 401, "unauthenticated").await;
    assert_eq!(app.audit_count().await, before + 1);
}

/// Issue 22, point 3: an app older than `desktop.min_client_version` is
/// refused on every `/v1` route before anything runs, audited; the probes,
/// client-config and the contract stay reachable; a request that names no
/// version (this harness, curl, integrations) is not the app's and passes.
#[tokio::test]
async fn an_app_older_than_the_minimum_is_refused_before_anything_runs() {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.desktop.min_client_version = "0.2.0".into();
    let app = spawn_app_with(config).await;
    let invoice: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM invoices WHERE org_id = $1 ORDER BY amount_minor DESC LIMIT 1")
            .bind(app.org_id("acme").await)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    let refund = json!({
        "kind": "refund", "org_id": app.org_id("acme").await, "target_id": invoice,
        "amount": { "amount_minor": 100, "currency": "EUR" }, "reason": "Customer double-charged in October",
    });
    let carl = app.token("carl").await;
    let create = |version: Option<&str>| {
        let mut r = app
            .http
            .post(format!("{}/v1/approvals", app.base))
            .bearer_auth(&carl)
            .json(&refund);
        if let Some(v) = version {
            r = r.header(countersign_api::CLIENT_VERSION_HEADER, v);
        }
        r.send()
    };
    let requested = || async {
        let r = app.get_as("ana", "/v1/approvals?mine=to_decide&kind=refund").await;
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.unwrap()["items"].as_array().unwrap().len()
    };

    // Older, a pre-release of the minimum included: refused, nothing created.
    for old in ["0.1.9", "0.2.0-rc.1", "0.0.1"] {
        let body = assert_problem(create(Some(old)).await.unwrap(), 426, "client_update_required").await;
        assert!(body["detail"].as_str().unwrap().contains("0.2.0"), "{body}");
    }
    // Audited like any refusal, under the route's action.
    let refusals: Vec<(String, String)> =
        sqlx::query_as("SELECT action, outcome FROM audit_events WHERE code = 'client_update_required' ORDER BY seq")
            .fetch_all(&app.admin)
            .await
            .unwrap();
    assert_eq!(refusals, vec![("approval.request".to_owned(), "denied".to_owned()); 3]);
    assert_eq!(requested().await, 0, "no refund was requested");
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_requests")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(created, 0);
    // The sync and the stream too.
    for path in ["/v1/sync", "/v1/notifications/stream", "/v1/me"] {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth(&carl)
            .header(countersign_api::CLIENT_VERSION_HEADER, "0.1.0")
            .send()
            .await
            .unwrap();
        assert_problem(r, 426, "client_update_required").await;
    }

    // A header that is not a version says nothing the minimum can be checked against.
    for junk in ["soon", "0.2", "v0.2.0"] {
        assert_problem(create(Some(junk)).await.unwrap(), 422, "invalid_request").await;
    }
    assert_eq!(requested().await, 0);

    // The minimum itself, a newer one, and none at all: served.
    assert_eq!(create(Some("0.2.0")).await.unwrap().status(), 201);
    assert_eq!(create(Some("1.0.0")).await.unwrap().status(), 201);
    assert_eq!(create(None).await.unwrap().status(), 201);
    assert_eq!(requested().await, 3);

    // What an outdated app still needs: the probes, what tells it so, the contract.
    for path in ["/healthz", "/livez", "/readyz", "/v1/client-config", "/v1/openapi.json"] {
        let r = app
            .http
            .get(format!("{}{path}", app.base))
            .header(countersign_api::CLIENT_VERSION_HEADER, "0.0.1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    let r = app
        .http
        .get(format!("{}/v1/client-config", app.base))
        .header(countersign_api::CLIENT_VERSION_HEADER, "soon")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "not even read there");
}

/// The header and its answers are in the contract the server serves.
#[tokio::test]
async fn the_openapi_document_names_the_client_version_header_and_its_426() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(format!("{}/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names = |op: &Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .map(|ps| ps.iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let me = &doc["paths"]["/v1/me"]["get"];
    assert!(names(me).contains(&"Countersign-Client".to_owned()), "{me}");
    assert!(
        me["responses"]["426"].is_object() && me["responses"]["422"].is_object(),
        "{me}"
    );
    for path in ["/v1/client-config", "/healthz"] {
        let op = &doc["paths"][path]["get"];
        assert!(!names(op).contains(&"Countersign-Client".to_owned()), "{path}");
        assert!(op["responses"]["426"].is_null(), "{path}");
    }
}

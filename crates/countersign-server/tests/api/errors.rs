//! Errors (issue 2, point 11): problem+json with `code` and `request_id`
//! everywhere, including the router's own 404 and 405; unknown body fields
//! refused; no internal detail.

use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn router_404_and_405_are_problem_documents() {
    let app = spawn_app().await;
    let r = app.http.get(format!("{}/v1/nope", app.base)).send().await.unwrap();
    assert_problem(r, 404, "not_found").await;
    let token = app.token("sam").await;
    let r = app
        .http
        .get(format!("{}/v2/orgs", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(r, 404, "not_found").await;
    let r = app
        .http
        .delete(format!("{}/v1/orgs", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("allow").is_some(), "405 keeps Allow");
    assert_problem(r, 405, "method_not_allowed").await;
    let r = app.http.post(format!("{}/v1/me", app.base)).send().await.unwrap();
    assert_problem(r, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn a_malformed_id_in_a_path_is_not_found() {
    let app = spawn_app().await;
    for path in ["/v1/orgs/not-a-uuid", "/v1/invoices/1%27%20OR%201=1", "/v1/vendors/%00"] {
        assert_problem(app.get_as("sam", path).await, 404, "not_found").await;
    }
}

#[tokio::test]
async fn unknown_fields_in_a_body_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let alice = app.staff_id("alice").await;
    let epoch: i64 = sqlx::query_scalar("SELECT permission_epoch FROM staff WHERE id = $1")
        .bind(alice)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    for extra in [
        json!({"permission_epoch": 99}),
        json!({"subject": "staff-sid"}),
        json!({"org_id": "x"}),
        json!({"status": "active"}),
    ] {
        let mut body = json!({ "roles": ["auditor"], "scope": { "all_orgs": true, "regions": [], "org_ids": [] } });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let r = app.put_as("sid", &format!("/v1/staff/{alice}"), &body).await;
        let p = assert_problem(r, 422, "invalid_request").await;
        assert!(p["detail"].as_str().unwrap().contains("unknown field"), "{p}");
    }
    // Not JSON, wrong types, unknown enum values, nested unknown fields.
    for body in [
        "{".to_owned(),
        r#"{"roles":"auditor","scope":{"all_orgs":true,"regions":[],"org_ids":[]}}"#.to_owned(),
        r#"{"roles":["root"],"scope":{"all_orgs":true,"regions":[],"org_ids":[]}}"#.to_owned(),
        r#"{"roles":[],"scope":{"all_orgs":true,"regions":["MARS"],"org_ids":[]}}"#.to_owned(),
        r#"{"roles":[],"scope":{"all_orgs":true,"regions":[],"org_ids":[],"admin":true}}"#.to_owned(),
    ] {
        let token = app.token("sid").await;
        let r = app
            .http
            .put(format!("{}/v1/staff/{alice}", app.base))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(r, 422, "invalid_request").await;
    }
    let after: i64 = sqlx::query_scalar("SELECT permission_epoch FROM staff WHERE id = $1")
        .bind(alice)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(epoch, after, "nothing changed");
}

#[tokio::test]
async fn bad_query_parameters_are_invalid_requests_without_internals() {
    let app = spawn_app().await;
    for q in [
        "limit=0",
        "limit=201",
        "limit=-1",
        "limit=abc",
        "cursor=%%%",
        "cursor=eyJrIjoxfQ",
        "region=MARS",
        "unknown=1",
    ] {
        let r = app.get_as("sam", &format!("/v1/orgs?{q}")).await;
        let p = assert_problem(r, 422, "invalid_request").await;
        let text = p.to_string().to_lowercase();
        for internal in ["sqlx", "select ", "postgres", "panicked", "src/", "countersign_server"] {
            assert!(!text.contains(internal), "{q}: {text}");
        }
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused_cleanly() {
    let app = spawn_app().await;
    let alice = app.staff_id("alice").await;
    let token = app.token("sid").await;
    let big = format!(
        r#"{{"roles":[],"scope":{{"all_orgs":false,"regions":[],"org_ids":[]}},"pad":"{}"}}"#,
        "x".repeat(512 * 1024)
    );
    let r = app
        .http
        .put(format!("{}/v1/staff/{alice}", app.base))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    // API.md: bodies are at most 64 KB.
    assert_problem(r, 413, "payload_too_large").await;
}

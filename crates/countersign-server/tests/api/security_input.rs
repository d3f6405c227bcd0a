//! Issue 19, points 2, 3, 4, 12: hostile input. Bodies are bounded, caller
//! text is capped before it reaches the audit log or an error, a NUL byte or
//! a body of the wrong JSON shape is a 422 naming the field (never a 5xx,
//! never a Rust type), and every response carries its request id and the
//! headers API.md promises — the 503 of a failed audit write included.

use crate::approvals::post_as;
use crate::helpers::*;
use serde_json::{json, Value};

async fn approvals(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM approval_requests")
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

async fn largest_recorded_details(app: &TestApp) -> i32 {
    sqlx::query_scalar(
        "SELECT coalesce(max(length(details::text) + length(coalesce(target_id, '')) + \
        length(coalesce(reason, ''))), 0) FROM audit_events",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap()
}

async fn refund(app: &TestApp) -> Value {
    let invoice: uuid::Uuid = sqlx::query_scalar("SELECT id FROM invoices WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("acme").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    json!({ "kind": "refund", "org_id": app.org_id("acme").await, "target_id": invoice,
        "amount": { "amount_minor": 5_000, "currency": "EUR" }, "reason": "Customer was charged twice" })
}

#[tokio::test]
async fn a_body_over_64_kb_is_413_and_changes_nothing() {
    let app = spawn_app().await;
    let mut body = refund(&app).await;
    body["reason"] = json!("x".repeat(70 * 1024));
    let before = approvals(&app).await;
    let p = assert_problem(
        post_as(&app, "carl", "/v1/approvals", &body, None).await,
        413,
        "payload_too_large",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().len() < 200);
    assert_eq!(approvals(&app).await, before);
    assert!(
        largest_recorded_details(&app).await < 2_000,
        "the refused body is not in the log"
    );
}

#[tokio::test]
async fn caller_text_is_capped_in_errors_and_in_the_audit_log() {
    let app = spawn_app().await;
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("acme").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let huge = "F".repeat(60 * 1024);
    // A customer's refused reveal, and a staff member's, with a 60 KB field.
    for who in ["acme-admin", "alice"] {
        let token = app.token(who).await;
        let r = app
            .http
            .post(format!("{}/v1/reveals", app.base))
            .bearer_auth(token)
            .json(&json!({ "record_type": "user", "record_id": user, "field": huge,
                "reason": "Ticket SUP-1: customer asked" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{who}");
        let text = r.text().await.unwrap();
        assert!(
            text.len() < 1_500,
            "{who}: the error echoes at most a capped quote ({} bytes)",
            text.len()
        );
    }
    // A long but valid reason is kept whole; an unknown query value is capped.
    let r = app
        .get_as("ava", &format!("/v1/audit?target_id={}", "t".repeat(5_000)))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        largest_recorded_details(&app).await < 2_000,
        "nothing near the body's size was recorded"
    );
    let denied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal' AND outcome = 'denied'")
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(denied, 2, "both refusals are still recorded");
}

#[tokio::test]
async fn a_nul_byte_anywhere_is_422_naming_the_field_and_the_request_is_recorded() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let (vendor,): (uuid::Uuid,) =
        sqlx::query_as("SELECT vendor_id FROM vendor_bank_accounts WHERE org_id = $1 AND valid_to IS NULL LIMIT 1")
            .bind(acme)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 LIMIT 1")
        .bind(acme)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let before_events = app.audit_count().await;
    let before = approvals(&app).await;
    let gets = [
        ("alice", "/v1/orgs?q=%00", "`q`"),
        ("ava", "/v1/audit?actor_subject=a%00b", "`actor_subject`"),
        ("ava", "/v1/audit?target_id=%00", "`target_id`"),
    ];
    for (who, path, field) in gets {
        let p = assert_problem(app.get_as(who, path).await, 422, "invalid_request").await;
        assert!(p["detail"].as_str().unwrap().contains(field), "{path}: {p}");
    }
    let bank = json!({ "kind": "vendor_bank_change", "org_id": acme, "target_id": vendor, "reason": "Vendor letter of \
        2026-11-02, verified by phone",
        "payload": { "iban": "DE89 3704 0044 0532 0130 00", "bank_name": "Commerz\u{0}bank", "account_holder": "Nordic \
            Logistics GmbH" } });
    let p = assert_problem(
        post_as(&app, "carl", "/v1/approvals", &bank, None).await,
        422,
        "invalid_request",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("`payload.bank_name`"), "{p}");
    let reveal = json!({ "record_type": "user", "record_id": user, "field": "em\u{0}ail", "reason": "Ticket SUP-1: \
        customer asked" });
    let p = assert_problem(
        post_as(&app, "alice", "/v1/reveals", &reveal, None).await,
        422,
        "invalid_request",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("`field`"), "{p}");
    assert_eq!(approvals(&app).await, before, "nothing was created");
    assert_eq!(
        app.audit_count().await,
        before_events + 5,
        "every refused request is recorded"
    );
}

#[tokio::test]
async fn the_wrong_json_shape_is_refused_in_the_apis_words() {
    let app = spawn_app().await;
    let body = refund(&app).await;
    let before = approvals(&app).await;
    // serde's "sequence form" of the request struct, and of a nested object.
    let as_array = json!([
        body["kind"],
        body["org_id"],
        body["target_id"],
        body["amount"],
        null,
        body["reason"]
    ]);
    let p = assert_problem(
        post_as(&app, "carl", "/v1/approvals", &as_array, None).await,
        422,
        "invalid_request",
    )
    .await;
    let nested = {
        let mut b = body.clone();
        b["amount"] = json!([5_000, "EUR"]);
        b
    };
    let q = assert_problem(
        post_as(&app, "carl", "/v1/approvals", &nested, None).await,
        422,
        "invalid_request",
    )
    .await;
    assert!(q["detail"].as_str().unwrap().contains("`amount`"), "{q}");
    let wrong_type = {
        let mut b = body.clone();
        b["amount"]["amount_minor"] = json!("5000");
        b
    };
    let w = assert_problem(
        post_as(&app, "carl", "/v1/approvals", &wrong_type, None).await,
        422,
        "invalid_request",
    )
    .await;
    for detail in [&p, &q, &w].map(|p| p["detail"].as_str().unwrap().to_owned()) {
        for rust in ["struct", "CreateApproval", "u64", "i64", "enum ", "Money"] {
            assert!(!detail.contains(rust), "{detail:?} names a Rust type ({rust})");
        }
    }
    assert_eq!(approvals(&app).await, before);
}

#[tokio::test]
async fn every_response_carries_its_request_id_and_the_promised_headers() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let cases = [
        app.http.get(format!("{}/healthz", app.base)).send().await.unwrap(),
        app.http.get(format!("{}/nowhere", app.base)).send().await.unwrap(),
        app.http.get(format!("{}/v1/me", app.base)).send().await.unwrap(),
        app.http
            .get(format!("{}/v1/me", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
        app.http
            .get(format!("{}/v1/orgs?limit=0", app.base))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    ];
    for (i, r) in cases.iter().enumerate() {
        assert!(r.headers().get("x-request-id").is_some(), "case {i}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "case {i}");
    }
    for r in &cases[3..] {
        assert_eq!(
            r.headers()["cache-control"],
            "no-store",
            "an authenticated response: {}",
            r.url()
        );
    }
}

#[tokio::test]
async fn a_failed_audit_write_is_a_503_with_a_request_id_and_a_metric() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    // The writer cannot insert: the request must not report success.
    sqlx::query("REVOKE INSERT ON audit_events FROM countersign_app")
        .execute(&app.admin)
        .await
        .unwrap();
    let r = app
        .http
        .get(format!("{}/v1/orgs", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let id = r
        .headers()
        .get("x-request-id")
        .expect("a request id on the 503")
        .to_str()
        .unwrap()
        .to_owned();
    let p = assert_problem(r, 503, "service_unavailable").await;
    assert_eq!(p["request_id"], id);
    sqlx::query("GRANT INSERT ON audit_events TO countersign_app")
        .execute(&app.admin)
        .await
        .unwrap();
    assert!(
        app.state
            .metrics
            .render()
            .contains("countersign_audit_write_failures_total 1"),
        "the failure is counted"
    );
}

//! Issue 19, point 6: `Idempotency-Key` on every state-changing POST (API.md,
//! Conventions). For each route: the same key and body → one effect and the
//! first response, byte for byte; the same key with another body (or, for a
//! route without a body, on another target) → `409 idempotency_key_reused`
//! and no effect. Reveals are the named exception: each is its own act.

use crate::approvals::post_as;
use crate::helpers::*;
use crate::impersonation::{admin_user, member, start, REASON};
use serde_json::{json, Value};
use uuid::Uuid;

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.admin).await.unwrap()
}

/// Sends (path, body) twice under one key, then `other` under the same key.
/// `effects` counts what the action creates or changes.
async fn check(app: &TestApp, who: &str, path: &str, body: Value, other: (&str, Value), effects: &str) {
    let key = format!("k-{}", Uuid::new_v4());
    let before = count(app, effects).await;
    let first = post_as(app, who, path, &body, Some(&key)).await;
    let status = first.status();
    assert!(status.is_success(), "{path}: {status} {}", first.text().await.unwrap());
    let first: Value = first.json().await.unwrap();
    assert_eq!(count(app, effects).await, before + 1, "{path}: one effect");
    let again = post_as(app, who, path, &body, Some(&key)).await;
    assert_eq!(again.status(), status, "{path}: the retry gets the first status");
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "{path}: … and the first body"
    );
    assert_eq!(count(app, effects).await, before + 1, "{path}: still one effect");
    assert_problem(
        post_as(app, who, other.0, &other.1, Some(&key)).await,
        409,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(
        count(app, effects).await,
        before + 1,
        "{path}: the reused key changed nothing"
    );
}

fn at(minutes: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn every_state_changing_post_honours_its_idempotency_key() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let invoice: Uuid = sqlx::query_scalar("SELECT id FROM invoices WHERE org_id = $1 ORDER BY number LIMIT 1")
        .bind(acme)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let refund = |minor: i64| {
        json!({ "kind": "refund", "org_id": acme, "target_id": invoice,
        "amount": { "amount_minor": minor, "currency": "EUR" }, "reason": "Customer was charged twice" })
    };

    // Approvals: request, decide, cancel.
    check(
        &app,
        "carl",
        "/v1/approvals",
        refund(5_000),
        ("/v1/approvals", refund(5_001)),
        "SELECT count(*) FROM approval_requests",
    )
    .await;
    let a: Value = post_as(&app, "carl", "/v1/approvals", &refund(7_000), None)
        .await
        .json()
        .await
        .unwrap();
    let b: Value = post_as(&app, "carl", "/v1/approvals", &refund(7_001), None)
        .await
        .json()
        .await
        .unwrap();
    let (a, b) = (
        a["id"].as_str().unwrap().to_owned(),
        b["id"].as_str().unwrap().to_owned(),
    );
    let vote = |c: &str| json!({ "decision": "approve", "comment": c, "version": 1 });
    check(
        &app,
        "ana",
        &format!("/v1/approvals/{a}/decisions"),
        vote("checked"),
        (&format!("/v1/approvals/{a}/decisions"), vote("other")),
        "SELECT count(*) FROM approval_decisions",
    )
    .await;
    check(
        &app,
        "carl",
        &format!("/v1/approvals/{b}/cancel"),
        json!({}),
        (&format!("/v1/approvals/{a}/cancel"), json!({})),
        "SELECT count(*) FROM approval_requests WHERE status = 'cancelled'",
    )
    .await;

    // Delegations: create, revoke.
    let andy = app.staff_id("andy").await;
    let window = |to: i64| json!({ "delegate_id": andy, "starts_at": at(1), "ends_at": at(to) });
    check(
        &app,
        "cora",
        "/v1/delegations",
        window(60),
        ("/v1/delegations", window(61)),
        "SELECT count(*) FROM delegations",
    )
    .await;
    let d1: Value = post_as(&app, "cora", "/v1/delegations", &window(62), None)
        .await
        .json()
        .await
        .unwrap();
    let d2: Value = post_as(&app, "cora", "/v1/delegations", &window(63), None)
        .await
        .json()
        .await
        .unwrap();
    let (d1, d2) = (
        d1["id"].as_str().unwrap().to_owned(),
        d2["id"].as_str().unwrap().to_owned(),
    );
    check(
        &app,
        "cora",
        &format!("/v1/delegations/{d1}/revoke"),
        json!({}),
        (&format!("/v1/delegations/{d2}/revoke"), json!({})),
        "SELECT count(*) FROM delegations WHERE revoked_at IS NOT NULL",
    )
    .await;

    // Support sessions: request, approve, reject, end, review.
    let subject = member(&app, "acme").await;
    let session =
        |ticket: &str| json!({ "subject_user_id": subject, "reason": REASON, "ticket_ref": ticket, "scope": "read" });
    check(
        &app,
        "alice",
        "/v1/impersonations",
        session("SUP-1"),
        ("/v1/impersonations", session("SUP-2")),
        "SELECT count(*) FROM impersonation_sessions",
    )
    .await;
    // Sessions on an org admin wait for a supervisor.
    let admin = admin_user(&app, "acme").await;
    let p1 = start(&app, "alice", admin, "read").await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let p2 = start(&app, "alice", admin, "read").await.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let comment = |c: &str| json!({ "comment": c });
    check(
        &app,
        "sam",
        &format!("/v1/impersonations/{p1}/approve"),
        comment("ok"),
        (&format!("/v1/impersonations/{p1}/approve"), comment("changed")),
        "SELECT count(*) FROM impersonation_sessions WHERE status = 'active' AND decided_by_staff_id IS NOT NULL",
    )
    .await;
    check(
        &app,
        "sam",
        &format!("/v1/impersonations/{p2}/reject"),
        comment("no"),
        (&format!("/v1/impersonations/{p2}/reject"), comment("changed")),
        "SELECT count(*) FROM impersonation_sessions WHERE status = 'rejected'",
    )
    .await;
    let live: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let live = live["id"].as_str().unwrap().to_owned();
    check(
        &app,
        "alice",
        &format!("/v1/impersonations/{live}/end"),
        json!({}),
        (&format!("/v1/impersonations/{p1}/end"), json!({})),
        "SELECT count(*) FROM impersonation_sessions WHERE status = 'ended'",
    )
    .await;
    let outcome = |o: &str| json!({ "outcome": o, "note": "looked fine" });
    check(
        &app,
        "sam",
        &format!("/v1/impersonations/{live}/review"),
        outcome("ok"),
        (&format!("/v1/impersonations/{live}/review"), outcome("flagged")),
        "SELECT count(*) FROM impersonation_sessions WHERE review <> 'unreviewed'",
    )
    .await;

    // Support-access grants: grant, revoke.
    let hours = |h: i64| json!({ "duration_hours": h });
    let grants = format!("/v1/orgs/{acme}/support-access/grants");
    check(
        &app,
        "acme-admin",
        &grants,
        hours(4),
        (&grants, hours(5)),
        "SELECT count(*) FROM support_access_grants",
    )
    .await;
    let g1: Value = post_as(&app, "acme-admin", &grants, &hours(6), None)
        .await
        .json()
        .await
        .unwrap();
    let g2: Value = post_as(&app, "acme-admin", &grants, &hours(7), None)
        .await
        .json()
        .await
        .unwrap();
    let (g1, g2) = (
        g1["id"].as_str().unwrap().to_owned(),
        g2["id"].as_str().unwrap().to_owned(),
    );
    check(
        &app,
        "acme-admin",
        &format!("{grants}/{g1}/revoke"),
        json!({}),
        (&format!("{grants}/{g2}/revoke"), json!({})),
        "SELECT count(*) FROM support_access_grants WHERE revoked_at IS NOT NULL",
    )
    .await;

    // A customer's invoice resend: one send for a retried click.
    let other_invoice: Uuid =
        sqlx::query_scalar("SELECT id FROM invoices WHERE org_id = $1 ORDER BY number DESC LIMIT 1")
            .bind(acme)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    check(
        &app,
        "acme-admin",
        &format!("/v1/invoices/{invoice}/resend"),
        json!({}),
        (&format!("/v1/invoices/{other_invoice}/resend"), json!({})),
        "SELECT count(*) FROM invoices WHERE last_sent_at IS NOT NULL",
    )
    .await;
}

#[tokio::test]
async fn a_reveal_is_its_own_act_whatever_its_key() {
    let app = spawn_app().await;
    let user: Uuid = sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("acme").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let body = json!({ "record_type": "user", "record_id": user, "field": "phone", "reason": REASON });
    for _ in 0..2 {
        assert_eq!(
            post_as(&app, "alice", "/v1/reveals", &body, Some("same-key"))
                .await
                .status(),
            200
        );
    }
    let reveals = count(
        &app,
        "SELECT count(*) FROM audit_events WHERE action = 'reveal' AND outcome = 'success'",
    )
    .await;
    assert_eq!(
        reveals, 2,
        "each call is recorded as a reveal; no value is stored to replay"
    );
}

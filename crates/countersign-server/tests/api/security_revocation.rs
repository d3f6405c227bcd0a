//! Issue 19, point 1: revocation reaches support sessions. An agent whose
//! roles are revoked, whose scope no longer covers the org, or who is
//! deactivated loses a live session on the very next request; the server
//! ends it with the reason, and the review queue shows it. A pending session
//! whose requester lost the permission cannot be approved.

use crate::approvals::post_as;
use crate::helpers::*;
use crate::impersonation::{as_session, member, start};
use reqwest::Method;
use serde_json::{json, Value};

async fn live_session(app: &TestApp) -> String {
    let s: Value = start(app, "alice", member(app, "acme").await, "read")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "active");
    let id = s["id"].as_str().unwrap().to_owned();
    assert_eq!(
        as_session(app, "alice", &id, Method::GET, "/v1/orgs", None)
            .await
            .status(),
        200,
        "the session works before the change"
    );
    id
}

async fn set_alice(app: &TestApp, roles: &[&str], regions: &[&str], active: bool) {
    let alice = app.staff_id("alice").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{alice}"),
            &json!({ "roles": roles, "scope": { "all_orgs": false,
        "regions": regions, "org_ids": [] }, "active": active }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn ended(app: &TestApp, id: &str) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, end_reason FROM impersonation_sessions WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

/// The supervisors' review queue lists the session with why it ended.
async fn in_review_queue(app: &TestApp, id: &str, why: &str) {
    let queue: Value = app
        .get_as("sam", "/v1/impersonations?review=unreviewed")
        .await
        .json()
        .await
        .unwrap();
    let item = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("{id} is not in the review queue: {queue}"));
    assert_eq!(item["status"], "ended");
    assert_eq!(item["end_reason"], why);
}

#[tokio::test]
async fn an_agent_whose_roles_are_revoked_loses_a_live_session_on_the_next_request() {
    let app = spawn_app().await;
    let id = live_session(&app).await;
    set_alice(&app, &[], &["EU"], true).await;
    let before = app.audit_count().await;
    assert_problem(
        as_session(&app, "alice", &id, Method::GET, "/v1/orgs", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    assert_eq!(ended(&app, &id).await, ("ended".into(), Some("access_revoked".into())));
    // Every later request too, and each refusal is recorded in the session.
    assert_problem(
        as_session(&app, "alice", &id, Method::GET, "/v1/me", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    assert_eq!(app.audit_count().await, before + 2);
    let recorded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE impersonation_id = $1::uuid AND \
        outcome = 'denied' AND code = 'impersonation_not_active'",
    )
    .bind(&id)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(recorded, 2);
    in_review_queue(&app, &id, "access_revoked").await;
}

#[tokio::test]
async fn an_agent_whose_scope_no_longer_covers_the_org_loses_the_session() {
    let app = spawn_app().await;
    let id = live_session(&app).await;
    set_alice(&app, &["support_agent"], &["US"], true).await;
    assert_problem(
        as_session(&app, "alice", &id, Method::GET, "/v1/orgs", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    assert_eq!(ended(&app, &id).await, ("ended".into(), Some("access_revoked".into())));
    in_review_queue(&app, &id, "access_revoked").await;
}

#[tokio::test]
async fn a_deactivated_agent_loses_the_session_and_the_account() {
    let app = spawn_app().await;
    let id = live_session(&app).await;
    set_alice(&app, &["support_agent"], &["EU"], false).await;
    assert_problem(
        as_session(&app, "alice", &id, Method::GET, "/v1/orgs", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    assert_eq!(
        ended(&app, &id).await,
        ("ended".into(), Some("account_disabled".into()))
    );
    assert_problem(app.get_as("alice", "/v1/me").await, 401, "account_disabled").await;
    in_review_queue(&app, &id, "account_disabled").await;
}

#[tokio::test]
async fn a_pending_session_whose_requester_lost_the_permission_is_not_approved() {
    let app = spawn_app().await;
    let s: Value = start(&app, "alice", member(&app, "acme").await, "write")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "pending_approval");
    let id = s["id"].as_str().unwrap().to_owned();
    set_alice(&app, &[], &["EU"], true).await;
    let r = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{id}/approve"),
        &json!({ "comment": "ok" }),
        None,
    )
    .await;
    assert_problem(r, 403, "impersonation_not_active").await;
    assert_eq!(ended(&app, &id).await, ("ended".into(), Some("access_revoked".into())));
    let started: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT started_at FROM impersonation_sessions WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(started, None, "it never started");
    in_review_queue(&app, &id, "access_revoked").await;
}

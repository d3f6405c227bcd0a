//! Issue 19, points 8, 10, 13: lists that page alike, a staff member with
//! nothing to read, and rules keyed by the person rather than the account.

use crate::approvals::post_as;
use crate::helpers::*;
use crate::impersonation::{member, start};
use serde_json::{json, Value};

#[tokio::test]
async fn the_support_session_list_pages_like_every_list() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let mut made = Vec::new();
    for _ in 0..4 {
        let s: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
        made.push(s["id"].as_str().unwrap().to_owned());
    }
    for bad in ["0", "201", "10000", "-1", "x"] {
        assert_problem(
            app.get_as("sam", &format!("/v1/impersonations?limit={bad}")).await,
            422,
            "invalid_request",
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/impersonations?limit=1&cursor={c}"),
            None => "/v1/impersonations?limit=1".into(),
        };
        let page: Value = app.get_as("sam", &path).await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        seen.extend(items.iter().map(|s| s["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 4, "the walk ends");
    }
    made.reverse(); // newest first
    assert_eq!(seen, made);
    assert_problem(
        app.get_as("sam", "/v1/impersonations?cursor=not-a-cursor").await,
        422,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_staff_member_with_no_readable_records_gets_an_empty_feed() {
    let app = spawn_app().await;
    let r = app.get_as("sid", "/v1/sync").await;
    assert_eq!(r.status(), 200);
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["changes"], json!([]));
    assert_eq!(page["has_more"], false);
    assert_eq!(page["estimated_total"], 0);
    let next = page["next_cursor"].as_str().unwrap();
    let again: Value = app
        .get_as("sid", &format!("/v1/sync?cursor={next}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["changes"], json!([]));
}

/// `bob` becomes a second account of `sid`'s person.
async fn bob_is_sid(app: &TestApp) {
    sqlx::query(
        "UPDATE staff SET person_id = (SELECT person_id FROM staff WHERE subject = 'staff-sid') WHERE subject \
        = 'staff-bob'",
    )
    .execute(&app.admin)
    .await
    .unwrap();
}

#[tokio::test]
async fn nobody_changes_their_own_roles_through_a_second_account() {
    let app = spawn_app().await;
    bob_is_sid(&app).await;
    let bob = app.staff_id("bob").await;
    let epoch: i64 = sqlx::query_scalar("SELECT permission_epoch FROM staff WHERE id = $1")
        .bind(bob)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{bob}"),
            &json!({ "roles": ["support_agent", "security_admin"],
        "scope": { "all_orgs": true, "regions": [], "org_ids": [] }, "active": true }),
        )
        .await;
    assert_problem(r, 403, "self_change_forbidden").await;
    let (roles, after): (Vec<String>, i64) = sqlx::query_as("SELECT roles, permission_epoch FROM staff WHERE id = $1")
        .bind(bob)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(
        (roles, after),
        (vec!["support_agent".to_owned()], epoch),
        "nothing changed"
    );
    // Another person's account is still managed as before.
    let alice = app.staff_id("alice").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{alice}"),
            &json!({ "roles": ["support_agent"],
        "scope": { "all_orgs": false, "regions": ["EU"], "org_ids": [] }, "active": true }),
        )
        .await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn the_reveal_limit_is_per_person_not_per_account() {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.policy.reveals_per_minute = 3;
    let app = spawn_app_with(config).await;
    sqlx::query(
        "UPDATE staff SET person_id = (SELECT person_id FROM staff WHERE subject = 'staff-alice'), \
        scope_regions = '{EU,US}' WHERE subject = 'staff-bob'",
    )
    .execute(&app.admin)
    .await
    .unwrap();
    let user: uuid::Uuid = sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("acme").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let body = json!({ "record_type": "user", "record_id": user, "field": "phone", "reason": "Ticket SUP-4711: \
        customer cannot log in" });
    for who in ["alice", "alice", "bob"] {
        assert_eq!(
            post_as(&app, who, "/v1/reveals", &body, None).await.status(),
            200,
            "{who}"
        );
    }
    assert_problem(
        post_as(&app, "bob", "/v1/reveals", &body, None).await,
        429,
        "rate_limited",
    )
    .await;
    assert_problem(
        post_as(&app, "alice", "/v1/reveals", &body, None).await,
        429,
        "rate_limited",
    )
    .await;
    // Another person keeps their own budget.
    assert_eq!(post_as(&app, "sam", "/v1/reveals", &body, None).await.status(), 200);
}

//! The notification centre's feed (issue 21, point 2): besides requests to
//! decide and decided, a requester's own request expiring, a support session
//! waiting for a supervisor; never a notification about one's own action.
//! Delegation: whom an approver may pick, and names in every delegation.

use crate::approvals::{decide, post_as, refund};
use crate::helpers::*;
use crate::impersonation::{member, start};
use serde_json::{json, Value};

async fn notifications(app: &TestApp, who: &str) -> Vec<Value> {
    let r = app.get_as(who, "/v1/notifications").await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// The kinds of notification about one request or session.
fn about(list: &[Value], id: &str) -> Vec<String> {
    list.iter()
        .filter(|n| n["approval_id"] == id || n["impersonation_id"] == id)
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn name_of(app: &TestApp, who: &str) -> String {
    sqlx::query_scalar("SELECT display_name FROM staff WHERE id = $1")
        .bind(app.staff_id(who).await)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_session_waiting_for_approval_tells_supervisors_and_never_its_agent() {
    let app = spawn_app().await;
    let s: Value = start(&app, "alice", member(&app, "acme").await, "write")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "pending_approval");
    let id = s["id"].as_str().unwrap();

    let sam = notifications(&app, "sam").await;
    let n = sam
        .iter()
        .find(|n| n["impersonation_id"] == id)
        .unwrap_or_else(|| panic!("{sam:?}"));
    assert_eq!(n["kind"], "session_to_approve");
    assert_eq!(n["approval_id"], Value::Null);
    assert_eq!(n["actor_name"], name_of(&app, "alice").await.as_str());
    let acme: String = sqlx::query_scalar("SELECT name FROM orgs WHERE slug = 'acme'")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(n["org_name"], acme.as_str());

    // Not for the agent, even one who also holds the supervisor's role.
    sqlx::query("UPDATE staff SET roles = '{support_agent,support_supervisor}' WHERE id = $1")
        .bind(app.staff_id("alice").await)
        .execute(&app.admin)
        .await
        .unwrap();
    assert!(about(&notifications(&app, "alice").await, id).is_empty());
    // Nor for those who may not approve sessions.
    assert!(about(&notifications(&app, "bob").await, id).is_empty());
    assert!(about(&notifications(&app, "ana").await, id).is_empty());

    // Answered: nothing waits any more.
    let r = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{id}/approve"),
        &json!({}),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(about(&notifications(&app, "sam").await, id).is_empty());
}

#[tokio::test]
async fn a_requester_hears_that_their_own_request_expires_within_a_day() {
    let app = spawn_app().await;
    let a = refund(&app, "carl", 10_000).await;
    let id = a["id"].as_str().unwrap();
    assert!(about(&notifications(&app, "carl").await, id).is_empty());

    sqlx::query("UPDATE approval_requests SET expires_at = now() + interval '2 hours' WHERE id = $1::uuid")
        .bind(id)
        .execute(&app.admin)
        .await
        .unwrap();
    let carl = notifications(&app, "carl").await;
    assert_eq!(about(&carl, id), ["my_request_expires_soon"]);
    let n = carl.iter().find(|n| n["approval_id"] == id).unwrap();
    assert_eq!(n["amount"], json!({ "amount_minor": 10_000, "currency": "EUR" }));
    assert_eq!(n["approval_kind"], "refund");
    // Approvers hear their own kind of it, never the requester's.
    let mut ana = about(&notifications(&app, "ana").await, id);
    ana.sort();
    assert_eq!(ana, ["expires_soon", "to_decide"]);
    // Something in the future is new once, whenever it is first asked for.
    let later: Vec<Value> = app
        .get_as("carl", "/v1/notifications?since=2100-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(about(&later, id), ["my_request_expires_soon"]);

    // Cancelled: nothing expires.
    let r = post_as(&app, "carl", &format!("/v1/approvals/{id}/cancel"), &json!({}), None).await;
    assert_eq!(r.status(), 200);
    assert!(about(&notifications(&app, "carl").await, id).is_empty());
    assert!(about(&notifications(&app, "ana").await, id).is_empty());
}

#[tokio::test]
async fn nobody_hears_about_their_own_actions() {
    let app = spawn_app().await;
    // 1,000.00 to 24,999.99: two approvers, so ana's approval leaves it pending.
    let a = refund(&app, "carl", 300_000).await;
    let id = a["id"].as_str().unwrap();
    // My own request is not mine to decide.
    assert!(about(&notifications(&app, "carl").await, id).is_empty());
    assert_eq!(about(&notifications(&app, "ana").await, id), ["to_decide"]);

    assert_eq!(decide(&app, "ana", &a["id"], "approve", 1).await.status(), 200);
    // My decision tells the requester, not me.
    assert!(about(&notifications(&app, "ana").await, id).is_empty());
    let carl = notifications(&app, "carl").await;
    let n = carl
        .iter()
        .find(|n| n["approval_id"] == id && n["kind"] == "decided")
        .unwrap_or_else(|| panic!("{carl:?}"));
    assert_eq!(n["actor_name"], name_of(&app, "ana").await.as_str());
    assert_eq!(n["decision"], "approve");
    // Others who may still decide still hear of it.
    assert_eq!(about(&notifications(&app, "andy").await, id), ["to_decide"]);

    // A requester who may also decide hears nothing of their own request,
    // even with a second account of the same person.
    let b = refund(&app, "cora", 20_000).await;
    let bid = b["id"].as_str().unwrap();
    assert!(about(&notifications(&app, "cora").await, bid).is_empty());
    sqlx::query("UPDATE staff SET person_id = (SELECT person_id FROM staff WHERE id = $1) WHERE id = $2")
        .bind(app.staff_id("cora").await)
        .bind(app.staff_id("andy").await)
        .execute(&app.admin)
        .await
        .unwrap();
    assert!(about(&notifications(&app, "andy").await, bid).is_empty());
    assert_eq!(about(&notifications(&app, "ana").await, bid), ["to_decide"]);
}

#[tokio::test]
async fn approvers_pick_a_delegate_by_name_and_see_who_delegates_to_them() {
    let app = spawn_app().await;
    let r = app.get_as("ana", "/v1/delegations/delegates").await;
    assert_eq!(r.status(), 200);
    let list: Vec<Value> = r.json().await.unwrap();
    let ids: Vec<String> = list.iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
    for (who, listed) in [
        ("andy", true),
        ("cora", true),
        ("ana", false),
        ("carl", false),
        ("sam", false),
    ] {
        assert_eq!(
            ids.contains(&app.staff_id(who).await.to_string()),
            listed,
            "{who} in {list:?}"
        );
    }
    assert!(list.iter().all(|d| !d["name"].as_str().unwrap().is_empty()));
    // Only approvers delegate.
    assert_problem(app.get_as("carl", "/v1/delegations/delegates").await, 403, "forbidden").await;

    let now = time::OffsetDateTime::now_utc();
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap();
    let r = post_as(
        &app,
        "ana",
        "/v1/delegations",
        &json!({ "delegate_id": app.staff_id("andy").await, "starts_at": fmt(now),
            "ends_at": fmt(now + time::Duration::days(3)) }),
        None,
    )
    .await;
    assert_eq!(r.status(), 201);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["delegator_name"], name_of(&app, "ana").await.as_str());
    assert_eq!(d["delegate_name"], name_of(&app, "andy").await.as_str());
    let andy: Vec<Value> = app.get_as("andy", "/v1/delegations").await.json().await.unwrap();
    assert_eq!(andy.len(), 1);
    assert_eq!(andy[0]["delegator_name"], d["delegator_name"]);
    // Each side knows which it is.
    assert_eq!(
        (d["mine"].clone(), andy[0]["mine"].clone()),
        (json!(true), json!(false))
    );
    let r = post_as(
        &app,
        "ana",
        &format!("/v1/delegations/{}/revoke", d["id"].as_str().unwrap()),
        &json!({}),
        None,
    )
    .await;
    let revoked: Value = r.json().await.unwrap();
    assert_eq!(
        (revoked["revoked"].clone(), revoked["delegate_name"].clone()),
        (json!(true), d["delegate_name"].clone())
    );
}

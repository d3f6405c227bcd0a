//! Support impersonation (issue 5).

use crate::approvals::{post_as, refund};
use crate::helpers::*;
use serde_json::{json, Value};
use uuid::Uuid;

pub const REASON: &str = "Customer reports a wrong invoice total";

pub async fn member(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 AND role = 'member' ORDER BY name LIMIT 1")
        .bind(app.org_id(slug).await)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

pub async fn admin_user(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 AND role = 'org_admin' LIMIT 1")
        .bind(app.org_id(slug).await)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

pub async fn start(app: &TestApp, who: &str, subject: Uuid, scope: &str) -> reqwest::Response {
    post_as(
        app,
        who,
        "/v1/impersonations",
        &json!({ "subject_user_id": subject, "reason": REASON, "ticket_ref": "SUP-1234", "scope": scope }),
        None,
    )
    .await
}

pub async fn as_session(
    app: &TestApp,
    who: &str,
    session: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let token = app.token(who).await;
    let mut r = app
        .http
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("countersign-impersonation", session);
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

async fn sessions(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM impersonation_sessions")
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_read_session_on_a_member_starts_at_once_and_sees_what_they_see() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let r = start(&app, "alice", subject, "read").await;
    assert_eq!(r.status(), 201);
    let s: Value = r.json().await.unwrap();
    assert_eq!(s["status"], "active");
    assert_eq!(s["duration_minutes"], 15, "default duration");
    let id = s["id"].as_str().unwrap();
    let me: Value = as_session(&app, "alice", id, reqwest::Method::GET, "/v1/me", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["impersonation"]["subject_user_id"], subject.to_string());
    assert_eq!(me["impersonation"]["scope"], "read");
    assert_eq!(me["subject"], "staff-alice", "the real actor stays visible");
    let orgs: Value = as_session(&app, "alice", id, reqwest::Method::GET, "/v1/orgs", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(orgs["items"].as_array().unwrap().len(), 1, "only the subject's org");
    // Another org in alice's own scope is out of reach in the session.
    let globex = app.org_id("globex").await;
    assert_problem(
        as_session(
            &app,
            "alice",
            id,
            reqwest::Method::GET,
            &format!("/v1/orgs/{globex}/users"),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    // Customer actions under read: scope_exceeded, nothing changed.
    let r = as_session(
        &app,
        "alice",
        id,
        reqwest::Method::PATCH,
        &format!("/v1/users/{subject}"),
        Some(json!({ "name": "Changed" })),
    )
    .await;
    assert_problem(r, 403, "scope_exceeded").await;
    let invoice: Uuid = sqlx::query_scalar("SELECT id FROM invoices WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("acme").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_problem(
        as_session(
            &app,
            "alice",
            id,
            reqwest::Method::POST,
            &format!("/v1/invoices/{invoice}/resend"),
            None,
        )
        .await,
        403,
        "scope_exceeded",
    )
    .await;
    let name: String = sqlx::query_scalar("SELECT name FROM customer_users WHERE id = $1")
        .bind(subject)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_ne!(name, "Changed");
}

#[tokio::test]
async fn reveals_approvals_and_staff_actions_are_refused_while_impersonating() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let s: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let id = s["id"].as_str().unwrap();
    let cases: Vec<(reqwest::Method, String, Option<Value>)> = vec![
        (
            reqwest::Method::POST,
            "/v1/reveals".into(),
            Some(json!({ "record_type": "user", "record_id": subject, "field": "email", "reason": REASON })),
        ),
        (reqwest::Method::GET, "/v1/approvals".into(), None),
        (reqwest::Method::GET, "/v1/staff".into(), None),
        (reqwest::Method::GET, "/v1/audit".into(), None),
        (
            reqwest::Method::POST,
            "/v1/impersonations".into(),
            Some(json!({ "subject_user_id": subject, "reason": REASON, "ticket_ref": "X", "scope": "read" })),
        ),
        (reqwest::Method::GET, "/v1/sync".into(), None),
    ];
    for (m, path, body) in cases {
        assert_problem(
            as_session(&app, "alice", id, m, &path, body).await,
            403,
            "not_while_impersonating",
        )
        .await;
    }
    assert_eq!(sessions(&app).await, 1);
    let revealed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal' AND outcome = 'success'")
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(revealed, 0);
}

#[tokio::test]
async fn write_sessions_and_org_admin_subjects_need_a_supervisor_who_is_not_the_agent() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let s: Value = start(&app, "alice", subject, "write").await.json().await.unwrap();
    assert_eq!(s["status"], "pending_approval");
    let id = s["id"].as_str().unwrap();
    // Not usable yet.
    assert_problem(
        as_session(&app, "alice", id, reqwest::Method::GET, "/v1/me", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    // The agent cannot approve their own session, even holding the permission.
    let alice = app.staff_id("alice").await;
    sqlx::query("UPDATE staff SET roles = '{support_agent,support_supervisor}' WHERE id = $1")
        .bind(alice)
        .execute(&app.admin)
        .await
        .unwrap();
    assert_problem(
        post_as(
            &app,
            "alice",
            &format!("/v1/impersonations/{id}/approve"),
            &json!({}),
            None,
        )
        .await,
        403,
        "self_approval_forbidden",
    )
    .await;
    sqlx::query("UPDATE staff SET roles = '{support_agent}' WHERE id = $1")
        .bind(alice)
        .execute(&app.admin)
        .await
        .unwrap();
    // Another agent has no approval permission.
    assert_problem(
        post_as(
            &app,
            "bob",
            &format!("/v1/impersonations/{id}/approve"),
            &json!({}),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let r = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{id}/approve"),
        &json!({ "comment": "ok for SUP-1234" }),
        None,
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "active");
    assert_problem(
        post_as(
            &app,
            "sam",
            &format!("/v1/impersonations/{id}/approve"),
            &json!({}),
            None,
        )
        .await,
        409,
        "not_pending",
    )
    .await;
    // Write works now, within the subject's org.
    let r = as_session(
        &app,
        "alice",
        id,
        reqwest::Method::PATCH,
        &format!("/v1/users/{subject}"),
        Some(json!({ "phone": "+49 30 5550000" })),
    )
    .await;
    assert_eq!(r.status(), 200);
    let phone: String = sqlx::query_scalar("SELECT phone FROM customer_users WHERE id = $1")
        .bind(subject)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(phone, "+49 30 5550000");
    // A member cannot edit another user; the subject is a member.
    let other = admin_user(&app, "acme").await;
    assert_problem(
        as_session(
            &app,
            "alice",
            id,
            reqwest::Method::PATCH,
            &format!("/v1/users/{other}"),
            Some(json!({ "name": "X" })),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    // An org admin subject needs approval even for read; rejection is final.
    let s2: Value = start(&app, "alice", other, "read").await.json().await.unwrap();
    assert_eq!(s2["status"], "pending_approval");
    let r = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{}/reject", s2["id"].as_str().unwrap()),
        &json!({ "comment": "no" }),
        None,
    )
    .await;
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "rejected");
    assert_problem(
        as_session(
            &app,
            "alice",
            s2["id"].as_str().unwrap(),
            reqwest::Method::GET,
            "/v1/me",
            None,
        )
        .await,
        403,
        "impersonation_not_active",
    )
    .await;
}

#[tokio::test]
async fn ended_expired_and_foreign_sessions_are_refused() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let s: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    // Another agent's session id.
    let bob = app.staff_id("bob").await;
    sqlx::query("UPDATE staff SET scope_regions = '{EU,US}' WHERE id = $1")
        .bind(bob)
        .execute(&app.admin)
        .await
        .unwrap();
    assert_problem(
        as_session(&app, "bob", &id, reqwest::Method::GET, "/v1/me", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    assert_problem(
        as_session(
            &app,
            "alice",
            &Uuid::new_v4().to_string(),
            reqwest::Method::GET,
            "/v1/me",
            None,
        )
        .await,
        403,
        "impersonation_not_active",
    )
    .await;
    assert_problem(
        as_session(&app, "alice", "not-a-uuid", reqwest::Method::GET, "/v1/me", None).await,
        403,
        "impersonation_not_active",
    )
    .await;
    // Expired by time.
    sqlx::query("UPDATE impersonation_sessions SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.admin)
        .await
        .unwrap();
    assert_problem(
        as_session(&app, "alice", &id, reqwest::Method::GET, "/v1/me", None).await,
        401,
        "impersonation_expired",
    )
    .await;
    // Ended by the agent; ended by a supervisor.
    let s2: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let id2 = s2["id"].as_str().unwrap();
    assert_eq!(
        post_as(
            &app,
            "alice",
            &format!("/v1/impersonations/{id2}/end"),
            &json!({}),
            None
        )
        .await
        .status(),
        200
    );
    assert_problem(
        as_session(&app, "alice", id2, reqwest::Method::GET, "/v1/me", None).await,
        401,
        "impersonation_expired",
    )
    .await;
    let s3: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let id3 = s3["id"].as_str().unwrap();
    // Another agent's session reads as a random id (no existence oracle).
    assert_problem(
        post_as(&app, "bob", &format!("/v1/impersonations/{id3}/end"), &json!({}), None).await,
        404,
        "not_found",
    )
    .await;
    assert_eq!(
        post_as(&app, "sam", &format!("/v1/impersonations/{id3}/end"), &json!({}), None)
            .await
            .status(),
        200
    );
    assert_problem(
        as_session(&app, "alice", id3, reqwest::Method::GET, "/v1/me", None).await,
        401,
        "impersonation_expired",
    )
    .await;
    assert_problem(
        post_as(&app, "sam", &format!("/v1/impersonations/{id3}/end"), &json!({}), None).await,
        409,
        "not_pending",
    )
    .await;
}

#[tokio::test]
async fn bad_session_requests_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let initech_user = member(&app, "initech").await;
    let base = json!({ "subject_user_id": subject, "reason": REASON, "ticket_ref": "SUP-1", "scope": "read" });
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("alice", with("reason", json!("too short")), 422, "reason_required"),
        ("alice", with("ticket_ref", json!("  ")), 422, "invalid_request"),
        (
            "alice",
            {
                let mut b = base.clone();
                b.as_object_mut().unwrap().remove("ticket_ref");
                b
            },
            422,
            "invalid_request",
        ),
        ("alice", with("duration_minutes", json!(0)), 422, "invalid_request"),
        ("alice", with("duration_minutes", json!(61)), 422, "invalid_request"),
        ("alice", with("scope", json!("admin")), 422, "invalid_request"),
        ("alice", with("status", json!("active")), 422, "invalid_request"),
        ("alice", with("subject_user_id", json!(initech_user)), 404, "not_found"),
        ("carl", base.clone(), 403, "forbidden"),
        ("acme-admin", base.clone(), 403, "forbidden"),
    ];
    for (who, body, status, code) in cases {
        assert_problem(
            post_as(&app, who, "/v1/impersonations", &body, None).await,
            status,
            code,
        )
        .await;
    }
    assert_eq!(sessions(&app).await, 0);
    assert_eq!(
        post_as(
            &app,
            "alice",
            "/v1/impersonations",
            &with("duration_minutes", json!(60)),
            None
        )
        .await
        .status(),
        201
    );
}

/// alice's read session on an acme member, with two reads made in it:
/// (the member, the session id).
async fn read_session_with_two_reads(app: &TestApp) -> (Uuid, String) {
    let subject = member(app, "acme").await;
    let s: Value = start(app, "alice", subject, "read").await.json().await.unwrap();
    let id = s["id"].as_str().unwrap().to_owned();
    for path in ["/v1/me", "/v1/orgs"] {
        assert_eq!(
            as_session(app, "alice", &id, reqwest::Method::GET, path, None)
                .await
                .status(),
            200
        );
    }
    (subject, id)
}

/// The audit search and export find a session's events by its id: exactly
/// the events the database holds for it, none of the same staff member's
/// events outside it.
#[tokio::test]
async fn the_audit_search_and_export_filter_by_session() {
    let app = spawn_app().await;
    let (_, id) = read_session_with_two_reads(&app).await;
    let id = id.as_str();
    assert_eq!(
        app.get_as("alice", "/v1/orgs").await.status(),
        200,
        "outside the session"
    );
    let expected: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM audit_events WHERE impersonation_id = $1::uuid ORDER BY seq DESC")
            .bind(id)
            .fetch_all(&app.admin)
            .await
            .unwrap();
    assert!(expected.len() >= 2, "{expected:?}");

    let page: Value = app
        .get_as("ava", &format!("/v1/audit?impersonation_id={id}"))
        .await
        .json()
        .await
        .unwrap();
    let seqs: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, expected, "newest first, exactly the session's events");
    let export = app
        .get_as("ava", &format!("/v1/audit/export?format=ndjson&impersonation_id={id}"))
        .await
        .text()
        .await
        .unwrap();
    let mut exported: Vec<i64> = export
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_i64().unwrap())
        .collect();
    exported.reverse();
    assert_eq!(exported, expected, "oldest first in the export, the same events");
    let none: Value = app
        .get_as("ava", &format!("/v1/audit?impersonation_id={}", Uuid::new_v4()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));
    assert_problem(
        app.get_as("ava", "/v1/audit?impersonation_id=not-a-uuid").await,
        422,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn events_in_a_session_carry_actor_subject_and_session_and_form_its_timeline() {
    let app = spawn_app().await;
    let (subject, id) = read_session_with_two_reads(&app).await;
    let id = id.as_str();
    as_session(
        &app,
        "alice",
        id,
        reqwest::Method::POST,
        "/v1/reveals",
        Some(json!({ "record_type": "user", "record_id": subject, "field": "email", "reason": REASON })),
    )
    .await;
    let rows: Vec<(Option<String>, Value)> = sqlx::query_as(
        "SELECT actor_subject, on_behalf_of FROM audit_events WHERE impersonation_id = $1::uuid ORDER BY seq",
    )
    .bind(id)
    .fetch_all(&app.admin)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    for (actor, obo) in &rows {
        assert_eq!(actor.as_deref(), Some("staff-alice"));
        assert_eq!(obo["user_id"], subject.to_string());
    }
    let got: Value = app
        .get_as("sam", &format!("/v1/impersonations/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let timeline = got["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 3, "exactly the session's events");
    assert!(timeline.iter().all(|e| e["impersonation_id"] == id));
    // Opening the timeline is itself audited.
    let opened: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'impersonation.timeline' \
        AND target_id = $1 AND actor_subject = 'staff-sam'",
    )
    .bind(id)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(opened, 1);
    // The session cannot be used to decide an approval either.
    let a = refund(&app, "carl", 10_000).await;
    let r = as_session(
        &app,
        "alice",
        id,
        reqwest::Method::POST,
        &format!("/v1/approvals/{}/decisions", a["id"].as_str().unwrap()),
        Some(json!({ "decision": "approve", "version": 1 })),
    )
    .await;
    assert_problem(r, 403, "not_while_impersonating").await;
}

#[tokio::test]
async fn customers_see_every_session_into_their_org_and_nothing_of_others() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let s: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let acme = app.org_id("acme").await;
    let r = app
        .get_as("acme-admin", &format!("/v1/orgs/{acme}/support-access"))
        .await;
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    let e = &list["sessions"][0];
    assert_eq!(e["session_id"], s["id"]);
    assert_eq!(e["agent_name"], "Alice Laurent");
    assert_eq!(
        (e["reason"].as_str(), e["ticket_ref"].as_str(), e["scope"].as_str()),
        (Some(REASON), Some("SUP-1234"), Some("read"))
    );
    assert!(e["started_at"].is_string());
    assert_problem(
        app.get_as(
            "acme-admin",
            &format!("/v1/orgs/{}/support-access", app.org_id("globex").await),
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.get_as("acme-user", &format!("/v1/orgs/{acme}/support-access"))
            .await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        app.get_as("sam", &format!("/v1/orgs/{acme}/support-access"))
            .await
            .status(),
        200
    );
    assert_problem(
        app.get_as("bob", &format!("/v1/orgs/{acme}/support-access")).await,
        404,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn under_consent_no_session_starts_until_an_admin_grants_access() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    sqlx::query("UPDATE orgs SET support_access = 'consent' WHERE id = $1")
        .bind(acme)
        .execute(&app.admin)
        .await
        .unwrap();
    let subject = member(&app, "acme").await;
    assert_problem(start(&app, "alice", subject, "read").await, 403, "consent_required").await;
    assert_eq!(sessions(&app).await, 0);
    // Only the org's own admin grants; staff cannot grant themselves access.
    assert_problem(
        post_as(
            &app,
            "sam",
            &format!("/v1/orgs/{acme}/support-access/grants"),
            &json!({ "duration_hours": 4 }),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            "acme-user",
            &format!("/v1/orgs/{acme}/support-access/grants"),
            &json!({ "duration_hours": 4 }),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            "globex-admin",
            &format!("/v1/orgs/{acme}/support-access/grants"),
            &json!({ "duration_hours": 4 }),
            None,
        )
        .await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            "acme-admin",
            &format!("/v1/orgs/{acme}/support-access/grants"),
            &json!({ "duration_hours": 0 }),
            None,
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    let g = post_as(
        &app,
        "acme-admin",
        &format!("/v1/orgs/{acme}/support-access/grants"),
        &json!({ "duration_hours": 4 }),
        None,
    )
    .await;
    assert_eq!(g.status(), 201);
    let g: Value = g.json().await.unwrap();
    assert_eq!(start(&app, "alice", subject, "read").await.status(), 201);
    let list: Value = app
        .get_as("acme-admin", &format!("/v1/orgs/{acme}/support-access"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["mode"], "consent");
    assert_eq!(list["grants"][0]["id"], g["id"]);
    // Revoked: refused again. Grants are audited.
    assert_eq!(
        post_as(
            &app,
            "acme-admin",
            &format!(
                "/v1/orgs/{acme}/support-access/grants/{}/revoke",
                g["id"].as_str().unwrap()
            ),
            &json!({}),
            None
        )
        .await
        .status(),
        200
    );
    assert_problem(start(&app, "alice", subject, "read").await, 403, "consent_required").await;
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action IN ('support_access.grant', \
        'support_access.revoke') AND outcome = 'success'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn ended_sessions_queue_for_review_by_a_supervisor_who_is_not_the_agent() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let s: Value = start(&app, "alice", subject, "read").await.json().await.unwrap();
    let id = s["id"].as_str().unwrap();
    assert_problem(
        post_as(
            &app,
            "sam",
            &format!("/v1/impersonations/{id}/review"),
            &json!({ "outcome": "ok" }),
            None,
        )
        .await,
        409,
        "not_pending",
    )
    .await;
    post_as(&app, "alice", &format!("/v1/impersonations/{id}/end"), &json!({}), None).await;
    let queue: Value = app
        .get_as("sam", "/v1/impersonations?review=unreviewed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["items"][0]["id"], id);
    // Not the agent (even as a supervisor), not without the permission.
    let alice = app.staff_id("alice").await;
    sqlx::query("UPDATE staff SET roles = '{support_agent,support_supervisor}' WHERE id = $1")
        .bind(alice)
        .execute(&app.admin)
        .await
        .unwrap();
    assert_problem(
        post_as(
            &app,
            "alice",
            &format!("/v1/impersonations/{id}/review"),
            &json!({ "outcome": "ok" }),
            None,
        )
        .await,
        403,
        "self_approval_forbidden",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            "bob",
            &format!("/v1/impersonations/{id}/review"),
            &json!({ "outcome": "ok" }),
            None,
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        post_as(
            &app,
            "sam",
            &format!("/v1/impersonations/{id}/review"),
            &json!({ "outcome": "meh" }),
            None,
        )
        .await,
        422,
        "invalid_request",
    )
    .await;
    let r: Value = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{id}/review"),
        &json!({ "outcome": "flagged", "note": "opened billing without need" }),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["review"], "flagged");
    let flagged: Value = app
        .get_as("sam", "/v1/impersonations?review=flagged")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flagged["items"][0]["id"], id, "flagged stays listed");
    let unreviewed: Value = app
        .get_as("sam", "/v1/impersonations?review=unreviewed")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unreviewed["items"], json!([]));
    // Resolved.
    let r: Value = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{id}/review"),
        &json!({ "outcome": "ok", "note": "talked to alice" }),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(r["review"], "ok");
    let flagged: Value = app
        .get_as("sam", "/v1/impersonations?review=flagged")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(flagged["items"], json!([]));
    assert_problem(
        post_as(
            &app,
            "sam",
            &format!("/v1/impersonations/{id}/review"),
            &json!({ "outcome": "flagged" }),
            None,
        )
        .await,
        409,
        "already_decided",
    )
    .await;
    // Agents see only their own sessions.
    let bobs: Value = app.get_as("bob", "/v1/impersonations").await.json().await.unwrap();
    assert_eq!(bobs["items"], json!([]));
}

/// Issue 21, point 3: a session that waited for a supervisor gets its whole
/// duration from the approval, not from the request: approved 40 minutes
/// after it was asked for, a 15-minute session still has 15 minutes.
#[tokio::test]
async fn a_session_that_waited_for_approval_starts_its_clock_at_the_approval() {
    let app = spawn_app().await;
    let subject = member(&app, "acme").await;
    let s: Value = start(&app, "alice", subject, "write").await.json().await.unwrap();
    assert_eq!(s["status"], "pending_approval");
    assert!(s["expires_at"].is_null(), "no clock while it waits: {s}");
    let id = s["id"].as_str().unwrap().to_owned();
    // It was asked for 40 minutes ago (longer than any session lasts).
    sqlx::query("UPDATE impersonation_sessions SET requested_at = now() - interval '40 minutes' WHERE id = $1::uuid")
        .bind(&id)
        .execute(&app.admin)
        .await
        .unwrap();
    let before = time::OffsetDateTime::now_utc();
    let approved: Value = post_as(
        &app,
        "sam",
        &format!("/v1/impersonations/{id}/approve"),
        &json!({ "comment": "ok for SUP-1234" }),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(approved["status"], "active", "{approved}");
    let expires = time::OffsetDateTime::parse(
        approved["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - before;
    assert!(
        left > time::Duration::minutes(14) && left <= time::Duration::minutes(15) + time::Duration::seconds(5),
        "15 minutes from the approval, not from the request: {left}"
    );
    // And it works now.
    let me = as_session(&app, "alice", &id, reqwest::Method::GET, "/v1/me", None).await;
    assert_eq!(me.status(), 200);
}

//! Staff identity, roles and scope in the database (issue 2, point 8).

use crate::approvals::post_as;
use crate::helpers::*;
use crate::impersonation::{member, start};
use serde_json::{json, Value};
use uuid::Uuid;

async fn epoch(app: &TestApp, who: &str) -> i64 {
    sqlx::query_scalar("SELECT permission_epoch FROM staff WHERE subject = $1")
        .bind(format!("staff-{who}"))
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn me_reports_roles_scope_limits_and_epoch_from_the_database() {
    let app = spawn_app().await;
    let me: Value = app.get_as("ana", "/v1/me").await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["finance_approver"]));
    assert_eq!(me["scope"]["all_orgs"], true);
    assert_eq!(
        me["approval_limits"]["refund"],
        json!({ "amount_minor": 5_000_000, "currency": "EUR" })
    );
    assert_eq!(me["display_name"], "Ana Costa");
    let perms = me["permissions"].as_array().unwrap();
    assert!(perms.contains(&json!("approvals:decide")) && !perms.contains(&json!("staff:manage")));
    let cora: Value = app.get_as("cora", "/v1/me").await.json().await.unwrap();
    assert_eq!(cora["approval_limits"], json!({}), "no limit");
}

#[tokio::test]
async fn revoking_a_role_is_effective_on_the_next_request_with_the_same_token() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let token = app.token("alice").await;
    assert_eq!(
        app.get_with(&token, &format!("/v1/orgs/{acme}/users")).await.status(),
        200
    );
    let before = epoch(&app, "alice").await;
    let alice = app.staff_id("alice").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{alice}"),
            &json!({ "roles": [], "scope": { "all_orgs": false, "regions": ["EU"], "org_ids": [] } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let updated: Value = r.json().await.unwrap();
    assert_eq!(updated["permission_epoch"], before + 1);
    // Same, still valid token: refused now.
    assert_problem(
        app.get_with(&token, &format!("/v1/orgs/{acme}/users")).await,
        403,
        "forbidden",
    )
    .await;
    let me: Value = app.get_with(&token, "/v1/me").await.json().await.unwrap();
    assert_eq!(me["permission_epoch"], before + 1);
    assert_eq!(me["permissions"], json!([]));
}

#[tokio::test]
async fn a_scope_change_moves_what_is_visible_and_bumps_the_epoch() {
    let app = spawn_app().await;
    let initech = app.org_id("initech").await;
    let token = app.token("alice").await;
    assert_eq!(app.get_with(&token, &format!("/v1/orgs/{initech}")).await.status(), 404);
    let alice = app.staff_id("alice").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{alice}"),
            &json!({ "roles": ["support_agent"], "scope": { "all_orgs": false, "regions": [], "org_ids": [initech] } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get_with(&token, &format!("/v1/orgs/{initech}")).await.status(), 200);
    assert_eq!(
        app.get_with(&token, &format!("/v1/orgs/{}", app.org_id("acme").await))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_security_admin_never_changes_their_own_access() {
    let app = spawn_app().await;
    let sid = app.staff_id("sid").await;
    let before = epoch(&app, "sid").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{sid}"),
            &json!({ "roles": ["security_admin", "finance_controller"],
        "scope": { "all_orgs": true, "regions": [], "org_ids": [] } }),
        )
        .await;
    assert_problem(r, 403, "self_change_forbidden").await;
    assert_eq!(epoch(&app, "sid").await, before);
    let roles: Vec<String> = sqlx::query_scalar("SELECT roles FROM staff WHERE id = $1")
        .bind(sid)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(roles, ["security_admin"]);
}

#[tokio::test]
async fn only_staff_managers_change_staff() {
    let app = spawn_app().await;
    let bob = app.staff_id("bob").await;
    let before = epoch(&app, "bob").await;
    for who in ["sam", "cora", "ava", "alice", "acme-admin"] {
        let r = app
            .put_as(
                who,
                &format!("/v1/staff/{bob}"),
                &json!({ "roles": ["security_admin"], "scope": { "all_orgs": true, "regions": [], "org_ids": [] } }),
            )
            .await;
        assert_problem(r, 403, "forbidden").await;
    }
    assert_eq!(epoch(&app, "bob").await, before);
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{}", uuid::Uuid::new_v4()),
            &json!({ "roles": [], "scope": { "all_orgs": false, "regions": [], "org_ids": [] } }),
        )
        .await;
    assert_problem(r, 404, "not_found").await;
    // Limits are validated: unknown kind, negative amount.
    for limits in [
        json!({ "bribe": null }),
        json!({ "refund": { "amount_minor": -1, "currency": "EUR" } }),
        json!({ "refund": { "amount_minor": 1, "currency": "XXX" } }),
    ] {
        let r = app
            .put_as(
                "sid",
                &format!("/v1/staff/{bob}"),
                &json!({ "roles": [], "scope": { "all_orgs": false,
            "regions": [], "org_ids": [] }, "approval_limits": limits }),
            )
            .await;
        assert_problem(r, 422, "invalid_request").await;
    }
    assert_eq!(epoch(&app, "bob").await, before);
    let list: Value = app.get_as("sid", "/v1/staff").await.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 9);
}

#[tokio::test]
async fn a_deactivated_staff_member_is_refused() {
    let app = spawn_app().await;
    let token = app.token("bob").await;
    let bob = app.staff_id("bob").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{bob}"),
            &json!({ "roles": ["support_agent"],
        "scope": { "all_orgs": false, "regions": ["US"], "org_ids": [] }, "active": false }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_problem(app.get_with(&token, "/v1/me").await, 401, "account_disabled").await;
}

fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_countersign-server"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("COUNTERSIGN_ISSUER", &env().issuer)
        .env("COUNTERSIGN_AUDIENCE", &env().audience)
        .env("COUNTERSIGN_DATABASE_URL", &app.db_url)
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_staff_cli_changes_roles_scope_and_limits_effective_on_the_next_request() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let token = app.token("alice").await;
    assert_eq!(
        app.get_with(&token, &format!("/v1/orgs/{acme}/users")).await.status(),
        200
    );
    let before = epoch(&app, "alice").await;

    let out = cli(&app, &["staff", "revoke", "alice", "support_agent"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(epoch(&app, "alice").await, before + 1);
    assert_problem(
        app.get_with(&token, &format!("/v1/orgs/{acme}/users")).await,
        403,
        "forbidden",
    )
    .await;

    assert!(cli(&app, &["staff", "grant", "staff-alice", "auditor"])
        .status
        .success());
    assert!(cli(&app, &["staff", "scope", "alice", "--orgs", "initech"])
        .status
        .success());
    assert!(cli(&app, &["staff", "limit", "alice", "refund", "125000"])
        .status
        .success());
    assert_eq!(epoch(&app, "alice").await, before + 4);
    let me: Value = app.get_with(&token, "/v1/me").await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["auditor"]));
    assert_eq!(me["scope"]["org_ids"], json!([app.org_id("initech").await]));
    assert_eq!(me["approval_limits"]["refund"]["amount_minor"], 125000);

    let list = cli(&app, &["staff", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("staff-alice"));
    // Bad input: a clear error, a non-zero exit, nothing changed.
    for args in [
        &["staff", "grant", "alice", "root"][..],
        &["staff", "grant", "nobody", "auditor"],
        &["staff", "scope", "alice", "--orgs", "nowhere"],
        &["staff", "limit", "alice", "refund", "lots"],
    ] {
        let out = cli(&app, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "), "{args:?}");
    }
    assert_eq!(epoch(&app, "alice").await, before + 4);
}

/// Staff lookups are read in batches (principal::lookup_batch): whoever
/// shares a statement, each request gets its own principal, a deactivated
/// member is refused, a customer is still found, and an unknown identity
/// has no access.
#[tokio::test]
async fn principals_looked_up_together_are_each_their_own() {
    let app = &spawn_app().await;
    let bob = app.staff_id("bob").await;
    let who = ["alice", "bob", "carl", "sid", "acme-admin"];
    let mut tokens = Vec::new();
    for w in who {
        tokens.push((w, app.token(w).await));
    }
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{bob}"),
            &json!({ "roles": ["support_agent"],
        "scope": { "all_orgs": false, "regions": ["US"], "org_ids": [] }, "active": false }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let stranger = app.mint(json!({ "sub": "staff-nobody" }), |_| {}).await;
    let before = lookups_per_statement(app).await;
    let calls = (0..6)
        .flat_map(|_| {
            tokens
                .iter()
                .map(|(w, t)| (*w, t.clone()))
                .chain([("nobody", stranger.clone())])
        })
        .map(|(w, t)| async move {
            let r = app.get_with(&t, "/v1/me").await;
            (w, r.status().as_u16(), r.json::<Value>().await.unwrap())
        });
    for (w, status, body) in futures::future::join_all(calls).await {
        match w {
            "bob" => assert_eq!((status, body["code"].as_str()), (401, Some("account_disabled")), "{w}"),
            "nobody" => assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{w}"),
            "acme-admin" => assert_eq!(
                (status, body["subject"].as_str(), body["kind"].as_str()),
                (200, Some("cust-acme-admin"), Some("customer"))
            ),
            _ => assert_eq!(
                (status, body["subject"].as_str()),
                (200, Some(format!("staff-{w}").as_str())),
                "{w}"
            ),
        }
    }
    let (sum, count) = lookups_per_statement(app).await;
    assert_eq!(sum - before.0, 36.0, "every request looked up once");
    assert!(count - before.1 < 36.0, "some statement read more than one lookup");
}

/// The lookup worker keeps its connection between batches; when that
/// backend dies, the next lookup is read again on a fresh connection, so no
/// request is refused for it.
#[tokio::test]
async fn the_staff_lookups_recover_from_losing_their_connection() {
    let app = spawn_app().await;
    let token = app.token("sam").await;
    assert_eq!(app.get_with(&token, "/v1/me").await.status(), 200);
    let find = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = 'countersign_app' \
        AND query LIKE '%FROM staff WHERE (issuer, subject) IN%'";
    let lookup: Vec<i32> = sqlx::query_scalar(find).fetch_all(&app.admin).await.unwrap();
    assert_eq!(
        lookup.len(),
        1,
        "the lookup worker's backend, found by its last statement"
    );
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(lookup[0])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(killed, "the backend is gone (waited for up to 5 s)");
    for _ in 0..3 {
        let me: Value = app.get_with(&token, "/v1/me").await.json().await.unwrap();
        assert_eq!(me["subject"], "staff-sam");
    }
    let now: Vec<i32> = sqlx::query_scalar(find).fetch_all(&app.admin).await.unwrap();
    assert_eq!(now.len(), 1);
    assert_ne!(now[0], lookup[0], "a fresh connection replaced the dead one");
}

/// Sum and count of the lookups-per-statement histogram.
async fn lookups_per_statement(app: &TestApp) -> (f64, f64) {
    let text = app
        .http
        .get(format!("{}/metrics", app.metrics_base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("countersign_staff_lookups_per_statement_sum"),
        value("countersign_staff_lookups_per_statement_count"),
    )
}

// ---------- deactivation and the access review (issue 21, point 6) ----------

const WHY: &str = "Left the company on 30 June";

async fn deactivate(app: &TestApp, who: &str, id: Uuid, body: &Value) -> reqwest::Response {
    post_as(app, who, &format!("/v1/staff/{id}/deactivate"), body, None).await
}

/// `POST …/reactivate` takes no body.
async fn reactivate(app: &TestApp, who: &str, id: Uuid) -> reqwest::Response {
    let token = app.token(who).await;
    app.http
        .post(format!("{}/v1/staff/{id}/reactivate", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

/// Bob (support agent, US) made a finance clerk too, so that one account
/// holds both support sessions and approval requests.
async fn bob_also_requests(app: &TestApp) {
    sqlx::query("UPDATE staff SET roles = '{finance_clerk,support_agent}' WHERE subject = 'staff-bob'")
        .execute(&app.admin)
        .await
        .unwrap();
}

/// A pending refund by `who` in `slug`, of an amount that needs two approvers.
async fn pending_refund(app: &TestApp, who: &str, slug: &str) -> Uuid {
    let org = app.org_id(slug).await;
    let invoice: Uuid = sqlx::query_scalar(
        "UPDATE invoices SET amount_minor = 9000000000000, currency = 'EUR' \
         WHERE id = (SELECT id FROM invoices WHERE org_id = $1 ORDER BY id LIMIT 1) RETURNING id",
    )
    .bind(org)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let r = post_as(
        app,
        who,
        "/v1/approvals",
        &json!({
            "kind": "refund", "org_id": org, "target_id": invoice,
            "amount": { "amount_minor": 150_000, "currency": "EUR" }, "reason": "Customer double-charged in October",
        }),
        None,
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["status"], "pending");
    a["id"].as_str().unwrap().parse().unwrap()
}

/// A support session of `who` on a member of `slug`: its id and status.
async fn session(app: &TestApp, who: &str, slug: &str, scope: &str) -> (Uuid, String) {
    let r = start(app, who, member(app, slug).await, scope).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let s: Value = r.json().await.unwrap();
    (
        s["id"].as_str().unwrap().parse().unwrap(),
        s["status"].as_str().unwrap().to_owned(),
    )
}

async fn session_state(app: &TestApp, id: Uuid) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, end_reason FROM impersonation_sessions WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

async fn request_state(app: &TestApp, id: Uuid) -> (String, i32, i64) {
    sqlx::query_as(
        "SELECT status, version, (SELECT count(*) FROM approval_decisions WHERE request_id = r.id) \
         FROM approval_requests r WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.admin)
    .await
    .unwrap()
}

/// Everything a refused deactivation must leave as it was: the account's
/// row, and the state of every session and request.
async fn snapshot(app: &TestApp) -> Value {
    sqlx::query_scalar(
        "SELECT jsonb_build_object(\
           'staff', (SELECT jsonb_agg(jsonb_build_object('id', id, 'active', active, 'epoch', permission_epoch, \
              'deactivated_at', deactivated_at, 'reason', deactivation_reason) ORDER BY id) FROM staff), \
           'sessions', (SELECT jsonb_agg(jsonb_build_array(id, status, end_reason) ORDER BY id) \
              FROM impersonation_sessions), \
           'requests', (SELECT jsonb_agg(jsonb_build_array(id, status, version, updated_at) ORDER BY id) \
              FROM approval_requests))",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap()
}

/// The audit events of `action`: (actor subject, target id, outcome, code, reason, details).
/// (A body refused before the handler runs names no target.)
async fn audited(
    app: &TestApp,
    action: &str,
) -> Vec<(String, Option<String>, String, Option<String>, Option<String>, Value)> {
    sqlx::query_as(
        "SELECT actor_subject, target_id, outcome, code, reason, details FROM audit_events WHERE action = $1 \
         ORDER BY seq",
    )
    .bind(action)
    .fetch_all(&app.admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_deactivated_account_is_refused_and_its_sessions_and_requests_end() {
    let app = spawn_app().await;
    bob_also_requests(&app).await;
    let bob = app.staff_id("bob").await;
    let token = app.token("bob").await;
    assert_eq!(app.get_with(&token, "/v1/me").await.status(), 200);
    let (live, status) = session(&app, "bob", "initech", "read").await;
    assert_eq!(status, "active");
    let (waiting, status) = session(&app, "bob", "initech", "write").await;
    assert_eq!(status, "pending_approval");
    let (alices, _) = session(&app, "alice", "acme", "read").await;
    let bobs = pending_refund(&app, "bob", "initech").await;
    // One of its two approvals given: still pending, and the approval stays on record.
    let r = post_as(
        &app,
        "ana",
        &format!("/v1/approvals/{bobs}/decisions"),
        &json!({ "decision": "approve", "comment": "checked", "version": 1 }),
        None,
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(request_state(&app, bobs).await, ("pending".into(), 1, 1));
    let carls = pending_refund(&app, "carl", "initech").await;
    let epoch_before = epoch(&app, "bob").await;

    let r = deactivate(&app, "sid", bob, &json!({ "reason": format!("  {WHY} ") })).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let account: Value = r.json().await.unwrap();
    assert_eq!(account["id"], bob.to_string());
    assert_eq!(account["active"], false);
    assert_eq!(account["deactivation_reason"], WHY);
    assert!(account["deactivated_at"].is_string(), "{account}");
    assert!(account["last_active_at"].is_string(), "bob made requests: {account}");
    assert_eq!(account["permission_epoch"], epoch_before + 1);

    // The same, still valid token: refused from the next request on.
    assert_problem(app.get_with(&token, "/v1/me").await, 401, "account_disabled").await;
    assert_problem(app.get_with(&token, "/v1/approvals").await, 401, "account_disabled").await;
    // Both of bob's sessions ended, with why; alice's is untouched.
    for id in [live, waiting] {
        assert_eq!(
            session_state(&app, id).await,
            ("ended".into(), Some("account_disabled".into()))
        );
        let s: Value = app
            .get_as("sam", &format!("/v1/impersonations/{id}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (s["status"].as_str(), s["end_reason"].as_str()),
            (Some("ended"), Some("account_disabled"))
        );
        assert!(s["ended_at"].is_string());
    }
    assert_eq!(session_state(&app, alices).await, ("active".into(), None));
    // Bob's request is cancelled, its approval kept; carl's is still pending.
    assert_eq!(request_state(&app, bobs).await, ("cancelled".into(), 1, 1));
    assert_eq!(request_state(&app, carls).await, ("pending".into(), 1, 0));
    // Cancelled exactly as its requester's cancel does it: carl cancels his,
    // and the two read alike to an approver.
    let r = post_as(&app, "carl", &format!("/v1/approvals/{carls}/cancel"), &json!({}), None).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let bobs_seen: Value = app
        .get_as("cora", &format!("/v1/approvals/{bobs}"))
        .await
        .json()
        .await
        .unwrap();
    let carls_seen: Value = app
        .get_as("cora", &format!("/v1/approvals/{carls}"))
        .await
        .json()
        .await
        .unwrap();
    for field in ["status", "version", "can_decide", "cannot_decide", "execution_result"] {
        assert_eq!(bobs_seen[field], carls_seen[field], "{field}");
    }
    assert_eq!(bobs_seen["status"], "cancelled");
    assert_eq!(bobs_seen["decisions"].as_array().unwrap().len(), 1);
    let moved: bool = sqlx::query_scalar("SELECT updated_at > created_at FROM approval_requests WHERE id = $1")
        .bind(bobs)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(moved, "updated_at moves, as on a requester's cancel");

    // Audited: who, whom, why, and what ended.
    let events = audited(&app, "staff.deactivate").await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (actor, target, outcome, code, reason, details) = &events[0];
    assert_eq!((actor.as_str(), outcome.as_str()), ("staff-sid", "success"));
    assert_eq!(target.as_deref(), Some(bob.to_string().as_str()));
    assert_eq!((code, reason.as_deref()), (&None, Some(WHY)));
    let mut ended: Vec<String> = serde_json::from_value(details["ended_sessions"].clone()).unwrap();
    ended.sort();
    let mut expected = vec![live.to_string(), waiting.to_string()];
    expected.sort();
    assert_eq!(ended, expected);
    assert_eq!(details["cancelled_approvals"], json!([bobs]));
    assert_eq!(details["was_active"], true);

    // Reactivated: the same token works again; what ended stays ended.
    let r = reactivate(&app, "sid", bob).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let account: Value = r.json().await.unwrap();
    assert_eq!(account["active"], true);
    assert_eq!(
        (
            account["deactivated_at"].is_null(),
            account["deactivation_reason"].is_null()
        ),
        (true, true)
    );
    let me: Value = app.get_with(&token, "/v1/me").await.json().await.unwrap();
    assert_eq!(me["subject"], "staff-bob");
    assert_eq!(me["permission_epoch"], epoch_before + 2, "a client learns to resync");
    for id in [live, waiting] {
        assert_eq!(
            session_state(&app, id).await,
            ("ended".into(), Some("account_disabled".into()))
        );
    }
    assert_eq!(request_state(&app, bobs).await, ("cancelled".into(), 1, 1));
    let events = audited(&app, "staff.reactivate").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!((events[0].0.as_str(), events[0].2.as_str()), ("staff-sid", "success"));
    assert_eq!(events[0].1, Some(bob.to_string()));
}

#[tokio::test]
async fn a_deactivation_is_refused_to_oneself_to_non_managers_and_without_a_reason() {
    let app = spawn_app().await;
    bob_also_requests(&app).await;
    let bob = app.staff_id("bob").await;
    let sid = app.staff_id("sid").await;
    let (live, _) = session(&app, "bob", "initech", "read").await;
    let bobs = pending_refund(&app, "bob", "initech").await;
    // A second account of sid's, the same person: still oneself.
    sqlx::query(
        "INSERT INTO staff (id, person_id, issuer, subject, display_name, email, roles, scope_all) \
         SELECT gen_random_uuid(), person_id, issuer, 'staff-sid-admin', 'Sid (admin)', 'sid-admin@example.com', \
           roles, true FROM staff WHERE id = $1",
    )
    .bind(sid)
    .execute(&app.admin)
    .await
    .unwrap();
    let sids_other = app.mint(json!({ "sub": "staff-sid-admin" }), |_| {}).await;
    let before = snapshot(&app).await;

    // Nobody deactivates (or reactivates) themselves, through any account.
    let r = deactivate(&app, "sid", sid, &json!({ "reason": WHY })).await;
    assert_problem(r, 403, "self_change_forbidden").await;
    let by_other_account = |action: &'static str| {
        let (app, token) = (&app, &sids_other);
        async move {
            let mut r = app
                .http
                .post(format!("{}/v1/staff/{sid}/{action}", app.base))
                .bearer_auth(token);
            if action == "deactivate" {
                r = r.json(&json!({ "reason": WHY }));
            }
            r.send().await.unwrap()
        }
    };
    assert_problem(by_other_account("deactivate").await, 403, "self_change_forbidden").await;
    assert_problem(by_other_account("reactivate").await, 403, "self_change_forbidden").await;
    assert_eq!(app.get_as("sid", "/v1/me").await.status(), 200, "sid is still active");

    // Only staff:manage deactivates or reactivates.
    for who in ["sam", "cora", "ava", "alice", "carl", "acme-admin"] {
        assert_problem(
            deactivate(&app, who, bob, &json!({ "reason": WHY })).await,
            403,
            "forbidden",
        )
        .await;
        assert_problem(reactivate(&app, who, bob).await, 403, "forbidden").await;
    }
    // An unknown account.
    let nobody = Uuid::new_v4();
    assert_problem(
        deactivate(&app, "sid", nobody, &json!({ "reason": WHY })).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(reactivate(&app, "sid", nobody).await, 404, "not_found").await;
    // A reason is required: missing, empty, short, short once trimmed.
    for body in [
        json!({}),
        json!({ "reason": "" }),
        json!({ "reason": "left" }),
        json!({ "reason": "   left    " }),
    ] {
        assert_problem(deactivate(&app, "sid", bob, &body).await, 422, "reason_required").await;
    }
    // The body is the reason only.
    let r = deactivate(&app, "sid", bob, &json!({ "reason": WHY, "active": false })).await;
    assert_problem(r, 422, "invalid_request").await;

    assert_eq!(snapshot(&app).await, before, "nothing changed");
    assert_eq!(session_state(&app, live).await, ("active".into(), None));
    assert_eq!(request_state(&app, bobs).await.0, "pending");
    assert_eq!(app.get_as("bob", "/v1/me").await.status(), 200);
    // Every refusal is audited as one.
    let events = audited(&app, "staff.deactivate").await;
    assert!(events.iter().all(|e| e.2 == "denied"), "{events:?}");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.3.as_deref() == Some("self_change_forbidden"))
            .count(),
        2
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.3.as_deref() == Some("reason_required"))
            .count(),
        4
    );
}

#[tokio::test]
async fn a_deactivation_retried_with_its_key_answers_the_same_and_a_second_one_changes_nothing() {
    let app = spawn_app().await;
    let bob = app.staff_id("bob").await;
    let path = format!("/v1/staff/{bob}/deactivate");
    let first = post_as(&app, "sid", &path, &json!({ "reason": WHY }), Some("deactivate-bob-1")).await;
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again = post_as(&app, "sid", &path, &json!({ "reason": WHY }), Some("deactivate-bob-1")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<Value>().await.unwrap(),
        first,
        "the first answer, replayed"
    );
    let other = post_as(
        &app,
        "sid",
        &path,
        &json!({ "reason": "Another reason, same key" }),
        Some("deactivate-bob-1"),
    )
    .await;
    assert_problem(other, 409, "idempotency_key_reused").await;
    // Without a key, deactivating an inactive account keeps when and why it was deactivated.
    let r = deactivate(&app, "sid", bob, &json!({ "reason": "Deactivated twice, by mistake" })).await;
    assert_eq!(r.status(), 200);
    let now: Value = r.json().await.unwrap();
    assert_eq!(
        (
            &now["deactivated_at"],
            &now["deactivation_reason"],
            &now["permission_epoch"]
        ),
        (
            &first["deactivated_at"],
            &first["deactivation_reason"],
            &first["permission_epoch"]
        )
    );
    let events = audited(&app, "staff.deactivate").await;
    assert_eq!(events.last().unwrap().5["was_active"], false);
}

#[tokio::test]
async fn deactivating_through_put_ends_the_same_sessions_and_requests() {
    let app = spawn_app().await;
    bob_also_requests(&app).await;
    let bob = app.staff_id("bob").await;
    let (live, _) = session(&app, "bob", "initech", "read").await;
    let bobs = pending_refund(&app, "bob", "initech").await;
    let put = |active: bool| {
        let app = &app;
        async move {
            let r = app
                .put_as(
                    "sid",
                    &format!("/v1/staff/{bob}"),
                    &json!({ "roles": ["finance_clerk", "support_agent"],
                    "scope": { "all_orgs": false, "regions": ["US"], "org_ids": [] }, "active": active }),
                )
                .await;
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let off = put(false).await;
    assert_eq!(
        (off["active"].as_bool(), off["deactivated_at"].is_string()),
        (Some(false), true)
    );
    assert!(off["deactivation_reason"].is_null(), "PUT takes no reason");
    assert_eq!(
        session_state(&app, live).await,
        ("ended".into(), Some("account_disabled".into()))
    );
    assert_eq!(request_state(&app, bobs).await.0, "cancelled");
    let events = audited(&app, "staff.update").await;
    assert_eq!(events.last().unwrap().5["cancelled_approvals"], json!([bobs]));
    let on = put(true).await;
    assert_eq!(
        (on["active"].as_bool(), on["deactivated_at"].is_null()),
        (Some(true), true)
    );
    assert_eq!(app.get_as("bob", "/v1/me").await.status(), 200);
}

/// Subjects of `GET /v1/staff` + `query`, as sid sees them, sorted.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get_as("sid", &format!("/v1/staff{query}")).await;
    assert_eq!(r.status(), 200, "{query}");
    let list: Value = r.json().await.unwrap();
    let mut subjects: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["subject"].as_str().unwrap().trim_start_matches("staff-").to_owned())
        .collect();
    subjects.sort();
    subjects
}

async fn last_active(app: &TestApp, who: &str) -> Option<time::OffsetDateTime> {
    sqlx::query_scalar("SELECT last_active_at FROM staff WHERE subject = $1")
        .bind(format!("staff-{who}"))
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

async fn set_last_active(app: &TestApp, who: &str, ago: &str) {
    sqlx::query("UPDATE staff SET last_active_at = now() - $2::interval WHERE subject = $1")
        .bind(format!("staff-{who}"))
        .bind(ago)
        .execute(&app.admin)
        .await
        .unwrap();
}

/// A request by `who`, and then one by ava: the staff lookups run one batch
/// after another and record activity after answering theirs, so once ava's
/// request is answered, whatever `who`'s recorded has committed.
async fn request_by(app: &TestApp, who: &str) -> u16 {
    let status = app.get_as(who, "/v1/me").await.status().as_u16();
    assert_eq!(app.get_as("ava", "/v1/me").await.status(), 200);
    status
}

#[tokio::test]
async fn the_access_review_lists_privileged_and_inactive_accounts() {
    let app = spawn_app().await;
    let everyone = ["alice", "ana", "andy", "ava", "bob", "carl", "cora", "sam", "sid"];
    assert_eq!(listed(&app, "").await, everyone);
    assert_eq!(
        listed(&app, "?privileged=true").await,
        ["ana", "andy", "ava", "cora", "sam", "sid"]
    );
    assert_eq!(listed(&app, "?privileged=false").await, ["alice", "bob", "carl"]);

    // last_active_at: set by a request, on the database's clock.
    assert_eq!(last_active(&app, "alice").await, None, "never active");
    assert_eq!(request_by(&app, "alice").await, 200);
    let first = last_active(&app, "alice").await.expect("recorded after a request");
    let now: time::OffsetDateTime = sqlx::query_scalar("SELECT now()").fetch_one(&app.admin).await.unwrap();
    assert!((now - first).abs() < time::Duration::seconds(30), "{first} vs {now}");
    let shown: Value = app
        .get_as("sid", &format!("/v1/staff/{}", app.staff_id("alice").await))
        .await
        .json()
        .await
        .unwrap();
    assert!(shown["last_active_at"].is_string(), "{shown}");
    // At most once per 5 minutes: a later request within them writes nothing.
    assert_eq!(request_by(&app, "alice").await, 200);
    assert_eq!(last_active(&app, "alice").await, Some(first));
    set_last_active(&app, "alice", "4 minutes").await;
    let four_ago = last_active(&app, "alice").await;
    assert_eq!(request_by(&app, "alice").await, 200);
    assert_eq!(last_active(&app, "alice").await, four_ago, "not again within 5 minutes");
    set_last_active(&app, "alice", "6 minutes").await;
    assert_eq!(request_by(&app, "alice").await, 200);
    assert!(
        last_active(&app, "alice").await > Some(first),
        "recorded again after 5 minutes"
    );

    // Inactive for 30 days: never active, or last active before that.
    // (sid and ava made requests above; alice just did.)
    assert_eq!(
        listed(&app, "?inactive_days=30").await,
        ["ana", "andy", "bob", "carl", "cora", "sam"]
    );
    set_last_active(&app, "alice", "31 days").await;
    set_last_active(&app, "ana", "29 days").await;
    assert_eq!(
        listed(&app, "?inactive_days=30").await,
        ["alice", "andy", "bob", "carl", "cora", "sam"]
    );
    assert_eq!(
        listed(&app, "?inactive_days=30&privileged=true").await,
        ["andy", "cora", "sam"]
    );

    // A deactivated account's refused attempts are no activity.
    let bob = app.staff_id("bob").await;
    assert_eq!(
        deactivate(&app, "sid", bob, &json!({ "reason": WHY })).await.status(),
        200
    );
    assert_eq!(request_by(&app, "bob").await, 401);
    assert_eq!(last_active(&app, "bob").await, None);
    assert_eq!(listed(&app, "?active=false").await, ["bob"]);
    assert_eq!(listed(&app, "?active=true").await.len(), everyone.len() - 1);

    // Malformed filters are refused, naming the parameter.
    for query in [
        "?inactive_days=0",
        "?inactive_days=3651",
        "?inactive_days=soon",
        "?privileged=maybe",
        "?role=x",
    ] {
        assert_problem(
            app.get_as("sid", &format!("/v1/staff{query}")).await,
            422,
            "invalid_request",
        )
        .await;
    }
    // Reading the list needs staff:read.
    assert_problem(app.get_as("sam", "/v1/staff?privileged=true").await, 403, "forbidden").await;
}

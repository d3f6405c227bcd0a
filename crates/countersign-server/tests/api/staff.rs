//! Staff identity, roles and scope in the database (issue 2, point 8).

use crate::helpers::*;
use serde_json::{json, Value};

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

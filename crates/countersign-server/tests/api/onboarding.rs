//! Onboarding (issue 23, point 4): `POST /v1/staff`, the CLI's `staff add`
//! and `--issuer`, and just-in-time provisioning. Every refusal is shown with
//! its documented code and with nothing changed: no account, and no audit
//! event of a success.

use crate::approvals::post_as;
use crate::helpers::*;
use countersign_server::config::IssuerConfig;
use serde_json::{json, Value};
use uuid::Uuid;

/// A new account's body: `who` at the stack's provider, a support agent in the EU.
fn newcomer(who: &str) -> Value {
    json!({
        "issuer": env().issuer, "subject": format!("staff-{who}"), "display_name": "Dana Newcomer",
        "email": format!("{who}@countersign.example"), "roles": ["support_agent"],
        "scope": { "all_orgs": false, "regions": ["EU"], "org_ids": [] },
        "approval_limits": {},
    })
}

async fn staff_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM staff")
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

/// The audit events of `action`: (actor issuer, actor subject, actor kind,
/// outcome, code, target id, details), in order.
type Event = (
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Value,
);
async fn events(app: &TestApp, action: &str) -> Vec<Event> {
    sqlx::query_as(
        "SELECT actor_issuer, actor_subject, actor_kind, outcome, code, target_id, details FROM audit_events \
         WHERE action = $1 ORDER BY seq",
    )
    .bind(action)
    .fetch_all(&app.admin)
    .await
    .unwrap()
}

async fn successes(app: &TestApp, action: &str) -> usize {
    events(app, action).await.iter().filter(|e| e.3 == "success").count()
}

#[tokio::test]
async fn a_security_admin_onboards_a_staff_member_who_can_then_work() {
    let app = spawn_app().await;
    let before = staff_rows(&app).await;
    let r = post_as(&app, "sid", "/v1/staff", &newcomer("dana"), Some("onboard-dana")).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let created: Value = r.json().await.unwrap();
    assert_eq!(
        (
            &created["issuer"],
            &created["subject"],
            &created["display_name"],
            &created["roles"]
        ),
        (
            &json!(env().issuer),
            &json!("staff-dana"),
            &json!("Dana Newcomer"),
            &json!(["support_agent"])
        )
    );
    assert_eq!(
        (
            &created["active"],
            &created["permission_epoch"],
            &created["last_active_at"]
        ),
        (&json!(true), &json!(1), &Value::Null)
    );
    assert_eq!(staff_rows(&app).await, before + 1);
    // Audited, the actor sid, the target the new account.
    let audited = events(&app, "staff.create").await;
    assert_eq!(audited.len(), 1);
    let (iss, sub, kind, outcome, code, target, details) = &audited[0];
    assert_eq!(
        (iss.as_deref(), sub.as_deref(), kind.as_deref(), outcome.as_str(), code),
        (
            Some(env().issuer.as_str()),
            Some("staff-sid"),
            Some("staff"),
            "success",
            &None
        )
    );
    assert_eq!(target.as_deref(), created["id"].as_str());
    assert_eq!(details["subject"], "staff-dana");
    assert_eq!(details["roles"], json!(["support_agent"]));
    // The same key and body again: the first answer, no second account.
    let again = post_as(&app, "sid", "/v1/staff", &newcomer("dana"), Some("onboard-dana")).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], created["id"]);
    assert_eq!(staff_rows(&app).await, before + 1);

    // Dana's first token works at once, with what she was given.
    let token = mint(json!({ "sub": "staff-dana" }), |_| {}).await;
    let me: Value = app.get_with(&token, "/v1/me").await.json().await.unwrap();
    assert_eq!(
        (&me["subject"], &me["roles"]),
        (&json!("staff-dana"), &json!(["support_agent"]))
    );
    let acme = app.org_id("acme").await;
    assert_eq!(app.get_with(&token, &format!("/v1/orgs/{acme}")).await.status(), 200);
    let initech = app.org_id("initech").await;
    assert_eq!(app.get_with(&token, &format!("/v1/orgs/{initech}")).await.status(), 404);
    let listed: Value = app.get_as("sid", "/v1/staff").await.json().await.unwrap();
    assert!(listed.as_array().unwrap().iter().any(|s| s["id"] == created["id"]));
}

#[tokio::test]
async fn onboarding_refusals_change_nothing() {
    let app = spawn_app().await;
    let before = staff_rows(&app).await;
    let dana = newcomer("dana");
    let with = |field: &str, value: Value| {
        let mut body = dana.clone();
        body[field] = value;
        body
    };
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        // Without staff:manage, whoever asks.
        ("a support agent", "alice", dana.clone(), 403, "forbidden"),
        ("a supervisor", "sam", dana.clone(), 403, "forbidden"),
        ("an auditor", "ava", dana.clone(), 403, "forbidden"),
        ("a customer admin", "acme-admin", dana.clone(), 403, "forbidden"),
        // Never for oneself.
        (
            "sid for sid",
            "sid",
            with("subject", json!("staff-sid")),
            403,
            "self_change_forbidden",
        ),
        // Only at an issuer the server trusts.
        (
            "an unknown issuer",
            "sid",
            with("issuer", json!("https://id.elsewhere.example")),
            422,
            "invalid_request",
        ),
        (
            "the issuer with a slash",
            "sid",
            with("issuer", json!(format!("{}/", env().issuer))),
            422,
            "invalid_request",
        ),
        // An identity with an account already.
        (
            "alice again",
            "sid",
            with("subject", json!("staff-alice")),
            409,
            "staff_exists",
        ),
        // Checked like an update, and each field named.
        (
            "an unknown role",
            "sid",
            with("roles", json!(["root"])),
            422,
            "invalid_request",
        ),
        (
            "an unknown region",
            "sid",
            with(
                "scope",
                json!({ "all_orgs": false, "regions": ["MARS"], "org_ids": [] }),
            ),
            422,
            "invalid_request",
        ),
        (
            "an unknown kind",
            "sid",
            with("approval_limits", json!({ "bribe": null })),
            422,
            "invalid_request",
        ),
        (
            "a negative limit",
            "sid",
            with(
                "approval_limits",
                json!({ "refund": { "amount_minor": -1, "currency": "EUR" } }),
            ),
            422,
            "invalid_request",
        ),
        ("no subject", "sid", with("subject", json!("")), 422, "invalid_request"),
        (
            "a blank name",
            "sid",
            with("display_name", json!("  ")),
            422,
            "invalid_request",
        ),
        (
            "not an e-mail",
            "sid",
            with("email", json!("dana")),
            422,
            "invalid_request",
        ),
        (
            "a NUL in the name",
            "sid",
            with("display_name", json!("Da\u{0}na")),
            422,
            "invalid_request",
        ),
        (
            "a field the server owns",
            "sid",
            with("permission_epoch", json!(7)),
            422,
            "invalid_request",
        ),
        (
            "no issuer",
            "sid",
            {
                let mut b = dana.clone();
                b.as_object_mut().unwrap().remove("issuer");
                b
            },
            422,
            "invalid_request",
        ),
    ];
    for (what, who, body, status, code) in &cases {
        let r = post_as(&app, who, "/v1/staff", body, None).await;
        let problem = assert_problem(r, *status, code).await;
        if what.contains("issuer") && *status == 422 {
            assert!(
                problem["detail"].as_str().unwrap().contains("issuer"),
                "{what}: the field is named: {problem}"
            );
        }
    }
    assert_eq!(staff_rows(&app).await, before, "no account was created");
    assert_eq!(successes(&app, "staff.create").await, 0, "no success was recorded");
    // Each refusal is audited as one, with its code.
    let refused = events(&app, "staff.create").await;
    assert_eq!(refused.len(), cases.len());
    for ((what, _, _, _, code), event) in cases.iter().zip(&refused) {
        assert_eq!(
            (event.3.as_str(), event.4.as_deref()),
            ("denied", Some(*code)),
            "{what}"
        );
    }
    // The refused self-onboarding names who it was for.
    assert_eq!(refused[4].6["subject"], "staff-sid");
}

/// A server whose (only) issuer, the stack's, provisions staff just in time.
async fn spawn_jit() -> TestApp {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuer = String::new();
    config.audience = String::new();
    config.issuers = vec![IssuerConfig {
        jit_provisioning: true,
        ..IssuerConfig::new(&env().issuer, &env().audience)
    }];
    spawn_app_with(config).await
}

async fn account(app: &TestApp, sub: &str) -> Option<(Uuid, Vec<String>, bool, String, String)> {
    sqlx::query_as("SELECT id, roles, access_pending, display_name, email FROM staff WHERE subject = $1")
        .bind(sub)
        .fetch_optional(&app.admin)
        .await
        .unwrap()
}

async fn pending_ids(app: &TestApp) -> Vec<String> {
    let r = app.get_as("sid", "/v1/staff?pending=true").await;
    assert_eq!(r.status(), 200);
    let list: Value = r.json().await.unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_first_sign_in_provisions_an_account_without_roles_that_waits_for_a_decision() {
    let app = spawn_jit().await;
    let before = staff_rows(&app).await;
    let erin = mint(
        json!({ "sub": "staff-erin", "name": "Erin Example", "email": "erin@contractor.example" }),
        |_| {},
    )
    .await;
    assert_problem(app.get_with(&erin, "/v1/me").await, 403, "access_pending").await;
    let (id, roles, pending, name, email) = account(&app, "staff-erin").await.expect("provisioned");
    assert_eq!(
        (roles.len(), pending, name.as_str(), email.as_str()),
        (0, true, "Erin Example", "erin@contractor.example")
    );
    assert_eq!(staff_rows(&app).await, before + 1);
    // Audited: the new account is the actor, the account the target.
    let provisioned = events(&app, "staff.provisioned").await;
    assert_eq!(provisioned.len(), 1);
    let (iss, sub, kind, outcome, _, target, details) = &provisioned[0];
    assert_eq!(
        (iss.as_deref(), sub.as_deref(), kind.as_deref(), outcome.as_str()),
        (
            Some(env().issuer.as_str()),
            Some("staff-erin"),
            Some("staff"),
            "success"
        )
    );
    assert_eq!(target.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(details["roles"], json!([]));
    // The request itself is audited as refused, under the same identity.
    let me: Vec<(Option<String>, String, Option<String>)> =
        sqlx::query_as("SELECT actor_subject, outcome, code FROM audit_events WHERE action = 'GET /v1/me'")
            .fetch_all(&app.admin)
            .await
            .unwrap();
    assert_eq!(
        me,
        [(
            Some("staff-erin".into()),
            "denied".into(),
            Some("access_pending".into())
        )]
    );
    // In the access review, and only it.
    assert_eq!(pending_ids(&app).await, [id.to_string()]);

    // Every later request: the same answer, no second account, no second event.
    for path in ["/v1/me", "/v1/orgs", "/v1/staff"] {
        assert_problem(app.get_with(&erin, path).await, 403, "access_pending").await;
    }
    assert_eq!(staff_rows(&app).await, before + 1);
    assert_eq!(events(&app, "staff.provisioned").await.len(), 1);

    // A security admin grants a role: the next request works.
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{id}"),
            &json!({ "roles": ["support_agent"], "scope": { "all_orgs": false, "regions": ["EU"], "org_ids": [] } }),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let me: Value = app.get_with(&erin, "/v1/me").await.json().await.unwrap();
    assert_eq!(
        (&me["subject"], &me["roles"]),
        (&json!("staff-erin"), &json!(["support_agent"]))
    );
    assert_eq!(app.get_with(&erin, "/v1/orgs").await.status(), 200);
    assert!(pending_ids(&app).await.is_empty(), "decided");
    assert!(!account(&app, "staff-erin").await.unwrap().2);
}

#[tokio::test]
async fn a_decision_that_grants_nothing_ends_the_wait_too() {
    let app = spawn_jit().await;
    // No profile claims in the token: the account is named by its subject.
    let finn = mint(json!({ "sub": "staff-finn" }), |_| {}).await;
    assert_problem(app.get_with(&finn, "/v1/me").await, 403, "access_pending").await;
    let (id, _, _, name, email) = account(&app, "staff-finn").await.unwrap();
    assert_eq!((name.as_str(), email.as_str()), ("staff-finn", ""));
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{id}"),
            &json!({ "roles": [], "scope": { "all_orgs": false, "regions": [], "org_ids": [] } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert!(pending_ids(&app).await.is_empty());
    // Decided, with no role: like any account without one (its own profile, nothing else).
    let me: Value = app.get_with(&finn, "/v1/me").await.json().await.unwrap();
    assert_eq!(me["permissions"], json!([]));
    assert_problem(app.get_with(&finn, "/v1/orgs").await, 403, "forbidden").await;
    // A deactivated account waiting for access is deactivated.
    let gail = mint(json!({ "sub": "staff-gail" }), |_| {}).await;
    assert_problem(app.get_with(&gail, "/v1/me").await, 403, "access_pending").await;
    let gail_id = account(&app, "staff-gail").await.unwrap().0;
    let r = post_as(
        &app,
        "sid",
        &format!("/v1/staff/{gail_id}/deactivate"),
        &json!({ "reason": "Not someone we work with" }),
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_problem(app.get_with(&gail, "/v1/me").await, 401, "account_disabled").await;
    assert!(pending_ids(&app).await.is_empty());
}

#[tokio::test]
async fn concurrent_first_requests_provision_one_account() {
    let app = &spawn_jit().await;
    let before = staff_rows(app).await;
    let token = mint(json!({ "sub": "staff-hugo" }), |_| {}).await;
    let answers = futures::future::join_all((0..12).map(|_| {
        let token = token.clone();
        async move { app.get_with(&token, "/v1/me").await }
    }))
    .await;
    for r in answers {
        assert_problem(r, 403, "access_pending").await;
    }
    assert_eq!(staff_rows(app).await, before + 1);
    assert_eq!(events(app, "staff.provisioned").await.len(), 1);
    // Written in the provisioning's transaction, beside the writer's batches: the chain holds.
    let (intact, report) = crate::audit::verify(app);
    assert!(intact, "{report}");
}

#[tokio::test]
async fn without_just_in_time_provisioning_an_unknown_identity_is_forbidden_and_nothing_is_made() {
    let app = spawn_app().await;
    let before = staff_rows(&app).await;
    let erin = mint(json!({ "sub": "staff-erin", "name": "Erin Example" }), |_| {}).await;
    for _ in 0..2 {
        assert_problem(app.get_with(&erin, "/v1/me").await, 403, "forbidden").await;
    }
    assert_eq!(staff_rows(&app).await, before);
    assert!(account(&app, "staff-erin").await.is_none());
    assert!(events(&app, "staff.provisioned").await.is_empty());
    assert!(pending_ids(&app).await.is_empty());
    // With it, customer accounts stay customer accounts, and staff stay as they are.
    let jit = spawn_jit().await;
    let me: Value = jit.get_as("acme-admin", "/v1/me").await.json().await.unwrap();
    assert_eq!(me["kind"], "customer");
    assert_eq!(jit.get_as("alice", "/v1/me").await.status(), 200);
    assert!(events(&jit, "staff.provisioned").await.is_empty());
}

// ---------- the CLI ----------

const CONTRACTORS: &str = "https://contractors.example";

/// The server binary's `args`, configured like the stack plus a second
/// issuer (`[[issuers]]` in a file: the CLI never contacts it).
fn cli(app: &TestApp, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("countersign.toml");
    std::fs::write(
        &file,
        format!("[[issuers]]\nissuer = \"{CONTRACTORS}\"\naudience = \"api\"\nprovider_name = \"Contractors\"\n"),
    )
    .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_countersign-server"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap())
        .env("USER", "ops-oliver")
        .env("COUNTERSIGN_CONFIG", &file)
        .env("COUNTERSIGN_ISSUER", &env().issuer)
        .env("COUNTERSIGN_AUDIENCE", &env().audience)
        .env("COUNTERSIGN_DATABASE_URL", &app.db_url)
        .output()
        .unwrap()
}

fn ok(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn refused(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.starts_with("error: "), "{err}");
    err
}

#[tokio::test]
async fn the_staff_cli_adds_staff_by_the_same_rules_audited_as_the_operator() {
    let app = spawn_app().await;
    let before = staff_rows(&app).await;
    let issuer = env().issuer.as_str();
    let added = ok(&cli(
        &app,
        &[
            "staff",
            "add",
            "--issuer",
            issuer,
            "--subject",
            "staff-dana",
            "--name",
            "Dana Newcomer",
            "--email",
            "dana@countersign.example",
            "--role",
            "support_agent",
            "--role",
            "auditor",
            "--region",
            "EU",
            "--org",
            "initech",
        ],
    ));
    assert_eq!(
        (&added["subject"], &added["roles"]),
        (&json!("staff-dana"), &json!(["auditor", "support_agent"]))
    );
    assert_eq!(added["scope"]["regions"], json!(["EU"]));
    assert_eq!(added["scope"]["org_ids"], json!([app.org_id("initech").await]));
    // Her first token works.
    let token = mint(json!({ "sub": "staff-dana" }), |_| {}).await;
    let me: Value = app.get_with(&token, "/v1/me").await.json().await.unwrap();
    assert_eq!(me["roles"], json!(["auditor", "support_agent"]));
    // Audited as the operator's (a service actor: the CLI has no token), in the change's transaction.
    let audited = events(&app, "staff.create").await;
    assert_eq!(audited.len(), 1);
    let (iss, sub, kind, outcome, _, target, details) = &audited[0];
    assert_eq!(
        (iss, sub.as_deref(), kind.as_deref(), outcome.as_str()),
        (
            &None,
            Some(countersign_server::cli::OPERATOR),
            Some("service"),
            "success"
        )
    );
    assert_eq!(target.as_deref(), added["id"].as_str());
    assert_eq!(
        (&details["via"], &details["os_user"]),
        (&json!("cli"), &json!("ops-oliver"))
    );
    let (intact, report) = crate::audit::verify(&app);
    assert!(intact, "{report}");

    // The same rules, the same words; nothing made.
    let count = staff_rows(&app).await;
    for (args, says) in [
        (
            vec!["--issuer", "https://id.elsewhere.example", "--subject", "staff-x"],
            "`issuer`",
        ),
        (vec!["--issuer", issuer, "--subject", "staff-alice"], "staff_exists"),
        (vec!["--issuer", issuer, "--subject", " staff-x"], "`subject`"),
        (
            vec!["--issuer", issuer, "--subject", "staff-x", "--role", "root"],
            "unknown role",
        ),
        (
            vec!["--issuer", issuer, "--subject", "staff-x", "--region", "MARS"],
            "unknown region",
        ),
        (
            vec![
                "--issuer",
                issuer,
                "--subject",
                "staff-x",
                "--all-orgs",
                "--region",
                "EU",
            ],
            "cannot be used with",
        ),
    ] {
        let mut full = vec!["staff", "add", "--name", "X", "--email", "x@countersign.example"];
        full.extend(args.iter().copied());
        let err = refused(&cli(&app, &full));
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(staff_rows(&app).await, count);
    assert_eq!(
        events(&app, "staff.create").await.len(),
        1,
        "a refusal at the CLI changes nothing"
    );
    assert_eq!(staff_rows(&app).await, before + 1);
}

#[tokio::test]
async fn staff_commands_name_the_issuer_when_a_subject_is_at_several() {
    let app = spawn_app().await;
    // Alice at a second issuer: another person, with another role.
    ok(&cli(
        &app,
        &[
            "staff",
            "add",
            "--issuer",
            CONTRACTORS,
            "--subject",
            "staff-alice",
            "--name",
            "Alice Contractor",
            "--email",
            "alice@contractors.example",
            "--role",
            "finance_clerk",
            "--all-orgs",
        ],
    ));
    for args in [
        vec!["staff", "show", "alice"],
        vec!["staff", "grant", "alice", "auditor"],
        vec!["staff", "revoke", "staff-alice", "support_agent"],
        vec!["staff", "limit", "alice", "refund", "100"],
    ] {
        let err = refused(&cli(&app, &args));
        assert!(err.contains("--issuer") && err.contains(CONTRACTORS), "{args:?}: {err}");
    }
    let roles = |iss: &str| {
        let q = sqlx::query_scalar::<_, Vec<String>>(
            "SELECT roles FROM staff WHERE issuer = $1 AND subject = 'staff-alice'",
        );
        let admin = app.admin.clone();
        let iss = iss.to_owned();
        async move { q.bind(iss).fetch_one(&admin).await.unwrap() }
    };
    assert_eq!(roles(&env().issuer).await, ["support_agent"], "nothing changed");
    // Named, each command changes that account only.
    let shown = ok(&cli(&app, &["staff", "show", "alice", "--issuer", CONTRACTORS]));
    assert_eq!(shown["display_name"], "Alice Contractor");
    ok(&cli(
        &app,
        &["staff", "grant", "alice", "auditor", "--issuer", &env().issuer],
    ));
    assert_eq!(roles(&env().issuer).await, ["auditor", "support_agent"]);
    assert_eq!(roles(CONTRACTORS).await, ["finance_clerk"]);
    ok(&cli(
        &app,
        &["staff", "revoke", "alice", "finance_clerk", "--issuer", CONTRACTORS],
    ));
    assert!(roles(CONTRACTORS).await.is_empty());
    let err = refused(&cli(
        &app,
        &["staff", "show", "alice", "--issuer", "https://nowhere.example"],
    ));
    assert!(err.contains("no staff member"), "{err}");
    // A subject at one issuer only needs no --issuer, as before.
    ok(&cli(&app, &["staff", "grant", "bob", "auditor"]));
    // Every change at the CLI is in the audit log, as the operator's.
    let updates = events(&app, "staff.update").await;
    assert_eq!(updates.len(), 3);
    assert!(updates
        .iter()
        .all(|e| e.1.as_deref() == Some(countersign_server::cli::OPERATOR)));
    let list = cli(&app, &["staff", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.lines()
            .any(|l| l.contains("staff-alice") && l.ends_with(CONTRACTORS)),
        "{text}"
    );
}

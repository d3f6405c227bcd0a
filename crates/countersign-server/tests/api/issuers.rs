//! Several trusted issuers (issue 23, point 3): a second, independent dev
//! identity provider of the test's own — its own RSA key, made here as
//! scripts/stack makes the first one's, and its own audience — beside the
//! stack's. Each issuer's tokens are checked with that issuer's keys and
//! audience only, and staff are (issuer, subject): the same `sub` at two
//! issuers is two people.

use crate::approvals::post_as;
use crate::helpers::*;
use countersign_server::config::IssuerConfig;
use serde_json::{json, Value};

/// The second provider's audience: not the stack's.
pub const AUDIENCE_B: &str = "countersign-api-contractors";

/// A dev identity provider of the test's own, with a key generated for it.
pub struct OtherIdp {
    pub idp: IdpProcess,
    pub key_pem: Vec<u8>,
    pub kid: String,
    _dir: tempfile::TempDir,
}

impl OtherIdp {
    pub async fn start() -> OtherIdp {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("idp-key.pem");
        new_rsa_key(&key);
        let idp = IdpProcess::spawn_with(0, key.to_str().unwrap(), AUDIENCE_B);
        let kid = kid_of(&idp.issuer).await;
        assert_ne!(kid, idp_kid().await, "two providers, two keys");
        OtherIdp {
            key_pem: std::fs::read(&key).unwrap(),
            kid,
            idp,
            _dir: dir,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.idp.issuer
    }

    /// A token of this provider (its issuer, audience and key), `claims` over it.
    pub fn mint(&self, claims: Value) -> String {
        let mut c = json!({ "iss": self.issuer(), "aud": AUDIENCE_B });
        c.as_object_mut().unwrap().extend(claims.as_object().unwrap().clone());
        mint_with(&self.key_pem, &self.kid, c, |_| {})
    }

    /// This provider as the server's second `[[issuers]]` entry.
    pub fn config(&self, jit_provisioning: bool) -> IssuerConfig {
        IssuerConfig {
            redirect_ports: vec![53690, 53691],
            jit_provisioning,
            ..contractors_at(self.issuer())
        }
    }
}

/// The second provider's entry, at `issuer`.
fn contractors_at(issuer: &str) -> IssuerConfig {
    IssuerConfig {
        provider_name: "Contractors".into(),
        ..IssuerConfig::new(issuer, AUDIENCE_B)
    }
}

/// A server trusting the stack's provider (first) and `b` (second).
pub async fn spawn_two(b: &OtherIdp, jit_b: bool) -> TestApp {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuers.push(b.config(jit_b));
    spawn_app_with(config).await
}

/// Bob at the second provider, onboarded by sid as an auditor.
async fn onboard_contractor_bob(app: &TestApp, b: &OtherIdp) -> Value {
    let r = post_as(
        app,
        "sid",
        "/v1/staff",
        &json!({
            "issuer": b.issuer(), "subject": "staff-bob", "display_name": "Bob (contractor)",
            "email": "bob@contractor.example", "roles": ["auditor"],
            "scope": { "all_orgs": true, "regions": [], "org_ids": [] },
        }),
        None,
    )
    .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    r.json().await.unwrap()
}

#[tokio::test]
async fn each_issuers_tokens_work_for_that_issuers_staff_and_a_subject_is_a_person_per_issuer() {
    let b = OtherIdp::start().await;
    let app = spawn_two(&b, false).await;
    let contractor = onboard_contractor_bob(&app, &b).await;

    // Real sign-ins, one at each provider, by the same username (sub `staff-bob` at both).
    let at_a = app.token("bob").await;
    let at_b = sign_in_at(b.issuer(), "bob", "bob-pw").await.unwrap().access_token;
    let me_a: Value = app.get_with(&at_a, "/v1/me").await.json().await.unwrap();
    let me_b: Value = app.get_with(&at_b, "/v1/me").await.json().await.unwrap();
    assert_eq!(
        (&me_a["issuer"], &me_a["subject"], &me_a["roles"]),
        (&json!(env().issuer), &json!("staff-bob"), &json!(["support_agent"]))
    );
    assert_eq!(
        (&me_b["issuer"], &me_b["subject"], &me_b["roles"], &me_b["display_name"]),
        (
            &json!(b.issuer()),
            &json!("staff-bob"),
            &json!(["auditor"]),
            &json!("Bob (contractor)")
        )
    );
    assert_eq!(me_b["scope"]["all_orgs"], true);
    // What each may do follows its own account: the auditor reads the log, the agent does not.
    assert_eq!(app.get_with(&at_b, "/v1/audit?limit=1").await.status(), 200);
    assert_problem(app.get_with(&at_a, "/v1/audit?limit=1").await, 403, "forbidden").await;
    // Two accounts, two people.
    let persons: Vec<(String, uuid::Uuid)> =
        sqlx::query_as("SELECT issuer, person_id FROM staff WHERE subject = 'staff-bob' ORDER BY issuer")
            .fetch_all(&app.admin)
            .await
            .unwrap();
    assert_eq!(persons.len(), 2);
    assert_ne!(persons[0].1, persons[1].1);
    assert_eq!(contractor["issuer"], b.issuer());

    // Alice has an account at the first provider only: at the second she is nobody.
    let alice_b = sign_in_at(b.issuer(), "alice", "alice-pw").await.unwrap().access_token;
    assert_problem(app.get_with(&alice_b, "/v1/me").await, 403, "forbidden").await;
    assert_eq!(app.get_as("alice", "/v1/me").await.status(), 200);
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM staff WHERE subject = 'staff-alice'")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(rows, 1, "no account was made for her at the second provider");
}

#[tokio::test]
async fn a_token_is_checked_with_its_own_issuers_keys_and_audience_only() {
    let b = OtherIdp::start().await;
    let app = spawn_two(&b, false).await;
    onboard_contractor_bob(&app, &b).await;
    let a_key = |claims: Value| mint(claims, |_| {});
    let kid_a = idp_kid().await;
    // Each provider's own tokens pass: the refusals below are about the one thing changed.
    assert_eq!(app.get_with(&a_key(json!({})).await, "/v1/me").await.status(), 200);
    let bob_b = json!({ "sub": "staff-bob" });
    assert_eq!(app.get_with(&b.mint(bob_b.clone()), "/v1/me").await.status(), 200);

    let refused = [
        // Issuer A's claims, signed with B's key: under B's kid (unknown to A) and under A's.
        (
            "A's iss, B's key and kid",
            mint_with(&b.key_pem, &b.kid, json!({}), |_| {}),
        ),
        (
            "A's iss, B's key, A's kid",
            mint_with(&b.key_pem, &kid_a, json!({}), |_| {}),
        ),
        // Issuer B's claims, signed with A's key.
        (
            "B's iss, A's key and kid",
            a_key(json!({ "iss": b.issuer(), "aud": AUDIENCE_B, "sub": "staff-bob" })).await,
        ),
        ("B's iss, A's key, B's kid", {
            let c = json!({ "iss": b.issuer(), "aud": AUDIENCE_B, "sub": "staff-bob" });
            mint_with(&env().key_pem, &b.kid, c, |_| {})
        }),
        // Each issuer's token for the other's audience, rightly signed.
        ("A's token for B's audience", a_key(json!({ "aud": AUDIENCE_B })).await),
        (
            "B's token for A's audience",
            b.mint(json!({ "sub": "staff-bob", "aud": env().audience })),
        ),
        // An issuer the server does not trust, whatever signed it.
        ("an unknown issuer", a_key(json!({ "iss": "http://127.0.0.1:9" })).await),
        (
            "B's issuer with a slash",
            b.mint(json!({ "sub": "staff-bob", "iss": format!("{}/", b.issuer()) })),
        ),
    ];
    for (what, token) in refused {
        let r = app.get_with(&token, "/v1/me").await;
        assert_eq!(r.status(), 401, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "token_invalid", "{what}: {body}");
    }
}

#[tokio::test]
async fn client_config_lists_one_provider_per_issuer() {
    let b = OtherIdp::start().await;
    let app = spawn_two(&b, true).await;
    let before = app.audit_count().await;
    let (_, doc) = app.get_public("/v1/client-config").await;
    assert_eq!(
        doc["providers"],
        json!([
            {
                "name": "Company sign-in", "issuer": env().issuer, "client_id": "countersign-desktop",
                "audience": env().audience, "scopes": ["openid", "profile", "email", "offline_access"],
                "redirect_ports": [],
            },
            {
                "name": "Contractors", "issuer": b.issuer(), "client_id": "countersign-desktop",
                "audience": AUDIENCE_B, "scopes": ["openid", "profile", "email", "offline_access"],
                "redirect_ports": [53690, 53691],
            },
        ])
    );
    assert_eq!(app.audit_count().await, before, "still public and unaudited");
}

/// `/readyz` with several issuers: 200 `ready` when every issuer's keys are
/// cached and every provider answers; 200 `degraded` when one provider is
/// gone or its keys were never fetched (the others' staff are served); 503
/// only when no issuer has usable keys (or the database is gone).
#[tokio::test]
async fn readiness_reports_each_issuer_and_fails_only_without_any_key() {
    let b = OtherIdp::start().await;
    let app = spawn_two(&b, false).await;
    onboard_contractor_bob(&app, &b).await;
    let (status, body) = app.get_public("/readyz").await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "{body}");
    assert_eq!(
        body["issuers"],
        json!([
            { "issuer": env().issuer, "issuer_keys": true, "identity_provider": "reachable" },
            { "issuer": b.issuer(), "issuer_keys": true, "identity_provider": "reachable" },
        ])
    );
    // The second provider goes away: its keys are cached, its staff still served.
    let b_issuer = b.issuer().to_owned();
    let bob_b = b.mint(json!({ "sub": "staff-bob" }));
    b.idp.kill();
    // The probe looks at most once per 5 s; a server started now looks afresh.
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuers.push(contractors_at(&b_issuer));
    let fresh = spawn_app_with(config).await;
    let (status, body) = fresh.get_public("/readyz").await;
    assert_eq!((status, &body["status"]), (200, &json!("degraded")), "{body}");
    assert_eq!(
        (&body["issuer_keys"], &body["identity_provider"]),
        (&json!(false), &json!("unreachable"))
    );
    assert_eq!(
        body["issuers"][1],
        json!({ "issuer": b_issuer, "issuer_keys": false, "identity_provider": "unreachable" })
    );
    assert_eq!(body["issuers"][0]["issuer_keys"], true);
    // The first issuer's staff are served; the second's cannot be checked (503, not accepted).
    assert_eq!(fresh.get_as("alice", "/v1/me").await.status(), 200);
    assert_problem(fresh.get_with(&bob_b, "/v1/me").await, 503, "service_unavailable").await;
    // On the first server, which had fetched B's keys, B's staff are still served.
    assert_eq!(app.get_with(&bob_b, "/v1/me").await.status(), 200);

    // No issuer with a usable key: 503.
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuer = "http://127.0.0.1:9".into();
    config.issuers.push(contractors_at(&b_issuer));
    let none = spawn_app_with(config).await;
    let (status, body) = none.get_public("/readyz").await;
    assert_eq!((status, &body["status"]), (503, &json!("unavailable")), "{body}");
}

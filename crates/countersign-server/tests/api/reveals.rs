//! `POST /v1/reveals` (issue 3, point 1) and the audit search/export around
//! it (point 3). A canary value is revealed and then looked for everywhere
//! it must not be.

use crate::helpers::*;
use serde_json::{json, Value};
use uuid::Uuid;

const CANARY: &str = "canary-7f3a9c.zz@acme.example";
const REASON: &str = "Ticket SUP-4711: customer cannot log in";

async fn plant_canary(app: &TestApp) -> Uuid {
    let acme = app.org_id("acme").await;
    sqlx::query_scalar(
        "UPDATE customer_users SET email = $1 WHERE id = (SELECT id FROM customer_users WHERE org_id = \
        $2 ORDER BY name LIMIT 1) RETURNING id",
    )
    .bind(CANARY)
    .bind(acme)
    .fetch_one(&app.admin)
    .await
    .unwrap()
}

async fn reveal(app: &TestApp, who: &str, body: Value) -> reqwest::Response {
    let token = app.token(who).await;
    app.http
        .post(format!("{}/v1/reveals", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn reveals_logged(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal' AND outcome = 'success'")
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_reveal_returns_the_value_once_and_audits_only_the_field_name() {
    let app = spawn_app().await;
    let user = plant_canary(&app).await;
    let r = reveal(
        &app,
        "alice",
        json!({ "record_type": "user", "record_id": user, "field": "email", "reason": REASON }),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["value"], CANARY);
    let (action, field, reason, target, outcome): (String, Value, Option<String>, Option<String>, String) =
        sqlx::query_as(
            "SELECT action, details->'field', reason, target_id, outcome FROM audit_events WHERE request_id = $1",
        )
        .bind(&rid)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(
        (action.as_str(), field, reason.as_deref(), target, outcome.as_str()),
        (
            "reveal",
            json!("email"),
            Some(REASON),
            Some(user.to_string()),
            "success"
        )
    );

    // The canary appears nowhere in the audit table, its export, or the record reads.
    let everything: String =
        sqlx::query_scalar("SELECT coalesce(string_agg(row_to_json(a)::text, ' '), '') FROM audit_events a")
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert!(!everything.contains(CANARY) && !everything.contains("canary-7f3a9c"));
    for format in ["ndjson", "csv"] {
        let export = app
            .get_as("ava", &format!("/v1/audit/export?format={format}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            export.contains("reveal") && !export.contains("canary-7f3a9c"),
            "{format}"
        );
    }
    let read = app
        .get_as("alice", &format!("/v1/users/{user}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!read.contains("canary-7f3a9c"));
}

#[tokio::test]
async fn a_revealed_value_never_reaches_the_server_logs() {
    // The real binary, logging at its most verbose, captured whole.
    let (_, db_url) = fresh_database().await;
    let server = ServerProcess::spawn(&db_url, "trace").await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    let user: Uuid = sqlx::query_scalar(
        "UPDATE customer_users SET email = $1 WHERE id = (SELECT id FROM \
        customer_users WHERE role = 'member' AND region = 'EU' LIMIT 1) RETURNING id",
    )
    .bind(CANARY)
    .fetch_one(&admin)
    .await
    .unwrap();
    let token = sign_in("alice", "alice-pw").await.unwrap().access_token;
    let r = http
        .post(format!("{base}/v1/reveals"))
        .bearer_auth(&token)
        .json(&json!({ "record_type": "user", "record_id": user, "field": "email", "reason": REASON }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["value"], CANARY);
    // A failing reveal too (bad reason), so error paths are covered.
    http.post(format!("{base}/v1/reveals"))
        .bearer_auth(&token)
        .json(&json!({ "record_type": "user", "record_id": user, "field": "email", "reason": "short" }))
        .send()
        .await
        .unwrap();
    let logs = server.stop();
    assert!(logs.len() > 100, "the server did log: {logs}");
    assert!(!logs.contains("canary-7f3a9c"), "revealed value in the logs");
    assert!(!logs.contains(&token), "access token in the logs");
}

#[tokio::test]
async fn reveals_need_the_field_class_permission_scope_and_a_reason() {
    let app = spawn_app().await;
    let user = plant_canary(&app).await;
    let initech_user: Uuid = sqlx::query_scalar("SELECT id FROM customer_users WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("initech").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let vendor: Uuid = sqlx::query_scalar("SELECT id FROM vendors WHERE org_id = $1 LIMIT 1")
        .bind(app.org_id("acme").await)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        // Contact fields need pii:reveal: carl (finance clerk) has neither.
        (
            "carl",
            json!({ "record_type": "user", "record_id": user, "field": "email", "reason": REASON }),
            403,
            "forbidden",
        ),
        // Bank fields need finance:reveal: alice (support) has pii:reveal only.
        (
            "alice",
            json!({ "record_type": "vendor", "record_id": vendor, "field": "iban", "reason": REASON }),
            403,
            "forbidden",
        ),
        // Out of scope looks like missing.
        (
            "alice",
            json!({ "record_type": "user", "record_id": initech_user, "field": "email", "reason": REASON }),
            404,
            "not_found",
        ),
        (
            "alice",
            json!({ "record_type": "user", "record_id": Uuid::new_v4(), "field": "email", "reason": REASON }),
            404,
            "not_found",
        ),
        // Reasons: ≥ 10 characters after trimming.
        (
            "alice",
            json!({ "record_type": "user", "record_id": user, "field": "email", "reason": "   because  " }),
            422,
            "reason_required",
        ),
        (
            "alice",
            json!({ "record_type": "user", "record_id": user, "field": "email", "reason": "" }),
            422,
            "reason_required",
        ),
        // A NUL is refused where every input enters (extract.rs), as invalid_request.
        (
            "alice",
            json!({ "record_type": "user", "record_id": user, "field": "email", "reason": "0123456789\u{0}" }),
            422,
            "invalid_request",
        ),
        // Not a revealable field, unknown body fields, customers.
        (
            "alice",
            json!({ "record_type": "user", "record_id": user, "field": "name", "reason": REASON }),
            422,
            "invalid_request",
        ),
        (
            "alice",
            json!({ "record_type": "user", "record_id": user, "field": "email", "reason": REASON, "value": "x" }),
            422,
            "invalid_request",
        ),
        (
            "acme-admin",
            json!({ "record_type": "user", "record_id": user, "field": "email", "reason": REASON }),
            403,
            "forbidden",
        ),
    ];
    for (who, body, status, code) in cases {
        let r = reveal(&app, who, body.clone()).await;
        let p = assert_problem(r, status, code).await;
        assert!(!p.to_string().contains("canary-7f3a9c"), "{body}");
    }
    assert_eq!(reveals_logged(&app).await, 0, "nothing was revealed");
    let denied: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'reveal' AND outcome = 'denied'")
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(denied, 10, "every refusal is audited");
    // The permitted combinations work.
    assert_eq!(
        reveal(
            &app,
            "ana",
            json!({ "record_type": "vendor", "record_id": vendor, "field": "iban", "reason": REASON })
        )
        .await
        .status(),
        200
    );
    assert_eq!(
        reveal(
            &app,
            "ana",
            json!({ "record_type": "vendor", "record_id": vendor, "field": "tax_id", "reason": REASON })
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn reveals_are_rate_limited_per_staff_member() {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.policy.reveals_per_minute = 3;
    let app = spawn_app_with(config).await;
    let user = plant_canary(&app).await;
    let body = json!({ "record_type": "user", "record_id": user, "field": "phone", "reason": REASON });
    for _ in 0..3 {
        assert_eq!(reveal(&app, "alice", body.clone()).await.status(), 200);
    }
    let p = assert_problem(reveal(&app, "alice", body.clone()).await, 429, "rate_limited").await;
    assert!(!p.to_string().contains('+'), "no value in the error");
    // Another staff member has their own budget.
    assert_eq!(reveal(&app, "sam", body).await.status(), 200);
    assert_eq!(reveals_logged(&app).await, 4);
}

#[tokio::test]
async fn reasons_with_line_breaks_quotes_and_json_are_stored_verbatim_and_exported_escaped() {
    let app = spawn_app().await;
    let user = plant_canary(&app).await;
    let nasty = "Line one\r\nline two, \"quoted\"; {\"injected\": true}\n\tend";
    let r = reveal(
        &app,
        "sam",
        json!({ "record_type": "user", "record_id": user, "field": "phone", "reason": nasty }),
    )
    .await;
    assert_eq!(r.status(), 200);
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let stored: String = sqlx::query_scalar("SELECT reason FROM audit_events WHERE request_id = $1")
        .bind(&rid)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(stored, nasty.trim());

    let ndjson = app
        .get_as("ava", &format!("/v1/audit/export?format=ndjson&request_id={rid}"))
        .await;
    assert_eq!(ndjson.headers()["content-type"], "application/x-ndjson");
    let text = ndjson.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one event, one line: {text:?}");
    let event: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(event["reason"], nasty.trim());

    let csv = app
        .get_as("ava", &format!("/v1/audit/export?format=csv&request_id={rid}"))
        .await
        .text()
        .await
        .unwrap();
    let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].len(), headers.len(), "no field was split");
    let reason_col = headers.iter().position(|h| h == "reason").unwrap();
    assert_eq!(&rows[0][reason_col], nasty.trim());
}

#[tokio::test]
async fn audit_search_filters_and_is_itself_audited() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let ok = app.get_as("alice", &format!("/v1/orgs/{acme}")).await;
    let rid = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    let later = app
        .get_as("alice", &format!("/v1/orgs/{}", app.org_id("initech").await))
        .await;
    let later_rid = later.headers()["x-request-id"].to_str().unwrap().to_owned();

    let page: Value = app
        .get_as("ava", &format!("/v1/audit?request_id={rid}"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let e = &items[0];
    assert_eq!(e["actor"]["subject"], "staff-alice");
    assert_eq!(e["org_id"], acme.to_string());
    assert_eq!(e["hash"].as_str().unwrap().len(), 64);
    let page: Value = app
        .get_as("ava", &format!("/v1/audit?request_id={later_rid}"))
        .await
        .json()
        .await
        .unwrap();
    let split = page["items"][0]["at"].as_str().unwrap().to_owned();
    let at = |e: &Value| {
        time::OffsetDateTime::parse(
            e["at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let split_at = at(&page["items"][0]);

    // Each filter narrows: every event it returns matches it, and some event
    // of the unfiltered log does not, so a filter the server ignored fails.
    let log: Value = app.get_as("ava", "/v1/audit?limit=200").await.json().await.unwrap();
    let log = log["items"].as_array().unwrap().clone();
    let acme_s = acme.to_string();
    type Matches<'a> = Box<dyn Fn(&Value) -> bool + 'a>;
    let cases: Vec<(String, Matches)> = vec![
        (format!("org_id={acme}"), Box::new(|e: &Value| e["org_id"] == acme_s)),
        (
            "actor_subject=staff-alice".to_owned(),
            Box::new(|e: &Value| e["actor"]["subject"] == "staff-alice"),
        ),
        (
            "outcome=denied".to_owned(),
            Box::new(|e: &Value| e["outcome"] == "denied"),
        ),
        (
            "action=GET%20/v1/orgs/%7Borg_id%7D".to_owned(),
            Box::new(|e: &Value| e["action"] == "GET /v1/orgs/{org_id}"),
        ),
        (
            "target_type=org".to_owned(),
            Box::new(|e: &Value| e["target_type"] == "org"),
        ),
        // Together, filters narrow further: all of them apply.
        (
            "actor_subject=staff-alice&outcome=denied".to_owned(),
            Box::new(|e: &Value| e["actor"]["subject"] == "staff-alice" && e["outcome"] == "denied"),
        ),
        (
            format!("target_id={acme}"),
            Box::new(|e: &Value| e["target_id"] == acme_s),
        ),
        // from is inclusive, to exclusive.
        (format!("from={split}"), Box::new(|e: &Value| at(e) >= split_at)),
        (format!("to={split}"), Box::new(|e: &Value| at(e) < split_at)),
    ];
    for (q, matches) in &cases {
        let page: Value = app
            .get_as("ava", &format!("/v1/audit?{q}&limit=200"))
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.iter().all(matches), "{q}: {page}");
        assert!(
            log.iter().any(|e| !matches(e)),
            "{q}: the log has nothing for this filter to leave out"
        );
    }
    let none: Value = app
        .get_as("ava", "/v1/audit?from=2100-01-01T00:00:00Z")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["items"], json!([]));
    // Paging newest first.
    let p1: Value = app.get_as("ava", "/v1/audit?limit=2").await.json().await.unwrap();
    let c = p1["next_cursor"].as_str().unwrap();
    let p2: Value = app
        .get_as("ava", &format!("/v1/audit?limit=2&cursor={c}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(p1["items"][1]["seq"].as_i64().unwrap() > p2["items"][0]["seq"].as_i64().unwrap());
    // The searches were audited, filters included.
    let searches: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'audit.search' AND \
        actor_subject = 'staff-ava' AND details ? 'filters'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert!(searches >= 8);
    // Permissions: search needs audit:read, export audit:export.
    assert_problem(app.get_as("carl", "/v1/audit").await, 403, "forbidden").await;
    assert_problem(app.get_as("sam", "/v1/audit/export?format=csv").await, 403, "forbidden").await;
    assert_problem(
        app.get_as("ava", "/v1/audit/export?format=xml").await,
        422,
        "invalid_request",
    )
    .await;
    assert_problem(app.get_as("ava", "/v1/audit/export").await, 422, "invalid_request").await;
    assert_problem(app.get_as("ava", "/v1/audit?bogus=1").await, 422, "invalid_request").await;
    let exports: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events WHERE action = 'audit.export'")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(exports, 3, "denied exports are audited too");
}

#[tokio::test]
async fn audit_reads_are_scoped_like_everything_else() {
    let app = spawn_app().await;
    let initech = app.org_id("initech").await;
    app.get_as("bob", &format!("/v1/orgs/{initech}")).await;
    // A supervisor limited to EU sees no initech events.
    let sam = app.staff_id("sam").await;
    sqlx::query("UPDATE staff SET scope_all = false, scope_regions = '{EU}' WHERE id = $1")
        .bind(sam)
        .execute(&app.admin)
        .await
        .unwrap();
    let page: Value = app
        .get_as("sam", &format!("/v1/audit?org_id={initech}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"], json!([]));
    let page: Value = app
        .get_as("ava", &format!("/v1/audit?org_id={initech}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(!page["items"].as_array().unwrap().is_empty());
}

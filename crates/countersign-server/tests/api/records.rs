//! Read endpoints and server-side masking (issue 2, point 10).

use crate::helpers::*;
use serde_json::Value;
use sqlx::Connection;
use uuid::Uuid;

fn assert_masked(v: &Value, field: &str, revealable: bool) -> String {
    let keys: Vec<&String> = v
        .as_object()
        .unwrap_or_else(|| panic!("{field} is not an object: {v}"))
        .keys()
        .collect();
    assert_eq!(keys, ["field", "masked", "revealable"], "{field}");
    assert_eq!(v["field"], field);
    assert_eq!(v["revealable"], revealable, "{field} revealable");
    v["masked"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn customer_users_are_masked_and_never_leak_the_value() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let (id, email, phone, street): (Uuid, String, String, String) =
        sqlx::query_as("SELECT id, email, phone, street FROM customer_users WHERE org_id = $1 ORDER BY name LIMIT 1")
            .bind(acme)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    let r = app.get_as("alice", &format!("/v1/users/{id}")).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    for secret in [&email, &phone, &street] {
        assert!(!text.contains(secret.as_str()), "value leaked: {secret}");
    }
    let u: Value = serde_json::from_str(&text).unwrap();
    let m = assert_masked(&u["email"], "email", true);
    assert_eq!(m, format!("{}***@{}", &email[..1], email.split('@').nth(1).unwrap()));
    let m = assert_masked(&u["phone"], "phone", true);
    assert!(
        m.starts_with("•••• ••") && m.ends_with(&phone[phone.len() - 2..]),
        "{m}"
    );
    let m = assert_masked(&u["address"], "address", true);
    assert_eq!(m, u["city"].as_str().unwrap(), "street omitted, city kept");
    assert!(u["role"] == "member" || u["role"] == "org_admin");
}

#[tokio::test]
async fn vendor_bank_accounts_are_masked_and_revealable_only_with_finance_reveal() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let (vendor, iban, tax_id): (Uuid, String, String) = sqlx::query_as(
        "SELECT v.id, b.iban, v.tax_id FROM vendors v JOIN vendor_bank_accounts b ON b.vendor_id = v.id WHERE v.org_id \
            = $1 LIMIT 1",
    )
    .bind(acme)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    for (who, revealable) in [("ana", true), ("carl", false)] {
        let text = app
            .get_as(who, &format!("/v1/vendors/{vendor}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(
            !text.contains(&iban) && !text.contains(&tax_id),
            "value leaked to {who}"
        );
        let v: Value = serde_json::from_str(&text).unwrap();
        let m = assert_masked(&v["bank_account"]["iban"], "iban", revealable);
        // DE89 •••• •••• •••• ••30 00: country + check digits, then the last 4.
        assert!(m.starts_with(&iban[..4]), "{m}");
        assert_eq!(
            m.replace(' ', "").chars().rev().take(4).collect::<String>(),
            iban.chars().rev().take(4).collect::<String>()
        );
        assert_eq!(m.chars().filter(|c| *c == '•').count(), iban.len() - 8);
        assert!(v["bank_account"]["bank_name"].is_string() && v["bank_account"]["account_holder"].is_string());
        let m = assert_masked(&v["tax_id"], "tax_id", revealable);
        assert!(m.ends_with(&tax_id[tax_id.len() - 4..]) && !m.contains(&tax_id[..tax_id.len() - 4]));
    }
}

#[tokio::test]
async fn lists_page_with_opaque_cursors_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices WHERE org_id = $1")
        .bind(acme)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page: Value = app
            .get_as("carl", &format!("/v1/orgs/{acme}/invoices?limit=7{q}"))
            .await
            .json()
            .await
            .unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 7);
        seen.extend(items.iter().map(|i| {
            (
                i["issued_at"].as_str().unwrap().to_owned(),
                i["id"].as_str().unwrap().to_owned(),
            )
        }));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(sorted.len(), seen.len(), "no repeats");
}

#[tokio::test]
async fn invoices_filter_by_status_and_carry_money_in_minor_units() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let page: Value = app
        .get_as("carl", &format!("/v1/orgs/{acme}/invoices?status=paid&limit=200"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for i in items {
        assert_eq!(i["status"], "paid");
        assert!(i["amount"]["amount_minor"].is_i64());
        assert_eq!(i["amount"]["currency"], "EUR");
    }
    let r = app
        .get_as("carl", &format!("/v1/orgs/{acme}/invoices?status=lost"))
        .await;
    assert_problem(r, 422, "invalid_request").await;
}

#[tokio::test]
async fn orgs_search_by_name_and_region() {
    let app = spawn_app().await;
    let page: Value = app.get_as("sam", "/v1/orgs?q=glob").await.json().await.unwrap();
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["globex"]);
    let page: Value = app.get_as("sam", "/v1/orgs?region=US").await.json().await.unwrap();
    let slugs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["initech", "umbrella"]);
    // LIKE wildcards are literal.
    let page: Value = app.get_as("sam", "/v1/orgs?q=%25").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    let org = &app
        .get_as("sam", "/v1/orgs?q=acme")
        .await
        .json::<Value>()
        .await
        .unwrap()["items"][0];
    for k in ["id", "slug", "name", "region", "support_access"] {
        assert!(!org[k].is_null(), "org.{k}");
    }
}

#[tokio::test]
async fn payments_list_refunds_credit_notes_and_payouts() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let page: Value = app
        .get_as("carl", &format!("/v1/orgs/{acme}/payments?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty());
    for p in items {
        assert!(["refund", "credit_note", "payout"].contains(&p["kind"].as_str().unwrap()));
        assert_eq!(p["org_id"], acme.to_string());
    }
}

#[tokio::test]
async fn a_missing_permission_is_403_even_in_scope() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    // alice (support) has no vendor access; carl (finance clerk) has no user access.
    assert_problem(
        app.get_as("alice", &format!("/v1/orgs/{acme}/vendors")).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        app.get_as("carl", &format!("/v1/orgs/{acme}/users")).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(app.get_as("sid", "/v1/orgs").await, 403, "forbidden").await;
}

#[tokio::test]
async fn every_request_writes_exactly_one_audit_event() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    let before = app.audit_count().await;
    let ok = app.get_as("alice", &format!("/v1/orgs/{acme}")).await;
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    let denied = app
        .get_as("alice", &format!("/v1/orgs/{}", app.org_id("initech").await))
        .await;
    let denied_id = denied.headers()["x-request-id"].to_str().unwrap().to_owned();
    let anon = app.http.get(format!("{}/v1/me", app.base)).send().await.unwrap();
    let anon_id = anon.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(app.audit_count().await, before + 3);
    type AuditRow = (
        Option<String>,
        Option<String>,
        Option<Uuid>,
        String,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let row: AuditRow = sqlx::query_as(
        "SELECT actor_subject, actor_kind, org_id, action, target_type, target_id, outcome, code FROM audit_events \
            WHERE request_id = $1",
    )
    .bind(&ok_id)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(row.0.as_deref(), Some("staff-alice"));
    assert_eq!(row.1.as_deref(), Some("staff"));
    assert_eq!(row.2, Some(acme));
    assert_eq!(row.3, "GET /v1/orgs/{org_id}");
    assert_eq!(row.4.as_deref(), Some("org"));
    assert_eq!(row.6, "success");
    let (outcome, code, subject): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT outcome, code, actor_subject FROM audit_events WHERE request_id = $1")
            .bind(&denied_id)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(
        (outcome.as_str(), code.as_deref(), subject.as_deref()),
        ("denied", Some("not_found"), Some("staff-alice"))
    );
    let (outcome, code, subject): (String, Option<String>, Option<String>) =
        sqlx::query_as("SELECT outcome, code, actor_subject FROM audit_events WHERE request_id = $1")
            .bind(&anon_id)
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert_eq!(
        (outcome.as_str(), code.as_deref(), subject),
        ("denied", Some("unauthenticated"), None)
    );
}

/// Every node of an EXPLAIN (FORMAT JSON) plan, depth first.
fn plan_nodes(node: &Value, out: &mut Vec<Value>) {
    out.push(node.clone());
    for child in node["Plans"].as_array().into_iter().flatten() {
        plan_nodes(child, out);
    }
}

/// A page of a large org costs a page, not the org: the server's statement,
/// planned generically (as a prepared statement is after a few runs) under a
/// scoped caller's policy, reads invoices_org in order from the cursor and
/// stops after the page, and the policy's scope is read once per statement
/// (InitPlans), not per row. The cursor was once `$3 IS NULL OR (issued_at,
/// id) < ($3, $4)`, which kept it out of the index: a page 10,000 rows deep
/// read and dropped the 10,000 before it.
#[tokio::test]
async fn a_page_of_a_large_org_reads_the_index_from_the_cursor_without_sorting() {
    let app = spawn_app().await;
    let acme = app.org_id("acme").await;
    sqlx::query(
        "INSERT INTO invoices (id, org_id, region, number, amount_minor, currency, status, issued_at, due_at) \
         SELECT gen_random_uuid(), o.id, o.region, 'BULK-' || g, 1000 + g, 'EUR', 'open', now() - make_interval(mins \
             => g), now() \
         FROM orgs o, generate_series(1, 20000) g WHERE o.id = $1",
    )
    .bind(acme)
    .execute(&app.admin)
    .await
    .unwrap();
    // Statistics as for a platform of a thousand orgs, one of them this large:
    // a generic plan expects an average org.
    sqlx::raw_sql("ALTER TABLE invoices ALTER org_id SET (n_distinct = 1000); ANALYZE invoices")
        .execute(&app.admin)
        .await
        .unwrap();

    // Through the API: a deep page starts exactly after its cursor.
    let p1: Value = app
        .get_as("carl", &format!("/v1/orgs/{acme}/invoices?limit=200"))
        .await
        .json()
        .await
        .unwrap();
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2: Value = app
        .get_as("carl", &format!("/v1/orgs/{acme}/invoices?limit=200&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let expected: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM invoices WHERE org_id = $1 ORDER BY issued_at DESC, id DESC OFFSET 200 LIMIT 2",
    )
    .bind(acme)
    .fetch_all(&app.admin)
    .await
    .unwrap();
    let got: Vec<Uuid> = p2["items"].as_array().unwrap()[..2]
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(got, expected);

    let (region,): (String,) = sqlx::query_as("SELECT region FROM orgs WHERE id = $1")
        .bind(acme)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let (at, id): (time::OffsetDateTime, Uuid) = sqlx::query_as(
        "SELECT issued_at, id FROM invoices WHERE org_id = $1 ORDER BY issued_at DESC, id DESC OFFSET 10000 LIMIT 1",
    )
    .bind(acme)
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let mut c = sqlx::PgConnection::connect(&app.db_url.replace("postgres@", "countersign_app@"))
        .await
        .unwrap();
    for (after_cursor, args) in [(false, "NULL, NULL".to_owned()), (true, format!("'{at}', '{id}'"))] {
        let mut tx = c.begin().await.unwrap();
        sqlx::raw_sql(&format!(
            "SELECT set_config('countersign.scope_all', 'off', true), set_config('countersign.scope_orgs', '{{}}', \
                true), \
             set_config('countersign.scope_regions', '{{{region}}}', true); SET LOCAL plan_cache_mode = \
                 force_generic_plan; \
             PREPARE page AS {}",
            countersign_server::records::http::invoice_page_sql(after_cursor)
        ))
        .execute(&mut *tx)
        .await
        .unwrap();
        let row = sqlx::raw_sql(&format!(
            "EXPLAIN (FORMAT JSON, ANALYZE) EXECUTE page('{acme}', NULL, {args}, 51)"
        ))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        let plan: Value = sqlx::Row::get(&row, 0);
        let mut nodes = Vec::new();
        plan_nodes(&plan[0]["Plan"], &mut nodes);
        assert!(
            nodes.iter().all(|n| n["Node Type"] != "Sort"),
            "cursor {after_cursor}: {plan}"
        );
        let scan = nodes
            .iter()
            .find(|n| n["Index Name"] == "invoices_org")
            .unwrap_or_else(|| panic!("cursor {after_cursor}: {plan}"));
        assert_eq!(scan["Actual Rows"], 51, "read in order and stopped: {plan}");
        if after_cursor {
            assert!(
                scan["Index Cond"].as_str().unwrap().contains("issued_at"),
                "the cursor is an index condition: {plan}"
            );
        }
        let filter = scan["Filter"].as_str().unwrap_or_default();
        assert!(
            !filter.is_empty() && !filter.contains("current_setting"),
            "the policy's settings are InitPlans: {filter}"
        );
        sqlx::raw_sql("DEALLOCATE page").execute(&mut *tx).await.unwrap();
        tx.rollback().await.unwrap();
    }
}

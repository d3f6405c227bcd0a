//! Issue 19, point 7: amounts compare in one currency (API.md, Approvals).
//! A request records the base currency, the rate and `amount_base` when it
//! is made; the policy's thresholds and every approver's limit compare
//! `amount_base`; a currency without a configured rate is refused; an
//! amendment converts at the recorded rate. Edges in GBP and USD.

use crate::approvals::{decide, post_as};
use crate::helpers::*;
use serde_json::{json, Value};
use uuid::Uuid;

async fn vendor_in(app: &TestApp, slug: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM vendors WHERE org_id = $1 ORDER BY name LIMIT 1")
        .bind(app.org_id(slug).await)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

fn payout(org: Uuid, vendor: Uuid, minor: i64, currency: &str) -> Value {
    json!({ "kind": "payout_release", "org_id": org, "target_id": vendor, "amount": { "amount_minor": minor,
        "currency": currency }, "reason": "Monthly logistics invoice" })
}

async fn decisions(app: &TestApp, id: &Value) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM approval_decisions WHERE request_id = $1::uuid")
        .bind(id.as_str().unwrap())
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_approvers_limit_compares_the_amount_in_the_base_currency() {
    let app = spawn_app().await;
    let (acme, vendor) = (app.org_id("acme").await, vendor_in(&app, "acme").await);
    // andy's limit is 10,000.00 EUR; GBP is 1.17 EUR.
    let over: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(acme, vendor, 999_999, "GBP"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(over["amount"], json!({ "amount_minor": 999_999, "currency": "GBP" }));
    assert_eq!(
        over["amount_base"],
        json!({ "amount_minor": 1_169_999, "currency": "EUR" }),
        "shown beside the amount"
    );
    assert_eq!(over["exchange_rate"], "1.17");
    assert_eq!(
        over["required"][0]["approvals"], 2,
        "11,699.99 EUR is in the 2-approver tier"
    );
    let p = assert_problem(
        decide(&app, "andy", &over["id"], "approve", 1).await,
        403,
        "approval_limit_exceeded",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("11,699.99 EUR"), "{p}");
    assert_eq!(decisions(&app, &over["id"]).await, 0, "nothing recorded");
    // One minor unit under the limit once converted: andy's approval counts.
    let under: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(acme, vendor, 854_700, "GBP"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(under["amount_base"]["amount_minor"], 999_999);
    assert_eq!(decide(&app, "andy", &under["id"], "approve", 1).await.status(), 200);
    assert_eq!(decisions(&app, &under["id"]).await, 1);
    // In the base currency itself, the edge is the limit exactly.
    let eur: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(acme, vendor, 1_000_001, "EUR"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(eur["exchange_rate"], "1");
    assert_problem(
        decide(&app, "andy", &eur["id"], "approve", 1).await,
        403,
        "approval_limit_exceeded",
    )
    .await;
}

#[tokio::test]
async fn the_policys_thresholds_compare_the_amount_in_the_base_currency() {
    let app = spawn_app().await;
    let initech = app.org_id("initech").await;
    let vendor = vendor_in(&app, "initech").await;
    // USD is 0.92 EUR: 1,086.95 USD = 999.99 EUR (one approver), 1,086.96 USD = 1,000.00 EUR (two).
    let below: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(initech, vendor, 108_695, "USD"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            below["amount_base"]["amount_minor"].as_i64(),
            below["required"][0]["approvals"].as_i64()
        ),
        (Some(99_999), Some(1))
    );
    let at: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(initech, vendor, 108_696, "USD"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (
            at["amount_base"]["amount_minor"].as_i64(),
            at["required"][0]["approvals"].as_i64()
        ),
        (Some(100_000), Some(2))
    );
    // 25,000.00 EUR needs a finance controller: 27,173.92 USD is 25,000.0064 EUR → 25,000.01.
    let big: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(initech, vendor, 2_717_392, "USD"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(big["required"][0]["one_of_role"], "finance_controller");
}

#[tokio::test]
async fn a_currency_without_a_configured_rate_is_refused_at_creation() {
    let app = spawn_app().await;
    let (acme, vendor) = (app.org_id("acme").await, vendor_in(&app, "acme").await);
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_requests")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let p = assert_problem(
        post_as(&app, "carl", "/v1/approvals", &payout(acme, vendor, 5_000, "CHF"), None).await,
        422,
        "invalid_request",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("CHF"), "{p}");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_requests")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn an_amendment_converts_at_the_rate_recorded_when_the_request_was_made() {
    let app = spawn_app().await;
    let (acme, vendor) = (app.org_id("acme").await, vendor_in(&app, "acme").await);
    let r: Value = post_as(
        &app,
        "carl",
        "/v1/approvals",
        &payout(acme, vendor, 100_000, "GBP"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    // The configured rate changes (a second server on the same database).
    let mut config = test_config(&app.db_url);
    config.approval_policy.exchange_rates.insert("GBP".into(), "2".into());
    let later = spawn_app_with(config).await;
    let token = later.token("carl").await;
    let amended = later
        .http
        .patch(format!("{}/v1/approvals/{}", later.base, r["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .json(&json!({ "amount": { "amount_minor": 200_000, "currency": "GBP" }, "version": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(amended.status(), 200);
    let amended: Value = amended.json().await.unwrap();
    assert_eq!(amended["exchange_rate"], "1.17", "the recorded rate");
    assert_eq!(amended["amount_base"]["amount_minor"], 234_000);
    // A new request on that server uses the new rate.
    let fresh: Value = post_as(
        &later,
        "carl",
        "/v1/approvals",
        &payout(acme, vendor, 100_000, "GBP"),
        None,
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(fresh["amount_base"]["amount_minor"], 200_000);
    // The currency of a request does not change on amendment.
    let usd = later
        .http
        .patch(format!("{}/v1/approvals/{}", later.base, r["id"].as_str().unwrap()))
        .bearer_auth(&token)
        .json(&json!({ "amount": { "amount_minor": 200_000, "currency": "USD" }, "version": 2 }))
        .send()
        .await
        .unwrap();
    assert_problem(usd, 422, "invalid_request").await;
}

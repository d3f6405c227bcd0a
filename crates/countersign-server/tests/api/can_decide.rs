//! Issue 20, point 2: every approval in a response says whether its reader
//! may decide it and, if not, why — computed by the same rules function that
//! refuses a decision. Each refusal case is run both ways: the reader's
//! `cannot_decide.code` before, then the decision itself, refused with the
//! same code, and nothing recorded.

use crate::approvals::{decide, post_as, refund};
use crate::helpers::*;
use serde_json::{json, Value};
use uuid::Uuid;

/// The approval as `who` reads it.
async fn read(app: &TestApp, who: &str, a: &Value) -> Value {
    let r = app
        .get_as(who, &format!("/v1/approvals/{}", a["id"].as_str().unwrap()))
        .await;
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn decisions(app: &TestApp, a: &Value) -> i64 {
    let id: Uuid = a["id"].as_str().unwrap().parse().unwrap();
    sqlx::query_scalar("SELECT count(*) FROM approval_decisions WHERE request_id = $1")
        .bind(id)
        .fetch_one(&app.admin)
        .await
        .unwrap()
}

/// `who` is told beforehand that they cannot decide, with `code`; deciding
/// is then refused with that code, and nothing is recorded.
async fn both_ways(app: &TestApp, who: &str, a: &Value, code: &str) {
    let seen = read(app, who, a).await;
    assert_eq!(seen["can_decide"], false, "{who}: {seen}");
    assert_eq!(seen["cannot_decide"]["code"], code, "{who}: {seen}");
    assert!(!seen["cannot_decide"]["message"].as_str().unwrap().is_empty());
    let before = decisions(app, a).await;
    let version = seen["version"].as_i64().unwrap();
    let problem = assert_problem(decide(app, who, &a["id"], "approve", version).await, status(code), code).await;
    assert_eq!(
        problem["detail"], seen["cannot_decide"]["message"],
        "the same words both ways"
    );
    assert_eq!(decisions(app, a).await, before, "a refused decision records nothing");
}

fn status(code: &str) -> u16 {
    countersign_api::ErrorCode::parse(code).unwrap().status()
}

#[tokio::test]
async fn why_not_me_and_the_refusal_of_a_decision_agree_on_every_refusal() {
    let app = spawn_app().await;
    // 30,000.00 EUR: two approvers, one of them a finance controller.
    let big = refund(&app, "carl", 3_000_000).await;

    // Own request (carl requested it).
    both_ways(&app, "carl", &big, "self_approval_forbidden").await;
    // Over the limit: andy may approve up to 10,000.00.
    both_ways(&app, "andy", &big, "approval_limit_exceeded").await;
    // Lacks the permission: an auditor reads requests but decides none.
    both_ways(&app, "ava", &big, "forbidden").await;

    // Someone who may: told so, and the decision goes through.
    let seen = read(&app, "ana", &big).await;
    assert_eq!(seen["can_decide"], true, "{seen}");
    assert!(seen.get("cannot_decide").is_none(), "{seen}");
    assert_eq!(decide(&app, "ana", &big["id"], "approve", 1).await.status(), 200);
    // Already decided this version.
    both_ways(&app, "ana", &big, "already_decided").await;
    // The controller may still, and is told so.
    assert_eq!(read(&app, "cora", &big).await["can_decide"], true);

    // Not pending: rejected by the controller.
    assert_eq!(decide(&app, "cora", &big["id"], "reject", 1).await.status(), 200);
    both_ways(&app, "ana", &big, "not_pending").await;

    // Expired.
    let old = refund(&app, "carl", 10_000).await;
    sqlx::query("UPDATE approval_requests SET expires_at = now() - interval '1 second' WHERE id = $1::uuid")
        .bind(old["id"].as_str().unwrap())
        .execute(&app.admin)
        .await
        .unwrap();
    both_ways(&app, "ana", &old, "request_expired").await;

    // Payout hold: a payout requested before a bank change for its vendor.
    let acme = app.org_id("acme").await;
    let vendor: Uuid = sqlx::query_scalar("SELECT id FROM vendors WHERE org_id = $1 LIMIT 1")
        .bind(acme)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let payout = json!({ "kind": "payout_release", "org_id": acme, "target_id": vendor,
        "amount": { "amount_minor": 10_000, "currency": "EUR" }, "reason": "Monthly logistics invoice" });
    let payout: Value = post_as(&app, "carl", "/v1/approvals", &payout, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read(&app, "ana", &payout).await["can_decide"], true);
    let change = json!({ "kind": "vendor_bank_change", "org_id": acme, "target_id": vendor,
        "reason": "Vendor letter of 2026-11-02, verified by phone",
        "payload": { "iban": "DE89 3704 0044 0532 0130 00", "bank_name": "Commerzbank",
                     "account_holder": "Nordic Logistics GmbH" } });
    assert_eq!(
        post_as(&app, "carl", "/v1/approvals", &change, None).await.status(),
        201
    );
    both_ways(&app, "ana", &payout, "payout_hold").await;
}

/// `a` as the list shows it to `who`.
async fn listed(app: &TestApp, who: &str, a: &Value) -> Value {
    let page: Value = app.get_as(who, "/v1/approvals?limit=200").await.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == a["id"])
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn lists_carry_each_readers_answer() {
    let app = spawn_app().await;
    let a = refund(&app, "carl", 10_000).await;
    assert_eq!(listed(&app, "ana", &a).await["can_decide"], true);
    let carls = listed(&app, "carl", &a).await;
    assert_eq!(carls["can_decide"], false);
    assert_eq!(carls["cannot_decide"]["code"], "self_approval_forbidden");
    // The answer to a create is the creator's: their own request.
    assert_eq!(a["cannot_decide"]["code"], "self_approval_forbidden");
}

#[tokio::test]
async fn the_contract_documents_can_decide() {
    let app = spawn_app().await;
    let doc: Value = app
        .http
        .get(format!("{}/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["Approval"]["properties"]["can_decide"].is_object(),
        "{}",
        schemas["Approval"]
    );
    assert!(
        schemas["CannotDecide"]["properties"]["code"].is_object(),
        "{}",
        schemas["CannotDecide"]
    );
}

//! `GET /v1/sync` (issue 3, point 2).

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// Pages until `has_more` is false; returns the changes and the last cursor.
async fn sync_all(app: &TestApp, token: &str, cursor: Option<String>) -> (Vec<Value>, String) {
    let mut cursor = cursor;
    let mut all = Vec::new();
    loop {
        let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let r = app.get_with(token, &format!("/v1/sync?limit=97{q}")).await;
        assert_eq!(r.status(), 200);
        let page: Value = r.json().await.unwrap();
        all.extend(page["changes"].as_array().unwrap().iter().cloned());
        cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
        if !page["has_more"].as_bool().unwrap() {
            return (all, cursor.unwrap());
        }
    }
}

#[tokio::test]
async fn an_initial_sync_delivers_exactly_what_the_caller_may_read_masked() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let first: Value = app.get_with(&token, "/v1/sync?limit=5").await.json().await.unwrap();
    let (changes, _) = sync_all(&app, &token, None).await;
    assert_eq!(
        first["estimated_total"].as_u64(),
        Some(changes.len() as u64),
        "the first page estimates the total"
    );
    let next: Value = app
        .get_with(
            &token,
            &format!("/v1/sync?limit=5&cursor={}", first["next_cursor"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(next.get("estimated_total").is_none());
    let mut by_type: HashMap<String, usize> = HashMap::new();
    for c in &changes {
        *by_type
            .entry(c["record_type"].as_str().unwrap().to_owned())
            .or_default() += 1;
        assert_eq!(c["deleted"], false);
    }
    let eu = |t: &'static str| {
        let admin = app.admin.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {t} WHERE region = 'EU'"))
                .fetch_one(&admin)
                .await
                .unwrap() as usize
        }
    };
    assert_eq!(by_type.get("org"), Some(&eu("orgs").await));
    assert_eq!(by_type.get("user"), Some(&eu("customer_users").await));
    assert_eq!(by_type.get("invoice"), Some(&eu("invoices").await));
    // alice (support) may not read vendors or payments: none arrive.
    assert_eq!(by_type.get("vendor"), None);
    assert_eq!(by_type.get("payment"), None);
    // Versions strictly increase; no record twice.
    let versions: Vec<i64> = changes.iter().map(|c| c["version"].as_i64().unwrap()).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]));
    // Masked, the same shape as the read endpoints.
    let user = changes.iter().find(|c| c["record_type"] == "user").unwrap();
    assert_eq!(user["data"]["email"]["field"], "email");
    assert!(user["data"]["email"]["masked"].as_str().unwrap().contains("***@"));
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM customer_users")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    let text = serde_json::to_string(&changes).unwrap();
    assert!(emails.iter().all(|e| !text.contains(e.as_str())));
    // bob sees none of it.
    let (bobs, _) = sync_all(&app, &app.token("bob").await, None).await;
    let eu_ids: Vec<&Value> = changes.iter().map(|c| &c["record_id"]).collect();
    assert!(bobs.iter().all(|c| !eu_ids.contains(&&c["record_id"])));
}

#[tokio::test]
async fn a_delta_sync_returns_only_what_changed() {
    let app = spawn_app().await;
    let token = app.token("carl").await;
    let (_, cursor) = sync_all(&app, &token, None).await;
    let (none, cursor) = sync_all(&app, &token, Some(cursor)).await;
    assert!(none.is_empty());
    let invoice: uuid::Uuid = sqlx::query_scalar(
        "UPDATE invoices SET status = 'void' WHERE id = (SELECT id FROM invoices LIMIT 1) RETURNING id",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let vendor: uuid::Uuid = sqlx::query_scalar(
        "UPDATE vendor_bank_accounts SET bank_name = 'New Bank' WHERE id = \
        (SELECT id FROM vendor_bank_accounts LIMIT 1) RETURNING vendor_id",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let (delta, _) = sync_all(&app, &token, Some(cursor)).await;
    assert_eq!(delta.len(), 2, "{delta:?}");
    assert_eq!(delta[0]["record_id"], invoice.to_string());
    assert_eq!(delta[0]["data"]["status"], "void");
    assert_eq!(delta[1]["record_id"], vendor.to_string());
    assert_eq!(delta[1]["data"]["bank_account"]["bank_name"], "New Bank");
}

#[tokio::test]
async fn records_that_leave_the_callers_scope_arrive_as_deleted() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let (_, cursor) = sync_all(&app, &token, None).await;
    let globex = app.org_id("globex").await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_users WHERE org_id = $1")
        .bind(globex)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let invoices: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices WHERE org_id = $1")
        .bind(globex)
        .fetch_one(&app.admin)
        .await
        .unwrap();
    // globex moves to the US: out of alice's EU scope.
    sqlx::query("UPDATE orgs SET region = 'US' WHERE id = $1")
        .bind(globex)
        .execute(&app.admin)
        .await
        .unwrap();
    let (delta, cursor) = sync_all(&app, &token, Some(cursor)).await;
    assert_eq!(delta.len() as i64, 1 + users + invoices, "org, its users and invoices");
    assert!(delta
        .iter()
        .all(|c| c["deleted"] == true && c["org_id"] == globex.to_string() && c["data"].is_null()));
    // bob (US) now receives them as ordinary changes.
    let (bobs, _) = sync_all(&app, &app.token("bob").await, None).await;
    assert!(bobs
        .iter()
        .any(|c| c["record_id"] == globex.to_string() && c["deleted"] == false));
    // A deleted record arrives as deleted too.
    let payment: uuid::Uuid = sqlx::query_scalar(
        "DELETE FROM customer_users WHERE id = (SELECT id FROM customer_users \
        WHERE region = 'EU' AND idp_subject IS NULL LIMIT 1) RETURNING id",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let (delta, _) = sync_all(&app, &token, Some(cursor)).await;
    assert_eq!(
        delta,
        vec![
            json!({ "record_type": "user", "record_id": payment, "org_id": delta[0]["org_id"],
                "version": delta[0]["version"], "deleted": true, "data": null })
        ]
    );
}

#[tokio::test]
async fn a_cursor_from_an_older_permission_epoch_or_unknown_is_stale() {
    let app = spawn_app().await;
    let token = app.token("alice").await;
    let (_, cursor) = sync_all(&app, &token, None).await;
    let alice = app.staff_id("alice").await;
    let r = app
        .put_as(
            "sid",
            &format!("/v1/staff/{alice}"),
            &json!({ "roles": ["support_agent"], "scope": { "all_orgs": false, "regions": ["US"], "org_ids": [] } }),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_problem(
        app.get_with(&token, &format!("/v1/sync?cursor={cursor}")).await,
        409,
        "stale_version",
    )
    .await;
    for bad in ["garbage", "eyJlIjoxLCJzdWIiOiJzdGFmZi1hbGljZSIsInMiOi0xfQ", ""] {
        let r = app.get_with(&token, &format!("/v1/sync?cursor={bad}")).await;
        assert_problem(r, 409, "stale_version").await;
    }
    // Someone else's cursor is not yours.
    let (_, bobs) = sync_all(&app, &app.token("bob").await, None).await;
    assert_problem(
        app.get_with(&token, &format!("/v1/sync?cursor={bobs}")).await,
        409,
        "stale_version",
    )
    .await;
    // From empty, under the new scope: US records only.
    let (fresh, _) = sync_all(&app, &token, None).await;
    let initech = app.org_id("initech").await.to_string();
    assert!(fresh.iter().any(|c| c["org_id"] == initech));
    let acme = app.org_id("acme").await.to_string();
    assert!(fresh.iter().all(|c| c["org_id"] != acme));
    assert_problem(app.get_with(&token, "/v1/sync?limit=0").await, 422, "invalid_request").await;
}

#[tokio::test]
async fn an_all_org_caller_gets_the_estimate_from_statistics_and_a_scoped_caller_an_exact_count() {
    let app = spawn_app().await;
    // Statistics as autovacuum keeps them (small tables: ANALYZE reads every row).
    sqlx::query("ANALYZE").execute(&app.admin).await.unwrap();
    let carl = app.token("carl").await;
    let first: Value = app.get_with(&carl, "/v1/sync?limit=5").await.json().await.unwrap();
    let (changes, _) = sync_all(&app, &carl, None).await;
    assert_eq!(first["estimated_total"].as_u64(), Some(changes.len() as u64));

    // Statistics that say otherwise move carl's estimate (no count was made)…
    sqlx::query("UPDATE pg_class SET reltuples = reltuples + 1000 WHERE oid = 'invoices'::regclass")
        .execute(&app.admin)
        .await
        .unwrap();
    let again: Value = app.get_with(&carl, "/v1/sync?limit=5").await.json().await.unwrap();
    assert_eq!(again["estimated_total"].as_u64(), Some(changes.len() as u64 + 1000));
    // A table never analyzed (reltuples = -1) is counted instead.
    sqlx::query("UPDATE pg_class SET reltuples = -1 WHERE oid = 'invoices'::regclass")
        .execute(&app.admin)
        .await
        .unwrap();
    let counted: Value = app.get_with(&carl, "/v1/sync?limit=5").await.json().await.unwrap();
    assert_eq!(counted["estimated_total"].as_u64(), Some(changes.len() as u64));
    // …but never a scoped caller's: alice's is her exact count, so statistics
    // cannot tell her how much other tenants hold.
    let alice = app.token("alice").await;
    let hers: Value = app.get_with(&alice, "/v1/sync?limit=5").await.json().await.unwrap();
    let (her_changes, _) = sync_all(&app, &alice, None).await;
    assert_eq!(hers["estimated_total"].as_u64(), Some(her_changes.len() as u64));
}

#[tokio::test]
async fn every_page_size_delivers_the_same_feed_in_the_same_order() {
    let app = spawn_app().await;
    let token = app.token("carl").await;
    // Tombstones between the rows: a deleted payment and a moved org.
    sqlx::query("DELETE FROM payments WHERE id = (SELECT id FROM payments ORDER BY change_seq LIMIT 1)")
        .execute(&app.admin)
        .await
        .unwrap();
    sqlx::query("UPDATE orgs SET name = name || ' (renamed)' WHERE slug = 'acme'")
        .execute(&app.admin)
        .await
        .unwrap();
    let mut feeds = Vec::new();
    for limit in [1, 7, 200] {
        let mut all: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let q = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
            let page: Value = app
                .get_with(&token, &format!("/v1/sync?limit={limit}{q}"))
                .await
                .json()
                .await
                .unwrap();
            let changes = page["changes"].as_array().unwrap();
            assert!(changes.len() <= limit, "a page holds at most its limit");
            all.extend(changes.iter().cloned());
            cursor = Some(page["next_cursor"].as_str().unwrap().to_owned());
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
            assert_eq!(changes.len(), limit, "only the last page is short");
        }
        let versions: Vec<i64> = all.iter().map(|c| c["version"].as_i64().unwrap()).collect();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "strictly ascending, no repeats"
        );
        feeds.push(all);
    }
    assert!(
        feeds[0].iter().any(|c| c["deleted"] == true),
        "the feed has a tombstone"
    );
    assert_eq!(feeds[0], feeds[1]);
    assert_eq!(feeds[0], feeds[2]);
}

/// Issue 20, point 6: change_seq is taken at write time, so a transaction
/// can commit after a later-numbered one. A client that syncs in between
/// must still receive it on its next sync: the page ends below the oldest
/// change still in flight.
#[tokio::test]
async fn a_change_committed_after_a_later_numbered_one_is_not_skipped() {
    let app = spawn_app().await;
    let token = app.token("carl").await;
    let (_, cursor) = sync_all(&app, &token, None).await;
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM invoices ORDER BY id LIMIT 2")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    // The first writer takes its change_seq and holds its transaction open.
    let mut early = app.admin.begin().await.unwrap();
    let early_seq: i64 = sqlx::query_scalar("UPDATE invoices SET status = 'void' WHERE id = $1 RETURNING change_seq")
        .bind(ids[0])
        .fetch_one(&mut *early)
        .await
        .unwrap();
    // A second writer takes a later one and commits first.
    let late_seq: i64 = sqlx::query_scalar("UPDATE invoices SET status = 'void' WHERE id = $1 RETURNING change_seq")
        .bind(ids[1])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(early_seq < late_seq, "{early_seq} < {late_seq}");
    // The client syncs in between: the committed change may not be delivered
    // past the one still in flight (it would move the cursor beyond it).
    let (between, cursor) = sync_all(&app, &token, Some(cursor)).await;
    assert!(
        between.iter().all(|c| c["version"].as_i64().unwrap() < early_seq),
        "delivered past an in-flight change: {between:?}"
    );
    early.commit().await.unwrap();
    // The next sync delivers both, in change order.
    let (after, cursor) = sync_all(&app, &token, Some(cursor)).await;
    let delivered: Vec<(String, i64)> = after
        .iter()
        .map(|c| {
            (
                c["record_id"].as_str().unwrap().to_owned(),
                c["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        delivered,
        vec![(ids[0].to_string(), early_seq), (ids[1].to_string(), late_seq)]
    );
    // A transaction that rolled back holds nothing up afterwards.
    let mut aborted = app.admin.begin().await.unwrap();
    sqlx::query("UPDATE invoices SET status = 'paid' WHERE id = $1")
        .bind(ids[0])
        .execute(&mut *aborted)
        .await
        .unwrap();
    aborted.rollback().await.unwrap();
    let next: i64 = sqlx::query_scalar("UPDATE invoices SET status = 'paid' WHERE id = $1 RETURNING change_seq")
        .bind(ids[1])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let (delta, _) = sync_all(&app, &token, Some(cursor)).await;
    let versions: Vec<i64> = delta.iter().map(|c| c["version"].as_i64().unwrap()).collect();
    assert_eq!(versions, vec![next]);
}

//! Tenancy (issue 2, point 9): row-level security forced on every tenant
//! table, a server role that owns and bypasses nothing, scope set only
//! transaction-locally, and 404 for everything out of scope.

use crate::helpers::*;
use sqlx::{Connection, PgConnection, Row};
use uuid::Uuid;

const TENANT_TABLES: &[&str] = &[
    "orgs",
    "customer_users",
    "invoices",
    "vendors",
    "vendor_bank_accounts",
    "payments",
    "sync_tombstones",
    "approval_requests",
    "approval_decisions",
    "data_exports",
    "impersonation_sessions",
    "support_access_grants",
];

#[tokio::test]
async fn every_tenant_table_forces_rls_with_fail_closed_policies() {
    let app = spawn_app().await;
    // Every table of the public schema with an org_id column is a tenant
    // table, except the audit log: the platform's own record, which the
    // server's role may only append to (asserted below).
    let tables: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind = 'r' \
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND NOT \
               a.attisdropped) \
           AND c.relname <> 'audit_events' \
         ORDER BY 1",
    )
    .fetch_all(&app.admin)
    .await
    .unwrap();
    let mut names: Vec<&str> = tables.iter().map(|t| t.0.as_str()).collect();
    names.sort();
    let mut expected = TENANT_TABLES.to_vec();
    expected.sort();
    assert_eq!(names, expected, "the tenant tables");
    let (enabled, forced): (bool, bool) =
        sqlx::query_as("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'audit_events'")
            .fetch_one(&app.admin)
            .await
            .unwrap();
    assert!(enabled && forced, "the audit log's reads are scoped too");
    // One scope expression for reads and writes of every tenant table (the
    // deparsed text is the same wherever the columns are org_id and region).
    let mut scope: Option<String> = None;
    for (t, enabled, forced) in &tables {
        assert!(*enabled && *forced, "{t}: RLS enabled {enabled}, forced {forced}");
        let policies: Vec<(String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT cmd::text, qual, with_check FROM pg_policies WHERE tablename = $1")
                .bind(t)
                .fetch_all(&app.admin)
                .await
                .unwrap();
        assert!(!policies.is_empty(), "{t} has policies");
        for (cmd, using, check) in policies {
            assert_eq!(cmd, "ALL", "{t}");
            let using = using.unwrap_or_else(|| panic!("{t} USING"));
            assert_eq!(check.as_ref(), Some(&using), "{t}: WITH CHECK is USING");
            assert!(
                ["cs_scope_all()", "cs_scope_orgs()", "cs_scope_regions()"]
                    .iter()
                    .all(|f| using.contains(f)),
                "{t}: {using}"
            );
            assert_eq!(scope.get_or_insert_with(|| using.clone()), &using, "{t}");
        }
    }
}

#[tokio::test]
async fn the_server_role_is_unprivileged_and_owns_nothing() {
    let app = spawn_app().await;
    let row = sqlx::query(
        "SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'countersign_app'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    for col in ["rolsuper", "rolbypassrls", "rolcreatedb", "rolcreaterole"] {
        assert!(!row.get::<bool, _>(col), "{col}");
    }
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = 'countersign_app'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(owned, 0);
    // Append-only audit for the server's role.
    for (privilege, allowed) in [
        ("INSERT", true),
        ("SELECT", true),
        ("UPDATE", false),
        ("DELETE", false),
        ("TRUNCATE", false),
    ] {
        let has: bool = sqlx::query_scalar("SELECT has_table_privilege('countersign_app', 'audit_events', $1)")
            .bind(privilege)
            .fetch_one(&app.admin)
            .await
            .unwrap();
        assert_eq!(has, allowed, "audit_events {privilege}");
    }
}

/// Connects as the server's role, like the server does.
async fn app_conn(app: &TestApp) -> PgConnection {
    let url = countersign_server::config::Config {
        ..test_config(&app.db_url)
    }
    .app_database_url();
    PgConnection::connect(&url).await.unwrap()
}

async fn set_scope(c: &mut PgConnection, all: bool, orgs: &str, regions: &str) {
    sqlx::query(
        "SELECT set_config('countersign.scope_all', $1, true), set_config('countersign.scope_orgs', $2, true), \
        set_config('countersign.scope_regions', $3, true)",
    )
    .bind(if all { "on" } else { "off" })
    .bind(orgs)
    .bind(regions)
    .execute(c)
    .await
    .unwrap();
}

#[tokio::test]
async fn a_query_without_org_filter_returns_only_in_scope_rows_and_nothing_unscoped() {
    let app = spawn_app().await;
    let mut c = app_conn(&app).await;
    // No scope set at all: fail closed.
    for t in TENANT_TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {t}"))
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 0, "{t} without scope");
    }
    // EU scope, like alice: a query with no WHERE returns EU orgs' rows only.
    let mut tx = c.begin().await.unwrap();
    set_scope(&mut tx, false, "{}", "{EU}").await;
    let slugs: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT o.slug FROM invoices i JOIN orgs o ON o.id = i.org_id ORDER BY 1")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(slugs, ["acme", "globex"]);
    let regions: Vec<String> = sqlx::query_scalar("SELECT DISTINCT region FROM customer_users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(regions, ["EU"]);
    tx.commit().await.unwrap();
    // The scope ended with the transaction: the same pooled connection sees nothing.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 0, "scope must not outlive its transaction");
    // Scope by explicit org id.
    let initech = app.org_id("initech").await;
    let mut tx = c.begin().await.unwrap();
    set_scope(&mut tx, false, &format!("{{{initech}}}"), "{}").await;
    let orgs: Vec<Uuid> = sqlx::query_scalar("SELECT DISTINCT org_id FROM payments")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(orgs, [initech]);
}

#[tokio::test]
async fn an_insert_pointing_at_another_org_fails_and_writes_nothing() {
    let app = spawn_app().await;
    let initech = app.org_id("initech").await;
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let mut c = app_conn(&app).await;
    let mut tx = c.begin().await.unwrap();
    set_scope(&mut tx, false, "{}", "{EU}").await;
    let err = sqlx::query(
        "INSERT INTO invoices (id, org_id, region, number, amount_minor, currency, status, issued_at, due_at) \
         VALUES (gen_random_uuid(), $1, 'US', 'X-1', 100, 'USD', 'open', now(), now())",
    )
    .bind(initech)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(err.to_string().contains("row-level security"), "{err}");
    drop(tx);
    // Claiming an in-scope region for an out-of-scope org is caught by the tenancy key.
    let mut tx = c.begin().await.unwrap();
    set_scope(&mut tx, false, "{}", "{EU}").await;
    let err = sqlx::query(
        "INSERT INTO invoices (id, org_id, region, number, amount_minor, currency, status, issued_at, due_at) \
         VALUES (gen_random_uuid(), $1, 'EU', 'X-2', 100, 'USD', 'open', now(), now())",
    )
    .bind(initech)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert!(
        err.as_database_error().and_then(|e| e.code()).as_deref() == Some("23503"),
        "{err}"
    );
    drop(tx);
    // Moving an in-scope row to another org is refused too.
    let mut tx = c.begin().await.unwrap();
    set_scope(&mut tx, false, "{}", "{EU}").await;
    let moved =
        sqlx::query("UPDATE invoices SET org_id = $1, region = 'US' WHERE number = (SELECT min(number) FROM invoices)")
            .bind(initech)
            .execute(&mut *tx)
            .await;
    assert!(moved.is_err());
    drop(tx);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM invoices")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(before, after);
}

/// Every read route, as `who`, for records of `foreign_slug`: 404, while the
/// in-scope control is 200 (so the 404 is about scope).
async fn every_read_route_is_404_out_of_scope(who: &str, own_slug: &str, foreign_slug: &str) {
    let app = spawn_app().await;
    // alice/bob lack vendor and payment permissions; widen their roles for
    // this test so scope, not permission, is what is being checked.
    let id = app.staff_id(who).await;
    sqlx::query("UPDATE staff SET roles = '{support_agent,auditor}' WHERE id = $1")
        .bind(id)
        .execute(&app.admin)
        .await
        .unwrap();
    for (slug, expect) in [(own_slug, 200), (foreign_slug, 404)] {
        let org = app.org_id(slug).await;
        let first = |sql: &'static str| {
            let admin = app.admin.clone();
            async move {
                sqlx::query_scalar::<_, Uuid>(sql)
                    .bind(org)
                    .fetch_one(&admin)
                    .await
                    .unwrap()
            }
        };
        let user = first("SELECT id FROM customer_users WHERE org_id = $1 LIMIT 1").await;
        let invoice = first("SELECT id FROM invoices WHERE org_id = $1 LIMIT 1").await;
        let vendor = first("SELECT id FROM vendors WHERE org_id = $1 LIMIT 1").await;
        for path in [
            format!("/v1/orgs/{org}"),
            format!("/v1/orgs/{org}/users"),
            format!("/v1/users/{user}"),
            format!("/v1/orgs/{org}/invoices"),
            format!("/v1/invoices/{invoice}"),
            format!("/v1/orgs/{org}/vendors"),
            format!("/v1/vendors/{vendor}"),
            format!("/v1/orgs/{org}/payments"),
        ] {
            let r = app.get_as(who, &path).await;
            if expect == 404 {
                assert_problem(r, 404, "not_found").await;
            } else {
                assert_eq!(r.status(), 200, "{who} {path}");
            }
        }
        let list: serde_json::Value = app.get_as(who, "/v1/orgs?limit=200").await.json().await.unwrap();
        let listed = list["items"].as_array().unwrap().iter().any(|o| o["slug"] == slug);
        assert_eq!(listed, expect == 200, "{who} lists {slug}");
    }
}

#[tokio::test]
async fn eu_agent_alice_never_sees_initech() {
    every_read_route_is_404_out_of_scope("alice", "acme", "initech").await;
}

#[tokio::test]
async fn us_agent_bob_never_sees_acme() {
    every_read_route_is_404_out_of_scope("bob", "initech", "acme").await;
}

#[tokio::test]
async fn a_random_id_looks_exactly_like_an_out_of_scope_one() {
    let app = spawn_app().await;
    let a = app.get_as("alice", &format!("/v1/orgs/{}", Uuid::new_v4())).await;
    let a = assert_problem(a, 404, "not_found").await;
    let b = app
        .get_as("alice", &format!("/v1/orgs/{}", app.org_id("initech").await))
        .await;
    let b = assert_problem(b, 404, "not_found").await;
    assert_eq!(a["detail"], b["detail"]);
    assert_eq!(a["title"], b["title"]);
}

#[tokio::test]
async fn a_customer_admin_sees_only_their_own_org() {
    let app = spawn_app().await;
    let orgs: serde_json::Value = app.get_as("acme-admin", "/v1/orgs").await.json().await.unwrap();
    let slugs: Vec<&str> = orgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);
    let globex = app.org_id("globex").await;
    assert_problem(
        app.get_as("acme-admin", &format!("/v1/orgs/{globex}/users")).await,
        404,
        "not_found",
    )
    .await;
    let me: serde_json::Value = app.get_as("acme-admin", "/v1/me").await.json().await.unwrap();
    assert_eq!(me["kind"], "customer");
}

/// Reads end without a COMMIT (`db::end_read`: the ROLLBACK goes out with
/// the pool's release ping). Whatever connection the pool hands out after
/// many all-org reads carries neither their scope nor an open transaction.
#[tokio::test]
async fn a_pooled_connection_keeps_no_scope_or_transaction_from_a_read() {
    let app = spawn_app().await;
    let carl = app.token("carl").await;
    for path in ["/v1/orgs", "/v1/sync?limit=5", "/v1/notifications", "/v1/orgs?limit=1"]
        .iter()
        .cycle()
        .take(24)
    {
        assert_eq!(app.get_with(&carl, path).await.status(), 200, "{path}");
    }
    let mut held = Vec::new();
    for _ in 0..app.state.db.size() {
        let mut c = app.state.db.acquire().await.unwrap();
        // One simple-query message: a transaction begun by it starts with
        // its statement, so now() (the transaction's start) equals
        // statement_timestamp() unless an earlier transaction is still open.
        let row = sqlx::raw_sql(
            "SELECT current_setting('countersign.scope_all', true) AS scope_all, \
            current_setting('countersign.scope_orgs', true) AS orgs, now() = statement_timestamp() AS fresh",
        )
        .fetch_one(&mut *c)
        .await
        .unwrap();
        let (scope_all, orgs, fresh): (Option<String>, Option<String>, bool) =
            (row.get("scope_all"), row.get("orgs"), row.get("fresh"));
        assert_ne!(scope_all.as_deref(), Some("on"), "a read's scope outlived its request");
        assert!(orgs.unwrap_or_default().is_empty());
        assert!(fresh, "the connection was still inside an earlier transaction");
        held.push(c);
    }
}

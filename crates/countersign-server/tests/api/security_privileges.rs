//! Issue 19, point 14: least privilege in the database. The server's role
//! holds exactly the grants in db_privileges.txt (an allowlist reviewed like
//! code): a new grant fails this test until someone writes it down, and a
//! removed one (DELETE on bank accounts) stays removed.

use crate::helpers::*;

const ALLOWLIST: &str = include_str!("db_privileges.txt");

/// Every privilege `countersign_app` holds in this database, one line each.
async fn privileges(app: &TestApp) -> Vec<String> {
    let sql = "
      SELECT 'role: ' || concat_ws(' ', CASE WHEN rolsuper THEN 'SUPERUSER' END, CASE WHEN rolbypassrls THEN \
          'BYPASSRLS' END,
             CASE WHEN rolcreatedb THEN 'CREATEDB' END, CASE WHEN rolcreaterole THEN 'CREATEROLE' END, CASE WHEN \
                 rolcanlogin THEN 'LOGIN' END)
        FROM pg_roles WHERE rolname = 'countersign_app'
      UNION ALL
      SELECT 'schema ' || n.nspname || ': ' || string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
        FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
       WHERE a.grantee = 'countersign_app'::regrole GROUP BY n.nspname
      UNION ALL
      SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' ELSE 'table ' END || c.relname || ': ' || \
          string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type)
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
       WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 'countersign_app'::regrole GROUP BY c.relkind, \
           c.relname
      UNION ALL
      SELECT 'column ' || c.relname || '.' || t.attname || ': ' || string_agg(a.privilege_type, ', ' ORDER BY \
          a.privilege_type)
        FROM pg_attribute t JOIN pg_class c ON c.oid = t.attrelid CROSS JOIN LATERAL aclexplode(t.attacl) a
       WHERE c.relnamespace = 'public'::regnamespace AND a.grantee = 'countersign_app'::regrole GROUP BY c.relname, \
           t.attname
      UNION ALL
      SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || '): EXECUTE'
        FROM pg_proc p CROSS JOIN LATERAL aclexplode(p.proacl) a
       WHERE p.pronamespace = 'public'::regnamespace AND a.grantee = 'countersign_app'::regrole AND a.privilege_type = \
           'EXECUTE'
      ORDER BY 1";
    sqlx::query_scalar(sql).fetch_all(&app.admin).await.unwrap()
}

#[tokio::test]
async fn the_servers_role_holds_exactly_the_allowlisted_privileges() {
    let app = spawn_app().await;
    let actual = privileges(&app).await;
    let expected: Vec<String> = ALLOWLIST
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    if std::env::var_os("UPDATE_DB_PRIVILEGES").is_some() {
        let header: String = ALLOWLIST
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/db_privileges.txt"),
            format!("{header}{}\n", actual.join("\n")),
        )
        .unwrap();
        return;
    }
    let extra: Vec<&String> = actual.iter().filter(|l| !expected.contains(l)).collect();
    let missing: Vec<&String> = expected.iter().filter(|l| !actual.contains(l)).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "privileges differ from tests/api/db_privileges.txt\n  not \
        allowlisted: {extra:#?}\n  allowlisted but absent: {missing:#?}"
    );
    // The point of it: nothing the server never does is possible.
    for forbidden in ["DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"] {
        assert!(!actual.iter().any(|l| l.contains(forbidden)), "{forbidden} granted");
    }
}

#[tokio::test]
async fn the_servers_role_cannot_delete_a_bank_account() {
    let app = spawn_app().await;
    let url = countersign_server::config::Config {
        ..test_config(&app.db_url)
    }
    .app_database_url();
    let server_role = sqlx::PgPool::connect(&url).await.unwrap();
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM vendor_bank_accounts")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let mut tx = server_role.begin().await.unwrap();
    sqlx::query("SELECT set_config('countersign.scope_all', 'on', true)")
        .execute(&mut *tx)
        .await
        .unwrap();
    let e = sqlx::query("DELETE FROM vendor_bank_accounts")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("permission denied"), "{e}");
    drop(tx);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM vendor_bank_accounts")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert_eq!(before, after);
}

#[tokio::test]
async fn ordinary_requests_stay_served_while_ten_exports_run() {
    let app = spawn_app().await;
    // Enough events that an export a client does not read stays open,
    // holding its transaction (far beyond what socket buffers take).
    sqlx::query(
        "INSERT INTO audit_events (seq, id, at, action, outcome, request_id, details, prev_hash, hash) \
         SELECT 10000000 + n, gen_random_uuid(), now(), 'GET /v1/orgs', 'success', 'bulk-' || n, \
             jsonb_build_object('pad', repeat('x', 400)), '\\x00', '\\x00' \
         FROM generate_series(1, 40000) n",
    )
    .execute(&app.admin)
    .await
    .unwrap();
    let token = app.token("ava").await;
    let exports = (0..10).map(|_| {
        app.http
            .get(format!("{}/v1/audit/export?format=ndjson", app.base))
            .bearer_auth(&token)
            .send()
    });
    // Kept, unread: the exports that started stay running.
    let exports: Vec<reqwest::Response> = futures::future::join_all(exports)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let running = exports.iter().filter(|r| r.status() == 200).count();
    let refused = exports.iter().filter(|r| r.status() == 429).count();
    assert!(
        running >= 1 && running + refused == 10,
        "{running} running, {refused} refused"
    );
    assert!(refused >= 1, "not every export may hold a connection");
    // Everyone else is still served, promptly.
    let started = std::time::Instant::now();
    let reads = ["alice", "sam", "carl", "ava"].map(|who| app.get_as(who, "/v1/orgs"));
    for r in futures::future::join_all(reads).await {
        assert_eq!(r.status(), 200);
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "ordinary requests waited {:?}",
        started.elapsed()
    );
    let p = exports.into_iter().find(|r| r.status() == 429).unwrap();
    assert_problem(p, 429, "rate_limited").await;
}

//! The demo seed (issue 2, point 12).

use crate::helpers::*;

#[tokio::test]
async fn the_demo_seed_has_the_orgs_accounts_and_realistic_records_of_api_md() {
    let app = spawn_app().await;
    let orgs: Vec<(String, String)> = sqlx::query_as("SELECT slug, region FROM orgs ORDER BY slug")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    let expected = [("acme", "EU"), ("globex", "EU"), ("initech", "US"), ("umbrella", "US")];
    assert_eq!(
        orgs.iter().map(|(s, r)| (s.as_str(), r.as_str())).collect::<Vec<_>>(),
        expected
    );
    for (slug, _) in expected {
        let org = app.org_id(slug).await;
        let admins: i64 =
            sqlx::query_scalar("SELECT count(*) FROM customer_users WHERE org_id = $1 AND role = 'org_admin'")
                .bind(org)
                .fetch_one(&app.admin)
                .await
                .unwrap();
        assert_eq!(admins, 1, "{slug} has one org admin");
        let months: i64 =
            sqlx::query_scalar("SELECT count(DISTINCT date_trunc('month', issued_at)) FROM invoices WHERE org_id = $1")
                .bind(org)
                .fetch_one(&app.admin)
                .await
                .unwrap();
        assert!(months >= 12, "{slug}: invoices over 12 months ({months})");
        let vendors: i64 = sqlx::query_scalar("SELECT count(*) FROM vendors WHERE org_id = $1")
            .bind(org)
            .fetch_one(&app.admin)
            .await
            .unwrap();
        assert!(vendors >= 3);
        let payments: i64 = sqlx::query_scalar("SELECT count(*) FROM payments WHERE org_id = $1")
            .bind(org)
            .fetch_one(&app.admin)
            .await
            .unwrap();
        assert!(payments >= 5);
    }
    let staff: Vec<String> = sqlx::query_scalar("SELECT subject FROM staff ORDER BY subject")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    assert_eq!(staff.len(), 9);
    for u in ["alice", "bob", "sam", "carl", "ana", "andy", "cora", "ava", "sid"] {
        assert!(staff.contains(&format!("staff-{u}")));
        // Every staff account signs in at the real provider and is recognised.
        assert_eq!(app.get_as(u, "/v1/me").await.status(), 200, "{u}");
    }
    let customers: Vec<(String, String)> =
        sqlx::query_as("SELECT idp_subject, role FROM customer_users WHERE idp_subject IS NOT NULL ORDER BY 1")
            .fetch_all(&app.admin)
            .await
            .unwrap();
    assert!(customers.contains(&("cust-acme-admin".into(), "org_admin".into())));
    assert!(customers.contains(&("cust-globex-admin".into(), "org_admin".into())));
    let andy: serde_json::Value = app.get_as("andy", "/v1/me").await.json().await.unwrap();
    assert_eq!(andy["approval_limits"]["refund"]["amount_minor"], 1_000_000);
}

#[tokio::test]
async fn every_seeded_iban_has_valid_check_digits() {
    let app = spawn_app().await;
    let ibans: Vec<String> = sqlx::query_scalar("SELECT iban FROM vendor_bank_accounts")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    assert!(ibans.len() >= 20);
    for i in ibans {
        assert!(i.parse::<iban::Iban>().is_ok(), "{i} is not a valid IBAN");
    }
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM customer_users")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    assert!(emails.iter().all(|e| e.contains('@') && e.ends_with(".example")));
}

#[tokio::test]
async fn a_thousand_generated_orgs_make_about_100k_records_in_under_a_minute() {
    let (_, url) = fresh_database().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let started = std::time::Instant::now();
    let report = countersign_server::seed::demo(&pool, &env().issuer, 1000)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.orgs, 1000);
    let count = |t: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {t}"))
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let total = count("orgs").await
        + count("customer_users").await
        + count("invoices").await
        + count("vendors").await
        + count("vendor_bank_accounts").await
        + count("payments").await;
    assert!((95_000..=110_000).contains(&total), "{total} records");
    // The bound; typical here is a few seconds.
    assert!(took.as_secs() < 60, "seeding took {took:?}");
    // Running it again adds another batch rather than colliding.
    let again = countersign_server::seed::demo(&pool, &env().issuer, 3).await.unwrap();
    assert_eq!(again.orgs, 3);
    assert_eq!(count("orgs").await, 4 + 1000 + 3);
}

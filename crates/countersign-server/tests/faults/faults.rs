//! Faults an operator meets (issue 25): the server process is stopped the way
//! systemd, Kubernetes and `docker stop` stop it. The real binary, signalled by
//! its own pid.

use crate::cluster::PgCluster;
use crate::helpers::*;
use serde_json::json;
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

/// Reads what the server sends until it closes the connection; an error (a
/// reset) is returned as such.
async fn read_to_close(conn: &mut TcpStream, within: Duration) -> std::io::Result<String> {
    let mut got = Vec::new();
    tokio::time::timeout(within, conn.read_to_end(&mut got))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, String::from_utf8_lossy(&got).into_owned()))??;
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// The acme invoice with the largest amount, and acme's id.
async fn acme_invoice(db: &PgPool) -> (Uuid, Uuid) {
    sqlx::query_as(
        "SELECT o.id, i.id FROM invoices i JOIN orgs o ON o.id = i.org_id WHERE o.slug = 'acme' \
         ORDER BY i.amount_minor DESC LIMIT 1",
    )
    .fetch_one(db)
    .await
    .unwrap()
}

/// `audit verify` over the database, with the test process's checkpoint key.
async fn assert_audit_verifies(db: &PgPool) {
    let key = countersign_server::audit::store::Signer::from_file(audit_key_file())
        .unwrap()
        .public_key();
    let report = countersign_server::audit::store::verify(db, &key).await.unwrap();
    assert!(report.ok(), "audit verify: {report:?}");
}

/// Issue 25, point 1: SIGTERM drains like SIGINT. Requests whose bodies are
/// still arriving get their complete answer, a notification stream ends
/// cleanly, an idle keep-alive connection is closed (not reset), and the
/// process exits 0 well within the drain bound.
#[tokio::test]
async fn sigterm_drains_a_half_sent_request_gets_its_201_and_the_process_exits_0() {
    let _serial = crate::serial().await;
    let (_, db_url) = fresh_database().await;
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    let (org, invoice) = acme_invoice(&admin).await;
    let server = ServerProcess::spawn(&db_url, "info").await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let carl = sign_in("carl", "carl-pw").await.unwrap().access_token;
    let ana = sign_in("ana", "ana-pw").await.unwrap().access_token;

    // Three refunds half-sent: head and half the body.
    let mut half_sent = Vec::new();
    for n in 0..3 {
        let body = json!({
            "kind": "refund", "org_id": org, "target_id": invoice,
            "amount": { "amount_minor": 1_000 + n, "currency": "EUR" },
            "reason": format!("Drained refund {n}: customer double-charged"),
        })
        .to_string();
        let mut conn = TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /v1/approvals HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {carl}\r\n\
             Content-Type: application/json\r\nIdempotency-Key: {}\r\nContent-Length: {}\r\n\r\n",
            Uuid::new_v4(),
            body.len()
        );
        let (first, rest) = body.split_at(body.len() / 2);
        conn.write_all(head.as_bytes()).await.unwrap();
        conn.write_all(first.as_bytes()).await.unwrap();
        half_sent.push((conn, rest.to_owned()));
    }
    // A notification stream, open.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            format!("GET /v1/notifications/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ana}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut first = [0u8; 64];
    let n = stream.read(&mut first).await.unwrap();
    assert!(
        String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"),
        "the stream opened"
    );
    // An idle keep-alive connection that has been answered once.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answered = [0u8; 512];
    let n = idle.read(&mut answered).await.unwrap();
    assert!(String::from_utf8_lossy(&answered[..n]).starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let signalled = Instant::now();
    server.signal(nix::sys::signal::Signal::SIGTERM);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The listener is closed: no new connection is served.
    let refused = TcpStream::connect(&addr).await;
    assert!(refused.is_err(), "a draining server accepts no new connection");
    // The rest of the bodies arrive after the signal: each gets its 201.
    for (conn, rest) in &mut half_sent {
        conn.write_all(rest.as_bytes()).await.unwrap();
    }
    for (conn, _) in &mut half_sent {
        let answer = read_to_close(conn, Duration::from_secs(5))
            .await
            .expect("an answer, not a reset");
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("x-request-id:"), "{answer}");
    }
    // The stream and the idle connection end cleanly (EOF, no reset).
    read_to_close(&mut stream, Duration::from_secs(5))
        .await
        .expect("the stream ends cleanly");
    assert_eq!(
        read_to_close(&mut idle, Duration::from_secs(5))
            .await
            .expect("closed, not reset"),
        ""
    );

    let (status, output) = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM; output:\n{output}");
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    assert!(
        output.contains("stopping: no new connections, draining") && output.contains("stopped"),
        "{output}"
    );

    // Everything answered is there, with its audit event.
    let created: i64 =
        sqlx::query_scalar("SELECT count(*) FROM approval_requests WHERE reason LIKE 'Drained refund %'")
            .fetch_one(&admin)
            .await
            .unwrap();
    assert_eq!(created, 3);
    let audited: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE action = 'approval.request' AND outcome = 'success'",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(audited, 3);
}

/// Issue 25, point 6: a key the provider stops publishing stops working within
/// the refresh interval, although tokens it signed were verified and cached.
#[tokio::test]
async fn a_key_dropped_from_the_providers_set_is_refused_within_the_refresh_interval() {
    let _serial = crate::serial().await;
    let idp = IdpProcess::spawn(0, &env().key_file);
    let issuer = idp.issuer.clone();
    let port: u16 = issuer.rsplit(':').next().unwrap().parse().unwrap();
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuer = issuer.clone();
    config.policy.jwks_refresh_secs = 1;
    let config_issuer = issuer.clone();
    let app = spawn_app_with(config).await;
    staff_sign_in_at(&app, &config_issuer).await;
    let token = mint(json!({ "iss": issuer, "sub": "staff-alice" }), |_| {}).await;
    assert_eq!(
        app.get_with(&token, "/v1/me").await.status(),
        200,
        "verified, and cached"
    );

    // The provider comes back with another key only (the old one compromised).
    idp.kill();
    let dir = tempfile::tempdir().unwrap();
    let other_key = dir.path().join("rotated.pem");
    new_rsa_key(&other_key);
    let _rotated = IdpProcess::spawn(port, other_key.to_str().unwrap());

    let dropped_at = Instant::now();
    let refused = loop {
        let r = app.get_with(&token, "/v1/me").await;
        if r.status() == 401 {
            break r;
        }
        assert_eq!(r.status(), 200);
        assert!(
            dropped_at.elapsed() < Duration::from_secs(5),
            "still accepted 5 s after the key was dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_problem(refused, 401, "token_invalid").await;
}

/// Issue 25, point 4: the server acknowledges only durable writes. Against a
/// database with `synchronous_commit = off` it refuses to start, unless the
/// development flag is set; then `/readyz` says so.
#[tokio::test]
async fn a_database_that_commits_asynchronously_is_refused_without_the_development_flag() {
    let _serial = crate::serial().await;
    let (name, db_url) = fresh_database().await;
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    sqlx::query(&format!("ALTER DATABASE {name} SET synchronous_commit = off"))
        .execute(&admin)
        .await
        .unwrap();

    let refused = countersign_server::startup::Application::build(test_config(&db_url)).await;
    let error = refused.err().expect("refused to start").to_string();
    assert!(error.contains("synchronous_commit = off"), "{error}");

    let mut config = test_config(&db_url);
    config.dev_allow_async_commit = true;
    let app = spawn_app_with(config).await;
    let r = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["synchronous_commit"].as_str()),
        (Some("degraded"), Some("off"))
    );
    assert_eq!(app.get_as("alice", "/v1/me").await.status(), 200, "it serves");
}

/// What one request under load got.
#[derive(Debug)]
struct Seen {
    what: &'static str,
    status: u16,
    took: Duration,
    /// For a 5xx: problem+json with a `request_id`, `X-Request-Id` and `Retry-After`.
    well_formed_503: bool,
    /// The answer's X-Request-Id.
    request_id: Option<String>,
    /// The answer's body.
    body: serde_json::Value,
}

async fn observe(what: &'static str, request: reqwest::RequestBuilder) -> Seen {
    let started = Instant::now();
    let response = request.send().await;
    let took = started.elapsed();
    let Ok(r) = response else {
        return Seen {
            what,
            status: 0,
            took,
            well_formed_503: false,
            request_id: None,
            body: json!(null),
        };
    };
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    let well_formed_503 = status == 503
        && headers
            .get("content-type")
            .is_some_and(|v| v == "application/problem+json")
        && headers.contains_key("x-request-id")
        && headers.contains_key("retry-after")
        && body["code"] == "service_unavailable"
        && body["request_id"].is_string();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Seen {
        what,
        status,
        took,
        well_formed_503,
        request_id,
        body,
    }
}

/// Issue 25, points 2, 3 and 9: PostgreSQL restarted, then killed and down
/// for 3 s, under steady load (three readers, a writer creating refunds that
/// another person approves). Every answer is a success or a well-formed 503
/// (never a 500), none takes 2 s or more, full service is back within 1 s of
/// PostgreSQL accepting connections; afterwards every refund answered 201 is
/// there, every approval answered 200 executed with exactly one payment, every
/// 2xx answer has its audit event, and the audit log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_or_killed_is_a_quick_503_never_a_500_and_service_comes_back() {
    let _serial = crate::serial().await;
    let cluster = std::sync::Arc::new(PgCluster::start().await);
    let app = std::sync::Arc::new(spawn_app_with(test_config(&cluster.url)).await);
    let (org, invoice) = acme_invoice(&app.admin).await;
    let (alice, carl, ana) = (
        app.token("alice").await,
        app.token("carl").await,
        app.token("ana").await,
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let running = |stop: &std::sync::atomic::AtomicBool| !stop.load(std::sync::atomic::Ordering::Relaxed);
    let mut load = Vec::new();
    for (what, path) in [("me", "/v1/me"), ("orgs", "/v1/orgs"), ("sync", "/v1/sync?limit=50")] {
        let (app, stop, token) = (app.clone(), stop.clone(), alice.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while running(&stop) {
                seen.push(observe(what, app.http.get(format!("{}{path}", app.base)).bearer_auth(&token)).await);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            seen
        }));
    }
    let (created_tx, mut created_rx) = tokio::sync::mpsc::unbounded_channel::<(String, i64)>();
    {
        let (app, stop) = (app.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while running(&stop) {
                n += 1;
                let body = json!({
                    "kind": "refund", "org_id": org, "target_id": invoice,
                    "amount": { "amount_minor": 100 + n, "currency": "EUR" },
                    "reason": format!("Refund {n} under faults"),
                });
                let post = app
                    .http
                    .post(format!("{}/v1/approvals", app.base))
                    .bearer_auth(&carl)
                    .header("idempotency-key", Uuid::new_v4().to_string())
                    .json(&body);
                let got = observe("create", post).await;
                if got.status == 201 {
                    let id = got.body["id"].as_str().unwrap().to_owned();
                    let _ = created_tx.send((id, got.body["version"].as_i64().unwrap()));
                }
                seen.push(got);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        }));
    }
    {
        // Another person approves each created refund: it executes (one payment).
        let (app, stop) = (app.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while running(&stop) {
                let next = tokio::time::timeout(Duration::from_millis(50), created_rx.recv()).await;
                let Ok(Some((id, version))) = next else { continue };
                let post = app
                    .http
                    .post(format!("{}/v1/approvals/{id}/decisions", app.base))
                    .bearer_auth(&ana)
                    .header("idempotency-key", Uuid::new_v4().to_string())
                    .json(&json!({ "decision": "approve", "comment": "checked", "version": version }));
                let mut got = observe("decide", post).await;
                // The decision's answer is the approval; name it by its id.
                got.body["id"] = json!(id);
                seen.push(got);
            }
            seen
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.restart()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.kill_postmaster()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start_again()).await.unwrap();
    let accepting = Instant::now();
    loop {
        let r = app.get_with(&alice, "/v1/orgs").await;
        if r.status() == 200 {
            break;
        }
        assert!(
            accepting.elapsed() < Duration::from_secs(1),
            "not served 1 s after PostgreSQL was back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let back = accepting.elapsed();
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = Vec::new();
    for task in load {
        seen.extend(task.await.unwrap());
    }

    let failed: Vec<&Seen> = seen.iter().filter(|s| s.status >= 500 || s.status == 0).collect();
    let bad: Vec<&&Seen> = failed.iter().filter(|s| !s.well_formed_503).collect();
    assert!(bad.is_empty(), "answers other than 2xx or a well-formed 503: {bad:?}");
    let slow: Vec<&Seen> = seen.iter().filter(|s| s.took >= Duration::from_secs(2)).collect();
    assert!(slow.is_empty(), "requests held 2 s or more: {slow:?}");
    assert!(!failed.is_empty(), "the faults were seen ({} requests)", seen.len());
    let others: Vec<&Seen> = seen.iter().filter(|s| (400..500).contains(&s.status)).collect();
    assert!(
        others.is_empty(),
        "no request was refused for anything else: {others:?}"
    );

    let ids = |what: &str, status: u16| -> Vec<Uuid> {
        seen.iter()
            .filter(|s| s.what == what && s.status == status)
            .map(|s| s.body["id"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let (created, decided) = (ids("create", 201), ids("decide", 200));
    assert!(
        created.len() > 10 && decided.len() > 5,
        "the writer and the approver worked: {created:?} {decided:?}"
    );
    let db = PgPool::connect(&cluster.url).await.unwrap();
    let count = |sql: &'static str, ids: Vec<Uuid>| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(ids)
                .fetch_one(&db)
                .await
                .unwrap() as usize
        }
    };
    let present = count(
        "SELECT count(*) FROM approval_requests WHERE id = ANY($1)",
        created.clone(),
    )
    .await;
    assert_eq!(present, created.len(), "every acknowledged create survived");
    let executed = count(
        "SELECT count(*) FROM approval_requests r WHERE r.id = ANY($1) AND r.status = 'executed' \
         AND (SELECT count(*) FROM payments p WHERE p.approval_id = r.id) = 1",
        decided.clone(),
    )
    .await;
    assert_eq!(
        executed,
        decided.len(),
        "every acknowledged approval executed, with one payment"
    );
    let not_one = count(
        "SELECT count(*) FROM approval_requests r WHERE r.status = 'executed' AND r.id <> ALL($1) \
         AND (SELECT count(*) FROM payments p WHERE p.approval_id = r.id) <> 1",
        Vec::new(),
    )
    .await;
    assert_eq!(not_one, 0, "exactly one payment per executed approval");
    let answered: Vec<String> = seen
        .iter()
        .filter(|s| (200..300).contains(&s.status))
        .filter_map(|s| s.request_id.clone())
        .collect();
    let audited: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT request_id) FROM audit_events WHERE request_id = ANY($1)")
            .bind(&answered)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(
        audited as usize,
        answered.len(),
        "every 2xx answer's audit event is there"
    );
    assert_audit_verifies(&db).await;
    eprintln!(
        "faults: {} requests, {} answered 503, {} created, {} approved, service back {back:?} after PostgreSQL \
         accepted connections",
        seen.len(),
        failed.len(),
        created.len(),
        decided.len()
    );
}

/// Issue 25 (what must keep holding): the server killed with SIGKILL while 30
/// refunds are being approved at once. Each is afterwards either pending with
/// no payment or executed with exactly one, and the audit log verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_amid_concurrent_approvals_leaves_each_pending_or_executed_once() {
    let _serial = crate::serial().await;
    let (_, db_url) = fresh_database().await;
    let admin = PgPool::connect(&db_url).await.unwrap();
    let (org, invoice) = acme_invoice(&admin).await;
    let server = ServerProcess::spawn(&db_url, "warn").await;
    let http = reqwest::Client::new();
    let carl = sign_in("carl", "carl-pw").await.unwrap().access_token;
    let ana = sign_in("ana", "ana-pw").await.unwrap().access_token;
    let mut requests = Vec::new();
    for n in 0..30 {
        let r = http
            .post(format!("{}/v1/approvals", server.base))
            .bearer_auth(&carl)
            .json(&json!({
                "kind": "refund", "org_id": org, "target_id": invoice,
                "amount": { "amount_minor": 500 + n, "currency": "EUR" }, "reason": format!("Refund {n}, then a crash"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let a: serde_json::Value = r.json().await.unwrap();
        requests.push((
            a["id"].as_str().unwrap().parse::<Uuid>().unwrap(),
            a["version"].as_i64().unwrap(),
        ));
    }
    let ids: Vec<Uuid> = requests.iter().map(|(id, _)| *id).collect();
    let deciding: Vec<_> = requests
        .iter()
        .map(|(id, version)| {
            let post = http
                .post(format!("{}/v1/approvals/{id}/decisions", server.base))
                .bearer_auth(&ana)
                .json(&json!({ "decision": "approve", "comment": "checked", "version": version }));
            tokio::spawn(post.send())
        })
        .collect();
    // Killed as soon as the first decision has executed: the others are queued,
    // being decided, or not yet read.
    let started = Instant::now();
    loop {
        let executed: i64 =
            sqlx::query_scalar("SELECT count(*) FROM approval_requests WHERE id = ANY($1) AND status = 'executed'")
                .bind(&ids)
                .fetch_one(&admin)
                .await
                .unwrap();
        if executed > 0 || started.elapsed() > Duration::from_secs(5) {
            break;
        }
    }
    server.signal(nix::sys::signal::Signal::SIGKILL);
    let (status, _) = server.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), None, "killed");
    for d in deciding {
        let _ = d.await.unwrap(); // answered or cut: either is fine here
    }

    let states: Vec<(String, i64)> = sqlx::query_as(
        "SELECT r.status, (SELECT count(*) FROM payments p WHERE p.approval_id = r.id) FROM approval_requests r \
         WHERE r.id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(states.len(), 30);
    for (status, payments) in &states {
        match status.as_str() {
            "pending" => assert_eq!(*payments, 0),
            "executed" => assert_eq!(*payments, 1),
            other => panic!("an approval is {other} after the crash"),
        }
    }
    assert!(
        states.iter().any(|(s, _)| s == "executed"),
        "the crash came after decisions had begun"
    );
    assert_audit_verifies(&admin).await;
}

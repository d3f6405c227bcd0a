//! Faults an operator meets (issue 25): the server process is stopped the way
//! systemd, Kubernetes and `docker stop` stop it. The real binary, signalled by
//! its own pid.

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

/// Issue 25, point 1: SIGTERM drains like SIGINT. Requests whose bodies are
/// still arriving get their complete answer, a notification stream ends
/// cleanly, an idle keep-alive connection is closed (not reset), and the
/// process exits 0 well within the drain bound.
#[tokio::test]
async fn sigterm_drains_a_half_sent_request_gets_its_201_and_the_process_exits_0() {
    let (_, db_url) = fresh_database().await;
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    let (org, invoice): (Uuid, Uuid) = sqlx::query_as(
        "SELECT o.id, i.id FROM invoices i JOIN orgs o ON o.id = i.org_id WHERE o.slug = 'acme' \
         ORDER BY i.amount_minor DESC LIMIT 1",
    )
    .fetch_one(&admin)
    .await
    .unwrap();
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
    let idp = IdpProcess::spawn(0, &env().key_file);
    let (port, issuer) = (idp.port(), idp.issuer.clone());
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.issuer = issuer.clone();
    config.policy.jwks_refresh_secs = 1;
    let config_issuer = issuer.clone();
    let app = spawn_app_with(config).await;
    // The staff accounts now sign in at this provider.
    sqlx::query("UPDATE staff SET issuer = $1")
        .bind(&config_issuer)
        .execute(&app.admin)
        .await
        .unwrap();
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
    let made = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&other_key)
        .status()
        .unwrap();
    assert!(made.success());
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
#[allow(dead_code)] // `what` is read in the failure messages, through Debug
struct Seen {
    what: &'static str,
    status: u16,
    took: Duration,
    /// For a 5xx: problem+json with a `request_id`, `X-Request-Id` and `Retry-After`.
    well_formed_503: bool,
    /// A created refund's id.
    created: Option<String>,
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
            created: None,
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
    let created = (status == 201).then(|| body["id"].as_str().unwrap_or_default().to_owned());
    Seen {
        what,
        status,
        took,
        well_formed_503,
        created,
    }
}

/// Issue 25, points 2 and 3: PostgreSQL restarted, then killed and down for
/// 3 s, under steady load (readers and a writer). Every answer is a success or
/// a well-formed 503 (never a 500), none takes 2 s or more, full service is
/// back within 1 s of PostgreSQL accepting connections, and every refund
/// answered 201 is in the database afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_or_killed_is_a_quick_503_never_a_500_and_service_comes_back() {
    let cluster = std::sync::Arc::new(PgCluster::start().await);
    let app = std::sync::Arc::new(spawn_app_with(test_config(&cluster.url)).await);
    let (org, invoice): (Uuid, Uuid) = sqlx::query_as(
        "SELECT o.id, i.id FROM invoices i JOIN orgs o ON o.id = i.org_id WHERE o.slug = 'acme' \
         ORDER BY i.amount_minor DESC LIMIT 1",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    let (alice, carl) = (app.token("alice").await, app.token("carl").await);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for (what, path) in [("me", "/v1/me"), ("orgs", "/v1/orgs"), ("sync", "/v1/sync?limit=50")] {
        let (app, stop, token) = (app.clone(), stop.clone(), alice.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen.push(observe(what, app.http.get(format!("{}{path}", app.base)).bearer_auth(&token)).await);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            seen
        }));
    }
    {
        let (app, stop) = (app.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
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
                seen.push(observe("create", post).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
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
    tokio::time::sleep(Duration::from_millis(500)).await;
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
    let others: Vec<&Seen> = seen.iter().filter(|s| s.status >= 400 && s.status < 500).collect();
    assert!(
        others.is_empty(),
        "no request was refused for anything else: {others:?}"
    );
    let created: Vec<Uuid> = seen
        .iter()
        .filter_map(|s| s.created.as_deref())
        .map(|id| id.parse().unwrap())
        .collect();
    assert!(created.len() > 10, "the writer wrote ({} created)", created.len());
    let present: i64 = sqlx::query_scalar("SELECT count(*) FROM approval_requests WHERE id = ANY($1)")
        .bind(&created)
        .fetch_one(&PgPool::connect(&cluster.url).await.unwrap())
        .await
        .unwrap();
    assert_eq!(present as usize, created.len(), "every acknowledged create survived");
    eprintln!(
        "faults: {} requests, {} answered 503, service back {back:?} after PostgreSQL accepted connections",
        seen.len(),
        failed.len()
    );
}

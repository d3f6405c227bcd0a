//! The tamper-evident audit log (issue 3, point 3): append-only for the
//! server's role, hash-chained, signed checkpoints, and `audit verify`
//! naming the first bad seq for each kind of tampering.

use crate::helpers::*;
use sqlx::{Connection, PgConnection};

/// Some traffic, then a checkpoint: seqs 1..=n exist and are signed.
async fn app_with_history(n: usize) -> TestApp {
    let app = spawn_app().await;
    let token = app.token("sam").await;
    for _ in 0..n {
        app.get_with(&token, "/v1/orgs?limit=1").await;
    }
    checkpoint(&app).await;
    app
}

async fn checkpoint(app: &TestApp) {
    let signer = countersign_server::audit::store::Signer::from_file(audit_key_file()).unwrap();
    let pool = sqlx::PgPool::connect(&app.db_url.replace("postgres@", "countersign_app@"))
        .await
        .unwrap();
    countersign_server::audit::store::checkpoint(&pool, &signer)
        .await
        .unwrap();
}

pub fn verify(app: &TestApp) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_countersign-server"))
        .args(["audit", "verify"])
        .env_clear()
        .env("COUNTERSIGN_ISSUER", &env().issuer)
        .env("COUNTERSIGN_AUDIENCE", &env().audience)
        .env("COUNTERSIGN_DATABASE_URL", &app.db_url)
        .env("COUNTERSIGN_AUDIT_KEY_FILE", audit_key_file())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Tampering as a database superuser, with the append-only triggers off.
async fn tamper(app: &TestApp, sql: &str) {
    let mut c = PgConnection::connect(&app.db_url).await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
}

#[tokio::test]
async fn an_untouched_log_verifies_with_a_summary() {
    let app = app_with_history(10).await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    let checkpoints: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_checkpoints")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(checkpoints >= 2, "one at start, one after the traffic");
    assert!(
        out.contains(&format!(
            "{checkpoints}/{checkpoints} checkpoints valid, {events}/{events} events valid"
        )),
        "{out}"
    );
}

#[tokio::test]
async fn an_edited_event_is_named() {
    let app = app_with_history(10).await;
    tamper(&app, "UPDATE audit_events SET outcome = 'denied' WHERE seq = 5").await;
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains("first bad seq: 5"), "{out}");
}

#[tokio::test]
async fn a_deleted_event_is_named() {
    let app = app_with_history(10).await;
    tamper(&app, "DELETE FROM audit_events WHERE seq = 4").await;
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains("first bad seq: 4"), "{out}");
}

#[tokio::test]
async fn reordered_events_are_named() {
    let app = app_with_history(10).await;
    tamper(
        &app,
        "UPDATE audit_events SET seq = 1006 WHERE seq = 6; UPDATE audit_events SET seq = 6 WHERE seq = 7; \
        UPDATE audit_events SET seq = 7 WHERE seq = 1006;",
    )
    .await;
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains("first bad seq: 6"), "{out}");
}

#[tokio::test]
async fn an_inserted_event_is_named_even_with_a_recomputed_chain() {
    let app = app_with_history(10).await;
    // Shift 6.. up by one and forge seq 6 with the right prev_hash, then
    // recompute every later hash as a careful tamperer would: only the
    // signed checkpoint can tell.
    let mut rows: Vec<countersign_server::audit::store::EventRow> = sqlx::query_as(&format!(
        "SELECT {} FROM audit_events ORDER BY seq",
        countersign_server::audit::store::EVENT_COLUMNS
    ))
    .fetch_all(&app.admin)
    .await
    .unwrap();
    let mut forged = rows[5].clone();
    forged.id = uuid::Uuid::new_v4();
    forged.action = "GET /v1/orgs/{org_id}".into();
    rows.insert(5, forged);
    let mut prev = countersign_server::audit::store::GENESIS.to_vec();
    let mut c = PgConnection::connect(&app.db_url).await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_events").execute(&mut c).await.unwrap();
    for (i, r) in rows.iter_mut().enumerate() {
        r.seq = i as i64 + 1;
        r.prev_hash = prev.clone();
        r.hash = r.chain_hash();
        prev = r.hash.clone();
        sqlx::query(
            "INSERT INTO audit_events (seq, id, at, action, outcome, request_id, details, actor_subject, \
            actor_issuer, actor_kind, org_id, target_type, target_id, code, ip, user_agent, prev_hash, hash) VALUES \
                ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)",
        )
        .bind(r.seq)
        .bind(r.id)
        .bind(r.at)
        .bind(&r.action)
        .bind(&r.outcome)
        .bind(&r.request_id)
        .bind(&r.details)
        .bind(&r.actor_subject)
        .bind(&r.actor_issuer)
        .bind(&r.actor_kind)
        .bind(r.org_id)
        .bind(&r.target_type)
        .bind(&r.target_id)
        .bind(&r.code)
        .bind(&r.ip)
        .bind(&r.user_agent)
        .bind(&r.prev_hash)
        .bind(&r.hash)
        .execute(&mut c)
        .await
        .unwrap();
    }
    let (ok, out) = verify(&app);
    let (last_seq,): (i64,) = sqlx::query_as("SELECT max(last_seq) FROM audit_checkpoints")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(
        !ok && out.contains(&format!("first bad seq: {last_seq}")) && out.contains("signed another hash"),
        "{out}"
    );

    // A naive insertion (no recomputation) is named at the insertion.
    let app = app_with_history(10).await;
    tamper(
        &app,
        "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 6; UPDATE audit_events SET seq = seq - 99 WHERE \
        seq >= 106; \
                  INSERT INTO audit_events (seq, id, at, action, outcome, request_id, details, prev_hash, hash) \
                  SELECT 6, gen_random_uuid(), now(), 'forged', 'success', 'x', '{}', hash, hash FROM audit_events \
                      WHERE seq = 5",
    )
    .await;
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains("first bad seq: 6"), "{out}");
}

#[tokio::test]
async fn a_truncated_tail_is_named() {
    let app = app_with_history(10).await;
    let (last,): (i64,) = sqlx::query_as("SELECT max(seq) FROM audit_events")
        .fetch_one(&app.admin)
        .await
        .unwrap();
    // The tamperer also rolls the head back so the chain itself looks whole.
    tamper(
        &app,
        &format!(
            "DELETE FROM audit_events WHERE seq > {}; UPDATE audit_chain_head SET seq = {}, hash = \
        (SELECT hash FROM audit_events WHERE seq = {});",
            last - 3,
            last - 3,
            last - 3
        ),
    )
    .await;
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains(&format!("first bad seq: {}", last - 2)), "{out}");
}

#[tokio::test]
async fn checkpoints_are_written_on_a_schedule_even_when_idle() {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.policy.audit_checkpoint_secs = 1;
    let app = spawn_app_with(config).await;
    // No requests at all: checkpoints still appear, each signing the same head.
    let mut n = 0;
    for _ in 0..50 {
        n = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_checkpoints")
            .fetch_one(&app.admin)
            .await
            .unwrap();
        if n >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(n >= 2, "{n} checkpoints after 5 s");
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn a_checkpoint_signed_with_another_key_is_refused() {
    let app = app_with_history(3).await;
    let (other, _) = countersign_server::audit::store::Signer::generate();
    let pool = sqlx::PgPool::connect(&app.db_url).await.unwrap();
    countersign_server::audit::store::checkpoint(&pool, &other)
        .await
        .unwrap();
    let (ok, out) = verify(&app);
    assert!(!ok && out.contains("invalid signature"), "{out}");
}

#[tokio::test]
async fn the_server_role_cannot_update_delete_or_truncate_the_log() {
    let app = app_with_history(3).await;
    let mut c = PgConnection::connect(&app.db_url.replace("postgres@", "countersign_app@"))
        .await
        .unwrap();
    for sql in [
        "UPDATE audit_events SET outcome = 'denied'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_checkpoints SET last_seq = 0",
    ] {
        let err = sqlx::query(sql).execute(&mut c).await.unwrap_err();
        assert!(err.to_string().contains("permission denied"), "{sql}: {err}");
    }
    // And the trigger refuses even a role that holds the privileges.
    for sql in [
        "UPDATE audit_events SET outcome = 'denied' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
        "TRUNCATE audit_events",
    ] {
        let err = sqlx::query(sql).execute(&app.admin).await.unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert!(verify(&app).0);
}

#[tokio::test]
async fn concurrent_requests_keep_a_gapless_chain() {
    let app = spawn_app().await;
    let token = app.token("sam").await;
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let (http, base, token) = (app.http.clone(), app.base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            http.get(format!("{base}/v1/orgs?limit=1"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    checkpoint(&app).await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
}

#[tokio::test]
async fn concurrent_requests_share_commits_yet_each_gets_its_own_gapless_event() {
    let app = spawn_app().await;
    let token = app.token("sam").await;
    let before = app.audit_count().await;
    // 200 requests at once: the writer groups their events into a few
    // transactions; the chain must come out the same as one by one.
    let responses = futures::future::join_all((0..200).map(|_| app.get_with(&token, "/v1/orgs?limit=1"))).await;
    assert!(responses.iter().all(|r| r.status() == 200));
    let request_ids: std::collections::HashSet<String> = responses
        .iter()
        .map(|r| r.headers()["x-request-id"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(app.audit_count().await - before, 200);
    let logged: Vec<(i64, String)> = sqlx::query_as("SELECT seq, request_id FROM audit_events ORDER BY seq")
        .fetch_all(&app.admin)
        .await
        .unwrap();
    assert!(logged.windows(2).all(|w| w[1].0 == w[0].0 + 1), "gapless seq");
    let mine: std::collections::HashSet<String> = logged
        .iter()
        .map(|(_, r)| r.clone())
        .filter(|r| request_ids.contains(r))
        .collect();
    assert_eq!(mine, request_ids, "one event per request, each with its own request id");
    checkpoint(&app).await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
}

fn event(n: usize) -> countersign_server::audit::store::EventRow {
    countersign_server::audit::store::EventRow {
        seq: 0,
        id: uuid::Uuid::new_v4(),
        at: time::OffsetDateTime::UNIX_EPOCH,
        actor_issuer: None,
        actor_subject: Some("countersign-server".into()),
        actor_kind: Some("service".into()),
        on_behalf_of: None,
        impersonation_id: None,
        org_id: None,
        action: "test.race".into(),
        target_type: None,
        target_id: Some(n.to_string()),
        outcome: "success".into(),
        code: None,
        reason: None,
        request_id: format!("race-{n}"),
        ip: None,
        user_agent: None,
        details: serde_json::json!({}),
        prev_hash: vec![],
        hash: vec![],
    }
}

#[tokio::test]
async fn writers_of_two_server_processes_racing_for_the_head_keep_one_valid_chain() {
    let app = spawn_app().await;
    let pool = sqlx::PgPool::connect(&app.db_url.replace("postgres@", "countersign_app@"))
        .await
        .unwrap();
    // Another process's writer, with its own idea of the head.
    let other = countersign_server::audit::store::AuditWriter::spawn(pool);
    let ours = app.state.audit.clone();
    let before = app.audit_count().await;
    let appends = (0..300).map(|n| {
        let w = if n % 2 == 0 { ours.clone() } else { other.clone() };
        async move { w.append(vec![event(n)]).await }
    });
    let results = futures::future::join_all(appends).await;
    assert!(
        results.iter().all(|r| r.is_ok()),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(app.audit_count().await - before, 300);
    let seqs: std::collections::HashSet<i64> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(seqs.len(), 300, "every event got its own seq");
    checkpoint(&app).await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
}

/// The writer keeps its connection between batches (no round trip to test
/// it on every return to the pool). When that connection dies, the batch on
/// it fails (its requests are answered 503, never 200 without an event) and
/// the next batch gets a fresh connection: no request after that fails, and
/// the chain stays whole.
#[tokio::test]
async fn the_audit_writer_recovers_from_losing_its_connection() {
    let app = spawn_app().await;
    let token = app.token("sam").await;
    assert_eq!(app.get_with(&token, "/v1/orgs?limit=1").await.status(), 200);
    let writer: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = 'countersign_app' AND query \
            LIKE 'WITH head AS (UPDATE audit_chain_head%'",
    )
    .fetch_all(&app.admin)
    .await
    .unwrap();
    assert_eq!(writer.len(), 1, "the writer's backend, found by its last statement");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1, 5000)")
        .bind(writer[0])
        .fetch_one(&app.admin)
        .await
        .unwrap();
    assert!(killed, "the backend is gone (waited for up to 5 s)");

    let before = app.audit_count().await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.get_with(&token, "/v1/orgs?limit=1").await.status().as_u16());
    }
    // The first request after the kill meets the dead connection; every
    // later one is written on a fresh one.
    assert_eq!(statuses, [503, 200, 200, 200]);
    let ok = statuses.iter().filter(|s| **s == 200).count() as i64;
    assert_eq!(
        app.audit_count().await - before,
        ok,
        "one event per answered request, none for a refused one"
    );
    checkpoint(&app).await;
    let (ok, out) = verify(&app);
    assert!(ok, "{out}");
}

/// "Streamed so a million events do not load into memory": the real binary
/// exports a log far larger than the bound below, to a reader that first
/// stalls. While it stalls, the database backend waits on the server
/// (ClientWrite: nothing is read ahead of the reader); after the whole
/// download, the server's peak RSS grew by less than the bound.
#[tokio::test]
async fn an_export_streams_a_large_log_without_holding_it_in_memory() {
    const EVENTS: i64 = 16_000;
    const BOUND_KIB: u64 = 24 * 1024;
    let (_, db_url) = fresh_database().await;
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    // Bulk events, ~3.5 KB each, after anything the server appends (seq far above its head).
    sqlx::query(
        "INSERT INTO audit_events (seq, id, at, actor_issuer, actor_subject, actor_kind, action, outcome, reason, \
            request_id, prev_hash, hash)
         SELECT 1000000000 + g, gen_random_uuid(), now(), 'bulk', 'staff-bulk', 'staff', 'orgs.list', 'success', \
             repeat('a long stated reason ', 150), 'bulk-' || g, '\\x00', '\\x00'
         FROM generate_series(1, $1::bigint) g",
    )
    .bind(EVENTS)
    .execute(&admin)
    .await
    .unwrap();
    let server = ServerProcess::spawn(&db_url, "warn").await;
    let http = reqwest::Client::new();
    let token = sign_in("ava", "ava-pw").await.unwrap().access_token;
    // Warm up the pools, then take the baseline.
    let warm = http
        .get(format!("{}/v1/audit?limit=50", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let before = server.memory_kib("VmRSS");

    let mut r = http
        .get(format!("{}/v1/audit/export?format=ndjson", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut got = Download::default();
    while got.bytes < 1 << 20 {
        got.take(&r.chunk().await.unwrap().expect("more than 1 MiB"));
    }
    let mut stalled = false;
    for _ in 0..100 {
        stalled = sqlx::query_scalar(
            "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database() AND \
            state = 'active' AND wait_event = 'ClientWrite' AND query LIKE '%FROM audit_events WHERE%ORDER BY seq'",
        )
        .fetch_one(&admin)
        .await
        .unwrap();
        if stalled {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        stalled,
        "while the reader stalls, the export's query waits for the server to take more rows"
    );
    let stalled_rss = server.memory_kib("VmRSS");
    while let Some(chunk) = r.chunk().await.unwrap() {
        got.take(&chunk);
    }
    let peak = server.memory_kib("VmHWM");

    let Download { bytes, lines, tail } = got;
    let last = String::from_utf8_lossy(&tail);
    let last: serde_json::Value = serde_json::from_str(last.trim_end().rsplit('\n').next().unwrap()).unwrap();
    assert_eq!(
        last["request_id"],
        format!("bulk-{EVENTS}"),
        "the download is complete, in seq order"
    );
    assert!(
        lines as i64 > EVENTS && bytes > 2 * (BOUND_KIB << 10) as usize,
        "{lines} lines, {bytes} bytes"
    );
    assert!(
        stalled_rss < before + BOUND_KIB,
        "stalled reader: RSS {before} KiB → {stalled_rss} KiB"
    );
    assert!(
        peak < before + BOUND_KIB,
        "peak RSS {peak} KiB against {before} KiB before a {} MiB export",
        bytes >> 20
    );
}

/// What a reader keeps of a download: its size, its line count, its tail.
#[derive(Default)]
struct Download {
    bytes: usize,
    lines: usize,
    tail: Vec<u8>,
}

impl Download {
    fn take(&mut self, chunk: &[u8]) {
        self.bytes += chunk.len();
        self.lines += chunk.iter().filter(|b| **b == b'\n').count();
        self.tail.extend_from_slice(chunk);
        let keep = self.tail.len().saturating_sub(4096);
        self.tail.drain(..keep);
    }
}

// ---------- GET /v1/audit/verify (issue 21, point 5) ----------

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.admin).await.unwrap()
}

#[tokio::test]
async fn an_auditor_verifies_the_chain_over_http_and_the_verification_is_audited() {
    let app = app_with_history(10).await;
    let before = count(&app, "SELECT count(*) FROM audit_events").await;
    let checkpoints = count(&app, "SELECT count(*) FROM audit_checkpoints").await;
    let r = app.get_as("ava", "/v1/audit/verify").await;
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["first_bad"], serde_json::Value::Null);
    // The whole log as it stood, whatever ava may see of it, and no more
    // than was written before the verification's own event.
    let checked = v["events_checked"].as_i64().unwrap();
    assert!(checked >= before, "{v}");
    assert_eq!(v["events_valid"].as_i64(), Some(checked));
    assert_eq!(v["last_seq"].as_i64(), Some(checked));
    assert_eq!(v["checkpoints_checked"].as_i64(), Some(checkpoints));
    assert_eq!(v["checkpoints_valid"].as_i64(), Some(checkpoints));
    assert!(v["verified_at"].as_str().unwrap().ends_with('Z'), "{v}");
    let (outcome, details): (String, serde_json::Value) = sqlx::query_as(
        "SELECT outcome, details FROM audit_events WHERE action = 'audit.verify' AND actor_subject = 'staff-ava'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!(outcome, "success");
    assert_eq!(details["verification"]["ok"], true, "{details}");
    assert_eq!(details["verification"]["events_checked"].as_i64(), Some(checked));
    // A supervisor reads the log too, and may know whether it is intact.
    assert_eq!(app.get_as("sam", "/v1/audit/verify").await.status(), 200);
}

#[tokio::test]
async fn verifying_without_audit_read_is_refused_and_changes_nothing() {
    let app = app_with_history(3).await;
    let checkpoints = count(&app, "SELECT count(*) FROM audit_checkpoints").await;
    let token = app.token("carl").await;
    let before = count(&app, "SELECT seq FROM audit_chain_head").await;
    let r = app.get_with(&token, "/v1/audit/verify").await;
    let p = assert_problem(r, 403, "forbidden").await;
    assert!(p["detail"].as_str().unwrap().contains("audit:read"), "{p}");
    // Only the refusal's own event was added, and it says so.
    assert_eq!(count(&app, "SELECT seq FROM audit_chain_head").await, before + 1);
    assert_eq!(count(&app, "SELECT count(*) FROM audit_checkpoints").await, checkpoints);
    let (outcome, code): (String, Option<String>) = sqlx::query_as(
        "SELECT outcome, code FROM audit_events WHERE action = 'audit.verify' AND actor_subject = 'staff-carl'",
    )
    .fetch_one(&app.admin)
    .await
    .unwrap();
    assert_eq!((outcome.as_str(), code.as_deref()), ("denied", Some("forbidden")));
}

#[tokio::test]
async fn a_tampered_chain_is_named_over_http() {
    let app = app_with_history(10).await;
    tamper(&app, "UPDATE audit_events SET outcome = 'denied' WHERE seq = 5").await;
    let r = app.get_as("ava", "/v1/audit/verify").await;
    assert_eq!(r.status(), 200, "the verification ran; what it found is in the body");
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad"]["seq"], 5, "{v}");
    assert_eq!(v["first_bad"]["reason"], "content does not match its hash", "{v}");
    assert_eq!(v["events_valid"], 4, "{v}");

    // A removed tail: the head (and checkpoints) point past the end.
    let app = app_with_history(10).await;
    let last = count(&app, "SELECT seq FROM audit_chain_head").await;
    tamper(
        &app,
        "DELETE FROM audit_events WHERE seq >= (SELECT seq - 1 FROM audit_chain_head)",
    )
    .await;
    let v: serde_json::Value = app.get_as("ava", "/v1/audit/verify").await.json().await.unwrap();
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad"]["seq"].as_i64(), Some(last - 1), "{v}");
}

#[tokio::test]
async fn an_export_says_up_front_how_many_events_it_holds() {
    let app = app_with_history(5).await;
    for format in ["ndjson", "csv"] {
        let r = app
            .get_as(
                "ava",
                &format!("/v1/audit/export?format={format}&actor_subject=staff-sam"),
            )
            .await;
        assert_eq!(r.status(), 200);
        let announced: i64 = r.headers()[countersign_api::EXPORT_COUNT_HEADER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body = r.text().await.unwrap();
        let lines = body.lines().count() as i64 - i64::from(format == "csv");
        assert_eq!(announced, lines, "{format}");
        assert_eq!(
            announced,
            count(
                &app,
                "SELECT count(*) FROM audit_events WHERE actor_subject = 'staff-sam'"
            )
            .await,
            "{format}: sam's requests, exactly"
        );
    }
    let r = app
        .get_as("ava", "/v1/audit/export?format=ndjson&actor_subject=nobody")
        .await;
    assert_eq!(r.headers()[countersign_api::EXPORT_COUNT_HEADER], "0");
    assert_eq!(r.text().await.unwrap(), "");
}

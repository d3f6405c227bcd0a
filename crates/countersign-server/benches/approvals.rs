//! `scripts/bench approvals` (issue 4, point 11): decisions per second and
//! the exactly-once race at 100 concurrent deciders, each against a baseline
//! measured in the same run (an authenticated `GET /v1/me`, which pays the
//! same token check, principal lookup and audit append as a decision).
//!
//! Expects the stack's env (COUNTERSIGN_API_URL, COUNTERSIGN_DATABASE_URL)
//! and tokens in BENCH_TOKEN_{CARL,ANA,ANDY,CORA}. Prints figures; exits
//! non-zero only when something broke (an error response, a double execution).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set: run through scripts/bench approvals"))
}

/// CPU seconds so far of the server, of PostgreSQL (postmaster, its live
/// backends, and backends already reaped) and of the whole machine (busy
/// time, so it includes this driver and anyone else), from /proc. The pids
/// come from scripts/bench; without them only the machine is counted.
#[derive(Clone, Copy)]
struct Cpu {
    server: f64,
    postgres: f64,
    machine: f64,
}

fn cpu_now() -> Cpu {
    // Fields after the command's closing parenthesis: [1] = ppid,
    // [11..=14] = utime, stime, cutime, cstime (clock ticks, 100 per second on Linux).
    fn stat(pid: &str) -> Option<Vec<u64>> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        Some(
            s.rsplit_once(") ")?
                .1
                .split(' ')
                .map(|f| f.parse().unwrap_or(0))
                .collect(),
        )
    }
    let tick = 0.01;
    let pid = |k: &str| std::env::var(k).ok().filter(|p| !p.is_empty());
    let server = pid("BENCH_SERVER_PID")
        .and_then(|p| stat(&p))
        .map_or(0.0, |f| (f[11] + f[12]) as f64 * tick);
    let postgres = pid("BENCH_PG_PID").map_or(0.0, |pg| {
        let own = stat(&pg).map_or(0, |f| f[11] + f[12] + f[13] + f[14]);
        let ppid: u64 = pg.parse().unwrap_or(0);
        let children: u64 = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| stat(e.file_name().to_str()?))
            .filter(|f| f[1] == ppid)
            .map(|f| f[11] + f[12])
            .sum();
        (own + children) as f64 * tick
    });
    let machine = std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let f: Vec<u64> = s
                .lines()
                .next()?
                .split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            Some((f.iter().sum::<u64>() - f[3] - f[4]) as f64 * tick)
        })
        .unwrap_or(0.0);
    Cpu {
        server,
        postgres,
        machine,
    }
}

/// "server 0.31 ms  PostgreSQL 1.20 ms  machine 1.90 ms" of CPU per operation.
fn cpu_per(a: Cpu, b: Cpu, ops: usize) -> String {
    let per = |x: f64, y: f64| (y - x) * 1e3 / ops.max(1) as f64;
    format!(
        "CPU per op: server {:.2} ms  PostgreSQL {:.2} ms  machine {:.2} ms",
        per(a.server, b.server),
        per(a.postgres, b.postgres),
        per(a.machine, b.machine)
    )
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

/// Pending one-approver refunds created directly in the database: the
/// benchmark measures deciding, not requesting. Each refunds the next of the
/// seed's invoices in turn (240 of them): a payment's foreign keys lock the
/// invoice row it refunds (FOR KEY SHARE), and a thousand concurrent refunds
/// of one invoice measure that row's lock, which no finance team produces.
async fn make_requests(db: &sqlx::PgPool, n: usize, amount_minor: i64, rule: serde_json::Value) -> Vec<uuid::Uuid> {
    let ids: Vec<uuid::Uuid> = (0..n).map(|_| uuid::Uuid::new_v4()).collect();
    sqlx::query(
        "INSERT INTO approval_requests (id, org_id, region, kind, target_id, amount_minor, currency, reason, status, \
            requester_staff_id, requester_person_id, policy_version, required, expires_at) \
         SELECT x, i.org_id, i.region, 'refund', i.id, $2, i.currency, 'benchmark refund', 'pending', s.id, \
             s.person_id, 'bench', $3, now() + interval '1 hour' \
         FROM unnest($1::uuid[]) WITH ORDINALITY u (x, n) \
         JOIN (SELECT *, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS c FROM invoices) i ON i.k = u.n \
             % i.c, \
         (SELECT * FROM staff WHERE subject = 'staff-carl') s",
    )
    .bind(&ids)
    .bind(amount_minor)
    .bind(rule)
    .execute(db)
    .await
    .expect("insert benchmark requests");
    ids
}

/// Decisions decided and transactions they took so far, from the server's
/// metrics (its group commit, src/batch.rs).
async fn decided_together(http: &reqwest::Client, metrics: &str) -> (f64, f64) {
    let text = match http.get(format!("{metrics}/metrics")).send().await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (
        value("countersign_approval_decisions_per_transaction_sum"),
        value("countersign_approval_decisions_per_transaction_count"),
    )
}

/// Approves `ids` (one-approver refunds, so each executes) over `conns`
/// connections until they run out or `until`: (decisions, error responses,
/// latency of each decision).
async fn decide_all(
    http: &reqwest::Client,
    api: &str,
    tokens: &[String],
    conns: usize,
    ids: Vec<uuid::Uuid>,
    until: Instant,
) -> (usize, usize, Vec<Duration>) {
    let queue = Arc::new(std::sync::Mutex::new(ids));
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..conns {
        let (http, api, token, queue, done, errors, lat) = (
            http.clone(),
            api.to_owned(),
            tokens[i % tokens.len()].clone(),
            queue.clone(),
            done.clone(),
            errors.clone(),
            latencies.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                let Some(id) = queue.lock().unwrap().pop() else { break };
                let t0 = Instant::now();
                let r = http
                    .post(format!("{api}/v1/approvals/{id}/decisions"))
                    .bearer_auth(&token)
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(&serde_json::json!({ "decision": "approve", "comment": "", "version": 1 }))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => {
                        done.fetch_add(1, Ordering::Relaxed);
                        lat.lock().unwrap().push(t0.elapsed());
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let lat = latencies.lock().unwrap().clone();
    (done.load(Ordering::Relaxed), errors.load(Ordering::Relaxed), lat)
}

#[tokio::main]
async fn main() {
    let api = var("COUNTERSIGN_API_URL");
    let db = sqlx::PgPool::connect(&var("COUNTERSIGN_DATABASE_URL"))
        .await
        .expect("database");
    let tokens: Vec<String> = ["ANA", "ANDY", "CORA"]
        .iter()
        .map(|u| var(&format!("BENCH_TOKEN_{u}")))
        .collect();
    let secs: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let conns: usize = std::env::var("BENCH_APPROVAL_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(conns * 2)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut broken = false;

    // Baseline: GET /v1/me at the same concurrency for the same time.
    let done = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let cpu0 = cpu_now();
    let mut tasks = Vec::new();
    for i in 0..conns {
        let (http, url, token, done, errors) = (
            http.clone(),
            format!("{api}/v1/me"),
            tokens[i % 3].clone(),
            done.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < until {
                match http.get(&url).bearer_auth(&token).send().await {
                    Ok(r) if r.status() == 200 => done.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let baseline_cpu = cpu_per(cpu0, cpu_now(), done.load(Ordering::Relaxed));
    let baseline = done.load(Ordering::Relaxed) as f64 / secs as f64;
    if errors.load(Ordering::Relaxed) > 0 {
        eprintln!("baseline: {} error responses", errors.load(Ordering::Relaxed));
        broken = true;
    }

    // Decisions/s: each decision executes a refund (one approver suffices).
    let one = serde_json::json!([{ "approvals": 1, "one_of_role": null, "permission": "approvals:decide",
        "description": "1 approver" }]);
    // Warm-up, untimed: a deployment in use has decided requests before, and
    // the statistics PostgreSQL plans with say so. Measured from empty
    // approval_decisions and idempotency_keys tables, the vacuum below would
    // record them as empty, the cached plans would scan them sequentially,
    // and the figure would measure those scans over tables growing by
    // thousands of rows a second (1.3 ms of PostgreSQL CPU per decision, of
    // 3.0, the day this was found), until autoanalyze a minute later.
    let warm = make_requests(&db, 2_000, 10_00, one.clone()).await;
    let (_, warm_errors, _) = decide_all(
        &http,
        &api,
        &tokens,
        conns,
        warm,
        Instant::now() + Duration::from_secs(60),
    )
    .await;
    if warm_errors > 0 {
        eprintln!("warm-up: {warm_errors} error responses");
        broken = true;
    }
    let pool = make_requests(
        &db,
        (baseline as usize * secs as usize).clamp(2_000, 60_000),
        10_00,
        one.clone(),
    )
    .await;
    // Like pgbench, vacuum before measuring: the bulk insert above (and the
    // baseline's audit rows) would otherwise start autovacuum and
    // autoanalyze inside the timed phase, and the figure would measure the
    // setup's maintenance rather than deciding.
    sqlx::query("VACUUM ANALYZE")
        .execute(&db)
        .await
        .expect("vacuum before the timed phase");
    let metrics = var("COUNTERSIGN_METRICS_URL");
    let batches0 = decided_together(&http, &metrics).await;
    let started = Instant::now();
    let cpu0 = cpu_now();
    let (done, errors, mut lat) =
        decide_all(&http, &api, &tokens, conns, pool, started + Duration::from_secs(secs)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let batches1 = decided_together(&http, &metrics).await;
    let per_transaction = (batches1.0 - batches0.0) / (batches1.1 - batches0.1).max(1.0);
    let decisions_cpu = cpu_per(cpu0, cpu_now(), done);
    let decisions = done as f64 / elapsed;
    lat.sort();
    if errors > 0 {
        eprintln!("decisions: {errors} error responses");
        broken = true;
    }

    // The race: 100 deciders (all three approvers, duplicates included) at
    // one request, 20 times, two-approver tier; exactly one execution each.
    let two = serde_json::json!([{ "approvals": 2, "one_of_role": null, "permission": "approvals:decide",
        "description": "2 approvers" }]);
    let races = make_requests(&db, 20, 500_000, two).await;
    let mut race_times = Vec::new();
    for id in &races {
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..100 {
            let (http, url, token) = (
                http.clone(),
                format!("{api}/v1/approvals/{id}/decisions"),
                tokens[i % 3].clone(),
            );
            tasks.push(tokio::spawn(async move {
                http.post(url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({ "decision": "approve", "version": 1 }))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }));
        }
        let mut ok = 0;
        for t in tasks {
            match t.await.unwrap() {
                200 => ok += 1,
                409 | 403 => {}
                other => {
                    eprintln!("race: unexpected status {other}");
                    broken = true;
                }
            }
        }
        race_times.push(t0.elapsed());
        let (payments, status): (i64, String) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM payments WHERE \
            approval_id = $1), status FROM approval_requests WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&db)
        .await
        .unwrap();
        if payments != 1 || status != "executed" || ok != 2 {
            eprintln!("race {id}: {payments} payments, status {status}, {ok} successful decisions");
            broken = true;
        }
    }
    race_times.sort();

    println!("approvals benchmark ({secs} s per phase, {conns} connections)");
    println!("  baseline GET /v1/me          {baseline:>8.0} req/s");
    println!(
        "  decisions (each executes)    {decisions:>8.0} /s   p50 {:.1} ms  p99 {:.1} ms   ratio to baseline {:.2}",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        decisions / baseline.max(1.0)
    );
    println!("    baseline  {baseline_cpu}");
    println!("    decisions {decisions_cpu}");
    println!("    decisions per transaction (group commit): {per_transaction:.1}");
    println!(
        "  target ≥ 1,000 decisions/s: {}",
        if decisions >= 1000.0 { "met" } else { "NOT met" }
    );
    println!(
        "  race: 100 concurrent deciders × {} requests: exactly-once {}  (per race p50 {:.0} ms, max {:.0} ms)",
        races.len(),
        if broken { "VIOLATED or broken" } else { "held" },
        pct(&race_times, 0.5),
        pct(&race_times, 1.0)
    );
    std::process::exit(if broken { 1 } else { 0 });
}

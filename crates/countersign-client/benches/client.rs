//! `scripts/bench client` (issue 6, point 9): the encrypted cache against a
//! plaintext SQLite baseline measured in the same run, on 100,000 records
//! shaped like the sync feed's (masked users, invoices, vendors, payments).
//! Run inside `scripts/with-keyring` (the cache key lives in the keyring).

use countersign_api::{RecordType, SyncChange};
use countersign_client::cache::Cache;
use countersign_client::search::SearchIndex;
use countersign_client::secrets::KeyringSecretStore;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const N: usize = 100_000;
const PAGE: usize = 200;

fn record(i: usize) -> SyncChange {
    let org = uuid::Uuid::from_u128(1 + (i / 100) as u128);
    let id = uuid::Uuid::from_u128(1_000_000 + i as u128);
    let (record_type, data) = match i % 10 {
        0 => (
            RecordType::User,
            json!({ "id": id, "org_id": org, "name": format!("Jana Novak {i}"),
                "email": { "masked": "j***@acme.example", "field": "email", "revealable": true },
                    "phone": { "masked": "•••• ••12", "field": "phone", "revealable": true },
                        "address": { "masked": "Berlin", "field": "address", "revealable": true }, "city": "Berlin",
                            "role": "member" }),
        ),
        1 => (
            RecordType::Vendor,
            json!({ "id": id, "org_id": org, "name": format!("Nordic Logistics {i}"),
                "tax_id": { "masked": "••••6789", "field": "tax_id", "revealable": false },
                    "address": { "masked": "Paris", "field": "address", "revealable": false }, "city": "Paris",
                        "bank_account": { "iban": { "masked": "DE89 •••• •••• •••• ••30 00", "field": "iban",
                            "revealable": false }, "bank_name": "ING", "account_holder": "Nordic Logistics" } }),
        ),
        2 | 3 => (
            RecordType::Payment,
            json!({ "id": id, "org_id": org, "kind": "refund", "amount": { "amount_minor": 1000 + i as i64,
                "currency": "EUR" }, "approval_id": null, "created_at": "2026-10-01T10:00:00Z" }),
        ),
        _ => (
            RecordType::Invoice,
            json!({ "id": id, "org_id": org, "number": format!("INV-2026-{i:06}"),
                "amount": { "amount_minor": 5000 + i as i64, "currency": "EUR" }, "status": "paid",
                    "issued_at": "2026-09-01T10:00:00Z", "due_at": "2026-10-01T10:00:00Z" }),
        ),
    };
    SyncChange {
        record_type,
        record_id: id,
        org_id: org,
        version: i as i64 + 1,
        deleted: false,
        data: Some(data),
    }
}

/// The baseline: the same rows, plaintext JSON, same page transactions.
fn plain_insert(path: &std::path::Path, changes: &[SyncChange]) -> Duration {
    let mut conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE TABLE records (record_type TEXT, record_id TEXT, org_id TEXT, \
        version INTEGER, data BLOB, PRIMARY KEY (record_type, record_id)); CREATE TABLE meta (name TEXT PRIMARY KEY, \
            value BLOB);",
    )
    .unwrap();
    let t0 = Instant::now();
    for (n, page) in changes.chunks(PAGE).enumerate() {
        let tx = conn.transaction().unwrap();
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (record_type, \
                record_id) DO UPDATE SET data = excluded.data",
                )
                .unwrap();
            for c in page {
                st.execute(rusqlite::params![
                    format!("{:?}", c.record_type),
                    c.record_id.to_string(),
                    c.org_id.to_string(),
                    c.version,
                    serde_json::to_vec(&c.data).unwrap()
                ])
                .unwrap();
            }
            tx.execute(
                "INSERT INTO meta VALUES ('cursor', ?1) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                [n.to_string()],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    t0.elapsed()
}

fn p95(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() - 1) * 95 / 100]
}

fn main() {
    let secrets = Arc::new(KeyringSecretStore::new());
    secrets.check_available().expect("run inside scripts/with-keyring");
    let changes: Vec<SyncChange> = (0..N).map(record).collect();
    let dir = tempfile::tempdir().unwrap();

    let plain = plain_insert(&dir.path().join("plain.sqlite3"), &changes);
    let subject = format!("bench-{}", uuid::Uuid::new_v4());
    let mut cache = Cache::open(dir.path(), "https://bench.countersign.test", &subject, secrets).unwrap();
    let t0 = Instant::now();
    for (n, page) in changes.chunks(PAGE).enumerate() {
        cache.put_many(page, &n.to_string()).unwrap();
    }
    let encrypted = t0.elapsed();

    // Delta: 100 changed records in one page.
    let delta: Vec<SyncChange> = (0..100)
        .map(|i| {
            let mut c = record(i * 997 % N);
            c.version += N as i64;
            c
        })
        .collect();
    let t0 = Instant::now();
    cache.put_many(&delta, "delta").unwrap();
    let delta_t = t0.elapsed();

    // Search: built from the encrypted cache vs from the plaintext rows.
    let t0 = Instant::now();
    let index = SearchIndex::build(&cache).unwrap();
    let build = t0.elapsed();
    let queries = [
        "nordic",
        "inv-2026-0999",
        "jana novak 12",
        "12.34",
        "j***@acme",
        "berlin",
        "nothing matches this",
        "logistics 5",
    ];
    let mut times = Vec::new();
    for round in 0..25 {
        for q in queries {
            let t0 = Instant::now();
            std::hint::black_box(index.search(q, 50));
            times.push(t0.elapsed());
            let _ = round;
        }
    }
    let enc_p95 = p95(times);
    let plain_index = SearchIndex::from_records(changes.iter().map(|c| countersign_client::cache::CachedRecord {
        record_type: c.record_type,
        record_id: c.record_id,
        org_id: c.org_id,
        version: c.version,
        data: c.data.clone().unwrap(),
    }));
    let mut times = Vec::new();
    for _ in 0..25 {
        for q in queries {
            let t0 = Instant::now();
            std::hint::black_box(plain_index.search(q, 50));
            times.push(t0.elapsed());
        }
    }
    let plain_p95 = p95(times);
    cache.wipe().unwrap();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("client benchmark: {N} records in pages of {PAGE}");
    println!(
        "  initial sync into the encrypted cache   {:>8.0} ms   plaintext SQLite {:>6.0} ms   ratio {:.2}   \
        targets ≤ 5000 ms: {}, ≤ 3×: {}",
        ms(encrypted),
        ms(plain),
        ms(encrypted) / ms(plain),
        if ms(encrypted) <= 5000.0 {
            "met"
        } else {
            "NOT \
            met"
        },
        if ms(encrypted) <= 3.0 * ms(plain) {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  delta sync of 100 changes               {:>8.1} ms   target ≤ 100 ms: {}",
        ms(delta_t),
        if ms(delta_t) <= 100.0 { "met" } else { "NOT met" }
    );
    println!("  search index build (decrypt all)        {:>8.0} ms", ms(build));
    println!(
        "  search p95 over {N} records           {:>8.2} ms   plaintext {:.2} ms   ratio {:.2}   targets ≤ 20 ms: \
        {}, ratio ≤ 1.3: {}",
        ms(enc_p95),
        ms(plain_p95),
        ms(enc_p95) / ms(plain_p95).max(1e-6),
        if ms(enc_p95) <= 20.0 { "met" } else { "NOT met" },
        if ms(enc_p95) <= 1.3 * ms(plain_p95) {
            "met"
        } else {
            "NOT met"
        }
    );
}

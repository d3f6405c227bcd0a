//! Sync into the encrypted cache against the real server, identity provider
//! and OS keyring (run inside `scripts/with-keyring`, with the stack's env).
//! Issue 6, point 5: resumable without loss or duplicates, progress reported.

use countersign_api::RecordType;
use countersign_client::api_client::{ApiClient, StaticToken};
use countersign_client::cache::Cache;
use countersign_client::error::{Code, HasCode};
use countersign_client::oidc::Sensitive;
use countersign_client::secrets::{KeyringSecretStore, SecretStore};
use countersign_client::sync::{self, Progress, SourceError, SyncSource};
use std::collections::BTreeSet;
use std::io::BufRead;
use std::sync::Arc;

const CHILD_DIR: &str = "COUNTERSIGN_SYNC_CHILD_DIR";
const CHILD_SUBJECT: &str = "COUNTERSIGN_SYNC_CHILD_SUBJECT";

/// The keyring holds one cache key per (issuer, subject), and these tests run in
/// parallel: a cache that another test opens, re-keys or wipes under the same
/// subject reads as a key mismatch. Each cache here gets a subject of its own.
fn own_subject(label: &str) -> String {
    format!("staff-alice-{label}-{}", std::process::id())
}

fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: run through scripts/test (the stack's env, inside scripts/with-keyring)")
    })
}

/// A real access token for `user`, signed in at the dev provider.
fn token(user: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = std::process::Command::new("node")
        .arg(format!("{root}/dev/idp/token.js"))
        .arg(user)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn keyring() -> Arc<dyn SecretStore> {
    let k = KeyringSecretStore::new();
    k.check_available()
        .expect("the real Secret Service (run inside scripts/with-keyring)");
    Arc::new(k)
}

fn client(access_token: &str) -> ApiClient {
    ApiClient::new(
        &var("COUNTERSIGN_API_URL"),
        Arc::new(StaticToken(Sensitive::new(access_token.to_owned()))),
    )
    .unwrap()
}

/// Pages slowly, so a parent process can kill us between (or inside) pages.
struct Paced(ApiClient);
impl SyncSource for Paced {
    async fn page(&self, cursor: Option<&str>, limit: u32) -> Result<countersign_api::SyncPage, SourceError> {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        self.0.page(cursor, limit).await
    }
}

fn contents(cache: &Cache) -> BTreeSet<(String, String, i64)> {
    let mut all = BTreeSet::new();
    for t in [
        RecordType::Org,
        RecordType::User,
        RecordType::Invoice,
        RecordType::Vendor,
        RecordType::Payment,
    ] {
        for r in cache.list(t).unwrap() {
            all.insert((format!("{t:?}"), r.record_id.to_string(), r.version));
        }
    }
    all
}

/// Also the child's entry point: with COUNTERSIGN_SYNC_CHILD_DIR set it syncs
/// slowly into that directory and announces every committed page on stdout.
#[tokio::test]
async fn a_full_sync_reports_progress_up_to_its_estimate() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        let mut cache = Cache::open(
            std::path::Path::new(&dir),
            &var("COUNTERSIGN_ISSUER"),
            &var(CHILD_SUBJECT),
            keyring(),
        )
        .unwrap();
        let source = Paced(client(&var("COUNTERSIGN_SYNC_CHILD_TOKEN")));
        let mut pages = 0;
        sync::run_paged(&mut cache, &source, 10, |_| {
            pages += 1;
            println!("committed page {pages}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        })
        .await
        .unwrap();
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let subject = own_subject("full");
    let mut cache = Cache::open(dir.path(), &var("COUNTERSIGN_ISSUER"), &subject, keyring()).unwrap();
    let mut seen: Vec<Progress> = Vec::new();
    let out = sync::run_paged(&mut cache, &client(&token("alice")), 50, |p| seen.push(p))
        .await
        .unwrap();
    assert!(out.pages >= 2 && !out.purged);
    let last = seen.last().unwrap();
    assert_eq!(Some(last.done), last.estimated_total, "done reaches the estimate");
    assert!(seen.windows(2).all(|w| w[0].done < w[1].done), "monotonic");
    assert_eq!(contents(&cache).len() as u64, out.applied);
    // A second run is a delta with nothing to do.
    let again = sync::run(&mut cache, &client(&token("alice")), |_| {}).await.unwrap();
    assert_eq!((again.applied, again.pages), (0, 1));
    cache.wipe().unwrap();
}

#[tokio::test]
async fn a_sync_killed_mid_way_resumes_without_loss_or_duplicates() {
    let issuer = var("COUNTERSIGN_ISSUER");
    let access = token("alice");
    let dir = tempfile::tempdir().unwrap();
    let subject = own_subject("killed");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_full_sync_reports_progress_up_to_its_estimate",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir.path())
        .env(CHILD_SUBJECT, &subject)
        .env("COUNTERSIGN_SYNC_CHILD_TOKEN", &access)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = 0;
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("committed page") {
            committed += 1;
            if committed == 5 {
                break;
            }
        }
    }
    assert_eq!(committed, 5, "the child synced five pages before being killed");
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    // Resume in this process from what the killed one committed.
    let mut cache = Cache::open(dir.path(), &issuer, &subject, keyring()).unwrap();
    assert!(
        cache.discarded().is_none(),
        "the interrupted cache is intact: {:?}",
        cache.discarded()
    );
    let before = contents(&cache).len();
    assert!(before >= 50, "the committed pages survived ({before} records)");
    assert!(cache.cursor().unwrap().is_some());
    let resumed = sync::run_paged(&mut cache, &client(&access), 10, |_| {}).await.unwrap();
    assert!(!resumed.purged);

    // The same as an uninterrupted sync: nothing lost, nothing twice.
    let other = tempfile::tempdir().unwrap();
    let mut fresh = Cache::open(other.path(), &issuer, &own_subject("uninterrupted"), keyring()).unwrap();
    let full = sync::run(&mut fresh, &client(&access), |_| {}).await.unwrap();
    assert_eq!(contents(&cache), contents(&fresh));
    assert_eq!(before as u64 + resumed.applied, full.applied, "no page applied twice");
    cache.wipe().unwrap();
    fresh.wipe().unwrap();
}

/// Issue 25, point 8: the server killed in the middle of a first sync. The
/// cache keeps every page it committed (the app's reads go on from it), the
/// failure reads as the server being unreachable (the app shows "offline"),
/// and the next sync, once a server is back, ends with exactly the server's
/// visible set: nothing missing, nothing twice, nothing stale.
#[tokio::test]
async fn a_sync_whose_server_dies_mid_way_keeps_its_pages_and_resumes_exactly() {
    let issuer = var("COUNTERSIGN_ISSUER");
    let access = token("alice");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // A server of this test's own on the stack's database: the one it kills.
    let start = || {
        let child = std::process::Command::new(var("COUNTERSIGN_SERVER_BIN"))
            .arg("serve")
            .env("COUNTERSIGN_LISTEN", format!("127.0.0.1:{port}"))
            .env("COUNTERSIGN_METRICS_LISTEN", "127.0.0.1:0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut child = child;
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return child;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server on port {port} did not start");
    };
    let own = |access: &str| {
        Paced(
            ApiClient::new(
                &format!("http://127.0.0.1:{port}"),
                Arc::new(StaticToken(Sensitive::new(access.to_owned()))),
            )
            .unwrap(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let subject = own_subject("server-died");
    let mut cache = Cache::open(dir.path(), &issuer, &subject, keyring()).unwrap();

    let mut server = start();
    let pages = std::sync::atomic::AtomicU64::new(0);
    let source = own(&access);
    let syncing = sync::run_paged(&mut cache, &source, 10, |_| {
        pages.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    });
    let killing = async {
        while pages.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        server.kill().unwrap(); // SIGKILL, this test's own child
        server.wait().unwrap();
    };
    let (cut, ()) = tokio::join!(syncing, killing);
    let error = cut.expect_err("the sync cannot finish without its server");
    assert!(
        matches!(error, sync::SyncError::Source(SourceError::Unreachable(_))),
        "reads as unreachable (offline): {error:?}"
    );
    assert!(cache.discarded().is_none());
    let kept = contents(&cache);
    assert!(
        kept.len() >= 30,
        "the committed pages are still read ({} records)",
        kept.len()
    );
    assert!(cache.cursor().unwrap().is_some());

    let mut server = start();
    let resumed = sync::run_paged(&mut cache, &own(&access), 10, |_| {}).await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(!resumed.purged);
    let other = tempfile::tempdir().unwrap();
    let mut fresh = Cache::open(other.path(), &issuer, &own_subject("server-died-fresh"), keyring()).unwrap();
    let full = sync::run(&mut fresh, &client(&access), |_| {}).await.unwrap();
    assert_eq!(contents(&cache), contents(&fresh), "exactly the server's visible set");
    assert!(kept.is_subset(&contents(&fresh)));
    assert_eq!(
        kept.len() as u64 + resumed.applied,
        full.applied,
        "no record applied twice"
    );
    cache.wipe().unwrap();
    fresh.wipe().unwrap();
}

/// Issue 6, point 7: local search over what was synced, typed results.
#[tokio::test]
async fn search_finds_records_by_name_number_masked_email_and_amount() {
    use countersign_client::search::SearchIndex;
    let dir = tempfile::tempdir().unwrap();
    let mut cache = Cache::open(dir.path(), &var("COUNTERSIGN_ISSUER"), "staff-sam", keyring()).unwrap();
    // sam (supervisor): orgs, users, invoices.
    sync::run(&mut cache, &client(&token("sam")), |_| {}).await.unwrap();
    let index = SearchIndex::build(&cache).unwrap();
    assert!(index.len() > 200, "{}", index.len());
    let orgs = index.search("globex", 10);
    assert!(
        orgs.iter()
            .any(|h| h.record_type == RecordType::Org && h.title == "Globex GmbH"),
        "{orgs:?}"
    );
    let invoices = cache.list(RecordType::Invoice).unwrap();
    let inv = &invoices[0];
    let number = inv.data["number"].as_str().unwrap();
    let hits = index.search(&number.to_lowercase(), 5);
    assert!(
        hits.iter().any(|h| h.record_id == inv.record_id && h.title == number),
        "{hits:?}"
    );
    // By amount, as typed with a decimal point.
    let minor = inv.data["amount"]["amount_minor"].as_i64().unwrap();
    let hits = index.search(&format!("{}.{:02}", minor / 100, minor % 100), 50);
    assert!(hits.iter().any(|h| h.record_id == inv.record_id));
    // By masked e-mail: the mask is what the cache holds, never the address.
    let users = cache.list(RecordType::User).unwrap();
    let mask = users[0].data["email"]["masked"].as_str().unwrap().to_owned();
    let hits = index.search(&mask, 50);
    assert!(hits
        .iter()
        .any(|h| h.record_id == users[0].record_id && h.detail == mask));
    assert!(index.search("no such thing anywhere", 10).is_empty());
    assert!(index.search("   ", 10).is_empty());
    // Built one record at a time from the cache, it is the index of all the records at once.
    let all = [
        RecordType::Org,
        RecordType::User,
        RecordType::Invoice,
        RecordType::Vendor,
        RecordType::Payment,
    ]
    .into_iter()
    .flat_map(|t| cache.list(t).unwrap());
    let at_once = SearchIndex::from_records(all);
    assert_eq!(index.len(), at_once.len());
    for q in ["a", "e", "globex", &number.to_lowercase(), &mask, "100"] {
        assert_eq!(index.search(q, usize::MAX), at_once.search(q, usize::MAX), "{q}");
    }
    cache.wipe().unwrap();
}

/// Issue 6, point 6: offline reads come from the cache marked stale with
/// their age; actions are refused as `offline`, never queued.
#[tokio::test]
async fn offline_reads_are_stale_with_their_age_and_actions_are_refused() {
    use countersign_client::offline::{self, Freshness, OfflineError};
    let dir = tempfile::tempdir().unwrap();
    let access = token("carl");
    let mut cache = Cache::open(dir.path(), &var("COUNTERSIGN_ISSUER"), "staff-carl", keyring()).unwrap();
    sync::run(&mut cache, &client(&access), |_| {}).await.unwrap();
    let live = offline::orgs(&client(&access), &cache).await.unwrap();
    assert_eq!(live.freshness, Freshness::Live);
    // The same client configuration, but the server is gone.
    let gone = ApiClient::new(
        "http://127.0.0.1:9",
        Arc::new(StaticToken(Sensitive::new(access.clone()))),
    )
    .unwrap();
    let read = offline::orgs(&gone, &cache).await.unwrap();
    match read.freshness {
        Freshness::Stale { age } => assert!(age < std::time::Duration::from_secs(120), "{age:?}"),
        Freshness::Live => panic!("cannot be live"),
    }
    let mut names: Vec<String> = read.value.iter().map(|o| o.name.clone()).collect();
    names.sort();
    let mut live_names: Vec<String> = live.value.iter().map(|o| o.name.clone()).collect();
    live_names.sort();
    assert_eq!(names, live_names, "the cached orgs");
    let invoice = cache.list(RecordType::Invoice).unwrap()[0].clone();
    let req = countersign_api::CreateApproval {
        kind: countersign_api::ApprovalKind::Refund,
        org_id: countersign_api::OrgId(invoice.org_id),
        target_id: invoice.record_id,
        amount: Some(countersign_api::Money::new(
            100,
            countersign_api::Currency::parse(invoice.data["amount"]["currency"].as_str().unwrap()).unwrap(),
        )),
        payload: serde_json::json!({}),
        reason: "Offline refund attempt for the test".into(),
    };
    let err = offline::act(gone.create_approval(&req)).await.unwrap_err();
    assert!(matches!(err, OfflineError::Offline), "{err:?}");
    assert_eq!(err.code(), Code::Offline);
    // A server that answers is not "offline": its refusal comes through.
    let err = offline::act(client(&access).get_invoice(countersign_api::InvoiceId(uuid::Uuid::new_v4())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    cache.wipe().unwrap();
}

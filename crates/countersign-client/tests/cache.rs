//! The encrypted cache and the keyring entries against the real OS keyring:
//! a Secret Service (gnome-keyring) on the session bus. Run inside
//! `scripts/with-keyring`, e.g.
//!
//!     scripts/with-keyring cargo test -p countersign-client --test cache
//!
//! Without a reachable Secret Service these tests FAIL (they do not skip).
//! The one test double here, `UnavailableKeyringForTests`, stands for a
//! keyring that cannot be reached.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use countersign_api::{RecordType, SyncChange};
use countersign_client::cache::{self, Cache, CacheError, CacheStatus, Discarded};
use countersign_client::secrets::{self, KeyringSecretStore, SecretError, SecretStore, Sensitive};
use serde_json::json;
use uuid::Uuid;

const ISSUER: &str = "https://idp.countersign.test";

/// The real Secret Service, or a failing test with the reason.
fn keyring() -> Arc<dyn SecretStore> {
    let store = KeyringSecretStore::new();
    if let Err(e) = store.check_available() {
        panic!(
            "no Secret Service reachable ({e}). These tests need the real OS keyring: \
             run them as `scripts/with-keyring cargo test -p countersign-client --test cache`"
        );
    }
    Arc::new(store)
}

/// A fresh subject per test, so parallel tests never share a keyring entry.
fn subject() -> String {
    format!("staff-{}", Uuid::new_v4())
}

/// Stands for a keyring that cannot be reached: every call fails as
/// `KeyringSecretStore` fails when there is no Secret Service.
struct UnavailableKeyringForTests;

impl SecretStore for UnavailableKeyringForTests {
    fn get(&self, _: &str, _: &str) -> Result<Option<Sensitive<Vec<u8>>>, SecretError> {
        Err(SecretError::Unavailable(
            "no Secret Service on the session bus (test double)".into(),
        ))
    }
    fn set(&self, _: &str, _: &str, _: &[u8]) -> Result<(), SecretError> {
        Err(SecretError::Unavailable(
            "no Secret Service on the session bus (test double)".into(),
        ))
    }
    fn delete(&self, _: &str, _: &str) -> Result<(), SecretError> {
        Err(SecretError::Unavailable(
            "no Secret Service on the session bus (test double)".into(),
        ))
    }
}

fn secret_tool_lookup(service: &str, account: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", account])
        .output()
        .expect("secret-tool (Debian package libsecret-tools) must be installed");
    (out.status.success() && !out.stdout.is_empty()).then(|| String::from_utf8(out.stdout).unwrap())
}

fn change(record_type: RecordType, id: Uuid, org: Uuid, version: i64, data: serde_json::Value) -> SyncChange {
    SyncChange {
        record_type,
        record_id: id,
        org_id: org,
        version,
        deleted: false,
        data: Some(data),
    }
}

fn deletion(record_type: RecordType, id: Uuid, org: Uuid, version: i64) -> SyncChange {
    SyncChange {
        record_type,
        record_id: id,
        org_id: org,
        version,
        deleted: true,
        data: None,
    }
}

fn masked(display: &str, field: &str) -> serde_json::Value {
    json!({"masked": display, "field": field, "revealable": true})
}

fn files_of(path: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|s| PathBuf::from(format!("{}{s}", path.display())))
        .collect()
}

/// Panics if `needle` occurs in the database file, its WAL, shm or journal.
fn assert_not_in_files(path: &Path, needle: &str) -> usize {
    let mut scanned = 0;
    for f in files_of(path) {
        if let Ok(bytes) = std::fs::read(&f) {
            scanned += 1;
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} found in clear in {}",
                f.display()
            );
        }
    }
    scanned
}

fn dir_entries(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn raw_db(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn sealed_of(conn: &rusqlite::Connection, id: Uuid) -> Vec<u8> {
    conn.query_row(
        "SELECT sealed FROM records WHERE record_id = ?1",
        [id.to_string()],
        |r| r.get(0),
    )
    .unwrap()
}

// ---- the keyring itself -----------------------------------------------------

#[test]
fn refresh_token_lives_in_the_secret_service_under_issuer_and_subject() {
    let store = keyring();
    let sub = subject();
    let token = Sensitive::new(format!("rt-{}", Uuid::new_v4()));
    secrets::store_refresh_token(store.as_ref(), ISSUER, &sub, &token).unwrap();

    // Proof that it is in the Secret Service, not in keyring's in-memory mock:
    // another process (secret-tool, libsecret) reads it back.
    let service = secrets::refresh_token_service(ISSUER);
    assert_eq!(
        secret_tool_lookup(&service, &sub).as_deref(),
        Some(token.expose().as_str())
    );
    assert_eq!(
        secrets::load_refresh_token(store.as_ref(), ISSUER, &sub)
            .unwrap()
            .unwrap()
            .expose(),
        token.expose()
    );
    assert!(
        secrets::load_refresh_token(store.as_ref(), ISSUER, &subject())
            .unwrap()
            .is_none(),
        "per subject"
    );
    assert!(
        secrets::load_refresh_token(store.as_ref(), "https://other.idp", &sub)
            .unwrap()
            .is_none(),
        "per issuer"
    );

    secrets::delete_refresh_token(store.as_ref(), ISSUER, &sub).unwrap();
    assert_eq!(secret_tool_lookup(&service, &sub), None);
    assert!(secrets::load_refresh_token(store.as_ref(), ISSUER, &sub)
        .unwrap()
        .is_none());
    secrets::delete_refresh_token(store.as_ref(), ISSUER, &sub).expect("deleting twice is fine");
}

// ---- sealing ----------------------------------------------------------------

#[test]
fn round_trip_and_persistence_with_the_real_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let (id, org) = (Uuid::new_v4(), Uuid::new_v4());
    let data = json!({"id": id, "name": "Acme GmbH", "email": masked("a***@acme.test", "email")});
    {
        let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
        assert_eq!(c.status(), &CacheStatus::Persistent);
        assert_eq!(c.discarded(), None);
        c.put_many(&[change(RecordType::Vendor, id, org, 7, data.clone())], "cursor-1")
            .unwrap();
    }
    let c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    assert_eq!(c.status(), &CacheStatus::Persistent);
    assert_eq!(c.discarded(), None);
    let rec = c.get(RecordType::Vendor, id).unwrap().unwrap();
    assert_eq!((rec.org_id, rec.version, &rec.data), (org, 7, &data));
    assert_eq!(c.list(RecordType::Vendor).unwrap().len(), 1);
    assert!(c.list(RecordType::User).unwrap().is_empty());
    assert!(
        c.get(RecordType::User, id).unwrap().is_none(),
        "the type is part of the key"
    );
    assert_eq!(c.cursor().unwrap().as_deref(), Some("cursor-1"));
    c.wipe().unwrap();
}

/// The second handle the search index is built from: it reads what the
/// cache holds, sees later writes from its next statement on, and cannot
/// write; a memory-only cache has none (no other connection sees it).
#[test]
fn a_reader_reads_beside_the_writer_and_memory_only_has_none() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let (a, b, org) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    c.put_many(
        &[change(RecordType::Vendor, a, org, 1, json!({"id": a, "name": "A"}))],
        "c1",
    )
    .unwrap();
    let reader = c.reader().unwrap().expect("a persistent cache has a reader");
    let ids = |r: &Cache| {
        let mut ids = Vec::new();
        r.for_each(RecordType::Vendor, |rec| ids.push(rec.record_id)).unwrap();
        ids.sort();
        ids
    };
    assert_eq!(ids(&reader), vec![a]);
    c.put_many(
        &[change(RecordType::Vendor, b, org, 1, json!({"id": b, "name": "B"}))],
        "c2",
    )
    .unwrap();
    let mut both = vec![a, b];
    both.sort();
    assert_eq!(ids(&reader), both);
    let mut reader = reader;
    assert!(
        reader
            .put_many(&[deletion(RecordType::Vendor, a, org, 2)], "c3")
            .is_err(),
        "the reader cannot write"
    );
    assert_eq!(ids(&c), both);
    c.wipe().unwrap();

    let memory = Cache::open(dir.path(), ISSUER, &subject(), Arc::new(UnavailableKeyringForTests)).unwrap();
    assert!(matches!(memory.status(), CacheStatus::MemoryOnly { .. }));
    assert!(memory.reader().unwrap().is_none());
}

#[test]
fn ciphertexts_swapped_between_two_rows_fail_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let org = Uuid::new_v4();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let path = {
        let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
        c.put_many(
            &[
                change(RecordType::Invoice, a, org, 1, json!({"number": "INV-A"})),
                change(RecordType::Invoice, b, org, 1, json!({"number": "INV-B"})),
            ],
            "c",
        )
        .unwrap();
        c.path().to_path_buf()
    };
    {
        let db = raw_db(&path);
        let (sa, sb) = (sealed_of(&db, a), sealed_of(&db, b));
        db.execute(
            "UPDATE records SET sealed = ?1 WHERE record_id = ?2",
            rusqlite::params![sb, a.to_string()],
        )
        .unwrap();
        db.execute(
            "UPDATE records SET sealed = ?1 WHERE record_id = ?2",
            rusqlite::params![sa, b.to_string()],
        )
        .unwrap();
    }
    let c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    assert!(matches!(
        c.get(RecordType::Invoice, a),
        Err(CacheError::Integrity { .. })
    ));
    assert!(matches!(
        c.get(RecordType::Invoice, b),
        Err(CacheError::Integrity { .. })
    ));
    assert!(matches!(c.list(RecordType::Invoice), Err(CacheError::Integrity { .. })));
    c.wipe().unwrap();
}

#[test]
fn a_flipped_bit_or_edited_clear_column_fails_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let org = Uuid::new_v4();
    let ids: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let path = {
        let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
        let page: Vec<_> = ids
            .iter()
            .map(|id| change(RecordType::Payment, *id, org, 3, json!({"reference": "PAY-1"})))
            .collect();
        c.put_many(&page, "c").unwrap();
        c.path().to_path_buf()
    };
    {
        let db = raw_db(&path);
        // One bit in the ciphertext, one in the nonce, one in the tag.
        for (id, pos) in [(ids[0], 12 + 2), (ids[1], 0), (ids[2], usize::MAX)] {
            let mut s = sealed_of(&db, id);
            let pos = pos.min(s.len() - 1);
            s[pos] ^= 0x01;
            db.execute(
                "UPDATE records SET sealed = ?1 WHERE record_id = ?2",
                rusqlite::params![s, id.to_string()],
            )
            .unwrap();
        }
        // Moving a record to another org in clear breaks its associated data.
        db.execute(
            "UPDATE records SET org_id = ?1 WHERE record_id = ?2",
            rusqlite::params![Uuid::new_v4().to_string(), ids[3].to_string()],
        )
        .unwrap();
    }
    let c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    for id in &ids {
        match c.get(RecordType::Payment, *id) {
            Err(CacheError::Integrity { .. }) => {}
            other => panic!("tampered record {id} opened: {other:?}"),
        }
    }
    c.wipe().unwrap();
}

#[test]
fn another_users_key_fails() {
    let dir = tempfile::tempdir().unwrap();
    let store = keyring();
    let (alice, bob) = (subject(), subject());
    let (id, org) = (Uuid::new_v4(), Uuid::new_v4());
    let (alice_path, bob_path) = {
        let mut a = Cache::open(dir.path(), ISSUER, &alice, store.clone()).unwrap();
        a.put_many(
            &[change(RecordType::User, id, org, 1, json!({"display_name": "Ada"}))],
            "c",
        )
        .unwrap();
        let b = Cache::open(dir.path(), ISSUER, &bob, store.clone()).unwrap();
        assert_ne!(a.path(), b.path(), "one file per user");
        (a.path().to_path_buf(), b.path().to_path_buf())
    };

    // At the envelope: alice's ciphertext does not open with bob's key, nor
    // with alice's key under bob's identity; it does with hers.
    let sealed = sealed_of(&raw_db(&alice_path), id);
    let alice_key = secrets::load_cache_key(store.as_ref(), ISSUER, &alice)
        .unwrap()
        .unwrap();
    let bob_key = secrets::load_cache_key(store.as_ref(), ISSUER, &bob).unwrap().unwrap();
    assert_ne!(alice_key.expose(), bob_key.expose(), "a random key per user");
    let aad_of = |sub: &str| cache::aad(ISSUER, sub, "user", &id.to_string(), &org.to_string(), 1);
    assert!(cache::open(&alice_key, &aad_of(&alice), &sealed).is_some());
    assert!(cache::open(&bob_key, &aad_of(&alice), &sealed).is_none());
    assert!(cache::open(&bob_key, &aad_of(&bob), &sealed).is_none());
    assert!(cache::open(&alice_key, &aad_of(&bob), &sealed).is_none());

    // At the file: alice's file in bob's place is discarded, not read.
    for f in files_of(&bob_path) {
        let _ = std::fs::remove_file(f);
    }
    std::fs::copy(&alice_path, &bob_path).unwrap();
    let b = Cache::open(dir.path(), ISSUER, &bob, store.clone()).unwrap();
    assert_eq!(b.discarded(), Some(&Discarded::KeyMismatch));
    assert_eq!(b.status(), &CacheStatus::Persistent);
    assert!(b.get(RecordType::User, id).unwrap().is_none());
    assert!(b.cursor().unwrap().is_none());
    b.wipe().unwrap();
    Cache::wipe_closed(dir.path(), ISSUER, &alice, store.as_ref()).unwrap();
}

// ---- nothing in clear -------------------------------------------------------

#[test]
fn canary_is_not_in_plaintext_in_the_database_wal_or_journal() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let canary = format!("CANARY-{}", Uuid::new_v4().simple());
    let org = Uuid::new_v4();
    let ids: Vec<Uuid> = (0..50).map(|_| Uuid::new_v4()).collect();
    let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    let page: Vec<_> = ids
        .iter()
        .map(|id| {
            change(
                RecordType::Vendor,
                *id,
                org,
                1,
                json!({"name": canary, "notes": [canary, {"deep": canary}]}),
            )
        })
        .collect();
    c.put_many(&page, &format!("cursor-{canary}")).unwrap();
    // Updates and deletions too (old versions must not linger in free pages).
    let updates: Vec<_> = ids[..10]
        .iter()
        .map(|id| change(RecordType::Vendor, *id, org, 2, json!({"name": canary})))
        .collect();
    c.put_many(&updates, "cursor-2").unwrap();
    let deletions: Vec<_> = ids[10..20]
        .iter()
        .map(|id| deletion(RecordType::Vendor, *id, org, 3))
        .collect();
    c.put_many(&deletions, "cursor-3").unwrap();
    assert_eq!(c.list(RecordType::Vendor).unwrap().len(), 40);

    let path = c.path().to_path_buf();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert!(
        wal.exists() && std::fs::metadata(&wal).unwrap().len() > 0,
        "WAL mode, WAL written"
    );
    assert!(
        assert_not_in_files(&path, &canary) >= 2,
        "database and WAL scanned while open"
    );
    assert_not_in_files(&path, "Acme");
    drop(c);
    assert!(assert_not_in_files(&path, &canary) >= 1, "database scanned after close");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "cache file readable by its owner only");
    }
    let c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    assert_eq!(
        c.get(RecordType::Vendor, ids[0]).unwrap().unwrap().data,
        json!({"name": canary})
    );
    c.wipe().unwrap();
}

#[test]
fn a_revealed_value_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let revealed = format!("canary.{}@customer.test", Uuid::new_v4().simple());
    let (id, org) = (Uuid::new_v4(), Uuid::new_v4());
    let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();

    // What the sync feed carries: the masked form. Stored as such.
    let masked_user = json!({"id": id, "display_name": "C. Customer", "email": masked("c***@customer.test", "email"),
                             "phone": masked("+49 *** 12", "phone"), "address": null});
    c.put_many(&[change(RecordType::User, id, org, 1, masked_user.clone())], "c1")
        .unwrap();
    assert_eq!(c.get(RecordType::User, id).unwrap().unwrap().data, masked_user);

    // A revealed value in place of a mask (top level or nested) is refused,
    // and the page is not applied.
    for data in [
        json!({"id": id, "email": revealed}),
        json!({"id": id, "email": {"value": revealed}}),
        json!({"id": id, "bank": {"iban": revealed}}),
        json!({"id": id, "contacts": [{"email": masked("x", "email")}, {"phone": revealed}]}),
    ] {
        let err = c
            .put_many(&[change(RecordType::User, id, org, 2, data)], "c2")
            .unwrap_err();
        assert!(matches!(err, CacheError::UnmaskedSensitiveField { .. }), "{err:?}");
    }
    assert_eq!(c.get(RecordType::User, id).unwrap().unwrap().data, masked_user);
    assert_eq!(c.cursor().unwrap().as_deref(), Some("c1"));

    let path = c.path().to_path_buf();
    assert_not_in_files(&path, &revealed);
    drop(c);
    assert_not_in_files(&path, &revealed);
    Cache::wipe_closed(dir.path(), ISSUER, &sub, keyring().as_ref()).unwrap();
}

// ---- degraded modes ---------------------------------------------------------

#[test]
fn keyring_unavailable_gives_a_memory_only_cache_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache_dir = dir.path().join("cache");
    let (id, org) = (Uuid::new_v4(), Uuid::new_v4());
    let mut c = Cache::open(&cache_dir, ISSUER, &subject(), Arc::new(UnavailableKeyringForTests)).unwrap();
    match c.status() {
        CacheStatus::MemoryOnly { reason } => {
            assert!(reason.contains("keyring"), "visible reason: {reason}")
        }
        other => panic!("expected memory-only, got {other:?}"),
    }
    c.put_many(
        &[change(RecordType::Org, id, org, 1, json!({"name": "In Memory Ltd"}))],
        "c",
    )
    .unwrap();
    assert_eq!(
        c.get(RecordType::Org, id).unwrap().unwrap().data["name"],
        "In Memory Ltd"
    );
    assert_eq!(c.cursor().unwrap().as_deref(), Some("c"));
    assert!(!c.path().exists());
    assert!(
        dir_entries(&cache_dir).is_empty() && dir_entries(dir.path()).is_empty(),
        "no file at all"
    );
    drop(c);
    assert!(dir_entries(dir.path()).is_empty());
}

#[test]
fn missing_key_discards_the_file_and_starts_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = keyring();
    let sub = subject();
    let (id, org) = (Uuid::new_v4(), Uuid::new_v4());
    {
        let mut c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
        c.put_many(&[change(RecordType::Org, id, org, 1, json!({"name": "Gone"}))], "c")
            .unwrap();
    }
    secrets::delete_cache_key(store.as_ref(), ISSUER, &sub).unwrap();

    let mut c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
    assert_eq!(c.discarded(), Some(&Discarded::KeyMissing));
    assert_eq!(c.status(), &CacheStatus::Persistent, "a new key, a new file");
    assert!(c.get(RecordType::Org, id).unwrap().is_none());
    assert!(c.cursor().unwrap().is_none(), "resync from the start");
    assert!(secrets::load_cache_key(store.as_ref(), ISSUER, &sub).unwrap().is_some());
    c.put_many(
        &[change(RecordType::Org, id, org, 2, json!({"name": "Resynced"}))],
        "c2",
    )
    .unwrap();
    drop(c);
    let c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
    assert_eq!(c.discarded(), None);
    assert_eq!(c.get(RecordType::Org, id).unwrap().unwrap().data["name"], "Resynced");
    c.wipe().unwrap();
}

#[test]
fn a_malformed_key_entry_is_replaced_and_the_file_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let store = keyring();
    let sub = subject();
    drop(Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap());
    store
        .set(&secrets::cache_key_service(ISSUER), &sub, b"not a key")
        .unwrap();
    let c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
    assert_eq!(c.discarded(), Some(&Discarded::KeyInvalid));
    assert_eq!(c.status(), &CacheStatus::Persistent);
    assert!(secrets::load_cache_key(store.as_ref(), ISSUER, &sub).unwrap().is_some());
    c.wipe().unwrap();
}

#[test]
fn corrupt_database_is_discarded_and_resynced_without_a_crash() {
    let store = keyring();
    type Corrupt = fn(&Path);
    let corruptions: [(&str, Corrupt); 3] = [
        ("garbage", |p| {
            std::fs::write(p, b"this is not an SQLite database, just bytes".repeat(200)).unwrap()
        }),
        ("truncated", |p| {
            let bytes = std::fs::read(p).unwrap();
            std::fs::write(p, &bytes[..bytes.len() / 3]).unwrap();
        }),
        ("zeroed pages", |p| {
            let mut bytes = std::fs::read(p).unwrap();
            let n = bytes.len();
            for b in &mut bytes[4096.min(n)..] {
                *b = 0xff;
            }
            std::fs::write(p, &bytes).unwrap();
        }),
    ];
    for (what, corrupt) in corruptions {
        let dir = tempfile::tempdir().unwrap();
        let sub = subject();
        let org = Uuid::new_v4();
        let ids: Vec<Uuid> = (0..200).map(|_| Uuid::new_v4()).collect();
        let path = {
            let mut c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
            let page: Vec<_> = ids
                .iter()
                .map(|id| change(RecordType::Invoice, *id, org, 1, json!({"number": "X".repeat(300)})))
                .collect();
            c.put_many(&page, "c").unwrap();
            c.path().to_path_buf()
        }; // closed: checkpointed into the main file
        corrupt(&path);

        let mut c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
        assert!(
            matches!(c.discarded(), Some(Discarded::Corrupt(_))),
            "{what}: {:?}",
            c.discarded()
        );
        assert_eq!(c.status(), &CacheStatus::Persistent, "{what}");
        assert!(c.list(RecordType::Invoice).unwrap().is_empty(), "{what}");
        assert!(c.cursor().unwrap().is_none(), "{what}");
        c.put_many(
            &[change(RecordType::Invoice, ids[0], org, 2, json!({"number": "again"}))],
            "c2",
        )
        .unwrap();
        assert_eq!(c.list(RecordType::Invoice).unwrap().len(), 1, "{what}");
        c.wipe().unwrap();
    }
}

// ---- sync semantics ---------------------------------------------------------

#[test]
fn a_new_permission_epoch_purges_and_resyncs() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let org = Uuid::new_v4();
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    assert_eq!(c.permission_epoch().unwrap(), None);
    assert!(!c.purge_for_epoch(4).unwrap(), "first epoch: nothing to purge");
    c.put_many(&[change(RecordType::Org, a, org, 1, json!({"name": "A"}))], "e4-c1")
        .unwrap();
    assert!(!c.purge_for_epoch(4).unwrap(), "same epoch keeps everything");
    assert!(c.get(RecordType::Org, a).unwrap().is_some());

    assert!(c.purge_for_epoch(5).unwrap(), "new epoch purges");
    assert_eq!(c.permission_epoch().unwrap(), Some(5));
    assert!(c.get(RecordType::Org, a).unwrap().is_none());
    assert!(c.cursor().unwrap().is_none(), "the old epoch's cursor is gone");
    c.put_many(&[change(RecordType::Org, b, org, 9, json!({"name": "B"}))], "e5-c1")
        .unwrap();
    drop(c);
    let c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    assert_eq!(c.permission_epoch().unwrap(), Some(5));
    assert_eq!(c.cursor().unwrap().as_deref(), Some("e5-c1"));
    assert_eq!(c.list(RecordType::Org).unwrap().len(), 1);
    c.wipe().unwrap();
}

#[test]
fn rows_and_cursor_commit_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let sub = subject();
    let org = Uuid::new_v4();
    let (a, b, c_id) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    c.put_many(&[change(RecordType::Invoice, a, org, 1, json!({"n": 1}))], "cursor-1")
        .unwrap();

    // A page whose third change is invalid: the first two (an upsert and a
    // deletion) must not be applied and the cursor must not move.
    let bad = SyncChange {
        data: None,
        ..change(RecordType::Invoice, c_id, org, 3, json!({}))
    };
    let err = c
        .put_many(
            &[
                change(RecordType::Invoice, b, org, 2, json!({"n": 2})),
                deletion(RecordType::Invoice, a, org, 2),
                bad,
            ],
            "cursor-2",
        )
        .unwrap_err();
    assert!(matches!(err, CacheError::MissingData { .. }), "{err:?}");
    assert_eq!(c.cursor().unwrap().as_deref(), Some("cursor-1"));
    assert!(c.get(RecordType::Invoice, a).unwrap().is_some());
    assert!(c.get(RecordType::Invoice, b).unwrap().is_none());

    // The same holds after reopening (nothing half-written on disk), and a
    // good page then applies in full.
    drop(c);
    let mut c = Cache::open(dir.path(), ISSUER, &sub, keyring()).unwrap();
    assert_eq!(c.cursor().unwrap().as_deref(), Some("cursor-1"));
    assert_eq!(c.list(RecordType::Invoice).unwrap().len(), 1);
    c.put_many(
        &[
            change(RecordType::Invoice, b, org, 2, json!({"n": 2})),
            deletion(RecordType::Invoice, a, org, 2),
        ],
        "cursor-2",
    )
    .unwrap();
    assert_eq!(c.cursor().unwrap().as_deref(), Some("cursor-2"));
    assert_eq!(
        c.list(RecordType::Invoice)
            .unwrap()
            .iter()
            .map(|r| r.record_id)
            .collect::<Vec<_>>(),
        vec![b]
    );

    // An older version does not overwrite a newer one.
    c.put_many(
        &[change(RecordType::Invoice, b, org, 1, json!({"n": "stale"}))],
        "cursor-3",
    )
    .unwrap();
    assert_eq!(c.get(RecordType::Invoice, b).unwrap().unwrap().data, json!({"n": 2}));
    c.wipe().unwrap();
}

// ---- sign-out ---------------------------------------------------------------

#[test]
fn wipe_removes_the_key_from_the_secret_service_and_every_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = keyring();
    let sub = subject();
    let (id, org) = (Uuid::new_v4(), Uuid::new_v4());
    let mut c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
    c.put_many(&[change(RecordType::Org, id, org, 1, json!({"name": "Wipe me"}))], "c")
        .unwrap();
    let path = c.path().to_path_buf();
    assert!(path.exists() && PathBuf::from(format!("{}-wal", path.display())).exists());

    // The key really is in the Secret Service: another process reads it.
    let service = secrets::cache_key_service(ISSUER);
    let stored = secret_tool_lookup(&service, &sub).expect("cache key visible to secret-tool");
    assert_eq!(stored.len(), 64, "a 256-bit key, hex");
    assert!(stored.bytes().all(|b| b.is_ascii_hexdigit()));

    c.wipe().unwrap();
    assert_eq!(secret_tool_lookup(&service, &sub), None, "key gone from the keyring");
    assert!(secrets::load_cache_key(store.as_ref(), ISSUER, &sub).unwrap().is_none());
    for f in files_of(&path) {
        assert!(!f.exists(), "{} left behind", f.display());
    }
    assert!(dir_entries(dir.path()).is_empty(), "{:?}", dir_entries(dir.path()));

    // Opening again after sign-out starts from nothing, without complaint.
    let c = Cache::open(dir.path(), ISSUER, &sub, store.clone()).unwrap();
    assert_eq!(c.discarded(), None);
    assert!(c.get(RecordType::Org, id).unwrap().is_none());
    c.wipe().unwrap();
}

//! The encrypted local cache of the records the signed-in user may see.
//!
//! One SQLite file per (issuer, subject) in the app's data directory, named by
//! a hash of the two (the file name says nothing about the user). Every record
//! is sealed with AES-256-GCM (ring) under a fresh random 96-bit nonce:
//! `sealed = nonce || ciphertext || tag`. The associated data binds issuer,
//! subject, record type, record id, org id, version and the schema version, so
//! a ciphertext moved to another row, another user's file or another schema
//! does not open. Only ids and the version stay in clear (`record_type`,
//! `record_id`, `org_id`, `version`); everything else, including the sync
//! cursor and the permission epoch, is inside a ciphertext. A later local
//! search decrypts into memory (or keeps its own sealed index); there is no
//! clear-text column for it, ever.
//!
//! The key is a random 256-bit key in the OS keyring (`secrets`). No keyring →
//! an in-memory SQLite database ([`CacheStatus::MemoryOnly`]), never a file.
//! A missing key, a key that does not open the file, a corrupt file or another
//! schema version → the file is discarded and the cache starts empty (see
//! [`Cache::discarded`]); the caller syncs from scratch. It never panics.
//!
//! WAL mode with `secure_delete=ON`: deleted rows are overwritten, not left in
//! free pages. Revealed values cannot be stored: the sync feed's data is masked
//! and [`Cache::put_many`] refuses a sensitive field that is not in its masked
//! shape.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use countersign_api::{masked::field_class, Masked, RecordType, SyncChange};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, Connection, OptionalExtension};
use zeroize::Zeroizing;

use crate::secrets::{self, SecretError, SecretStore, Sensitive, CACHE_KEY_LEN};

/// Version of the file layout and of the sealed plaintexts. Part of every
/// record's associated data; a file of another version is discarded.
pub const SCHEMA_VERSION: i64 = 1;

/// The key that seals records; lives in the keyring, in memory only here.
pub type CacheKey = Sensitive<[u8; CACHE_KEY_LEN]>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    /// Sealed records in a file, key in the OS keyring.
    Persistent,
    /// No usable keyring (or no writable directory): an in-memory database,
    /// gone when the app quits. Show `reason` to the user.
    MemoryOnly { reason: String },
}

/// Why an existing cache file was thrown away at open. The cache is then empty
/// and needs a full sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discarded {
    /// The file existed but its key was not in the keyring.
    KeyMissing,
    /// The keyring entry was not a 256-bit key; a new key was made.
    KeyInvalid,
    /// The key in the keyring does not open this file (another user's file,
    /// or a key replaced since).
    KeyMismatch,
    /// The file is not a readable SQLite database of ours.
    Corrupt(String),
    /// The file was written by another schema version.
    SchemaChanged { found: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("cache file error: {0}")]
    Io(#[from] std::io::Error),
    #[error("keyring: {0}")]
    Keyring(#[from] SecretError),
    /// A sealed value does not open: tampered, moved between rows, or sealed
    /// under another key. Discard the cache ([`Cache::reset`]) and resync.
    #[error("cache integrity failure: {what} does not open")]
    Integrity { what: String },
    #[error("change {record_id} is not deleted but has no data")]
    MissingData { record_id: uuid::Uuid },
    /// A sensitive field arrived unmasked (a revealed value): never cached.
    #[error("refusing to cache unmasked sensitive field `{field}` of {record_id}")]
    UnmaskedSensitiveField { record_id: uuid::Uuid, field: String },
    #[error("cache encoding error: {0}")]
    Encoding(String),
    #[error("random number generator failed")]
    Rng,
    /// The search index could not be built from the cache (on its own thread).
    #[error("search index: {0}")]
    Index(String),
}

/// A record as the cache holds it (data decrypted; masked as it came).
#[derive(Debug, Clone, PartialEq)]
pub struct CachedRecord {
    pub record_type: RecordType,
    pub record_id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    pub version: i64,
    pub data: serde_json::Value,
}

pub struct Cache {
    conn: Connection,
    key: CacheKey,
    issuer: String,
    subject: String,
    path: PathBuf,
    secrets: Arc<dyn SecretStore>,
    status: CacheStatus,
    discarded: Option<Discarded>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("path", &self.path)
            .field("status", &self.status)
            .field("discarded", &self.discarded)
            .finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    record_type TEXT    NOT NULL,
    record_id   TEXT    NOT NULL,
    org_id      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    sealed      BLOB    NOT NULL,
    PRIMARY KEY (record_type, record_id)
) WITHOUT ROWID;
";

// `meta` rows. schema_version is in clear (needed before any key); the others
// are sealed like records, with record type `meta` and the name as id.
const META_SCHEMA_VERSION: &str = "schema_version";
const META_KEY_CHECK: &str = "key_check";
const META_CURSOR: &str = "cursor";
const META_EPOCH: &str = "permission_epoch";
/// When the last sync page was applied (unix seconds): the age of offline reads.
const META_SYNCED_AT: &str = "synced_at";
const KEY_CHECK_PLAINTEXT: &[u8] = b"countersign cache key check";

impl Cache {
    /// The cache file of (issuer, subject) in `dir`.
    pub fn path_for(dir: &Path, issuer: &str, subject: &str) -> PathBuf {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [issuer.as_bytes(), subject.as_bytes()] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        let digest = ctx.finish();
        let name: String = digest.as_ref()[..16].iter().map(|b| format!("{b:02x}")).collect();
        dir.join(format!("cache-{name}.sqlite3"))
    }

    /// Opens (or creates) the cache of (issuer, subject) in `dir`. Falls back to
    /// memory-only when the keyring cannot be used, and discards a file it
    /// cannot trust. Errors only if not even an in-memory database opens.
    pub fn open(dir: &Path, issuer: &str, subject: &str, secrets: Arc<dyn SecretStore>) -> Result<Cache, CacheError> {
        let path = Self::path_for(dir, issuer, subject);
        let mut discarded = None;

        let key = match secrets::load_cache_key(secrets.as_ref(), issuer, subject) {
            Ok(Some(key)) => Some(key),
            Ok(None) => {
                if any_file_exists(&path) {
                    discarded = Some(Discarded::KeyMissing);
                }
                None
            }
            Err(SecretError::Invalid(_)) => {
                discarded = Some(Discarded::KeyInvalid);
                None
            }
            Err(e @ SecretError::Unavailable(_)) => {
                return Self::memory_only(issuer, subject, path, secrets, e.to_string());
            }
        };

        let key = match key {
            Some(key) => key,
            None => {
                // A new key means any old file is unreadable: remove it first.
                if let Err(e) = remove_db_files(&path) {
                    return Self::memory_only(issuer, subject, path, secrets, format!("cannot remove old cache: {e}"));
                }
                let key = random_key()?;
                if let Err(e) = secrets::store_cache_key(secrets.as_ref(), issuer, subject, &key) {
                    return Self::memory_only(issuer, subject, path, secrets, e.to_string());
                }
                key
            }
        };

        match open_file(&path, &key, issuer, subject) {
            Ok(conn) => Ok(Self::build(
                conn,
                key,
                issuer,
                subject,
                path,
                secrets,
                CacheStatus::Persistent,
                discarded,
            )),
            Err(reason) => {
                // Untrusted file: throw it away and start empty with the same key.
                let discarded = Some(reason);
                let fresh = remove_db_files(&path)
                    .map_err(|e| e.to_string())
                    .and_then(|()| open_file(&path, &key, issuer, subject).map_err(|d| format!("{d:?}")));
                match fresh {
                    Ok(conn) => Ok(Self::build(
                        conn,
                        key,
                        issuer,
                        subject,
                        path,
                        secrets,
                        CacheStatus::Persistent,
                        discarded,
                    )),
                    Err(e) => {
                        let mut cache = Self::memory_only(
                            issuer,
                            subject,
                            path,
                            secrets,
                            format!("cannot create cache file: {e}"),
                        )?;
                        cache.discarded = discarded;
                        Ok(cache)
                    }
                }
            }
        }
    }

    fn memory_only(
        issuer: &str,
        subject: &str,
        path: PathBuf,
        secrets: Arc<dyn SecretStore>,
        reason: String,
    ) -> Result<Cache, CacheError> {
        let key = random_key()?;
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;")?;
        conn.execute_batch(SCHEMA)?;
        let status = CacheStatus::MemoryOnly { reason };
        Ok(Self::build(conn, key, issuer, subject, path, secrets, status, None))
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        conn: Connection,
        key: CacheKey,
        issuer: &str,
        subject: &str,
        path: PathBuf,
        secrets: Arc<dyn SecretStore>,
        status: CacheStatus,
        discarded: Option<Discarded>,
    ) -> Cache {
        Cache {
            conn,
            key,
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            path,
            secrets,
            status,
            discarded,
        }
    }

    /// A second, read-only handle on the same file, for reading beside this
    /// one on another thread (the search index is built that way after a
    /// start, while this handle serves the screens). WAL gives it a snapshot
    /// and lets the writer go on. `None` for a memory-only cache: no other
    /// connection can see its database.
    pub fn reader(&self) -> Result<Option<Cache>, CacheError> {
        if self.status != CacheStatus::Persistent {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Ok(Some(Self::build(
            conn,
            self.key.clone(),
            &self.issuer,
            &self.subject,
            self.path.clone(),
            self.secrets.clone(),
            self.status.clone(),
            None,
        )))
    }

    pub fn status(&self) -> &CacheStatus {
        &self.status
    }

    /// Set when open threw away an existing file: the cache is empty and needs
    /// a full sync.
    pub fn discarded(&self) -> Option<&Discarded> {
        self.discarded.as_ref()
    }

    /// The database file (it does not exist when memory-only).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Applies one page of the sync feed — upserts and deletions — and stores
    /// `cursor`, all in one transaction: after a crash or an error either the
    /// whole page and its cursor are there, or neither. An older version than
    /// the cached one is ignored.
    pub fn put_many(&mut self, changes: &[SyncChange], cursor: &str) -> Result<(), CacheError> {
        let tx = self.conn.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO records (record_type, record_id, org_id, version, sealed)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (record_type, record_id) DO UPDATE
                 SET org_id = excluded.org_id, version = excluded.version, sealed = excluded.sealed
                 WHERE excluded.version >= records.version",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM records WHERE record_type = ?1 AND record_id = ?2")?;
            for change in changes {
                let rt = record_type_str(change.record_type);
                let id = change.record_id.to_string();
                if change.deleted {
                    delete.execute(params![rt, id])?;
                    continue;
                }
                let data = change.data.as_ref().ok_or(CacheError::MissingData {
                    record_id: change.record_id,
                })?;
                if let Some(field) = unmasked_sensitive_field(data) {
                    return Err(CacheError::UnmaskedSensitiveField {
                        record_id: change.record_id,
                        field,
                    });
                }
                let plaintext =
                    Zeroizing::new(serde_json::to_vec(data).map_err(|e| CacheError::Encoding(e.to_string()))?);
                let org = change.org_id.to_string();
                let aad = aad(&self.issuer, &self.subject, rt, &id, &org, change.version);
                let sealed = seal(&self.key, &aad, &plaintext)?;
                upsert.execute(params![rt, id, org, change.version, sealed])?;
            }
        }
        put_meta(
            &tx,
            &self.key,
            &self.issuer,
            &self.subject,
            META_CURSOR,
            cursor.as_bytes(),
        )?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        put_meta(
            &tx,
            &self.key,
            &self.issuer,
            &self.subject,
            META_SYNCED_AT,
            &now.to_be_bytes(),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// When the cache last received a sync page, if ever.
    pub fn synced_at(&self) -> Result<Option<std::time::SystemTime>, CacheError> {
        let raw = get_meta(&self.conn, &self.key, &self.issuer, &self.subject, META_SYNCED_AT)?;
        Ok(raw
            .and_then(|b| <[u8; 8]>::try_from(&b[..]).ok())
            .map(|b| std::time::UNIX_EPOCH + std::time::Duration::from_secs(i64::from_be_bytes(b).max(0) as u64)))
    }

    /// One record, or `None` when not cached. `Integrity` when its ciphertext
    /// does not open under its row's associated data.
    pub fn get(&self, record_type: RecordType, record_id: uuid::Uuid) -> Result<Option<CachedRecord>, CacheError> {
        let rt = record_type_str(record_type);
        let row = self
            .conn
            .query_row(
                "SELECT record_id, org_id, version, sealed FROM records WHERE record_type = ?1 AND record_id = ?2",
                params![rt, record_id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(id, org, version, sealed)| self.decode(record_type, &id, &org, version, &sealed))
            .transpose()
    }

    /// Every cached record of a type, by id.
    pub fn list(&self, record_type: RecordType) -> Result<Vec<CachedRecord>, CacheError> {
        self.select(record_type, None)
    }

    /// Every cached record of a type, by id, decrypted one at a time and handed to `each`: the
    /// decrypted records are never all in memory together (what the search index reads).
    pub fn for_each(&self, record_type: RecordType, mut each: impl FnMut(CachedRecord)) -> Result<(), CacheError> {
        self.select_each(record_type, None, &mut each)
    }

    /// The cached records of a type in one org, by id. Only that org's rows
    /// are decrypted (`org_id` is kept in clear beside each sealed row).
    pub fn list_in_org(&self, record_type: RecordType, org_id: uuid::Uuid) -> Result<Vec<CachedRecord>, CacheError> {
        self.select(record_type, Some(org_id))
    }

    /// How many records of a type are cached (in one org, or in all).
    pub fn count(&self, record_type: RecordType, org_id: Option<uuid::Uuid>) -> Result<u64, CacheError> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM records WHERE record_type = ?1 AND (?2 IS NULL OR org_id = ?2)",
            params![record_type_str(record_type), org_id.map(|o| o.to_string())],
            |r| r.get(0),
        )?;
        Ok(n.max(0) as u64)
    }

    /// Bytes on disk (the database and its journal files; 0 in memory).
    pub fn size_on_disk(&self) -> u64 {
        if self.status != CacheStatus::Persistent {
            return 0;
        }
        sidecars(&self.path)
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    fn select(&self, record_type: RecordType, org_id: Option<uuid::Uuid>) -> Result<Vec<CachedRecord>, CacheError> {
        let mut out = Vec::new();
        self.select_each(record_type, org_id, &mut |r| out.push(r))?;
        Ok(out)
    }

    fn select_each(
        &self,
        record_type: RecordType,
        org_id: Option<uuid::Uuid>,
        each: &mut dyn FnMut(CachedRecord),
    ) -> Result<(), CacheError> {
        let rt = record_type_str(record_type);
        let mut stmt = self.conn.prepare_cached(
            "SELECT record_id, org_id, version, sealed FROM records WHERE record_type = ?1 AND (?2 IS NULL OR org_id = \
                ?2) ORDER BY record_id",
        )?;
        let rows = stmt.query_map(params![rt, org_id.map(|o| o.to_string())], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Vec<u8>>(3)?,
            ))
        })?;
        for row in rows {
            let (id, org, version, sealed) = row?;
            each(self.decode(record_type, &id, &org, version, &sealed)?);
        }
        Ok(())
    }

    fn decode(
        &self,
        record_type: RecordType,
        id: &str,
        org: &str,
        version: i64,
        sealed: &[u8],
    ) -> Result<CachedRecord, CacheError> {
        let rt = record_type_str(record_type);
        let what = || format!("{rt} {id}");
        let aad = aad(&self.issuer, &self.subject, rt, id, org, version);
        let plaintext = open(&self.key, &aad, sealed).ok_or_else(|| CacheError::Integrity { what: what() })?;
        let data = serde_json::from_slice(&plaintext).map_err(|_| CacheError::Integrity { what: what() })?;
        Ok(CachedRecord {
            record_type,
            record_id: id.parse().map_err(|_| CacheError::Integrity { what: what() })?,
            org_id: org.parse().map_err(|_| CacheError::Integrity { what: what() })?,
            version,
            data,
        })
    }

    /// The sync cursor stored with the last applied page.
    pub fn cursor(&self) -> Result<Option<String>, CacheError> {
        let Some(bytes) = get_meta(&self.conn, &self.key, &self.issuer, &self.subject, META_CURSOR)? else {
            return Ok(None);
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| CacheError::Integrity { what: "cursor".into() })
    }

    /// The permission epoch the cached records were synced under.
    pub fn permission_epoch(&self) -> Result<Option<i64>, CacheError> {
        let Some(bytes) = get_meta(&self.conn, &self.key, &self.issuer, &self.subject, META_EPOCH)? else {
            return Ok(None);
        };
        let arr: [u8; 8] = bytes.as_slice().try_into().map_err(|_| CacheError::Integrity {
            what: "permission_epoch".into(),
        })?;
        Ok(Some(i64::from_be_bytes(arr)))
    }

    /// Call with the `permission_epoch` of every sync page (and of `/v1/me`)
    /// before applying it. When it differs from the cached one, every record
    /// and the cursor are purged in one transaction and the new epoch stored;
    /// returns `true` if something was purged (sync again from no cursor).
    pub fn purge_for_epoch(&mut self, epoch: i64) -> Result<bool, CacheError> {
        let current = self.permission_epoch()?;
        if current == Some(epoch) {
            return Ok(false);
        }
        let tx = self.conn.transaction()?;
        let purged_rows = tx.execute("DELETE FROM records", [])?;
        let purged_cursor = tx.execute("DELETE FROM meta WHERE name = ?1", params![META_CURSOR])?;
        put_meta(
            &tx,
            &self.key,
            &self.issuer,
            &self.subject,
            META_EPOCH,
            &epoch.to_be_bytes(),
        )?;
        tx.commit()?;
        Ok(current.is_some() || purged_rows > 0 || purged_cursor > 0)
    }

    /// Empties the cache (records, cursor, epoch), keeping file and key. For
    /// an [`CacheError::Integrity`] failure: reset and sync again.
    pub fn reset(&mut self) -> Result<(), CacheError> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM records", [])?;
        tx.execute(
            "DELETE FROM meta WHERE name IN (?1, ?2)",
            params![META_CURSOR, META_EPOCH],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Sign-out: closes the database, deletes its files (incl. `-wal`, `-shm`,
    /// `-journal`) and the key in the keyring. Everything is attempted; the
    /// first failure is returned.
    pub fn wipe(self) -> Result<(), CacheError> {
        let Cache {
            conn,
            issuer,
            subject,
            path,
            secrets,
            ..
        } = self;
        let closed = conn.close().map_err(|(_, e)| CacheError::from(e));
        let removed = Self::destroy(&path, &issuer, &subject, secrets.as_ref());
        closed.and(removed)
    }

    /// Sign-out without an open cache: deletes the key of (issuer, subject)
    /// from the keyring and the cache files in `dir`.
    pub fn wipe_closed(dir: &Path, issuer: &str, subject: &str, secrets: &dyn SecretStore) -> Result<(), CacheError> {
        Self::destroy(&Self::path_for(dir, issuer, subject), issuer, subject, secrets)
    }

    fn destroy(path: &Path, issuer: &str, subject: &str, secrets: &dyn SecretStore) -> Result<(), CacheError> {
        let files = remove_db_files(path).map_err(CacheError::from);
        let key = secrets::delete_cache_key(secrets, issuer, subject).map_err(CacheError::from);
        files.and(key)
    }
}

// ---- files ------------------------------------------------------------------

fn sidecars(path: &Path) -> [PathBuf; 4] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), with("-wal"), with("-shm"), with("-journal")]
}

fn any_file_exists(path: &Path) -> bool {
    sidecars(path).iter().any(|p| p.exists())
}

fn remove_db_files(path: &Path) -> std::io::Result<()> {
    for p in sidecars(path) {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Opens or creates the file and checks it is ours, of this schema, under this
/// key. Any failure says why the file must be discarded.
fn open_file(path: &Path, key: &CacheKey, issuer: &str, subject: &str) -> Result<Connection, Discarded> {
    let corrupt = |e: &dyn fmt::Display| Discarded::Corrupt(e.to_string());
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(|e| corrupt(&e))?;
    }
    let existed = path.exists();
    if !existed {
        create_private_file(path).map_err(|e| corrupt(&e))?;
    }
    let conn = Connection::open(path).map_err(|e| corrupt(&e))?;
    let journal: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(|e| corrupt(&e))?;
    if !journal.eq_ignore_ascii_case("wal") {
        return Err(Discarded::Corrupt(format!("journal mode {journal}")));
    }
    conn.execute_batch("PRAGMA secure_delete = ON; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY;")
        .map_err(|e| corrupt(&e))?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(|e| corrupt(&e))?;
    if check != "ok" {
        return Err(Discarded::Corrupt(check));
    }
    conn.execute_batch(SCHEMA).map_err(|e| corrupt(&e))?;

    let version: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![META_SCHEMA_VERSION],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| corrupt(&e))?;
    match version {
        None => {
            // A new file (or one that never finished being created): it must be empty.
            let rows: i64 = conn
                .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
                .map_err(|e| corrupt(&e))?;
            if rows > 0 {
                return Err(Discarded::Corrupt("records without a schema version".into()));
            }
            let mut conn = conn;
            let tx = conn.transaction().map_err(|e| corrupt(&e))?;
            tx.execute("DELETE FROM meta", []).map_err(|e| corrupt(&e))?;
            tx.execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2)",
                params![META_SCHEMA_VERSION, SCHEMA_VERSION.to_be_bytes().to_vec()],
            )
            .map_err(|e| corrupt(&e))?;
            put_meta(&tx, key, issuer, subject, META_KEY_CHECK, KEY_CHECK_PLAINTEXT).map_err(|e| corrupt(&e))?;
            tx.commit().map_err(|e| corrupt(&e))?;
            Ok(conn)
        }
        Some(bytes) => {
            let arr: [u8; 8] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| Discarded::Corrupt("schema version".into()))?;
            let found = i64::from_be_bytes(arr);
            if found != SCHEMA_VERSION {
                return Err(Discarded::SchemaChanged { found });
            }
            match get_meta(&conn, key, issuer, subject, META_KEY_CHECK) {
                Ok(Some(check)) if check.as_slice() == KEY_CHECK_PLAINTEXT => Ok(conn),
                Ok(None) => Err(Discarded::Corrupt("no key check".into())),
                Ok(Some(_)) | Err(CacheError::Integrity { .. }) => Err(Discarded::KeyMismatch),
                Err(e) => Err(corrupt(&e)),
            }
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// SQLite gives `-wal`/`-shm` the main file's permissions, so 0600 here covers them.
fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

// ---- sealing ----------------------------------------------------------------

fn random_key() -> Result<CacheKey, CacheError> {
    let mut key = Sensitive::new([0u8; CACHE_KEY_LEN]);
    SystemRandom::new()
        .fill(key.expose_mut())
        .map_err(|_| CacheError::Rng)?;
    Ok(key)
}

/// The associated data of a sealed value: a domain tag and length-prefixed
/// fields, so no two field lists encode the same bytes.
pub fn aad(issuer: &str, subject: &str, record_type: &str, record_id: &str, org_id: &str, version: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    let mut field = |b: &[u8]| {
        out.extend_from_slice(&(b.len() as u32).to_be_bytes());
        out.extend_from_slice(b);
    };
    field(b"countersign-cache");
    field(&SCHEMA_VERSION.to_be_bytes());
    field(issuer.as_bytes());
    field(subject.as_bytes());
    field(record_type.as_bytes());
    field(record_id.as_bytes());
    field(org_id.as_bytes());
    field(&version.to_be_bytes());
    out
}

fn aead_key(key: &CacheKey) -> LessSafeKey {
    // 32 bytes is always a valid AES-256 key.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.expose()).expect("AES-256 key length"))
}

/// `nonce || AES-256-GCM(plaintext) || tag` under a fresh random nonce.
pub fn seal(key: &CacheKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CacheError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new().fill(&mut nonce).map_err(|_| CacheError::Rng)?;
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + AES_256_GCM.tag_len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = aead_key(key)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CacheError::Encoding("seal failed".into()))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens what [`seal`] made; `None` if anything (key, aad, one bit) differs.
pub fn open(key: &CacheKey, aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + AES_256_GCM.tag_len() {
        return None;
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Zeroizing::new(ciphertext.to_vec());
    let len = aead_key(key)
        .open_in_place(nonce, Aad::from(aad), buf.as_mut_slice())
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

fn put_meta(
    conn: &Connection,
    key: &CacheKey,
    issuer: &str,
    subject: &str,
    name: &str,
    value: &[u8],
) -> Result<(), CacheError> {
    let sealed = seal(key, &aad(issuer, subject, "meta", name, "", 0), value)?;
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        params![name, sealed],
    )?;
    Ok(())
}

fn get_meta(
    conn: &Connection,
    key: &CacheKey,
    issuer: &str,
    subject: &str,
    name: &str,
) -> Result<Option<Zeroizing<Vec<u8>>>, CacheError> {
    let sealed: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE name = ?1", params![name], |r| r.get(0))
        .optional()?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    open(key, &aad(issuer, subject, "meta", name, "", 0), &sealed)
        .map(Some)
        .ok_or_else(|| CacheError::Integrity { what: name.to_owned() })
}

fn record_type_str(t: RecordType) -> &'static str {
    match t {
        RecordType::Org => "org",
        RecordType::User => "user",
        RecordType::Invoice => "invoice",
        RecordType::Vendor => "vendor",
        RecordType::Payment => "payment",
    }
}

/// The first sensitive field (by name, anywhere in `data`) that is neither
/// null nor in the masked shape `{masked, field, revealable}`.
fn unmasked_sensitive_field(data: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match data {
        Value::Object(map) => map.iter().find_map(|(name, value)| {
            if field_class(name).is_some() {
                let masked_shape =
                    value.is_null() || (value.is_object() && serde_json::from_value::<Masked>(value.clone()).is_ok());
                if !masked_shape {
                    return Some(name.clone());
                }
                None
            } else {
                unmasked_sensitive_field(value)
            }
        }),
        Value::Array(items) => items.iter().find_map(unmasked_sensitive_field),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_type_names_match_the_wire() {
        for t in [
            RecordType::Org,
            RecordType::User,
            RecordType::Invoice,
            RecordType::Vendor,
            RecordType::Payment,
        ] {
            assert_eq!(
                serde_json::to_value(t).unwrap(),
                serde_json::Value::String(record_type_str(t).into())
            );
        }
    }

    #[test]
    fn unmasked_sensitive_fields_are_found_anywhere() {
        let masked = serde_json::json!({"masked": "j***@x.io", "field": "email", "revealable": true});
        assert_eq!(
            unmasked_sensitive_field(&serde_json::json!({"email": masked, "phone": null})),
            None
        );
        assert_eq!(
            unmasked_sensitive_field(&serde_json::json!({"email": "j@x.io"})),
            Some("email".into())
        );
        assert_eq!(
            unmasked_sensitive_field(&serde_json::json!({"items": [{"vendor": {"iban": {"value": "DE00"}}}]})),
            Some("iban".into())
        );
    }

    #[test]
    fn aad_fields_are_unambiguous() {
        assert_ne!(aad("ab", "c", "user", "1", "o", 1), aad("a", "bc", "user", "1", "o", 1));
    }
}

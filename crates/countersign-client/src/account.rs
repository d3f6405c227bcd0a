//! One signed-in user: the session (tokens), the API client over it, the
//! encrypted cache and the search index over the cache. The desktop app's
//! commands are one-liners over this.
//!
//! Sign-out, whether the user's or forced by a refused refresh, leaves
//! nothing behind: the refresh token revoked (when there still is one) and
//! deleted from the keyring, the cache key deleted, the cache files removed.

use crate::api_client::{ApiClient, ClientError, ClientOptions};
use crate::browser::Browser;
use crate::cache::{Cache, CacheError, CacheStatus};
use crate::error::{Code, HasCode};
use crate::oidc::{Identity, Provider};
use crate::search::{Hit, SearchIndex};
use crate::secrets::SecretStore;
use crate::session::{Persistence, Session, SessionError};
use crate::sync::{self, Outcome, Progress, SourceError, SyncError};
use countersign_api::{RecordType, RevealRequest, RevealResponse};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Mutex;

/// Where the app signs in and which API it talks to.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub issuer: String,
    pub client_id: String,
    /// The API's audience (sent as RFC 8707 `resource` when it is a URI).
    pub audience: Option<String>,
    /// Loopback ports registered at the issuer for the redirect; empty = any.
    pub redirect_ports: Vec<u16>,
    /// What the sign-in asks for; empty = the client's default.
    pub scopes: Vec<String>,
    pub api_url: String,
    pub api_options: ClientOptions,
    /// How long sign-in waits for the browser.
    pub sign_in_timeout: Duration,
}

impl ClientConfig {
    pub fn new(issuer: impl Into<String>, client_id: impl Into<String>, api_url: impl Into<String>) -> ClientConfig {
        ClientConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            audience: None,
            redirect_ports: Vec::new(),
            scopes: Vec::new(),
            api_url: api_url.into(),
            api_options: ClientOptions::default(),
            sign_in_timeout: crate::oidc::DEFAULT_TIMEOUT,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Cache(#[from] CacheError),
}

impl HasCode for AccountError {
    /// Stable code for the UI.
    fn code(&self) -> Code {
        match self {
            AccountError::Session(e) => e.code(),
            AccountError::Client(e) => e.code(),
            AccountError::Sync(SyncError::Source(SourceError::Client(e))) => e.code(),
            AccountError::Sync(SyncError::Source(SourceError::Refused(c))) => (*c).into(),
            AccountError::Sync(SyncError::Source(SourceError::Unreachable(_))) => Code::Offline,
            AccountError::Sync(_) | AccountError::Cache(_) => Code::CacheUnavailable,
        }
    }
}

pub struct Account {
    session: Arc<Session>,
    api: ApiClient,
    /// `None` once wiped (signed out).
    cache: Mutex<Option<Cache>>,
    index: Arc<IndexSlot>,
    cache_dir: PathBuf,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Account {
    /// Signs in through `browser` (the system browser in the app) and opens
    /// the user's cache in `cache_dir`.
    pub async fn sign_in(
        config: &ClientConfig,
        browser: &dyn Browser,
        secrets: Arc<dyn SecretStore>,
        cache_dir: &Path,
    ) -> Result<Account, AccountError> {
        let provider = Provider::discover(&config.issuer, &config.client_id)
            .await
            .map_err(SessionError::from)?
            .with_scopes(&config.scopes);
        let tokens = provider
            .sign_in(config.audience.as_deref(), &config.redirect_ports)
            .await
            .map_err(SessionError::from)?
            .with_timeout(config.sign_in_timeout)
            .run(browser)
            .await
            .map_err(SessionError::from)?;
        Self::open(config, Session::begin(provider, secrets, tokens), cache_dir)
    }

    /// Resumes `subject`'s saved session (app start).
    pub async fn resume(
        config: &ClientConfig,
        secrets: Arc<dyn SecretStore>,
        subject: &str,
        cache_dir: &Path,
    ) -> Result<Account, AccountError> {
        let provider = Provider::discover(&config.issuer, &config.client_id)
            .await
            .map_err(SessionError::from)?;
        Self::open(config, Session::resume(provider, secrets, subject).await?, cache_dir)
    }

    /// Puts a session, its API client and its cache together.
    pub fn open(config: &ClientConfig, session: Session, cache_dir: &Path) -> Result<Account, AccountError> {
        let session = Arc::new(session);
        let api = ApiClient::with_options(&config.api_url, session.clone(), config.api_options.clone())?;
        let id = session.identity();
        let cache = Cache::open(cache_dir, &id.issuer, &id.subject, session.secrets().clone())?;
        let index = Arc::new(IndexSlot::default());
        // The index of a full cache takes ~0.5 s of decryption (100,000
        // records): built on its own thread from a second handle, so a start
        // shows the home screen without it; a search waits for it.
        match cache.reader()? {
            Some(reader) => {
                let (slot, generation) = (index.clone(), index.begin());
                let build = move || {
                    lowest_cpu_priority();
                    slot.install(generation, SearchIndex::build(&reader).map_err(|e| e.to_string()))
                };
                std::thread::Builder::new()
                    .name("search-index".into())
                    .spawn(build)
                    .map_err(CacheError::Io)?;
            }
            None => index.install(index.begin(), Ok(SearchIndex::build(&cache)?)),
        }
        Ok(Account {
            session,
            api,
            cache: Mutex::new(Some(cache)),
            index,
            cache_dir: cache_dir.to_owned(),
        })
    }

    pub fn identity(&self) -> &Identity {
        self.session.identity()
    }
    pub fn session(&self) -> &Session {
        &self.session
    }
    /// The API client, authenticated by this session.
    pub fn api(&self) -> &ApiClient {
        &self.api
    }
    /// Where the refresh token is kept (keyring or memory only).
    pub fn persistence(&self) -> &Persistence {
        self.session.persistence()
    }
    /// `None` once signed out.
    pub async fn cache_status(&self) -> Option<CacheStatus> {
        self.cache.lock().await.as_ref().map(|c| c.status().clone())
    }
    /// The cache file (memory-only caches have none on disk).
    pub fn cache_path(&self) -> PathBuf {
        let id = self.session.identity();
        Cache::path_for(&self.cache_dir, &id.issuer, &id.subject)
    }

    /// Brings the cache up to date with `/v1/sync` and rebuilds the search
    /// index. A session that ended meanwhile wipes the cache.
    pub async fn sync(&self, progress: impl FnMut(Progress)) -> Result<Outcome, AccountError> {
        let mut guard = self.cache.lock().await;
        let Some(cache) = guard.as_mut() else {
            return Err(signed_out());
        };
        match sync::run(cache, &self.api, progress).await {
            Ok(outcome) => {
                // Rebuilding decrypts every record (about a second of CPU
                // for 100,000): only when the sync changed something, not on
                // every timer tick while someone types in the search box.
                if outcome.applied > 0 || outcome.purged {
                    let generation = self.index.begin();
                    match SearchIndex::build(cache) {
                        Ok(index) => self.index.install(generation, Ok(index)),
                        Err(e) => {
                            self.index.install(generation, Err(e.to_string()));
                            return Err(e.into());
                        }
                    }
                }
                Ok(outcome)
            }
            Err(SyncError::Source(SourceError::Client(e @ ClientError::SignedOut(_)))) => {
                if let Some(cache) = guard.take() {
                    self.clear_index();
                    cache.wipe()?;
                }
                Err(AccountError::Client(e))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Local search over the cache (as of the last sync). Right after a
    /// start it waits for the index to be built.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, AccountError> {
        self.index.search(query, limit).await
    }

    /// An audited reveal. The value goes to the caller only: never into the
    /// cache or the index.
    pub async fn reveal(&self, req: &RevealRequest) -> Result<RevealResponse, AccountError> {
        Ok(self.api.reveal(req).await?)
    }

    /// The cached records of a type in one org, decoded (as of the last sync).
    pub async fn records_in_org<T: serde::de::DeserializeOwned>(
        &self,
        record_type: RecordType,
        org_id: uuid::Uuid,
    ) -> Result<Vec<T>, AccountError> {
        let guard = self.cache.lock().await;
        let cache = guard.as_ref().ok_or_else(signed_out)?;
        cache
            .list_in_org(record_type, org_id)?
            .into_iter()
            .map(|r| decode(r.data))
            .collect()
    }

    /// Every cached record of a type, decoded.
    pub async fn records<T: serde::de::DeserializeOwned>(
        &self,
        record_type: RecordType,
    ) -> Result<Vec<T>, AccountError> {
        let guard = self.cache.lock().await;
        let cache = guard.as_ref().ok_or_else(signed_out)?;
        cache.list(record_type)?.into_iter().map(|r| decode(r.data)).collect()
    }

    /// One cached record, decoded; `None` when the cache does not hold it.
    pub async fn record<T: serde::de::DeserializeOwned>(
        &self,
        record_type: RecordType,
        id: uuid::Uuid,
    ) -> Result<Option<T>, AccountError> {
        let guard = self.cache.lock().await;
        let cache = guard.as_ref().ok_or_else(signed_out)?;
        cache.get(record_type, id)?.map(|r| decode(r.data)).transpose()
    }

    /// How many records of a type are cached (in one org, or in all).
    pub async fn count(&self, record_type: RecordType, org_id: Option<uuid::Uuid>) -> Result<u64, AccountError> {
        let guard = self.cache.lock().await;
        Ok(guard.as_ref().ok_or_else(signed_out)?.count(record_type, org_id)?)
    }

    /// When the last sync page was applied, and the bytes on disk.
    pub async fn cache_facts(&self) -> Result<(Option<std::time::SystemTime>, u64), AccountError> {
        let guard = self.cache.lock().await;
        let cache = guard.as_ref().ok_or_else(signed_out)?;
        Ok((cache.synced_at()?, cache.size_on_disk()))
    }

    /// Deletes the cache (file and key) and opens an empty one under a new
    /// key; the session stays. The next sync starts from the beginning.
    pub async fn wipe_cache(&self) -> Result<(), AccountError> {
        let mut guard = self.cache.lock().await;
        self.clear_index();
        if let Some(cache) = guard.take() {
            cache.wipe()?;
        }
        let id = self.session.identity();
        *guard = Some(Cache::open(
            &self.cache_dir,
            &id.issuer,
            &id.subject,
            self.session.secrets().clone(),
        )?);
        Ok(())
    }

    /// Signs out: revokes at the provider, deletes the keyring entries (refresh
    /// token, cache key) and the cache files. Every step is attempted; the
    /// first failure is returned.
    pub async fn sign_out(&self) -> Result<(), AccountError> {
        let session = self.session.sign_out().await.map_err(AccountError::from);
        self.clear_index();
        let id = self.session.identity();
        let cache = match self.cache.lock().await.take() {
            Some(cache) => cache.wipe(),
            None => Cache::wipe_closed(
                &self.cache_dir,
                &id.issuer,
                &id.subject,
                self.session.secrets().as_ref(),
            ),
        }
        .map_err(AccountError::from);
        session.and(cache)
    }

    fn clear_index(&self) {
        self.index
            .install(self.index.begin(), Ok(SearchIndex::from_records(Vec::new())));
    }
}

/// This thread yields the CPU to every other: the index is built while the
/// window paints its first screens, and on two cores a build at normal
/// priority took a core from WebKit and delayed them (scripts/bench app).
fn lowest_cpu_priority() {
    // Linux keeps a nice value per thread: PRIO_PROCESS with 0 is this thread.
    #[cfg(target_os = "linux")]
    // SAFETY: plain integers in and out; no memory is shared with the call.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

/// The search index, and whether it is built yet. Every build takes a
/// generation first and only the latest build's result is kept: an index
/// finished on its thread after a sync (or a wipe) installed a newer one is
/// dropped, not put back over it.
struct IndexSlot {
    built: RwLock<Option<Result<SearchIndex, String>>>,
    generation: AtomicU64,
    ready: tokio::sync::watch::Sender<bool>,
}

impl Default for IndexSlot {
    fn default() -> Self {
        IndexSlot {
            built: RwLock::new(None),
            generation: AtomicU64::new(0),
            ready: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl IndexSlot {
    fn begin(&self) -> u64 {
        self.generation.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// A failed build is kept in words (a `CacheError` is not `Clone`):
    /// every search after it is refused with them.
    fn install(&self, generation: u64, built: Result<SearchIndex, String>) {
        let mut slot = self.built.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *slot = Some(built);
            self.ready.send_replace(true);
        }
    }

    async fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, AccountError> {
        // The sender lives as long as `self`: waiting cannot fail.
        let _ = self.ready.subscribe().wait_for(|ready| *ready).await;
        match &*self.built.read().unwrap_or_else(|p| p.into_inner()) {
            Some(Ok(index)) => Ok(index.search(query, limit)),
            Some(Err(e)) => Err(AccountError::Cache(CacheError::Index(e.clone()))),
            None => Ok(Vec::new()),
        }
    }
}

fn signed_out() -> AccountError {
    ClientError::SignedOut(crate::session::Ended::SignedOut.message()).into()
}

/// A cached record that no longer decodes as its type was written by another
/// version of the app: the cache is unusable, not the user's request.
fn decode<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, AccountError> {
    serde_json::from_value(data).map_err(|e| AccountError::Cache(CacheError::Encoding(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::CachedRecord;

    fn index_of(org_name: &str) -> SearchIndex {
        let id = uuid::Uuid::new_v4();
        SearchIndex::from_records([CachedRecord {
            record_type: RecordType::Org,
            record_id: id,
            org_id: id,
            version: 1,
            data: serde_json::json!({ "id": id, "name": org_name, "slug": org_name }),
        }])
    }

    fn titles(hits: &[Hit]) -> Vec<&str> {
        hits.iter().map(|h| h.title.as_str()).collect()
    }

    #[tokio::test]
    async fn a_search_waits_for_the_index_and_a_stale_build_is_dropped() {
        let slot = Arc::new(IndexSlot::default());
        let first = slot.begin();
        let waiting = tokio::spawn({
            let slot = slot.clone();
            async move { slot.search("acme", 5).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "no index yet: the search waits");

        // A sync's rebuild begins and ends while the first build still runs.
        let second = slot.begin();
        slot.install(second, Ok(index_of("Acme New")));
        assert_eq!(titles(&waiting.await.unwrap().unwrap()), ["Acme New"]);

        slot.install(first, Ok(index_of("Acme Old")));
        assert_eq!(
            titles(&slot.search("acme", 5).await.unwrap()),
            ["Acme New"],
            "the older build does not replace the newer one"
        );
    }

    #[tokio::test]
    async fn a_failed_build_refuses_searches_until_the_next_one() {
        let slot = IndexSlot::default();
        slot.install(slot.begin(), Err("cache integrity failure".into()));
        let e = slot.search("acme", 5).await.unwrap_err();
        assert_eq!(e.code(), Code::CacheUnavailable);
        slot.install(slot.begin(), Ok(index_of("Acme")));
        assert_eq!(titles(&slot.search("acme", 5).await.unwrap()), ["Acme"]);
    }
}

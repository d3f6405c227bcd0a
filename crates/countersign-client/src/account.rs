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
    index: RwLock<SearchIndex>,
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
            .map_err(SessionError::from)?;
        let tokens = provider
            .sign_in(config.audience.as_deref())
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
        let index = SearchIndex::build(&cache)?;
        Ok(Account {
            session,
            api,
            cache: Mutex::new(Some(cache)),
            index: RwLock::new(index),
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
                    let index = SearchIndex::build(cache)?;
                    *self.index.write().unwrap_or_else(|p| p.into_inner()) = index;
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

    /// Local search over the cache (as of the last sync).
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        self.index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .search(query, limit)
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
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = SearchIndex::from_records(Vec::new());
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

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
use crate::oidc::{Identity, Provider};
use crate::search::{Hit, SearchIndex};
use crate::secrets::SecretStore;
use crate::session::{Persistence, Session, SessionError};
use crate::sync::{self, Outcome, Progress, SourceError, SyncError};
use countersign_api::{RevealRequest, RevealResponse};
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

impl AccountError {
    /// Stable code for the UI.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::Session(e) => e.code(),
            AccountError::Client(e) => e.code(),
            AccountError::Sync(SyncError::Source(SourceError::Client(e))) => e.code(),
            AccountError::Sync(SyncError::Source(SourceError::Refused(c))) => c.as_str(),
            AccountError::Sync(SyncError::Source(SourceError::Unreachable(_))) => "offline",
            AccountError::Sync(_) | AccountError::Cache(_) => "cache_unavailable",
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
        f.debug_struct("Account").field("session", &self.session).finish_non_exhaustive()
    }
}

impl Account {
    /// Signs in through `browser` (the system browser in the app) and opens
    /// the user's cache in `cache_dir`.
    pub async fn sign_in(config: &ClientConfig, browser: &dyn Browser, secrets: Arc<dyn SecretStore>, cache_dir: &Path) -> Result<Account, AccountError> {
        let provider = Provider::discover(&config.issuer, &config.client_id).await.map_err(SessionError::from)?;
        let tokens =
            provider.sign_in(config.audience.as_deref()).await.map_err(SessionError::from)?.with_timeout(config.sign_in_timeout).run(browser).await.map_err(SessionError::from)?;
        Self::open(config, Session::begin(provider, secrets, tokens), cache_dir)
    }

    /// Resumes `subject`'s saved session (app start).
    pub async fn resume(config: &ClientConfig, secrets: Arc<dyn SecretStore>, subject: &str, cache_dir: &Path) -> Result<Account, AccountError> {
        let provider = Provider::discover(&config.issuer, &config.client_id).await.map_err(SessionError::from)?;
        Self::open(config, Session::resume(provider, secrets, subject).await?, cache_dir)
    }

    /// Puts a session, its API client and its cache together.
    pub fn open(config: &ClientConfig, session: Session, cache_dir: &Path) -> Result<Account, AccountError> {
        let session = Arc::new(session);
        let api = ApiClient::with_options(&config.api_url, session.clone(), config.api_options.clone())?;
        let id = session.identity();
        let cache = Cache::open(cache_dir, &id.issuer, &id.subject, session.secrets().clone())?;
        let index = SearchIndex::build(&cache)?;
        Ok(Account { session, api, cache: Mutex::new(Some(cache)), index: RwLock::new(index), cache_dir: cache_dir.to_owned() })
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
            return Err(ClientError::SignedOut(crate::session::Ended::SignedOut.message()).into());
        };
        match sync::run(cache, &self.api, progress).await {
            Ok(outcome) => {
                let index = SearchIndex::build(cache)?;
                *self.index.write().unwrap_or_else(|p| p.into_inner()) = index;
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
        self.index.read().unwrap_or_else(|p| p.into_inner()).search(query, limit)
    }

    /// An audited reveal. The value goes to the caller only: never into the
    /// cache or the index.
    pub async fn reveal(&self, req: &RevealRequest) -> Result<RevealResponse, AccountError> {
        Ok(self.api.reveal(req).await?)
    }

    /// Signs out: revokes at the provider, deletes the keyring entries (refresh
    /// token, cache key) and the cache files. Every step is attempted; the
    /// first failure is returned.
    pub async fn sign_out(self) -> Result<(), AccountError> {
        let session = self.session.sign_out().await.map_err(AccountError::from);
        self.clear_index();
        let cache = match self.cache.into_inner() {
            Some(cache) => cache.wipe(),
            None => {
                let id = self.session.identity();
                Cache::wipe_closed(&self.cache_dir, &id.issuer, &id.subject, self.session.secrets().as_ref())
            }
        }
        .map_err(AccountError::from);
        session.and(cache)
    }

    fn clear_index(&self) {
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = SearchIndex::from_records(Vec::new());
    }
}

//! The desktop app without its window (issue 18): one `Desktop` holds the
//! server the app talks to and the signed-in [`Account`] (or none), and has
//! one method per app command, so every Tauri command is a one-liner and every
//! rule is testable here. Results are views made for the webview: they carry
//! no token, refresh token or cache key (the reveal's value is the one secret
//! that crosses, to its dialog only).

use crate::account::{Account, ClientConfig};
use crate::api_client::{ApprovalFilter, AuditFilter, IdempotencyKey, ImpersonationFilter, StaffFilter};
use crate::browser::Browser;
use crate::cache::CacheStatus;
use crate::discovery::{self, Paths, Server, ServerSource};
use crate::error::{Code, ErrorPayload};
use crate::search::Hit;
use crate::secrets::SecretStore;
use crate::session::Persistence;
use countersign_api::{
    AmendApproval, Approval, ApprovalId, AuditEvent, CreateApproval, CreateStaff, CustomerUser, DeactivateStaff,
    DecideApproval, ImpersonationId, ImpersonationSession, Invoice, Org, OrgId, Page, Payment, Permission, RecordType,
    RevealRequest, Review, Scope, StaffId, StaffMember, StaffUpdate, Vendor,
};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

mod export;
mod notifications;
mod support;
mod update;
pub use export::{export_file_name, ExportProgress, ExportReport};
pub use notifications::{words as notification_words, Delivered};
pub use support::SupportView;
pub use update::{UpdateProgress, UpdateView, MANIFEST_MAX_BYTES, PACKAGE_MAX_BYTES};

/// How often the app brings its cache up to date while online.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(30);
const RECENT_ORGS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Theme {
    Light,
    Dark,
    System,
}

impl Theme {
    fn parse(s: &str) -> Option<Theme> {
        match s {
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            "system" => Some(Theme::System),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
            Theme::System => "system",
        }
    }
}

/// The server as the app shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServerInfo {
    pub url: String,
    pub source: ServerSource,
    pub providers: Vec<countersign_api::ProviderInfo>,
    pub min_client_version: String,
    pub server_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Persistence"))]
pub enum PersistenceView {
    /// The session survives a restart (refresh token in the OS keyring).
    Keyring,
    /// No keyring: sign in again next start.
    MemoryOnly,
}

/// Who is signed in, from `GET /v1/me`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountView {
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub permissions: Vec<Permission>,
    pub scope: Scope,
    pub persistence: PersistenceView,
    pub persistence_reason: Option<String>,
}

/// What the app shows at start, and after the server or the session changed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AppState {
    pub client_version: String,
    /// `None`: ask for the server's URL (first screen).
    pub server: Option<ServerInfo>,
    /// The configured URL could not be used (shown on the URL screen).
    pub server_error: Option<ErrorPayload>,
    /// This app is older than the server's minimum: update, sign nobody in.
    pub update_required: bool,
    /// `None`: the sign-in screen.
    pub account: Option<AccountView>,
    /// A saved session could not be resumed (shown on the sign-in screen).
    pub resume_error: Option<ErrorPayload>,
    pub sync_interval_secs: u32,
}

/// Sync progress, sent through the command's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncProgress {
    pub done: u64,
    pub estimated_total: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncReport {
    pub applied: u64,
    pub pages: u64,
    /// The cache was discarded and refilled: the user's access changed.
    pub purged: bool,
    /// Records now cached.
    pub records: u64,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[serde(with = "time::serde::rfc3339")]
    pub synced_at: OffsetDateTime,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncStatus {
    pub online: bool,
    pub syncing: bool,
    pub records: u64,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_synced_at: Option<OffsetDateTime>,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[serde(with = "time::serde::rfc3339::option")]
    pub offline_since: Option<OffsetDateTime>,
}

/// An org with how many of each record the cache holds for it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OrgSummary {
    pub org: Org,
    pub users: u64,
    pub invoices: u64,
    pub vendors: u64,
    pub payments: u64,
}

/// A revealed value, for the reveal dialog only.
#[derive(Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Revealed {
    pub value: String,
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    #[serde(with = "time::serde::rfc3339")]
    pub revealed_at: OffsetDateTime,
}

impl std::fmt::Debug for Revealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revealed")
            .field("value", &"<redacted>")
            .field("revealed_at", &self.revealed_at)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum CacheMode {
    /// Sealed records on disk, key in the OS keyring.
    Encrypted,
    /// No keyring: nothing on disk, gone when the app quits.
    MemoryOnly,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CacheView {
    pub mode: CacheMode,
    pub reason: Option<String>,
    pub records: u64,
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_synced_at: Option<OffsetDateTime>,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettingsView {
    pub account: Option<AccountView>,
    pub server_url: Option<String>,
    pub server_source: Option<ServerSource>,
    pub cache: Option<CacheView>,
    pub theme: Theme,
    pub client_version: String,
}

/// The signed-in user: the account and what `/v1/me` said at sign-in.
struct SignedIn {
    account: Arc<Account>,
    view: AccountView,
}

/// How the app runs; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct Options {
    pub sign_in_timeout: Duration,
    pub sync_interval: Duration,
    pub api: crate::api_client::ClientOptions,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sign_in_timeout: crate::oidc::DEFAULT_TIMEOUT,
            sync_interval: SYNC_INTERVAL,
            api: Default::default(),
        }
    }
}

pub struct Desktop {
    paths: Paths,
    env_url: Option<String>,
    secrets: Arc<dyn SecretStore>,
    browser: Arc<dyn Browser>,
    options: Options,
    server: Mutex<Option<Server>>,
    signed_in: tokio::sync::RwLock<Option<SignedIn>>,
    cancel_sign_in: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    syncing: AtomicBool,
    offline_since: Mutex<Option<OffsetDateTime>>,
    recent: Mutex<VecDeque<OrgId>>,
    /// The notification stream's one watch and what it announced.
    notify: notifications::Watch,
    /// Ends the running audit export (`cancel_audit_export`).
    export_cancel: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    /// The support session this app is in (waiting or active), if any.
    support: Mutex<Option<SupportView>>,
    /// Why the session ended under us (refused refresh, account disabled), until the next sign-in.
    ended_by: Mutex<Option<ErrorPayload>>,
    /// The server refused this app's version (`client_update_required`): it
    /// stays refused until another server is chosen, since this process's
    /// version cannot change without a restart.
    version_refused: AtomicBool,
    /// What `start_early` found, for the window's first `start`.
    early: tokio::sync::Mutex<Option<AppState>>,
    /// A start has begun (early or the window's): `start_early` comes too late.
    started: AtomicBool,
}

impl std::fmt::Debug for Desktop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desktop")
            .field("paths", &self.paths)
            .finish_non_exhaustive()
    }
}

/// `session.toml`: which account to resume at start (no secret: the refresh
/// token it needs is in the keyring).
const SESSION_FILE: &str = "session.toml";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn not_signed_in() -> ErrorPayload {
    ErrorPayload::new(Code::NotSignedIn, "You are not signed in.")
}

fn to_time(t: SystemTime) -> Option<OffsetDateTime> {
    Some(OffsetDateTime::from(t))
}

impl Desktop {
    pub fn new(
        paths: Paths,
        env_url: Option<String>,
        secrets: Arc<dyn SecretStore>,
        browser: Arc<dyn Browser>,
        options: Options,
    ) -> Desktop {
        Desktop {
            paths,
            env_url,
            secrets,
            browser,
            options,
            server: Mutex::new(None),
            signed_in: tokio::sync::RwLock::new(None),
            cancel_sign_in: Mutex::new(None),
            syncing: AtomicBool::new(false),
            offline_since: Mutex::new(None),
            recent: Mutex::new(VecDeque::new()),
            notify: Default::default(),
            export_cancel: Mutex::new(None),
            support: Mutex::new(None),
            ended_by: Mutex::new(None),
            version_refused: AtomicBool::new(false),
            early: tokio::sync::Mutex::new(None),
            started: AtomicBool::new(false),
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    // ---------- session ----------

    /// App start: finds the server, reads its client configuration and
    /// resumes the saved session, if any, without a browser. The first call
    /// after [`Desktop::start_early`] gets the state that one found.
    pub async fn start(&self) -> AppState {
        let mut early = self.early.lock().await;
        self.started.store(true, Ordering::SeqCst);
        if let Some(state) = early.take() {
            return state;
        }
        drop(early);
        self.start_now().await
    }

    /// The start's work, begun by the shell as the process starts, before the
    /// window has loaded its page: the server's configuration and the resumed
    /// session (network round trips, keyring, the cache opened) then overlap
    /// WebKit's own start instead of following it. Nothing if the window
    /// asked first.
    pub async fn start_early(&self) {
        let mut early = self.early.lock().await;
        if !self.started.swap(true, Ordering::SeqCst) {
            *early = Some(self.start_now().await);
        }
    }

    async fn start_now(&self) -> AppState {
        let Some((url, source)) = discovery::resolve(&self.paths, self.env_url.as_deref()) else {
            return self.state(None, None).await;
        };
        match discovery::fetch(&url, source).await {
            Ok(server) => {
                *lock(&self.server) = Some(server);
                let resume_error = self.resume().await.err();
                self.state(None, resume_error).await
            }
            Err(e) => self.state(Some((url, e)), None).await,
        }
    }

    /// The URL a person typed: checked by fetching its client configuration,
    /// then saved to their config file.
    pub async fn set_server(&self, url: &str) -> Result<AppState, ErrorPayload> {
        let server = discovery::fetch(url, ServerSource::Entered).await?;
        discovery::write_setting(&self.paths, "server_url", &server.url)?;
        *lock(&self.server) = Some(server);
        self.version_refused.store(false, Ordering::SeqCst);
        Ok(self.state(None, None).await)
    }

    async fn state(
        &self,
        server_error: Option<(String, ErrorPayload)>,
        resume_error: Option<ErrorPayload>,
    ) -> AppState {
        let server = lock(&self.server).clone();
        let account = self.signed_in.read().await.as_ref().map(|s| s.view.clone());
        AppState {
            client_version: discovery::CLIENT_VERSION.to_owned(),
            update_required: self.update_required(server.as_ref()),
            server: server.map(|s| ServerInfo {
                url: s.url,
                source: s.source,
                providers: s.config.providers,
                min_client_version: s.config.min_client_version,
                server_version: s.config.server_version,
            }),
            server_error: server_error.map(|(_, e)| e),
            account,
            resume_error,
            sync_interval_secs: self.options.sync_interval.as_secs().clamp(1, u32::MAX as u64) as u32,
        }
    }

    /// This app is older than the server's published minimum, or the server
    /// refused it (a minimum raised after the app read it).
    fn update_required(&self, server: Option<&Server>) -> bool {
        server.is_some_and(|s| s.update_required() || self.version_refused.load(Ordering::SeqCst))
    }

    fn client_config(&self, issuer: Option<&str>) -> Result<ClientConfig, ErrorPayload> {
        let server = lock(&self.server)
            .clone()
            .ok_or_else(|| ErrorPayload::new(Code::ConfigInvalid, "Choose the server to sign in to first."))?;
        if self.update_required(Some(&server)) {
            return Err(ErrorPayload::new(
                Code::UpdateRequired,
                format!(
                    "This version of Countersign ({}) is older than the server accepts ({}). Update the app.",
                    discovery::CLIENT_VERSION,
                    server.config.min_client_version
                ),
            ));
        }
        let provider = match issuer {
            Some(issuer) => server.config.providers.iter().find(|p| p.issuer == issuer),
            None => server.config.providers.first(),
        }
        .ok_or_else(|| ErrorPayload::new(Code::ConfigInvalid, "The server does not offer that identity provider."))?;
        let mut config = ClientConfig::new(&provider.issuer, &provider.client_id, &server.url);
        config.audience = provider.audience.clone();
        config.redirect_ports = provider.redirect_ports.clone();
        config.scopes = provider.scopes.clone();
        config.api_options = self.options.api.clone();
        config.sign_in_timeout = self.options.sign_in_timeout;
        Ok(config)
    }

    /// Signs in through the system browser at `issuer` (one of the server's
    /// providers). `cancel_sign_in` ends the wait.
    pub async fn sign_in(&self, issuer: &str) -> Result<AccountView, ErrorPayload> {
        let config = self.client_config(Some(issuer))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        {
            let mut pending = lock(&self.cancel_sign_in);
            if pending.as_ref().is_some_and(|p| !p.is_closed()) {
                return Err(ErrorPayload::new(
                    Code::SignInInProgress,
                    "A sign-in is already waiting for your browser.",
                ));
            }
            *pending = Some(tx);
        }
        let signed_in = tokio::select! {
            r = Account::sign_in(&config, self.browser.as_ref(), self.secrets.clone(),
                &self.paths.data_dir) => r.map_err(ErrorPayload::from),
            _ = rx => Err(ErrorPayload::new(Code::SignInCancelled, "Sign-in was cancelled.")),
        };
        lock(&self.cancel_sign_in).take();
        let account = Arc::new(signed_in?);
        match self.adopt(account.clone()).await {
            Ok(view) => Ok(view),
            Err(e) => {
                // Signed in at the provider but not let in here (access
                // pending, disabled, unknown): nothing of it stays behind, not
                // a refresh token in the keyring nor a cache file.
                let _ = account.sign_out().await;
                Err(e)
            }
        }
    }

    /// A sign-in is waiting for the browser.
    pub fn signing_in(&self) -> bool {
        lock(&self.cancel_sign_in).as_ref().is_some_and(|p| !p.is_closed())
    }

    /// Ends a sign-in that waits for the browser; nothing when none does.
    pub fn cancel_sign_in(&self) {
        if let Some(tx) = lock(&self.cancel_sign_in).take() {
            let _ = tx.send(());
        }
    }

    async fn resume(&self) -> Result<(), ErrorPayload> {
        let saved = discovery::read_table(&self.paths.data_dir.join(SESSION_FILE));
        let (Some(issuer), Some(subject)) = (
            saved.get("issuer").and_then(|v| v.as_str()),
            saved.get("subject").and_then(|v| v.as_str()),
        ) else {
            return Ok(());
        };
        // A session at a provider this server no longer offers is not resumed.
        let Ok(config) = self.client_config(Some(issuer)) else {
            return Ok(());
        };
        match Account::resume(&config, self.secrets.clone(), subject, &self.paths.data_dir).await {
            Ok(account) => self.adopt(Arc::new(account)).await.map(|_| ()),
            Err(e) => {
                let e = ErrorPayload::from(e);
                if matches!(e.code, Code::NotSignedIn | Code::SignedOut | Code::RefreshRejected) {
                    self.forget_session();
                }
                Err(e)
            }
        }
    }

    /// Makes `account` the signed-in one: asks the server who it is and
    /// remembers whom to resume next start.
    async fn adopt(&self, account: Arc<Account>) -> Result<AccountView, ErrorPayload> {
        let me = account.api().me().await.map_err(ErrorPayload::from)?;
        let (persistence, persistence_reason) = match account.persistence() {
            Persistence::Keyring => (PersistenceView::Keyring, None),
            Persistence::MemoryOnly { reason } => (PersistenceView::MemoryOnly, Some(reason.clone())),
        };
        let view = AccountView {
            issuer: me.issuer,
            subject: me.subject,
            display_name: me.display_name,
            email: me.email,
            roles: me.roles,
            permissions: me.permissions,
            scope: me.scope,
            persistence,
            persistence_reason,
        };
        if persistence == PersistenceView::Keyring {
            let id = account.identity();
            let mut t = toml::Table::new();
            t.insert("issuer".into(), toml::Value::String(id.issuer.clone()));
            t.insert("subject".into(), toml::Value::String(id.subject.clone()));
            // Without this file the next start asks for a sign-in: worse, not wrong.
            let _ = std::fs::create_dir_all(&self.paths.data_dir)
                .and_then(|()| std::fs::write(self.paths.data_dir.join(SESSION_FILE), t.to_string()));
        }
        *lock(&self.ended_by) = None;
        *self.signed_in.write().await = Some(SignedIn {
            account,
            view: view.clone(),
        });
        self.notify.account_changed();
        lock(&self.recent).clear();
        *lock(&self.offline_since) = None;
        Ok(view)
    }

    fn forget_session(&self) {
        let _ = std::fs::remove_file(self.paths.data_dir.join(SESSION_FILE));
    }

    async fn account(&self) -> Result<Arc<Account>, ErrorPayload> {
        let account = self.signed_in.read().await.as_ref().map(|s| s.account.clone());
        // A session that ended under us says why to every command after it, not
        // just the one that saw it end: the window may hear another one first.
        account.ok_or_else(|| lock(&self.ended_by).clone().unwrap_or_else(not_signed_in))
    }

    /// Signs out: revokes the session at the provider, deletes the keyring
    /// entries and the cache files. Local data goes even when the provider
    /// cannot be reached; that failure is then reported.
    pub async fn sign_out(&self) -> Result<(), ErrorPayload> {
        // A support session ends on the server while the tokens still work.
        self.end_support_on_quit().await;
        *lock(&self.support) = None;
        let signed_in = self.signed_in.write().await.take();
        self.notify.account_changed();
        *lock(&self.ended_by) = None;
        self.forget_session();
        lock(&self.recent).clear();
        match signed_in {
            Some(s) => s.account.sign_out().await.map_err(ErrorPayload::from),
            None => Ok(()),
        }
    }

    /// A session that ended under us (refused refresh): nothing stays.
    async fn ended(&self, why: &ErrorPayload) {
        *lock(&self.ended_by) = Some(why.clone());
        *lock(&self.support) = None;
        let signed_in = self.signed_in.write().await.take();
        self.notify.account_changed();
        if let Some(s) = signed_in {
            let _ = s.account.sign_out().await;
        }
        self.forget_session();
    }

    // ---------- sync ----------

    /// Brings the cache up to date. Unreachable → `offline` (reads go on
    /// from the cache); a session that ended → `signed_out`, local data gone.
    pub async fn sync(&self, progress: impl FnMut(SyncProgress)) -> Result<SyncReport, ErrorPayload> {
        let account = self.account().await?;
        let mut progress = progress;
        self.syncing.store(true, Ordering::SeqCst);
        let result = account
            .sync(|p| {
                progress(SyncProgress {
                    done: p.done,
                    estimated_total: p.estimated_total,
                })
            })
            .await;
        self.syncing.store(false, Ordering::SeqCst);
        match result {
            Ok(outcome) => {
                *lock(&self.offline_since) = None;
                let records = self.total(&account).await?;
                let (synced_at, _) = account.cache_facts().await.map_err(ErrorPayload::from)?;
                Ok(SyncReport {
                    applied: outcome.applied,
                    pages: outcome.pages,
                    purged: outcome.purged,
                    records,
                    synced_at: synced_at.and_then(to_time).unwrap_or_else(OffsetDateTime::now_utc),
                })
            }
            Err(e) => Err(self.failed(e.into()).await),
        }
    }

    /// Notes what a failure says about the connection and the session.
    async fn failed(&self, e: ErrorPayload) -> ErrorPayload {
        match e.code {
            Code::Offline | Code::Network | Code::Timeout | Code::ServiceUnavailable => {
                lock(&self.offline_since).get_or_insert_with(OffsetDateTime::now_utc);
                ErrorPayload::new(
                    Code::Offline,
                    "The server cannot be reached. You are working from the data synced earlier.",
                )
            }
            // A deactivated account (incident response) is signed out here at
            // its next request, local data wiped, as if it had signed out.
            Code::SignedOut | Code::RefreshRejected | Code::AccountDisabled => {
                self.ended(&e).await;
                e
            }
            // The session stays (an updated app resumes it); AppState now says
            // update_required, and the window goes to the update screen.
            Code::ClientUpdateRequired => {
                self.version_refused.store(true, Ordering::SeqCst);
                e
            }
            _ => e,
        }
    }

    async fn total(&self, account: &Account) -> Result<u64, ErrorPayload> {
        let mut n = 0;
        for t in [
            RecordType::Org,
            RecordType::User,
            RecordType::Invoice,
            RecordType::Vendor,
            RecordType::Payment,
        ] {
            n += account.count(t, None).await.map_err(ErrorPayload::from)?;
        }
        Ok(n)
    }

    pub async fn sync_status(&self) -> Result<SyncStatus, ErrorPayload> {
        let account = self.account().await?;
        let (synced_at, _) = account.cache_facts().await.map_err(ErrorPayload::from)?;
        let offline_since = *lock(&self.offline_since);
        Ok(SyncStatus {
            online: offline_since.is_none(),
            syncing: self.syncing.load(Ordering::SeqCst),
            records: self.total(&account).await?,
            last_synced_at: synced_at.and_then(to_time),
            offline_since,
        })
    }

    // ---------- records (from the local cache: they work offline) ----------

    pub async fn search(&self, query: &str, limit: u32) -> Result<Vec<Hit>, ErrorPayload> {
        self.account()
            .await?
            .search(query, limit.clamp(1, 200) as usize)
            .await
            .map_err(ErrorPayload::from)
    }

    pub async fn orgs(&self) -> Result<Vec<Org>, ErrorPayload> {
        let mut orgs: Vec<Org> = self
            .account()
            .await?
            .records(RecordType::Org)
            .await
            .map_err(ErrorPayload::from)?;
        orgs.sort_by_key(|o| o.name.to_lowercase());
        Ok(orgs)
    }

    /// The orgs opened most recently in this session, newest first.
    pub async fn recent_orgs(&self) -> Result<Vec<Org>, ErrorPayload> {
        let account = self.account().await?;
        let ids: Vec<OrgId> = lock(&self.recent).iter().copied().collect();
        let mut out = Vec::new();
        for id in ids {
            if let Some(org) = account
                .record::<Org>(RecordType::Org, id.0)
                .await
                .map_err(ErrorPayload::from)?
            {
                out.push(org);
            }
        }
        Ok(out)
    }

    /// An org and its record counts; opening it makes it recent.
    pub async fn org(&self, id: OrgId) -> Result<OrgSummary, ErrorPayload> {
        let account = self.account().await?;
        let org: Org = account
            .record(RecordType::Org, id.0)
            .await
            .map_err(ErrorPayload::from)?
            .ok_or_else(|| {
                ErrorPayload::new(
                    Code::NotFoundLocally,
                    "This customer is not in your synced data: it may be outside your access, or not synced yet.",
                )
            })?;
        {
            let mut recent = lock(&self.recent);
            recent.retain(|r| *r != id);
            recent.push_front(id);
            recent.truncate(RECENT_ORGS);
        }
        let count = |t| account.count(t, Some(id.0));
        Ok(OrgSummary {
            users: count(RecordType::User).await.map_err(ErrorPayload::from)?,
            invoices: count(RecordType::Invoice).await.map_err(ErrorPayload::from)?,
            vendors: count(RecordType::Vendor).await.map_err(ErrorPayload::from)?,
            payments: count(RecordType::Payment).await.map_err(ErrorPayload::from)?,
            org,
        })
    }

    async fn in_org<T: serde::de::DeserializeOwned>(&self, t: RecordType, org: OrgId) -> Result<Vec<T>, ErrorPayload> {
        self.account()
            .await?
            .records_in_org(t, org.0)
            .await
            .map_err(ErrorPayload::from)
    }
    pub async fn org_users(&self, org: OrgId) -> Result<Vec<CustomerUser>, ErrorPayload> {
        self.in_org(RecordType::User, org).await
    }
    pub async fn org_invoices(&self, org: OrgId) -> Result<Vec<Invoice>, ErrorPayload> {
        self.in_org(RecordType::Invoice, org).await
    }
    pub async fn org_vendors(&self, org: OrgId) -> Result<Vec<Vendor>, ErrorPayload> {
        self.in_org(RecordType::Vendor, org).await
    }
    pub async fn org_payments(&self, org: OrgId) -> Result<Vec<Payment>, ErrorPayload> {
        self.in_org(RecordType::Payment, org).await
    }

    // ---------- reveal ----------

    /// An audited reveal, decided by the server. The value goes to the caller
    /// only: never into the cache, the index or a log.
    pub async fn reveal(&self, req: RevealRequest) -> Result<Revealed, ErrorPayload> {
        let account = self.account().await?;
        let r = self.answered(self.acting(&account).reveal(&req).await).await?;
        Ok(Revealed {
            value: r.value,
            revealed_at: r.revealed_at,
        })
    }

    // ---------- approvals ----------
    // Online only: approvals are not cached (what may be decided changes
    // with every decision), and the server says for each one whether the
    // caller may decide it and, if not, why (`can_decide`, `cannot_decide`).

    pub async fn approvals(&self, filter: ApprovalFilter) -> Result<Page<Approval>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).list_approvals(&filter).await).await
    }
    pub async fn approval(&self, id: ApprovalId) -> Result<Approval, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).get_approval(id).await).await
    }
    /// A new request. One call, one Idempotency-Key (the API client's): a
    /// retry after a lost answer cannot create it twice.
    pub async fn request_approval(&self, req: CreateApproval) -> Result<Approval, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).create_approval(&req).await).await
    }
    /// A new request from a form: the form's submission carries one key, so
    /// the same submission sent twice (a double click) makes one request.
    pub async fn request_approval_once(&self, req: CreateApproval, key: &str) -> Result<Approval, ErrorPayload> {
        let key = IdempotencyKey::parse(key).map_err(|m| ErrorPayload::new(Code::InvalidRequest, m))?;
        let account = self.account().await?;
        self.answered(self.acting(&account).create_approval_once(&req, &key).await)
            .await
    }
    /// Changes a pending request (the requester only, the server decides):
    /// its version moves on and every approval given so far is cleared.
    pub async fn amend_approval(&self, id: ApprovalId, amend: AmendApproval) -> Result<Approval, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).amend_approval(id, &amend).await)
            .await
    }
    /// Withdraws a pending request: the requester only (the server decides).
    pub async fn cancel_approval(&self, id: ApprovalId) -> Result<Approval, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).cancel_approval(id).await).await
    }
    /// A decision: one request, one Idempotency-Key (the API client's), so a
    /// retry after a lost answer cannot decide twice.
    pub async fn decide(&self, id: ApprovalId, decision: DecideApproval) -> Result<Approval, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).decide_approval(id, &decision).await)
            .await
    }

    /// Support sessions: a supervisor's to approve and to review, an agent's own.
    pub async fn sessions(&self, filter: ImpersonationFilter) -> Result<Page<ImpersonationSession>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).list_impersonations(&filter).await)
            .await
    }
    /// One session with its timeline (the server audits the opening).
    pub async fn session(&self, id: ImpersonationId) -> Result<ImpersonationSession, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).get_impersonation(id).await).await
    }
    /// A supervisor's answer to a session waiting for approval (never their own: the server decides).
    pub async fn answer_session(
        &self,
        id: ImpersonationId,
        approve: bool,
        comment: String,
    ) -> Result<ImpersonationSession, ErrorPayload> {
        let account = self.account().await?;
        let api = self.acting(&account);
        let r = if approve {
            api.approve_impersonation(id, &comment).await
        } else {
            api.reject_impersonation(id, &comment).await
        };
        self.answered(r).await
    }
    pub async fn review_session(
        &self,
        id: ImpersonationId,
        review: Review,
    ) -> Result<ImpersonationSession, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).review_impersonation(id, &review).await)
            .await
    }

    /// The audit log, filtered (`audit:read`; the server decides what the caller may see).
    pub async fn audit(&self, filter: AuditFilter) -> Result<Page<AuditEvent>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).audit_search(&filter).await).await
    }

    /// Staff accounts (security admin), filtered for the access review.
    pub async fn staff(&self, filter: StaffFilter) -> Result<Vec<StaffMember>, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).review_staff(&filter).await).await
    }
    /// Onboarding a staff member at one of the server's issuers (`staff_exists`
    /// when that identity has an account; never oneself).
    pub async fn create_staff(&self, new: CreateStaff) -> Result<StaffMember, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).create_staff(&new).await).await
    }
    /// New roles, scope and limits; the server refuses one's own (`self_change_forbidden`).
    pub async fn update_staff(&self, id: StaffId, update: StaffUpdate) -> Result<StaffMember, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).update_staff(id, &update).await)
            .await
    }
    pub async fn deactivate_staff(&self, id: StaffId, reason: String) -> Result<StaffMember, ErrorPayload> {
        let account = self.account().await?;
        self.answered(
            self.acting(&account)
                .deactivate_staff(id, &DeactivateStaff { reason })
                .await,
        )
        .await
    }
    pub async fn reactivate_staff(&self, id: StaffId) -> Result<StaffMember, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).reactivate_staff(id).await).await
    }

    /// The server's answer to an action: an answer means online again; a
    /// failure goes through [`Desktop::failed`].
    async fn answered<T, E: Into<ErrorPayload>>(&self, r: Result<T, E>) -> Result<T, ErrorPayload> {
        match r {
            Ok(v) => {
                *lock(&self.offline_since) = None;
                Ok(v)
            }
            Err(e) => Err(self.failed(e.into()).await),
        }
    }

    // ---------- settings ----------

    pub fn theme(&self) -> Theme {
        discovery::read_table(&self.paths.user_config())
            .get("theme")
            .and_then(|v| v.as_str())
            .and_then(Theme::parse)
            .unwrap_or(Theme::System)
    }

    pub fn set_theme(&self, theme: Theme) -> Result<(), ErrorPayload> {
        discovery::write_setting(&self.paths, "theme", theme.as_str())
    }

    pub async fn settings(&self) -> Result<SettingsView, ErrorPayload> {
        let server = lock(&self.server).clone();
        let (account, cache) = match self.signed_in.read().await.as_ref() {
            Some(s) => {
                let (synced_at, size_bytes) = s.account.cache_facts().await.map_err(ErrorPayload::from)?;
                let (mode, reason) = match s.account.cache_status().await {
                    Some(CacheStatus::MemoryOnly { reason }) => (CacheMode::MemoryOnly, Some(reason)),
                    _ => (CacheMode::Encrypted, None),
                };
                let records = self.total(&s.account).await?;
                (
                    Some(s.view.clone()),
                    Some(CacheView {
                        mode,
                        reason,
                        records,
                        last_synced_at: synced_at.and_then(to_time),
                        size_bytes,
                    }),
                )
            }
            None => (None, None),
        };
        Ok(SettingsView {
            account,
            server_url: server.as_ref().map(|s| s.url.clone()),
            server_source: server.as_ref().map(|s| s.source),
            cache,
            theme: self.theme(),
            client_version: discovery::CLIENT_VERSION.to_owned(),
        })
    }

    /// Deletes the encrypted cache (file and key); the session stays and
    /// the next sync starts from empty.
    pub async fn wipe_local_data(&self) -> Result<(), ErrorPayload> {
        lock(&self.recent).clear();
        self.account().await?.wipe_cache().await.map_err(ErrorPayload::from)
    }
}

//! The typed client of the platform API (`shared/API.md`), over the
//! `countersign-api` wire types.
//!
//! - errors: `application/problem+json` becomes [`ApiError`] with the server's
//!   stable [`ErrorCode`]; transport failures are their own variants of [`ClientError`];
//! - every `POST` carries a fresh random `Idempotency-Key`, and the very same key
//!   when the call is retried after a transport error (so a retry never acts twice);
//!   `GET`/`PUT` are retried likewise, `PATCH` never;
//! - connect and request timeouts; no redirects followed;
//! - [`ApiClient::with_impersonation`] adds `Countersign-Impersonation` to every request.

use crate::error::{Code, HasCode};
use crate::oidc::Sensitive;
use countersign_api::{
    AmendApproval, Approval, ApprovalId, ApprovalKind, ApprovalStatus, AuditEvent, AuditVerification, CreateApproval,
    CreateDelegation, CreateGrant, CreateImpersonation, CreateStaff, CustomerUser, DeactivateStaff, DecideApproval,
    Delegation, ErrorCode, Grant, ImpersonationId, ImpersonationSession, Invoice, InvoiceId, InvoiceStatus, Me,
    Notification, Org, OrgId, Outcome, Page, Payment, Region, RevealRequest, RevealResponse, Review, StaffId,
    StaffMember, StaffUpdate, SupportAccessReport, SyncPage, UpdateUser, UserId, Vendor, VendorId,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// An `Idempotency-Key` the caller chose (API.md: 1-128 visible ASCII), for
/// an action that may be sent more than once on purpose, e.g. one form
/// submission the user clicked twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(s: &str) -> Result<IdempotencyKey, String> {
        if s.is_empty() || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("An idempotency key is 1 to 128 visible ASCII characters.".into());
        }
        Ok(IdempotencyKey(s.to_owned()))
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        IdempotencyKey::parse(&s)
    }
}

impl From<IdempotencyKey> for String {
    fn from(k: IdempotencyKey) -> String {
        k.0
    }
}

/// The server's problem document, typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {detail} [request {request_id}]")]
pub struct ApiError {
    pub status: u16,
    pub code: ErrorCode,
    pub detail: String,
    pub request_id: String,
}

/// Everything an API call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the server did not answer in time")]
    Timeout,
    #[error("could not reach the server: {0}")]
    Transport(String),
    /// An answer that is neither the expected body nor a problem document.
    #[error("unexpected response from the server ({status}): {detail}")]
    Unexpected { status: u16, detail: String },
    #[error("no access token: {0}")]
    NoToken(String),
    /// The session has ended (signed out, or the provider refused to renew
    /// it); the message is for the user. Sign in again.
    #[error("{0}")]
    SignedOut(String),
    /// The OS keyring refused to keep the renewed session.
    #[error("{0}")]
    Keyring(String),
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl ClientError {
    /// The server's code, when the server answered with one.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(e) => Some(e.code),
            _ => None,
        }
    }
    /// The server could not be reached (as opposed to: it answered).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Transport(_) | ClientError::Timeout)
    }
}

impl HasCode for ClientError {
    /// Stable code for the UI: the server's code, or the client's own.
    fn code(&self) -> Code {
        match self {
            ClientError::Api(e) => e.code.into(),
            ClientError::Timeout => Code::Timeout,
            ClientError::Transport(_) => Code::Network,
            ClientError::Unexpected { .. } => Code::UnexpectedResponse,
            ClientError::NoToken(_) => Code::NotSignedIn,
            ClientError::SignedOut(_) => Code::SignedOut,
            ClientError::Keyring(_) => Code::KeyringUnavailable,
            ClientError::Config(_) => Code::ConfigInvalid,
        }
    }
    fn server_detail(&self) -> Option<String> {
        match self {
            ClientError::Api(e) if !e.detail.trim().is_empty() => Some(e.detail.clone()),
            _ => None,
        }
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Supplies the current access token (refreshing it if needed).
pub trait TokenProvider: Send + Sync {
    fn access_token(&self) -> BoxFuture<'_, Result<Sensitive<String>, ClientError>>;
    /// The server answered 401 to `rejected`. `Ok(true)`: a new token is
    /// ready, send the request once more. The default has none to offer.
    fn rejected<'a>(&'a self, _rejected: &'a Sensitive<String>) -> BoxFuture<'a, Result<bool, ClientError>> {
        Box::pin(async { Ok(false) })
    }
}

/// A fixed access token (tests, and a session that has just signed in).
#[derive(Debug, Clone)]
pub struct StaticToken(pub Sensitive<String>);

impl TokenProvider for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<Sensitive<String>, ClientError>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
}

/// Timeouts and retries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Retries after a transport error (not after an answer) for GET, PUT and POST.
    pub retries: u32,
    pub retry_backoff: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            retries: 2,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

#[derive(Clone)]
pub struct ApiClient {
    base: Url,
    http: reqwest::Client,
    tokens: Arc<dyn TokenProvider>,
    impersonation: Option<ImpersonationId>,
    options: ClientOptions,
    /// The server's clock minus this machine's, from the last answer's
    /// `Date` header: countdowns to a server deadline (a support session's
    /// `expires_at`) run on the server's time, not on a local clock that
    /// may be minutes off. Shared by the clients made from this one.
    clock_offset_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base.as_str())
            .field("impersonation", &self.impersonation)
            .finish_non_exhaustive()
    }
}

/// `?limit=&cursor=`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InvoiceFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<InvoiceStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Whose requests: the caller's own, or those waiting for the caller's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum Mine {
    Requested,
    ToDecide,
}

/// `GET /v1/approvals`' query; the app passes it through as it is.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ApprovalStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<ApprovalKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mine: Option<Mine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// `GET /v1/staff`'s access-review filters; each left out is "either".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StaffFilter {
    /// Holding a privileged role (or, `false`, none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// No request for at least this many days, never-active accounts included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inactive_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Waiting for access: created by a first sign-in (just-in-time
    /// provisioning) with no roles, not decided yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<bool>,
}

/// `GET /v1/impersonations`' query; the app passes it through as it is.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImpersonationFilter {
    /// `pending_approval`, `active`, `rejected`, `ended`, `expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `unreviewed`, `reviewed`, `flagged`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<StaffId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// `GET /v1/audit`'s filters (API.md "Audit"); the app passes them through.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_id: Option<OrgId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor_subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impersonation_id: Option<ImpersonationId>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub from: Option<OffsetDateTime>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub to: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

impl ExportFormat {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Csv => "csv",
        }
    }
}

/// How long an export may go without a byte: the server may read far through
/// the log before the next event that matches a narrow filter.
pub const EXPORT_IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// The whole export: a large log takes minutes; the idle timeout is the real guard.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// A verification reads the whole log before it answers.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// An export as it arrives, chunk by chunk: nothing is held beyond the chunk.
pub struct ExportStream {
    response: reqwest::Response,
    events: Option<u64>,
}

impl std::fmt::Debug for ExportStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportStream")
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl ExportStream {
    /// How many events the body holds, as the server counted them up front.
    pub fn events(&self) -> Option<u64> {
        self.events
    }
    /// The next piece of the body; `None` at its end. A body the server cut
    /// short (it failed mid-stream) is an error, not an end.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ClientError> {
        match tokio::time::timeout(EXPORT_IDLE_TIMEOUT, self.response.chunk()).await {
            Ok(r) => r.map_err(transport),
            Err(_) => Err(ClientError::Timeout),
        }
    }
}

#[derive(Serialize)]
struct SyncQuery<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
}

#[derive(Serialize)]
struct SinceQuery {
    #[serde(skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
}

#[derive(Serialize)]
struct ExportQuery<'a> {
    #[serde(flatten)]
    filter: &'a AuditFilter,
    format: ExportFormat,
}

/// A problem document, leniently: a code this client does not know yet is not a parse failure.
#[derive(Deserialize)]
struct LooseProblem {
    code: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    request_id: String,
}

const NO_BODY: Option<&()> = None;
const NO_QUERY: Option<&()> = None;

impl ApiClient {
    pub fn new(base: &str, tokens: Arc<dyn TokenProvider>) -> Result<ApiClient, ClientError> {
        ApiClient::with_options(base, tokens, ClientOptions::default())
    }

    pub fn with_options(
        base: &str,
        tokens: Arc<dyn TokenProvider>,
        options: ClientOptions,
    ) -> Result<ApiClient, ClientError> {
        let mut base = Url::parse(base).map_err(|e| ClientError::Config(format!("base URL: {e}")))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(concat!("countersign-client/", env!("CARGO_PKG_VERSION")))
            .default_headers(crate::discovery::version_headers())
            .build()
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(ApiClient {
            base,
            http,
            tokens,
            impersonation: None,
            options,
            clock_offset_ms: Arc::default(),
        })
    }

    /// A client whose every request acts within the impersonation session.
    pub fn with_impersonation(&self, session: ImpersonationId) -> ApiClient {
        ApiClient {
            impersonation: Some(session),
            ..self.clone()
        }
    }

    /// A client acting as the staff member again.
    pub fn without_impersonation(&self) -> ApiClient {
        ApiClient {
            impersonation: None,
            ..self.clone()
        }
    }

    pub fn impersonation(&self) -> Option<ImpersonationId> {
        self.impersonation
    }

    /// The server's clock minus this machine's, in milliseconds, as of the
    /// last answer (0 before any). `Date` has whole seconds, so half a
    /// second is added: the offset is then off by at most half a second.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn note_server_clock(&self, r: &reqwest::Response) {
        let Some(date) = r
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        else {
            return;
        };
        let ms = |t: std::time::SystemTime| match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        };
        let offset = ms(date) + 500 - ms(std::time::SystemTime::now());
        self.clock_offset_ms.store(offset, std::sync::atomic::Ordering::Relaxed);
    }

    fn url(&self, path: &str) -> Result<Url, ClientError> {
        self.base
            .join(path.trim_start_matches('/'))
            .map_err(|e| ClientError::Config(format!("{path}: {e}")))
    }

    /// Sends with retries after transport errors; a POST keeps its
    /// Idempotency-Key across the retries.
    async fn send<Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ClientError> {
        self.send_timed(method, path, query, body, None).await
    }

    /// `send` with a request timeout other than the client's (streams).
    async fn send_timed<Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
        timeout: Option<Duration>,
    ) -> Result<reqwest::Response, ClientError> {
        self.send_keyed(method, path, query, body, timeout, None).await
    }

    /// `send_timed` with the caller's Idempotency-Key for a POST (else a fresh one).
    async fn send_keyed<Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
        timeout: Option<Duration>,
        key: Option<&IdempotencyKey>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = self.url(path)?;
        let idempotency_key = (method == Method::POST).then(|| match key {
            Some(k) => k.0.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        });
        let retries = if matches!(method, Method::GET | Method::PUT | Method::POST) {
            self.options.retries
        } else {
            0
        };
        let mut attempt = 0;
        let mut renewed = false;
        loop {
            let token = self.tokens.access_token().await?;
            let mut rb = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token.expose());
            if let Some(t) = timeout {
                rb = rb.timeout(t);
            }
            if let Some(q) = query {
                rb = rb.query(q);
            }
            if let Some(b) = body {
                rb = rb.json(b);
            } else if method == Method::POST {
                rb = rb.header(reqwest::header::CONTENT_LENGTH, "0");
            }
            if let Some(k) = &idempotency_key {
                rb = rb.header(IDEMPOTENCY_KEY_HEADER, k);
            }
            if let Some(s) = self.impersonation {
                rb = rb.header(countersign_api::IMPERSONATION_HEADER, s.to_string());
            }
            match rb.send().await {
                // Once per call: a token the server refuses is renewed and the
                // request sent again (a POST with the same Idempotency-Key).
                Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED && !renewed => {
                    renewed = true;
                    if !self.tokens.rejected(&token).await? {
                        return Ok(r);
                    }
                }
                Ok(r) => {
                    self.note_server_clock(&r);
                    return Ok(r);
                }
                Err(e) if attempt < retries && (e.is_connect() || e.is_timeout() || e.is_request()) => {
                    tokio::time::sleep(self.options.retry_backoff * 2u32.pow(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(transport(e)),
            }
        }
    }

    async fn call<T: DeserializeOwned, Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        self.call_keyed(method, path, query, body, None).await
    }

    async fn call_keyed<T: DeserializeOwned, Q: Serialize + ?Sized, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: Option<&Q>,
        body: Option<&B>,
        key: Option<&IdempotencyKey>,
    ) -> Result<T, ClientError> {
        let r = self.send_keyed(method, path, query, body, None, key).await?;
        let r = check(r).await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(transport)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
            status,
            detail: format!("response body: {e}"),
        })
    }

    async fn bytes<Q: Serialize + ?Sized>(&self, path: &str, query: Option<&Q>) -> Result<Vec<u8>, ClientError> {
        let r = check(self.send(Method::GET, path, query, NO_BODY).await?).await?;
        Ok(r.bytes().await.map_err(transport)?.to_vec())
    }

    // ---------- identity ----------

    pub async fn me(&self) -> Result<Me, ClientError> {
        self.call(Method::GET, "v1/me", NO_QUERY, NO_BODY).await
    }

    // ---------- records ----------

    pub async fn list_orgs(&self, filter: &OrgFilter) -> Result<Page<Org>, ClientError> {
        self.call(Method::GET, "v1/orgs", Some(filter), NO_BODY).await
    }
    pub async fn get_org(&self, id: OrgId) -> Result<Org, ClientError> {
        self.call(Method::GET, &format!("v1/orgs/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn list_users(&self, org: OrgId, page: &ListParams) -> Result<Page<CustomerUser>, ClientError> {
        self.call(Method::GET, &format!("v1/orgs/{org}/users"), Some(page), NO_BODY)
            .await
    }
    pub async fn get_user(&self, id: UserId) -> Result<CustomerUser, ClientError> {
        self.call(Method::GET, &format!("v1/users/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    /// A customer action (self, or an org admin; or a `write` impersonation session).
    pub async fn update_user(&self, id: UserId, update: &UpdateUser) -> Result<CustomerUser, ClientError> {
        self.call(Method::PATCH, &format!("v1/users/{id}"), NO_QUERY, Some(update))
            .await
    }
    pub async fn list_invoices(&self, org: OrgId, filter: &InvoiceFilter) -> Result<Page<Invoice>, ClientError> {
        self.call(Method::GET, &format!("v1/orgs/{org}/invoices"), Some(filter), NO_BODY)
            .await
    }
    pub async fn get_invoice(&self, id: InvoiceId) -> Result<Invoice, ClientError> {
        self.call(Method::GET, &format!("v1/invoices/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    /// A customer action.
    pub async fn resend_invoice(&self, id: InvoiceId) -> Result<serde_json::Value, ClientError> {
        self.call(Method::POST, &format!("v1/invoices/{id}/resend"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn list_vendors(&self, org: OrgId, page: &ListParams) -> Result<Page<Vendor>, ClientError> {
        self.call(Method::GET, &format!("v1/orgs/{org}/vendors"), Some(page), NO_BODY)
            .await
    }
    pub async fn get_vendor(&self, id: VendorId) -> Result<Vendor, ClientError> {
        self.call(Method::GET, &format!("v1/vendors/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn list_payments(&self, org: OrgId, page: &ListParams) -> Result<Page<Payment>, ClientError> {
        self.call(Method::GET, &format!("v1/orgs/{org}/payments"), Some(page), NO_BODY)
            .await
    }

    // ---------- reveal, sync ----------

    /// The value is for display in memory only: never cache or log it.
    pub async fn reveal(&self, req: &RevealRequest) -> Result<RevealResponse, ClientError> {
        self.call(Method::POST, "v1/reveals", NO_QUERY, Some(req)).await
    }
    pub async fn sync(&self, cursor: Option<&str>, limit: Option<u32>) -> Result<SyncPage, ClientError> {
        self.call(Method::GET, "v1/sync", Some(&SyncQuery { cursor, limit }), NO_BODY)
            .await
    }

    // ---------- approvals ----------

    pub async fn create_approval(&self, req: &CreateApproval) -> Result<Approval, ClientError> {
        self.call(Method::POST, "v1/approvals", NO_QUERY, Some(req)).await
    }
    /// `create_approval` under the caller's key: a form submitted twice with
    /// one key (a double click) makes one request, the second call gets the
    /// first one's answer.
    pub async fn create_approval_once(
        &self,
        req: &CreateApproval,
        key: &IdempotencyKey,
    ) -> Result<Approval, ClientError> {
        self.call_keyed(Method::POST, "v1/approvals", NO_QUERY, Some(req), Some(key))
            .await
    }
    pub async fn list_approvals(&self, filter: &ApprovalFilter) -> Result<Page<Approval>, ClientError> {
        self.call(Method::GET, "v1/approvals", Some(filter), NO_BODY).await
    }
    pub async fn get_approval(&self, id: ApprovalId) -> Result<Approval, ClientError> {
        self.call(Method::GET, &format!("v1/approvals/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn decide_approval(&self, id: ApprovalId, decision: &DecideApproval) -> Result<Approval, ClientError> {
        self.call(
            Method::POST,
            &format!("v1/approvals/{id}/decisions"),
            NO_QUERY,
            Some(decision),
        )
        .await
    }
    pub async fn amend_approval(&self, id: ApprovalId, amend: &AmendApproval) -> Result<Approval, ClientError> {
        self.call(Method::PATCH, &format!("v1/approvals/{id}"), NO_QUERY, Some(amend))
            .await
    }
    pub async fn cancel_approval(&self, id: ApprovalId) -> Result<Approval, ClientError> {
        self.call(Method::POST, &format!("v1/approvals/{id}/cancel"), NO_QUERY, NO_BODY)
            .await
    }
    /// The result of an executed `data_export` request.
    pub async fn download_approval_export(&self, id: ApprovalId) -> Result<Vec<u8>, ClientError> {
        self.bytes(&format!("v1/approvals/{id}/export"), NO_QUERY).await
    }

    // ---------- delegations, notifications ----------

    /// `GET /v1/notifications/stream`: new notifications as they happen. The
    /// server ends a stream after ten minutes (or when access is lost); open
    /// a new one then, which also renews the token.
    pub async fn notification_stream(&self) -> Result<crate::events::NotificationStream, ClientError> {
        let r = self
            .send_timed(
                Method::GET,
                "v1/notifications/stream",
                NO_QUERY,
                NO_BODY,
                Some(crate::events::STREAM_TIMEOUT),
            )
            .await?;
        Ok(crate::events::NotificationStream::new(check(r).await?))
    }

    pub async fn create_delegation(&self, req: &CreateDelegation) -> Result<Delegation, ClientError> {
        self.call(Method::POST, "v1/delegations", NO_QUERY, Some(req)).await
    }
    pub async fn list_delegations(&self) -> Result<Vec<Delegation>, ClientError> {
        self.call(Method::GET, "v1/delegations", NO_QUERY, NO_BODY).await
    }
    /// Whom the caller may delegate to (`GET /v1/delegations/delegates`).
    pub async fn delegates(&self) -> Result<Vec<countersign_api::Delegate>, ClientError> {
        self.call(Method::GET, "v1/delegations/delegates", NO_QUERY, NO_BODY)
            .await
    }
    pub async fn revoke_delegation(&self, id: uuid::Uuid) -> Result<Delegation, ClientError> {
        self.call(Method::POST, &format!("v1/delegations/{id}/revoke"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn notifications(&self, since: Option<OffsetDateTime>) -> Result<Vec<Notification>, ClientError> {
        self.call(Method::GET, "v1/notifications", Some(&SinceQuery { since }), NO_BODY)
            .await
    }

    // ---------- impersonation ----------

    pub async fn create_impersonation(&self, req: &CreateImpersonation) -> Result<ImpersonationSession, ClientError> {
        self.call(Method::POST, "v1/impersonations", NO_QUERY, Some(req)).await
    }
    pub async fn approve_impersonation(
        &self,
        id: ImpersonationId,
        comment: &str,
    ) -> Result<ImpersonationSession, ClientError> {
        let body = countersign_api::Comment {
            comment: comment.to_owned(),
        };
        self.call(
            Method::POST,
            &format!("v1/impersonations/{id}/approve"),
            NO_QUERY,
            Some(&body),
        )
        .await
    }
    pub async fn reject_impersonation(
        &self,
        id: ImpersonationId,
        comment: &str,
    ) -> Result<ImpersonationSession, ClientError> {
        let body = countersign_api::Comment {
            comment: comment.to_owned(),
        };
        self.call(
            Method::POST,
            &format!("v1/impersonations/{id}/reject"),
            NO_QUERY,
            Some(&body),
        )
        .await
    }
    pub async fn end_impersonation(&self, id: ImpersonationId) -> Result<ImpersonationSession, ClientError> {
        self.call(Method::POST, &format!("v1/impersonations/{id}/end"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn list_impersonations(
        &self,
        filter: &ImpersonationFilter,
    ) -> Result<Page<ImpersonationSession>, ClientError> {
        self.call(Method::GET, "v1/impersonations", Some(filter), NO_BODY).await
    }
    /// The session with its timeline (opening it is audited).
    pub async fn get_impersonation(&self, id: ImpersonationId) -> Result<ImpersonationSession, ClientError> {
        self.call(Method::GET, &format!("v1/impersonations/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn review_impersonation(
        &self,
        id: ImpersonationId,
        review: &Review,
    ) -> Result<ImpersonationSession, ClientError> {
        self.call(
            Method::POST,
            &format!("v1/impersonations/{id}/review"),
            NO_QUERY,
            Some(review),
        )
        .await
    }
    pub async fn support_access(&self, org: OrgId) -> Result<SupportAccessReport, ClientError> {
        self.call(Method::GET, &format!("v1/orgs/{org}/support-access"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn grant_support_access(&self, org: OrgId, req: &CreateGrant) -> Result<Grant, ClientError> {
        self.call(
            Method::POST,
            &format!("v1/orgs/{org}/support-access/grants"),
            NO_QUERY,
            Some(req),
        )
        .await
    }
    pub async fn revoke_support_access(&self, org: OrgId, grant: uuid::Uuid) -> Result<Grant, ClientError> {
        self.call(
            Method::POST,
            &format!("v1/orgs/{org}/support-access/grants/{grant}/revoke"),
            NO_QUERY,
            NO_BODY,
        )
        .await
    }

    // ---------- audit ----------

    pub async fn audit_search(&self, filter: &AuditFilter) -> Result<Page<AuditEvent>, ClientError> {
        self.call(Method::GET, "v1/audit", Some(filter), NO_BODY).await
    }
    /// The export itself is audited.
    pub async fn audit_export(&self, filter: &AuditFilter, format: ExportFormat) -> Result<Vec<u8>, ClientError> {
        self.bytes("v1/audit/export", Some(&ExportQuery { filter, format }))
            .await
    }
    /// The export as a stream, for writing to disk as it arrives (the app).
    pub async fn audit_export_stream(
        &self,
        filter: &AuditFilter,
        format: ExportFormat,
    ) -> Result<ExportStream, ClientError> {
        let query = ExportQuery { filter, format };
        let sent = self.send_timed(
            Method::GET,
            "v1/audit/export",
            Some(&query),
            NO_BODY,
            Some(EXPORT_TIMEOUT),
        );
        let r = match tokio::time::timeout(EXPORT_IDLE_TIMEOUT, sent).await {
            Ok(r) => check(r?).await?,
            Err(_) => return Err(ClientError::Timeout),
        };
        let events = r
            .headers()
            .get(countersign_api::EXPORT_COUNT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        Ok(ExportStream { response: r, events })
    }
    /// The server recomputes the whole chain and its checkpoints (audited).
    pub async fn audit_verify(&self) -> Result<AuditVerification, ClientError> {
        let r = self
            .send_timed(Method::GET, "v1/audit/verify", NO_QUERY, NO_BODY, Some(VERIFY_TIMEOUT))
            .await?;
        let r = check(r).await?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(transport)?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected {
            status,
            detail: format!("response body: {e}"),
        })
    }

    // ---------- staff ----------

    pub async fn list_staff(&self) -> Result<Vec<StaffMember>, ClientError> {
        self.call(Method::GET, "v1/staff", NO_QUERY, NO_BODY).await
    }
    /// The access review's lists: privileged roles, inactive for N days, (de)activated.
    pub async fn review_staff(&self, filter: &StaffFilter) -> Result<Vec<StaffMember>, ClientError> {
        self.call(Method::GET, "v1/staff", Some(filter), NO_BODY).await
    }
    /// Incident response: from its next request the account's tokens are refused, its
    /// support sessions end and its pending requests are cancelled (the server does all).
    pub async fn deactivate_staff(&self, id: StaffId, req: &DeactivateStaff) -> Result<StaffMember, ClientError> {
        self.call(Method::POST, &format!("v1/staff/{id}/deactivate"), NO_QUERY, Some(req))
            .await
    }
    pub async fn reactivate_staff(&self, id: StaffId) -> Result<StaffMember, ClientError> {
        self.call(Method::POST, &format!("v1/staff/{id}/reactivate"), NO_QUERY, NO_BODY)
            .await
    }
    pub async fn get_staff(&self, id: StaffId) -> Result<StaffMember, ClientError> {
        self.call(Method::GET, &format!("v1/staff/{id}"), NO_QUERY, NO_BODY)
            .await
    }
    /// Onboarding: an account for (issuer, subject) at an issuer the server trusts.
    pub async fn create_staff(&self, new: &CreateStaff) -> Result<StaffMember, ClientError> {
        self.call(Method::POST, "v1/staff", NO_QUERY, Some(new)).await
    }
    pub async fn update_staff(&self, id: StaffId, update: &StaffUpdate) -> Result<StaffMember, ClientError> {
        self.call(Method::PUT, &format!("v1/staff/{id}"), NO_QUERY, Some(update))
            .await
    }
}

pub(crate) fn transport(e: reqwest::Error) -> ClientError {
    if e.is_timeout() {
        ClientError::Timeout
    } else {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        ClientError::Transport(msg)
    }
}

/// Success passes through; an error status becomes [`ApiError`] when it is a
/// problem document with a known code, else [`ClientError::Unexpected`].
async fn check(r: reqwest::Response) -> Result<reqwest::Response, ClientError> {
    let status = r.status();
    if status.is_success() {
        return Ok(r);
    }
    let header_request_id = r
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_problem = r
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(countersign_api::error::PROBLEM_CONTENT_TYPE));
    let bytes = r.bytes().await.map_err(transport)?;
    let status = status.as_u16();
    if is_problem {
        if let Ok(p) = serde_json::from_slice::<LooseProblem>(&bytes) {
            if let Some(code) = ErrorCode::parse(&p.code) {
                let request_id = if p.request_id.is_empty() {
                    header_request_id.unwrap_or_default()
                } else {
                    p.request_id
                };
                return Err(ApiError {
                    status,
                    code,
                    detail: p.detail,
                    request_id,
                }
                .into());
            }
            return Err(ClientError::Unexpected {
                status,
                detail: format!("unknown error code {:?}: {}", p.code, p.detail),
            });
        }
    }
    let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
    Err(ClientError::Unexpected {
        status,
        detail: excerpt,
    })
}

//! Sign-in as a native app (RFC 8252, RFC 9700): discovery, an authorization
//! request with PKCE S256, `state`, `nonce` and `prompt=consent` opened in the
//! system browser, a one-shot loopback listener on `127.0.0.1:<ephemeral>`,
//! the RFC 9207 `iss` check, the code exchange and ID token verification.
//! Refresh (with rotation) and RFC 7009 revocation use the same provider.
//!
//! PKCE, JWT/JWKS handling and token requests are `openidconnect`'s; this
//! module only adds what it leaves to the application (the listener, the
//! `state` and `iss` checks). Its HTTP client never follows redirects.

use crate::browser::Browser;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGrantType, CoreIdTokenClaims, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode, CoreResponseType,
    CoreSubjectIdentifierType, CoreTokenResponse,
};
use openidconnect::{
    AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, RefreshToken, RequestTokenError, RevocationUrl, Scope,
    TokenResponse,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use url::Url;

/// How long sign-in waits for the browser to come back, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The scopes the app asks for (`offline_access` for a refresh token).
pub const SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];
const CALLBACK_PATH: &str = "/callback";
const MAX_REQUEST_HEAD: usize = 16 * 1024;

use crate::error::{Code, HasCode};
/// Secrets (tokens) use the one redacting, zeroizing wrapper of the crate.
pub use crate::secrets::Sensitive;

/// Everything that can end a sign-in (or a refresh/revocation) without tokens.
/// [`SignInError::code`] is stable and is what the UI shows.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the issuer or client configuration is invalid: {0}")]
    Config(String),
    #[error("the identity provider's discovery document could not be loaded: {0}")]
    Discovery(String),
    #[error("could not listen for the browser on 127.0.0.1: {0}")]
    Listener(String),
    /// Every loopback port the administrator registered at the provider is
    /// taken by another program: the provider would refuse any other.
    #[error(
        "the sign-in ports registered at the identity provider ({}) are all in use on this computer",
        ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
    )]
    PortsBusy { ports: Vec<u16> },
    #[error(transparent)]
    Browser(#[from] crate::browser::BrowserError),
    #[error("the browser did not come back within {0:?}")]
    Timeout(Duration),
    #[error("the redirect from the browser is malformed: {0}")]
    InvalidCallback(String),
    #[error("the redirect's state does not match this sign-in")]
    StateMismatch,
    #[error("the redirect's issuer {got:?} is not the configured issuer {expected}")]
    IssuerMismatch { expected: String, got: Option<String> },
    #[error("the identity provider refused the sign-in: {error}{}", description.as_deref().map(|d| format!(" \
        ({d})")).unwrap_or_default())]
    Provider { error: String, description: Option<String> },
    #[error("the identity provider rejected the authorization code: {0}")]
    CodeRejected(String),
    #[error("the token request failed: {0}")]
    TokenRequest(String),
    #[error("the token response is incomplete: {0}")]
    IncompleteTokenResponse(&'static str),
    #[error("the ID token's nonce does not match this sign-in")]
    NonceMismatch,
    #[error("the ID token is invalid: {0}")]
    IdTokenInvalid(String),
    #[error("the refresh token was rejected: {0}")]
    RefreshRejected(String),
    #[error("the token could not be revoked: {0}")]
    Revocation(String),
}

impl HasCode for SignInError {
    /// Stable, machine-readable code.
    fn code(&self) -> Code {
        match self {
            SignInError::Config(_) => Code::ConfigInvalid,
            SignInError::Discovery(_) => Code::DiscoveryFailed,
            SignInError::Listener(_) => Code::ListenerFailed,
            SignInError::PortsBusy { .. } => Code::SignInPortsBusy,
            SignInError::Browser(_) => Code::BrowserFailed,
            SignInError::Timeout(_) => Code::SignInTimeout,
            SignInError::InvalidCallback(_) => Code::InvalidCallback,
            SignInError::StateMismatch => Code::StateMismatch,
            SignInError::IssuerMismatch { .. } => Code::IssuerMismatch,
            SignInError::Provider { .. } => Code::ProviderError,
            SignInError::CodeRejected(_) => Code::CodeRejected,
            SignInError::TokenRequest(_) => Code::TokenRequestFailed,
            SignInError::IncompleteTokenResponse(_) => Code::IncompleteTokenResponse,
            SignInError::NonceMismatch => Code::NonceMismatch,
            SignInError::IdTokenInvalid(_) => Code::IdTokenInvalid,
            SignInError::RefreshRejected(_) => Code::RefreshRejected,
            SignInError::Revocation(_) => Code::RevocationFailed,
        }
    }
}

/// Who signed in, from the verified ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub name: Option<String>,
    pub email: Option<String>,
}

/// The result of a sign-in or refresh. The access token stays in Rust memory;
/// the refresh token goes to the OS keyring (secrets.rs); neither reaches the webview.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: Sensitive<String>,
    /// `None` when the provider grants none (several company providers do
    /// not let native apps stay signed in): the session then lasts as long
    /// as the access token.
    pub refresh_token: Option<Sensitive<String>>,
    /// The raw ID token (for RP-initiated logout's `id_token_hint`).
    pub id_token: Sensitive<String>,
    pub identity: Identity,
    pub expires_at: OffsetDateTime,
}

/// Discovery fields `CoreProviderMetadata` does not carry.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct ExtraMetadata {
    revocation_endpoint: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type OidcClient =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// A discovered OpenID provider and our (public, native) client at it.
#[derive(Clone)]
pub struct Provider {
    inner: Arc<ProviderInner>,
    /// What the sign-in asks for: [`SCOPES`] unless the server's client
    /// configuration names others ([`Provider::with_scopes`]).
    scopes: Arc<[String]>,
}

struct ProviderInner {
    issuer: String,
    client_id: String,
    client: OidcClient,
    http: reqwest::Client,
    revocation_url: Option<RevocationUrl>,
    /// Discovery's `authorization_response_iss_parameter_supported`: the
    /// redirect must then carry `iss` (RFC 9207).
    iss_in_redirect: bool,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.inner.issuer)
            .finish_non_exhaustive()
    }
}

/// The HTTP client for the provider: no redirects (SSRF), bounded time.
fn oidc_http() -> Result<reqwest::Client, SignInError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| SignInError::Config(e.to_string()))
}

/// The provider's token endpoint, through `http`, noting the answer's status:
/// several providers refuse a used refresh token or code without the standard
/// body (Glewlwyd: 400 with none, 403 `invalid_code`), and `oauth2` keeps no
/// status once the body does not parse.
type TokenCall = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<openidconnect::HttpResponse, openidconnect::HttpClientError<reqwest::Error>>,
            > + Send,
    >,
>;

#[derive(Clone)]
struct Noted {
    http: reqwest::Client,
    status: Arc<std::sync::Mutex<Option<reqwest::StatusCode>>>,
}

impl Noted {
    fn new(http: &reqwest::Client) -> Self {
        Noted {
            http: http.clone(),
            status: Arc::default(),
        }
    }

    /// The HTTP client `request_async` takes: each call owns its clone, so
    /// the future borrows nothing.
    fn client(&self) -> impl Fn(openidconnect::HttpRequest) -> TokenCall {
        let noted = self.clone();
        move |request| {
            let noted = noted.clone();
            Box::pin(async move {
                let response = openidconnect::AsyncHttpClient::call(&noted.http, request).await?;
                *noted.status.lock().unwrap_or_else(|p| p.into_inner()) = Some(response.status());
                Ok(response)
            })
        }
    }

    /// A refusal is a refusal whatever its body: any 4xx answer to a code
    /// exchange or a refresh is `rejected` (retrying cannot help; the user
    /// signs in again), with the provider's words when it gave any. A 5xx or
    /// no answer is a failed request, worth another try.
    fn error<RE: std::error::Error + 'static>(
        &self,
        e: RequestTokenError<RE, openidconnect::StandardErrorResponse<CoreErrorResponseType>>,
        rejected: fn(String) -> SignInError,
    ) -> SignInError {
        let status = *self.status.lock().unwrap_or_else(|p| p.into_inner());
        let refused = status.is_some_and(|s| s.is_client_error());
        let text = match e {
            RequestTokenError::ServerResponse(r) => match r.error_description() {
                Some(d) => format!("{} ({d})", r.error().as_ref()),
                None => r.error().as_ref().to_string(),
            },
            _ if refused => format!("HTTP {} without an OAuth error", status.map_or(0, |s| s.as_u16())),
            other => other.to_string(),
        };
        if refused {
            rejected(text)
        } else {
            SignInError::TokenRequest(text)
        }
    }
}

impl Provider {
    /// OpenID Connect discovery at `issuer` (its metadata and JWKS).
    pub async fn discover(issuer: &str, client_id: &str) -> Result<Provider, SignInError> {
        let http = oidc_http()?;
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|e| SignInError::Config(format!("issuer: {e}")))?;
        let metadata = Metadata::discover_async(issuer_url, &http).await.map_err(|e| {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            SignInError::Discovery(msg)
        })?;
        let extra = metadata.additional_metadata().clone();
        let revocation_url = match extra.revocation_endpoint {
            Some(u) => {
                Some(RevocationUrl::new(u).map_err(|e| SignInError::Discovery(format!("revocation_endpoint: {e}")))?)
            }
            None => None,
        };
        let client = CoreClient::from_provider_metadata(metadata, ClientId::new(client_id.to_owned()), None);
        Ok(Provider {
            inner: Arc::new(ProviderInner {
                issuer: issuer.to_owned(),
                client_id: client_id.to_owned(),
                client,
                http,
                revocation_url,
                iss_in_redirect: extra.authorization_response_iss_parameter_supported,
            }),
            scopes: SCOPES.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The scopes an administrator set for this provider (`GET
    /// /v1/client-config`); `openid` is always asked for, an empty list
    /// keeps [`SCOPES`].
    pub fn with_scopes(mut self, scopes: &[String]) -> Self {
        if !scopes.is_empty() {
            let others = scopes.iter().filter(|s| *s != "openid").cloned();
            self.scopes = std::iter::once("openid".to_owned()).chain(others).collect();
        }
        self
    }

    /// Prepares a sign-in: binds the loopback listener and builds the
    /// authorization URL. `audience` is sent as the RFC 8707 `resource` only
    /// when it is an absolute URI (a provider asked for a plain-string one
    /// would take it for a scope). `redirect_ports` are the ports registered
    /// at the provider, tried in order (providers that compare redirect URIs
    /// exactly refuse any other); empty = any free port (RFC 8252 §7.3).
    pub async fn sign_in(&self, audience: Option<&str>, redirect_ports: &[u16]) -> Result<SignIn, SignInError> {
        let listener = loopback_listener(redirect_ports).await?;
        let port = listener
            .local_addr()
            .map_err(|e| SignInError::Listener(e.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}{CALLBACK_PATH}");
        let client =
            self.inner.client.clone().set_redirect_uri(
                RedirectUrl::new(redirect_uri.clone()).map_err(|e| SignInError::Config(e.to_string()))?,
            );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .add_prompt(CoreAuthPrompt::Consent);
        for s in self.scopes.iter().filter(|s| *s != "openid") {
            req = req.add_scope(Scope::new(s.clone()));
        }
        if let Some(aud) = audience.filter(|a| Url::parse(a).is_ok()) {
            req = req.add_extra_param("resource", aud.to_owned());
        }
        let (authorize_url, state, nonce) = req.url();
        Ok(SignIn {
            provider: self.clone(),
            client,
            listener: Some(listener),
            redirect_uri,
            authorize_url,
            state,
            nonce,
            pkce_verifier: Sensitive::new(verifier.secret().clone()),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Verifies an ID token's signature, issuer, audience and expiry, and its
    /// nonce when `nonce` is given; checks `at_hash` when present.
    fn verify(
        &self,
        resp: &CoreTokenResponse,
        client: &OidcClient,
        nonce: Option<&Nonce>,
    ) -> Result<(Identity, String), SignInError> {
        let id_token = resp
            .id_token()
            .ok_or(SignInError::IncompleteTokenResponse("id_token"))?;
        let verifier = client.id_token_verifier();
        let claims: &CoreIdTokenClaims = match nonce {
            Some(n) => id_token.claims(&verifier, n),
            None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())),
        }
        .map_err(|e| match e {
            ClaimsVerificationError::InvalidNonce(_) => SignInError::NonceMismatch,
            other => SignInError::IdTokenInvalid(other.to_string()),
        })?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| SignInError::IdTokenInvalid(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| SignInError::IdTokenInvalid(e.to_string()))?;
            let actual = AccessTokenHash::from_token(resp.access_token(), alg, key)
                .map_err(|e| SignInError::IdTokenInvalid(e.to_string()))?;
            if actual != *expected {
                return Err(SignInError::IdTokenInvalid(
                    "at_hash does not match the access token".into(),
                ));
            }
        }
        let identity = Identity {
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
            email: claims.email().map(|e| e.as_str().to_owned()),
        };
        Ok((identity, id_token.to_string()))
    }

    fn expires_at(resp: &CoreTokenResponse) -> OffsetDateTime {
        // Without expires_in, assume a short life so the app refreshes early.
        OffsetDateTime::now_utc() + resp.expires_in().unwrap_or(Duration::from_secs(60))
    }

    /// Refresh with rotation: the provider returns a new refresh token and
    /// the old one stops working. A refresh token presented twice is
    /// `RefreshRejected` (and the provider revokes the grant).
    pub async fn refresh(&self, tokens: &Tokens) -> Result<Tokens, SignInError> {
        let Some(current) = &tokens.refresh_token else {
            return Err(SignInError::RefreshRejected(
                "the provider granted no refresh token".into(),
            ));
        };
        let rt = RefreshToken::new(current.expose().clone());
        let http = Noted::new(&self.inner.http);
        let resp = self
            .inner
            .client
            .exchange_refresh_token(&rt)
            .map_err(|e| SignInError::Config(e.to_string()))?
            .request_async(&http.client())
            .await
            .map_err(|e| http.error(e, SignInError::RefreshRejected))?;
        let (identity, id_token) = if resp.id_token().is_some() {
            let (identity, raw) = self.verify(&resp, &self.inner.client, None)?;
            // OIDC Core §12.2: same subject, same issuer.
            if identity.subject != tokens.identity.subject || identity.issuer != tokens.identity.issuer {
                return Err(SignInError::IdTokenInvalid(
                    "the refreshed ID token is for another subject".into(),
                ));
            }
            (identity, Sensitive::new(raw))
        } else {
            (tokens.identity.clone(), tokens.id_token.clone())
        };
        let refresh_token = resp
            .refresh_token()
            .map(|r| Sensitive::new(r.secret().clone()))
            .or_else(|| tokens.refresh_token.clone());
        Ok(Tokens {
            access_token: Sensitive::new(resp.access_token().secret().clone()),
            refresh_token,
            id_token,
            identity,
            expires_at: Self::expires_at(&resp),
        })
    }

    /// RFC 7009: revokes the refresh token (and with it the grant) at the
    /// provider's revocation endpoint. (`oauth2` refuses non-HTTPS revocation
    /// endpoints, so this form POST is made here; plain HTTP is accepted only
    /// on loopback, i.e. the dev provider.)
    pub async fn revoke(&self, tokens: &Tokens) -> Result<(), SignInError> {
        // Without a refresh token there is no grant to end that outlives the
        // access token.
        let Some(refresh_token) = &tokens.refresh_token else {
            return Ok(());
        };
        let url = self
            .inner
            .revocation_url
            .as_ref()
            .ok_or_else(|| SignInError::Revocation("the provider has no revocation endpoint".into()))?
            .url();
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(SignInError::Revocation("the revocation endpoint is not HTTPS".into()));
        }
        let form = [
            ("token", refresh_token.expose().as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", self.inner.client_id.as_str()),
        ];
        let r = self
            .inner
            .http
            .post(url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| SignInError::Revocation(e.to_string()))?;
        if r.status().is_success() {
            return Ok(());
        }
        let status = r.status();
        #[derive(Deserialize)]
        struct OAuthError {
            error: String,
            error_description: Option<String>,
        }
        match r.json::<OAuthError>().await {
            Ok(e) => Err(SignInError::Revocation(format!(
                "{}{}",
                e.error,
                e.error_description.map(|d| format!(" ({d})")).unwrap_or_default()
            ))),
            Err(_) => Err(SignInError::Revocation(format!("HTTP {status}"))),
        }
    }
}

/// A code that passed the `state`, `iss` and error checks of the redirect.
pub struct AuthorizationResponse {
    code: Sensitive<String>,
}

impl std::fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationResponse")
            .field("code", &self.code)
            .finish()
    }
}

/// One sign-in in progress. Answers exactly one redirect, then closes its listener.
pub struct SignIn {
    provider: Provider,
    client: OidcClient,
    listener: Option<TcpListener>,
    redirect_uri: String,
    authorize_url: Url,
    state: CsrfToken,
    nonce: Nonce,
    pkce_verifier: Sensitive<String>,
    timeout: Duration,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("issuer", &self.provider.inner.issuer)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl SignIn {
    /// Discovery at `issuer`, then [`Provider::sign_in`].
    pub async fn start(issuer: &str, client_id: &str, audience: Option<&str>) -> Result<SignIn, SignInError> {
        Provider::discover(issuer, client_id)
            .await?
            .sign_in(audience, &[])
            .await
    }

    /// How long to wait for the browser's redirect (default 5 minutes).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn authorize_url(&self) -> &Url {
        &self.authorize_url
    }
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// The whole sign-in: open the browser, wait for the redirect, check it,
    /// exchange the code and verify the ID token.
    pub async fn run(mut self, browser: &dyn Browser) -> Result<Tokens, SignInError> {
        let response = self.authorize(browser).await?;
        self.exchange(&response).await
    }

    /// Opens the browser and waits (up to the timeout) for the one redirect
    /// to the loopback listener; checks `state`, `iss` and `error`. The
    /// listener is closed afterwards, whatever the outcome.
    pub async fn authorize(&mut self, browser: &dyn Browser) -> Result<AuthorizationResponse, SignInError> {
        let listener = self
            .listener
            .take()
            .ok_or_else(|| SignInError::Listener("this sign-in has already received its redirect".into()))?;
        browser.open(&self.authorize_url)?;
        let deadline = Instant::now() + self.timeout;
        loop {
            let (stream, _) = match tokio::time::timeout_at(deadline, listener.accept()).await {
                Err(_) => return Err(SignInError::Timeout(self.timeout)),
                Ok(Err(e)) => return Err(SignInError::Listener(e.to_string())),
                Ok(Ok(s)) => s,
            };
            match self.handle_connection(stream, deadline).await {
                Some(result) => return result,
                None => continue,
            }
        }
    }

    /// `None`: not the redirect (wrong path or method, unreadable); keep waiting.
    async fn handle_connection(
        &self,
        mut stream: TcpStream,
        deadline: Instant,
    ) -> Option<Result<AuthorizationResponse, SignInError>> {
        let read_deadline = deadline.min(Instant::now() + Duration::from_secs(10));
        let head = match tokio::time::timeout_at(read_deadline, read_head(&mut stream)).await {
            Ok(Some(h)) => h,
            _ => return None,
        };
        let mut parts = head.lines().next().unwrap_or("").split(' ');
        let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let url = if target.starts_with('/') {
            Url::parse(&format!("http://127.0.0.1{target}")).ok()
        } else {
            None
        };
        let Some(url) = url.filter(|u| method == "GET" && u.path() == CALLBACK_PATH) else {
            respond(
                &mut stream,
                "404 Not Found",
                "Not found",
                "This is not a Countersign sign-in address.",
            )
            .await;
            return None;
        };
        let result = self.check_redirect(&url);
        match &result {
            Ok(_) => {
                respond(
                    &mut stream,
                    "200 OK",
                    "Signed in",
                    "You are signed in to Countersign. You can close this tab.",
                )
                .await
            }
            Err(e) => {
                respond(
                    &mut stream,
                    "400 Bad Request",
                    "Sign-in failed",
                    &format!(
                        "Sign-in failed ({}). Return to Countersign to try again. You can close this tab.",
                        e.code()
                    ),
                )
                .await
            }
        }
        Some(result)
    }

    fn check_redirect(&self, url: &Url) -> Result<AuthorizationResponse, SignInError> {
        let provider = &self.provider.inner;
        let mut state = None;
        let mut iss = None;
        let mut code = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "state" => &mut state,
                "iss" => &mut iss,
                "code" => &mut code,
                "error" => &mut error,
                "error_description" => &mut description,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(SignInError::InvalidCallback(format!("repeated parameter {k}")));
            }
        }
        // state first: a redirect that is not ours is not believed in anything else.
        if state.as_deref().map(|s| s.as_bytes()) != Some(self.state.secret().as_bytes()) {
            return Err(SignInError::StateMismatch);
        }
        check_iss(&provider.issuer, provider.iss_in_redirect, iss)?;
        if let Some(error) = error {
            return Err(SignInError::Provider { error, description });
        }
        let code = code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| SignInError::InvalidCallback("no code".into()))?;
        Ok(AuthorizationResponse {
            code: Sensitive::new(code),
        })
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token
    /// (signature, issuer, audience, expiry, nonce). Codes are single-use: a
    /// second exchange of the same code is `CodeRejected`.
    pub async fn exchange(&self, response: &AuthorizationResponse) -> Result<Tokens, SignInError> {
        let http = Noted::new(&self.provider.inner.http);
        let resp = self
            .client
            .exchange_code(AuthorizationCode::new(response.code.expose().clone()))
            .map_err(|e| SignInError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(self.pkce_verifier.expose().clone()))
            .request_async(&http.client())
            .await
            .map_err(|e| http.error(e, SignInError::CodeRejected))?;
        let (identity, id_token) = self.provider.verify(&resp, &self.client, Some(&self.nonce))?;
        Ok(Tokens {
            access_token: Sensitive::new(resp.access_token().secret().clone()),
            refresh_token: resp.refresh_token().map(|r| Sensitive::new(r.secret().clone())),
            id_token: Sensitive::new(id_token),
            identity,
            expires_at: Provider::expires_at(&resp),
        })
    }
}

/// Reads an HTTP request head (up to the blank line), bounded in size.
/// The loopback listener: the first free port of `ports`, or any free port
/// when there are none.
async fn loopback_listener(ports: &[u16]) -> Result<TcpListener, SignInError> {
    if ports.is_empty() {
        return TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| SignInError::Listener(e.to_string()));
    }
    for &port in ports {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(SignInError::Listener(format!("port {port}: {e}"))),
        }
    }
    Err(SignInError::PortsBusy { ports: ports.to_vec() })
}

/// RFC 9207: a provider that says it sends `iss` must send it; whenever it is
/// there it must be the issuer, so a redirect from another provider (mix-up)
/// is never believed. Most providers neither send nor advertise it.
fn check_iss(expected: &str, advertised: bool, got: Option<String>) -> Result<(), SignInError> {
    match got {
        Some(iss) if iss == expected => Ok(()),
        None if !advertised => Ok(()),
        got => Err(SignInError::IssuerMismatch {
            expected: expected.to_owned(),
            got,
        }),
    }
}

async fn read_head(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") {
            return String::from_utf8(buf).ok();
        }
        if buf.len() > MAX_REQUEST_HEAD {
            return None;
        }
    }
}

async fn respond(stream: &mut TcpStream, status: &str, title: &str, message: &str) {
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} — Countersign</title></head>\
         <body style=\"font-family:sans-serif;margin:3em\"><h1>{title}</h1><p>{message}</p></body></html>"
    );
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: \
            no-store\r\n\
         Referrer-Policy: no-referrer\r\nContent-Security-Policy: default-src 'none'; style-src \
             'unsafe-inline'\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iss_is_required_when_advertised_and_checked_whenever_present() {
        let issuer = "https://id.example.com";
        assert!(check_iss(issuer, true, Some(issuer.into())).is_ok());
        assert!(check_iss(issuer, false, Some(issuer.into())).is_ok());
        assert!(
            check_iss(issuer, false, None).is_ok(),
            "most providers neither send nor advertise it"
        );
        for (advertised, got) in [
            (true, None),
            (true, Some("https://evil.example.com".to_owned())),
            (false, Some("https://evil.example.com".to_owned())),
            (false, Some(format!("{issuer}/"))),
        ] {
            let e = check_iss(issuer, advertised, got.clone()).unwrap_err();
            assert_eq!(e.code(), Code::IssuerMismatch, "{advertised} {got:?}");
        }
    }

    #[tokio::test]
    async fn the_first_free_registered_port_is_taken_and_all_busy_is_said() {
        let taken = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let busy = taken.local_addr().unwrap().port();
        let free = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let free_port = free.local_addr().unwrap().port();
        drop(free);
        let got = loopback_listener(&[busy, free_port]).await.unwrap();
        assert_eq!(got.local_addr().unwrap().port(), free_port);

        let e = loopback_listener(&[busy, free_port]).await.unwrap_err();
        assert_eq!(e.code(), Code::SignInPortsBusy);
        assert!(e.to_string().contains(&format!("{busy}, {free_port}")), "{e}");

        let any = loopback_listener(&[]).await.unwrap();
        assert_ne!(any.local_addr().unwrap().port(), 0);
    }
}

//! The token lifecycle (issue 6, point 2) against the real dev OpenID
//! provider, the real server and the real OS keyring (a throwaway
//! gnome-keyring: run inside `scripts/with-keyring` with the stack's env, as
//! `scripts/test` does).
//!
//! Tests run in parallel threads and keyring entries are per (issuer,
//! subject), so each test signs in as its own demo user.

use countersign_client::account::{Account, ClientConfig};
use countersign_client::api_client::{ApiClient, ClientError};
use countersign_client::browser::scripted::ScriptedBrowser;
use countersign_client::cache::Cache;
use countersign_client::error::{Code, HasCode};
use countersign_client::oidc::{Provider, SignIn, SignInError, Tokens};
use countersign_client::secrets::{self, KeyringSecretStore, SecretError, SecretStore, Sensitive};
use countersign_client::session::{Ended, Persistence, Session, SessionError};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: run through scripts/test (the stack's env, inside scripts/with-keyring)")
    })
}

fn config() -> ClientConfig {
    let mut c = ClientConfig::new(
        var("COUNTERSIGN_ISSUER"),
        var("COUNTERSIGN_CLIENT_ID"),
        var("COUNTERSIGN_API_URL"),
    );
    c.audience = Some(var("COUNTERSIGN_AUDIENCE"));
    c.sign_in_timeout = Duration::from_secs(30);
    c
}

fn keyring() -> Arc<dyn SecretStore> {
    let k = KeyringSecretStore::new();
    k.check_available()
        .expect("the real Secret Service (run inside scripts/with-keyring)");
    Arc::new(k)
}

async fn provider() -> Provider {
    let c = config();
    Provider::discover(&c.issuer, &c.client_id).await.unwrap()
}

async fn sign_in(username: &str) -> Tokens {
    let c = config();
    let browser = ScriptedBrowser::new(username);
    let signin = SignIn::start(&c.issuer, &c.client_id, c.audience.as_deref())
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    match signin.run(&browser).await {
        Ok(t) => t,
        Err(e) => panic!("{username} could not sign in: {e} (browser: {:?})", browser.outcome()),
    }
}

fn api(session: &Arc<Session>) -> ApiClient {
    ApiClient::new(&var("COUNTERSIGN_API_URL"), session.clone()).unwrap()
}

fn saved_refresh_token(store: &dyn SecretStore, subject: &str) -> Option<String> {
    secrets::load_refresh_token(store, &var("COUNTERSIGN_ISSUER"), subject)
        .unwrap()
        .map(|t| t.expose().clone())
}

/// The same tokens with the refresh token swapped in from elsewhere.
fn with_refresh_token(tokens: &Tokens, refresh_token: &Sensitive<String>) -> Tokens {
    Tokens {
        refresh_token: Some(refresh_token.clone()),
        ..tokens.clone()
    }
}

#[tokio::test]
async fn the_refresh_token_is_kept_in_the_keyring_and_a_restart_resumes_from_it() {
    let store = keyring();
    let tokens = sign_in("alice").await;
    let session = Arc::new(Session::begin(provider().await, store.clone(), tokens.clone()));
    assert_eq!(session.persistence(), &Persistence::Keyring);
    assert_eq!(
        saved_refresh_token(store.as_ref(), "staff-alice").as_deref(),
        Some(tokens.refresh_token.as_ref().unwrap().expose().as_str())
    );
    assert_eq!(api(&session).me().await.unwrap().subject, "staff-alice");
    assert_eq!(session.refresh_count(), 0, "a fresh token is used as it is");
    drop(session);

    // "Restart": nothing in memory, only the keyring.
    let resumed = Arc::new(
        Session::resume(provider().await, store.clone(), "staff-alice")
            .await
            .unwrap(),
    );
    assert_eq!(resumed.refresh_count(), 1);
    assert_eq!(api(&resumed).me().await.unwrap().subject, "staff-alice");
    let rotated = saved_refresh_token(store.as_ref(), "staff-alice").unwrap();
    assert_ne!(
        rotated,
        *tokens.refresh_token.as_ref().unwrap().expose(),
        "the rotated refresh token replaced the used one in the keyring"
    );

    resumed.sign_out().await.unwrap();
    assert_eq!(saved_refresh_token(store.as_ref(), "staff-alice"), None);
    // Nothing saved: resuming is "sign in", not an error from the provider.
    let none = Session::resume(provider().await, store.clone(), "staff-alice")
        .await
        .unwrap_err();
    assert!(matches!(none, SessionError::NoSavedSession), "{none}");
}

#[tokio::test]
async fn the_access_token_is_renewed_ahead_of_its_expiry_and_not_before() {
    let store = keyring();
    let tokens = sign_in("bob").await;
    // The dev provider's access tokens live 10 minutes: an hour "ahead" means
    // every use is due for renewal.
    let eager = Arc::new(
        Session::begin(provider().await, store.clone(), tokens.clone()).with_refresh_ahead(Duration::from_secs(3600)),
    );
    let client = api(&eager);
    let mut saved = vec![tokens.refresh_token.as_ref().unwrap().expose().clone()];
    for expected in 1..=3u64 {
        assert_eq!(client.me().await.unwrap().subject, "staff-bob");
        assert_eq!(eager.refresh_count(), expected);
        let now = saved_refresh_token(store.as_ref(), "staff-bob").unwrap();
        assert!(!saved.contains(&now), "each renewal stores a new refresh token");
        saved.push(now);
    }
    eager.sign_out().await.unwrap();

    // With the default (one minute ahead) a ten-minute token is used as it is.
    let tokens = sign_in("bob").await;
    let calm = Arc::new(Session::begin(provider().await, store.clone(), tokens));
    for _ in 0..3 {
        api(&calm).me().await.unwrap();
    }
    assert_eq!(calm.refresh_count(), 0);
    calm.sign_out().await.unwrap();
}

#[tokio::test]
async fn a_token_the_server_refuses_is_renewed_once_and_the_call_sent_again() {
    let store = keyring();
    let tokens = sign_in("sam").await;
    // A token the client believes valid for an hour, which the server refuses
    // (as after a signing-key rotation at the provider).
    let refused = Tokens {
        access_token: Sensitive::new("not-a-valid-token".into()),
        ..tokens
    };
    let session = Arc::new(Session::begin(provider().await, store.clone(), refused));
    assert_eq!(api(&session).me().await.unwrap().subject, "staff-sam");
    assert_eq!(session.refresh_count(), 1, "exactly one renewal");
    // The renewed token is kept: no more renewals.
    api(&session).me().await.unwrap();
    assert_eq!(session.refresh_count(), 1);
    session.sign_out().await.unwrap();
}

async fn assert_signed_out_cleanly(session: &Arc<Session>, subject: &str, store: &dyn SecretStore) {
    let err = api(session).me().await.unwrap_err();
    assert_eq!(err.code(), Code::SignedOut, "{err}");
    let ClientError::SignedOut(message) = &err else {
        unreachable!()
    };
    assert!(message.contains("Sign in again"), "a message for the user: {message}");
    assert!(matches!(session.ended().await, Some(Ended::RefreshRefused { .. })));
    assert_eq!(
        saved_refresh_token(store, subject),
        None,
        "the dead refresh token is not kept"
    );
    let refreshes = session.refresh_count();
    assert_eq!(refreshes, 1);
    // Later calls fail the same way without asking the provider again.
    assert_eq!(api(session).me().await.unwrap_err().code(), Code::SignedOut);
    assert_eq!(session.refresh_count(), refreshes);
}

#[tokio::test]
async fn a_revoked_grant_signs_the_user_out_cleanly_with_a_message() {
    let store = keyring();
    let tokens = sign_in("carl").await;
    provider().await.revoke(&tokens).await.unwrap(); // e.g. an admin ended the grant
    let session =
        Arc::new(Session::begin(provider().await, store.clone(), tokens).with_refresh_ahead(Duration::from_secs(3600)));
    assert!(saved_refresh_token(store.as_ref(), "staff-carl").is_some());
    assert_signed_out_cleanly(&session, "staff-carl", store.as_ref()).await;
}

#[tokio::test]
async fn a_reused_refresh_token_signs_the_user_out_cleanly_with_a_message() {
    let store = keyring();
    let tokens = sign_in("ana").await;
    // Someone else already used this refresh token (a stolen copy, say).
    let _theirs = provider().await.refresh(&tokens).await.unwrap();
    let session =
        Arc::new(Session::begin(provider().await, store.clone(), tokens).with_refresh_ahead(Duration::from_secs(3600)));
    assert_signed_out_cleanly(&session, "staff-ana", store.as_ref()).await;
    // Resuming after that is "sign in".
    assert!(matches!(
        Session::resume(provider().await, store, "staff-ana").await.unwrap_err(),
        SessionError::NoSavedSession
    ));
}

/// The real keyring, whose writes can be made to fail for a while (a locked
/// collection, a D-Bus hiccup). Reads and deletes go through untouched.
struct KeyringWithFailingWrites {
    real: KeyringSecretStore,
    fail: AtomicBool,
}
impl SecretStore for KeyringWithFailingWrites {
    fn get(&self, service: &str, account: &str) -> Result<Option<Sensitive<Vec<u8>>>, SecretError> {
        self.real.get(service, account)
    }
    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(SecretError::Unavailable("writes are failing".into()));
        }
        self.real.set(service, account, secret)
    }
    fn delete(&self, service: &str, account: &str) -> Result<(), SecretError> {
        self.real.delete(service, account)
    }
}

#[tokio::test]
async fn the_rotated_refresh_token_is_saved_before_the_new_access_token_is_used() {
    keyring();
    let store = Arc::new(KeyringWithFailingWrites {
        real: KeyringSecretStore::new(),
        fail: AtomicBool::new(false),
    });
    let tokens = sign_in("cora").await;
    // The server refuses this access token, so the first call renews it.
    let refused = Tokens {
        access_token: Sensitive::new("not-a-valid-token".into()),
        ..tokens.clone()
    };
    let session = Arc::new(Session::begin(provider().await, store.clone(), refused));
    let client = api(&session);

    store.fail.store(true, Ordering::SeqCst);
    let err = client.me().await.unwrap_err();
    assert_eq!(err.code(), Code::KeyringUnavailable, "{err}");
    assert_eq!(session.refresh_count(), 1, "the provider did renew");
    assert_eq!(
        saved_refresh_token(store.as_ref(), "staff-cora").as_deref(),
        Some(tokens.refresh_token.as_ref().unwrap().expose().as_str()),
        "nothing new saved"
    );

    // The keyring works again: the pending token is saved first, then used,
    // without another renewal.
    store.fail.store(false, Ordering::SeqCst);
    assert_eq!(client.me().await.unwrap().subject, "staff-cora");
    assert_eq!(session.refresh_count(), 1);
    let saved = saved_refresh_token(store.as_ref(), "staff-cora").unwrap();
    assert_ne!(saved, *tokens.refresh_token.as_ref().unwrap().expose());
    // What is saved is the live refresh token: the provider accepts it.
    let next = provider()
        .await
        .refresh(&with_refresh_token(&tokens, &Sensitive::new(saved)))
        .await
        .unwrap();
    provider().await.revoke(&next).await.unwrap();
    let _ = session.sign_out().await;
}

#[tokio::test]
async fn sign_out_revokes_at_the_provider_and_removes_keyring_entries_and_cache() {
    let store = keyring();
    let dir = tempfile::tempdir().unwrap();
    let browser = ScriptedBrowser::new("andy");
    let account = Account::sign_in(&config(), &browser, store.clone(), dir.path())
        .await
        .unwrap();
    let issuer = var("COUNTERSIGN_ISSUER");
    assert_eq!(account.persistence(), &Persistence::Keyring);
    let outcome = account.sync(|_| {}).await.unwrap();
    assert!(outcome.applied > 0);
    assert!(account.cache_path().exists());
    assert!(!account.search("acme", 5).await.unwrap().is_empty());
    let refresh_token = Sensitive::new(saved_refresh_token(store.as_ref(), "staff-andy").unwrap());
    assert!(secrets::load_cache_key(store.as_ref(), &issuer, "staff-andy")
        .unwrap()
        .is_some());
    let path = account.cache_path();
    let identity = account.identity().clone();

    account.sign_out().await.unwrap();
    assert_eq!(saved_refresh_token(store.as_ref(), "staff-andy"), None);
    assert!(secrets::load_cache_key(store.as_ref(), &issuer, "staff-andy")
        .unwrap()
        .is_none());
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let f = format!("{}{suffix}", path.display());
        assert!(!std::path::Path::new(&f).exists(), "{f} is gone");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing left in the cache directory"
    );
    // Revoked at the provider, not just forgotten here.
    let tokens = Tokens {
        access_token: Sensitive::new(String::new()),
        refresh_token: Some(refresh_token),
        id_token: Sensitive::new(String::new()),
        identity,
        expires_at: time::OffsetDateTime::now_utc(),
    };
    let err = provider().await.refresh(&tokens).await.map(|_| ()).unwrap_err();
    assert_eq!(err.code(), Code::RefreshRejected, "{err}");
    // And a cache opened again starts empty under a new key.
    let again = Cache::open(dir.path(), &issuer, "staff-andy", store.clone()).unwrap();
    assert!(again.discarded().is_none() && again.cursor().unwrap().is_none());
    again.wipe().unwrap();
}

/// Issue 25, point 7: a provider that grants no refresh token (company
/// providers that do not let native apps stay signed in; the dev provider with
/// `IDP_NO_REFRESH=1`). Sign-in works; the session lasts as long as the access
/// token, keeps nothing in the keyring and says when it ends; then it ends
/// with words for the user, and the next step is signing in again.
#[tokio::test]
async fn without_a_refresh_token_the_session_lasts_as_long_as_its_access_token() {
    let (mut idp, issuer) = own_provider(&[("IDP_NO_REFRESH", "1"), ("IDP_ACCESS_TOKEN_TTL", "3")]);
    let client_id = var("COUNTERSIGN_CLIENT_ID");
    let browser = ScriptedBrowser::new("sid");
    let signin = SignIn::start(&issuer, &client_id, Some(&var("COUNTERSIGN_AUDIENCE")))
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    let tokens = signin
        .run(&browser)
        .await
        .expect("a sign-in without a refresh token works");
    assert!(tokens.refresh_token.is_none());

    let store = keyring();
    let provider = Provider::discover(&issuer, &client_id).await.unwrap();
    let session = Session::begin(provider, store.clone(), tokens.clone()).with_refresh_ahead(Duration::ZERO);
    match session.persistence() {
        Persistence::MemoryOnly { reason } => assert!(
            reason.contains("does not let this app stay signed in") && reason.contains("sign in again"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(secrets::load_refresh_token(store.as_ref(), &issuer, "staff-sid")
        .unwrap()
        .is_none());
    let token = countersign_client::api_client::TokenProvider::access_token(&session)
        .await
        .unwrap();
    assert_eq!(
        token.expose(),
        tokens.access_token.expose(),
        "used as it is while it lasts"
    );
    assert_eq!(session.refresh_count(), 0);

    tokio::time::sleep(Duration::from_millis(3_200)).await;
    let ended = countersign_client::api_client::TokenProvider::access_token(&session)
        .await
        .unwrap_err();
    assert_eq!(ended.code(), Code::SignedOut);
    assert!(ended.to_string().contains("Sign in again"), "{ended}");
    assert_eq!(session.ended().await, Some(Ended::Lapsed));
    // Signing out asks the provider nothing it cannot answer.
    session.sign_out().await.unwrap();
    let _ = idp.kill();
    let _ = idp.wait();
}

/// A dev provider of the test's own, configured by `env` (see dev/idp/README.md),
/// and its issuer.
fn own_provider(env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut idp = std::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../dev/idp/server.js"))
        .env("IDP_PORT", "0")
        .env("IDP_AUDIENCE", var("COUNTERSIGN_AUDIENCE"))
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(idp.stdout.take().unwrap()).lines();
    let issuer = loop {
        let line = lines.next().expect("the provider starts").unwrap();
        if let Some(issuer) = line.strip_prefix("idp listening on ") {
            break issuer.trim().to_owned();
        }
    };
    (idp, issuer)
}

/// What the client logs on this thread while the guard lives.
#[derive(Clone, Default)]
struct Logged(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logged {
    fn capture() -> (Logged, tracing::subscriber::DefaultGuard) {
        let logged = Logged::default();
        let writer = logged.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (logged, tracing::subscriber::set_default(subscriber))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Issue 23, point 2: signing out never depends on the provider. One that
/// refuses revocation to public clients (401, as several do; the dev provider
/// with `IDP_REVOCATION=refuse`) gets a line in the log, without the token,
/// and the refresh token leaves the keyring all the same.
#[tokio::test]
async fn a_provider_refusing_revocation_does_not_keep_anyone_signed_in() {
    let (mut idp, issuer) = own_provider(&[("IDP_REVOCATION", "refuse")]);
    let client_id = var("COUNTERSIGN_CLIENT_ID");
    let signin = SignIn::start(&issuer, &client_id, Some(&var("COUNTERSIGN_AUDIENCE")))
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    let tokens = signin.run(&ScriptedBrowser::new("bob")).await.unwrap();
    let refresh_token = tokens.refresh_token.clone().expect("a refresh token");
    let store = keyring();
    let provider = Provider::discover(&issuer, &client_id).await.unwrap();
    let session = Session::begin(provider.clone(), store.clone(), tokens.clone());
    assert_eq!(session.persistence(), &Persistence::Keyring);
    assert!(secrets::load_refresh_token(store.as_ref(), &issuer, "staff-bob")
        .unwrap()
        .is_some());

    let (logged, guard) = Logged::capture();
    session
        .sign_out()
        .await
        .expect("signed out although the provider refused");
    drop(guard);
    assert!(
        secrets::load_refresh_token(store.as_ref(), &issuer, "staff-bob")
            .unwrap()
            .is_none(),
        "the refresh token left the keyring"
    );
    assert_eq!(session.ended().await, Some(Ended::SignedOut));
    let log = logged.text();
    assert!(
        log.contains("revocation refused") && log.contains("invalid_client"),
        "{log}"
    );
    for secret in [
        refresh_token.expose(),
        tokens.access_token.expose(),
        tokens.id_token.expose(),
    ] {
        assert!(!log.contains(secret.as_str()), "no token in the log: {log}");
    }
    // The provider really refused: the grant it kept still renews.
    assert!(
        provider.refresh(&tokens).await.is_ok(),
        "the refusal was the provider's"
    );
    let _ = idp.kill();
    let _ = idp.wait();
}

/// The dev provider's consent page has a "deny" button: pressing it ends the
/// sign-in with the provider's `access_denied` and no tokens. (Glewlwyd's
/// login app has none, so this is not in the suite tests/signin.rs runs at
/// every provider.)
#[tokio::test]
async fn denying_consent_is_a_provider_error() {
    let c = config();
    let browser = ScriptedBrowser::new("alice").deny();
    let e = SignIn::start(&c.issuer, &c.client_id, c.audience.as_deref())
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30))
        .run(&browser)
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.code(), Code::ProviderError, "{e}");
    assert!(
        matches!(e, SignInError::Provider { ref error, .. } if error == "access_denied"),
        "{e:?}"
    );
}

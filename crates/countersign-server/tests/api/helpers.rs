//! One harness for every API test: a fresh database per test (a copy of a
//! migrated + demo-seeded template), the server spawned in-process on a free
//! port against it, and tokens from the real dev identity provider.
//!
//! Needs the stack's PostgreSQL and identity provider: `scripts/test` starts
//! them and exports `COUNTERSIGN_DATABASE_URL`, `COUNTERSIGN_ISSUER`,
//! `COUNTERSIGN_AUDIENCE` and `COUNTERSIGN_TEST_IDP_KEY_FILE`.

use countersign_server::config::{Config, Policy};
use countersign_server::startup::Application;
use serde_json::Value;
use sqlx::{Connection, PgConnection, PgPool};
use std::collections::HashMap;
use std::sync::OnceLock;
use tokio::sync::Mutex;
use uuid::Uuid;

pub struct Env {
    /// Superuser URL without the database name, e.g. `postgres://postgres@127.0.0.1:5432`.
    pub admin_base: String,
    pub issuer: String,
    pub audience: String,
    pub key_pem: Vec<u8>,
    pub key_file: String,
}

pub fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let var = |k: &str| {
            std::env::var(k).unwrap_or_else(|_| {
                panic!("{k} is not set: run the tests through scripts/test (or `scripts/stack up && . .stack/env`)")
            })
        };
        let db = var("COUNTERSIGN_DATABASE_URL");
        let admin_base = db
            .rsplit_once('/')
            .expect("database URL with a database name")
            .0
            .to_owned();
        let key_file = var("COUNTERSIGN_TEST_IDP_KEY_FILE");
        Env {
            admin_base,
            issuer: var("COUNTERSIGN_ISSUER"),
            audience: var("COUNTERSIGN_AUDIENCE"),
            key_pem: std::fs::read(&key_file).expect("identity provider key"),
            key_file,
        }
    })
}

/// The template's name changes with the migrations and the seed code, so a
/// schema change never reuses a stale template.
fn template_name() -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    let seed_src = include_str!("../../src/seed.rs");
    let mut feed = |b: &[u8]| b.iter().for_each(|x| h = (h ^ *x as u64).wrapping_mul(0x100000001b3));
    for m in countersign_server::MIGRATOR.iter() {
        feed(&m.checksum);
    }
    feed(seed_src.as_bytes());
    feed(env().issuer.as_bytes());
    format!("cs_tpl_{h:016x}")
}

async fn ensure_template() -> String {
    static DONE: OnceLock<String> = OnceLock::new();
    if let Some(t) = DONE.get() {
        return t.clone();
    }
    let e = env();
    let name = template_name();
    let mut admin = PgConnection::connect(&format!("{}/postgres", e.admin_base))
        .await
        .expect("admin connection");
    // Test binaries run concurrently: one builds the template, the others wait.
    sqlx::query("SELECT pg_advisory_lock(7411)")
        .execute(&mut admin)
        .await
        .unwrap();
    let exists: Option<(i32,)> = sqlx::query_as("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut admin)
        .await
        .unwrap();
    if exists.is_none() {
        let building = format!("{name}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {building}"))
            .execute(&mut admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("{}/{building}", e.admin_base);
        countersign_server::startup::migrate(&url).await.expect("migrations");
        let pool = PgPool::connect(&url).await.unwrap();
        countersign_server::seed::demo(&pool, &e.issuer, 0)
            .await
            .expect("demo seed");
        pool.close().await;
        sqlx::query(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    sqlx::query("SELECT pg_advisory_unlock(7411)")
        .execute(&mut admin)
        .await
        .unwrap();
    let _ = DONE.set(name.clone());
    name
}

/// A fresh database, migrated and demo-seeded, for one test.
pub async fn fresh_database() -> (String, String) {
    let template = ensure_template().await;
    let e = env();
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{}/postgres", e.admin_base))
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("{}/{name}", e.admin_base);
    (name, url)
}

pub struct TestApp {
    pub base: String,
    /// Where this server serves `GET /metrics` (not on `base`).
    pub metrics_base: String,
    pub db_url: String,
    /// Superuser pool on this test's database: for arranging and asserting only.
    pub admin: PgPool,
    pub http: reqwest::Client,
    tokens: Mutex<HashMap<String, Tokens>>,
    /// The server's state, to drive its scheduled work directly.
    pub state: countersign_server::state::AppState,
}

#[derive(Clone, Debug)]
pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: String,
}

/// One checkpoint key per test process, generated here.
pub fn audit_key_file() -> &'static str {
    static KEY: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    &KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit-key.p8");
        std::fs::write(&path, countersign_server::audit::store::Signer::generate().1).unwrap();
        let p = path.to_str().unwrap().to_owned();
        (dir, p)
    })
    .1
}

pub fn test_config(db_url: &str) -> Config {
    let e = env();
    Config {
        issuer: e.issuer.clone(),
        audience: e.audience.clone(),
        issuers: Vec::new(),
        database_url: db_url.to_owned(),
        app_database_url: None,
        listen: "127.0.0.1:0".into(),
        metrics_listen: "127.0.0.1:0".into(),
        audit_key_file: Some(audit_key_file().to_owned()),
        dev_allow_async_commit: false,
        policy: Policy::default(),
        approval_policy: Default::default(),
        desktop: Default::default(),
    }
}

pub async fn spawn_app() -> TestApp {
    let (_, db_url) = fresh_database().await;
    spawn_app_with(test_config(&db_url)).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    let db_url = config.database_url.clone();
    let app = Application::build(config).await.expect("server builds");
    let base = format!("http://{}", app.addr);
    let metrics_base = format!("http://{}", app.metrics_addr);
    let state = app.state();
    // Not serve(): a test process must not take over SIGTERM and SIGINT.
    tokio::spawn(app.serve_until(std::future::pending()));
    TestApp {
        base,
        metrics_base,
        admin: PgPool::connect(&db_url).await.unwrap(),
        db_url,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        tokens: Mutex::new(HashMap::new()),
        state,
    }
}

impl TestApp {
    /// Tokens for `username`, signed in at the real identity provider once per test.
    pub async fn tokens(&self, username: &str) -> Tokens {
        let mut cache = self.tokens.lock().await;
        if let Some(t) = cache.get(username) {
            return t.clone();
        }
        let t = sign_in(username, &format!("{username}-pw")).await.expect("sign-in");
        cache.insert(username.to_owned(), t.clone());
        t
    }

    pub async fn token(&self, username: &str) -> String {
        self.tokens(username).await.access_token
    }

    pub async fn get_as(&self, username: &str, path: &str) -> reqwest::Response {
        let token = self.token(username).await;
        self.get_with(&token, path).await
    }

    /// A public route's JSON answer (no token).
    pub async fn get_public(&self, path: &str) -> (u16, Value) {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn get_with(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn put_as(&self, username: &str, path: &str, body: &Value) -> reqwest::Response {
        let token = self.token(username).await;
        self.http
            .put(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn org_id(&self, slug: &str) -> Uuid {
        sqlx::query_scalar("SELECT id FROM orgs WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }

    pub async fn staff_id(&self, username: &str) -> Uuid {
        sqlx::query_scalar("SELECT id FROM staff WHERE subject = $1")
            .bind(format!("staff-{username}"))
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }

    pub async fn audit_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM audit_events")
            .fetch_one(&self.admin)
            .await
            .unwrap()
    }

    /// A token signed with the identity provider's own key, with `claims`
    /// merged over valid defaults for `staff-alice`, and `header` over
    /// `{alg: RS256, typ: at+jwt, kid}`.
    pub async fn mint(&self, claims: Value, header: impl FnOnce(&mut jsonwebtoken::Header)) -> String {
        mint(claims, header).await
    }
}

/// The real server binary as a child process, for what an in-process server
/// cannot show: everything it logs, and its own memory.
pub struct ServerProcess {
    child: Option<std::process::Child>,
    /// Threads draining stdout and stderr as the server writes (a full pipe
    /// would block it); each returns what it read.
    output: Vec<std::thread::JoinHandle<Vec<u8>>>,
    pub base: String,
}

impl ServerProcess {
    pub async fn spawn(db_url: &str, rust_log: &str) -> ServerProcess {
        ServerProcess::spawn_with(db_url, rust_log, &[]).await
    }

    /// The same, with `extra` added to its environment (settings such as
    /// `COUNTERSIGN_UPDATES_DIR`, read the way an operator sets them).
    pub async fn spawn_with(db_url: &str, rust_log: &str, extra: &[(&str, &str)]) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_countersign-server"))
            .arg("serve")
            .env_clear()
            .env("COUNTERSIGN_ISSUER", &env().issuer)
            .env("COUNTERSIGN_AUDIENCE", &env().audience)
            .env("COUNTERSIGN_DATABASE_URL", db_url)
            .env("COUNTERSIGN_LISTEN", format!("127.0.0.1:{port}"))
            .env("COUNTERSIGN_METRICS_LISTEN", "127.0.0.1:0")
            .env("COUNTERSIGN_AUDIT_KEY_FILE", audit_key_file())
            .env("RUST_LOG", rust_log)
            .envs(extra.iter().copied())
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        fn drain(mut r: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                buf
            })
        }
        let output = vec![drain(child.stdout.take().unwrap()), drain(child.stderr.take().unwrap())];
        let server = ServerProcess {
            child: Some(child),
            output,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        // Poll until it answers (it migrates nothing, but connects and binds).
        for _ in 0..100 {
            if http.get(format!("{}/healthz", server.base)).send().await.is_ok() {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not answer /healthz within 5 s: {}", server.stop());
    }

    /// A `kB` line of the process's /proc status, e.g. `VmRSS` or `VmHWM` (its peak).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let pid = self.child.as_ref().unwrap().id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(&format!("{field}:")))
            .unwrap_or_else(|| panic!("{field} in {status}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Sends `signal` to the server process (its own pid, nothing else).
    pub fn signal(&self, signal: nix::sys::signal::Signal) {
        let pid = self.child.as_ref().unwrap().id();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
    }

    /// Waits for the process to exit (killing it after `within`, which fails
    /// the test) and returns its status and what it wrote to stdout and stderr.
    pub fn wait_exit(mut self, within: std::time::Duration) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        let deadline = std::time::Instant::now() + within;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let output: String = self
            .output
            .drain(..)
            .map(|t| String::from_utf8_lossy(&t.join().unwrap()).into_owned())
            .collect();
        match status {
            Some(status) => (status, output),
            None => panic!("the server did not exit within {within:?}:\n{output}"),
        }
    }

    /// Stops the server the way an operator does (SIGINT: graceful, every
    /// log line flushed) and returns what it wrote to stdout and stderr.
    pub fn stop(self) -> String {
        self.signal(nix::sys::signal::Signal::SIGINT);
        self.wait_exit(std::time::Duration::from_secs(30)).1
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub async fn idp_kid() -> String {
    kid_of(&env().issuer).await
}

/// The `kid` of the (one) key the dev identity provider at `issuer` publishes.
pub async fn kid_of(issuer: &str) -> String {
    let jwks: Value = reqwest::get(format!("{issuer}/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"][0]["kid"].as_str().expect("kid").to_owned()
}

pub async fn mint(claims: Value, header: impl FnOnce(&mut jsonwebtoken::Header)) -> String {
    mint_with(&env().key_pem, &idp_kid().await, claims, header)
}

/// [`mint`] with another signing key (PEM) and `kid`: another provider's.
pub fn mint_with(key_pem: &[u8], kid: &str, claims: Value, header: impl FnOnce(&mut jsonwebtoken::Header)) -> String {
    let e = env();
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    h.typ = Some("at+jwt".into());
    h.kid = Some(kid.to_owned());
    header(&mut h);
    let mut c = serde_json::json!({
        "iss": e.issuer, "aud": e.audience, "sub": "staff-alice", "exp": now() + 300, "iat": now(),
        "client_id": "countersign-desktop", "jti": Uuid::new_v4().to_string(),
    });
    if let (Some(base), Some(over)) = (c.as_object_mut(), claims.as_object()) {
        for (k, v) in over {
            if v.is_null() {
                base.remove(k);
            } else {
                base.insert(k.clone(), v.clone());
            }
        }
    }
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem).expect("RSA key");
    jsonwebtoken::encode(&h, &c, &key).unwrap()
}

#[derive(Debug)]
pub struct SignInRefused(pub String);

/// Signs in at the dev identity provider exactly as a browser does
/// (dev/idp/README.md): a cookie jar, the login form, the consent form, and
/// redirects followed by hand up to the loopback redirect carrying the code.
pub async fn sign_in(username: &str, password: &str) -> Result<Tokens, SignInRefused> {
    sign_in_at(&env().issuer, username, password).await
}

/// [`sign_in`] at the dev identity provider at `issuer` (another one of the test's own).
pub async fn sign_in_at(issuer: &str, username: &str, password: &str) -> Result<Tokens, SignInRefused> {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let browser = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect_uri = format!("http://127.0.0.1:{}/callback", listener.local_addr().unwrap().port());
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    let state = Uuid::new_v4().simple().to_string();
    let mut auth = url::Url::parse(&format!("{issuer}/auth")).unwrap();
    auth.query_pairs_mut()
        .append_pair("client_id", "countersign-desktop")
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid profile email offline_access")
        .append_pair("prompt", "consent")
        .append_pair("state", &state)
        .append_pair("nonce", &Uuid::new_v4().simple().to_string())
        .append_pair("code_challenge", challenge.as_str())
        .append_pair("code_challenge_method", "S256");

    let location = |r: &reqwest::Response| -> Option<url::Url> {
        let l = r.headers().get("location")?.to_str().ok()?;
        r.url().join(l).ok()
    };
    let mut url = auth;
    for _ in 0..12 {
        if url.as_str().starts_with(&redirect_uri) {
            let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
            assert_eq!(q.get("state"), Some(&state), "state must round-trip");
            assert_eq!(q.get("iss").map(String::as_str), Some(issuer), "RFC 9207 iss");
            let code = q.get("code").ok_or_else(|| SignInRefused(format!("no code: {q:?}")))?;
            let tokens: Value = browser
                .post(format!("{issuer}/token"))
                .form(&[
                    ("grant_type", "authorization_code"),
                    ("code", code),
                    ("redirect_uri", &redirect_uri),
                    ("code_verifier", verifier.secret()),
                    ("client_id", "countersign-desktop"),
                ])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let get = |k: &str| {
                tokens[k]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| SignInRefused(format!("no {k} in token response")))
            };
            return Ok(Tokens {
                access_token: get("access_token")?,
                id_token: get("id_token")?,
                refresh_token: get("refresh_token")?,
            });
        }
        let r = browser.get(url.clone()).send().await.unwrap();
        if r.status().is_redirection() {
            url = location(&r).unwrap();
            continue;
        }
        let page = r.text().await.unwrap();
        let form: &[(&str, &str)] = if page.contains("name=\"password\"") {
            &[("prompt", "login"), ("login", username), ("password", password)]
        } else {
            &[("prompt", "consent")]
        };
        let r = browser.post(url.clone()).form(form).send().await.unwrap();
        match location(&r) {
            Some(next) if r.status().is_redirection() => url = next,
            _ => return Err(SignInRefused(format!("{} at {}", r.status(), url.path()))),
        }
    }
    Err(SignInRefused("too many redirects".into()))
}

/// Asserts a problem+json response with `status` and `code`; returns the body.
pub async fn assert_problem(r: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "status for expected {code}");
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let rid = r.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(ct.as_deref(), Some("application/problem+json"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status);
    assert!(
        body["title"].is_string() && body["detail"].is_string() && body["type"].is_string(),
        "{body}"
    );
    assert_eq!(
        body["request_id"].as_str(),
        rid.as_deref(),
        "request_id matches X-Request-Id"
    );
    body
}

/// A new 2048-bit RSA private key (PEM) at `path`, made by openssl as
/// scripts/stack makes the identity provider's: another provider's key.
pub fn new_rsa_key(path: &std::path::Path) {
    let made = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(path)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(made.success(), "openssl made an RSA key");
}

/// Moves every staff account to `issuer` (a provider of the test's own).
pub async fn staff_sign_in_at(app: &TestApp, issuer: &str) {
    sqlx::query("UPDATE staff SET issuer = $1")
        .bind(issuer)
        .execute(&app.admin)
        .await
        .unwrap();
}

/// A dev identity provider of a test's own (`dev/idp`, the real one), signing
/// with the stack's key (so [`mint`] signs for it too) unless told otherwise:
/// for what cannot be done to the shared one, such as stopping it.
pub struct IdpProcess {
    child: std::process::Child,
    pub issuer: String,
}

impl IdpProcess {
    /// Starts it on `port` (0: any free one) and waits until it listens.
    pub fn spawn(port: u16, key_file: &str) -> IdpProcess {
        IdpProcess::spawn_with(port, key_file, &env().audience)
    }

    /// The same, issuing access tokens for `audience`.
    pub fn spawn_with(port: u16, key_file: &str, audience: &str) -> IdpProcess {
        use std::io::BufRead;
        let port = if port == 0 {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        } else {
            port
        };
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../dev/idp/server.js");
        let mut child = std::process::Command::new("node")
            .arg(script)
            .env("IDP_PORT", port.to_string())
            .env("IDP_AUDIENCE", audience)
            .env("IDP_KEY_FILE", key_file)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("node runs dev/idp/server.js");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let issuer = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(issuer) = line.strip_prefix("idp listening on ") {
                        break issuer.trim().to_owned();
                    }
                }
                _ => panic!("the identity provider on port {port} did not start"),
            }
        };
        // Keep reading its output so that it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        IdpProcess { child, issuer }
    }

    /// Stops it at once (SIGKILL, its own pid) and waits for it to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for IdpProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

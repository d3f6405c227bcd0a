//! What the full-stack tests share: the stack's environment, a
//! `countersign-server` process of its own on a fresh database, cache bytes.
#![allow(dead_code)] // each test crate uses a part

use countersign_api::RecordType;
use countersign_client::browser::Browser;
use countersign_client::desktop::{Desktop, Options};
use countersign_client::discovery::Paths;
use countersign_client::search::Hit;
use countersign_client::secrets::{KeyringSecretStore, SecretStore};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: run through scripts/test (the stack's env, inside scripts/with-keyring)")
    })
}

/// A countersign-server process on its own fresh database; both go away on drop.
pub struct Server {
    child: Child,
    listen: String,
    env: Vec<(String, String)>,
    admin_url: String,
    database: String,
    database_url: String,
    pub url: String,
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(&[])
    }

    /// With extra environment for `serve` (e.g. `COUNTERSIGN_MIN_CLIENT_VERSION`).
    pub fn start_with(env: &[(&str, &str)]) -> Server {
        let admin_url = var("COUNTERSIGN_DATABASE_URL");
        let database = format!("cs_e2e_{}", uuid::Uuid::new_v4().simple());
        psql(&admin_url, &format!("CREATE DATABASE {database}"));
        let (base, _) = admin_url.rsplit_once('/').expect("a database URL with a path");
        let database_url = format!("{base}/{database}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        // Migrations create cluster-wide roles: one database at a time.
        static MIGRATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = MIGRATING.lock().unwrap_or_else(|p| p.into_inner());
        for args in [&["migrate"][..], &["seed", "--demo"][..]] {
            let out = server_command(&database_url, &listen).args(args).output().unwrap();
            assert!(
                out.status.success(),
                "countersign-server {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let child = serve(&database_url, &listen, &env);
        let server = Server {
            child,
            listen: listen.clone(),
            env,
            admin_url,
            database,
            database_url,
            url: format!("http://{listen}"),
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = format!("{}/readyz", self.url);
        loop {
            let ok = std::thread::scope(|s| {
                s.spawn(|| {
                    tokio::runtime::Runtime::new().unwrap().block_on(async {
                        reqwest::get(&ready)
                            .await
                            .map(|r| r.status().is_success())
                            .unwrap_or(false)
                    })
                })
                .join()
                .unwrap()
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "countersign-server did not become ready at {ready}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The server goes away (its port then refuses connections).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Back on the same address and database.
    pub fn restart(&mut self) {
        self.stop();
        self.child = serve(&self.database_url, &self.listen, &self.env);
        self.wait_ready();
    }

    /// Back on the same address and database with this environment for `serve`
    /// instead (e.g. a new `COUNTERSIGN_MIN_CLIENT_VERSION`).
    pub fn restart_with(&mut self, env: &[(&str, &str)]) {
        self.env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.restart();
    }

    /// `countersign-server staff …` against this server's database.
    /// `countersign-server staff …` with the configuration `serve` has.
    pub fn staff(&self, args: &[&str]) {
        let out = server_command(&self.database_url, "127.0.0.1:0")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .arg("staff")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "staff {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("psql")
            .arg(&self.admin_url)
            .args([
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database),
            ])
            .output();
    }
}

fn serve(database_url: &str, listen: &str, env: &[(String, String)]) -> Child {
    server_command(database_url, listen)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn server_command(database_url: &str, listen: &str) -> Command {
    let mut c = Command::new(var("COUNTERSIGN_SERVER_BIN"));
    c.env("COUNTERSIGN_DATABASE_URL", database_url)
        .env("COUNTERSIGN_LISTEN", listen)
        .env("COUNTERSIGN_METRICS_LISTEN", "127.0.0.1:0");
    c
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Every byte the cache left on disk: the database, its WAL and journal.
pub fn cache_bytes(path: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
            all.extend(b);
        }
    }
    all
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub fn titles(hits: &[Hit], t: RecordType) -> Vec<String> {
    let mut v: Vec<String> = hits
        .iter()
        .filter(|h| h.record_type == t)
        .map(|h| h.title.clone())
        .collect();
    v.sort();
    v
}

/// A desktop app's files under `dir` (config, the administrator's config, data).
pub fn paths(dir: &Path) -> Paths {
    Paths {
        config_dir: dir.join("config"),
        system_config: dir.join("etc/config.toml"),
        data_dir: dir.join("data"),
    }
}

/// Holds the keyring entries of `users` for this test. The entries are named
/// by issuer and subject, and every test signs in at the one dev provider, so
/// two tests signing the same user in at once would overwrite each other's
/// refresh token and cache key (CI saw a sign-out's "token gone" assertion
/// meet another test's fresh token). Taken in one order, so no two tests wait
/// on each other in a cycle.
pub async fn keyring_users(users: &[&str]) -> Vec<tokio::sync::OwnedMutexGuard<()>> {
    static LOCKS: std::sync::Mutex<Vec<(String, Arc<tokio::sync::Mutex<()>>)>> = std::sync::Mutex::new(Vec::new());
    let mut users = users.to_vec();
    users.sort_unstable();
    users.dedup();
    let mut guards = Vec::new();
    for user in users {
        let lock = {
            let mut locks = LOCKS.lock().unwrap();
            match locks.iter().find(|(u, _)| u == user) {
                Some((_, lock)) => lock.clone(),
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.push((user.to_owned(), lock.clone()));
                    lock
                }
            }
        };
        guards.push(lock.lock_owned().await);
    }
    guards
}

/// The real OS keyring (scripts/with-keyring gives the tests one).
pub fn keyring() -> Arc<dyn SecretStore> {
    let k = KeyringSecretStore::new();
    k.check_available()
        .expect("the real Secret Service (run inside scripts/with-keyring)");
    Arc::new(k)
}

/// The app's core as the desktop shell builds it, with this browser.
pub fn desktop(dir: &Path, env_url: Option<&str>, browser: Arc<dyn Browser>) -> Desktop {
    let options = Options {
        sign_in_timeout: Duration::from_secs(30),
        ..Options::default()
    };
    Desktop::new(paths(dir), env_url.map(str::to_owned), keyring(), browser, options)
}

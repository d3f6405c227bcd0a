//! Configuration from a TOML file and/or the environment (`COUNTERSIGN_*`),
//! the environment winning. Everything a deployment changes lives here.

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The OpenID provider whose access tokens we accept (exact `iss`).
    pub issuer: String,
    /// Our audience (`aud` must contain it).
    pub audience: String,
    /// An administrative URL (superuser or owner): migrations, seed, operators.
    pub database_url: String,
    /// The server's own login: NOSUPERUSER NOBYPASSRLS, owns nothing. Defaults
    /// to `database_url` with the user replaced by `countersign_app`.
    #[serde(default)]
    pub app_database_url: Option<String>,
    #[serde(default = "default_listen")]
    pub listen: String,
    /// `GET /metrics` (Prometheus), apart from the public API: loopback by
    /// default, so a scrape target is never exposed with the API.
    #[serde(default = "default_metrics_listen")]
    pub metrics_listen: String,
    /// Ed25519 PKCS#8 key signing audit checkpoints. Without one the server
    /// generates a key per start (development only; `audit verify` then
    /// cannot check its checkpoints).
    #[serde(default)]
    pub audit_key_file: Option<String>,
    /// Serve although PostgreSQL acknowledges commits before they are durable
    /// (`synchronous_commit = off`). Development only: the server otherwise
    /// refuses such a database (`COUNTERSIGN_DEV_ALLOW_ASYNC_COMMIT=1`).
    #[serde(default)]
    pub dev_allow_async_commit: bool,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub approval_policy: crate::approve::policy::ApprovalPolicy,
    /// What `GET /v1/client-config` tells the desktop app.
    #[serde(default)]
    pub desktop: Desktop,
}

/// How the desktop app signs in at the configured issuer, and the oldest app
/// version the server still serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Desktop {
    /// The name on the sign-in button ("Sign in with <name>").
    pub provider_name: String,
    /// The app's public (PKCE) client at the issuer.
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Loopback ports registered at the issuer; empty = any free port.
    pub redirect_ports: Vec<u16>,
    pub min_client_version: String,
    /// Signed desktop updates (`GET /v1/updates/...`): a directory holding
    /// `latest.json` (Tauri's static updater manifest) and the artifacts in
    /// `files/`. Unset: the server offers no update (204).
    pub updates_dir: Option<std::path::PathBuf>,
}

impl Default for Desktop {
    fn default() -> Self {
        Desktop {
            provider_name: "Company sign-in".into(),
            client_id: "countersign-desktop".into(),
            scopes: ["openid", "profile", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
            redirect_ports: Vec::new(),
            min_client_version: "0.1.0".into(),
            updates_dir: None,
        }
    }
}

/// Tunables of the server's decisions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Clock skew tolerated on `exp`/`nbf`, seconds.
    pub token_leeway_secs: u64,
    /// Minimum time between two JWKS refetches triggered by unknown `kid`s.
    pub jwks_refetch_min_interval_secs: u64,
    /// How often the issuer's keys are fetched again, whatever happens: a key
    /// the issuer drops (rotation, compromise) is refused at the latest this
    /// long after (plus one fetch).
    pub jwks_refresh_secs: u64,
    /// How long a token's verified signature is reused before it is checked
    /// again (its time claims are checked on every request).
    pub verified_token_cache_secs: u64,
    /// Database connections. The default is twice the machine's cores: the
    /// database does the work on those same cores, and more backends only
    /// take turns. Measured (scripts/bench server, 2 cores): 4 connections
    /// serve sync pages 32 % faster and invoice pages 7 % faster than 16.
    pub db_max_connections: u32,
    /// How long a request waits for a pooled database connection before it
    /// is answered 503 (with `Retry-After`), milliseconds: long enough for a
    /// burst on a loaded machine (200 requests at once on 4 connections took
    /// up to 2.3 s in the test suite). It is not what bounds a request while
    /// the database is unreachable: the staff lookup every request makes
    /// fails first and fast (`kernel::db::Held`, 1 s at most).
    pub db_acquire_timeout_ms: u64,
    /// Seconds between signed audit checkpoints (written even when idle).
    pub audit_checkpoint_secs: u64,
    /// Reveals one staff member may make per minute.
    pub reveals_per_minute: u32,
    /// How often the notification stream looks for news, milliseconds.
    pub notification_poll_ms: u64,
    /// On SIGTERM or SIGINT, how long in-flight requests may take to finish
    /// (and the batches and the audit writer to flush) before the rest is cut.
    pub drain_secs: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            token_leeway_secs: 30,
            jwks_refetch_min_interval_secs: 10,
            jwks_refresh_secs: 300,
            verified_token_cache_secs: 300,
            db_max_connections: default_db_connections(),
            db_acquire_timeout_ms: 1_500,
            audit_checkpoint_secs: 60,
            reveals_per_minute: 20,
            notification_poll_ms: 2_000,
            drain_secs: 10,
        }
    }
}

fn default_db_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (2 * cores).clamp(4, 64) as u32
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_metrics_listen() -> String {
    "127.0.0.1:9464".into()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

const ENV_KEYS: &[(&str, &str)] = &[
    ("COUNTERSIGN_ISSUER", "issuer"),
    ("COUNTERSIGN_AUDIENCE", "audience"),
    ("COUNTERSIGN_DATABASE_URL", "database_url"),
    ("COUNTERSIGN_APP_DATABASE_URL", "app_database_url"),
    ("COUNTERSIGN_LISTEN", "listen"),
    ("COUNTERSIGN_METRICS_LISTEN", "metrics_listen"),
    ("COUNTERSIGN_AUDIT_KEY_FILE", "audit_key_file"),
];

/// Nested keys set from the environment (`[desktop]` table).
const ENV_DESKTOP_KEYS: &[(&str, &str)] = &[
    ("COUNTERSIGN_PROVIDER_NAME", "provider_name"),
    ("COUNTERSIGN_MIN_CLIENT_VERSION", "min_client_version"),
    ("COUNTERSIGN_UPDATES_DIR", "updates_dir"),
];

impl Config {
    /// Reads the file named by `path` (or `COUNTERSIGN_CONFIG`), if any, then
    /// overlays the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let from_env = std::env::var("COUNTERSIGN_CONFIG").ok();
        let path = path.map(Path::to_path_buf).or(from_env.map(Into::into));
        let mut table = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| ConfigError::Invalid(e.to_string()))?
            }
            None => toml::Table::new(),
        };
        for (var, key) in ENV_KEYS {
            if let Ok(v) = std::env::var(var) {
                if !v.is_empty() {
                    table.insert((*key).into(), toml::Value::String(v));
                }
            }
        }
        if let Ok(v) = std::env::var("COUNTERSIGN_DEV_ALLOW_ASYNC_COMMIT") {
            let on = match v.as_str() {
                "1" | "true" | "on" | "yes" => true,
                "" | "0" | "false" | "off" | "no" => false,
                other => {
                    return Err(ConfigError::Invalid(format!(
                        "COUNTERSIGN_DEV_ALLOW_ASYNC_COMMIT={other:?}: use 1 or 0"
                    )))
                }
            };
            table.insert("dev_allow_async_commit".into(), toml::Value::Boolean(on));
        }
        for (var, key) in ENV_DESKTOP_KEYS {
            if let Ok(v) = std::env::var(var) {
                if !v.is_empty() {
                    let desktop = table
                        .entry("desktop")
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let toml::Value::Table(t) = desktop {
                        t.insert((*key).into(), toml::Value::String(v));
                    }
                }
            }
        }
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.message().to_owned()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.trim().is_empty() || self.audience.trim().is_empty() {
            return Err(ConfigError::Invalid("issuer and audience must be set".into()));
        }
        if countersign_api::ClientVersion::parse(&self.desktop.min_client_version).is_none() {
            return Err(ConfigError::Invalid(format!(
                "desktop.min_client_version {:?} is not a version like 1.2.3",
                self.desktop.min_client_version
            )));
        }
        url_user_swap(&self.database_url, "x")
            .ok_or_else(|| ConfigError::Invalid("database_url is not a postgres:// URL".into()))?;
        self.approval_policy.validate().map_err(ConfigError::Invalid)?;
        Ok(())
    }

    pub fn app_database_url(&self) -> String {
        self.app_database_url
            .clone()
            .unwrap_or_else(|| url_user_swap(&self.database_url, "countersign_app").expect("validated"))
    }
}

/// `postgres://user:pw@host/db?x` → `postgres://<user>@host/db?x`. The server's
/// role authenticates by the cluster's own means (trust on the loopback dev
/// cluster, a password via `app_database_url` elsewhere).
fn url_user_swap(url: &str, user: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let host_part = match rest.find('@') {
        Some(at) if rest[..at].find('/').is_none() => &rest[at + 1..],
        _ => rest,
    };
    Some(format!("postgres://{user}@{host_part}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_url_replaces_credentials_only() {
        assert_eq!(
            url_user_swap("postgres://root:pw@127.0.0.1:5/db?sslmode=disable", "app").unwrap(),
            "postgres://app@127.0.0.1:5/db?sslmode=disable"
        );
        assert_eq!(
            url_user_swap("postgresql://h:1/db", "app").unwrap(),
            "postgres://app@h:1/db"
        );
        assert!(url_user_swap("mysql://h/db", "app").is_none());
    }

    #[test]
    fn a_minimum_client_version_that_is_not_a_version_is_refused() {
        let base = "issuer = \"http://i\"\naudience = \"a\"\ndatabase_url = \"postgres://u@h/db\"\n";
        let ok: Config = toml::from_str(base).unwrap();
        assert!(ok.validate().is_ok());
        assert_eq!(ok.desktop.min_client_version, "0.1.0");
        assert_eq!(ok.desktop.updates_dir, None, "no updates unless configured");
        let updates: Config = toml::from_str(&format!("{base}[desktop]\nupdates_dir = \"/srv/updates\"\n")).unwrap();
        assert_eq!(updates.desktop.updates_dir.as_deref(), Some(Path::new("/srv/updates")));
        let bad: Config = toml::from_str(&format!("{base}[desktop]\nmin_client_version = \"soon\"\n")).unwrap();
        assert!(matches!(bad.validate(), Err(ConfigError::Invalid(m)) if m.contains("soon")));
        assert!(
            toml::from_str::<Config>(&format!("{base}[desktop]\nclient = \"x\"\n")).is_err(),
            "unknown keys are refused"
        );
    }
}

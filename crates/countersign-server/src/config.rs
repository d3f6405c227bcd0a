//! Configuration from a TOML file and/or the environment (`COUNTERSIGN_*`),
//! the environment winning. Everything a deployment changes lives here.

use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The first OpenID provider whose access tokens we accept (exact `iss`),
    /// with its sign-in settings in `[desktop]`. Optional when `[[issuers]]`
    /// lists every provider; see [`Config::issuers`].
    #[serde(default)]
    pub issuer: String,
    /// The first issuer's audience (`aud` must contain it).
    #[serde(default)]
    pub audience: String,
    /// Further providers (`[[issuers]]`), each with its own audience, keys
    /// and sign-in settings. A token is checked against its own issuer only.
    #[serde(default)]
    pub issuers: Vec<IssuerConfig>,
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

/// One trusted OpenID provider (`[[issuers]]`): whose tokens, for which
/// audience, how the desktop app signs in there, and whether a first sign-in
/// of someone unknown creates an account waiting for access.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Exact `iss`; its discovery document is `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    /// This server's audience at that provider (`aud` must contain it).
    pub audience: String,
    /// The name on the sign-in button ("Sign in with <name>"); distinct per provider.
    #[serde(default = "default_provider_name")]
    pub provider_name: String,
    /// The app's public (PKCE) client at this provider.
    #[serde(default = "default_client_id")]
    pub client_id: String,
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Loopback ports registered at this provider; empty = any free port.
    #[serde(default)]
    pub redirect_ports: Vec<u16>,
    /// A valid token of this provider for an unknown (`iss`, `sub`) creates a
    /// staff account with no roles, answered `403 access_pending` until a
    /// security admin decides. Off: such a token is `403 forbidden`.
    #[serde(default)]
    pub jit_provisioning: bool,
}

impl IssuerConfig {
    /// `issuer` for `audience`, with the default sign-in settings.
    pub fn new(issuer: &str, audience: &str) -> IssuerConfig {
        IssuerConfig {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            provider_name: default_provider_name(),
            client_id: default_client_id(),
            scopes: default_scopes(),
            redirect_ports: Vec::new(),
            jit_provisioning: false,
        }
    }
}

fn default_provider_name() -> String {
    "Company sign-in".into()
}

fn default_client_id() -> String {
    "countersign-desktop".into()
}

fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access"]
        .map(String::from)
        .to_vec()
}

/// How the desktop app signs in at the first issuer (the top-level `issuer`),
/// and, for every issuer, the oldest app version the server still serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Desktop {
    /// The name on the first issuer's sign-in button ("Sign in with <name>").
    pub provider_name: String,
    /// The app's public (PKCE) client at the first issuer.
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Loopback ports registered at the first issuer; empty = any free port.
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
            provider_name: default_provider_name(),
            client_id: default_client_id(),
            scopes: default_scopes(),
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

    /// Every trusted issuer, in order: the top-level `issuer` (with its
    /// `[desktop]` sign-in settings; no just-in-time provisioning) when set,
    /// then `[[issuers]]`.
    pub fn issuers(&self) -> Vec<IssuerConfig> {
        let first = (!self.issuer.is_empty()).then(|| IssuerConfig {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            provider_name: self.desktop.provider_name.clone(),
            client_id: self.desktop.client_id.clone(),
            scopes: self.desktop.scopes.clone(),
            redirect_ports: self.desktop.redirect_ports.clone(),
            jit_provisioning: false,
        });
        first.into_iter().chain(self.issuers.iter().cloned()).collect()
    }

    /// The configured issuer `iss`, if it is one.
    pub fn issuer(&self, iss: &str) -> Option<IssuerConfig> {
        self.issuers().into_iter().find(|i| i.issuer == iss)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        validate_issuers(self)?;
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

/// At least one issuer; each with an http(s) URL, an audience, a client id,
/// a provider name and scopes, none empty; no issuer and no provider name twice.
fn validate_issuers(config: &Config) -> Result<(), ConfigError> {
    let invalid = |m: String| Err(ConfigError::Invalid(m));
    if config.issuer.trim().is_empty() != config.audience.trim().is_empty() {
        return invalid("issuer and audience are set together (COUNTERSIGN_ISSUER, COUNTERSIGN_AUDIENCE)".into());
    }
    let all = config.issuers();
    if all.is_empty() {
        return invalid(
            "no issuer: set issuer and audience (COUNTERSIGN_ISSUER, COUNTERSIGN_AUDIENCE) or add [[issuers]]".into(),
        );
    }
    for (n, i) in all.iter().enumerate() {
        let at = format!("issuer {} ({:?})", n + 1, i.issuer);
        let blank = |v: &str| v.trim().is_empty() || v.trim() != v;
        if blank(&i.issuer) || !(i.issuer.starts_with("https://") || i.issuer.starts_with("http://")) {
            return invalid(format!(
                "{at}: issuer must be an http(s) URL without surrounding spaces"
            ));
        }
        for (key, value) in [
            ("audience", &i.audience),
            ("client_id", &i.client_id),
            ("provider_name", &i.provider_name),
        ] {
            if blank(value) {
                return invalid(format!("{at}: {key} must be set, without surrounding spaces"));
            }
        }
        if i.scopes.is_empty() || i.scopes.iter().any(|s| blank(s)) {
            return invalid(format!("{at}: scopes must be a list of non-empty scopes"));
        }
        if i.redirect_ports.contains(&0) {
            return invalid(format!("{at}: redirect_ports are registered ports, never 0"));
        }
        let same = |other: &IssuerConfig| other.issuer.trim_end_matches('/') == i.issuer.trim_end_matches('/');
        if all[..n].iter().any(same) {
            return invalid(format!("{at} is configured twice"));
        }
        if all[..n].iter().any(|o| o.provider_name == i.provider_name) {
            return invalid(format!(
                "{at}: provider_name {:?} is another issuer's too; the sign-in buttons must differ",
                i.provider_name
            ));
        }
    }
    Ok(())
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

    const DB: &str = "database_url = \"postgres://u@h/db\"\n";

    fn invalid(toml_text: &str) -> String {
        let config: Config = toml::from_str(&format!("{DB}{toml_text}")).unwrap();
        match config.validate() {
            Err(ConfigError::Invalid(m)) => m,
            other => panic!("{toml_text}: {other:?}"),
        }
    }

    /// Issue 23, point 3: `[[issuers]]` after the top-level issuer, which
    /// takes its sign-in settings from `[desktop]`; each with its own.
    #[test]
    fn several_issuers_follow_the_first_each_with_its_settings() {
        let text = format!(
            "{DB}issuer = \"https://a.example\"\naudience = \"api-a\"\n[desktop]\nprovider_name = \"Staff\"\n\
             redirect_ports = [53682]\n\
             [[issuers]]\nissuer = \"https://b.example/realms/x\"\naudience = \"https://api.example\"\n\
             provider_name = \"Contractors\"\nclient_id = \"cs\"\nscopes = [\"openid\"]\n\
             redirect_ports = [53690, 53691]\njit_provisioning = true\n"
        );
        let config: Config = toml::from_str(&text).unwrap();
        config.validate().unwrap();
        let all = config.issuers();
        assert_eq!(
            all,
            vec![
                IssuerConfig {
                    provider_name: "Staff".into(),
                    redirect_ports: vec![53682],
                    ..IssuerConfig::new("https://a.example", "api-a")
                },
                IssuerConfig {
                    provider_name: "Contractors".into(),
                    client_id: "cs".into(),
                    scopes: vec!["openid".into()],
                    redirect_ports: vec![53690, 53691],
                    jit_provisioning: true,
                    ..IssuerConfig::new("https://b.example/realms/x", "https://api.example")
                },
            ]
        );
        assert!(config.issuer("https://b.example/realms/x").unwrap().jit_provisioning);
        assert_eq!(config.issuer("https://b.example/realms/x/"), None, "exact match only");
        // [[issuers]] alone is a whole configuration.
        let only: Config =
            toml::from_str(&format!("{DB}[[issuers]]\nissuer = \"http://i\"\naudience = \"a\"\n")).unwrap();
        only.validate().unwrap();
        assert_eq!(only.issuers(), vec![IssuerConfig::new("http://i", "a")]);
    }

    #[test]
    fn duplicate_missing_and_empty_issuer_settings_are_refused() {
        let one = "issuer = \"https://a.example\"\naudience = \"api\"\n";
        let more = |extra: &str| format!("{one}[[issuers]]\nprovider_name = \"B\"\n{extra}");
        for (text, says) in [
            (String::new(), "no issuer"),
            ("issuer = \"https://a.example\"\n".into(), "together"),
            ("audience = \"api\"\n".into(), "together"),
            ("issuer = \"a.example\"\naudience = \"api\"\n".into(), "http(s) URL"),
            (more("issuer = \"https://a.example\"\naudience = \"x\"\n"), "twice"),
            (more("issuer = \"https://a.example/\"\naudience = \"x\"\n"), "twice"),
            (more("issuer = \"\"\naudience = \"x\"\n"), "URL"),
            (more("issuer = \" https://b.example\"\naudience = \"x\"\n"), "URL"),
            (more("issuer = \"https://b.example\"\naudience = \"\"\n"), "audience"),
            (
                more("issuer = \"https://b.example\"\naudience = \"x\"\nclient_id = \" \"\n"),
                "client_id",
            ),
            (
                more("issuer = \"https://b.example\"\naudience = \"x\"\nscopes = []\n"),
                "scopes",
            ),
            (
                more("issuer = \"https://b.example\"\naudience = \"x\"\nscopes = [\"\"]\n"),
                "scopes",
            ),
            (
                more("issuer = \"https://b.example\"\naudience = \"x\"\nredirect_ports = [0]\n"),
                "never 0",
            ),
            (
                format!("{one}[[issuers]]\nissuer = \"https://b.example\"\naudience = \"x\"\n"),
                "provider_name",
            ),
        ] {
            let m = invalid(&text);
            assert!(m.contains(says), "{text}: {m}");
        }
        assert!(
            toml::from_str::<Config>(&more("issuer = \"https://b.example\"\naudience = \"x\"\nkeys = 1\n")).is_err(),
            "unknown keys are refused"
        );
    }
}

//! Where the app signs in (issue 18, point 2): the server's URL comes from
//! `COUNTERSIGN_API_URL`, else the user's config file
//! (`$XDG_CONFIG_HOME/countersign/config.toml`), else the administrator's
//! (`/etc/countersign/config.toml`), else the user types it on the first
//! screen. `GET /v1/client-config` on that server then says everything else:
//! the identity providers and the oldest app version it serves.

use crate::error::{Code, ErrorPayload};
use countersign_api::{ClientConfigDoc, ClientVersion};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// This app's version (the workspace's; the desktop shell has the same).
pub const CLIENT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `Countersign-Client: <version>`, on every request to the server: one whose
/// minimum is newer refuses it (`client_update_required`) before it acts,
/// whatever this app checked at start.
pub(crate) fn version_headers() -> reqwest::header::HeaderMap {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        countersign_api::CLIENT_VERSION_HEADER,
        reqwest::header::HeaderValue::from_static(CLIENT_VERSION),
    );
    headers
}

/// Where the server's URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum ServerSource {
    Env,
    UserConfig,
    SystemConfig,
    /// Typed on the first screen (and saved to the user's config file).
    Entered,
}

/// The app's files. Nothing secret lives here: secrets are in the keyring,
/// records in the encrypted cache.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `config.toml`: server URL, theme.
    pub config_dir: PathBuf,
    /// An administrator's `config.toml`, read only.
    pub system_config: PathBuf,
    /// The encrypted cache and `session.toml` (who to resume).
    pub data_dir: PathBuf,
}

impl Paths {
    /// The XDG base directories (`$XDG_CONFIG_HOME`, `$XDG_DATA_HOME`, else
    /// under `$HOME`), each with a `countersign` folder.
    pub fn from_env() -> Paths {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let xdg = |var: &str, fallback: &str| {
            std::env::var_os(var)
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| home.join(fallback))
                .join("countersign")
        };
        Paths {
            config_dir: xdg("XDG_CONFIG_HOME", ".config"),
            system_config: PathBuf::from("/etc/countersign/config.toml"),
            data_dir: xdg("XDG_DATA_HOME", ".local/share"),
        }
    }

    pub fn user_config(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }
}

/// The URL to use and where it came from; `None`: ask the user.
pub fn resolve(paths: &Paths, env_url: Option<&str>) -> Option<(String, ServerSource)> {
    if let Some(url) = env_url.map(str::trim).filter(|u| !u.is_empty()) {
        return Some((url.to_owned(), ServerSource::Env));
    }
    let from = |file: &Path| {
        read_table(file)
            .get("server_url")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
    };
    from(&paths.user_config())
        .map(|u| (u, ServerSource::UserConfig))
        .or_else(|| from(&paths.system_config).map(|u| (u, ServerSource::SystemConfig)))
}

/// A TOML file as a table; a missing or unreadable file is an empty one (the
/// app then asks, rather than refusing to start).
pub fn read_table(file: &Path) -> toml::Table {
    std::fs::read_to_string(file)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .unwrap_or_default()
}

/// Sets one key of the user's config file, keeping the others.
pub fn write_setting(paths: &Paths, key: &str, value: &str) -> Result<(), ErrorPayload> {
    let file = paths.user_config();
    let mut table = read_table(&file);
    table.insert(key.to_owned(), toml::Value::String(value.to_owned()));
    let failed =
        |e: std::io::Error| ErrorPayload::new(Code::ConfigInvalid, format!("Could not save {}: {e}", file.display()));
    std::fs::create_dir_all(&paths.config_dir).map_err(failed)?;
    std::fs::write(&file, table.to_string()).map_err(failed)
}

/// A server that answered `GET /v1/client-config` as a Countersign server.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: String,
    pub source: ServerSource,
    pub config: ClientConfigDoc,
}

impl Server {
    /// This app is older than the server's minimum.
    pub fn update_required(&self) -> bool {
        match (
            ClientVersion::parse(CLIENT_VERSION),
            ClientVersion::parse(&self.config.min_client_version),
        ) {
            (Some(ours), Some(min)) => ours < min,
            // A minimum we cannot read is not one we can claim to meet.
            _ => true,
        }
    }
}

/// Parses what a person typed: `https://host[:port][/path]`, or a bare host
/// (taken as https). Never a URL with credentials, a query or a fragment.
pub fn parse_server_url(input: &str) -> Result<Url, ErrorPayload> {
    let input = input.trim();
    let invalid = || {
        ErrorPayload::new(
            Code::ConfigInvalid,
            "Enter the server's address, like https://countersign.example.com.",
        )
    };
    if input.is_empty() {
        return Err(invalid());
    }
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| invalid())?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host_str().is_none()
        || !url.username().is_empty()
        || url.password().is_some()
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return Err(invalid());
    }
    Ok(url)
}

/// The error's whole chain in one line (reqwest hides the cause in sources).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// The HTTP client for the server's public routes (its configuration, its
/// updates): no token, no redirects, short timeouts, this app's version.
pub(crate) fn public_http() -> Result<reqwest::Client, ErrorPayload> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(30))
        .user_agent(concat!("countersign-client/", env!("CARGO_PKG_VERSION")))
        .default_headers(version_headers())
        .build()
        .map_err(|e| ErrorPayload::new(Code::ConfigInvalid, e.to_string()))
}

/// A request that got no answer, told apart: TLS, timeout, anything else.
pub(crate) fn unreachable(host: &str, e: &reqwest::Error) -> ErrorPayload {
    let text = chain(e);
    let lower = text.to_lowercase();
    // rustls says so in words only: a certificate it refuses, or an
    // answer that is not TLS at all (https to a plain-http port).
    if ["certificate", "tls", "handshake", "ssl", "corrupt message"]
        .iter()
        .any(|w| lower.contains(w))
    {
        ErrorPayload::new(Code::Tls, format!("The connection to {host} is not secure: {text}"))
    } else if e.is_timeout() {
        ErrorPayload::new(Code::Timeout, format!("{host} did not answer in time."))
    } else {
        ErrorPayload::new(Code::Network, format!("Could not reach {host}: {text}"))
    }
}

/// Fetches and checks `GET <url>/v1/client-config`: unreachable, a TLS
/// failure and "answers, but not as Countersign" are told apart.
pub async fn fetch(url: &str, source: ServerSource) -> Result<Server, ErrorPayload> {
    let base = parse_server_url(url)?;
    let host = base.host_str().unwrap_or_default().to_owned();
    let endpoint = base
        .join(&format!("{}/v1/client-config", base.path().trim_end_matches('/')))
        .map_err(|_| ErrorPayload::new(Code::ConfigInvalid, "That address cannot be used."))?;
    let http = public_http()?;
    let response = http
        .get(endpoint)
        .header(reqwest::header::ACCEPT, "application/json")
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| unreachable(&host, &e))?;
    let not_ours = |why: String| {
        ErrorPayload::new(
            Code::NotCountersign,
            format!("{host} answers, but not as a Countersign server ({why})."),
        )
    };
    if !response.status().is_success() {
        return Err(not_ours(format!("HTTP {}", response.status().as_u16())));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| ErrorPayload::new(Code::Network, format!("Could not read {host}'s answer: {}", chain(&e))))?;
    let config: ClientConfigDoc =
        serde_json::from_slice(&body).map_err(|_| not_ours("no client configuration".into()))?;
    if config.providers.is_empty() {
        return Err(ErrorPayload::new(
            Code::ConfigInvalid,
            format!("{host} offers no way to sign in: ask your administrator."),
        ));
    }
    Ok(Server {
        url: base.as_str().trim_end_matches('/').to_owned(),
        source,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(dir: &Path) -> Paths {
        Paths {
            config_dir: dir.join("user"),
            system_config: dir.join("etc/config.toml"),
            data_dir: dir.join("data"),
        }
    }

    #[test]
    fn the_environment_wins_then_the_users_file_then_the_administrators() {
        let dir = tempfile::tempdir().unwrap();
        let p = paths(dir.path());
        assert_eq!(resolve(&p, None), None);
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(&p.system_config, "server_url = \"https://admin.example\"\n").unwrap();
        assert_eq!(
            resolve(&p, None),
            Some(("https://admin.example".into(), ServerSource::SystemConfig))
        );
        write_setting(&p, "theme", "dark").unwrap();
        write_setting(&p, "server_url", "https://mine.example").unwrap();
        assert_eq!(
            resolve(&p, None),
            Some(("https://mine.example".into(), ServerSource::UserConfig))
        );
        assert_eq!(
            read_table(&p.user_config()).get("theme").and_then(|v| v.as_str()),
            Some("dark"),
            "other settings are kept"
        );
        assert_eq!(
            resolve(&p, Some(" https://env.example ")),
            Some(("https://env.example".into(), ServerSource::Env))
        );
        assert_eq!(
            resolve(&p, Some("")).map(|r| r.1),
            Some(ServerSource::UserConfig),
            "an empty variable is unset"
        );
        std::fs::write(p.user_config(), "server_url = [not toml").unwrap();
        assert_eq!(
            resolve(&p, None).map(|r| r.1),
            Some(ServerSource::SystemConfig),
            "a broken file is skipped, not fatal"
        );
    }

    #[test]
    fn what_people_type_is_parsed_once_and_junk_is_refused() {
        assert_eq!(
            parse_server_url(" countersign.example ").unwrap().as_str(),
            "https://countersign.example/"
        );
        assert_eq!(
            parse_server_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        for junk in [
            "",
            "   ",
            "ftp://x.example",
            "https://user:pw@x.example",
            "https://x.example/?a=1",
            "https://x.example/#f",
            "http://",
        ] {
            assert_eq!(
                parse_server_url(junk).unwrap_err().code,
                Code::ConfigInvalid,
                "{junk:?}"
            );
        }
    }

    #[test]
    fn an_app_older_than_the_minimum_must_update() {
        let server = |min: &str| Server {
            url: "https://x".into(),
            source: ServerSource::Entered,
            config: ClientConfigDoc {
                providers: vec![],
                min_client_version: min.into(),
                server_version: "1.0.0".into(),
            },
        };
        assert!(!server(CLIENT_VERSION).update_required());
        assert!(!server("0.0.1").update_required());
        assert!(server("999.0.0").update_required());
        assert!(server("soon").update_required(), "an unreadable minimum is not met");
    }
}

//! Opening the authorization URL in a browser (RFC 8252 §4.1: the system
//! browser, never an embedded web view). Sign-in takes a [`Browser`] so tests
//! can use a scripted one that signs in at the dev OpenID provider over HTTP
//! like a person would (feature `test-browser`, never enabled by the app).

use url::Url;

/// Something that can show the user the provider's authorization page.
/// `open` must return promptly: sign-in waits for the loopback redirect,
/// not for the browser.
pub trait Browser: Send + Sync {
    fn open(&self, url: &Url) -> Result<(), BrowserError>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not open the browser: {0}")]
pub struct BrowserError(pub String);

/// The user's default browser, through the platform's opener
/// (`$BROWSER`, else `xdg-open` on Linux, `open` on macOS, the URL protocol handler on Windows).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemBrowser;

impl Browser for SystemBrowser {
    fn open(&self, url: &Url) -> Result<(), BrowserError> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(BrowserError(format!("refusing to open a {} URL", url.scheme())));
        }
        #[cfg(target_os = "macos")]
        let mut cmd = {
            let mut c = std::process::Command::new("open");
            c.arg(url.as_str());
            c
        };
        #[cfg(target_os = "windows")]
        let mut cmd = {
            let mut c = std::process::Command::new("rundll32");
            c.arg("url.dll,FileProtocolHandler").arg(url.as_str());
            c
        };
        // `$BROWSER` is the user's stated choice on Linux (xdg-open itself
        // falls back to it only after the desktop's handlers).
        #[cfg(not(any(target_os = "macos", target_os = "windows")))]
        let mut cmd = {
            let chosen = std::env::var("BROWSER")
                .ok()
                .and_then(|b| b.split(':').map(str::trim).find(|b| !b.is_empty()).map(str::to_owned));
            let mut c = std::process::Command::new(chosen.as_deref().unwrap_or("xdg-open"));
            c.arg(url.as_str());
            c
        };
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().map_err(|e| BrowserError(e.to_string()))?;
        // Reap the opener in the background; it exits as soon as it has handed off.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        Ok(())
    }
}

/// A browser that does nothing: the user closed the tab. Sign-in then ends
/// with a timeout.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoBrowser;

impl Browser for NoBrowser {
    fn open(&self, _url: &Url) -> Result<(), BrowserError> {
        Ok(())
    }
}

/// Tests only: signs in at the dev OpenID provider exactly as
/// `dev/idp/README.md` describes (a cookie jar, no automatic redirects, the
/// login form, the consent form), then delivers the loopback redirect with a
/// GET as a browser would. It can tamper with the flow to exercise the
/// client's checks.
#[cfg(feature = "test-browser")]
pub mod scripted {
    use super::{Browser, BrowserError};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use url::Url;

    /// What the scripted person does differently from an honest sign-in.
    #[derive(Debug, Clone, Default)]
    pub enum Tamper {
        #[default]
        None,
        /// Replace `state` in the redirect to the app.
        State(String),
        /// Replace (`Some`) or drop (`None`) `iss` in the redirect to the app.
        Issuer(Option<String>),
        /// Replace `nonce` in the authorization request, so the ID token carries another nonce.
        Nonce(String),
    }

    #[derive(Debug, Clone)]
    pub struct ScriptedBrowser {
        pub username: String,
        pub password: String,
        /// `false`: press "deny" on the consent page (`prompt=abort`).
        pub consent: bool,
        /// `false`: never deliver the redirect to the app (the tab was closed).
        pub deliver: bool,
        pub tamper: Tamper,
        outcome: Arc<Mutex<Option<Result<(), String>>>>,
    }

    impl ScriptedBrowser {
        /// Signs in as `username` with the dev password `<username>-pw` and consents.
        pub fn new(username: &str) -> Self {
            Self::with_password(username, &format!("{username}-pw"))
        }
        pub fn with_password(username: &str, password: &str) -> Self {
            ScriptedBrowser {
                username: username.into(),
                password: password.into(),
                consent: true,
                deliver: true,
                tamper: Tamper::None,
                outcome: Arc::new(Mutex::new(None)),
            }
        }
        pub fn deny(mut self) -> Self {
            self.consent = false;
            self
        }
        pub fn never_deliver(mut self) -> Self {
            self.deliver = false;
            self
        }
        pub fn tamper(mut self, t: Tamper) -> Self {
            self.tamper = t;
            self
        }
        /// What happened in the browser, once it has finished (for test diagnostics).
        pub fn outcome(&self) -> Option<Result<(), String>> {
            self.outcome.lock().unwrap().clone()
        }
    }

    impl Browser for ScriptedBrowser {
        fn open(&self, url: &Url) -> Result<(), BrowserError> {
            let handle =
                tokio::runtime::Handle::try_current().map_err(|e| BrowserError(format!("no tokio runtime: {e}")))?;
            let me = self.clone();
            let url = url.clone();
            handle.spawn(async move {
                let r = me.drive(url).await;
                *me.outcome.lock().unwrap() = Some(r);
            });
            Ok(())
        }
    }

    fn replace_param(url: &Url, name: &str, value: Option<&str>) -> Url {
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().filter(|(k, _)| k != name).collect();
        let mut out = url.clone();
        {
            let mut q = out.query_pairs_mut();
            q.clear();
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        out
    }

    impl ScriptedBrowser {
        async fn drive(&self, auth: Url) -> Result<(), String> {
            let redirect_uri = auth
                .query_pairs()
                .find(|(k, _)| k == "redirect_uri")
                .map(|(_, v)| v.into_owned())
                .ok_or("authorization URL without redirect_uri")?;
            let jar = Arc::new(reqwest::cookie::Jar::default());
            let http = reqwest::Client::builder()
                .cookie_provider(jar)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(15))
                .build()
                .map_err(|e| e.to_string())?;
            let mut url = match &self.tamper {
                Tamper::Nonce(n) => replace_param(&auth, "nonce", Some(n)),
                _ => auth,
            };
            let location = |r: &reqwest::Response| -> Option<Url> {
                let l = r.headers().get("location")?.to_str().ok()?;
                r.url().join(l).ok()
            };
            for _ in 0..16 {
                if url.as_str().starts_with(&format!("{redirect_uri}?")) {
                    let url = match &self.tamper {
                        Tamper::State(s) => replace_param(&url, "state", Some(s)),
                        Tamper::Issuer(i) => replace_param(&url, "iss", i.as_deref()),
                        _ => url,
                    };
                    if !self.deliver {
                        return Ok(());
                    }
                    let r = http.get(url).send().await.map_err(|e| format!("loopback: {e}"))?;
                    let _ = r.text().await;
                    return Ok(());
                }
                let r = http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| format!("GET {url}: {e}"))?;
                if r.status().is_redirection() {
                    url = location(&r).ok_or_else(|| format!("redirect without Location from {url}"))?;
                    continue;
                }
                if r.status() != reqwest::StatusCode::OK {
                    return Err(format!("{} at {}", r.status(), url.path()));
                }
                if url.path().ends_with("/login.html") {
                    url = self.glewlwyd_login(&http, &url).await?;
                    continue;
                }
                let page = r.text().await.map_err(|e| e.to_string())?;
                let form: Vec<(&str, &str)> = if page.contains("name=\"password\"") {
                    vec![
                        ("prompt", "login"),
                        ("login", &self.username),
                        ("password", &self.password),
                    ]
                } else if self.consent {
                    vec![("prompt", "consent")]
                } else {
                    vec![("prompt", "abort")]
                };
                let r = http
                    .post(url.clone())
                    .form(&form)
                    .send()
                    .await
                    .map_err(|e| format!("POST {url}: {e}"))?;
                match location(&r) {
                    Some(next) if r.status().is_redirection() => url = next,
                    _ => return Err(format!("{} after POST at {}", r.status(), url.path())),
                }
            }
            Err("too many redirects".into())
        }

        /// Glewlwyd's login page is a JavaScript app: this makes the calls it
        /// makes (dev/glewlwyd/browser.js lists them): sign in, grant the
        /// scopes the client asks for if not yet granted, then "Continue".
        async fn glewlwyd_login(&self, http: &reqwest::Client, login: &Url) -> Result<Url, String> {
            let param = |name: &str| {
                login
                    .query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
                    .ok_or(format!("Glewlwyd's login page without {name}"))
            };
            let (client_id, scope, callback) = (param("client_id")?, param("scope")?, param("callback_url")?);
            let api = login.join("/api/").map_err(|e| e.to_string())?;
            let at = |path: &str| api.join(path).map_err(|e| e.to_string());
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let r = http
                .post(at("auth/")?)
                .json(&serde_json::json!({ "username": self.username, "password": self.password }))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !r.status().is_success() {
                return Err(format!("Glewlwyd refused the password: {}", r.status()));
            }
            let grants: serde_json::Value = http
                .get(at(&format!("auth/grant/{}/{}", enc(&client_id), enc(&scope)))?)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let listed = grants["scope"].as_array().cloned().unwrap_or_default();
            if listed.iter().any(|s| s["granted"] != true) {
                if !self.consent {
                    return Err("consent refused (Glewlwyd has no deny button; the tab is closed)".into());
                }
                let names: Vec<&str> = listed.iter().filter_map(|s| s["name"].as_str()).collect();
                let r = http
                    .put(at(&format!("auth/grant/{}", enc(&client_id)))?)
                    .json(&serde_json::json!({ "scope": names.join(" ") }))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !r.status().is_success() {
                    return Err(format!("granting {scope} failed: {}", r.status()));
                }
            }
            let mut next = login.join(&callback).map_err(|e| e.to_string())?;
            next.query_pairs_mut().append_key_only("g_continue");
            Ok(next)
        }
    }
}

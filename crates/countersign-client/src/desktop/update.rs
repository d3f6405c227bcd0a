//! Signed updates (issue 22, point 2), the client's half: the manifest and
//! the package are fetched here, each cut off past a size this app accepts,
//! so a server (or whoever answers in its place) cannot make the app read
//! without end. What they say is trusted only after the desktop shell's
//! updater (tauri-plugin-updater) has checked the package's minisign
//! signature and the version signed inside it.

use super::{lock, Desktop};
use crate::discovery::{public_http, unreachable, CLIENT_VERSION};
use crate::error::{Code, ErrorPayload};
use serde::Serialize;
use url::Url;

/// The most a manifest may weigh. A real one is under 2 KiB: a version, a
/// date, notes and one signature per platform.
pub const MANIFEST_MAX_BYTES: usize = 256 * 1024;
/// The most a package may weigh: the release .deb is about 6 MiB (target
/// 15 MiB); an AppImage, should one be shipped, about 80 MiB.
pub const PACKAGE_MAX_BYTES: u64 = 128 * 1024 * 1024;

/// An update the server offers and this app accepts as newer, before its
/// package is downloaded and checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateView {
    pub version: String,
    pub current_version: String,
    /// The release notes, as the administrator wrote them (plain text).
    pub notes: Option<String>,
    /// When it was published (RFC 3339), when the manifest says.
    pub published_at: Option<String>,
}

/// A package's download progress, sent through the command's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct UpdateProgress {
    pub bytes: u64,
    /// The package's size, when the server said.
    pub total: Option<u64>,
}

fn too_large(what: &str, max: u64) -> ErrorPayload {
    ErrorPayload::new(
        Code::UpdateTooLarge,
        format!(
            "The update's {what} is larger than this app accepts ({} KiB); it was cut off and nothing was installed.",
            max / 1024
        ),
    )
}

impl Desktop {
    /// `GET /v1/updates/{target}/{arch}/{this version}` at the chosen server:
    /// `None` when it has nothing newer (204), else the manifest as sent,
    /// unchecked (the updater checks it).
    pub async fn update_manifest(&self, target: &str, arch: &str) -> Result<Option<serde_json::Value>, ErrorPayload> {
        let base = self.server_base()?;
        let host = base.host_str().unwrap_or_default().to_owned();
        let url = base
            .join(&format!(
                "{}/v1/updates/{target}/{arch}/{CLIENT_VERSION}",
                base.path().trim_end_matches('/')
            ))
            .map_err(|_| ErrorPayload::new(Code::ConfigInvalid, "The update address cannot be built."))?;
        let response = get(url, &host, "application/json").await?;
        match response.status().as_u16() {
            204 => return Ok(None),
            200 => {}
            status => {
                return Err(ErrorPayload::new(
                    Code::UpdateFailed,
                    format!("{host} could not say whether an update exists (HTTP {status})."),
                ))
            }
        }
        let body = read_capped(response, &host, "description", MANIFEST_MAX_BYTES as u64, |_| {}).await?;
        serde_json::from_slice(&body).map(Some).map_err(|_| {
            ErrorPayload::new(
                Code::UpdateFailed,
                format!("{host} sent an update description that is not readable."),
            )
        })
    }

    /// Downloads a package the manifest names: from this server, or from any
    /// https address (a mirror; the signature, not the address, is what is
    /// trusted). Cut off past `PACKAGE_MAX_BYTES`, whatever the server
    /// announced.
    pub async fn update_download(
        &self,
        url: &str,
        progress: impl FnMut(UpdateProgress),
    ) -> Result<Vec<u8>, ErrorPayload> {
        let base = self.server_base()?;
        let url = Url::parse(url).map_err(|_| {
            ErrorPayload::new(
                Code::UpdateFailed,
                "The update names a package address that is not valid.",
            )
        })?;
        if url.scheme() != "https" && url.origin() != base.origin() {
            return Err(ErrorPayload::new(
                Code::UpdateFailed,
                "The update's package is neither on this server nor on a secure (https) address: \
                 it was not downloaded.",
            ));
        }
        let host = url.host_str().unwrap_or_default().to_owned();
        let response = get(url, &host, "application/octet-stream").await?;
        if !response.status().is_success() {
            return Err(ErrorPayload::new(
                Code::UpdateFailed,
                format!(
                    "The update's package could not be downloaded from {host} (HTTP {}).",
                    response.status().as_u16()
                ),
            ));
        }
        read_capped(response, &host, "package", PACKAGE_MAX_BYTES, progress).await
    }

    /// The chosen server's URL, if one is chosen.
    pub fn server_url(&self) -> Option<String> {
        lock(&self.server).as_ref().map(|s| s.url.clone())
    }

    fn server_base(&self) -> Result<Url, ErrorPayload> {
        let server = lock(&self.server).clone();
        let server = server
            .ok_or_else(|| ErrorPayload::new(Code::ConfigInvalid, "Choose a server first: updates come from it."))?;
        Url::parse(&server.url)
            .map_err(|_| ErrorPayload::new(Code::ConfigInvalid, "The server's address is not valid."))
    }
}

async fn get(url: Url, host: &str, accept: &'static str) -> Result<reqwest::Response, ErrorPayload> {
    public_http()?
        .get(url)
        .header(reqwest::header::ACCEPT, accept)
        .send()
        .await
        .map_err(|e| unreachable(host, &e))
}

/// The body, cut off past `max` bytes whatever the server announced (a
/// larger `Content-Length` is refused before anything is read).
async fn read_capped(
    mut response: reqwest::Response,
    host: &str,
    what: &str,
    max: u64,
    mut progress: impl FnMut(UpdateProgress),
) -> Result<Vec<u8>, ErrorPayload> {
    let total = response.content_length();
    if total.is_some_and(|t| t > max) {
        return Err(too_large(what, max));
    }
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(host, &e))? {
        if (bytes.len() + chunk.len()) as u64 > max {
            return Err(too_large(what, max));
        }
        bytes.extend_from_slice(&chunk);
        progress(UpdateProgress {
            bytes: bytes.len() as u64,
            total,
        });
    }
    Ok(bytes)
}

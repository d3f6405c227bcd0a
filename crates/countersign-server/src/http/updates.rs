//! Signed desktop updates (API.md, Desktop updates; issue 22): the manifest
//! Tauri's updater asks for, and the artifacts it names, from
//! `desktop.updates_dir`, which the administrator fills:
//!
//! ```text
//! <updates_dir>/latest.json        Tauri's static manifest: version, notes, pub_date, platforms
//! <updates_dir>/files/<artifact>   what its URLs point at (GET /v1/updates/files/<artifact>)
//! ```
//!
//! Public, served to any app version (an outdated app must reach what fixes
//! it) and not audited: like `/v1/client-config`, they are about no one. The
//! server checks no signature: the app verifies each artifact's minisign
//! signature against the key it was built with, so a server that was tampered
//! with cannot make it install anything. What the server does is never offer
//! a downgrade or the same version, and answer only the asking platform.

use super::extract::Path;
use super::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_api::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest `latest.json` read: a manifest lists a few platforms (a few
/// KB); anything bigger is not one, and a public route must not read it.
pub const MANIFEST_MAX_BYTES: u64 = 1024 * 1024;

/// The size of the pieces an artifact is streamed in.
const CHUNK_BYTES: usize = 64 * 1024;

/// What the updater receives: Tauri's static format, `platforms` reduced to
/// the asking platform's entries (`{target}-{arch}` and
/// `{target}-{arch}-{installer}`), among which the updater picks its own.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct UpdateManifest {
    /// The offered version (semantic versioning), newer than the app's.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pub_date: Option<String>,
    pub platforms: BTreeMap<String, UpdatePlatform>,
}

/// One artifact: where to download it, and its minisign signature (base64),
/// which the app verifies.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, utoipa::ToSchema)]
pub struct UpdatePlatform {
    pub url: String,
    pub signature: String,
}

/// `latest.json` cannot be served: the administrator has something to fix.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error("cannot be read: {0}")]
    Read(std::io::Error),
    #[error("is larger than {MANIFEST_MAX_BYTES} bytes")]
    TooLarge,
    #[error("is not a Tauri static manifest: {0}")]
    Json(serde_json::Error),
    #[error("{0}")]
    Invalid(String),
}

impl From<Unusable> for ApiError {
    fn from(e: Unusable) -> Self {
        tracing::error!(error = %e, "the update manifest latest.json is unusable");
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The update manifest on this server is unusable; the administrator has been told (server log).",
        )
    }
}

/// `target` and `arch` as the updater fills them in: `linux`, `x86_64`, ….
fn is_word(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// An artifact's name: no separator and no leading dot, so it names a file
/// directly inside `files/` and nothing else (`..`, hidden files).
pub fn is_artifact_name(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && s.len() <= 201
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
}

/// Reads and checks `latest.json`; `None` when there is none.
async fn read_manifest(path: &FsPath) -> Result<Option<(UpdateManifest, semver::Version)>, Unusable> {
    let file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable::Read(e)),
    };
    let mut text = Vec::new();
    file.take(MANIFEST_MAX_BYTES + 1)
        .read_to_end(&mut text)
        .await
        .map_err(Unusable::Read)?;
    if text.len() as u64 > MANIFEST_MAX_BYTES {
        return Err(Unusable::TooLarge);
    }
    let manifest: UpdateManifest = serde_json::from_slice(&text).map_err(Unusable::Json)?;
    let version = semver::Version::parse(&manifest.version)
        .map_err(|_| Unusable::Invalid(format!("version {:?} is not a semantic version", manifest.version)))?;
    if let Some(date) = &manifest.pub_date {
        time::OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
            .map_err(|_| Unusable::Invalid(format!("pub_date {date:?} is not an RFC 3339 date")))?;
    }
    for (name, p) in &manifest.platforms {
        // The updater refuses the whole manifest for one bad URL: so does the server, saying where.
        if reqwest::Url::parse(&p.url).is_err() {
            return Err(Unusable::Invalid(format!(
                "platforms.{name}.url is not an absolute URL"
            )));
        }
        if p.signature.trim().is_empty() {
            return Err(Unusable::Invalid(format!("platforms.{name}.signature is empty")));
        }
    }
    Ok(Some((manifest, version)))
}

fn no_update() -> Response {
    (StatusCode::NO_CONTENT, [(header::CACHE_CONTROL, "no-store")]).into_response()
}

/// The update for this app, if there is one.
#[utoipa::path(get, path = "/v1/updates/{target}/{arch}/{current_version}",
    params(
        ("target" = String, Path, description = "The app's operating system, as Tauri's updater names it (`linux`, \
            `windows`, `darwin`).", pattern = "^[a-z0-9_]{1,32}$"),
        ("arch" = String, Path, description = "Its architecture (`x86_64`, `aarch64`, …).",
            pattern = "^[a-z0-9_]{1,32}$"),
        ("current_version" = String, Path, description = "The app's version (semantic versioning)."),
    ),
    responses(
        (status = 200, body = UpdateManifest, description = "A newer version for this platform (Tauri's static \
            manifest, this platform's entries only), with `Cache-Control: no-store`"),
        (status = 204, description = "No newer version for this platform (none configured, none published, not \
            newer, or not built for it)"),
        (status = 422, body = countersign_api::Problem, description = "target or arch is not a short lowercase \
            word, or current_version is not a semantic version"),
        (status = 503, body = countersign_api::Problem, description = "The server's update manifest is unusable \
            (too large, unreadable, not the static format, a version that is not semantic)"),
    ),
    tag = "updates")]
pub async fn manifest(
    State(s): State<AppState>,
    Path((target, arch, current_version)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    if !is_word(&target) || !is_word(&arch) {
        return Err(ApiError::invalid(
            "target and arch must be 1-32 lowercase letters, digits or underscores (linux, x86_64).",
        ));
    }
    let current = semver::Version::parse(&current_version)
        .map_err(|_| ApiError::invalid("current_version must be a version like 1.2.3 (semantic versioning)."))?;
    let Some(dir) = &s.config.desktop.updates_dir else {
        return Ok(no_update());
    };
    let Some((mut manifest, offered)) = read_manifest(&dir.join("latest.json")).await? else {
        return Ok(no_update());
    };
    // Semantic versioning's precedence: a pre-release comes before its
    // release, build metadata does not count. Only strictly newer.
    if offered.cmp_precedence(&current) != std::cmp::Ordering::Greater {
        return Ok(no_update());
    }
    let platform = format!("{target}-{arch}");
    let installer = format!("{platform}-");
    manifest
        .platforms
        .retain(|name, _| *name == platform || name.starts_with(&installer));
    if manifest.platforms.is_empty() {
        return Ok(no_update());
    }
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(manifest)).into_response())
}

/// Where `name` is, inside `<dir>/files/` once every link is resolved;
/// `None` for anything else (missing, outside, not a regular file).
async fn artifact(dir: &FsPath, name: &str) -> Result<Option<(tokio::fs::File, u64)>, std::io::Error> {
    let missing = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Ok(None)
        } else {
            Err(e)
        }
    };
    let files = match tokio::fs::canonicalize(dir.join("files")).await {
        Ok(p) => p,
        Err(e) => return missing(e),
    };
    let path: PathBuf = match tokio::fs::canonicalize(files.join(name)).await {
        Ok(p) => p,
        Err(e) => return missing(e),
    };
    // A link inside files/ may point at another file there, never out of it.
    if !path.starts_with(&files) {
        tracing::warn!(name, "an update file links outside files/: not served");
        return Ok(None);
    }
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return missing(e),
    };
    let meta = file.metadata().await?;
    if !meta.is_file() {
        return Ok(None);
    }
    Ok(Some((file, meta.len())))
}

/// The body of `reader`, `len` bytes at most, read as the client takes it.
fn stream(reader: impl AsyncRead + Unpin + Send + 'static, len: u64) -> Body {
    let chunks = futures::stream::try_unfold(reader.take(len), |mut r| async move {
        let mut buf = vec![0; CHUNK_BYTES];
        let n = r.read(&mut buf).await?;
        if n == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), r)))
    });
    Body::from_stream(chunks)
}

/// An artifact of the published update, streamed from `files/`.
#[utoipa::path(get, path = "/v1/updates/files/{name}",
    params(("name" = String, Path, description = "The artifact's file name in the update directory's `files/`.",
        pattern = "^[A-Za-z0-9][A-Za-z0-9._+-]{0,200}$")),
    responses(
        (status = 200, description = "The file, byte for byte (its minisign signature is in the manifest)",
            content_type = "application/octet-stream", headers(("Content-Length" = u64))),
        (status = 404, body = countersign_api::Problem, description = "No such file (or a name that cannot be one)"),
    ),
    tag = "updates")]
pub async fn file(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    if !is_artifact_name(&name) {
        return Err(ApiError::not_found());
    }
    let Some(dir) = &s.config.desktop.updates_dir else {
        return Err(ApiError::not_found());
    };
    let (file, len) = match artifact(dir, &name).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(ApiError::not_found()),
        Err(e) => {
            tracing::error!(error = %e, name, "an update file cannot be read");
            return Err(ApiError::new(
                ErrorCode::ServiceUnavailable,
                "This update file cannot be read on the server; the administrator has been told (server log).",
            ));
        }
    };
    let mut res = stream(file, len).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_arches_are_short_lowercase_words() {
        for ok in ["linux", "x86_64", "aarch64", "darwin", "i686", &"a".repeat(32)] {
            assert!(is_word(ok), "{ok}");
        }
        for bad in ["", "Linux", "x86-64", "linux/x86", "..", "é", " linux", &"a".repeat(33)] {
            assert!(!is_word(bad), "{bad}");
        }
    }

    #[test]
    fn artifact_names_cannot_leave_files() {
        for ok in [
            "Countersign_1.2.3_amd64.deb",
            "countersign-1.2.3-1.x86_64.rpm",
            "Countersign_1.2.3_amd64.AppImage.tar.gz",
            "a",
            "1+build.7",
            &format!("a{}", "b".repeat(200)),
        ] {
            assert!(is_artifact_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../latest.json",
            "a/b",
            "a\\b",
            "-rf",
            "_x",
            "a b",
            "a\0",
            "é.deb",
            &format!("a{}", "b".repeat(201)),
        ] {
            assert!(!is_artifact_name(bad), "{bad:?}");
        }
    }

    fn write(dir: &FsPath, text: &str) -> PathBuf {
        let path = dir.join("latest.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn a_manifest_is_read_only_when_usable() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("latest.json");
        assert!(read_manifest(&missing).await.unwrap().is_none(), "none published");
        let entry = r#"{ "url": "https://u.example/a.deb", "signature": "c2ln" }"#;
        let good = format!(
            r#"{{ "version": "1.2.3", "notes": "n", "pub_date": "2025-05-01T12:00:00Z",
                  "platforms": {{ "linux-x86_64": {entry} }} }}"#
        );
        let (m, v) = read_manifest(&write(dir.path(), &good)).await.unwrap().unwrap();
        assert_eq!((m.version.as_str(), v), ("1.2.3", semver::Version::new(1, 2, 3)));
        let minimal = format!(r#"{{ "version": "1.2.3", "platforms": {{ "linux-x86_64": {entry} }} }}"#);
        assert!(read_manifest(&write(dir.path(), &minimal)).await.unwrap().is_some());
        let bad = [
            "".to_owned(),
            "{".to_owned(),
            "[]".to_owned(),
            r#"{ "version": "1.2.3" }"#.to_owned(),
            format!(r#"{{ "version": "v1.2", "platforms": {{ "linux-x86_64": {entry} }} }}"#),
            format!(r#"{{ "version": "1.2.3", "pub_date": "May 1st", "platforms": {{ "l-x": {entry} }} }}"#),
            r#"{ "version": "1.2.3", "platforms": { "l-x": { "url": "files/a.deb", "signature": "s" } } }"#.to_owned(),
            r#"{ "version": "1.2.3", "platforms": { "l-x": { "url": "https://u/a", "signature": " " } } }"#.to_owned(),
            r#"{ "version": "1.2.3", "platforms": { "l-x": { "url": "https://u/a" } } }"#.to_owned(),
        ];
        for text in bad {
            assert!(read_manifest(&write(dir.path(), &text)).await.is_err(), "{text}");
        }
        let padded = format!("{good}{}", " ".repeat(MANIFEST_MAX_BYTES as usize));
        assert!(matches!(
            read_manifest(&write(dir.path(), &padded)).await,
            Err(Unusable::TooLarge)
        ));
        let exact = format!("{good}{}", " ".repeat(MANIFEST_MAX_BYTES as usize - good.len()));
        assert!(
            read_manifest(&write(dir.path(), &exact)).await.unwrap().is_some(),
            "1 MiB is allowed"
        );
    }
}

//! Signed updates (issue 22, point 2): tauri-plugin-updater decides and
//! installs; `countersign-client` fetches (with its size limits).
//!
//! - The manifest comes from the chosen server (`GET /v1/updates/...`,
//!   `Desktop::update_manifest`) and is handed to the plugin as a restored
//!   update: the plugin picks this platform's entry and keeps only a newer
//!   version (never a downgrade, `allowDowngrades` stays off).
//! - The package is downloaded by `Desktop::update_download` (cut off past
//!   its limit), then `Update::install` checks the minisign signature with
//!   the public key built into the app and the version signed inside it
//!   (`requireSignedVersion`: a manifest cannot pair a newer version number
//!   with an older, validly signed package) before it installs anything.
//!
//! The public key is the plugin's `pubkey` in tauri.conf.json, set by the
//! release pipeline (`tauri build --config`): the repository holds none, so a
//! build without one says updates come from the administrator.

use countersign_client::desktop::{Desktop, UpdateProgress, UpdateView};
use countersign_client::error::{Code, ErrorPayload};
use std::path::PathBuf;
use std::sync::Mutex;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};

/// The updater plugin, configured from tauri.conf.json (`plugins.updater`).
pub fn plugin<R: Runtime>() -> tauri::plugin::TauriPlugin<R, tauri_plugin_updater::Config> {
    tauri_plugin_updater::Builder::new().build()
}

/// The update found by the last check, kept for "Install and restart".
#[derive(Default)]
pub struct Updates {
    found: Mutex<Option<Update>>,
    install_to: Option<PathBuf>,
}

impl Updates {
    /// TEST SEAM: installs over `path` instead of this executable (tests run
    /// unbundled, so the plugin installs the way it does an AppImage:
    /// replacing the file in place). The app itself never uses it.
    pub fn installing_to(path: PathBuf) -> Updates {
        Updates {
            found: Mutex::new(None),
            install_to: Some(path),
        }
    }

    fn take(&self) -> Option<Update> {
        self.found.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn keep(&self, update: Option<Update>) {
        *self.found.lock().unwrap_or_else(|p| p.into_inner()) = update;
    }
}

/// Asks the server for a newer version. `None`: this is the latest.
pub async fn check<R: Runtime>(app: &AppHandle<R>, desktop: &Desktop) -> Result<Option<UpdateView>, ErrorPayload> {
    let updates = app.state::<Updates>();
    updates.keep(None);
    let updater = updater(app, desktop, &updates)?;
    let Some(manifest) = desktop
        .update_manifest(std::env::consts::OS, std::env::consts::ARCH)
        .await?
    else {
        return Ok(None);
    };
    let Some(update) = updater.restore_update(manifest).map_err(refused)? else {
        return Ok(None);
    };
    let view = UpdateView {
        version: update.version.clone(),
        current_version: update.current_version.clone(),
        notes: update.body.clone().filter(|n| !n.trim().is_empty()),
        // The plugin read it as RFC 3339 already (or refused the manifest).
        published_at: update
            .date
            .and(update.raw_json.get("pub_date"))
            .and_then(|d| d.as_str())
            .map(str::to_owned),
    };
    updates.keep(Some(update));
    Ok(Some(view))
}

/// Downloads the update found by `check`, and installs it once its signature
/// and signed version are verified. Nothing is installed otherwise, and the
/// update must be looked for again.
pub async fn install<R: Runtime>(
    app: &AppHandle<R>,
    desktop: &Desktop,
    progress: impl FnMut(UpdateProgress),
) -> Result<(), ErrorPayload> {
    let Some(update) = app.state::<Updates>().take() else {
        return Err(ErrorPayload::new(
            Code::UpdateFailed,
            "Look for updates first: there is no update to install.",
        ));
    };
    let package = desktop.update_download(update.download_url.as_str(), progress).await?;
    update.install(package).map_err(refused)
}

fn updater<R: Runtime>(
    app: &AppHandle<R>,
    desktop: &Desktop,
    updates: &Updates,
) -> Result<tauri_plugin_updater::Updater, ErrorPayload> {
    let keyless = app
        .config()
        .plugins
        .0
        .get("updater")
        .and_then(|c| c.get("pubkey"))
        .and_then(|k| k.as_str())
        .is_none_or(|k| k.trim().is_empty());
    if keyless {
        return Err(ErrorPayload::new(
            Code::UpdatesUnavailable,
            "This build of Countersign has no update key: new versions come from your administrator.",
        ));
    }
    let server = desktop
        .server_url()
        .ok_or_else(|| ErrorPayload::new(Code::ConfigInvalid, "Choose a server first: updates come from it."))?;
    // The plugin requires an endpoint even though the manifest is fetched
    // by the client; a release build refuses one that is not https.
    let endpoint = server
        .parse()
        .map_err(|_| ErrorPayload::new(Code::ConfigInvalid, "The server's address is not valid."))?;
    let mut builder = app.updater_builder().endpoints(vec![endpoint]).map_err(refused)?;
    if let Some(path) = &updates.install_to {
        builder = builder.executable_path(path);
    }
    builder.build().map_err(refused)
}

/// The plugin's refusals, in the app's codes and words.
fn refused(e: UpdaterError) -> ErrorPayload {
    match e {
        UpdaterError::Minisign(_) | UpdaterError::Base64(_) | UpdaterError::SignatureUtf8(_) => ErrorPayload::new(
            Code::UpdateSignatureInvalid,
            "The update's signature does not match this app's update key: it was not installed.",
        ),
        UpdaterError::MissingSignedVersion => ErrorPayload::new(
            Code::UpdateVersionUnsigned,
            "The update's signature does not say which version it is: it was not installed.",
        ),
        UpdaterError::SignedVersionMismatch { signed, announced } => ErrorPayload::new(
            Code::UpdateVersionUnsigned,
            format!(
                "The server announced version {announced}, but the package is signed as {signed}: \
                 it was not installed."
            ),
        ),
        UpdaterError::InsecureTransportProtocol => ErrorPayload::new(
            Code::UpdatesUnavailable,
            "Updates are only taken from a server with a secure (https) address.",
        ),
        other => ErrorPayload::new(
            Code::UpdateFailed,
            format!("The update could not be installed: {other}"),
        ),
    }
}

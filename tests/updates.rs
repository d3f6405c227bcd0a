//! Issue 22, point 2: signed updates, against the real server serving an
//! updates directory the test fills. The app's own update code
//! (`countersign_desktop::update`, with tauri-plugin-updater) runs on Tauri's
//! mock runtime with the committed tauri.conf.json's updater settings; only
//! the public key is the one generated here. Packages are fakes (an ELF
//! header and the version): unbundled, the plugin installs the way it does an
//! AppImage, by replacing one file, which the test then reads.

use base64::Engine;
use countersign_client::browser::NoBrowser;
use countersign_client::desktop::{Desktop, PACKAGE_MAX_BYTES};
use countersign_client::discovery::CLIENT_VERSION;
use countersign_client::error::{Code, ErrorPayload};
use countersign_desktop::update::{self, Updates};
use minisign::KeyPair;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};

mod support;
use support::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The version after this app's (its minor, plus one).
fn newer() -> String {
    let v = semver::Version::parse(CLIENT_VERSION).unwrap();
    format!("{}.{}.0", v.major, v.minor + 1)
}

/// A package the plugin accepts as an executable: an ELF header, then text.
fn package(version: &str) -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0".to_vec();
    bytes.resize(64, 0);
    bytes.extend_from_slice(format!("Countersign {version}\n").as_bytes());
    bytes
}

/// A signature as Tauri's CLI writes it (`tauri signer sign --app-version`):
/// minisign, the version in the signed trusted comment, all in base64.
/// `version: None` signs as older CLIs did, with no version.
fn sign(key: &KeyPair, bytes: &[u8], version: Option<&str>) -> String {
    let mut trusted = "timestamp:1796601600\tfile:Countersign.AppImage".to_owned();
    if let Some(v) = version {
        trusted.push_str(&format!("\tversion:{v}"));
    }
    let signature = minisign::sign(Some(&key.pk), &key.sk, bytes, Some(&trusted), None).unwrap();
    B64.encode(signature.into_string())
}

fn public_key(key: &KeyPair) -> String {
    B64.encode(key.pk.to_box().unwrap().into_string())
}

/// The administrator's directory: `latest.json` and `files/`.
struct Releases {
    dir: tempfile::TempDir,
    server_url: String,
}

impl Releases {
    fn publish(&self, version: &str, notes: &str, file: &str, bytes: &[u8], signature: &str) {
        std::fs::create_dir_all(self.dir.path().join("files")).unwrap();
        std::fs::write(self.dir.path().join("files").join(file), bytes).unwrap();
        self.manifest(version, notes, file, signature);
    }

    fn manifest(&self, version: &str, notes: &str, file: &str, signature: &str) {
        let manifest = serde_json::json!({
            "version": version,
            "notes": notes,
            "pub_date": "2026-12-07T09:00:00Z",
            "platforms": {
                format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH): {
                    "url": format!("{}/v1/updates/files/{file}", self.server_url),
                    "signature": signature,
                }
            }
        });
        std::fs::write(self.dir.path().join("latest.json"), manifest.to_string()).unwrap();
    }
}

/// The app's update code on the mock runtime, with the committed updater
/// settings (requireSignedVersion, no downgrades) and this public key,
/// installing over `installed`.
fn app(pubkey: &str, installed: PathBuf) -> tauri::App<MockRuntime> {
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../tauri.conf.json")).unwrap(),
    )
    .unwrap();
    let mut updater = committed["plugins"]["updater"].clone();
    assert_eq!(
        updater["requireSignedVersion"], true,
        "the shipped app requires the signed version"
    );
    assert_ne!(updater["allowDowngrades"], true, "the shipped app never downgrades");
    updater["pubkey"] = pubkey.into();
    let mut context = mock_context(noop_assets());
    context.config_mut().plugins.0.insert("updater".into(), updater);
    context.package_info_mut().version = semver::Version::parse(CLIENT_VERSION).unwrap();
    mock_builder()
        .plugin(update::plugin())
        .manage(Updates::installing_to(installed))
        .build(context)
        .unwrap()
}

/// A server with an (empty) updates directory, and an app started against it.
async fn stack() -> (Server, Releases, tempfile::TempDir, Desktop) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(&[("COUNTERSIGN_UPDATES_DIR", dir.path().to_str().unwrap())]);
    let releases = Releases {
        dir,
        server_url: server.url.clone(),
    };
    let home = tempfile::tempdir().unwrap();
    let desktop = started(home.path(), &server).await;
    (server, releases, home, desktop)
}

async fn started(dir: &Path, server: &Server) -> Desktop {
    let desktop = desktop(dir, Some(&server.url), Arc::new(NoBrowser));
    let state = desktop.start().await;
    assert!(
        state.server.is_some(),
        "the server is reachable: {:?}",
        state.server_error
    );
    desktop
}

fn installed_app(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("Countersign.AppImage");
    std::fs::write(&path, package(CLIENT_VERSION)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn code(r: Result<impl std::fmt::Debug, ErrorPayload>) -> Code {
    r.expect_err("refused").code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_signed_update_is_found_verified_and_installed_and_nothing_older_is_offered() {
    let (_server, releases, home, desktop) = stack().await;
    let key = KeyPair::generate_unencrypted_keypair().unwrap();
    let installed = installed_app(home.path());
    let app = app(&public_key(&key), installed.clone());
    let app = app.handle();

    // Nothing published yet; then this very version: nothing to install.
    assert_eq!(update::check(app, &desktop).await.unwrap(), None);
    let same = package(CLIENT_VERSION);
    releases.publish(
        CLIENT_VERSION,
        "",
        "same.AppImage",
        &same,
        &sign(&key, &same, Some(CLIENT_VERSION)),
    );
    assert_eq!(update::check(app, &desktop).await.unwrap(), None);
    assert_eq!(
        code(update::install(app, &desktop, |_| {}).await),
        Code::UpdateFailed,
        "nothing was found, so nothing is installed"
    );

    // A newer version, signed with the app's key and its version inside.
    let version = newer();
    let bytes = package(&version);
    let notes = "Faster customer search.\nThe audit export names its file after the filter.";
    releases.publish(
        &version,
        notes,
        "next.AppImage",
        &bytes,
        &sign(&key, &bytes, Some(&version)),
    );
    let found = update::check(app, &desktop)
        .await
        .unwrap()
        .expect("the newer version is offered");
    assert_eq!(found.version, version);
    assert_eq!(found.current_version, CLIENT_VERSION);
    assert_eq!(found.notes.as_deref(), Some(notes));
    assert_eq!(found.published_at.as_deref(), Some("2026-12-07T09:00:00Z"));
    let mut seen = 0;
    update::install(app, &desktop, |p| {
        assert!(p.bytes > seen && p.total == Some(bytes.len() as u64));
        seen = p.bytes;
    })
    .await
    .unwrap();
    assert_eq!(seen, bytes.len() as u64, "progress reached the whole package");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        bytes,
        "the new version is installed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_foreign_downgraded_unversioned_and_huge_updates_are_refused_and_nothing_is_installed() {
    let (_server, releases, home, desktop) = stack().await;
    let key = KeyPair::generate_unencrypted_keypair().unwrap();
    let other_key = KeyPair::generate_unencrypted_keypair().unwrap();
    let installed = installed_app(home.path());
    let before = std::fs::read(&installed).unwrap();
    let app = app(&public_key(&key), installed.clone());
    let app = app.handle();
    let version = newer();
    let bytes = package(&version);

    // Each is announced as the newer version, found, and refused at install.
    let mut tampered = bytes.clone();
    *tampered.last_mut().unwrap() ^= 1;
    let older = package("0.0.9");
    let cases: Vec<(&str, Vec<u8>, String, Code)> = vec![
        (
            "a package changed after it was signed",
            tampered,
            sign(&key, &bytes, Some(&version)),
            Code::UpdateSignatureInvalid,
        ),
        (
            "a package signed with another key",
            bytes.clone(),
            sign(&other_key, &bytes, Some(&version)),
            Code::UpdateSignatureInvalid,
        ),
        (
            "an older, validly signed build announced as the newer version",
            older.clone(),
            sign(&key, &older, Some("0.0.9")),
            Code::UpdateVersionUnsigned,
        ),
        (
            "a signature that does not say which version it is",
            bytes.clone(),
            sign(&key, &bytes, None),
            Code::UpdateVersionUnsigned,
        ),
        (
            "a signature that is not one",
            bytes.clone(),
            B64.encode("untrusted comment: nothing\nnot a signature\n"),
            Code::UpdateSignatureInvalid,
        ),
    ];
    for (case, package, signature, expected) in cases {
        releases.publish(&version, "", "next.AppImage", &package, &signature);
        let found = update::check(app, &desktop).await.unwrap();
        assert_eq!(found.map(|f| f.version), Some(version.clone()), "{case}: offered");
        let refusal = update::install(app, &desktop, |_| {}).await.expect_err(case);
        assert_eq!(refusal.code, expected, "{case}: {}", refusal.message);
        assert_eq!(std::fs::read(&installed).unwrap(), before, "{case}: nothing installed");
        // Refused once, it is not kept for a second try.
        assert_eq!(
            code(update::install(app, &desktop, |_| {}).await),
            Code::UpdateFailed,
            "{case}"
        );
    }

    // A description larger than the app reads is cut off at the check.
    let notes = "x".repeat(countersign_client::desktop::MANIFEST_MAX_BYTES + 1);
    releases.publish(
        &version,
        &notes,
        "next.AppImage",
        &bytes,
        &sign(&key, &bytes, Some(&version)),
    );
    let refusal = update::check(app, &desktop).await.expect_err("too large");
    assert_eq!(refusal.code, Code::UpdateTooLarge, "{}", refusal.message);

    // A package larger than the app accepts is cut off at the download,
    // before it is read (a sparse file: nothing is written to disk).
    let huge = releases.dir.path().join("files/huge.AppImage");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(PACKAGE_MAX_BYTES + 1)
        .unwrap();
    releases.manifest(&version, "", "huge.AppImage", &sign(&key, &bytes, Some(&version)));
    assert!(update::check(app, &desktop).await.unwrap().is_some());
    let refusal = update::install(app, &desktop, |_| {}).await.expect_err("too large");
    assert_eq!(refusal.code, Code::UpdateTooLarge, "{}", refusal.message);
    assert_eq!(std::fs::read(&installed).unwrap(), before, "nothing installed");

    // A build without an update key checks nothing.
    let keyless = self::app("", installed.clone());
    assert_eq!(
        code(update::check(keyless.handle(), &desktop).await),
        Code::UpdatesUnavailable
    );
}

//! Signed desktop updates (issue 22, point 2; API.md, Desktop updates): the
//! manifest Tauri's updater asks for and the artifacts it names, from the
//! directory the administrator fills. Public, served to any app version,
//! never audited; never a downgrade, only the asking platform's entries; the
//! artifacts streamed byte for byte and nothing outside `files/`.

use crate::helpers::*;
use serde_json::{json, Value};
use std::path::Path;

/// An update directory with its `files/`.
fn updates_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("files")).unwrap();
    dir
}

fn entry(name: &str) -> Value {
    json!({ "url": format!("https://updates.example/v1/updates/files/{name}"), "signature": format!("sig-of-{name}") })
}

/// `latest.json` as `tauri build` writes it for several platforms.
fn manifest(version: &str) -> Value {
    json!({
        "version": version,
        "notes": "Faster sync.",
        "pub_date": "2026-05-01T12:00:00Z",
        "platforms": {
            "linux-x86_64": entry("Countersign_amd64.AppImage"),
            "linux-x86_64-deb": entry("Countersign_amd64.deb"),
            "linux-x86_64-rpm": entry("Countersign.x86_64.rpm"),
            "linux-aarch64": entry("Countersign_aarch64.AppImage"),
            "windows-x86_64": entry("Countersign_x64-setup.exe"),
            "darwin-aarch64": entry("Countersign.app.tar.gz"),
        },
    })
}

fn publish(dir: &Path, latest: &Value) {
    // Written aside and renamed, as API.md asks administrators to.
    let aside = dir.join(".latest.json.new");
    std::fs::write(&aside, serde_json::to_vec_pretty(latest).unwrap()).unwrap();
    std::fs::rename(aside, dir.join("latest.json")).unwrap();
}

async fn serve(dir: Option<&Path>, min_client_version: &str) -> TestApp {
    let (_, db_url) = fresh_database().await;
    let mut config = test_config(&db_url);
    config.desktop.updates_dir = dir.map(Path::to_path_buf);
    config.desktop.min_client_version = min_client_version.into();
    spawn_app_with(config).await
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.http.get(format!("{}{path}", app.base)).send().await.unwrap()
}

async fn status(app: &TestApp, path: &str) -> u16 {
    get(app, path).await.status().as_u16()
}

/// The request exactly as written, path and all: reqwest (like a browser)
/// would resolve `..` before sending it. Returns the status and the whole
/// response as text.
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: updates\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    tcp.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

#[tokio::test]
async fn without_an_update_directory_no_update_is_offered() {
    let app = serve(None, "0.1.0").await;
    let before = app.audit_count().await;
    let r = get(&app, "/v1/updates/linux/x86_64/0.1.0").await;
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(r.bytes().await.unwrap().is_empty());
    assert_problem(
        get(&app, "/v1/updates/files/Countersign_amd64.deb").await,
        404,
        "not_found",
    )
    .await;
    // A directory configured but not filled yet: no update either.
    let dir = updates_dir();
    let app = serve(Some(dir.path()), "0.1.0").await;
    assert_eq!(status(&app, "/v1/updates/linux/x86_64/0.1.0").await, 204);
    assert_eq!(app.audit_count().await, before, "neither route is audited");
}

#[tokio::test]
async fn a_newer_version_is_offered_with_only_this_platforms_entries() {
    let dir = updates_dir();
    publish(dir.path(), &manifest("0.3.0"));
    let app = serve(Some(dir.path()), "0.1.0").await;
    let before = app.audit_count().await;

    let r = get(&app, "/v1/updates/linux/x86_64/0.2.5").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({
            "version": "0.3.0",
            "notes": "Faster sync.",
            "pub_date": "2026-05-01T12:00:00Z",
            "platforms": {
                "linux-x86_64": entry("Countersign_amd64.AppImage"),
                "linux-x86_64-deb": entry("Countersign_amd64.deb"),
                "linux-x86_64-rpm": entry("Countersign.x86_64.rpm"),
            },
        }),
        "the static format, this platform's installers only"
    );
    let r = get(&app, "/v1/updates/linux/aarch64/0.1.0").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["platforms"],
        json!({ "linux-aarch64": entry("Countersign_aarch64.AppImage") })
    );

    // The same version, an older one: nothing to install.
    for current in ["0.3.0", "0.3.1", "1.0.0", "0.3.0+build.7"] {
        let r = get(&app, &format!("/v1/updates/linux/x86_64/{current}")).await;
        assert_eq!(r.status(), 204, "{current}");
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    // Another platform, and a prefix of a real one: not built for it.
    for path in [
        "/v1/updates/windows/aarch64/0.1.0",
        "/v1/updates/freebsd/x86_64/0.1.0",
        "/v1/updates/linux/x86/0.1.0",
        "/v1/updates/linux/x86_64_v2/0.1.0",
    ] {
        assert_eq!(status(&app, path).await, 204, "{path}");
    }
    // Public: a token is neither needed nor looked at.
    let r = app
        .http
        .get(format!("{}/v1/updates/windows/x86_64/0.1.0", app.base))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(app.audit_count().await, before, "not audited: it is about no one");
}

#[tokio::test]
async fn versions_follow_semantic_precedence_pre_releases_first() {
    let dir = updates_dir();
    let app = serve(Some(dir.path()), "0.1.0").await;
    // (published, installed, offered?)
    let table = [
        ("0.2.0", "0.2.0-rc.1", true),
        ("0.2.0-rc.2", "0.2.0-rc.1", true),
        ("0.2.0-rc.10", "0.2.0-rc.9", true),
        ("0.2.0-rc.1", "0.1.9", true),
        ("0.10.0", "0.9.0", true),
        ("0.2.0-rc.1", "0.2.0", false),
        ("0.2.0-beta", "0.2.0-rc.1", false),
        ("0.2.0+build.9", "0.2.0", false),
        ("0.2.0", "0.2.0+build.1", false),
        ("0.9.0", "0.10.0", false),
    ];
    for (published, installed, offered) in table {
        publish(dir.path(), &manifest(published));
        let r = get(&app, &format!("/v1/updates/linux/x86_64/{installed}")).await;
        let want = if offered { 200 } else { 204 };
        assert_eq!(r.status().as_u16(), want, "{published} for {installed}");
        if offered {
            assert_eq!(r.json::<Value>().await.unwrap()["version"], published);
        }
    }
}

#[tokio::test]
async fn a_version_or_platform_that_is_not_one_is_invalid_request() {
    let dir = updates_dir();
    publish(dir.path(), &manifest("0.3.0"));
    let app = serve(Some(dir.path()), "0.1.0").await;
    let before = app.audit_count().await;
    for path in [
        "/v1/updates/linux/x86_64/0.2",
        "/v1/updates/linux/x86_64/v0.2.0",
        "/v1/updates/linux/x86_64/latest",
        "/v1/updates/linux/x86_64/0.2.0.1",
        "/v1/updates/linux/x86_64/01.2.0",
        "/v1/updates/linux/x86_64/%20",
        "/v1/updates/Linux/x86_64/0.2.0",
        "/v1/updates/linux/x86-64/0.2.0",
        "/v1/updates/linux/x86%2F64/0.2.0",
        "/v1/updates/linux-gnu/x86_64/0.2.0",
        &format!("/v1/updates/{}/x86_64/0.2.0", "a".repeat(33)),
    ] {
        let body = assert_problem(get(&app, path).await, 422, "invalid_request").await;
        assert!(!body.to_string().contains("updates.example"), "{path}: {body}");
    }
    assert_eq!(app.audit_count().await, before);
}

/// Started the way an operator does (`COUNTERSIGN_UPDATES_DIR`), the real
/// binary: an unusable manifest is 503 with an error in the log, never 500,
/// and the server keeps serving; fixed, it is served again.
#[tokio::test]
async fn an_unusable_manifest_is_service_unavailable_and_the_server_keeps_serving() {
    let dir = updates_dir();
    let (_, db_url) = fresh_database().await;
    let dir_str = dir.path().to_str().unwrap();
    let server = ServerProcess::spawn_with(&db_url, "warn", &[("COUNTERSIGN_UPDATES_DIR", dir_str)]).await;
    let http = reqwest::Client::new();
    let ask = || async {
        http.get(format!("{}/v1/updates/linux/x86_64/0.1.0", server.base))
            .send()
            .await
            .unwrap()
    };
    let admin = sqlx::PgPool::connect(&db_url).await.unwrap();
    let audited = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM audit_events")
            .fetch_one(&admin)
            .await
            .unwrap()
    };
    let before = audited().await;

    publish(dir.path(), &manifest("0.3.0"));
    assert_eq!(
        ask().await.status(),
        200,
        "the environment's directory is the one served"
    );

    let latest = dir.path().join("latest.json");
    let good = serde_json::to_string(&manifest("0.3.0")).unwrap();
    let mut bad_version = manifest("0.3.0");
    bad_version["version"] = json!("soon");
    let mut bad_url = manifest("0.3.0");
    bad_url["platforms"]["linux-x86_64"]["url"] = json!("files/Countersign_amd64.AppImage");
    let unusable: Vec<(&str, String)> = vec![
        ("not JSON", "{ \"version\": \"0.3.0\", ".to_owned()),
        ("not the static format", "[1, 2, 3]".to_owned()),
        ("a version that is not one", bad_version.to_string()),
        ("a relative URL", bad_url.to_string()),
        // Valid JSON, a byte over the limit.
        (
            "over 1 MiB",
            format!("{good}{}", " ".repeat(1024 * 1024 + 1 - good.len())),
        ),
        // Tens of MiB: not read past the limit.
        ("far over", format!("{good}{}", " ".repeat(40 * 1024 * 1024))),
    ];
    for (what, text) in &unusable {
        std::fs::write(&latest, text).unwrap();
        let body = assert_problem(ask().await, 503, "service_unavailable").await;
        assert!(
            body["detail"].as_str().unwrap().contains("update manifest"),
            "{what}: {body}"
        );
        let r = http.get(format!("{}/readyz", server.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{what}: still serving");
    }
    // Exactly 1 MiB is still a manifest.
    std::fs::write(&latest, format!("{good}{}", " ".repeat(1024 * 1024 - good.len()))).unwrap();
    assert_eq!(ask().await.status(), 200);
    // Unreadable: a directory where the file should be.
    std::fs::remove_file(&latest).unwrap();
    std::fs::create_dir(&latest).unwrap();
    assert_problem(ask().await, 503, "service_unavailable").await;
    std::fs::remove_dir(&latest).unwrap();
    assert_eq!(ask().await.status(), 204, "none published");
    publish(dir.path(), &manifest("0.3.0"));
    assert_eq!(ask().await.status(), 200, "fixed: served again");
    assert_eq!(audited().await, before, "none of it audited");

    let log = server.stop();
    assert_eq!(
        log.matches("the update manifest latest.json is unusable").count(),
        unusable.len() + 1,
        "one error line each: {log}"
    );
    assert!(log.contains("is larger than 1048576 bytes"), "{log}");
    assert!(log.contains("is not a semantic version"), "{log}");
}

#[tokio::test]
async fn update_files_are_streamed_byte_exact() {
    let dir = updates_dir();
    // Several MiB, not a multiple of any buffer.
    let mut rng = 0x2545f4914f6cdd1d_u64;
    let artifact: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng as u8
        })
        .collect();
    let files = dir.path().join("files");
    std::fs::write(files.join("Countersign_0.3.0_amd64.deb"), &artifact).unwrap();
    std::fs::write(files.join("empty.sig"), b"").unwrap();
    // A link to another file inside files/ is served (what the link names).
    std::os::unix::fs::symlink("Countersign_0.3.0_amd64.deb", files.join("current.deb")).unwrap();
    let app = serve(Some(dir.path()), "0.1.0").await;
    let before = app.audit_count().await;

    for name in ["Countersign_0.3.0_amd64.deb", "current.deb"] {
        let r = get(&app, &format!("/v1/updates/files/{name}")).await;
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(r.headers()["content-type"], "application/octet-stream");
        assert_eq!(r.content_length(), Some(artifact.len() as u64), "{name}");
        let body = r.bytes().await.unwrap();
        assert!(body[..] == artifact[..], "{name}: byte for byte ({} bytes)", body.len());
    }
    let r = get(&app, "/v1/updates/files/empty.sig").await;
    assert_eq!((r.status().as_u16(), r.content_length()), (200, Some(0)));
    // HEAD: the length without the body.
    let r = app
        .http
        .head(format!("{}/v1/updates/files/Countersign_0.3.0_amd64.deb", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], artifact.len().to_string().as_str());
    assert_eq!(app.audit_count().await, before, "downloads are not audited");
}

#[tokio::test]
async fn nothing_outside_files_is_served() {
    let dir = updates_dir();
    publish(dir.path(), &manifest("0.3.0"));
    let files = dir.path().join("files");
    std::fs::write(dir.path().join("secret.txt"), "SECRET-OUTSIDE").unwrap();
    std::fs::write(files.join(".hidden"), "SECRET-HIDDEN").unwrap();
    std::fs::create_dir(files.join("sub")).unwrap();
    std::fs::write(files.join("sub").join("inner.deb"), "SECRET-NESTED").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", files.join("passwd")).unwrap();
    std::os::unix::fs::symlink("../secret.txt", files.join("up.txt")).unwrap();
    std::os::unix::fs::symlink(dir.path(), files.join("root")).unwrap();
    std::os::unix::fs::symlink("nowhere.deb", files.join("dangling.deb")).unwrap();
    let app = serve(Some(dir.path()), "0.1.0").await;
    let before = app.audit_count().await;

    let secrets = ["SECRET", "root:", "\"platforms\""];
    // Sent as written (no client-side resolution of `..`).
    let attempts = [
        ("/v1/updates/files/..", 404),
        ("/v1/updates/files/.", 404),
        ("/v1/updates/files/%2e%2e", 404),
        ("/v1/updates/files/%2e%2e%2flatest.json", 404),
        ("/v1/updates/files/..%2Flatest.json", 404),
        ("/v1/updates/files/..%2fsecret.txt", 404),
        ("/v1/updates/files/%2F..%2Fsecret.txt", 404),
        ("/v1/updates/files/%2Fetc%2Fpasswd", 404),
        ("/v1/updates/files/sub%2Finner.deb", 404),
        ("/v1/updates/files/.hidden", 404),
        ("/v1/updates/files/passwd", 404),
        ("/v1/updates/files/up.txt", 404),
        ("/v1/updates/files/root", 404),
        ("/v1/updates/files/sub", 404),
        ("/v1/updates/files/dangling.deb", 404),
        ("/v1/updates/files/missing.deb", 404),
        ("/v1/updates/files/secret.txt%00.deb", 404),
        ("/v1/updates/files/%FF.deb", 404),
        // Three segments: the manifest's route, whose arch cannot be `..`.
        ("/v1/updates/files/../latest.json", 422),
        ("/v1/updates/files/%2e%2e/latest.json", 422),
    ];
    for (path, want) in attempts {
        let (code, text) = raw_get(&app.base, path).await;
        assert_eq!(code, want, "{path}: {text}");
        for secret in secrets {
            assert!(!text.contains(secret), "{path} leaked {secret}: {text}");
        }
    }
    assert_eq!(app.audit_count().await, before, "neither route is audited");
    // Deeper: no route at all (the router's own 404, audited as any unknown path).
    let (code, text) = raw_get(&app.base, "/v1/updates/files/../../../etc/passwd").await;
    assert_eq!(code, 404);
    assert!(!text.contains("root:"), "{text}");
}

/// An app too old for this server must still reach what updates it.
#[tokio::test]
async fn an_app_below_the_minimum_version_still_gets_its_update() {
    let dir = updates_dir();
    publish(dir.path(), &manifest("0.3.0"));
    std::fs::write(dir.path().join("files").join("Countersign_amd64.deb"), b"deb").unwrap();
    let app = serve(Some(dir.path()), "0.2.0").await;
    let carl = app.token("carl").await;
    let as_app = |path: &str, version: &str| {
        app.http
            .get(format!("{}{path}", app.base))
            .header(countersign_api::CLIENT_VERSION_HEADER, version)
            .send()
    };
    let r = app
        .http
        .get(format!("{}/v1/me", app.base))
        .bearer_auth(&carl)
        .header(countersign_api::CLIENT_VERSION_HEADER, "0.1.0")
        .send()
        .await
        .unwrap();
    assert_problem(r, 426, "client_update_required").await;
    let before = app.audit_count().await;
    for version in ["0.1.0", "0.0.1", "soon"] {
        let r = as_app("/v1/updates/linux/x86_64/0.1.0", version).await.unwrap();
        assert_eq!(r.status(), 200, "{version}");
        assert_eq!(r.json::<Value>().await.unwrap()["version"], "0.3.0");
        let r = as_app("/v1/updates/files/Countersign_amd64.deb", version)
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{version}");
        assert_eq!(&r.bytes().await.unwrap()[..], b"deb");
    }
    assert_eq!(app.audit_count().await, before);
}

/// Both routes are in the contract: public, no version header, their answers.
#[tokio::test]
async fn the_openapi_document_describes_both_update_routes() {
    let app = serve(None, "0.1.0").await;
    let doc: Value = get(&app, "/v1/openapi.json").await.json().await.unwrap();
    let codes = |op: &Value| -> Vec<String> {
        let mut c: Vec<String> = op["responses"].as_object().unwrap().keys().cloned().collect();
        c.sort();
        c
    };
    let manifest = &doc["paths"]["/v1/updates/{target}/{arch}/{current_version}"]["get"];
    let file = &doc["paths"]["/v1/updates/files/{name}"]["get"];
    assert_eq!(codes(manifest), ["200", "204", "404", "422", "503"], "{manifest}");
    assert_eq!(codes(file), ["200", "404", "503"], "{file}");
    assert!(
        file["responses"]["200"]["content"]["application/octet-stream"].is_object(),
        "{file}"
    );
    for op in [manifest, file] {
        assert!(op["security"].is_null(), "public: {op}");
        assert_eq!(op["tags"], json!(["updates"]));
        let params = op["parameters"].as_array().unwrap();
        assert!(params.iter().all(|p| p["in"] == "path"), "no Countersign-Client: {op}");
    }
    assert!(doc["components"]["schemas"]["UpdateManifest"].is_object());
}

// The Tauri configuration lives at the repository root (DESIGN.md, "Known pitfalls",
// option (b)); `src-tauri/tauri.conf.json` is a symlink to it for the CLI.
use std::{env, fs, path::PathBuf};

const PLACEHOLDER: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"UTF-8\">\
<title>Countersign</title></head><body><h1>Countersign</h1>\
<p>The user interface was not built into this binary. Run <code>npm --prefix ui ci &amp;&amp; \
npm --prefix ui run build</code> (or <code>scripts/bundle-deb</code>), then build again.</p>\
</body></html>\n";

fn main() {
    // `cargo build`/`cargo test` at the root must work in a fresh clone, before anyone ran
    // npm: without ui/dist, embed a placeholder page instead (the proc macro reads the
    // TAURI_CONFIG patch). Release bundles always build the UI first (beforeBuildCommand).
    println!("cargo:rerun-if-changed=../ui/dist/index.html");
    if !std::path::Path::new("../ui/dist/index.html").exists() {
        let dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("ui-placeholder");
        fs::create_dir_all(&dir).expect("create the placeholder UI dir");
        fs::write(dir.join("index.html"), PLACEHOLDER).expect("write the placeholder UI");
        let dir = dir.display().to_string().replace('\\', "\\\\").replace('"', "\\\"");
        println!("cargo:rustc-env=TAURI_CONFIG={{\"build\":{{\"frontendDist\":\"{dir}\"}}}}");
        println!("cargo:warning=ui/dist is not built: embedding a placeholder page");
    }

    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        // App commands need an explicit permission in a capability, like plugin commands:
        // each one listed here gets `allow-<command>` (see capabilities/default.json).
        // The same list as `app_commands!` in src/lib.rs (a test compares them).
        .app_manifest(tauri_build::AppManifest::new().commands(&[
            "app_start",
            "server_set",
            "sign_in",
            "sign_in_cancel",
            "sign_out",
            "sync_run",
            "sync_status",
            "search",
            "orgs_list",
            "orgs_recent",
            "org_get",
            "org_users",
            "org_invoices",
            "org_vendors",
            "org_payments",
            "reveal",
            "approvals_list",
            "approval_get",
            "approval_decide",
            "approval_request",
            "approval_amend",
            "approval_cancel",
            "audit_search",
            "audit_export",
            "audit_export_cancel",
            "audit_verify",
            "notifications_watch",
            "notifications_list",
            "delegations_list",
            "delegates_list",
            "delegation_create",
            "delegation_revoke",
            "sessions_list",
            "session_get",
            "session_answer",
            "session_review",
            "support_access",
            "support_start",
            "support_status",
            "support_end",
            "customer_users",
            "customer_invoices",
            "customer_update_user",
            "customer_resend_invoice",
            "app_quit",
            "staff_list",
            "staff_create",
            "staff_update",
            "staff_deactivate",
            "staff_reactivate",
            "settings_get",
            "theme_set",
            "wipe_local_data",
            "update_check",
            "update_install",
        ]));
    if let Err(error) = tauri_build::try_build(attributes) {
        panic!("tauri-build failed: {error:#}");
    }
}

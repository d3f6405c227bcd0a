// The smallest Tauri 2 app: one window showing one static page. Only what the
// Countersign app does before any of its own code runs is repeated here, so the
// comparison measures the app, not a difference in WebKit's set-up.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // As countersign_desktop::without_accelerated_compositing() (src-tauri/src/lib.rs).
    #[cfg(target_os = "linux")]
    if std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none() {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    tauri::Builder::default()
        .run(tauri::generate_context!())
        .expect("error while running the hello-world window");
}

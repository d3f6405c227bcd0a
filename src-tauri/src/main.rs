// Hide the console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Before any thread or the web view exists: WebKitGTK reads it once.
    #[cfg(target_os = "linux")]
    countersign_desktop::without_accelerated_compositing();
    countersign_desktop::run();
}

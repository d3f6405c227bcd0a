// Hide the console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // Before any thread or the web view exists: WebKitGTK reads it once.
    #[cfg(target_os = "linux")]
    countersign_desktop::without_accelerated_compositing();
    // Warnings and errors only: what someone helping the user needs, nothing per request.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
        .init();
    countersign_desktop::run();
}

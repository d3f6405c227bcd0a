//! The Countersign desktop shell. Commands stay one-liners over `countersign-client`;
//! no business logic here (DESIGN.md, "Layout").

/// The application's version, for the UI's title bar.
#[tauri::command]
fn app_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Builds and runs the application; returns when the last window closes.
pub fn run() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![app_version])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Countersign");
}

#[cfg(test)]
mod tests {
    #[test]
    fn app_version_is_the_package_version() {
        assert_eq!(super::app_version(), env!("CARGO_PKG_VERSION"));
    }
}

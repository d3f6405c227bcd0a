//! The Rust half of `scripts/bench app-search` (issue 18, point 11): the same
//! search the window's search box calls (`Desktop::search`, limit 21: the 20
//! hits it shows and one to know there are more), on the same profile, right
//! after the window run, so the two figures differ only by what lies between
//! a keystroke and pixels (IPC, React, layout).
//!
//!   cargo run --release -p countersign-client --example app_search -- QUERIES.json
//!
//! Runs in the window run's environment (HOME/XDG dirs, COUNTERSIGN_API_URL,
//! the D-Bus session holding its keyring): it resumes the saved session, which
//! needs no browser. Prints one JSON line: {"records", "n", "p50_ms", "p95_ms"}.

use countersign_client::browser::{Browser, BrowserError};
use countersign_client::desktop::{Desktop, Options};
use countersign_client::discovery::Paths;
use std::sync::Arc;
use std::time::Instant;

/// Resuming a session never opens a browser; if it tried, the bench is broken.
struct NoBrowser;

impl Browser for NoBrowser {
    fn open(&self, _url: &url::Url) -> Result<(), BrowserError> {
        Err(BrowserError(
            "app_search resumes a saved session; it cannot sign in".into(),
        ))
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::args().nth(1).ok_or("usage: app_search QUERIES.json")?;
    let queries: Vec<String> = serde_json::from_str(&std::fs::read_to_string(file)?)?;
    let desktop = Desktop::new(
        Paths::from_env(),
        std::env::var("COUNTERSIGN_API_URL").ok(),
        Arc::new(countersign_client::secrets::KeyringSecretStore::new()),
        Arc::new(NoBrowser),
        Options::default(),
    );
    let state = desktop.start().await;
    if state.account.is_none() {
        return Err(format!("no saved session to resume: {:?}", state.resume_error).into());
    }
    let records = desktop.sync_status().await.map_err(|e| e.message)?.records;
    // One untimed pass, like the window's warm-up.
    for q in &queries {
        desktop.search(q, 21).await.map_err(|e| e.message)?;
    }
    let mut ms = Vec::with_capacity(queries.len());
    for q in &queries {
        let t = Instant::now();
        let hits = desktop.search(q, 21).await.map_err(|e| e.message)?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(hits);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({ "records": records, "n": ms.len(), "p50_ms": percentile(&ms, 0.5), "p95_ms": percentile(&ms,
            0.95) })
    );
    Ok(())
}

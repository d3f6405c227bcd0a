//! The audit log to a file (issue 21, point 5): the export streamed to disk
//! chunk by chunk with progress and a cancel, and the chain's verification.
//!
//! The file is written beside its destination under a temporary name and
//! renamed into place only once the server's whole body is on disk: a
//! cancelled or failed export leaves no file, and never a truncated one
//! where the user asked for the export (an existing file there stays as it
//! was). The webview never names the path: the app's command asks the user
//! in a native save dialog and passes the answer here.

use super::{lock, Desktop};
use crate::api_client::{AuditFilter, ExportFormat};
use crate::error::{Code, ErrorPayload};
use countersign_api::AuditVerification;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

/// An export's progress, sent through the command's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportProgress {
    /// Bytes written to disk so far.
    pub bytes: u64,
    /// Events written so far.
    pub events: u64,
    /// How many events the export holds, when the server said (it does: the
    /// `Countersign-Export-Count` header).
    pub total_events: Option<u64>,
}

/// A finished export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportReport {
    /// Where the file is (the user chose it).
    pub path: String,
    pub file_name: String,
    pub bytes: u64,
    pub events: u64,
}

/// At most this often a progress message (a large export has ~10^4 chunks).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// The name the save dialog proposes, e.g. `countersign-audit-2026-12-07.csv`
/// (today's date in UTC: the client reads no local time zone).
pub fn export_file_name(format: ExportFormat) -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!(
        "countersign-audit-{:04}-{:02}-{:02}.{}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        format.extension()
    )
}

impl Desktop {
    /// Exports the audit log (filtered; `audit:export`, the server decides
    /// and audits) to `path`. One export at a time; `cancel_audit_export`
    /// ends it, and then nothing is left on disk.
    pub async fn audit_export(
        &self,
        filter: AuditFilter,
        format: ExportFormat,
        path: &Path,
        progress: impl FnMut(ExportProgress),
    ) -> Result<ExportReport, ErrorPayload> {
        let account = self.account().await?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        {
            let mut running = lock(&self.export_cancel);
            if running.as_ref().is_some_and(|t| !t.is_closed()) {
                return Err(ErrorPayload::new(
                    Code::ExportInProgress,
                    "An export is already running: wait for it or cancel it first.",
                ));
            }
            *running = Some(tx);
        }
        // An export takes no paging: it is every matching event.
        let filter = AuditFilter {
            limit: None,
            cursor: None,
            ..filter
        };
        let api = self.acting(&account).into_owned();
        let result = tokio::select! {
            // A cancel wins over a write that could finish in the same poll.
            biased;
            _ = rx => Err(Failure::Local(ErrorPayload::new(
                Code::ExportCancelled,
                "The export was cancelled; no file was written.",
            ))),
            // Dropped on a cancel: its part file goes (`Part`), and the
            // response, so the server stops reading the log.
            r = write_export(&api, &filter, format, path, progress) => r,
        };
        lock(&self.export_cancel).take();
        match result {
            Ok(report) => {
                *lock(&self.offline_since) = None;
                Ok(report)
            }
            Err(Failure::Server(e)) => Err(self.failed(e).await),
            Err(Failure::Local(e)) => Err(e),
        }
    }

    /// An export is running.
    pub fn exporting(&self) -> bool {
        lock(&self.export_cancel).as_ref().is_some_and(|t| !t.is_closed())
    }

    /// Ends the running export (its partial file is deleted); nothing when none runs.
    pub fn cancel_audit_export(&self) {
        if let Some(tx) = lock(&self.export_cancel).take() {
            let _ = tx.send(());
        }
    }

    /// The server recomputes the audit chain and its checkpoints
    /// (`audit:read`; audited) and says whether it is intact.
    pub async fn audit_verify(&self) -> Result<AuditVerification, ErrorPayload> {
        let account = self.account().await?;
        self.answered(self.acting(&account).audit_verify().await).await
    }
}

/// Why an export failed: the server's answer (which may say offline or
/// signed out, as any other call) or the local disk.
enum Failure {
    Server(ErrorPayload),
    Local(ErrorPayload),
}

impl From<crate::api_client::ClientError> for Failure {
    fn from(e: crate::api_client::ClientError) -> Failure {
        Failure::Server(e.into())
    }
}

fn disk(path: &Path, e: std::io::Error) -> Failure {
    Failure::Local(ErrorPayload::new(
        Code::FileWriteFailed,
        format!("{} could not be written: {e}", path.display()),
    ))
}

/// The file being written; deleted unless it was renamed into place, so
/// every way out (an error, a cancel that drops the future) cleans up.
struct Part {
    path: PathBuf,
    done: bool,
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

async fn write_export(
    api: &crate::api_client::ApiClient,
    filter: &AuditFilter,
    format: ExportFormat,
    path: &Path,
    mut progress: impl FnMut(ExportProgress),
) -> Result<ExportReport, Failure> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| disk(path, std::io::Error::other("not a file name")))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut stream = api.audit_export_stream(filter, format).await?;
    let total_events = stream.events();
    // Beside the destination, so the final rename stays on one file system.
    let part = Part {
        path: dir.join(format!(".{file_name}.{}.part", uuid::Uuid::new_v4().simple())),
        done: false,
    };
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    // Audit events name people, addresses and what they did: the owner's only.
    #[cfg(unix)]
    options.mode(0o600);
    let file = options.open(&part.path).await.map_err(|e| disk(path, e))?;
    let mut out = tokio::io::BufWriter::with_capacity(256 * 1024, file);
    let mut counter = EventCounter::new(format);
    let mut bytes = 0u64;
    progress(ExportProgress {
        bytes,
        events: 0,
        total_events,
    });
    let mut last = Instant::now();
    while let Some(chunk) = stream.chunk().await? {
        out.write_all(&chunk).await.map_err(|e| disk(path, e))?;
        bytes += chunk.len() as u64;
        counter.feed(&chunk);
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            progress(ExportProgress {
                bytes,
                events: counter.events(),
                total_events,
            });
        }
    }
    let events = counter.events();
    // The server counted first and then sent exactly those events; fewer is
    // a body cut short somewhere the transport did not notice.
    if total_events.is_some_and(|n| n != events) {
        return Err(Failure::Server(ErrorPayload::new(
            Code::UnexpectedResponse,
            format!(
                "The server announced {} events but sent {events}; no file was written.",
                total_events.unwrap_or_default()
            ),
        )));
    }
    out.flush().await.map_err(|e| disk(path, e))?;
    let file = out.into_inner();
    file.sync_all().await.map_err(|e| disk(path, e))?;
    drop(file);
    // Synchronous (a rename is one metadata update): no await between the
    // file taking its place and this future finishing, so a cancel cannot
    // land in between and be reported for a file that was written.
    std::fs::rename(&part.path, path).map_err(|e| disk(path, e))?;
    let mut part = part;
    part.done = true;
    progress(ExportProgress {
        bytes,
        events,
        total_events,
    });
    Ok(ExportReport {
        path: path.display().to_string(),
        file_name,
        bytes,
        events,
    })
}

/// Counts events in the body as it passes: NDJSON has one per line; CSV one
/// per record after the header, and a record's quoted field may hold a line
/// break (a reason, a user agent), so only breaks outside quotes count. A
/// doubled quote inside a quoted field toggles twice: no change.
struct EventCounter {
    csv: bool,
    quoted: bool,
    lines: u64,
}

impl EventCounter {
    fn new(format: ExportFormat) -> EventCounter {
        EventCounter {
            csv: format == ExportFormat::Csv,
            quoted: false,
            lines: 0,
        }
    }
    fn feed(&mut self, chunk: &[u8]) {
        if !self.csv {
            self.lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
            return;
        }
        for b in chunk {
            match b {
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => self.lines += 1,
                _ => {}
            }
        }
    }
    fn events(&self) -> u64 {
        if self.csv {
            self.lines.saturating_sub(1)
        } else {
            self.lines
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_counted_across_chunks_and_quoted_line_breaks() {
        let csv = b"seq,reason\r\n1,\"two\r\nlines, \"\"quoted\"\"\"\r\n2,plain\r\n";
        for split in 0..csv.len() {
            let mut c = EventCounter::new(ExportFormat::Csv);
            c.feed(&csv[..split]);
            c.feed(&csv[split..]);
            assert_eq!(c.events(), 2, "split at {split}");
        }
        let mut n = EventCounter::new(ExportFormat::Ndjson);
        n.feed(b"{\"a\":\"x\\ny\"}\n{\"a\"");
        n.feed(b":1}\n");
        assert_eq!(n.events(), 2);
        assert_eq!(EventCounter::new(ExportFormat::Csv).events(), 0);
    }

    #[test]
    fn the_proposed_file_name_has_the_date_and_the_format() {
        let name = export_file_name(ExportFormat::Csv);
        assert!(
            name.starts_with("countersign-audit-20") && name.ends_with(".csv"),
            "{name}"
        );
        assert_eq!(name.len(), "countersign-audit-2026-12-07.csv".len());
        assert!(export_file_name(ExportFormat::Ndjson).ends_with(".ndjson"));
    }
}

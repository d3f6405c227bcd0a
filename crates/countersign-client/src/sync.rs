//! Sync: fills the encrypted cache from `GET /v1/sync`, page by page. Each
//! page and the cursor after it are committed in one SQLite transaction
//! (`Cache::put_many`), so a process killed mid-sync resumes from the last
//! committed page: nothing lost, nothing applied twice.

use crate::cache::{Cache, CacheError};
use countersign_api::{ErrorCode, SyncPage};

/// Where pages come from: the API client in the app, anything in tests.
pub trait SyncSource {
    fn page(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> impl std::future::Future<Output = Result<SyncPage, SourceError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The server refused with a contract code (e.g. `stale_version`).
    #[error("the server refused: {0}")]
    Refused(ErrorCode),
    #[error("the server is unreachable: {0}")]
    Unreachable(String),
    /// The call could not be made: signed out, keyring, an unexpected answer.
    #[error(transparent)]
    Client(crate::api_client::ClientError),
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("the server keeps refusing the sync cursor")]
    StaleLoop,
}

/// Records applied so far, and what the first page said to expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub estimated_total: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub applied: u64,
    pub pages: u64,
    /// The cache was purged (new permission epoch or a stale cursor).
    pub purged: bool,
}

pub const PAGE: u32 = 200;

/// Syncs until the server has nothing more. Resumes from the cache's cursor.
pub async fn run(
    cache: &mut Cache,
    source: &impl SyncSource,
    progress: impl FnMut(Progress),
) -> Result<Outcome, SyncError> {
    run_paged(cache, source, PAGE, progress).await
}

/// `run` with a page size of your choosing (1-200).
pub async fn run_paged(
    cache: &mut Cache,
    source: &impl SyncSource,
    page_size: u32,
    mut progress: impl FnMut(Progress),
) -> Result<Outcome, SyncError> {
    let mut out = Outcome {
        applied: 0,
        pages: 0,
        purged: false,
    };
    let mut estimated = None;
    let mut restarts = 0;
    loop {
        let cursor = cache.cursor()?;
        let page = match source.page(cursor.as_deref(), page_size).await {
            Ok(p) => p,
            // A cursor from another epoch (or one the server forgot): start
            // over from empty, as the contract says.
            Err(SourceError::Refused(ErrorCode::StaleVersion)) => {
                restarts += 1;
                if restarts > 2 {
                    return Err(SyncError::StaleLoop);
                }
                cache.reset()?;
                out.purged = true;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if cache.purge_for_epoch(page.permission_epoch)? {
            // What we hold was selected under other permissions: drop it and
            // take this epoch from the start (this page was made for a cursor
            // we no longer trust unless it was the first).
            out.purged = true;
            if cursor.is_some() {
                continue;
            }
        }
        if let Some(t) = page.estimated_total {
            estimated = Some(t.max(0) as u64);
        }
        cache.put_many(&page.changes, &page.next_cursor)?;
        out.applied += page.changes.len() as u64;
        out.pages += 1;
        progress(Progress {
            done: out.applied,
            estimated_total: estimated,
        });
        if !page.has_more {
            return Ok(out);
        }
    }
}

impl SyncSource for crate::api_client::ApiClient {
    async fn page(&self, cursor: Option<&str>, limit: u32) -> Result<SyncPage, SourceError> {
        use crate::api_client::ClientError;
        self.sync(cursor, Some(limit)).await.map_err(|e| match e {
            ClientError::Api(a) => SourceError::Refused(a.code),
            ClientError::Transport(_) | ClientError::Timeout => SourceError::Unreachable(e.to_string()),
            other => SourceError::Client(other),
        })
    }
}

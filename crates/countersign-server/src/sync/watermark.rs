//! The settled watermark (migration 0013), read once for many pages.
//!
//! Reading it costs PostgreSQL a pass over `pg_locks`, which grows with the
//! locks every connection holds: read per page it made a page cost about
//! 1.7× as much PostgreSQL CPU (`scripts/bench server`, sync). A watermark
//! read at any moment after a request arrived is as good for that request as
//! one read inside its transaction: the page's snapshot is taken later still,
//! so it sees every change at or below the value that will ever commit. So
//! requests share readings: one is in flight at a time, and each request
//! waits for the first reading that *started* after it arrived — never an
//! older one, which could end a notified client's page below the change it
//! was told about. Under load one reading serves every page that queued
//! while the previous one ran; alone, a page waits for its own.

use sqlx::PgPool;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

type Reading = Pin<Box<dyn Future<Output = Option<i64>> + Send>>;
type Read = Box<dyn Fn() -> Reading + Send + Sync>;

pub struct Watermark(Arc<Shared>);

struct Shared {
    read: Read,
    /// Tickets: one per request, in arrival order.
    arrivals: AtomicU64,
    /// Whether a reading is in flight.
    reading: AtomicBool,
    /// The last reading: the last ticket taken before it started, and the
    /// value (`None` when it failed).
    last: watch::Sender<(u64, Option<i64>)>,
}

impl Watermark {
    /// `pool` is the reader's own (one connection): a reading never waits
    /// behind the pages it serves.
    pub fn new(pool: PgPool) -> Self {
        Self::read_by(Box::new(move || {
            let pool = pool.clone();
            Box::pin(async move { super::store::settled_change_seq(&pool).await.ok() })
        }))
    }

    fn read_by(read: Read) -> Self {
        Watermark(Arc::new(Shared {
            read,
            arrivals: AtomicU64::new(0),
            reading: AtomicBool::new(false),
            last: watch::Sender::new((0, None)),
        }))
    }

    /// The settled change_seq, read after this call began; `None` when the
    /// reading failed (the caller then reads it in its own transaction and
    /// meets the error there).
    pub async fn settled(&self) -> Option<i64> {
        let mut seen = self.0.last.subscribe();
        let ticket = self.0.arrivals.fetch_add(1, Ordering::SeqCst) + 1;
        loop {
            {
                let &(started_after, value) = &*seen.borrow_and_update();
                if started_after >= ticket {
                    return value;
                }
            }
            if !self.0.reading.swap(true, Ordering::SeqCst) {
                // A task of its own: a request dropped mid-way (its client
                // went away) must not leave the others waiting for it.
                let shared = Arc::clone(&self.0);
                tokio::spawn(async move {
                    let started_after = shared.arrivals.load(Ordering::SeqCst);
                    let value = (shared.read)().await;
                    // Cleared before the reading is published: a request
                    // that found a reading in flight then either sees this
                    // one published after it began waiting, or starts the
                    // next one itself.
                    shared.reading.store(false, Ordering::SeqCst);
                    shared.last.send_replace((started_after, value));
                });
            }
            if seen.changed().await.is_err() {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests;

//! Group commit for one kind of request: concurrent requests queue, and a
//! few workers take whatever has queued (up to a limit) and handle it
//! together, in one transaction per batch (`approve::engine::decide_batch`).
//! A round trip and a statement cost PostgreSQL more than a row does, so a
//! batch of n pays for its statements once instead of n times. Nothing waits
//! to fill a batch: a worker that is free takes what is there, so under
//! light load a batch is a single request ([`let_ready_tasks_queue`] is the
//! only delay, and it is not a timer).

use std::future::Future;
use std::sync::Arc;
use tokio::sync::{mpsc, watch, Mutex};

pub struct Batcher<J> {
    queue: mpsc::Sender<J>,
    /// Jobs queued or being handled, for [`Batcher::drained`].
    pending: Arc<watch::Sender<usize>>,
}

impl<J: Send + 'static> Batcher<J> {
    /// Starts `workers` workers, each running `run` over batches of at most
    /// `max` jobs. `run` answers every job it is given.
    pub fn spawn<F, Fut>(workers: usize, max: usize, run: F) -> Self
    where
        F: Fn(Vec<J>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // The queue's bound only limits memory: each job is a request that
        // holds a connection open and waits for its answer.
        let (queue, rx) = mpsc::channel(max * workers * 16);
        let rx = Arc::new(Mutex::new(rx));
        let pending = Arc::new(watch::Sender::new(0usize));
        for _ in 0..workers.max(1) {
            let (rx, run, pending) = (rx.clone(), run.clone(), pending.clone());
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut rx = rx.lock().await;
                        let Some(first) = rx.recv().await else { return };
                        let_ready_tasks_queue().await;
                        let mut batch = vec![first];
                        while batch.len() < max {
                            match rx.try_recv() {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        batch
                    };
                    let n = batch.len();
                    run(batch).await;
                    pending.send_modify(|p| *p -= n);
                }
            });
        }
        Batcher { queue, pending }
    }

    /// Queues a job; gives it back if no worker is left to take it.
    pub async fn submit(&self, job: J) -> Result<(), J> {
        self.pending.send_modify(|p| *p += 1);
        self.queue.send(job).await.map_err(|e| {
            self.pending.send_modify(|p| *p -= 1);
            e.0
        })
    }

    /// Resolves once every job queued so far has been handled (the server's
    /// drain: a request cut at the drain's bound may have queued one).
    pub async fn drained(&self) {
        let _ = self.pending.subscribe().wait_for(|p| *p == 0).await;
    }
}

/// Called by a batch worker between its first job and taking the rest: it
/// yields once, so that the tasks ready to run on this worker, and those whose
/// I/O just completed, run first (tokio 1.54 wakes a yielded task after its
/// worker has run out of ready tasks and polled the I/O driver: an ordering
/// this relies on for speed only, never for correctness). Requests whose
/// database reply has arrived then queue their jobs in time to join this
/// batch instead of each waiting for the next one. It costs a pass through
/// the scheduler, not a timer. What it gained is measured in the README
/// ("A batch worker yields once").
pub async fn let_ready_tasks_queue() {
    tokio::task::yield_now().await;
}

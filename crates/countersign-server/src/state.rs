use crate::config::Config;
use crate::sign_in::token::Verifiers;
use crate::telemetry::Metrics;
use sqlx::PgPool;
use std::sync::Arc;

/// Shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    /// Connected as `countersign_app`: row-level security always applies.
    pub db: PgPool,
    /// One per trusted issuer; a token is verified by its own issuer's.
    pub verifiers: Verifiers,
    pub config: Config,
    pub metrics: Metrics,
    pub signer: crate::audit::store::Signer,
    /// Appends audit events (group commit, see auditlog).
    pub audit: crate::audit::store::AuditWriter,
    /// Reveals per staff member per minute.
    pub reveals: crate::reveal::limiter::RateLimiter,
    /// Staff lookups of the requests' principals, in batches (see principal).
    pub lookups: crate::batch::Batcher<crate::sign_in::store::Lookup>,
    /// Audit exports running now: each holds a pooled connection in one
    /// transaction for as long as its client reads, so they are capped.
    pub exports: Arc<tokio::sync::Semaphore>,
    /// Approval decisions, decided in batches (group commit, see batch).
    pub decisions: crate::batch::Batcher<crate::approve::engine::DecideJob>,
    /// The sync feed's settled watermark, one reading for many pages.
    pub watermark: crate::sync::watermark::Watermark,
    /// Set when the server starts to drain (SIGTERM, SIGINT): the
    /// notification streams end, so their connections can close.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        AppState(Arc::new(inner))
    }
}

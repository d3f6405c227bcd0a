use crate::audit::store::Signer;
use crate::config::Config;
use crate::http::{ops, routes};
use crate::kernel::db;
use crate::sign_in::token::TokenVerifier;
use crate::state::{AppState, Inner};
use crate::telemetry;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// The most decisions one transaction decides (see batch): enough that a
/// batch pays for its statements once per many decisions, few enough that
/// its locks and its one write stay short.
const DECISIONS_PER_BATCH: usize = 32;

/// A bound, not yet serving, server. Tests bind to port 0 and read `addr`.
pub struct Application {
    pub addr: SocketAddr,
    /// Where `GET /metrics` is served (not on the API's address).
    pub metrics_addr: SocketAddr,
    listener: TcpListener,
    metrics_listener: TcpListener,
    router: axum::Router,
    state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> std::io::Result<Application> {
        let db =
            db::connect(&config.app_database_url(), config.policy.db_max_connections).map_err(std::io::Error::other)?;
        let metrics = telemetry::Metrics::default();
        let verifier = TokenVerifier::new(
            &config.issuer,
            &config.audience,
            config.policy.token_leeway_secs,
            Duration::from_secs(config.policy.jwks_refetch_min_interval_secs),
            metrics.jwks_fetches.clone(),
        );
        let signer = match &config.audit_key_file {
            Some(path) => Signer::from_file(path).map_err(std::io::Error::other)?,
            None => {
                tracing::warn!(
                    "no audit_key_file configured: audit checkpoints are signed with a key generated for this run only"
                );
                Signer::generate().0
            }
        };
        let listener = TcpListener::bind(&config.listen).await?;
        let addr = listener.local_addr()?;
        let metrics_listener = TcpListener::bind(&config.metrics_listen).await?;
        let metrics_addr = metrics_listener.local_addr()?;
        let reveals = crate::reveal::limiter::RateLimiter::new(
            config.policy.reveals_per_minute as usize,
            Duration::from_secs(60),
        );
        // The writer gets a connection of its own: every request waits for
        // its batch, so a writer queued for a pool connection behind those
        // requests would hold all of them up (measured: p99 67 ms at 80 % of
        // peak with a shared pool of 4).
        let audit_db = db::connect(&config.app_database_url(), 1).map_err(std::io::Error::other)?;
        let audit = crate::audit::store::AuditWriter::spawn(audit_db);
        // The staff lookups, like the audit writer, keep a connection of
        // their own: one worker, so that a batch forms while one is read.
        let (lookup_db, held, sizes) = (
            db::connect(&config.app_database_url(), 1).map_err(std::io::Error::other)?,
            Default::default(),
            metrics.lookup_batch.clone(),
        );
        let lookups = crate::batch::Batcher::spawn(1, crate::sign_in::store::LOOKUPS_PER_BATCH, move |jobs| {
            crate::sign_in::store::lookup_batch(lookup_db.clone(), std::sync::Arc::clone(&held), sizes.clone(), jobs)
        });
        // Half the pool decides (each worker holds a connection while its
        // batch runs); the other half serves everything else, including
        // the principal lookup every decision makes before it queues.
        let deciders = (config.policy.db_max_connections as usize / 2).max(1);
        let (decide_db, sizes) = (db.clone(), metrics.decision_batch.clone());
        let policy = std::sync::Arc::new(config.approval_policy.clone());
        let decisions = crate::batch::Batcher::spawn(deciders, DECISIONS_PER_BATCH, move |jobs| {
            crate::approve::engine::decide_batch(decide_db.clone(), sizes.clone(), policy.clone(), jobs)
        });
        // A quarter of the pool at most: the rest keeps serving everyone else.
        let exports = std::sync::Arc::new(tokio::sync::Semaphore::new(
            (config.policy.db_max_connections as usize / 4).max(1),
        ));
        let watermark = crate::sync::watermark::Watermark::new(
            db::connect(&config.app_database_url(), 1).map_err(std::io::Error::other)?,
        );
        let state = AppState::new(Inner {
            db,
            verifier,
            config,
            metrics,
            signer,
            reveals,
            audit,
            lookups,
            decisions,
            exports,
            watermark,
        });
        Ok(Application {
            addr,
            metrics_addr,
            listener,
            metrics_listener,
            router: routes::router(state.clone()),
            state,
        })
    }

    /// The shared state, for tests that drive scheduled work directly.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    pub async fn serve(self) -> std::io::Result<()> {
        tokio::spawn(checkpoints(self.state.clone()));
        tokio::spawn(expiries(self.state.clone()));
        let metrics = axum::Router::new()
            .route("/metrics", axum::routing::get(ops::metrics))
            .with_state(self.state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(self.metrics_listener, metrics).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
        axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    }
}

/// Applies the migrations with an administrative connection.
pub async fn migrate(database_url: &str) -> Result<(), sqlx::Error> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(database_url)
        .await?;
    crate::MIGRATOR.run(&pool).await?;
    Ok(())
}

/// Signs the audit head on a schedule, busy or idle, for as long as the server runs.
async fn checkpoints(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(state.config.policy.audit_checkpoint_secs.max(1)));
    loop {
        every.tick().await;
        if let Err(e) = crate::audit::store::checkpoint(&state.db, &state.signer).await {
            tracing::error!(error = %e, "audit checkpoint failed");
        }
    }
}

/// Expires pending approvals past their deadline, once a minute.
async fn expiries(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        every.tick().await;
        if let Err(e) = crate::approve::sweep::sweep_expired(&state).await {
            tracing::error!(error = %e, "approval expiry sweep failed");
        }
    }
}

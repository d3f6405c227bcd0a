use crate::audit::store::Signer;
use crate::config::Config;
use crate::http::{ops, routes};
use crate::kernel::db;
use crate::sign_in::token::{TokenVerifier, Verifiers};
use crate::state::{AppState, Inner};
use crate::telemetry;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// The most decisions one transaction decides (see batch): enough that a
/// batch pays for its statements once per many decisions, few enough that
/// its locks and its one write stay short.
const DECISIONS_PER_BATCH: usize = 32;

/// The longest a task that keeps a connection waits for one (see `build`).
const KEPT_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1_000);

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
        refuse_async_commit(&config).await?;
        let async_ok = config.dev_allow_async_commit;
        let wait = Duration::from_millis(config.policy.db_acquire_timeout_ms.max(1));
        // The tasks that keep a connection (audit writer, staff lookups, the
        // sync watermark) wait less: every request queues behind them, and
        // they fail fast anyway once they find the database unreachable.
        let kept_wait = wait.min(KEPT_ACQUIRE_TIMEOUT);
        let db = db::connect(
            &config.app_database_url(),
            config.policy.db_max_connections,
            wait,
            async_ok,
        )
        .map_err(std::io::Error::other)?;
        let metrics = telemetry::Metrics::default();
        let verifiers = Verifiers::new(
            config
                .issuers()
                .iter()
                .map(|i| {
                    TokenVerifier::new(
                        &i.issuer,
                        &i.audience,
                        config.policy.token_leeway_secs,
                        Duration::from_secs(config.policy.jwks_refetch_min_interval_secs),
                        Duration::from_secs(config.policy.verified_token_cache_secs),
                        metrics.jwks_fetches.clone(),
                    )
                })
                .collect(),
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
        let audit_db =
            db::connect(&config.app_database_url(), 1, kept_wait, async_ok).map_err(std::io::Error::other)?;
        let audit = crate::audit::store::AuditWriter::spawn(audit_db);
        // The staff lookups, like the audit writer, keep a connection of
        // their own: one worker, so that a batch forms while one is read.
        let (lookup_db, held, sizes) = (
            db::connect(&config.app_database_url(), 1, kept_wait, async_ok).map_err(std::io::Error::other)?,
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
            db::connect(&config.app_database_url(), 1, kept_wait, async_ok).map_err(std::io::Error::other)?,
        );
        let state = AppState::new(Inner {
            db,
            verifiers,
            config,
            metrics,
            signer,
            reveals,
            audit,
            lookups,
            decisions,
            exports,
            watermark,
            stopping: tokio::sync::watch::Sender::new(false),
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

    /// Serves until the process gets SIGTERM or SIGINT, then drains.
    pub async fn serve(self) -> std::io::Result<()> {
        self.serve_until(stop_signal()).await
    }

    /// Serves until `stop` resolves, then drains: no new connections, the
    /// requests in flight finish (a body still arriving included), the
    /// notification streams end, the decision batches and the audit writer
    /// flush, the pool closes; all within `policy.drain_secs`, after which
    /// whatever still runs is cut. Returns Ok either way: the process exits 0.
    pub async fn serve_until(
        self,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        tokio::spawn(checkpoints(self.state.clone()));
        tokio::spawn(expiries(self.state.clone()));
        tokio::spawn(key_refreshes(self.state.clone()));
        let metrics = axum::Router::new()
            .route("/metrics", axum::routing::get(ops::metrics))
            .with_state(self.state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(self.metrics_listener, metrics).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
        let state = self.state;
        let drain = Duration::from_secs(state.config.policy.drain_secs);
        let (stopped_tx, stopped) = tokio::sync::watch::channel(None::<tokio::time::Instant>);
        let announce = state.clone();
        let server = axum::serve(
            self.listener,
            self.router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            stop.await;
            tracing::info!(drain_secs = drain.as_secs(), "stopping: no new connections, draining");
            let _ = stopped_tx.send(Some(tokio::time::Instant::now() + drain));
            announce.stopping.send_replace(true);
        });
        let mut signalled = stopped.clone();
        let deadline = async move {
            match signalled.wait_for(Option::is_some).await.map(|at| *at) {
                Ok(Some(at)) => tokio::time::sleep_until(at).await,
                _ => std::future::pending().await,
            }
        };
        tokio::pin!(deadline);
        tokio::select! {
            served = std::future::IntoFuture::into_future(server) => served?,
            _ = &mut deadline => {
                tracing::warn!("the drain took longer than {drain:?}: the requests still running are cut");
            }
        }
        let at = stopped.borrow().unwrap_or_else(|| tokio::time::Instant::now() + drain);
        let flushed = async {
            state.decisions.drained().await;
            state.lookups.drained().await;
            state.audit.flush().await;
        };
        if tokio::time::timeout_at(at, flushed).await.is_err() {
            tracing::warn!("the decision batches or the audit writer did not flush within the drain");
        }
        // Connections still held by requests cut at the drain's bound (their
        // tasks outlive the server future) are not waited for.
        let closing = state.db.close();
        if tokio::time::timeout(Duration::from_secs(1), closing).await.is_err() {
            tracing::warn!("database connections still in use at exit");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// SIGTERM (systemd, Kubernetes, `docker stop`) or SIGINT (Ctrl-C): both drain.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only SIGINT drains");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Refuses to start against a database that acknowledges commits before they
/// are durable, unless the development flag says otherwise (then it says so,
/// loudly). An unreachable database is not refused here: the server starts,
/// answers 503 until it is back, and each new connection checks again.
async fn refuse_async_commit(config: &Config) -> std::io::Result<()> {
    use sqlx::Connection;
    let connect = sqlx::PgConnection::connect(&config.app_database_url());
    let Ok(Ok(mut conn)) = tokio::time::timeout(Duration::from_secs(2), connect).await else {
        return Ok(());
    };
    let commit: Option<String> = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
        .fetch_one(&mut conn)
        .await
        .ok();
    let _ = conn.close().await;
    match commit.as_deref() {
        Some("off") if config.dev_allow_async_commit => {
            tracing::warn!(
                "DEVELOPMENT ONLY: synchronous_commit is off and COUNTERSIGN_DEV_ALLOW_ASYNC_COMMIT is set: \
                 acknowledged writes can be lost if PostgreSQL crashes"
            );
            Ok(())
        }
        Some("off") => Err(std::io::Error::other(db::ASYNC_COMMIT_REFUSED)),
        _ => Ok(()),
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

/// Fetches every issuer's keys again every `jwks_refresh_secs`: a key dropped
/// from an issuer's set stops verifying tokens (see `TokenVerifier`). A
/// failed fetch keeps the keys there are; one issuer's failure is not another's.
async fn key_refreshes(state: AppState) {
    let mut every = tokio::time::interval(Duration::from_secs(state.config.policy.jwks_refresh_secs.max(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await; // the first tick is now: the keys are fetched on first use
    loop {
        every.tick().await;
        // Side by side: a slow provider does not hold up the others' refresh.
        futures::future::join_all(state.verifiers.all().iter().map(|v| async move {
            if let Err(e) = v.refresh_keys().await {
                let issuer = v.issuer();
                tracing::warn!(error = %e, issuer, "the issuer's keys could not be fetched again; the cached stay");
            }
        }))
        .await;
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

use crate::auth::TokenVerifier;
use crate::config::Config;
use crate::state::{AppState, Inner};
use crate::{db, routes, telemetry};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A bound, not yet serving, server. Tests bind to port 0 and read `addr`.
pub struct Application {
    pub addr: SocketAddr,
    listener: TcpListener,
    router: axum::Router,
}

impl Application {
    pub async fn build(config: Config) -> std::io::Result<Application> {
        let db = db::connect(&config.app_database_url(), config.policy.db_max_connections).map_err(std::io::Error::other)?;
        let metrics = telemetry::Metrics::default();
        let verifier = TokenVerifier::new(
            &config.issuer,
            &config.audience,
            config.policy.token_leeway_secs,
            Duration::from_secs(config.policy.jwks_refetch_min_interval_secs),
            metrics.jwks_fetches.clone(),
        );
        let listener = TcpListener::bind(&config.listen).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(Inner { db, verifier, config, metrics });
        Ok(Application { addr, listener, router: routes::router(state) })
    }

    pub async fn serve(self) -> std::io::Result<()> {
        axum::serve(self.listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    }
}

/// Applies the migrations with an administrative connection.
pub async fn migrate(database_url: &str) -> Result<(), sqlx::Error> {
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(database_url).await?;
    crate::MIGRATOR.run(&pool).await?;
    Ok(())
}

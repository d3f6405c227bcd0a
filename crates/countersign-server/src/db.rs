//! The request's transaction, with the caller's scope set transaction-locally
//! (`set_config(..., true)`): it ends with the transaction, so a pooled
//! connection never carries one caller's scope to the next.

use crate::principal::Principal;
use sqlx::{postgres::PgPoolOptions, PgPool, Postgres, Transaction};
use std::time::Duration;

pub type Tx = Transaction<'static, Postgres>;

pub fn connect(url: &str, max: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(5)).connect_lazy(url)
}

/// Begins a transaction scoped to what `p` may see.
pub async fn begin(pool: &PgPool, p: &Principal) -> Result<Tx, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let orgs = format!("{{{}}}", countersign_api::org_ids_display(&p.scope.org_ids));
    let regions = format!("{{{}}}", p.scope.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","));
    sqlx::query(
        "SELECT set_config('countersign.scope_all', $1, true), \
                set_config('countersign.scope_orgs', $2, true), \
                set_config('countersign.scope_regions', $3, true)",
    )
    .bind(if p.scope.all_orgs { "on" } else { "off" })
    .bind(orgs)
    .bind(regions)
    .execute(&mut *tx)
    .await?;
    Ok(tx)
}

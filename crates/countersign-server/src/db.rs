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
///
/// BEGIN and the scope go to the server as one simple-query message (one
/// round trip instead of two: a round trip costs more than the statements).
/// The simple-query protocol has no parameters, so the values are written
/// into the text; they are never user input, only the caller's typed scope:
/// `on`/`off`, UUIDs (hex and dashes) and region codes (A-Z), which
/// [`scope_literal`] checks again before anything is sent.
pub async fn begin(pool: &PgPool, p: &Principal) -> Result<Tx, sqlx::Error> {
    let orgs = format!("{{{}}}", countersign_api::org_ids_display(&p.scope.org_ids));
    let regions = format!("{{{}}}", p.scope.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(","));
    let all = if p.scope.all_orgs { "on" } else { "off" };
    let statement = format!(
        "BEGIN; SELECT set_config('countersign.scope_all', '{}', true), set_config('countersign.scope_orgs', '{}', true), \
         set_config('countersign.scope_regions', '{}', true)",
        scope_literal(all)?,
        scope_literal(&orgs)?,
        scope_literal(&regions)?,
    );
    pool.begin_with(statement).await
}

/// A scope value fit to stand between single quotes: only the characters a
/// UUID list, a region list or on/off are made of.
fn scope_literal(value: &str) -> Result<&str, sqlx::Error> {
    let fits = value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ',' | '{' | '}'));
    if fits {
        Ok(value)
    } else {
        Err(sqlx::Error::Protocol(format!("refusing a scope value with unexpected characters ({} bytes)", value.len())))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scope_literals_admit_uuid_and_region_lists_and_nothing_else() {
        assert!(super::scope_literal("{0b6c4c56-3e9b-4c8e-9a52-6a1c2f9d8e01,EU,US}").is_ok());
        assert!(super::scope_literal("on").is_ok());
        for bad in ["'", "on'; DROP TABLE staff; --", "a b", "x\\", "é"] {
            assert!(super::scope_literal(bad).is_err(), "{bad}");
        }
    }
}

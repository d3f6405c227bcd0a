//! The two ways to the database, told apart by their type:
//! - [`Tx`], a transaction scoped to one caller: their scope is set
//!   transaction-locally (`set_config(..., true)`), so row-level security
//!   filters every tenant table to what they may see, and the scope ends with
//!   the transaction (a pooled connection never carries one caller's scope to
//!   the next). Every request's reads and writes go through one.
//! - [`GlobalTx`], a transaction that sees every tenant: for the server's own
//!   work (expiring requests, ending a session whose org left its agent's
//!   scope) and for the tables outside row-level security (staff accounts,
//!   delegations, a customer's identity). Only a `store.rs` begins one.
//!
//! Nothing else reaches the pool, except the connections kept by the batch
//! workers (`Held`) and the readiness probe (`ping`).

use crate::kernel::Principal;
use sqlx::{postgres::PgPoolOptions, Connection, PgConnection, PgPool, Postgres, Transaction};
use std::time::Duration;

/// A transaction under row-level security, scoped to one caller.
pub struct Tx(Transaction<'static, Postgres>);

/// A transaction that sees every tenant (see the module's comment).
pub struct GlobalTx(Transaction<'static, Postgres>);

macro_rules! transaction {
    ($($t:ident),*) => {$(
        impl std::ops::Deref for $t {
            type Target = PgConnection;
            fn deref(&self) -> &PgConnection {
                &self.0
            }
        }
        impl std::ops::DerefMut for $t {
            fn deref_mut(&mut self) -> &mut PgConnection {
                &mut self.0
            }
        }
        impl $t {
            pub async fn commit(self) -> Result<(), sqlx::Error> {
                self.0.commit().await
            }
        }
    )*};
}
transaction!(Tx, GlobalTx);

/// Begins a transaction that sees every tenant.
pub async fn global(pool: &PgPool) -> Result<GlobalTx, sqlx::Error> {
    Ok(GlobalTx(begin_then(pool, &Principal::service(true), &[], "").await?.0))
}

/// A failure of the connection rather than of the statement: the database
/// restarting, shut down, unreachable, refusing connections, or no connection
/// free in time. The caller gets 503 and may retry; a statement's own error
/// (a constraint, a bad value) is something else.
pub fn is_connection_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exception; 57P01-03: admin or crash shutdown, cannot
        // connect now (starting up); 53300: too many connections.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03" | "53300")),
        _ => false,
    }
}

/// Does the database answer, and with which `synchronous_commit`? (The
/// readiness probe.) `None` when it does not answer.
pub async fn probe(pool: &PgPool) -> Option<String> {
    sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
        .fetch_one(pool)
        .await
        .ok()
}

/// Why a connection is refused: PostgreSQL would acknowledge commits before
/// they are durable (`synchronous_commit = off`: a crash of the database loses
/// the last ~3 × `wal_writer_delay` of them, answered 2xx to their callers).
pub const ASYNC_COMMIT_REFUSED: &str = "the database runs with synchronous_commit = off: acknowledged writes could \
    be lost in a crash; turn it on, or set COUNTERSIGN_DEV_ALLOW_ASYNC_COMMIT=1 (development only)";

/// The pool. sqlx pings a connection when it is released (always) and, by
/// default, again when it is acquired: two of a request's round trips, each
/// costing about what a small statement does (measured: ~90 µs of CPU on this
/// machine). A released connection was just tested, so one is tested again
/// on acquire only after it sat idle long enough for the server or the
/// network to have dropped it.
///
/// Every new connection checks `synchronous_commit` (see
/// [`ASYNC_COMMIT_REFUSED`]) unless `allow_async_commit`: checked per
/// connection, so a setting changed while the server runs is caught too.
pub fn connect(
    url: &str,
    max: u32,
    acquire_timeout: Duration,
    allow_async_commit: bool,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(acquire_timeout)
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if !allow_async_commit {
                    let commit: String = sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                        .fetch_one(&mut *conn)
                        .await?;
                    if commit == "off" {
                        return Err(sqlx::Error::Configuration(ASYNC_COMMIT_REFUSED.into()));
                    }
                }
                Ok(())
            })
        })
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_lazy(url)
}

pub const IDLE_BEFORE_PING: Duration = Duration::from_secs(10);

/// How long a connection kept out of the pool (`Held`) is used
/// before it is replaced: sqlx's default `max_lifetime`.
pub const MAX_HELD: Duration = Duration::from_secs(30 * 60);

/// Begins a transaction scoped to what `p` may see.
pub async fn begin(pool: &PgPool, p: &Principal) -> Result<Tx, sqlx::Error> {
    begin_locked(pool, p, &[]).await
}

/// Begins a transaction scoped to what `p` may see, holding the advisory
/// locks `locks` (transaction-level) before anything else is read.
///
/// BEGIN, the scope and the locks go to the server as one simple-query
/// message (one round trip instead of up to three: a round trip costs more
/// than the statements). Each statement of a simple query takes its own
/// snapshot, so the next statement sees everything committed by the locks'
/// previous holders. The locks are taken in ascending order, so two
/// transactions wanting the same pair cannot deadlock.
///
/// The simple-query protocol has no parameters, so the values are written
/// into the text; they are never user input, only the caller's typed scope:
/// `on`/`off`, UUIDs (hex and dashes) and region codes (A-Z), which
/// [`scope_literal`] checks again before anything is sent, and integers.
pub async fn begin_locked(pool: &PgPool, p: &Principal, locks: &[i64]) -> Result<Tx, sqlx::Error> {
    begin_then(pool, p, locks, "").await
}

/// Begins a read of the sync feed: scoped to what `p` may see, with
/// `countersign.settled` set to the change_seq below which every change that
/// will ever commit has committed (migration 0013): `settled` when the caller
/// read it before this call (a reading shared by several pages), else read
/// here in a statement before the page's. Either way the page's snapshot,
/// taken after, sees all of them; a page never ends above it.
pub async fn begin_settled(pool: &PgPool, p: &Principal, settled: Option<i64>) -> Result<Tx, sqlx::Error> {
    let then = match settled {
        Some(n) => format!("; SELECT set_config('countersign.settled', '{n}', true)"),
        None => "; SELECT set_config('countersign.settled', cs_settled_change_seq()::text, true)".to_owned(),
    };
    begin_then(pool, p, &[], &then).await
}

async fn begin_then(pool: &PgPool, p: &Principal, locks: &[i64], then: &str) -> Result<Tx, sqlx::Error> {
    let orgs = format!("{{{}}}", countersign_api::org_ids_display(&p.scope.org_ids));
    let regions = format!(
        "{{{}}}",
        p.scope.regions.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
    );
    let all = if p.scope.all_orgs { "on" } else { "off" };
    let mut statement = format!(
        "BEGIN; SELECT set_config('countersign.scope_all', '{}', true), set_config('countersign.scope_orgs', '{}', \
            true), \
         set_config('countersign.scope_regions', '{}', true)",
        scope_literal(all)?,
        scope_literal(&orgs)?,
        scope_literal(&regions)?,
    );
    let mut locks = locks.to_vec();
    locks.sort_unstable();
    locks.dedup();
    if !locks.is_empty() {
        let calls: Vec<String> = locks.iter().map(|l| format!("pg_advisory_xact_lock({l})")).collect();
        statement.push_str("; SELECT ");
        statement.push_str(&calls.join(", "));
    }
    statement.push_str(then);
    // A pooled connection can have died since it was last used (PostgreSQL
    // restarted, its backend terminated) without the pool knowing. BEGIN and
    // the scope are the first thing sent on it and change nothing, so a
    // connection failure here is tried again on another connection: up to
    // one more time than the pool holds connections, each dead one being
    // closed when released (sqlx tests it), never reused. Failing to *get* a
    // connection is not retried: the acquire timeout already bounds it.
    let attempts = pool.options().get_max_connections() + 1;
    let mut attempt = 1;
    loop {
        match pool.begin_with(statement.clone()).await {
            Ok(tx) => return Ok(Tx(tx)),
            Err(e) if attempt < attempts && is_dead_connection(&e) => {
                tracing::warn!(error = %e, "a pooled connection had died; trying another");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A connection that was handed out and failed when used: worth one more
/// try on another (unlike a pool that found no connection in time).
pub fn is_dead_connection(e: &sqlx::Error) -> bool {
    is_connection_failure(e) && !matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
}

/// Where a keyset page starts: after the cursor, bound as parameters `$first`,
/// `$first+1`, … of the SQL `types` (all NULL on the first page). Two
/// statements rather than one `$n IS NULL OR (key, id) > ($n, $n+1)`: only an
/// unconditional comparison becomes an index condition, so a page deep into a
/// large org or log starts at the cursor in the index instead of reading and
/// dropping every row before it (measured, 20k invoices: 36 ms → 0.1 ms a
/// page). The first page's statement still names every parameter, as NULL
/// tests the planner evaluates once. `compare` is the key and the direction,
/// e.g. `(name, id) >` or `seq <`.
pub fn page_start(after_cursor: bool, compare: &str, first: usize, types: &[&str]) -> String {
    let params: Vec<String> = (first..first + types.len()).map(|n| format!("${n}")).collect();
    match (after_cursor, params.as_slice()) {
        (true, [one]) => format!("{compare} {one}"),
        (true, many) => format!("{compare} ({})", many.join(", ")),
        (false, _) => params
            .iter()
            .zip(types)
            .map(|(p, t)| format!("{p}::{t} IS NULL"))
            .collect::<Vec<_>>()
            .join(" AND "),
    }
}

/// A connection kept out of the pool by a long-lived task (the audit writer,
/// the staff lookups) between its uses: sqlx tests a connection with a round
/// trip each time it goes back to the pool, which for such a task was one
/// extra round trip per use (measured: pings were 9 % of the server's CPU in
/// the approvals benchmark). It is tested instead when it sat idle as long as
/// the pool would have waited (`IDLE_BEFORE_PING`) and replaced if that
/// fails, and replaced after `MAX_HELD`, like the pool's own connection
/// lifetime. After an error its user calls [`Held::reset`].
///
/// When its connection was lost and no new one could be had (the database
/// went away), the next uses within [`UNREACHABLE_RECHECK`] fail at once
/// instead of each waiting out the acquire timeout: the task's queue (every
/// request's lookup, every request's audit event) never piles up behind a
/// database that is down. A connection merely slow to open (a loaded
/// machine, the first one) does not count: nothing was lost before it.
#[derive(Default)]
pub struct Held {
    conn: Option<(sqlx::pool::PoolConnection<Postgres>, std::time::Instant)>,
    last_used: Option<std::time::Instant>,
    unreachable_since: Option<std::time::Instant>,
    /// The kept connection was given up after an error, and none was had since.
    lost: bool,
}

/// How often a kept connection's task tries the database again while it is
/// unreachable; until then its uses fail at once.
pub const UNREACHABLE_RECHECK: Duration = Duration::from_millis(250);

impl Held {
    pub async fn conn(&mut self, pool: &PgPool) -> Result<&mut sqlx::PgConnection, sqlx::Error> {
        let now = std::time::Instant::now();
        if self
            .conn
            .as_ref()
            .is_some_and(|(_, since)| now.duration_since(*since) > MAX_HELD)
        {
            self.conn = None;
        }
        let idle = self.last_used.is_some_and(|t| now.duration_since(t) > IDLE_BEFORE_PING);
        self.last_used = Some(now);
        if let Some((c, _)) = self.conn.as_mut().filter(|_| idle) {
            if c.ping().await.is_err() {
                self.conn = None;
            }
        }
        let (conn, _) = match self.conn.take() {
            Some(kept) => self.conn.insert(kept),
            None => {
                if self
                    .unreachable_since
                    .is_some_and(|t| now.duration_since(t) < UNREACHABLE_RECHECK)
                {
                    return Err(sqlx::Error::PoolTimedOut);
                }
                match pool.acquire().await {
                    Ok(fresh) => {
                        self.unreachable_since = None;
                        self.lost = false;
                        self.conn.insert((fresh, now))
                    }
                    Err(e) => {
                        if self.lost && is_connection_failure(&e) {
                            self.unreachable_since = Some(std::time::Instant::now());
                        }
                        return Err(e);
                    }
                }
            }
        };
        Ok(conn)
    }

    /// Hands the connection back to the pool (which closes it if it is
    /// broken); the next use gets another.
    pub fn reset(&mut self) {
        self.conn = None;
        self.lost = true;
    }
}

/// Ends a transaction that only read. It is rolled back, not committed:
/// there is nothing to keep, and the scope goes with it either way. The
/// request does not wait for it: sqlx queues the ROLLBACK on the connection
/// and sends it with the ping it makes whenever a connection returns to the
/// pool (a connection whose ping fails is closed, never reused), in a task
/// of its own while the response goes out. A COMMIT would be one more round trip on the
/// request's path, and one more wake-up of the backend.
pub fn end_read(tx: impl std::ops::DerefMut<Target = PgConnection>) {
    drop(tx);
}

/// The advisory lock id of a row with a random (v4) id: its first 8 bytes.
/// Lock ids share one space with [`crate::http::idempotency::Key::lock`]; a
/// collision (2^-64) only makes two transactions wait for each other.
pub fn lock_id(id: uuid::Uuid) -> i64 {
    let b = id.as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// A scope value fit to stand between single quotes: only the characters a
/// UUID list, a region list or on/off are made of.
fn scope_literal(value: &str) -> Result<&str, sqlx::Error> {
    let fits = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ',' | '{' | '}'));
    if fits {
        Ok(value)
    } else {
        Err(sqlx::Error::Protocol(format!(
            "refusing a scope value with unexpected characters ({} bytes)",
            value.len()
        )))
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

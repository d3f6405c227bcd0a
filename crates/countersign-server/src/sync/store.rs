//! The sync feed's one statement per page, and the estimate of a first
//! page. Which feeds a caller reads is `rules`'.

use super::rules;
use crate::http::problem::ApiResult;
use crate::kernel::db;
use crate::kernel::Principal;
use countersign_api::RecordType;
use std::sync::OnceLock;

/// How many records a full sync will bring. A caller scoped to some orgs or
/// regions gets an exact count under row-level security: statistics would
/// tell them how much other tenants hold. A caller who may read every org sees
/// every row anyway, so the planner's statistics (`pg_class.reltuples`, kept
/// by autovacuum) leak nothing and cost nothing, where exact counts cost
/// ~40 ms of database time per first page over 100,000 records; a table
/// never analyzed (reltuples < 0) is counted.
/// For an all-org caller the page query brings the statistics when every
/// readable table has them; this runs when it did not, or for a scoped caller.
/// The settled watermark (migration 0013), read on its own: see
/// [`super::watermark`].
pub async fn settled_change_seq(pool: &sqlx::PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT cs_settled_change_seq()")
        .fetch_one(pool)
        .await
}

pub async fn estimate(tx: &mut db::Tx, p: &Principal, tables: &[&str]) -> ApiResult<i64> {
    let stats: Vec<(String, i64)> = if rules::statistics_may_estimate(&p.scope) {
        sqlx::query_as(
            "SELECT relname::text, reltuples::int8 FROM pg_class WHERE oid = ANY($1::text[]::regclass[]) \
            AND reltuples >= 0",
        )
        .bind(tables)
        .fetch_all(&mut **tx)
        .await?
    } else {
        Vec::new()
    };
    let mut total = 0i64;
    for table in tables {
        total += match stats.iter().find(|(t, _)| t == table) {
            Some((_, n)) => *n,
            None => {
                let sql = format!("SELECT count(*) FROM {table}");
                sqlx::query_as::<_, (i64,)>(&sql).fetch_one(&mut **tx).await?.0
            }
        };
    }
    Ok(total)
}

/// A record type of the feed: who may read it and where its rows are.
pub struct Feed {
    pub table: &'static str,
    pub record_type: RecordType,
    pub rows: Rows,
}

/// One branch of a page's UNION: `(column, expression)` over `from` and
/// `join`, the columns named as the record's row struct (`OrgRow` …) reads
/// them, tagged `feed` (the record type's name in the API and in tombstones).
/// `from` alone has the change_seq that orders the branch.
pub struct Rows {
    pub feed: &'static str,
    from: &'static str,
    join: &'static str,
    seq: &'static str,
    columns: &'static [(&'static str, &'static str)],
}

pub const FEEDS: [Feed; 5] = [
    Feed {
        table: "orgs",
        record_type: RecordType::Org,
        rows: Rows {
            feed: "org",
            from: "orgs",
            join: "",
            seq: "change_seq",
            columns: &[
                ("id", "id"),
                ("slug", "slug"),
                ("name", "name"),
                ("region", "region"),
                ("support_access", "support_access"),
                ("created_at", "created_at"),
            ],
        },
    },
    Feed {
        table: "customer_users",
        record_type: RecordType::User,
        rows: Rows {
            feed: "user",
            from: "customer_users",
            join: "",
            seq: "change_seq",
            columns: &[
                ("id", "id"),
                ("org_id", "org_id"),
                ("name", "name"),
                ("email", "email"),
                ("phone", "phone"),
                ("city", "city"),
                ("role", "role"),
            ],
        },
    },
    Feed {
        table: "invoices",
        record_type: RecordType::Invoice,
        rows: Rows {
            feed: "invoice",
            from: "invoices",
            join: "",
            seq: "change_seq",
            columns: &[
                ("id", "id"),
                ("org_id", "org_id"),
                ("number", "number"),
                ("amount_minor", "amount_minor"),
                ("currency", "currency"),
                ("status", "status"),
                ("issued_at", "issued_at"),
                ("due_at", "due_at"),
            ],
        },
    },
    Feed {
        table: "vendors",
        record_type: RecordType::Vendor,
        rows: Rows {
            feed: "vendor",
            from: "vendors v",
            join: " LEFT JOIN vendor_bank_accounts b ON b.vendor_id = v.id AND b.valid_to IS NULL",
            seq: "v.change_seq",
            columns: &[
                ("id", "v.id"),
                ("org_id", "v.org_id"),
                ("name", "v.name"),
                ("tax_id", "v.tax_id"),
                ("city", "v.city"),
                ("iban", "b.iban"),
                ("bank_name", "b.bank_name"),
                ("account_holder", "b.account_holder"),
            ],
        },
    },
    Feed {
        table: "payments",
        record_type: RecordType::Payment,
        rows: Rows {
            feed: "payment",
            from: "payments",
            join: "",
            seq: "change_seq",
            columns: &[
                ("id", "id"),
                ("org_id", "org_id"),
                ("kind", "kind"),
                ("amount_minor", "amount_minor"),
                ("currency", "currency"),
                ("approval_id", "approval_id"),
                ("vendor_id", "vendor_id"),
                ("invoice_id", "invoice_id"),
                ("created_at", "created_at"),
            ],
        },
    },
];

/// Records that left the caller's view, for the readable record types.
const TOMBSTONES: Rows = Rows {
    feed: "tombstone",
    from: "sync_tombstones",
    join: "",
    seq: "change_seq",
    columns: &[
        ("id", "record_id"),
        ("org_id", "org_id"),
        ("record_type", "record_type"),
    ],
};

/// Every column of a page's rows with its type: a feed without one selects a
/// typed NULL, so that all branches of the UNION have the same shape.
const COLUMNS: [(&str, &str); 26] = [
    ("id", "uuid"),
    ("org_id", "uuid"),
    ("slug", "text"),
    ("name", "text"),
    ("region", "text"),
    ("support_access", "text"),
    ("created_at", "timestamptz"),
    ("email", "text"),
    ("phone", "text"),
    ("city", "text"),
    ("role", "text"),
    ("number", "text"),
    ("amount_minor", "int8"),
    ("currency", "text"),
    ("status", "text"),
    ("issued_at", "timestamptz"),
    ("due_at", "timestamptz"),
    ("tax_id", "text"),
    ("iban", "text"),
    ("bank_name", "text"),
    ("account_holder", "text"),
    ("kind", "text"),
    ("approval_id", "uuid"),
    ("vendor_id", "uuid"),
    ("invoice_id", "uuid"),
    ("record_type", "text"),
];

/// The one statement of a page: `$1` the cursor's change_seq, `$2` the limit,
/// `$3` the readable record types, `$4` (with `statistics`) their tables.
///
/// `upto` is where the page ends: the change_seq of the (limit+1)-th change
/// over the readable feeds and their tombstones (so the page holds limit+1
/// changes and `has_more` is true), or i64::MAX when fewer remain; never above
/// `countersign.settled` ([`db::begin_settled`]): a change numbered below an
/// uncommitted one is kept for a later page, which a cursor past it would
/// otherwise skip. Each feed
/// then returns its rows up to there, tagged with the feed's name in `feed`.
/// Each branch keeps its own ORDER BY … LIMIT: the planner cannot estimate the
/// row-level security filter, and without them it scans and sorts whole
/// tables (270 ms over 100,000 records) where a merge of the change_seq
/// indexes reads ~limit rows (0.4 ms). Row-level security applies to every
/// branch as to the tables read alone.
///
/// With `statistics`, one more row, `feed = 'estimate'`, carries the sum of
/// the tables' `reltuples` in `change_seq`, present only when every table has
/// been analyzed (see [`estimate`]).
///
/// One statement instead of one per feed: each statement costs PostgreSQL
/// about 0.1 ms beyond its rows (pgbench, first page of 200 for an all-org
/// finance clerk: 1.67-1.84 ms for the statements one by one, 1.21 ms as one).
/// The text depends only on which feeds are readable, so each variant is
/// built once and the connections' statement caches prepare it once.
pub fn feed_sql(readable: &[&Feed], statistics: bool) -> &'static str {
    static BUILT: [OnceLock<String>; 64] = [const { OnceLock::new() }; 64];
    let mask = FEEDS
        .iter()
        .enumerate()
        .filter(|(_, f)| readable.iter().any(|r| r.table == f.table))
        .fold(0usize, |m, (i, _)| m | 1 << i);
    BUILT[mask << 1 | statistics as usize].get_or_init(|| {
        // The readable feeds, then the tombstones of their record types.
        let branches: Vec<(&Rows, &str)> = FEEDS
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & 1 << i != 0)
            .map(|(_, f)| (&f.rows, ""))
            .chain([(&TOMBSTONES, " AND record_type = ANY($3)")])
            .collect();
        let ends: Vec<String> = branches
            .iter()
            .map(|(f, filter)| {
                format!(
                    "(SELECT {seq} AS change_seq FROM {src} WHERE {seq} > $1{filter} ORDER BY {seq} \
                LIMIT $2 + 1)",
                    seq = f.seq,
                    src = f.from
                )
            })
            .collect();
        let mut selects: Vec<String> = branches
            .iter()
            .map(|(f, filter)| {
                let columns: Vec<String> = COLUMNS
                    .iter()
                    .map(|(name, ty)| match f.columns.iter().find(|(c, _)| c == name) {
                        Some((_, expr)) => format!("{expr} AS {name}"),
                        None => format!("NULL::{ty} AS {name}"),
                    })
                    .collect();
                format!(
                    "(SELECT '{feed}'::text AS feed, {seq} AS change_seq, {columns} FROM {src}{join} WHERE {seq} > $1 \
                        AND {seq} <= (SELECT v FROM upto){filter} ORDER BY {seq} LIMIT $2 + 1)",
                    feed = f.feed,
                    seq = f.seq,
                    columns = columns.join(", "),
                    src = f.from,
                    join = f.join,
                )
            })
            .collect();
        if statistics {
            let nulls: Vec<String> = COLUMNS
                .iter()
                .map(|(name, ty)| format!("NULL::{ty} AS {name}"))
                .collect();
            selects.push(format!(
                "(SELECT 'estimate'::text AS feed, sum(reltuples)::int8 AS change_seq, {} FROM pg_class \
                 WHERE oid = ANY($4::text[]::regclass[]) AND reltuples >= 0 HAVING count(*) = cardinality($4::text[]))",
                nulls.join(", ")
            ));
        }
        format!(
            "WITH upto AS MATERIALIZED (SELECT least(coalesce((SELECT change_seq FROM ({}) s ORDER BY change_seq \
                OFFSET $2 LIMIT 1), \
             9223372036854775807), current_setting('countersign.settled')::int8) AS v) {}",
            ends.join(" UNION ALL "),
            selects.join(" UNION ALL ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A feed column missing from COLUMNS would be dropped from every page.
    #[test]
    fn every_feed_column_is_a_page_column() {
        for rows in FEEDS.iter().map(|f| &f.rows).chain([&TOMBSTONES]) {
            for (name, _) in rows.columns {
                assert!(
                    COLUMNS.iter().any(|(c, _)| c == name),
                    "{} selects {name}, which COLUMNS lacks",
                    rows.feed
                );
            }
        }
    }

    /// scripts/bench.d/sync.sql is pgbench's copy of carl's first page: the
    /// benchmark compares the server with it, so it must be the same SQL.
    #[test]
    fn the_benchmark_runs_the_servers_sync_statement() {
        let carls: Vec<&Feed> = FEEDS.iter().filter(|f| f.record_type != RecordType::User).collect();
        let ours = feed_sql(&carls, true)
            .replace("$1", ":sync_after")
            .replace("$2", ":sync_limit")
            .replace("$3", ":sync_types")
            .replace("$4", ":sync_tables");
        let script =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/bench.d/sync.sql")).unwrap();
        let statement = script
            .split(";\n")
            .find(|s| s.trim_start().starts_with("WITH upto"))
            .expect("sync.sql has the page statement");
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        assert_eq!(words(statement), words(&ours));
    }
}

//! Staff accounts as sign-in reads them: the row, by id or in batches of
//! identities (see `lookup_batch`), which also record the accounts'
//! activity (`last_active_at`, see `record_activity`).

use crate::http::problem::{ApiError, ApiResult};
use countersign_api::{Money, OrgId, Region, Scope, StaffId, StaffRole, UnknownValue};
use sqlx::PgPool;
use std::collections::BTreeMap;

#[derive(Clone, sqlx::FromRow)]
pub struct StaffRow {
    pub id: uuid::Uuid,
    pub person_id: uuid::Uuid,
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
    #[sqlx(try_from = "Vec<String>")]
    pub roles: Roles,
    pub scope_all: bool,
    #[sqlx(try_from = "Vec<String>")]
    pub scope_regions: Regions,
    pub scope_org_ids: Vec<uuid::Uuid>,
    pub approval_limits: sqlx::types::Json<BTreeMap<String, Option<Money>>>,
    pub permission_epoch: i64,
    pub active: bool,
    pub last_active_at: Option<time::OffsetDateTime>,
    pub deactivated_at: Option<time::OffsetDateTime>,
    pub deactivation_reason: Option<String>,
    /// Provisioned at a first sign-in and not decided yet: no roles, and
    /// every request is `access_pending` (migration 0015).
    pub access_pending: bool,
}

pub const STAFF_COLUMNS: &str =
    "id, person_id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids, \
        approval_limits, permission_epoch, active, last_active_at, deactivated_at, deactivation_reason, \
        access_pending";

/// A staff row's roles, parsed when the row is read: an unknown role is an
/// error there, never dropped (the table's CHECK is the second line).
#[derive(Clone, Debug)]
pub struct Roles(pub Vec<StaffRole>);

impl TryFrom<Vec<String>> for Roles {
    type Error = UnknownValue;
    fn try_from(v: Vec<String>) -> Result<Self, UnknownValue> {
        v.into_iter()
            .map(|r| {
                StaffRole::parse(&r).ok_or(UnknownValue {
                    what: "StaffRole",
                    value: r,
                })
            })
            .collect::<Result<_, _>>()
            .map(Roles)
    }
}

/// A staff row's regions, parsed when the row is read.
#[derive(Clone, Debug)]
pub struct Regions(pub Vec<Region>);

impl TryFrom<Vec<String>> for Regions {
    type Error = UnknownValue;
    fn try_from(v: Vec<String>) -> Result<Self, UnknownValue> {
        v.into_iter()
            .map(|r| {
                Region::parse(&r).ok_or(UnknownValue {
                    what: "Region",
                    value: r,
                })
            })
            .collect::<Result<_, _>>()
            .map(Regions)
    }
}

impl StaffRow {
    pub fn roles(&self) -> Vec<StaffRole> {
        self.roles.0.clone()
    }
    pub fn scope(&self) -> Scope {
        Scope {
            all_orgs: self.scope_all,
            regions: self.scope_regions.0.clone(),
            org_ids: self.scope_org_ids.iter().copied().map(OrgId).collect(),
        }
    }
    pub fn limits(&self) -> BTreeMap<String, Option<Money>> {
        self.approval_limits.0.clone()
    }
    pub fn to_api(&self) -> countersign_api::StaffMember {
        countersign_api::StaffMember {
            id: StaffId(self.id),
            issuer: self.issuer.clone(),
            subject: self.subject.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            roles: self.roles(),
            scope: self.scope(),
            approval_limits: self.limits(),
            permission_epoch: self.permission_epoch,
            active: self.active,
            last_active_at: self.last_active_at,
            deactivated_at: self.deactivated_at,
            deactivation_reason: self.deactivation_reason.clone(),
        }
    }
}

static BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"));

/// A staff member's row by id (the id is bound; only the constant column list is spliced, once).
pub async fn staff_by_id<'e>(db: impl sqlx::PgExecutor<'e>, id: uuid::Uuid) -> Result<Option<StaffRow>, sqlx::Error> {
    sqlx::query_as(&BY_ID).bind(id).fetch_optional(db).await
}

/// A staff lookup waiting for its batch.
pub struct Lookup {
    pub issuer: String,
    pub subject: String,
    pub reply: tokio::sync::oneshot::Sender<ApiResult<Option<StaffRow>>>,
}

/// Most identities of a batch, in the benchmarks' load; more wait a turn.
pub const LOOKUPS_PER_BATCH: usize = 64;

/// Staff lookups are batched like the audit log's appends: every request
/// makes one, and one statement over the identities queued meanwhile, on a
/// connection the lookup worker keeps (`db::Held`), replaces a statement,
/// a pool acquisition and the pool's release ping per request. The batch
/// is read after its requests arrived, so a role change committed before a
/// request is what that request sees.
pub async fn lookup_batch(
    pool: PgPool,
    held: std::sync::Arc<tokio::sync::Mutex<crate::kernel::db::Held>>,
    sizes: prometheus::Histogram,
    jobs: Vec<Lookup>,
) {
    sizes.observe(jobs.len() as f64);
    let issuers: Vec<&str> = jobs.iter().map(|j| j.issuer.as_str()).collect();
    let subjects: Vec<&str> = jobs.iter().map(|j| j.subject.as_str()).collect();
    let mut held = held.lock().await;
    // A kept connection can have died meanwhile (a restarted or terminated
    // backend); a read is safe to repeat, so after a dead connection it is
    // tried once more on a fresh one. Nothing else is retried: a database
    // that cannot be reached is refused after one acquire timeout.
    let mut rows = read_lookup(&mut held, &pool, &issuers, &subjects).await;
    if rows.as_ref().is_err_and(crate::kernel::db::is_dead_connection) {
        rows = read_lookup(&mut held, &pool, &issuers, &subjects).await;
    }
    match rows {
        Ok(rows) => {
            for job in jobs {
                let row = rows
                    .iter()
                    .find(|f| f.row.issuer == job.issuer && f.row.subject == job.subject)
                    .map(|f| f.row.clone());
                let _ = job.reply.send(Ok(row));
            }
            let due: Vec<&StaffRow> = rows.iter().filter(|f| f.record_activity).map(|f| &f.row).collect();
            if !due.is_empty() {
                record_activity(&mut held, &pool, &due).await;
            }
        }
        Err(e) => {
            let e = ApiError::from(e);
            for job in jobs {
                let _ = job.reply.send(Err(e.clone()));
            }
        }
    }
}

/// Records that the `due` accounts made a request, after their batch was
/// answered (no request waits for it; the next batch waits for one small
/// UPDATE at most once per account every 5 minutes, see [`DUE`]). Whether an
/// account is due is read with its row, on the database's clock, so a clock
/// apart from the server's cannot make every request write. A row locked by
/// a staff change is skipped, never waited for: the next request records it.
/// A failure only loses this record.
async fn record_activity(held: &mut crate::kernel::db::Held, pool: &PgPool, due: &[&StaffRow]) {
    let issuers: Vec<&str> = due.iter().map(|r| r.issuer.as_str()).collect();
    let subjects: Vec<&str> = due.iter().map(|r| r.subject.as_str()).collect();
    let done = async {
        sqlx::query(&RECORD_ACTIVITY)
            .bind(&issuers)
            .bind(&subjects)
            .execute(held.conn(pool).await?)
            .await
    }
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "recording staff activity");
        held.reset();
    }
}

static RECORD_ACTIVITY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE staff SET last_active_at = now() WHERE id IN (SELECT id FROM staff \
           WHERE (issuer, subject) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND {DUE} \
           FOR UPDATE SKIP LOCKED)"
    )
});

/// An account whose activity is due to be recorded: active, and not
/// recorded in the last 5 minutes. The access review counts in days, so 5
/// minutes of precision cost it nothing, and a busy account costs one UPDATE
/// per 5 minutes instead of one per request.
const DUE: &str = "active AND (last_active_at IS NULL OR last_active_at < now() - interval '300 seconds')";

/// A looked-up row, and whether its activity is due to be recorded.
#[derive(sqlx::FromRow)]
struct Found {
    #[sqlx(flatten)]
    row: StaffRow,
    record_activity: bool,
}

/// One try at a batch's statement on the kept connection, which is handed
/// back after an error (the pool closes it if it is broken).
async fn read_lookup(
    held: &mut crate::kernel::db::Held,
    pool: &PgPool,
    issuers: &[&str],
    subjects: &[&str],
) -> Result<Vec<Found>, sqlx::Error> {
    let rows = async {
        sqlx::query_as::<_, Found>(&LOOKUP)
            .bind(issuers)
            .bind(subjects)
            .fetch_all(held.conn(pool).await?)
            .await
    }
    .await;
    if rows.is_err() {
        held.reset();
    }
    rows
}

/// A batch's statement: the identities are bound as two arrays; only the
/// constant column list is spliced, once.
static LOOKUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {STAFF_COLUMNS}, {DUE} AS record_activity \
         FROM staff WHERE (issuer, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    )
});

/// Just-in-time provisioning: a staff account for (`iss`, `sub`) with no
/// roles, waiting for access, and its `staff.provisioned` audit event (actor:
/// the new account), in one transaction. `None` when the identity has an
/// account already: a concurrent first request made it (the unique
/// (issuer, subject) decides which), and only that one is audited.
pub async fn provision(
    pool: &PgPool,
    new: &Provisioned,
    mut event: crate::audit::store::EventRow,
) -> ApiResult<Option<uuid::Uuid>> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let id: Option<uuid::Uuid> = sqlx::query_scalar(
        "INSERT INTO staff (id, issuer, subject, display_name, email, access_pending) \
         VALUES ($1, $2, $3, $4, $5, true) ON CONFLICT (issuer, subject) DO NOTHING RETURNING id",
    )
    .bind(uuid::Uuid::new_v4())
    .bind(&new.issuer)
    .bind(&new.subject)
    .bind(&new.display_name)
    .bind(&new.email)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        crate::kernel::db::end_read(tx);
        return Ok(None);
    };
    event.target_type = Some("staff".into());
    event.target_id = Some(id.to_string());
    crate::audit::store::append_in(&mut tx, std::slice::from_mut(&mut event)).await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Who a first sign-in provisions (see [`provision`]).
pub struct Provisioned {
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
}

#[derive(sqlx::FromRow)]
pub struct CustomerRow {
    pub user_id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
}

/// The customer account of (iss, sub), if any. Customer users live in a
/// tenant table; this one narrow lookup goes through a SECURITY DEFINER
/// function that returns only the caller's row.
pub async fn customer_identity(pool: &PgPool, iss: &str, sub: &str) -> ApiResult<Option<CustomerRow>> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let found = sqlx::query_as("SELECT user_id, org_id, name, email, role FROM cs_customer_identity($1, $2)")
        .bind(iss)
        .bind(sub)
        .fetch_optional(&mut *tx)
        .await?;
    crate::kernel::db::end_read(tx);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 20, point 3: a staff row's roles and regions parse when it is
    /// read; an unknown value is an error, never silently dropped.
    #[test]
    fn roles_and_regions_parse_or_refuse() {
        let roles = Roles::try_from(vec!["support_agent".to_owned(), "auditor".to_owned()]).unwrap();
        assert_eq!(roles.0, vec![StaffRole::SupportAgent, StaffRole::Auditor]);
        let e = Roles::try_from(vec!["support_agent".to_owned(), "root".to_owned()]).unwrap_err();
        assert_eq!(e.value, "root");
        assert!(Regions::try_from(vec!["EU".to_owned()]).is_ok());
        assert!(Regions::try_from(vec!["MARS".to_owned()]).is_err());
    }
}

//! Deciding in batches (group commit, see `crate::batch`): performance
//! machinery around [`rules::decide`], which judges every decision here,
//! batched or alone.
//!
//! One transaction per caller scope (row-level security reads the scope
//! from the transaction) locks every request and key of the batch, reads
//! them in one statement, judges each decision in turn in memory (a later
//! decision of the batch sees the earlier ones, exactly as if it had waited
//! for their commit) and writes every effect in one statement. Decisions
//! that need more of the database than that (a delegation to look up,
//! executing a bank change or an export) wait for the batch and are decided
//! alone afterwards, as is everything in a batch that fails: one bad
//! decision never costs the others their answer.

use super::policy::ApprovalPolicy;
use super::rules::{self, Facts, OnBehalf, Outcome, Proposal};
use super::store::{self, ApprovalRow, DecisionRow, COLUMNS};
use crate::http::context::AuditCtx;
use crate::http::idempotency;
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::{self, Tx};
use crate::kernel::Principal;
use axum::http::StatusCode;
use countersign_api::*;
use std::sync::LazyLock;
use time::OffsetDateTime;
use uuid::Uuid;

/// A decision waiting for its batch.
pub struct DecideJob {
    pub p: Principal,
    pub audit: AuditCtx,
    pub id: Uuid,
    pub req: DecideApproval,
    pub key: Option<idempotency::Key>,
    pub reply: tokio::sync::oneshot::Sender<ApiResult<(StatusCode, serde_json::Value)>>,
}

impl DecideJob {
    /// Needs what a batch does not read: a delegation looked up, or the
    /// payout hold as of this decision (a bank change decided earlier in the
    /// batch may have lifted it).
    fn needs_alone(&self, row: &ApprovalRow) -> bool {
        self.req.on_behalf_of.is_some()
            || (row.kind == ApprovalKind::PayoutRelease && self.req.decision == Decision::Approve)
    }
}

/// `policy`: the server's approval policy (limits compare in its base currency).
pub async fn decide_batch(
    db: sqlx::PgPool,
    sizes: prometheus::Histogram,
    policy: std::sync::Arc<ApprovalPolicy>,
    jobs: Vec<DecideJob>,
) {
    let mut groups: Vec<Vec<DecideJob>> = Vec::new();
    for job in jobs {
        match groups.iter_mut().find(|g| g[0].p.scope == job.p.scope) {
            Some(g) => g.push(job),
            None => groups.push(vec![job]),
        }
    }
    for jobs in groups {
        if jobs.len() == 1 {
            decide_alone(&db, &sizes, &policy, jobs).await;
            continue;
        }
        match decide_together(&db, &sizes, &policy, &jobs, true).await {
            Ok(outcomes) => {
                let mut later = Vec::new();
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    match outcome {
                        Some(answer) => {
                            let _ = job.reply.send(answer);
                        }
                        None => later.push(job),
                    }
                }
                for job in later {
                    decide_alone(&db, &sizes, &policy, vec![job]).await;
                }
            }
            // No connection to be had: alone, each would wait as long again.
            Err(e) if e.code == ErrorCode::ServiceUnavailable => {
                for job in jobs {
                    let _ = job.reply.send(Err(ApiError::new(e.code, e.detail.clone())));
                }
            }
            Err(_) => {
                for job in jobs {
                    decide_alone(&db, &sizes, &policy, vec![job]).await;
                }
            }
        }
    }
}

async fn decide_alone(db: &sqlx::PgPool, sizes: &prometheus::Histogram, policy: &ApprovalPolicy, jobs: Vec<DecideJob>) {
    let answer = match decide_together(db, sizes, policy, &jobs, false).await {
        Ok(mut outcomes) => outcomes.pop().flatten().unwrap_or_else(|| Err(ApiError::internal())),
        Err(e) => Err(e),
    };
    if let Some(job) = jobs.into_iter().next() {
        let _ = job.reply.send(answer);
    }
}

/// A request as a batch holds it: read once under its lock, then changed in
/// memory by each decision of the batch in turn.
#[derive(sqlx::FromRow)]
struct Held {
    #[sqlx(flatten)]
    row: ApprovalRow,
    region: String,
    decisions: sqlx::types::Json<Vec<DecisionRow>>,
}

/// What a batch writes, in one statement (`DECIDE_WRITE`), and the audit
/// events due once it has committed.
#[derive(Default)]
struct Effects {
    decisions: Vec<DecisionWrite>,
    payments: Vec<PaymentWrite>,
    /// Each request's final status and execution result.
    requests: Vec<(Uuid, ApprovalStatus, Option<serde_json::Value>)>,
    audit: Vec<(AuditCtx, &'static str, serde_json::Value)>,
}

/// An Idempotency-Key with its owner: (issuer, subject, key).
type KeyId = (String, String, String);

struct DecisionWrite {
    id: Uuid,
    org_id: Uuid,
    region: String,
    request_id: Uuid,
    staff: Uuid,
    person: Uuid,
    decision: Decision,
    comment: String,
    version_seen: i32,
    roles: serde_json::Value,
    on_behalf: Option<Uuid>,
}

struct PaymentWrite {
    id: Uuid,
    org_id: Uuid,
    region: String,
    kind: &'static str,
    amount_minor: Option<i64>,
    currency: Option<String>,
    approval_id: Uuid,
    invoice: Option<Uuid>,
    vendor: Option<Uuid>,
}

/// One column of rows, as an array to bind.
fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

impl Effects {
    fn request(&mut self, row: &ApprovalRow) {
        self.requests.retain(|r| r.0 != row.id);
        self.requests
            .push((row.id, row.stored_status, row.execution_result.clone()));
    }
}

struct Batch {
    requests: std::collections::HashMap<Uuid, Held>,
    /// Per job: the answer stored for its Idempotency-Key before the batch.
    stored: Vec<Option<idempotency::Stored>>,
    /// Answers stored by this batch: replayed to a later use of the key in
    /// the batch, and written with the batch.
    answered: std::collections::HashMap<KeyId, idempotency::Stored>,
    now: OffsetDateTime,
    effects: Effects,
}

/// Decides `jobs` (of one scope) in one transaction: `Err` when the
/// transaction failed (nothing was written), else one outcome per job, in
/// order; `None` for a job left to be decided alone, which happens only
/// `together`.
async fn decide_together(
    db: &sqlx::PgPool,
    sizes: &prometheus::Histogram,
    policy: &ApprovalPolicy,
    jobs: &[DecideJob],
    together: bool,
) -> ApiResult<Vec<Option<ApiResult<(StatusCode, serde_json::Value)>>>> {
    let first = jobs.first().ok_or_else(ApiError::internal)?;
    sizes.observe(jobs.len() as f64);
    // Deciders of one request serialize on its lock, taken with BEGIN (in
    // ascending order, so batches cannot deadlock): the read below then sees
    // every decision committed before, together with the request (locked
    // against amend, cancel and expiry too) and the keys' stored answers.
    let locks: Vec<i64> = jobs
        .iter()
        .flat_map(|j| std::iter::once(db::lock_id(j.id)).chain(j.key.as_ref().map(idempotency::Key::lock)))
        .collect();
    let mut tx = db::begin_locked(db, &first.p, &locks).await?;
    let mut batch = read_batch(&mut tx, jobs).await?;
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut left_alone: Vec<Uuid> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        // Decisions on a request keep their order: once one is left for
        // later, so are the ones behind it.
        let alone = together && batch.requests.get(&job.id).is_some_and(|h| job.needs_alone(&h.row));
        if left_alone.contains(&job.id) || alone {
            left_alone.push(job.id);
            outcomes.push(None);
            continue;
        }
        let conn = if together { None } else { Some(&mut *tx) };
        match decide_one(conn, policy, job, i, &mut batch).await {
            Ok(None) => {
                left_alone.push(job.id);
                outcomes.push(None);
            }
            Ok(Some(answer)) => outcomes.push(Some(Ok(answer))),
            Err(e) => outcomes.push(Some(Err(e))),
        }
    }
    let e = batch.effects;
    let k: Vec<(KeyId, idempotency::Stored)> = batch.answered.into_iter().collect();
    if !(e.decisions.is_empty() && e.requests.is_empty() && k.is_empty()) {
        let (d, p, r) = (&e.decisions, &e.payments, &e.requests);
        let stored: i64 = sqlx::query_scalar(&DECIDE_WRITE)
            .bind(column(d, |d| d.id))
            .bind(column(d, |d| d.org_id))
            .bind(column(d, |d| d.region.clone()))
            .bind(column(d, |d| d.request_id))
            .bind(column(d, |d| d.staff))
            .bind(column(d, |d| d.person))
            .bind(column(d, |d| wire(d.decision)))
            .bind(column(d, |d| d.comment.clone()))
            .bind(column(d, |d| d.version_seen))
            .bind(column(d, |d| d.roles.clone()))
            .bind(column(d, |d| d.on_behalf))
            .bind(column(p, |p| p.id))
            .bind(column(p, |p| p.org_id))
            .bind(column(p, |p| p.region.clone()))
            .bind(column(p, |p| p.kind))
            .bind(column(p, |p| p.amount_minor))
            .bind(column(p, |p| p.currency.clone()))
            .bind(column(p, |p| p.approval_id))
            .bind(column(p, |p| p.invoice))
            .bind(column(p, |p| p.vendor))
            .bind(column(r, |r| r.0))
            .bind(column(r, |r| r.1.as_str()))
            .bind(column(r, |r| r.2.clone()))
            .bind(column(&k, |k| k.0 .0.clone()))
            .bind(column(&k, |k| k.0 .1.clone()))
            .bind(column(&k, |k| k.0 .2.clone()))
            .bind(column(&k, |k| k.1 .0.clone()))
            .bind(column(&k, |k| k.1 .1))
            .bind(column(&k, |k| k.1 .2.clone()))
            .fetch_one(&mut *tx)
            .await?;
        idempotency::stored_or_refuse(stored == k.len() as i64)?;
    }
    tx.commit().await?;
    for (audit, action, details) in e.audit {
        audit.follow_up(action, details);
    }
    Ok(outcomes)
}

/// A decision's name as stored.
fn wire(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    }
}

/// Every request of the batch, locked, with its decisions so far; each
/// job's stored answer; the transaction's `now()`.
async fn read_batch(tx: &mut Tx, jobs: &[DecideJob]) -> ApiResult<Batch> {
    #[derive(sqlx::FromRow)]
    struct Read {
        #[sqlx(flatten)]
        held: Held,
        stored_n: Vec<i64>,
        stored_hashes: Vec<Vec<u8>>,
        stored_statuses: Vec<i16>,
        stored_responses: Vec<serde_json::Value>,
        now: OffsetDateTime,
    }
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    let key_part = |f: fn(&DecideJob, &idempotency::Key) -> String| {
        jobs.iter().map(|j| j.key.as_ref().map(|k| f(j, k))).collect::<Vec<_>>()
    };
    let read: Vec<Read> = sqlx::query_as(&DECISION_READ)
        .bind(&ids)
        .bind(key_part(|j, _| j.p.issuer.clone()))
        .bind(key_part(|j, _| j.p.subject.clone()))
        .bind(key_part(|_, k| k.key.clone()))
        .fetch_all(&mut **tx)
        .await?;
    let mut batch = Batch {
        requests: Default::default(),
        stored: vec![None; jobs.len()],
        answered: Default::default(),
        now: OffsetDateTime::now_utc(),
        effects: Effects::default(),
    };
    for (i, r) in read.into_iter().enumerate() {
        // The answers and now() are the same on every row.
        if i == 0 {
            batch.now = r.now;
            let answers = r
                .stored_n
                .iter()
                .zip(r.stored_hashes)
                .zip(r.stored_statuses)
                .zip(r.stored_responses);
            for (((n, h), s), body) in answers {
                if let Some(slot) = usize::try_from(n - 1).ok().and_then(|n| batch.stored.get_mut(n)) {
                    *slot = Some((h, s, body));
                }
            }
        }
        batch.requests.insert(r.held.row.id, r.held);
    }
    Ok(batch)
}

/// Judges one decision against the request as the batch holds it
/// ([`rules::decide`]) and records its effects: the answer, or `None` when
/// it needs the database (`conn`) and has none, in which case nothing was
/// changed.
async fn decide_one(
    mut conn: Option<&mut sqlx::PgConnection>,
    policy: &ApprovalPolicy,
    job: &DecideJob,
    i: usize,
    b: &mut Batch,
) -> ApiResult<Option<(StatusCode, serde_json::Value)>> {
    let (p, id, req) = (&job.p, job.id, &job.req);
    let held = b.requests.get_mut(&id).ok_or_else(ApiError::not_found)?;
    let key_id = job
        .key
        .as_ref()
        .map(|k| (p.issuer.clone(), p.subject.clone(), k.key.clone()));
    if let (Some(k), Some(key_id)) = (&job.key, &key_id) {
        let stored = b
            .answered
            .get(key_id)
            .cloned()
            .or_else(|| b.stored.get(i).cloned().flatten());
        if let Some(answer) = k.answer(stored)? {
            return Ok(Some(answer));
        }
    }
    job.audit.target("approval", id, Some(held.row.org_id));
    let found = match (req.on_behalf_of, conn.as_deref_mut()) {
        (None, _) => None,
        (Some(_), None) => return Ok(None),
        (Some(d), Some(c)) => Some(store::active_delegator(c, d.0, p.staff_id.map(|s| s.0)).await?),
    };
    let on_behalf = match &found {
        None => OnBehalf::No,
        Some(None) => OnBehalf::NoDelegation,
        Some(Some(d)) => OnBehalf::Of(d),
    };
    let delegator = found.as_ref().and_then(Option::as_ref);
    let decider = store::decider(p, &held.row, policy)
        .ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "Only staff take part in approvals."))?;
    let facts = Facts {
        on_behalf,
        payout_hold: held.row.payout_held,
        now: b.now,
    };
    let given: Vec<rules::Given> = held.decisions.iter().map(DecisionRow::given).collect();
    let proposal = Proposal {
        decision: req.decision,
        version: req.version,
    };
    let outcome = match rules::decide(&held.row.request(policy)?, &given, &decider, proposal, &facts) {
        Ok(outcome) => outcome,
        Err(refusal) => {
            // An expired request still marked pending is marked now.
            if refusal.code == ErrorCode::RequestExpired && held.row.stored_status == ApprovalStatus::Pending {
                held.row.stored_status = ApprovalStatus::Expired;
                b.effects.request(&held.row);
                b.effects.audit.push((
                    job.audit.clone(),
                    "approval.expired",
                    serde_json::json!({ "approval_id": id }),
                ));
            }
            return Err(refusal.into());
        }
    };
    let roles = rules::counted_roles(&decider, &facts).to_vec();
    let staff_id = p.staff_id.map(|s| s.0).ok_or_else(ApiError::internal)?;
    let row = &mut held.row;
    let result = match outcome {
        Outcome::Rejected => {
            row.stored_status = ApprovalStatus::Rejected;
            None
        }
        Outcome::Counted => None,
        Outcome::Approved => {
            let result = match (payment_of(row, &held.region), conn) {
                (Some(payment), _) => {
                    let result = serde_json::json!({ "payment_id": payment.id });
                    b.effects.payments.push(payment);
                    result
                }
                (None, None) => return Ok(None),
                (None, Some(c)) => store::execute(c, row).await?,
            };
            b.effects.audit.push((
                job.audit.clone(),
                "approval.executed",
                serde_json::json!({ "approval_id": id, "kind": row.kind.as_str(), "result": result }),
            ));
            row.stored_status = ApprovalStatus::Executed;
            Some(result)
        }
    };
    if result.is_some() {
        row.execution_result = result;
    }
    held.decisions.push(DecisionRow {
        approver_staff_id: staff_id,
        approver_name: p.display_name.clone(),
        on_behalf_of_staff_id: delegator.map(|d| d.staff_id),
        decision: req.decision,
        comment: req.comment.clone(),
        version_seen: row.version,
        // now(): the transaction's start, which the insert stores too.
        created_at: b.now,
        approver_person_id: decider.person,
        on_behalf_person_id: delegator.map(|d| d.person),
        approver_roles: roles,
    });
    let body = serde_json::to_value(store::to_api(row, held.decisions.iter(), p, policy)?)
        .map_err(|_| ApiError::internal())?;
    let d = held.decisions.last().ok_or_else(ApiError::internal)?;
    b.effects.decisions.push(DecisionWrite {
        id: Uuid::new_v4(),
        org_id: row.org_id,
        region: held.region.clone(),
        request_id: id,
        staff: staff_id,
        person: decider.person,
        decision: d.decision,
        comment: d.comment.clone(),
        version_seen: row.version,
        roles: serde_json::to_value(&d.approver_roles).map_err(|_| ApiError::internal())?,
        on_behalf: d.on_behalf_of_staff_id,
    });
    if row.stored_status != ApprovalStatus::Pending {
        b.effects.request(row);
    }
    if let (Some(k), Some(key_id)) = (&job.key, key_id) {
        b.answered
            .insert(key_id, (k.hash.clone(), StatusCode::OK.as_u16() as i16, body.clone()));
    }
    Ok(Some((StatusCode::OK, body)))
}

/// The effect of an approved refund, credit note or payout: a payment,
/// written with the decision. `None` for kinds whose effect needs the
/// database (`store::execute`).
fn payment_of(row: &ApprovalRow, region: &str) -> Option<PaymentWrite> {
    let (pkind, invoice, vendor) = match row.kind {
        ApprovalKind::Refund => ("refund", Some(row.target_id), None),
        ApprovalKind::CreditNote => ("credit_note", Some(row.target_id), None),
        ApprovalKind::PayoutRelease => ("payout", None, Some(row.target_id)),
        ApprovalKind::VendorBankChange | ApprovalKind::DataExport => return None,
    };
    Some(PaymentWrite {
        id: Uuid::new_v4(),
        org_id: row.org_id,
        region: region.to_owned(),
        kind: pkind,
        amount_minor: row.amount_minor,
        currency: row.currency.clone(),
        approval_id: row.id,
        invoice,
        vendor,
    })
}

/// What a batch of decisions writes, as one statement over arrays (one
/// element per row): the decisions, the payments, the requests' new status
/// and the answers to the Idempotency-Keys. Returns how many answers were
/// stored. Built once, from constant text only.
static DECIDE_WRITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH decision AS ( \
           INSERT INTO approval_decisions (id, org_id, region, request_id, approver_staff_id, approver_person_id, \
             decision, comment, version_seen, approver_roles, on_behalf_of_staff_id) \
           SELECT id, org_id, region, request_id, staff, person, decision, comment, version_seen, \
             ARRAY(SELECT jsonb_array_elements_text(roles)), on_behalf \
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], \
             $8::text[], $9::int[], $10::jsonb[], $11::uuid[]) \
             AS x (id, org_id, region, request_id, staff, person, decision, comment, version_seen, roles, on_behalf)), \
         payment AS ( \
           INSERT INTO payments (id, org_id, region, kind, amount_minor, currency, approval_id, invoice_id, vendor_id) \
           SELECT * FROM unnest($12::uuid[], $13::uuid[], $14::text[], $15::text[], $16::bigint[], $17::text[], \
             $18::uuid[], $19::uuid[], $20::uuid[])), \
         request AS ( \
           UPDATE approval_requests r SET status = x.status, execution_result = x.result, \
             executed_at = CASE WHEN x.status = 'executed' THEN now() END, updated_at = now() \
           FROM unnest($21::uuid[], $22::text[], $23::jsonb[]) AS x (id, status, result) WHERE r.id = x.id), \
         stored AS ({}) \
         SELECT count(*) FROM stored",
        idempotency::store_all_sql(24)
    )
});

/// What deciding reads, with the requests' locks held: each request with
/// every decision so far, and on every row the answers stored for the
/// batch's keys (by the key's 1-based position) and the transaction's
/// `now()`. A key can only have answered for a request that exists, so the
/// requests drive the statement. Built once, from constant text only.
static DECISION_READ: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH stored AS ({}) \
         SELECT {COLUMNS}, region, {} AS decisions, stored.*, now() AS now \
         FROM approval_requests, stored WHERE id = ANY($1) FOR UPDATE OF approval_requests",
        idempotency::stored_all_sql(2),
        store::decisions_json("approval_requests.id"),
    )
});

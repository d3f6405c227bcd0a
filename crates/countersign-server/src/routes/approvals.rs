//! Approvals (API.md "Approvals"; DESIGN.md invariant 3). Every check is
//! made inside the request's transaction with the approval row locked, so
//! concurrent decisions serialize and the approved action executes exactly
//! once, in the transaction that records the last approval.

use crate::approval_policy::ApprovalPolicy;
use crate::audit::AuditCtx;
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json as Body, Path, Query};
use crate::idempotency::{self, respond};
use crate::masking;
use crate::principal::Principal;
use crate::routes::records::{
    InvoiceRow, PaymentRow, UserRow, VendorRow, INVOICE_COLUMNS, PAYMENT_COLUMNS, USER_COLUMNS, VENDOR_SELECT,
};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_api::*;
use serde::Deserialize;
use std::sync::LazyLock;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

// ---------- rows ----------

#[derive(sqlx::FromRow)]
struct ApprovalRow {
    id: Uuid,
    org_id: Uuid,
    kind: String,
    target_id: Uuid,
    amount_minor: Option<i64>,
    currency: Option<String>,
    base_currency: Option<String>,
    exchange_rate: Option<String>,
    amount_base_minor: Option<i64>,
    payload: serde_json::Value,
    reason: String,
    status: String,
    version: i32,
    requester_staff_id: Uuid,
    requester_person_id: Uuid,
    policy_version: String,
    required: serde_json::Value,
    expires_at: OffsetDateTime,
    created_at: OffsetDateTime,
    execution_result: Option<serde_json::Value>,
}

const COLUMNS: &str = "id, org_id, kind, target_id, amount_minor, currency, base_currency, exchange_rate::text AS exchange_rate, amount_base_minor, payload, reason, status, version, requester_staff_id, requester_person_id, \
     policy_version, required, expires_at, created_at, execution_result";

impl ApprovalRow {
    fn kind(&self) -> ApiResult<ApprovalKind> {
        ApprovalKind::parse(&self.kind).ok_or_else(ApiError::internal)
    }
    /// Pending past its expiry reads as expired even before the sweeper ran.
    fn status(&self) -> ApprovalStatus {
        let s = ApprovalStatus::parse(&self.status).unwrap_or(ApprovalStatus::Expired);
        if s == ApprovalStatus::Pending && self.expires_at <= OffsetDateTime::now_utc() {
            ApprovalStatus::Expired
        } else {
            s
        }
    }
    fn rules(&self) -> Vec<Rule> {
        serde_json::from_value(self.required.clone()).unwrap_or_default()
    }
    fn amount(&self) -> Option<Money> {
        match (self.amount_minor, &self.currency) {
            (Some(a), Some(c)) => Currency::parse(c).ok().map(|c| Money::new(a, c)),
            _ => None,
        }
    }
    /// The amount in the base currency as recorded.
    fn recorded_base(&self) -> Option<Money> {
        match (self.amount_base_minor, &self.base_currency) {
            (Some(a), Some(c)) => Currency::parse(c).ok().map(|c| Money::new(a, c)),
            _ => None,
        }
    }
    /// What thresholds and limits compare: the recorded base amount, or for
    /// a request from before rates were recorded, today's conversion; never
    /// the raw amount of another currency.
    fn amount_base(&self, policy: &ApprovalPolicy) -> ApiResult<Option<Money>> {
        match (self.recorded_base(), self.amount()) {
            (Some(b), _) => Ok(Some(b)),
            (None, Some(m)) => policy.to_base(m).map(|b| Some(b.base)).map_err(ApiError::invalid),
            (None, None) => Ok(None),
        }
    }
}

#[derive(sqlx::FromRow, Deserialize)]
struct DecisionRow {
    approver_staff_id: Uuid,
    approver_name: String,
    on_behalf_of_staff_id: Option<Uuid>,
    decision: String,
    comment: String,
    version_seen: i32,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

async fn load(tx: &mut Tx, id: Uuid, lock: bool) -> ApiResult<ApprovalRow> {
    let sql = format!(
        "SELECT {COLUMNS} FROM approval_requests WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn decisions(tx: &mut Tx, id: Uuid) -> ApiResult<Vec<DecisionRow>> {
    Ok(sqlx::query_as(
        "SELECT d.approver_staff_id, s.display_name AS approver_name, d.on_behalf_of_staff_id, d.decision, d.comment, d.version_seen, d.created_at \
         FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id WHERE d.request_id = $1 ORDER BY d.created_at, d.id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?)
}

/// A decision with what deciding needs besides its wire form: whose it is
/// (for "one decision per person per version", counting decisions made on a
/// person's behalf as theirs) and the roles it brought to the rules.
#[derive(Deserialize)]
struct DecisionFacts {
    #[serde(flatten)]
    row: DecisionRow,
    approver_person_id: Uuid,
    on_behalf_person_id: Option<Uuid>,
    approver_roles: Vec<String>,
}

/// The wire form; the payload is masked for every caller (a new IBAN is
/// revealed, if at all, through the vendor once executed).
fn to_api<'a>(row: &ApprovalRow, ds: impl IntoIterator<Item = &'a DecisionRow>, p: &Principal) -> ApiResult<Approval> {
    let mut payload = row.payload.clone();
    if let Some(iban) = payload.get("iban").and_then(|v| v.as_str()).map(str::to_owned) {
        payload["iban"] = serde_json::to_value(Masked {
            masked: masking::iban(&iban),
            field: "iban".into(),
            revealable: false,
        })
        .map_err(|_| ApiError::internal())?;
    }
    let _ = p;
    Ok(Approval {
        id: ApprovalId(row.id),
        kind: row.kind()?,
        org_id: OrgId(row.org_id),
        target_id: row.target_id,
        amount: row.amount(),
        amount_base: row.recorded_base(),
        exchange_rate: row.exchange_rate.clone(),
        payload,
        reason: row.reason.clone(),
        status: row.status(),
        version: row.version,
        requester_id: StaffId(row.requester_staff_id),
        policy_version: row.policy_version.clone(),
        required: row.rules(),
        decisions: ds
            .into_iter()
            .map(|d| DecisionRecord {
                approver_id: StaffId(d.approver_staff_id),
                approver_name: d.approver_name.clone(),
                on_behalf_of: d.on_behalf_of_staff_id.map(StaffId),
                decision: if d.decision == "approve" {
                    Decision::Approve
                } else {
                    Decision::Reject
                },
                comment: d.comment.clone(),
                version_seen: d.version_seen,
                current: d.version_seen == row.version,
                at: d.created_at,
            })
            .collect(),
        expires_at: row.expires_at,
        created_at: row.created_at,
        execution_result: row.execution_result.clone(),
    })
}

fn staff_only(p: &Principal) -> ApiResult<Uuid> {
    match (p.kind, p.person_id) {
        (ActorKind::Staff, Some(person)) => Ok(person),
        _ => Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only staff take part in approvals.",
        )),
    }
}

// ---------- validation ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BankChange {
    iban: String,
    bank_name: String,
    account_holder: String,
}

/// Checks amount and payload for the kind; returns the payload to store.
fn validate(kind: ApprovalKind, amount: &Option<Money>, payload: &serde_json::Value) -> ApiResult<serde_json::Value> {
    match (kind.has_amount(), amount) {
        (true, None) => return Err(ApiError::invalid(format!("A {} needs an amount.", kind.as_str()))),
        (true, Some(m)) if m.amount_minor <= 0 => {
            return Err(ApiError::invalid("The amount must be greater than zero."))
        }
        (false, Some(_)) => return Err(ApiError::invalid(format!("A {} has no amount.", kind.as_str()))),
        _ => {}
    }
    if kind == ApprovalKind::VendorBankChange {
        let b: BankChange =
            serde_json::from_value(payload.clone()).map_err(|e| ApiError::invalid(format!("payload: {e}")))?;
        use iban::IbanLike;
        let iban: iban::Iban = b
            .iban
            .parse()
            .map_err(|_| ApiError::invalid("payload.iban is not a valid IBAN."))?;
        if b.bank_name.trim().is_empty()
            || b.account_holder.trim().is_empty()
            || b.bank_name.len() > 200
            || b.account_holder.len() > 200
        {
            return Err(ApiError::invalid(
                "payload.bank_name and payload.account_holder are required (at most 200 characters).",
            ));
        }
        return Ok(
            serde_json::json!({ "iban": iban.electronic_str(), "bank_name": b.bank_name.trim(), "account_holder": b.account_holder.trim() }),
        );
    }
    match payload {
        serde_json::Value::Null => Ok(serde_json::json!({})),
        serde_json::Value::Object(m) if m.is_empty() => Ok(serde_json::json!({})),
        _ => Err(ApiError::invalid(format!("A {} takes no payload.", kind.as_str()))),
    }
}

/// The target must exist in the org (and, for money, match its currency).
async fn check_target(
    tx: &mut Tx,
    kind: ApprovalKind,
    org_id: Uuid,
    target: Uuid,
    amount: &Option<Money>,
) -> ApiResult<()> {
    match kind {
        ApprovalKind::Refund | ApprovalKind::CreditNote => {
            let inv: Option<(i64, String)> =
                sqlx::query_as("SELECT amount_minor, currency FROM invoices WHERE id = $1 AND org_id = $2")
                    .bind(target)
                    .bind(org_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let (total, currency) = inv.ok_or_else(ApiError::not_found)?;
            if let Some(m) = amount {
                if m.currency.code() != currency {
                    return Err(ApiError::invalid(format!("The invoice is in {currency}.")));
                }
                if m.amount_minor > total {
                    return Err(ApiError::invalid("The amount exceeds the invoice total."));
                }
            }
        }
        ApprovalKind::VendorBankChange | ApprovalKind::PayoutRelease => {
            let v: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM vendors WHERE id = $1 AND org_id = $2")
                .bind(target)
                .bind(org_id)
                .fetch_optional(&mut **tx)
                .await?;
            v.ok_or_else(ApiError::not_found)?;
        }
        ApprovalKind::DataExport => {
            if target != org_id {
                return Err(ApiError::invalid(
                    "A data_export targets its org: target_id must equal org_id.",
                ));
            }
        }
    }
    Ok(())
}

/// While a bank change for the vendor is pending, no payout leaves for it.
async fn payout_hold(conn: &mut sqlx::PgConnection, vendor: Uuid) -> ApiResult<()> {
    let held: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM approval_requests WHERE kind = 'vendor_bank_change' AND target_id = $1 AND status = 'pending' AND expires_at > now()")
        .bind(vendor)
        .fetch_optional(&mut *conn)
        .await?;
    match held {
        Some(_) => Err(ApiError::new(
            ErrorCode::PayoutHold,
            "A bank account change for this vendor is pending; payouts are on hold until it is decided.",
        )),
        None => Ok(()),
    }
}

// ---------- create ----------

#[utoipa::path(post, path = "/v1/approvals", request_body = CreateApproval, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Approval), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Body(req): Body<CreateApproval>,
) -> ApiResult<Response> {
    let person = staff_only(&p)?;
    p.require(Permission::ApprovalsRequest)?;
    let reason = Reason::parse(&req.reason).map_err(|e| ApiError::new(ErrorCode::ReasonRequired, format!("{e}.")))?;
    audit.reason(reason.as_str());
    audit.detail("kind", serde_json::json!(req.kind.as_str()));
    let payload = validate(req.kind, &req.amount, &req.payload)?;
    let key = idempotency::from_headers(&headers, &p, "POST /v1/approvals", &req)?;
    let mut tx = match idempotency::begin(&s.db, &p, key.as_ref()).await? {
        idempotency::Begun::Replay(r) => return Ok(r),
        idempotency::Begun::Act(tx) => tx,
    };
    let org = req.org_id.0;
    let region: Option<(String,)> = sqlx::query_as("SELECT region FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
    let (region,) = region.ok_or_else(ApiError::not_found)?;
    check_target(&mut tx, req.kind, org, req.target_id, &req.amount).await?;
    if req.kind == ApprovalKind::PayoutRelease {
        payout_hold(&mut tx, req.target_id).await?;
    }
    let policy = &s.config.approval_policy;
    let base = req
        .amount
        .map(|m| policy.to_base(m))
        .transpose()
        .map_err(ApiError::invalid)?;
    let rule = policy.rule(req.kind, base.as_ref().map(|b| b.base.amount_minor));
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO approval_requests (id, org_id, region, kind, target_id, amount_minor, currency, payload, reason, status, requester_staff_id, requester_person_id, policy_version, required, expires_at, \
           base_currency, exchange_rate, amount_base_minor) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13, $14, $15, $16::numeric, $17)",
    )
    .bind(id)
    .bind(org)
    .bind(&region)
    .bind(req.kind.as_str())
    .bind(req.target_id)
    .bind(req.amount.map(|m| m.amount_minor))
    .bind(req.amount.map(|m| m.currency.code()))
    .bind(&payload)
    .bind(reason.as_str())
    .bind(p.staff_id.map(|s| s.0))
    .bind(person)
    .bind(&policy.version)
    .bind(serde_json::json!([rule]))
    .bind(OffsetDateTime::now_utc() + Duration::hours(policy.expires_after_hours))
    .bind(base.as_ref().map(|b| b.base.currency.code()))
    .bind(base.as_ref().map(|b| b.rate.clone()))
    .bind(base.as_ref().map(|b| b.base.amount_minor))
    .execute(&mut *tx)
    .await;
    if let Err(sqlx::Error::Database(e)) = &inserted {
        if e.constraint() == Some("approval_requests_one_bank_change") {
            return Err(ApiError::new(
                ErrorCode::NotPending,
                "A bank account change for this vendor is already pending.",
            ));
        }
    }
    inserted?;
    let row = load(&mut tx, id, false).await?;
    audit.target("approval", id, Some(org));
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::CREATED, &to_api(&row, &[], &p)?).await
}

// ---------- read ----------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub status: Option<ApprovalStatus>,
    pub kind: Option<ApprovalKind>,
    pub org_id: Option<Uuid>,
    /// `requested` (mine) or `to_decide` (waiting for me).
    pub mine: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/approvals", params(ListParams), responses((status = 200, body = Page<Approval>)), security(("bearer" = [])), tag = "approvals")]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Page<Approval>>> {
    let person = staff_only(&p)?;
    if !(p.can(Permission::ApprovalsRequest) || p.can(Permission::ApprovalsDecide) || p.can(Permission::AuditExport)) {
        return Err(ApiError::forbidden(Permission::ApprovalsDecide));
    }
    let limit = match q.limit.unwrap_or(LIMIT_DEFAULT) {
        n @ LIMIT_MIN..=LIMIT_MAX => n as i64,
        _ => {
            return Err(ApiError::invalid(format!(
                "limit must be between {LIMIT_MIN} and {LIMIT_MAX}."
            )))
        }
    };
    let before: Option<(OffsetDateTime, Uuid)> = match &q.cursor {
        None => None,
        Some(c) => {
            let (t, id) = c
                .split_once('_')
                .ok_or_else(|| ApiError::invalid("The cursor is not valid."))?;
            let t = t
                .parse::<i128>()
                .ok()
                .and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok());
            Some((
                t.ok_or_else(|| ApiError::invalid("The cursor is not valid."))?,
                id.parse().map_err(|_| ApiError::invalid("The cursor is not valid."))?,
            ))
        }
    };
    let (requested, to_decide) = match q.mine.as_deref() {
        None => (false, false),
        Some("requested") => (true, false),
        Some("to_decide") => (false, true),
        Some(_) => return Err(ApiError::invalid("mine must be requested or to_decide.")),
    };
    // What the caller could decide: kinds by permission.
    let decidable: Vec<&str> = ApprovalKind::ALL
        .iter()
        .filter(|k| p.can(ApprovalPolicy::permission(**k)))
        .map(|k| k.as_str())
        .collect();
    // The displayed status of a pending request past expiry is "expired".
    let status_filter = q.status.map(|s| s.as_str());
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<ApprovalRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM approval_requests r WHERE \
           ($1::text IS NULL OR (CASE WHEN status = 'pending' AND expires_at <= now() THEN 'expired' ELSE status END) = $1) \
           AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR org_id = $3) \
           AND (NOT $4 OR requester_person_id = $6) \
           AND (NOT $5 OR (status = 'pending' AND expires_at > now() AND requester_person_id <> $6 AND kind = ANY($7) \
                AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = r.id AND d.version_seen = r.version AND d.approver_person_id = $6))) \
           AND {} \
         ORDER BY created_at DESC, id DESC LIMIT $10",
        db::page_start(before.is_some(), "(created_at, id) <", 8, &["timestamptz", "uuid"])
    ))
    .bind(status_filter)
    .bind(q.kind.map(|k| k.as_str()))
    .bind(q.org_id)
    .bind(requested)
    .bind(to_decide)
    .bind(person)
    .bind(&decidable)
    .bind(before.map(|b| b.0))
    .bind(before.map(|b| b.1))
    .bind(limit + 1)
    .fetch_all(&mut *tx)
    .await?;
    let more = rows.len() as i64 > limit;
    let mut items = Vec::new();
    for r in rows.iter().take(limit as usize) {
        let ds = decisions(&mut tx, r.id).await?;
        items.push(to_api(r, &ds, &p)?);
    }
    tx.commit().await?;
    let next_cursor = if more {
        items
            .last()
            .map(|a| format!("{}_{}", a.created_at.unix_timestamp_nanos(), a.id))
    } else {
        None
    };
    Ok(Json(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/v1/approvals/{approval_id}", params(("approval_id" = Uuid, Path)), responses((status = 200, body = Approval), (status = 404, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Approval>> {
    staff_only(&p)?;
    audit.target("approval", id, None);
    may_see_approvals(&p)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let row = load(&mut tx, id, false).await?;
    let ds = decisions(&mut tx, id).await?;
    tx.commit().await?;
    audit.target("approval", id, Some(row.org_id));
    Ok(Json(to_api(&row, &ds, &p)?))
}

/// Who may see approval requests at all (then only those in their scope).
/// Every route with a request's id checks it before the lookup, so a caller
/// who may not see requests learns nothing from an id (no existence oracle).
fn may_see_approvals(p: &Principal) -> ApiResult<()> {
    if [
        Permission::ApprovalsRequest,
        Permission::ApprovalsDecide,
        Permission::AuditExport,
        Permission::AuditRead,
    ]
    .into_iter()
    .any(|x| p.can(x))
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(Permission::ApprovalsDecide))
    }
}

// ---------- decide ----------

/// Marks a request expired (committed even though the caller gets an error).
async fn expire(mut tx: Tx, row: &ApprovalRow, audit: &AuditCtx) -> ApiError {
    let done = sqlx::query(
        "UPDATE approval_requests SET status = 'expired', updated_at = now() WHERE id = $1 AND status = 'pending'",
    )
    .bind(row.id)
    .execute(&mut *tx)
    .await;
    if done.is_ok() && tx.commit().await.is_ok() {
        audit.follow_up("approval.expired", serde_json::json!({ "approval_id": row.id }));
    }
    ApiError::new(ErrorCode::RequestExpired, "The request has expired.")
}

fn not_pending(status: ApprovalStatus) -> ApiError {
    match status {
        ApprovalStatus::Expired => ApiError::new(ErrorCode::RequestExpired, "The request has expired."),
        s => ApiError::new(ErrorCode::NotPending, format!("The request is {}.", s.as_str())),
    }
}

#[utoipa::path(post, path = "/v1/approvals/{approval_id}/decisions", params(("approval_id" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)), request_body = DecideApproval,
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn decide(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Body(req): Body<DecideApproval>,
) -> ApiResult<Response> {
    audit.target("approval", id, None);
    let person = staff_only(&p)?;
    may_see_approvals(&p)?;
    audit.detail(
        "decision",
        serde_json::json!(if req.decision == Decision::Approve {
            "approve"
        } else {
            "reject"
        }),
    );
    if req.comment.chars().count() > 2_000 || req.comment.contains('\0') {
        return Err(ApiError::invalid("comment: at most 2,000 characters, no NUL."));
    }
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/approvals/{id}/decisions"), &req)?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    s.decisions
        .submit(DecideJob {
            p,
            audit,
            id,
            req,
            key,
            person,
            state: s.clone(),
            reply,
        })
        .await
        .map_err(|_| ApiError::internal())?;
    let (status, body) = answer.await.map_err(|_| ApiError::internal())??;
    Ok(respond(status, body))
}

/// A decision waiting for its batch (`decide_batch`).
pub struct DecideJob {
    p: Principal,
    audit: AuditCtx,
    id: Uuid,
    req: DecideApproval,
    key: Option<idempotency::Key>,
    person: Uuid,
    /// The server's state (an Arc): its approval policy's currencies, for limits.
    state: AppState,
    reply: tokio::sync::oneshot::Sender<ApiResult<(StatusCode, serde_json::Value)>>,
}

/// Decides queued decisions together (group commit, see `crate::batch`):
/// one transaction per caller scope (row-level security reads the scope from
/// the transaction), which locks every request and key of the batch, reads
/// them in one statement, judges each decision in turn in memory (a later
/// decision of the batch sees the earlier ones, exactly as if it had waited
/// for their commit) and writes every effect in one statement. Decisions
/// that need more of the database than that (a delegation, a payout hold,
/// executing a bank change or an export) wait for the batch and are decided
/// alone afterwards, as is everything in a batch that fails: one bad
/// decision never costs the others their answer.
pub async fn decide_batch(db: sqlx::PgPool, sizes: prometheus::Histogram, jobs: Vec<DecideJob>) {
    let mut groups: Vec<Vec<DecideJob>> = Vec::new();
    for job in jobs {
        match groups.iter_mut().find(|g| g[0].p.scope == job.p.scope) {
            Some(g) => g.push(job),
            None => groups.push(vec![job]),
        }
    }
    for jobs in groups {
        if jobs.len() == 1 {
            decide_alone(&db, &sizes, jobs).await;
            continue;
        }
        match decide_together(&db, &sizes, &jobs, true).await {
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
                    decide_alone(&db, &sizes, vec![job]).await;
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
                    decide_alone(&db, &sizes, vec![job]).await;
                }
            }
        }
    }
}

async fn decide_alone(db: &sqlx::PgPool, sizes: &prometheus::Histogram, jobs: Vec<DecideJob>) {
    let answer = match decide_together(db, sizes, &jobs, false).await {
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
    facts: sqlx::types::Json<Vec<DecisionFacts>>,
}

/// What a batch writes, in one statement (`DECIDE_WRITE`), and the audit
/// events due once it has committed.
#[derive(Default)]
struct Effects {
    decisions: Vec<DecisionWrite>,
    payments: Vec<PaymentWrite>,
    /// Each request's final status and execution result.
    requests: Vec<(Uuid, String, Option<serde_json::Value>)>,
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
    decision: String,
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
            .push((row.id, row.status.clone(), row.execution_result.clone()));
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
        if left_alone.contains(&job.id) {
            outcomes.push(None);
            continue;
        }
        let conn = if together { None } else { Some(&mut *tx) };
        match decide_one(conn, job, i, &mut batch).await {
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
            .bind(column(d, |d| d.decision.clone()))
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
            .bind(column(r, |r| r.1.clone()))
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

/// Judges one decision against the request as the batch holds it, and
/// records its effects: the answer, or `None` when it needs the database
/// (`conn`) and has none, in which case nothing was changed.
async fn decide_one(
    mut conn: Option<&mut sqlx::PgConnection>,
    job: &DecideJob,
    i: usize,
    b: &mut Batch,
) -> ApiResult<Option<(StatusCode, serde_json::Value)>> {
    let (p, id, req, person) = (&job.p, job.id, &job.req, job.person);
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
    let row = &mut held.row;
    job.audit.target("approval", id, Some(row.org_id));
    let kind = row.kind()?;
    match row.status() {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired if row.status == "pending" => {
            row.status = "expired".into();
            b.effects.request(row);
            b.effects.audit.push((
                job.audit.clone(),
                "approval.expired",
                serde_json::json!({ "approval_id": id }),
            ));
            return Err(not_pending(ApprovalStatus::Expired));
        }
        other => return Err(not_pending(other)),
    }
    // Deciding for a delegator: their roles count toward the rule; the
    // delegate's own permission, limits and separation of duties still apply.
    let delegator = match (req.on_behalf_of, conn.as_deref_mut()) {
        (None, _) => None,
        (Some(_), None) => return Ok(None),
        (Some(d), Some(c)) => Some(active_delegator(c, d.0, p.staff_id.map(|s| s.0)).await?),
    };
    if row.requester_person_id == person
        || delegator
            .as_ref()
            .is_some_and(|d| d.person_id == row.requester_person_id)
    {
        return Err(ApiError::new(
            ErrorCode::SelfApprovalForbidden,
            "Nobody decides their own request.",
        ));
    }
    p.require(ApprovalPolicy::permission(kind))?;
    if req.version != row.version {
        return Err(ApiError::new(
            ErrorCode::StaleVersion,
            format!("The request changed: it is at version {}.", row.version),
        ));
    }
    let persons: Vec<Uuid> = std::iter::once(person)
        .chain(delegator.as_ref().map(|d| d.person_id))
        .collect();
    let mine = |f: &DecisionFacts| {
        persons.contains(&f.approver_person_id) || f.on_behalf_person_id.is_some_and(|b| persons.contains(&b))
    };
    if held.facts.iter().any(|f| f.row.version_seen == row.version && mine(f)) {
        return Err(ApiError::new(
            ErrorCode::AlreadyDecided,
            "You have already decided this version of the request.",
        ));
    }
    if req.decision == Decision::Approve {
        // Both sides in the base currency: a limit of 10,000.00 EUR does not
        // cover 9,999.99 GBP (API.md, Approvals).
        if let (Some(amount), Some(Some(limit))) = (
            row.amount_base(&job.state.config.approval_policy)?,
            p.approval_limits.get(kind.as_str()),
        ) {
            let over = |why: String| ApiError::new(ErrorCode::ApprovalLimitExceeded, why);
            let limit_base = job
                .state
                .config
                .approval_policy
                .to_base(*limit)
                .map_err(|_| {
                    over(format!(
                        "Your approval limit for {} is in {}, which has no exchange rate.",
                        kind.as_str(),
                        limit.currency.code()
                    ))
                })?
                .base;
            if amount.amount_minor > limit_base.amount_minor {
                return Err(over(format!(
                    "This is {} in the base currency; your approval limit for {} is {}.",
                    amount.display(),
                    kind.as_str(),
                    limit.display()
                )));
            }
        }
        if kind == ApprovalKind::PayoutRelease {
            match conn.as_deref_mut() {
                None => return Ok(None),
                Some(c) => payout_hold(c, row.target_id).await?,
            }
        }
    }
    let staff_id = p.staff_id.map(|s| s.0).ok_or_else(ApiError::internal)?;
    let decision = DecisionFacts {
        row: DecisionRow {
            approver_staff_id: staff_id,
            approver_name: p.display_name.clone(),
            on_behalf_of_staff_id: delegator.as_ref().map(|d| d.staff_id),
            decision: if req.decision == Decision::Approve {
                "approve"
            } else {
                "reject"
            }
            .to_owned(),
            comment: req.comment.clone(),
            version_seen: row.version,
            // now(): the transaction's start, which the insert stores too.
            created_at: b.now,
        },
        approver_person_id: person,
        on_behalf_person_id: delegator.as_ref().map(|d| d.person_id),
        approver_roles: delegator.as_ref().map(|d| &d.roles).unwrap_or(&p.roles).clone(),
    };
    held.facts.push(decision);

    // The request as this decision leaves it.
    if req.decision == Decision::Reject {
        row.status = "rejected".into();
    } else if rules_met(row, &held.facts) {
        let result = match (payment_of(row, &held.region, kind), conn) {
            (Some(payment), _) => {
                let result = serde_json::json!({ "payment_id": payment.id });
                b.effects.payments.push(payment);
                result
            }
            (None, None) => {
                held.facts.pop();
                return Ok(None);
            }
            (None, Some(c)) => execute(c, row, kind).await?,
        };
        b.effects.audit.push((
            job.audit.clone(),
            "approval.executed",
            serde_json::json!({ "approval_id": id, "kind": kind.as_str(), "result": result }),
        ));
        (row.status, row.execution_result) = ("executed".into(), Some(result));
    }
    let body =
        serde_json::to_value(to_api(row, held.facts.iter().map(|f| &f.row), p)?).map_err(|_| ApiError::internal())?;

    let d = held.facts.last().ok_or_else(ApiError::internal)?;
    let roles = serde_json::to_value(&d.approver_roles).map_err(|_| ApiError::internal())?;
    b.effects.decisions.push(DecisionWrite {
        id: Uuid::new_v4(),
        org_id: row.org_id,
        region: held.region.clone(),
        request_id: id,
        staff: staff_id,
        person,
        decision: d.row.decision.clone(),
        comment: d.row.comment.clone(),
        version_seen: row.version,
        roles,
        on_behalf: d.row.on_behalf_of_staff_id,
    });
    if row.status != "pending" {
        b.effects.request(row);
    }
    if let (Some(k), Some(key_id)) = (&job.key, key_id) {
        b.answered
            .insert(key_id, (k.hash.clone(), StatusCode::OK.as_u16() as i16, body.clone()));
    }
    Ok(Some((StatusCode::OK, body)))
}

/// What a batch of decisions writes, as one statement over arrays (one
/// element per row): the decisions, the payments, the requests' new status
/// and the answers to the Idempotency-Keys. Returns how many answers were
/// stored. Built once, from constant text only.
static DECIDE_WRITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH decision AS ( \
           INSERT INTO approval_decisions (id, org_id, region, request_id, approver_staff_id, approver_person_id, decision, comment, version_seen, approver_roles, on_behalf_of_staff_id) \
           SELECT id, org_id, region, request_id, staff, person, decision, comment, version_seen, ARRAY(SELECT jsonb_array_elements_text(roles)), on_behalf \
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::int[], $10::jsonb[], $11::uuid[]) \
             AS x (id, org_id, region, request_id, staff, person, decision, comment, version_seen, roles, on_behalf)), \
         payment AS ( \
           INSERT INTO payments (id, org_id, region, kind, amount_minor, currency, approval_id, invoice_id, vendor_id) \
           SELECT * FROM unnest($12::uuid[], $13::uuid[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::uuid[], $19::uuid[], $20::uuid[])), \
         request AS ( \
           UPDATE approval_requests r SET status = x.status, execution_result = x.result, executed_at = CASE WHEN x.status = 'executed' THEN now() END, updated_at = now() \
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
         SELECT {COLUMNS}, region, coalesce((SELECT json_agg(json_build_object( \
           'approver_staff_id', d.approver_staff_id, 'approver_name', s.display_name, 'on_behalf_of_staff_id', d.on_behalf_of_staff_id, \
           'decision', d.decision, 'comment', d.comment, 'version_seen', d.version_seen, 'created_at', d.created_at, \
           'approver_person_id', d.approver_person_id, 'on_behalf_person_id', b.person_id, 'approver_roles', d.approver_roles) ORDER BY d.created_at, d.id) \
           FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id LEFT JOIN staff b ON b.id = d.on_behalf_of_staff_id \
           WHERE d.request_id = approval_requests.id), '[]') AS facts, stored.*, now() AS now \
         FROM approval_requests, stored WHERE id = ANY($1) FOR UPDATE OF approval_requests",
        idempotency::stored_all_sql(2)
    )
});
struct Delegator {
    staff_id: Uuid,
    person_id: Uuid,
    roles: Vec<String>,
}

/// The delegator, if `delegator` has an active delegation to `me` now.
async fn active_delegator(conn: &mut sqlx::PgConnection, delegator: Uuid, me: Option<Uuid>) -> ApiResult<Delegator> {
    let found: Option<(Uuid, Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT s.id, s.person_id, s.roles FROM delegations d JOIN staff s ON s.id = d.delegator_staff_id \
         WHERE d.delegator_staff_id = $1 AND d.delegate_staff_id = $2 AND d.revoked_at IS NULL AND now() >= d.starts_at AND now() < d.ends_at AND s.active LIMIT 1",
    )
    .bind(delegator)
    .bind(me)
    .fetch_optional(&mut *conn)
    .await?;
    let (staff_id, person_id, roles) =
        found.ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "No active delegation from that approver to you."))?;
    Ok(Delegator {
        staff_id,
        person_id,
        roles,
    })
}

/// Are the rules met by the approvals given to the current version?
fn rules_met(row: &ApprovalRow, facts: &[DecisionFacts]) -> bool {
    let approvers: Vec<&Vec<String>> = facts
        .iter()
        .filter(|f| f.row.version_seen == row.version && f.row.decision == "approve")
        .map(|f| &f.approver_roles)
        .collect();
    row.rules().iter().all(|rule| {
        approvers.len() as u32 >= rule.approvals
            && rule
                .one_of_role
                .as_ref()
                .is_none_or(|role| approvers.iter().any(|roles| roles.contains(role)))
    })
}

/// The effect of an approved refund, credit note or payout: a payment,
/// written with the decision. `None` for kinds whose effect needs the
/// database (`execute`).
fn payment_of(row: &ApprovalRow, region: &str, kind: ApprovalKind) -> Option<PaymentWrite> {
    let (pkind, invoice, vendor) = match kind {
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

/// The approved action's effect when it is more than a payment, on the
/// batch's connection: its result.
async fn execute(conn: &mut sqlx::PgConnection, row: &ApprovalRow, kind: ApprovalKind) -> ApiResult<serde_json::Value> {
    match kind {
        // Written with the decision instead (payment_of).
        ApprovalKind::Refund | ApprovalKind::CreditNote | ApprovalKind::PayoutRelease => Err(ApiError::internal()),
        ApprovalKind::VendorBankChange => {
            let b: BankChange = serde_json::from_value(row.payload.clone()).map_err(|_| ApiError::internal())?;
            let old: Option<(Uuid,)> = sqlx::query_as("UPDATE vendor_bank_accounts SET valid_to = now() WHERE vendor_id = $1 AND valid_to IS NULL RETURNING id")
                .bind(row.target_id)
                .fetch_optional(&mut *conn)
                .await?;
            let account = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO vendor_bank_accounts (id, org_id, region, vendor_id, iban, bank_name, account_holder) \
                 SELECT $1, org_id, region, id, $2, $3, $4 FROM vendors WHERE id = $5",
            )
            .bind(account)
            .bind(&b.iban)
            .bind(&b.bank_name)
            .bind(&b.account_holder)
            .bind(row.target_id)
            .execute(&mut *conn)
            .await?;
            Ok(serde_json::json!({ "bank_account_id": account, "previous_bank_account_id": old.map(|o| o.0) }))
        }
        ApprovalKind::DataExport => {
            let export = Uuid::new_v4();
            let content = org_export(conn, row.org_id).await?;
            let expires = OffsetDateTime::now_utc() + Duration::hours(24);
            sqlx::query(
                "INSERT INTO data_exports (id, org_id, region, approval_id, requester_staff_id, content, expires_at) \
                 SELECT $1, id, region, $2, $3, $4, $5 FROM orgs WHERE id = $6",
            )
            .bind(export)
            .bind(row.id)
            .bind(row.requester_staff_id)
            .bind(&content)
            .bind(expires)
            .bind(row.org_id)
            .execute(&mut *conn)
            .await?;
            Ok(serde_json::json!({ "export_id": export, "expires_at": expires.unix_timestamp() }))
        }
    }
}

/// The org's records, masked as for someone with no reveal permission.
async fn org_export(conn: &mut sqlx::PgConnection, org: Uuid) -> ApiResult<serde_json::Value> {
    let nobody = Principal::service(false);
    let users: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM customer_users WHERE org_id = $1 ORDER BY name, id"
    ))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let invoices: Vec<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE org_id = $1 ORDER BY issued_at, id"
    ))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let vendors: Vec<VendorRow> = sqlx::query_as(&format!("{VENDOR_SELECT} WHERE v.org_id = $1 ORDER BY v.name, v.id"))
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    let payments: Vec<PaymentRow> = sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    Ok(serde_json::json!({
        "users": users.iter().map(|u| u.to_api(&nobody)).collect::<ApiResult<Vec<_>>>()?,
        "invoices": invoices.iter().map(|i| i.to_api()).collect::<ApiResult<Vec<_>>>()?,
        "vendors": vendors.iter().map(|v| v.to_api(&nobody)).collect::<ApiResult<Vec<_>>>()?,
        "payments": payments.iter().map(|p| p.to_api()).collect::<ApiResult<Vec<_>>>()?,
    }))
}

// ---------- amend, cancel, download ----------

async fn requester_pending(s: &AppState, p: &Principal, audit: &AuditCtx, id: Uuid) -> ApiResult<(Tx, ApprovalRow)> {
    audit.target("approval", id, None);
    staff_only(p)?;
    requester_pending_in(db::begin(&s.db, p).await?, p, audit, id).await
}

/// [`requester_pending`] in a transaction already begun (under an Idempotency-Key).
async fn requester_pending_in(mut tx: Tx, p: &Principal, audit: &AuditCtx, id: Uuid) -> ApiResult<(Tx, ApprovalRow)> {
    let person = staff_only(p)?;
    may_see_approvals(p)?;
    let row = load(&mut tx, id, true).await?;
    audit.target("approval", id, Some(row.org_id));
    if row.requester_person_id != person {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only the requester may change or cancel a request.",
        ));
    }
    match row.status() {
        ApprovalStatus::Pending => Ok((tx, row)),
        ApprovalStatus::Expired if row.status == "pending" => Err(expire(tx, &row, audit).await),
        other => Err(not_pending(other)),
    }
}

#[utoipa::path(patch, path = "/v1/approvals/{approval_id}", params(("approval_id" = Uuid, Path)), request_body = AmendApproval,
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn amend(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
    Body(req): Body<AmendApproval>,
) -> ApiResult<Json<Approval>> {
    let (mut tx, row) = requester_pending(&s, &p, &audit, id).await?;
    if req.version != row.version {
        return Err(ApiError::new(
            ErrorCode::StaleVersion,
            format!("The request is at version {}.", row.version),
        ));
    }
    let kind = row.kind()?;
    let amount = req.amount.or(row.amount());
    let payload = validate(kind, &amount, req.payload.as_ref().unwrap_or(&row.payload))?;
    let reason = match &req.reason {
        Some(r) => Reason::parse(r)
            .map_err(|e| ApiError::new(ErrorCode::ReasonRequired, format!("{e}.")))?
            .as_str()
            .to_owned(),
        None => row.reason.clone(),
    };
    check_target(&mut tx, kind, row.org_id, row.target_id, &amount).await?;
    let policy = &s.config.approval_policy;
    // At the rate recorded when the request was made (API.md); a new
    // currency would need a new rate, so it is a new request.
    if let (Some(new), Some(old)) = (amount, row.amount()) {
        if new.currency != old.currency {
            return Err(ApiError::invalid(format!(
                "The amount stays in {}; to use another currency, cancel and request again.",
                old.currency.code()
            )));
        }
    }
    let base = match (amount, &row.exchange_rate) {
        (Some(m), Some(rate)) => Some(policy.to_base_at(m, rate).map_err(ApiError::invalid)?),
        (Some(m), None) => Some(policy.to_base(m).map_err(ApiError::invalid)?),
        (None, _) => None,
    };
    let rule = policy.rule(kind, base.as_ref().map(|b| b.base.amount_minor));
    // A new version: every approval given so far stops counting (they stay
    // in the history with the version they saw).
    sqlx::query(
        "UPDATE approval_requests SET amount_minor = $2, currency = $3, payload = $4, reason = $5, version = version + 1, policy_version = $6, required = $7, updated_at = now(), \
           base_currency = $8, exchange_rate = $9::numeric, amount_base_minor = $10 WHERE id = $1",
    )
    .bind(id)
    .bind(amount.map(|m| m.amount_minor))
    .bind(amount.map(|m| m.currency.code()))
    .bind(&payload)
    .bind(&reason)
    .bind(&policy.version)
    .bind(serde_json::json!([rule]))
    .bind(base.as_ref().map(|b| b.base.currency.code()))
    .bind(base.as_ref().map(|b| b.rate.clone()))
    .bind(base.as_ref().map(|b| b.base.amount_minor))
    .execute(&mut *tx)
    .await?;
    let row = load(&mut tx, id, false).await?;
    let ds = decisions(&mut tx, id).await?;
    tx.commit().await?;
    audit.detail("version", serde_json::json!(row.version));
    Ok(Json(to_api(&row, &ds, &p)?))
}

#[utoipa::path(post, path = "/v1/approvals/{approval_id}/cancel", params(("Idempotency-Key" = Option<String>, Header), ("approval_id" = Uuid, Path)),
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn cancel(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    audit.target("approval", id, None);
    staff_only(&p)?;
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/approvals/{id}/cancel"), &())?;
    let tx = match idempotency::begin(&s.db, &p, key.as_ref()).await? {
        idempotency::Begun::Replay(r) => return Ok(r),
        idempotency::Begun::Act(tx) => tx,
    };
    let (mut tx, _) = requester_pending_in(tx, &p, &audit, id).await?;
    sqlx::query("UPDATE approval_requests SET status = 'cancelled', updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let row = load(&mut tx, id, false).await?;
    let ds = decisions(&mut tx, id).await?;
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::OK, &to_api(&row, &ds, &p)?).await
}

#[utoipa::path(get, path = "/v1/approvals/{approval_id}/export", params(("approval_id" = Uuid, Path)),
    responses((status = 200, description = "The org's records, masked; once"), (status = 404, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn download(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    audit.target("approval", id, None);
    let staff = p.staff_id.map(|s| s.0).ok_or_else(ApiError::not_found)?;
    let mut tx = db::begin(&s.db, &p).await?;
    // Once, by the requester, within 24 h; afterwards it is gone.
    let content: Option<(Uuid, serde_json::Value)> = sqlx::query_as(
        "WITH old AS (SELECT id, org_id, content FROM data_exports \
                      WHERE approval_id = $1 AND requester_staff_id = $2 AND downloaded_at IS NULL AND expires_at > now() AND content IS NOT NULL FOR UPDATE) \
         UPDATE data_exports d SET content = NULL, downloaded_at = now() FROM old WHERE d.id = old.id RETURNING old.org_id, old.content",
    )
    .bind(id)
    .bind(staff)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let (org, content) = content.ok_or_else(ApiError::not_found)?;
    audit.target("approval", id, Some(org));
    Ok(([(axum::http::header::CACHE_CONTROL, "no-store")], Json(content)).into_response())
}

/// Marks pending requests past their expiry as expired, with an audit event
/// each. Runs on a schedule; a decision on an expired request does the same
/// for that one request on the spot.
pub async fn sweep_expired(s: &AppState) -> ApiResult<usize> {
    let service = Principal::service(true);
    let mut tx = db::begin(&s.db, &service).await?;
    let expired: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE approval_requests SET status = 'expired', updated_at = now() WHERE status = 'pending' AND expires_at <= now() RETURNING id, org_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let events: Vec<crate::auditlog::EventRow> = expired
        .iter()
        .map(|(id, org)| crate::auditlog::EventRow {
            seq: 0,
            id: Uuid::new_v4(),
            at: OffsetDateTime::UNIX_EPOCH,
            actor_issuer: None,
            actor_subject: Some(service.subject.clone()),
            actor_kind: Some("service".into()),
            on_behalf_of: None,
            impersonation_id: None,
            org_id: Some(*org),
            action: "approval.expired".into(),
            target_type: Some("approval".into()),
            target_id: Some(id.to_string()),
            outcome: "success".into(),
            code: None,
            reason: None,
            request_id: format!("sweep-{}", Uuid::new_v4()),
            ip: None,
            user_agent: None,
            details: serde_json::json!({}),
            prev_hash: vec![],
            hash: vec![],
        })
        .collect();
    if !events.is_empty() {
        s.audit.append(events).await?;
    }
    Ok(expired.len())
}

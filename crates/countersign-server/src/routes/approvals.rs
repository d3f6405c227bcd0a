//! Approvals (API.md "Approvals"; DESIGN.md invariant 3). Every check is
//! made inside the request's transaction with the approval row locked, so
//! concurrent decisions serialize and the approved action executes exactly
//! once, in the transaction that records the last approval.

use crate::approval_policy::ApprovalPolicy;
use crate::audit::AuditCtx;
use crate::db::{self, Tx};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json as Body, Path, Query};
use crate::idempotency;
use crate::masking;
use crate::principal::Principal;
use crate::routes::records::{InvoiceRow, PaymentRow, UserRow, VendorRow, INVOICE_COLUMNS, PAYMENT_COLUMNS, USER_COLUMNS, VENDOR_SELECT};
use crate::state::AppState;
use std::sync::LazyLock;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_api::*;
use serde::Deserialize;
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

const COLUMNS: &str = "id, org_id, kind, target_id, amount_minor, currency, payload, reason, status, version, requester_staff_id, requester_person_id, \
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
    let sql = format!("SELECT {COLUMNS} FROM approval_requests WHERE id = $1{}", if lock { " FOR UPDATE" } else { "" });
    sqlx::query_as(&sql).bind(id).fetch_optional(&mut **tx).await?.ok_or_else(ApiError::not_found)
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
        payload["iban"] = serde_json::to_value(Masked { masked: masking::iban(&iban), field: "iban".into(), revealable: false }).map_err(|_| ApiError::internal())?;
    }
    let _ = p;
    Ok(Approval {
        id: ApprovalId(row.id),
        kind: row.kind()?,
        org_id: OrgId(row.org_id),
        target_id: row.target_id,
        amount: row.amount(),
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
                decision: if d.decision == "approve" { Decision::Approve } else { Decision::Reject },
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
        _ => Err(ApiError::new(ErrorCode::Forbidden, "Only staff take part in approvals.")),
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
        (true, Some(m)) if m.amount_minor <= 0 => return Err(ApiError::invalid("The amount must be greater than zero.")),
        (false, Some(_)) => return Err(ApiError::invalid(format!("A {} has no amount.", kind.as_str()))),
        _ => {}
    }
    if kind == ApprovalKind::VendorBankChange {
        let b: BankChange = serde_json::from_value(payload.clone()).map_err(|e| ApiError::invalid(format!("payload: {e}")))?;
        use iban::IbanLike;
        let iban: iban::Iban = b.iban.parse().map_err(|_| ApiError::invalid("payload.iban is not a valid IBAN."))?;
        if b.bank_name.trim().is_empty() || b.account_holder.trim().is_empty() || b.bank_name.len() > 200 || b.account_holder.len() > 200 {
            return Err(ApiError::invalid("payload.bank_name and payload.account_holder are required (at most 200 characters)."));
        }
        return Ok(serde_json::json!({ "iban": iban.electronic_str(), "bank_name": b.bank_name.trim(), "account_holder": b.account_holder.trim() }));
    }
    match payload {
        serde_json::Value::Null => Ok(serde_json::json!({})),
        serde_json::Value::Object(m) if m.is_empty() => Ok(serde_json::json!({})),
        _ => Err(ApiError::invalid(format!("A {} takes no payload.", kind.as_str()))),
    }
}

/// The target must exist in the org (and, for money, match its currency).
async fn check_target(tx: &mut Tx, kind: ApprovalKind, org_id: Uuid, target: Uuid, amount: &Option<Money>) -> ApiResult<()> {
    match kind {
        ApprovalKind::Refund | ApprovalKind::CreditNote => {
            let inv: Option<(i64, String)> = sqlx::query_as("SELECT amount_minor, currency FROM invoices WHERE id = $1 AND org_id = $2").bind(target).bind(org_id).fetch_optional(&mut **tx).await?;
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
            let v: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM vendors WHERE id = $1 AND org_id = $2").bind(target).bind(org_id).fetch_optional(&mut **tx).await?;
            v.ok_or_else(ApiError::not_found)?;
        }
        ApprovalKind::DataExport => {
            if target != org_id {
                return Err(ApiError::invalid("A data_export targets its org: target_id must equal org_id."));
            }
        }
    }
    Ok(())
}

/// While a bank change for the vendor is pending, no payout leaves for it.
async fn payout_hold(tx: &mut Tx, vendor: Uuid) -> ApiResult<()> {
    let held: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM approval_requests WHERE kind = 'vendor_bank_change' AND target_id = $1 AND status = 'pending' AND expires_at > now()")
        .bind(vendor)
        .fetch_optional(&mut **tx)
        .await?;
    match held {
        Some(_) => Err(ApiError::new(ErrorCode::PayoutHold, "A bank account change for this vendor is pending; payouts are on hold until it is decided.")),
        None => Ok(()),
    }
}

fn respond(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

// ---------- create ----------

#[utoipa::path(post, path = "/v1/approvals", request_body = CreateApproval, params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = Approval), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "approvals")]
pub async fn create(State(s): State<AppState>, p: Principal, audit: AuditCtx, headers: HeaderMap, Body(req): Body<CreateApproval>) -> ApiResult<Response> {
    let person = staff_only(&p)?;
    p.require(Permission::ApprovalsRequest)?;
    let reason = Reason::parse(&req.reason).map_err(|e| ApiError::new(ErrorCode::ReasonRequired, format!("{e}.")))?;
    audit.reason(reason.as_str());
    audit.detail("kind", serde_json::json!(req.kind.as_str()));
    let payload = validate(req.kind, &req.amount, &req.payload)?;
    let key = idempotency::from_headers(&headers, &p, "POST /v1/approvals", &req)?;
    let mut tx = db::begin_locked(&s.db, &p, &key.iter().map(idempotency::Key::lock).collect::<Vec<_>>()).await?;
    if let Some(k) = &key {
        if let Some((status, body)) = idempotency::replay(&mut tx, &p, k).await? {
            tx.commit().await?;
            return Ok(respond(status, body));
        }
    }
    let org = req.org_id.0;
    let region: Option<(String,)> = sqlx::query_as("SELECT region FROM orgs WHERE id = $1").bind(org).fetch_optional(&mut *tx).await?;
    let (region,) = region.ok_or_else(ApiError::not_found)?;
    check_target(&mut tx, req.kind, org, req.target_id, &req.amount).await?;
    if req.kind == ApprovalKind::PayoutRelease {
        payout_hold(&mut tx, req.target_id).await?;
    }
    let policy = &s.config.approval_policy;
    let rule = policy.rule(req.kind, req.amount.map(|m| m.amount_minor));
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO approval_requests (id, org_id, region, kind, target_id, amount_minor, currency, payload, reason, status, requester_staff_id, requester_person_id, policy_version, required, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11, $12, $13, $14)",
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
    .execute(&mut *tx)
    .await;
    if let Err(sqlx::Error::Database(e)) = &inserted {
        if e.constraint() == Some("approval_requests_one_bank_change") {
            return Err(ApiError::new(ErrorCode::NotPending, "A bank account change for this vendor is already pending."));
        }
    }
    inserted?;
    let row = load(&mut tx, id, false).await?;
    let body = serde_json::to_value(to_api(&row, &[], &p)?).map_err(|_| ApiError::internal())?;
    if let Some(k) = &key {
        idempotency::remember(&mut tx, &p, k, StatusCode::CREATED, &body).await?;
    }
    tx.commit().await?;
    audit.target("approval", id, Some(org));
    Ok(respond(StatusCode::CREATED, body))
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
pub async fn list(State(s): State<AppState>, p: Principal, Query(q): Query<ListParams>) -> ApiResult<Json<Page<Approval>>> {
    let person = staff_only(&p)?;
    if !(p.can(Permission::ApprovalsRequest) || p.can(Permission::ApprovalsDecide) || p.can(Permission::AuditExport)) {
        return Err(ApiError::forbidden(Permission::ApprovalsDecide));
    }
    let limit = match q.limit.unwrap_or(LIMIT_DEFAULT) {
        n @ LIMIT_MIN..=LIMIT_MAX => n as i64,
        _ => return Err(ApiError::invalid(format!("limit must be between {LIMIT_MIN} and {LIMIT_MAX}."))),
    };
    let before: Option<(OffsetDateTime, Uuid)> = match &q.cursor {
        None => None,
        Some(c) => {
            let (t, id) = c.split_once('_').ok_or_else(|| ApiError::invalid("The cursor is not valid."))?;
            let t = t.parse::<i128>().ok().and_then(|n| OffsetDateTime::from_unix_timestamp_nanos(n).ok());
            Some((t.ok_or_else(|| ApiError::invalid("The cursor is not valid."))?, id.parse().map_err(|_| ApiError::invalid("The cursor is not valid."))?))
        }
    };
    let (requested, to_decide) = match q.mine.as_deref() {
        None => (false, false),
        Some("requested") => (true, false),
        Some("to_decide") => (false, true),
        Some(_) => return Err(ApiError::invalid("mine must be requested or to_decide.")),
    };
    // What the caller could decide: kinds by permission.
    let decidable: Vec<&str> = ApprovalKind::ALL.iter().filter(|k| p.can(ApprovalPolicy::permission(**k))).map(|k| k.as_str()).collect();
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
           AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9)) \
         ORDER BY created_at DESC, id DESC LIMIT $10"
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
    let next_cursor = if more { items.last().map(|a| format!("{}_{}", a.created_at.unix_timestamp_nanos(), a.id)) } else { None };
    Ok(Json(Page { items, next_cursor }))
}

#[utoipa::path(get, path = "/v1/approvals/{approval_id}", params(("approval_id" = Uuid, Path)), responses((status = 200, body = Approval), (status = 404, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn get(State(s): State<AppState>, p: Principal, audit: AuditCtx, Path(id): Path<Uuid>) -> ApiResult<Json<Approval>> {
    staff_only(&p)?;
    audit.target("approval", id, None);
    if !(p.can(Permission::ApprovalsRequest) || p.can(Permission::ApprovalsDecide) || p.can(Permission::AuditExport) || p.can(Permission::AuditRead)) {
        return Err(ApiError::forbidden(Permission::ApprovalsDecide));
    }
    let mut tx = db::begin(&s.db, &p).await?;
    let row = load(&mut tx, id, false).await?;
    let ds = decisions(&mut tx, id).await?;
    tx.commit().await?;
    audit.target("approval", id, Some(row.org_id));
    Ok(Json(to_api(&row, &ds, &p)?))
}

// ---------- decide ----------

/// Marks a request expired (committed even though the caller gets an error).
async fn expire(mut tx: Tx, row: &ApprovalRow, audit: &AuditCtx) -> ApiError {
    let done = sqlx::query("UPDATE approval_requests SET status = 'expired', updated_at = now() WHERE id = $1 AND status = 'pending'").bind(row.id).execute(&mut *tx).await;
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
pub async fn decide(State(s): State<AppState>, p: Principal, audit: AuditCtx, headers: HeaderMap, Path(id): Path<Uuid>, Body(req): Body<DecideApproval>) -> ApiResult<Response> {
    audit.target("approval", id, None);
    let person = staff_only(&p)?;
    audit.detail("decision", serde_json::json!(if req.decision == Decision::Approve { "approve" } else { "reject" }));
    if req.comment.chars().count() > 2_000 || req.comment.contains('\0') {
        return Err(ApiError::invalid("comment: at most 2,000 characters, no NUL."));
    }
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/approvals/{id}/decisions"), &req)?;
    // Deciders of one request serialize on its lock, taken with BEGIN: the
    // read below then sees every decision committed before, together with
    // the request (locked against amend, cancel and expiry too) and the
    // key's stored answer, in one round trip.
    let locks: Vec<i64> = std::iter::once(db::lock_id(id)).chain(key.iter().map(idempotency::Key::lock)).collect();
    let mut tx = db::begin_locked(&s.db, &p, &locks).await?;
    let read = read_for_decision(&mut tx, id, &p, key.as_ref()).await?.ok_or_else(ApiError::not_found)?;
    if let Some(k) = &key {
        if let Some((status, body)) = k.answer(read.stored)? {
            tx.commit().await?;
            return Ok(respond(status, body));
        }
    }
    let (mut row, mut facts, now) = (read.row, read.facts, read.now);
    audit.target("approval", id, Some(row.org_id));
    let kind = row.kind()?;
    match row.status() {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired if row.status == "pending" => return Err(expire(tx, &row, &audit).await),
        other => return Err(not_pending(other)),
    }
    // Deciding for a delegator: their roles count toward the rule; the
    // delegate's own permission, limits and separation of duties still apply.
    let delegator = match req.on_behalf_of {
        None => None,
        Some(d) => Some(active_delegator(&mut tx, d.0, p.staff_id.map(|s| s.0)).await?),
    };
    if row.requester_person_id == person || delegator.as_ref().is_some_and(|d| d.person_id == row.requester_person_id) {
        return Err(ApiError::new(ErrorCode::SelfApprovalForbidden, "Nobody decides their own request."));
    }
    p.require(ApprovalPolicy::permission(kind))?;
    if req.version != row.version {
        return Err(ApiError::new(ErrorCode::StaleVersion, format!("The request changed: it is at version {}.", row.version)));
    }
    let persons: Vec<Uuid> = std::iter::once(person).chain(delegator.as_ref().map(|d| d.person_id)).collect();
    let mine = |f: &DecisionFacts| persons.contains(&f.approver_person_id) || f.on_behalf_person_id.is_some_and(|b| persons.contains(&b));
    if facts.iter().any(|f| f.row.version_seen == row.version && mine(f)) {
        return Err(ApiError::new(ErrorCode::AlreadyDecided, "You have already decided this version of the request."));
    }
    if req.decision == Decision::Approve {
        if let (Some(amount), Some(Some(limit))) = (row.amount_minor, p.approval_limits.get(kind.as_str())) {
            if amount > limit.amount_minor {
                return Err(ApiError::new(ErrorCode::ApprovalLimitExceeded, format!("Your approval limit for {} is {}.", kind.as_str(), limit.display())));
            }
        }
        if kind == ApprovalKind::PayoutRelease {
            payout_hold(&mut tx, row.target_id).await?;
        }
    }
    let staff_id = p.staff_id.map(|s| s.0).ok_or_else(ApiError::internal)?;
    let decision = DecisionFacts {
        row: DecisionRow {
            approver_staff_id: staff_id,
            approver_name: p.display_name.clone(),
            on_behalf_of_staff_id: delegator.as_ref().map(|d| d.staff_id),
            decision: if req.decision == Decision::Approve { "approve" } else { "reject" }.to_owned(),
            comment: req.comment.clone(),
            version_seen: row.version,
            // now(): the transaction's start, which the insert stores too.
            created_at: now,
        },
        approver_person_id: person,
        on_behalf_person_id: delegator.as_ref().map(|d| d.person_id),
        approver_roles: delegator.as_ref().map(|d| &d.roles).unwrap_or(&p.roles).clone(),
    };
    facts.push(decision);
    let decision = facts.last().ok_or_else(ApiError::internal)?;

    // The request as this decision leaves it; effects other than a payment
    // are written here, a payment with the decision below.
    let mut payment = None;
    if req.decision == Decision::Reject {
        row.status = "rejected".into();
    } else if rules_met(&row, &facts) {
        let (result, p) = execute(&mut tx, &row, kind).await?;
        audit.follow_up("approval.executed", serde_json::json!({ "approval_id": id, "kind": kind.as_str(), "result": result }));
        (row.status, row.execution_result, payment) = ("executed".into(), Some(result), p);
    }
    let body = serde_json::to_value(to_api(&row, facts.iter().map(|f| &f.row), &p)?).map_err(|_| ApiError::internal())?;

    // The decision, the payment, the request's new status and the answer to
    // the Idempotency-Key: one statement.
    let stored: bool = sqlx::query_scalar(&DECIDE_WRITE)
    .bind(id)
    .bind(Uuid::new_v4())
    .bind(staff_id)
    .bind(person)
    .bind(&decision.row.decision)
    .bind(&req.comment)
    .bind(&decision.approver_roles)
    .bind(decision.row.on_behalf_of_staff_id)
    .bind(payment.as_ref().map(|p: &NewPayment| p.id))
    .bind(payment.as_ref().map(|p| p.kind))
    .bind(payment.as_ref().and_then(|p| p.invoice))
    .bind(payment.as_ref().and_then(|p| p.vendor))
    .bind(&row.status)
    .bind(&row.execution_result)
    .bind(&p.issuer)
    .bind(&p.subject)
    .bind(key.as_ref().map(|k| &k.key))
    .bind(key.as_ref().map(|k| &k.hash))
    .bind(StatusCode::OK.as_u16() as i16)
    .bind(&body)
    .fetch_one(&mut *tx)
    .await?;
    idempotency::stored_or_refuse(stored)?;
    tx.commit().await?;
    Ok(respond(StatusCode::OK, body))
}

/// What a decision writes, as one statement (see `decide`); built once,
/// from constant text only.
static DECIDE_WRITE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH decision AS ( \
           INSERT INTO approval_decisions (id, org_id, region, request_id, approver_staff_id, approver_person_id, decision, comment, version_seen, approver_roles, on_behalf_of_staff_id) \
           SELECT $2, org_id, region, id, $3, $4, $5, $6, version, $7, $8 FROM approval_requests WHERE id = $1), \
         payment AS ( \
           INSERT INTO payments (id, org_id, region, kind, amount_minor, currency, approval_id, invoice_id, vendor_id) \
           SELECT $9, o.id, o.region, $10, r.amount_minor, r.currency, r.id, $11, $12 FROM approval_requests r JOIN orgs o ON o.id = r.org_id WHERE r.id = $1 AND $9 IS NOT NULL), \
         request AS ( \
           UPDATE approval_requests SET status = $13, execution_result = $14, executed_at = CASE WHEN $13 = 'executed' THEN now() END, updated_at = now() \
           WHERE id = $1 AND $13 <> 'pending'), \
         stored AS ({}) \
         SELECT $17::text IS NULL OR EXISTS (SELECT FROM stored)",
        idempotency::store_sql(15)
    )
});

/// What deciding reads (see `read_for_decision`); built once, from constant
/// text only.
static DECISION_READ: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {COLUMNS}, coalesce((SELECT json_agg(json_build_object( \
           'approver_staff_id', d.approver_staff_id, 'approver_name', s.display_name, 'on_behalf_of_staff_id', d.on_behalf_of_staff_id, \
           'decision', d.decision, 'comment', d.comment, 'version_seen', d.version_seen, 'created_at', d.created_at, \
           'approver_person_id', d.approver_person_id, 'on_behalf_person_id', b.person_id, 'approver_roles', d.approver_roles) ORDER BY d.created_at, d.id) \
           FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id LEFT JOIN staff b ON b.id = d.on_behalf_of_staff_id \
           WHERE d.request_id = approval_requests.id), '[]') AS facts, stored.*, now() AS now \
         FROM approval_requests LEFT JOIN LATERAL ({}) stored ON true WHERE id = $1 FOR UPDATE OF approval_requests",
        idempotency::stored_sql(2)
    )
});

/// What deciding reads, with the request's lock held: the request, every
/// decision so far, the stored answer to the Idempotency-Key, and the
/// transaction's `now()`.
struct DecisionRead {
    row: ApprovalRow,
    facts: Vec<DecisionFacts>,
    stored: Option<idempotency::Stored>,
    now: OffsetDateTime,
}

async fn read_for_decision(tx: &mut Tx, id: Uuid, p: &Principal, key: Option<&idempotency::Key>) -> ApiResult<Option<DecisionRead>> {
    #[derive(sqlx::FromRow)]
    struct Read {
        #[sqlx(flatten)]
        row: ApprovalRow,
        facts: sqlx::types::Json<Vec<DecisionFacts>>,
        stored_hash: Option<Vec<u8>>,
        stored_status: Option<i16>,
        stored_response: Option<serde_json::Value>,
        now: OffsetDateTime,
    }
    // A key can only have answered for a request that exists, so the
    // request drives the statement and the key's answer joins it.
    let read: Option<Read> = sqlx::query_as(&DECISION_READ)
        .bind(id)
        .bind(key.map(|_| p.issuer.as_str()))
        .bind(key.map(|_| p.subject.as_str()))
        .bind(key.map(|k| k.key.as_str()))
        .fetch_optional(&mut **tx)
        .await?;
    Ok(read.map(|r| DecisionRead {
        row: r.row,
        facts: r.facts.0,
        stored: match (r.stored_hash, r.stored_status, r.stored_response) {
            (Some(h), Some(s), Some(b)) => Some((h, s, b)),
            _ => None,
        },
        now: r.now,
    }))
}

struct Delegator {
    staff_id: Uuid,
    person_id: Uuid,
    roles: Vec<String>,
}

/// The delegator, if `delegator` has an active delegation to `me` now.
async fn active_delegator(tx: &mut Tx, delegator: Uuid, me: Option<Uuid>) -> ApiResult<Delegator> {
    let found: Option<(Uuid, Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT s.id, s.person_id, s.roles FROM delegations d JOIN staff s ON s.id = d.delegator_staff_id \
         WHERE d.delegator_staff_id = $1 AND d.delegate_staff_id = $2 AND d.revoked_at IS NULL AND now() >= d.starts_at AND now() < d.ends_at AND s.active LIMIT 1",
    )
    .bind(delegator)
    .bind(me)
    .fetch_optional(&mut **tx)
    .await?;
    let (staff_id, person_id, roles) = found.ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "No active delegation from that approver to you."))?;
    Ok(Delegator { staff_id, person_id, roles })
}

/// Are the rules met by the approvals given to the current version?
fn rules_met(row: &ApprovalRow, facts: &[DecisionFacts]) -> bool {
    let approvers: Vec<&Vec<String>> =
        facts.iter().filter(|f| f.row.version_seen == row.version && f.row.decision == "approve").map(|f| &f.approver_roles).collect();
    row.rules().iter().all(|rule| {
        approvers.len() as u32 >= rule.approvals && rule.one_of_role.as_ref().is_none_or(|role| approvers.iter().any(|roles| roles.contains(role)))
    })
}

/// A payment an execution creates: written with the decision, in one
/// statement.
struct NewPayment {
    id: Uuid,
    kind: &'static str,
    invoice: Option<Uuid>,
    vendor: Option<Uuid>,
}

/// The approved action's effect, in the caller's transaction: its result,
/// and the payment to write with the decision, if it is one.
async fn execute(tx: &mut Tx, row: &ApprovalRow, kind: ApprovalKind) -> ApiResult<(serde_json::Value, Option<NewPayment>)> {
    match kind {
        ApprovalKind::Refund | ApprovalKind::CreditNote | ApprovalKind::PayoutRelease => {
            let (pkind, invoice, vendor) = match kind {
                ApprovalKind::Refund => ("refund", Some(row.target_id), None),
                ApprovalKind::CreditNote => ("credit_note", Some(row.target_id), None),
                _ => ("payout", None, Some(row.target_id)),
            };
            let id = Uuid::new_v4();
            Ok((serde_json::json!({ "payment_id": id }), Some(NewPayment { id, kind: pkind, invoice, vendor })))
        }
        ApprovalKind::VendorBankChange => {
            let b: BankChange = serde_json::from_value(row.payload.clone()).map_err(|_| ApiError::internal())?;
            let old: Option<(Uuid,)> = sqlx::query_as("UPDATE vendor_bank_accounts SET valid_to = now() WHERE vendor_id = $1 AND valid_to IS NULL RETURNING id")
                .bind(row.target_id)
                .fetch_optional(&mut **tx)
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
            .execute(&mut **tx)
            .await?;
            Ok((serde_json::json!({ "bank_account_id": account, "previous_bank_account_id": old.map(|o| o.0) }), None))
        }
        ApprovalKind::DataExport => {
            let export = Uuid::new_v4();
            let content = org_export(tx, row.org_id).await?;
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
            .execute(&mut **tx)
            .await?;
            Ok((serde_json::json!({ "export_id": export, "expires_at": expires.unix_timestamp() }), None))
        }
    }
}

/// The org's records, masked as for someone with no reveal permission.
async fn org_export(tx: &mut Tx, org: Uuid) -> ApiResult<serde_json::Value> {
    let nobody = Principal::service(false);
    let users: Vec<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM customer_users WHERE org_id = $1 ORDER BY name, id")).bind(org).fetch_all(&mut **tx).await?;
    let invoices: Vec<InvoiceRow> = sqlx::query_as(&format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE org_id = $1 ORDER BY issued_at, id")).bind(org).fetch_all(&mut **tx).await?;
    let vendors: Vec<VendorRow> = sqlx::query_as(&format!("{VENDOR_SELECT} WHERE v.org_id = $1 ORDER BY v.name, v.id")).bind(org).fetch_all(&mut **tx).await?;
    let payments: Vec<PaymentRow> = sqlx::query_as(&format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE org_id = $1 ORDER BY created_at, id")).bind(org).fetch_all(&mut **tx).await?;
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
    let person = staff_only(p)?;
    let mut tx = db::begin(&s.db, p).await?;
    let row = load(&mut tx, id, true).await?;
    audit.target("approval", id, Some(row.org_id));
    if row.requester_person_id != person {
        return Err(ApiError::new(ErrorCode::Forbidden, "Only the requester may change or cancel a request."));
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
pub async fn amend(State(s): State<AppState>, p: Principal, audit: AuditCtx, Path(id): Path<Uuid>, Body(req): Body<AmendApproval>) -> ApiResult<Json<Approval>> {
    let (mut tx, row) = requester_pending(&s, &p, &audit, id).await?;
    if req.version != row.version {
        return Err(ApiError::new(ErrorCode::StaleVersion, format!("The request is at version {}.", row.version)));
    }
    let kind = row.kind()?;
    let amount = req.amount.or(row.amount());
    let payload = validate(kind, &amount, req.payload.as_ref().unwrap_or(&row.payload))?;
    let reason = match &req.reason {
        Some(r) => Reason::parse(r).map_err(|e| ApiError::new(ErrorCode::ReasonRequired, format!("{e}.")))?.as_str().to_owned(),
        None => row.reason.clone(),
    };
    check_target(&mut tx, kind, row.org_id, row.target_id, &amount).await?;
    let policy = &s.config.approval_policy;
    let rule = policy.rule(kind, amount.map(|m| m.amount_minor));
    // A new version: every approval given so far stops counting (they stay
    // in the history with the version they saw).
    sqlx::query(
        "UPDATE approval_requests SET amount_minor = $2, currency = $3, payload = $4, reason = $5, version = version + 1, policy_version = $6, required = $7, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(amount.map(|m| m.amount_minor))
    .bind(amount.map(|m| m.currency.code()))
    .bind(&payload)
    .bind(&reason)
    .bind(&policy.version)
    .bind(serde_json::json!([rule]))
    .execute(&mut *tx)
    .await?;
    let row = load(&mut tx, id, false).await?;
    let ds = decisions(&mut tx, id).await?;
    tx.commit().await?;
    audit.detail("version", serde_json::json!(row.version));
    Ok(Json(to_api(&row, &ds, &p)?))
}

#[utoipa::path(post, path = "/v1/approvals/{approval_id}/cancel", params(("approval_id" = Uuid, Path)),
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 409, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn cancel(State(s): State<AppState>, p: Principal, audit: AuditCtx, Path(id): Path<Uuid>) -> ApiResult<Json<Approval>> {
    let (mut tx, _) = requester_pending(&s, &p, &audit, id).await?;
    sqlx::query("UPDATE approval_requests SET status = 'cancelled', updated_at = now() WHERE id = $1").bind(id).execute(&mut *tx).await?;
    let row = load(&mut tx, id, false).await?;
    let ds = decisions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(Json(to_api(&row, &ds, &p)?))
}

#[utoipa::path(get, path = "/v1/approvals/{approval_id}/export", params(("approval_id" = Uuid, Path)),
    responses((status = 200, description = "The org's records, masked; once"), (status = 404, body = Problem)), security(("bearer" = [])), tag = "approvals")]
pub async fn download(State(s): State<AppState>, p: Principal, audit: AuditCtx, Path(id): Path<Uuid>) -> ApiResult<Response> {
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

//! Approvals over HTTP (API.md "Approvals"): the handlers. Every check is
//! made inside the request's transaction with the approval row locked, so
//! concurrent decisions serialize and the approved action executes exactly
//! once, in the transaction that records the last approval; decisions go
//! through the group commit (`engine.rs`), judged by `rules::decide`.

use super::engine::DecideJob;
use super::store::{self, check_target, load, validate, ApprovalRow, COLUMNS};
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path, Query};
use crate::http::idempotency::{self, respond};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::{self, Tx};
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use countersign_api::*;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn staff_only(p: &Principal) -> ApiResult<Uuid> {
    match (p.kind, p.person_id) {
        (ActorKind::Staff, Some(person)) => Ok(person),
        _ => Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only staff take part in approvals.",
        )),
    }
}

#[utoipa::path(post, path = "/v1/approvals", request_body = CreateApproval, params(("Idempotency-Key" = Option<String>,
    Header)),
    responses((status = 201, body = Approval), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
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
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let org = req.org_id.0;
    let region: Option<(String,)> = sqlx::query_as("SELECT region FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
    let (region,) = region.ok_or_else(ApiError::not_found)?;
    check_target(&mut tx, req.kind, org, req.target_id, &req.amount).await?;
    if req.kind == ApprovalKind::PayoutRelease && store::payout_held(&mut tx, req.target_id).await? {
        return Err(super::rules::payout_hold().into());
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
        "INSERT INTO approval_requests (id, org_id, region, kind, target_id, amount_minor, currency, payload, reason, \
            status, requester_staff_id, requester_person_id, policy_version, required, expires_at, \
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
    idempotency::finish(
        tx,
        &p,
        key.as_ref(),
        StatusCode::CREATED,
        &store::to_api(&row, &[], &p, policy)?,
    )
    .await
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

#[utoipa::path(get, path = "/v1/approvals", params(ListParams), responses((status = 200, body = Page<Approval>)),
    security(("bearer" = [])), tag = "approvals")]
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
        .filter(|k| p.can(super::rules::permission(**k)))
        .map(|k| k.as_str())
        .collect();
    // The displayed status of a pending request past expiry is "expired".
    let status_filter = q.status.map(|s| s.as_str());
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<ApprovalRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM approval_requests WHERE \
           ($1::text IS NULL OR (CASE WHEN status = 'pending' AND expires_at <= now() THEN 'expired' ELSE status END) \
               = $1) \
           AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR org_id = $3) \
           AND (NOT $4 OR requester_person_id = $6) \
           AND (NOT $5 OR (status = 'pending' AND expires_at > now() AND requester_person_id <> $6 AND kind = ANY($7) \
                AND NOT EXISTS (SELECT 1 FROM approval_decisions d WHERE d.request_id = approval_requests.id AND \
                    d.version_seen = approval_requests.version AND d.approver_person_id = $6))) \
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
        let ds = store::decisions(&mut tx, r.id).await?;
        items.push(store::to_api(r, &ds, &p, &s.config.approval_policy)?);
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

#[utoipa::path(get, path = "/v1/approvals/{approval_id}", params(("approval_id" = Uuid, Path)), responses((status = 200,
    body = Approval), (status = 404, body = Problem)), security(("bearer" = [])), tag = "approvals")]
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
    let ds = store::decisions(&mut tx, id).await?;
    tx.commit().await?;
    audit.target("approval", id, Some(row.org_id));
    Ok(Json(store::to_api(&row, &ds, &p, &s.config.approval_policy)?))
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

#[utoipa::path(post, path = "/v1/approvals/{approval_id}/decisions", params(("approval_id" = Uuid, Path),
    ("Idempotency-Key" = Option<String>, Header)), request_body = DecideApproval,
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)),
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
    staff_only(&p)?;
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
            reply,
        })
        .await
        .map_err(|_| ApiError::internal())?;
    let (status, body) = answer.await.map_err(|_| ApiError::internal())??;
    Ok(respond(status, body))
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
    match super::rules::pending(row.status()) {
        Ok(()) => Ok((tx, row)),
        Err(refusal) if row.stored_status == ApprovalStatus::Pending => Err(expire(tx, &row, audit, refusal).await),
        Err(refusal) => Err(refusal.into()),
    }
}

/// Marks a request expired (committed even though the caller gets an error).
async fn expire(mut tx: Tx, row: &ApprovalRow, audit: &AuditCtx, refusal: crate::kernel::Refusal) -> ApiError {
    if store::mark_expired(&mut tx, row.id).await.is_ok() && tx.commit().await.is_ok() {
        audit.follow_up("approval.expired", serde_json::json!({ "approval_id": row.id }));
    }
    refusal.into()
}

#[utoipa::path(patch, path = "/v1/approvals/{approval_id}", params(("approval_id" = Uuid, Path)),
    request_body = AmendApproval,
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
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
    let kind = row.kind;
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
        "UPDATE approval_requests SET amount_minor = $2, currency = $3, payload = $4, reason = $5, version = version + \
            1, policy_version = $6, required = $7, updated_at = now(), \
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
    let ds = store::decisions(&mut tx, id).await?;
    tx.commit().await?;
    audit.detail("version", serde_json::json!(row.version));
    Ok(Json(store::to_api(&row, &ds, &p, &s.config.approval_policy)?))
}

#[utoipa::path(post, path = "/v1/approvals/{approval_id}/cancel", params(("Idempotency-Key" = Option<String>, Header),
    ("approval_id" = Uuid, Path)),
    responses((status = 200, body = Approval), (status = 403, body = Problem), (status = 409, body = Problem)),
        security(("bearer" = [])), tag = "approvals")]
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
    let tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let (mut tx, _) = requester_pending_in(tx, &p, &audit, id).await?;
    store::cancel(&mut tx, id).await?;
    let row = load(&mut tx, id, false).await?;
    let ds = store::decisions(&mut tx, id).await?;
    idempotency::finish(
        tx,
        &p,
        key.as_ref(),
        StatusCode::OK,
        &store::to_api(&row, &ds, &p, &s.config.approval_policy)?,
    )
    .await
}

#[utoipa::path(get, path = "/v1/approvals/{approval_id}/export", params(("approval_id" = Uuid, Path)),
    responses((status = 200, description = "The org's records, masked; once"), (status = 404, body = Problem)),
    security(("bearer" = [])), tag = "approvals")]
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
                      WHERE approval_id = $1 AND requester_staff_id = $2 AND downloaded_at IS NULL AND expires_at > \
                          now() AND content IS NOT NULL FOR UPDATE) \
         UPDATE data_exports d SET content = NULL, downloaded_at = now() FROM old WHERE d.id = old.id RETURNING \
             old.org_id, old.content",
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

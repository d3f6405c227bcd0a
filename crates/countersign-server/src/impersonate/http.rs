//! Support sessions over HTTP (issue 5): request, approve/reject, end, list,
//! timeline, review; and the customer-visible evidence and consent. The
//! decisions are `rules`'; this reads what they need and writes the result.

use super::rules::{self, Staff, Start};
use super::store::{self, load, Row, SELECT};
use crate::audit::store::{EventRow, EVENT_COLUMNS};
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path, Query};
use crate::http::idempotency::{self, Key};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::{self};
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use countersign_api::*;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The caller as the rules see a staff member.
fn staff(p: &Principal) -> Staff<'_> {
    Staff {
        staff_id: p.staff_id.filter(|_| p.kind == ActorKind::Staff).map(|s| s.0),
        person: p.person_id.filter(|_| p.kind == ActorKind::Staff),
        permissions: &p.permissions,
        impersonating: p.impersonation.is_some(),
    }
}

/// Only staff, in person, manage sessions: the caller's person.
fn staff_person(p: &Principal) -> ApiResult<Uuid> {
    let s = staff(p);
    s.person
        .filter(|_| s.staff_id.is_some() && !s.impersonating)
        .ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "Only staff manage support sessions."))
}

#[utoipa::path(post, path = "/v1/impersonations", params(("Idempotency-Key" = Option<String>, Header)),
    request_body = CreateImpersonation,
    responses((status = 201, body = ImpersonationSession), (status = 403, body = Problem), (status = 404,
        body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "impersonation")]
pub async fn create(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Body(req): Body<CreateImpersonation>,
) -> ApiResult<Response> {
    rules::may_start(&staff(&p))?;
    let person = staff_person(&p)?;
    let reason = Reason::parse(&req.reason).map_err(|e| ApiError::new(ErrorCode::ReasonRequired, format!("{e}.")))?;
    audit.reason(reason.as_str());
    let ticket = req.ticket_ref.trim();
    if ticket.is_empty() || ticket.len() > 100 || ticket.contains('\0') {
        return Err(ApiError::invalid("ticket_ref is required (at most 100 characters)."));
    }
    let minutes = req.duration_minutes.unwrap_or(15);
    if !(1..=60).contains(&minutes) {
        return Err(ApiError::invalid("duration_minutes must be between 1 and 60."));
    }
    let key = idempotency::from_headers(&headers, &p, "POST /v1/impersonations", &req)?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let subject: Option<(Uuid, String, String, String)> = sqlx::query_as(
        "SELECT u.org_id, u.region, u.role, o.support_access FROM customer_users u JOIN orgs o ON o.id = u.org_id \
         WHERE u.id = $1",
    )
    .bind(req.subject_user_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let (org, region, role, access) = subject.ok_or_else(ApiError::not_found)?;
    audit.target("user", req.subject_user_id, Some(org));
    // Parsed, never compared as text: an unknown mode must not skip consent.
    let access = SupportAccess::try_from(access).map_err(|_| ApiError::internal())?;
    let role = CustomerRole::try_from(role).map_err(|_| ApiError::internal())?;
    let granted = access == SupportAccess::Consent && store::grant_in_force(&mut tx, org).await?;
    let needs_approval = rules::start(access, granted, req.scope, role)? == Start::NeedsApproval;
    let id = Uuid::new_v4();
    let now = OffsetDateTime::now_utc();
    let (status, started, expires) = if needs_approval {
        ("pending_approval", None, None)
    } else {
        ("active", Some(now), Some(now + Duration::minutes(minutes)))
    };
    sqlx::query(
        "INSERT INTO impersonation_sessions (id, org_id, region, agent_staff_id, agent_person_id, subject_user_id, \
            reason, ticket_ref, scope, duration_minutes, status, started_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id)
    .bind(org)
    .bind(&region)
    .bind(p.staff_id.map(|s| s.0))
    .bind(person)
    .bind(req.subject_user_id.0)
    .bind(reason.as_str())
    .bind(ticket)
    .bind(req.scope.as_str())
    .bind(minutes as i32)
    .bind(status)
    .bind(started)
    .bind(expires)
    .execute(&mut *tx)
    .await?;
    let row = load(&mut tx, id, false).await?;
    audit.target("impersonation", id, Some(org));
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::CREATED, &row.to_api(None)?).await
}

/// Approve or reject a pending session: a supervisor, never the agent.
async fn decide(
    s: &AppState,
    p: &Principal,
    audit: &AuditCtx,
    key: Option<&Key>,
    id: Uuid,
    comment: &str,
    approve: bool,
) -> ApiResult<Response> {
    audit.target("impersonation", id, None);
    rules::may_decide(&staff(p))?;
    if comment.chars().count() > 2_000 || comment.contains('\0') {
        return Err(ApiError::invalid("comment: at most 2,000 characters, no NUL."));
    }
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, p, key);
    let row = load(&mut tx, id, true).await?;
    audit.target("impersonation", id, Some(row.org_id));
    rules::decide(&row.session()?, &staff(p), OffsetDateTime::now_utc())?;
    // The requester's access is read now, not as it was when they asked: a
    // supervisor cannot approve what the agent may no longer do.
    if approve {
        if let Some(why) = store::agent_lost_access(&mut tx, row.agent_staff_id, row.org_id, &row.region).await? {
            store::end_by_server(&mut tx, id, why).await?;
            tx.commit().await?;
            audit.detail("ended_by_server", serde_json::json!(why.as_str()));
            return Err(ApiError::new(
                ErrorCode::ImpersonationNotActive,
                "The requester's access changed since they asked; the session was ended.",
            ));
        }
    }
    let sql = if approve {
        "UPDATE impersonation_sessions SET status = 'active', started_at = now(), expires_at = now() + \
            make_interval(mins => duration_minutes), \
         decided_by_staff_id = $2, decision_comment = $3 WHERE id = $1"
    } else {
        "UPDATE impersonation_sessions SET status = 'rejected', decided_by_staff_id = $2, decision_comment = $3 WHERE \
            id = $1"
    };
    sqlx::query(sql)
        .bind(id)
        .bind(p.staff_id.map(|s| s.0))
        .bind(comment)
        .execute(&mut *tx)
        .await?;
    let row = load(&mut tx, id, false).await?;
    idempotency::finish(tx, p, key, StatusCode::OK, &row.to_api(None)?).await
}

#[utoipa::path(post, path = "/v1/impersonations/{session_id}/approve", params(("Idempotency-Key" = Option<String>,
    Header), ("session_id" = Uuid, Path)), request_body = Comment,
    responses((status = 200, body = ImpersonationSession), (status = 403, body = Problem), (status = 409,
        body = Problem)), security(("bearer" = [])), tag = "impersonation")]
pub async fn approve(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Body(body): Body<Comment>,
) -> ApiResult<Response> {
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/impersonations/{id}/approve"), &body)?;
    decide(&s, &p, &audit, key.as_ref(), id, &body.comment, true).await
}

#[utoipa::path(post, path = "/v1/impersonations/{session_id}/reject", params(("Idempotency-Key" = Option<String>,
    Header), ("session_id" = Uuid, Path)), request_body = Comment,
    responses((status = 200, body = ImpersonationSession), (status = 403, body = Problem), (status = 409,
        body = Problem)), security(("bearer" = [])), tag = "impersonation")]
pub async fn reject(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Body(body): Body<Comment>,
) -> ApiResult<Response> {
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/impersonations/{id}/reject"), &body)?;
    decide(&s, &p, &audit, key.as_ref(), id, &body.comment, false).await
}

#[utoipa::path(post, path = "/v1/impersonations/{session_id}/end", params(("Idempotency-Key" = Option<String>, Header),
    ("session_id" = Uuid, Path)),
    responses((status = 200, body = ImpersonationSession), (status = 403, body = Problem), (status = 409,
        body = Problem)), security(("bearer" = [])), tag = "impersonation")]
pub async fn end(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    audit.target("impersonation", id, None);
    staff_person(&p)?;
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/impersonations/{id}/end"), &())?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let row = load(&mut tx, id, true).await?;
    audit.target("impersonation", id, Some(row.org_id));
    rules::end(&row.session()?, &staff(&p), OffsetDateTime::now_utc())?;
    sqlx::query(
        "UPDATE impersonation_sessions SET status = 'ended', ended_at = now(), ended_by_staff_id = $2, \
        end_reason = 'ended' WHERE id = $1",
    )
    .bind(id)
    .bind(p.staff_id.map(|s| s.0))
    .execute(&mut *tx)
    .await?;
    let row = load(&mut tx, id, false).await?;
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::OK, &row.to_api(None)?).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// pending_approval, active, rejected, ended, expired
    pub status: Option<String>,
    /// unreviewed (ended, not yet reviewed), reviewed, flagged
    pub review: Option<String>,
    pub agent_id: Option<Uuid>,
    /// 1-200, default 50.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn supervisor(p: &Principal) -> bool {
    p.can(Permission::ImpersonationApprove) || p.can(Permission::ImpersonationReview) || p.can(Permission::AuditRead)
}

#[utoipa::path(get, path = "/v1/impersonations", params(ListParams), responses((status = 200,
    body = Page<ImpersonationSession>), (status = 403, body = Problem), (status = 422, body = Problem)),
        security(("bearer" = [])), tag = "impersonation")]
pub async fn list(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Page<ImpersonationSession>>> {
    staff_person(&p)?;
    if !supervisor(&p) && !p.can(Permission::ImpersonationStart) {
        return Err(ApiError::forbidden(Permission::ImpersonationReview));
    }
    // Agents see their own sessions; supervisors everything in scope.
    let only_agent = if supervisor(&p) {
        q.agent_id
    } else {
        p.staff_id.map(|s| s.0)
    };
    if let Some(st) = &q.status {
        if !["pending_approval", "active", "rejected", "ended", "expired"].contains(&st.as_str()) {
            return Err(ApiError::invalid("Unknown status."));
        }
    }
    let review = match q.review.as_deref() {
        None => None,
        Some(r @ ("unreviewed" | "reviewed" | "flagged")) => Some(r),
        Some(_) => return Err(ApiError::invalid("review must be unreviewed, reviewed or flagged.")),
    };
    // Pages like every list (API.md, Conventions): newest first, keyset cursor.
    let limit = crate::kernel::paging::limit(q.limit)?;
    let (after_t, after_id) = crate::kernel::paging::parse_ts_key(&crate::kernel::paging::decode_cursor(&q.cursor)?)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE ($1::uuid IS NULL OR s.agent_staff_id = $1) \
           AND ($2::text IS NULL OR (CASE WHEN s.status = 'active' AND s.expires_at <= now() THEN 'expired' ELSE \
               s.status END) = $2) \
           AND ($3::text IS NULL \
                OR ($3 = 'unreviewed' AND s.review = 'unreviewed' AND (s.status = 'ended' OR (s.status = 'active' AND \
                    s.expires_at <= now()))) \
                OR ($3 = 'reviewed' AND s.review <> 'unreviewed') \
                OR ($3 = 'flagged' AND s.review = 'flagged')) \
           AND ($5::timestamptz IS NULL OR (s.requested_at, s.id) < ($5, $6)) \
         ORDER BY s.requested_at DESC, s.id DESC LIMIT $4"
    ))
    .bind(only_agent)
    .bind(&q.status)
    .bind(review)
    .bind(limit + 1)
    .bind(after_t)
    .bind(after_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(crate::kernel::paging::page(
        rows,
        limit,
        |r| (crate::kernel::paging::ts_key(r.requested_at), r.id),
        |r| r.to_api(None),
    )?))
}

#[utoipa::path(get, path = "/v1/impersonations/{session_id}", params(("session_id" = Uuid, Path)),
    responses((status = 200, body = ImpersonationSession), (status = 404, body = Problem)), security(("bearer" = [])),
        tag = "impersonation")]
pub async fn get(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ImpersonationSession>> {
    audit.target("impersonation", id, None);
    staff_person(&p)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let row = load(&mut tx, id, false).await?;
    if !supervisor(&p) && p.staff_id.map(|s| s.0) != Some(row.agent_staff_id) {
        return Err(ApiError::not_found());
    }
    audit.target("impersonation", id, Some(row.org_id));
    // The timeline is exactly the events the session produced.
    let events: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM audit_events WHERE impersonation_id = $1 ORDER BY seq"
    ))
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Json(row.to_api(Some(events.iter().map(EventRow::to_api).collect()))?))
}

#[utoipa::path(post, path = "/v1/impersonations/{session_id}/review", params(("Idempotency-Key" = Option<String>,
    Header), ("session_id" = Uuid, Path)), request_body = Review,
    responses((status = 200, body = ImpersonationSession), (status = 403, body = Problem), (status = 409,
        body = Problem)), security(("bearer" = [])), tag = "impersonation")]
pub async fn review(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Body(req): Body<Review>,
) -> ApiResult<Response> {
    audit.target("impersonation", id, None);
    rules::may_review(&staff(&p))?;
    if req.note.chars().count() > 2_000 || req.note.contains('\0') {
        return Err(ApiError::invalid("note: at most 2,000 characters, no NUL."));
    }
    let key = idempotency::from_headers(&headers, &p, &format!("POST /v1/impersonations/{id}/review"), &req)?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let row = load(&mut tx, id, true).await?;
    audit.target("impersonation", id, Some(row.org_id));
    rules::review(&row.session()?, &staff(&p), OffsetDateTime::now_utc())?;
    let outcome = if req.outcome == ReviewOutcome::Ok {
        "ok"
    } else {
        "flagged"
    };
    audit.detail("outcome", serde_json::json!(outcome));
    sqlx::query(
        "UPDATE impersonation_sessions SET review = $2, review_note = $3, reviewed_by_staff_id = $4, \
        reviewed_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(outcome)
    .bind(&req.note)
    .bind(p.staff_id.map(|s| s.0))
    .execute(&mut *tx)
    .await?;
    let row = load(&mut tx, id, false).await?;
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::OK, &row.to_api(None)?).await
}

// ---------- customer evidence and consent ----------

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: Uuid,
    org_id: Uuid,
    granted_by_user_id: Uuid,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
    revoked_at: Option<OffsetDateTime>,
}

impl GrantRow {
    fn to_api(&self) -> Grant {
        Grant {
            id: self.id,
            org_id: OrgId(self.org_id),
            granted_by: UserId(self.granted_by_user_id),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            revoked: self.revoked_at.is_some(),
        }
    }
}

const GRANT_COLUMNS: &str = "id, org_id, granted_by_user_id, starts_at, ends_at, revoked_at";

#[utoipa::path(get, path = "/v1/orgs/{org_id}/support-access", params(("org_id" = Uuid, Path)),
    responses((status = 200, body = countersign_api::SupportAccessReport), (status = 404, body = Problem)),
        security(("bearer" = [])), tag = "impersonation")]
pub async fn support_access(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(org): Path<Uuid>,
) -> ApiResult<Json<countersign_api::SupportAccessReport>> {
    audit.target("org", org, None);
    p.require(Permission::SupportAccessRead)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let mode: Option<(String,)> = sqlx::query_as("SELECT support_access FROM orgs WHERE id = $1")
        .bind(org)
        .fetch_optional(&mut *tx)
        .await?;
    let (mode,) = mode.ok_or_else(ApiError::not_found)?;
    let sessions: Vec<Row> = sqlx::query_as(&format!("{SELECT} WHERE s.org_id = $1 ORDER BY s.requested_at DESC"))
        .bind(org)
        .fetch_all(&mut *tx)
        .await?;
    let grants: Vec<GrantRow> = sqlx::query_as(&format!(
        "SELECT {GRANT_COLUMNS} FROM support_access_grants WHERE org_id = $1 ORDER BY starts_at DESC"
    ))
    .bind(org)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    audit.target("org", org, Some(org));
    Ok(Json(countersign_api::SupportAccessReport {
        org_id: OrgId(org),
        mode: SupportAccess::try_from(mode).map_err(|_| ApiError::internal())?,
        sessions: sessions.iter().map(Row::entry).collect::<ApiResult<_>>()?,
        grants: grants.iter().map(GrantRow::to_api).collect(),
    }))
}

/// Only an admin of the org itself (a customer account, not staff).
fn org_admin_of(p: &Principal, org: Uuid) -> ApiResult<UserId> {
    match &p.customer {
        Some(c) if p.impersonation.is_none() && c.role == CustomerRole::OrgAdmin && c.org_id.0 == org => Ok(c.user_id),
        Some(c) if c.org_id.0 != org => Err(ApiError::not_found()),
        _ => Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only the organisation's own admins grant support access.",
        )),
    }
}

#[utoipa::path(post, path = "/v1/orgs/{org_id}/support-access/grants", params(("Idempotency-Key" = Option<String>,
    Header), ("org_id" = Uuid, Path)), request_body = CreateGrant,
    responses((status = 201, body = Grant), (status = 403, body = Problem), (status = 422, body = Problem)),
        security(("bearer" = [])), tag = "impersonation")]
pub async fn grant(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path(org): Path<Uuid>,
    Body(req): Body<CreateGrant>,
) -> ApiResult<Response> {
    audit.target("org", org, None);
    let admin = org_admin_of(&p, org)?;
    if !(1..=720).contains(&req.duration_hours) {
        return Err(ApiError::invalid("duration_hours must be between 1 and 720."));
    }
    let key = idempotency::from_headers(
        &headers,
        &p,
        &format!("POST /v1/orgs/{org}/support-access/grants"),
        &req,
    )?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "INSERT INTO support_access_grants (id, org_id, region, granted_by_user_id, ends_at) \
         SELECT $1, id, region, $2, now() + make_interval(hours => $3) FROM orgs WHERE id = $4 RETURNING \
             {GRANT_COLUMNS}"
    ))
    .bind(Uuid::new_v4())
    .bind(admin.0)
    .bind(req.duration_hours as i32)
    .bind(org)
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or_else(ApiError::not_found)?;
    audit.target("support_access_grant", row.id, Some(org));
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::CREATED, &row.to_api()).await
}

#[utoipa::path(post, path = "/v1/orgs/{org_id}/support-access/grants/{grant_id}/revoke",
    params(("Idempotency-Key" = Option<String>, Header), ("org_id" = Uuid, Path), ("grant_id" = Uuid, Path)),
    responses((status = 200, body = Grant), (status = 404, body = Problem)), security(("bearer" = [])),
        tag = "impersonation")]
pub async fn revoke_grant(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: HeaderMap,
    Path((org, id)): Path<(Uuid, Uuid)>,
) -> ApiResult<Response> {
    audit.target("support_access_grant", id, Some(org));
    org_admin_of(&p, org)?;
    let key = idempotency::from_headers(
        &headers,
        &p,
        &format!("POST /v1/orgs/{org}/support-access/grants/{id}/revoke"),
        &(),
    )?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let row: Option<GrantRow> = sqlx::query_as(&format!(
        "UPDATE support_access_grants SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND org_id = $2 \
            RETURNING {GRANT_COLUMNS}"
    ))
    .bind(id)
    .bind(org)
    .fetch_optional(&mut *tx)
    .await?;
    let row = row.ok_or_else(ApiError::not_found)?;
    idempotency::finish(tx, &p, key.as_ref(), StatusCode::OK, &row.to_api()).await
}

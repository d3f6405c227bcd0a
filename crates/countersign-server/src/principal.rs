//! Who is calling: a verified token resolved against the database on every
//! request, so a role change is effective on the very next request.

use crate::audit::AuditCtx;
use crate::error::{ApiError, ApiResult};
use crate::impersonate::{rules, store};
use crate::policy;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use countersign_api::{
    ActorKind, CustomerRole, EndReason, ErrorCode, Money, OrgId, Permission, Region, ReviewState, Scope, SessionScope,
    SessionStatus, StaffId, StaffRole, UserId, IMPERSONATION_HEADER,
};
use sqlx::PgPool;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct CustomerIdentity {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: CustomerRole,
}

/// A support session in use on this request (`Countersign-Impersonation`).
#[derive(Debug, Clone)]
pub struct Impersonation {
    pub session_id: uuid::Uuid,
    pub subject_user_id: UserId,
    pub org_id: OrgId,
    pub scope: SessionScope,
    pub expires_at: time::OffsetDateTime,
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: ActorKind,
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
    pub staff_id: Option<StaffId>,
    /// The person behind a staff account: separation of duties compares these.
    pub person_id: Option<uuid::Uuid>,
    pub customer: Option<CustomerIdentity>,
    pub roles: Vec<String>,
    pub permissions: BTreeSet<Permission>,
    pub scope: Scope,
    pub approval_limits: BTreeMap<String, Option<Money>>,
    pub permission_epoch: i64,
    /// Set while a staff member acts as a customer user: permissions, scope
    /// and `customer` are then the subject's, identity fields the agent's.
    pub impersonation: Option<Impersonation>,
}

impl Principal {
    /// The server acting on its own (schedules, masking for exports): no
    /// permissions, and all orgs only when it must see every tenant.
    pub fn service(all_orgs: bool) -> Principal {
        Principal {
            kind: ActorKind::Service,
            issuer: String::new(),
            subject: "countersign-server".into(),
            display_name: "Countersign server".into(),
            email: String::new(),
            staff_id: None,
            person_id: None,
            customer: None,
            roles: vec![],
            permissions: BTreeSet::new(),
            scope: Scope {
                all_orgs,
                regions: vec![],
                org_ids: vec![],
            },
            approval_limits: BTreeMap::new(),
            permission_epoch: 0,
            impersonation: None,
        }
    }

    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
    pub fn require(&self, p: Permission) -> ApiResult<()> {
        if self.can(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden(p))
        }
    }
}

#[derive(Clone, sqlx::FromRow)]
pub struct StaffRow {
    pub id: uuid::Uuid,
    pub person_id: uuid::Uuid,
    pub issuer: String,
    pub subject: String,
    pub display_name: String,
    pub email: String,
    pub roles: Vec<String>,
    pub scope_all: bool,
    pub scope_regions: Vec<String>,
    pub scope_org_ids: Vec<uuid::Uuid>,
    pub approval_limits: serde_json::Value,
    pub permission_epoch: i64,
    pub active: bool,
}

pub const STAFF_COLUMNS: &str =
    "id, person_id, issuer, subject, display_name, email, roles, scope_all, scope_regions, scope_org_ids, approval_limits, permission_epoch, active";

impl StaffRow {
    pub fn roles(&self) -> Vec<StaffRole> {
        self.roles.iter().filter_map(|r| StaffRole::parse(r)).collect()
    }
    pub fn scope(&self) -> Scope {
        Scope {
            all_orgs: self.scope_all,
            regions: self.scope_regions.iter().filter_map(|r| Region::parse(r)).collect(),
            org_ids: self.scope_org_ids.iter().copied().map(OrgId).collect(),
        }
    }
    pub fn limits(&self) -> BTreeMap<String, Option<Money>> {
        serde_json::from_value(self.approval_limits.clone()).unwrap_or_default()
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
        }
    }
}

#[derive(sqlx::FromRow)]
struct CustomerRow {
    user_id: uuid::Uuid,
    org_id: uuid::Uuid,
    name: String,
    email: String,
    role: String,
}

static BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"));

/// A staff member's row by id (the id is bound; only the constant column list is spliced, once).
pub async fn staff_by_id<'e>(db: impl sqlx::PgExecutor<'e>, id: uuid::Uuid) -> Result<Option<StaffRow>, sqlx::Error> {
    sqlx::query_as(&BY_ID).bind(id).fetch_optional(db).await
}

/// A staff lookup waiting for its batch.
pub struct Lookup {
    issuer: String,
    subject: String,
    reply: tokio::sync::oneshot::Sender<ApiResult<Option<StaffRow>>>,
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
    held: std::sync::Arc<tokio::sync::Mutex<crate::db::Held>>,
    sizes: prometheus::Histogram,
    jobs: Vec<Lookup>,
) {
    sizes.observe(jobs.len() as f64);
    let issuers: Vec<&str> = jobs.iter().map(|j| j.issuer.as_str()).collect();
    let subjects: Vec<&str> = jobs.iter().map(|j| j.subject.as_str()).collect();
    let mut held = held.lock().await;
    // A kept connection can have died meanwhile (a restarted or terminated
    // backend); a read is safe to repeat, so it is tried once more on a
    // fresh connection before the batch is refused.
    let mut rows = Err(sqlx::Error::PoolClosed);
    for _ in 0..2 {
        rows = async {
            sqlx::query_as::<_, StaffRow>(&LOOKUP)
                .bind(&issuers)
                .bind(&subjects)
                .fetch_all(held.conn(&pool).await?)
                .await
        }
        .await;
        if rows.is_ok() {
            break;
        }
        held.reset();
    }
    match rows {
        Ok(rows) => {
            for job in jobs {
                let row = rows
                    .iter()
                    .find(|r| r.issuer == job.issuer && r.subject == job.subject)
                    .cloned();
                let _ = job.reply.send(Ok(row));
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

/// A batch's statement: the identities are bound as two arrays; only the
/// constant column list is spliced, once.
static LOOKUP: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {STAFF_COLUMNS} FROM staff WHERE (issuer, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
    )
});

/// The staff row of (iss, sub), read in the next lookup batch.
async fn staff_row(state: &AppState, iss: &str, sub: &str) -> ApiResult<Option<StaffRow>> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let stopped = || {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The service is shutting down; retry shortly.",
        )
    };
    state
        .lookups
        .submit(Lookup {
            issuer: iss.to_owned(),
            subject: sub.to_owned(),
            reply,
        })
        .await
        .map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}

/// Resolves verified claims to a principal. Staff first, then customer accounts.
pub async fn resolve(state: &AppState, iss: &str, sub: &str) -> ApiResult<Principal> {
    let staff = staff_row(state, iss, sub).await?;
    if let Some(s) = staff {
        if !s.active {
            return Err(ApiError::new(
                ErrorCode::AccountDisabled,
                "This staff account is deactivated.",
            ));
        }
        let roles = s.roles();
        return Ok(Principal {
            kind: ActorKind::Staff,
            issuer: s.issuer.clone(),
            subject: s.subject.clone(),
            display_name: s.display_name.clone(),
            email: s.email.clone(),
            staff_id: Some(StaffId(s.id)),
            person_id: Some(s.person_id),
            customer: None,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            permissions: policy::staff_permissions(&roles),
            scope: s.scope(),
            approval_limits: s.limits(),
            permission_epoch: s.permission_epoch,
            impersonation: None,
        });
    }
    // Customer users live in a tenant table; this one narrow lookup goes
    // through a SECURITY DEFINER function that returns only the caller's row.
    let customer: Option<CustomerRow> =
        sqlx::query_as("SELECT user_id, org_id, name, email, role FROM cs_customer_identity($1, $2)")
            .bind(iss)
            .bind(sub)
            .fetch_optional(&state.db)
            .await?;
    let Some(c) = customer else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "This identity has no access to Countersign.",
        ));
    };
    let role = if c.role == "org_admin" {
        CustomerRole::OrgAdmin
    } else {
        CustomerRole::Member
    };
    Ok(Principal {
        kind: ActorKind::Customer,
        issuer: iss.to_owned(),
        subject: sub.to_owned(),
        display_name: c.name,
        email: c.email,
        staff_id: None,
        person_id: None,
        customer: Some(CustomerIdentity {
            user_id: UserId(c.user_id),
            org_id: OrgId(c.org_id),
            role,
        }),
        roles: vec![c.role],
        permissions: policy::customer_permissions(role),
        scope: Scope {
            all_orgs: false,
            regions: vec![],
            org_ids: vec![OrgId(c.org_id)],
        },
        approval_limits: BTreeMap::new(),
        permission_epoch: 0,
        impersonation: None,
    })
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        // Two Authorization headers are ambiguous: refuse, never first-wins.
        if parts
            .headers
            .get_all(axum::http::header::AUTHORIZATION)
            .iter()
            .nth(1)
            .is_some()
        {
            return Err(ApiError::new(
                ErrorCode::TokenInvalid,
                "Send exactly one Authorization header.",
            ));
        }
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "Send an access token as Authorization: Bearer <token>.",
            )
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::TokenInvalid,
                    "The Authorization header is not a bearer token.",
                )
            })?;
        let claims = state.verifier.verify(token).await?;
        let principal = resolve(state, &claims.iss, &claims.sub).await;
        if let Some(ctx) = parts.extensions.get::<AuditCtx>() {
            let kind = principal.as_ref().map(|p| p.kind).ok();
            ctx.set_actor(&claims.iss, &claims.sub, kind);
        }
        // A deactivated agent's session ends with the account, and the
        // request that tried to use it says so.
        if let (Err(e), Some(h)) = (&principal, parts.headers.get(IMPERSONATION_HEADER)) {
            if e.code == ErrorCode::AccountDisabled {
                if let Ok(id) = uuid::Uuid::parse_str(h.to_str().unwrap_or("").trim()) {
                    end_disabled_agents_session(state, &claims.iss, &claims.sub, id).await?;
                }
                return Err(ApiError::new(
                    ErrorCode::ImpersonationNotActive,
                    "Your account was deactivated; the support session was ended.",
                ));
            }
        }
        let mut principal = principal?;
        if let Some(h) = parts.headers.get(IMPERSONATION_HEADER) {
            let route = parts
                .extensions
                .get::<axum::extract::MatchedPath>()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default();
            let ctx = parts.extensions.get::<AuditCtx>().cloned().unwrap_or_default();
            principal = impersonate(
                state,
                principal,
                h.to_str().unwrap_or(""),
                parts.method.as_str(),
                &route,
                &ctx,
            )
            .await?;
        }
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    agent_staff_id: uuid::Uuid,
    agent_person_id: uuid::Uuid,
    subject_user_id: uuid::Uuid,
    org_id: uuid::Uuid,
    region: String,
    #[sqlx(try_from = "String")]
    scope: SessionScope,
    #[sqlx(try_from = "String")]
    status: SessionStatus,
    end_reason: Option<String>,
    expires_at: Option<time::OffsetDateTime>,
    #[sqlx(try_from = "String")]
    review: ReviewState,
    #[sqlx(try_from = "String")]
    subject_role: CustomerRole,
}

impl SessionRow {
    fn session(&self) -> ApiResult<rules::Session> {
        let end_reason = match &self.end_reason {
            None => None,
            Some(r) => Some(EndReason::try_from(r.clone()).map_err(|_| ApiError::internal())?),
        };
        Ok(rules::Session {
            agent_staff: self.agent_staff_id,
            agent_person: self.agent_person_id,
            status: self.status,
            end_reason,
            expires_at: self.expires_at,
            review: self.review,
        })
    }
}

/// Ends session `id` of the deactivated staff account (`iss`, `sub`), if it
/// is theirs and still open.
async fn end_disabled_agents_session(state: &AppState, iss: &str, sub: &str, id: uuid::Uuid) -> ApiResult<()> {
    let mut tx = crate::db::begin(&state.db, &Principal::service(true)).await?;
    sqlx::query(
        "UPDATE impersonation_sessions SET status = 'ended', ended_at = now(), end_reason = 'account_disabled' \
         WHERE id = $1 AND status IN ('active', 'pending_approval') \
           AND agent_staff_id = (SELECT id FROM staff WHERE issuer = $2 AND subject = $3)",
    )
    .bind(id)
    .bind(iss)
    .bind(sub)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Turns the agent's principal into one acting as the session's subject.
async fn impersonate(
    state: &AppState,
    agent: Principal,
    header: &str,
    method: &str,
    route: &str,
    audit: &AuditCtx,
) -> ApiResult<Principal> {
    let not_active = |why: &str| ApiError::new(ErrorCode::ImpersonationNotActive, why.to_owned());
    // Another agent's session and a random id read alike (no existence oracle).
    let no_such = || not_active("No such support session.");
    if agent.kind != ActorKind::Staff {
        return Err(ApiError::new(ErrorCode::Forbidden, "Only staff impersonate."));
    }
    let id = uuid::Uuid::parse_str(header.trim()).map_err(|_| no_such())?;
    let agent_id = agent.staff_id.map(|s| s.0);
    // Read across every org: a session whose org left the agent's scope must
    // still be found, to be ended rather than silently kept.
    let mut tx = crate::db::begin(&state.db, &Principal::service(true)).await?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.agent_staff_id, s.agent_person_id, s.subject_user_id, s.org_id, s.region, s.scope, s.status, \
           s.end_reason, s.expires_at, s.review, u.role AS subject_role \
         FROM impersonation_sessions s JOIN customer_users u ON u.id = s.subject_user_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let row = match row {
        Some(r) if Some(r.agent_staff_id) == agent_id => r,
        _ => return Err(no_such()),
    };
    let evidence = serde_json::json!({ "user_id": row.subject_user_id, "org_id": row.org_id });
    if matches!(row.status, SessionStatus::Active | SessionStatus::PendingApproval) {
        if let Some(why) = store::agent_lost_access(&mut tx, row.agent_staff_id, row.org_id, &row.region).await? {
            store::end_by_server(&mut tx, id, why).await?;
            tx.commit().await?;
            audit.impersonation(id, evidence);
            audit.detail("ended_by_server", serde_json::json!(why.as_str()));
            return Err(not_active("Your access changed; the support session was ended."));
        }
    }
    crate::db::end_read(tx);
    let now = time::OffsetDateTime::now_utc();
    let session = row.session()?;
    if let Err(refusal) = rules::use_session(&session, now) {
        // Each later attempt at a session the server ended shows in its
        // timeline too.
        if refusal.code == ErrorCode::ImpersonationNotActive && session.status == SessionStatus::Ended {
            audit.impersonation(id, evidence);
        }
        return Err(refusal.into());
    }
    // From here on the request happens inside the session, refused or not.
    audit.impersonation(id, evidence);
    rules::allowed_while_impersonating(method, route)?;
    let role = row.subject_role;
    Ok(Principal {
        permissions: policy::customer_permissions(role),
        scope: Scope {
            all_orgs: false,
            regions: vec![],
            org_ids: vec![OrgId(row.org_id)],
        },
        customer: Some(CustomerIdentity {
            user_id: UserId(row.subject_user_id),
            org_id: OrgId(row.org_id),
            role,
        }),
        approval_limits: BTreeMap::new(),
        impersonation: Some(Impersonation {
            session_id: id,
            subject_user_id: UserId(row.subject_user_id),
            org_id: OrgId(row.org_id),
            scope: row.scope,
            expires_at: row.expires_at.unwrap_or(now),
        }),
        ..agent
    })
}

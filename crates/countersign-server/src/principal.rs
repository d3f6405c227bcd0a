//! Who is calling: a verified token resolved against the database on every
//! request, so a role change is effective on the very next request.

use crate::audit::AuditCtx;
use crate::error::{ApiError, ApiResult};
use crate::policy;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use countersign_api::{ActorKind, CustomerRole, ErrorCode, Money, OrgId, Permission, Region, Scope, SessionScope, StaffId, StaffRole, UserId, IMPERSONATION_HEADER};
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
            scope: Scope { all_orgs, regions: vec![], org_ids: vec![] },
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
pub async fn lookup_batch(pool: PgPool, held: std::sync::Arc<tokio::sync::Mutex<crate::db::Held>>, sizes: prometheus::Histogram, jobs: Vec<Lookup>) {
    sizes.observe(jobs.len() as f64);
    let issuers: Vec<&str> = jobs.iter().map(|j| j.issuer.as_str()).collect();
    let subjects: Vec<&str> = jobs.iter().map(|j| j.subject.as_str()).collect();
    let mut held = held.lock().await;
    // A kept connection can have died meanwhile (a restarted or terminated
    // backend); a read is safe to repeat, so it is tried once more on a
    // fresh connection before the batch is refused.
    let mut rows = Err(sqlx::Error::PoolClosed);
    for _ in 0..2 {
        rows = async { sqlx::query_as::<_, StaffRow>(&LOOKUP).bind(&issuers).bind(&subjects).fetch_all(held.conn(&pool).await?).await }.await;
        if rows.is_ok() {
            break;
        }
        held.reset();
    }
    match rows {
        Ok(rows) => {
            for job in jobs {
                let row = rows.iter().find(|r| r.issuer == job.issuer && r.subject == job.subject).cloned();
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
static LOOKUP: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("SELECT {STAFF_COLUMNS} FROM staff WHERE (issuer, subject) IN (SELECT * FROM unnest($1::text[], $2::text[]))"));

/// The staff row of (iss, sub), read in the next lookup batch.
async fn staff_row(state: &AppState, iss: &str, sub: &str) -> ApiResult<Option<StaffRow>> {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let stopped = || ApiError::new(ErrorCode::ServiceUnavailable, "The service is shutting down; retry shortly.");
    state.lookups.submit(Lookup { issuer: iss.to_owned(), subject: sub.to_owned(), reply }).await.map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}

/// Resolves verified claims to a principal. Staff first, then customer accounts.
pub async fn resolve(state: &AppState, iss: &str, sub: &str) -> ApiResult<Principal> {
    let staff = staff_row(state, iss, sub).await?;
    if let Some(s) = staff {
        if !s.active {
            return Err(ApiError::new(ErrorCode::Forbidden, "This staff account is deactivated."));
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
    let customer: Option<CustomerRow> = sqlx::query_as("SELECT user_id, org_id, name, email, role FROM cs_customer_identity($1, $2)")
        .bind(iss)
        .bind(sub)
        .fetch_optional(&state.db)
        .await?;
    let Some(c) = customer else {
        return Err(ApiError::new(ErrorCode::Forbidden, "This identity has no access to Countersign."));
    };
    let role = if c.role == "org_admin" { CustomerRole::OrgAdmin } else { CustomerRole::Member };
    Ok(Principal {
        kind: ActorKind::Customer,
        issuer: iss.to_owned(),
        subject: sub.to_owned(),
        display_name: c.name,
        email: c.email,
        staff_id: None,
        person_id: None,
        customer: Some(CustomerIdentity { user_id: UserId(c.user_id), org_id: OrgId(c.org_id), role }),
        roles: vec![c.role],
        permissions: policy::customer_permissions(role),
        scope: Scope { all_orgs: false, regions: vec![], org_ids: vec![OrgId(c.org_id)] },
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
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "Send an access token as Authorization: Bearer <token>."))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| ApiError::new(ErrorCode::TokenInvalid, "The Authorization header is not a bearer token."))?;
        let claims = state.verifier.verify(token).await?;
        let principal = resolve(state, &claims.iss, &claims.sub).await;
        if let Some(ctx) = parts.extensions.get::<AuditCtx>() {
            let kind = principal.as_ref().map(|p| p.kind).ok();
            ctx.set_actor(&claims.iss, &claims.sub, kind);
        }
        let mut principal = principal?;
        if let Some(h) = parts.headers.get(IMPERSONATION_HEADER) {
            let route = parts.extensions.get::<axum::extract::MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
            let ctx = parts.extensions.get::<AuditCtx>().cloned().unwrap_or_default();
            principal = impersonate(state, principal, h.to_str().unwrap_or(""), parts.method.as_str(), &route, &ctx).await?;
        }
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// What a support session may reach: the subject's reads and the customer
/// actions. Everything else — reveals, approvals, staff administration,
/// audit, starting other sessions — is refused while impersonating.
const WHILE_IMPERSONATING: &[(&str, &str)] = &[
    ("GET", "/v1/me"),
    ("GET", "/v1/orgs"),
    ("GET", "/v1/orgs/{org_id}"),
    ("GET", "/v1/orgs/{org_id}/users"),
    ("GET", "/v1/users/{user_id}"),
    ("GET", "/v1/orgs/{org_id}/invoices"),
    ("GET", "/v1/invoices/{invoice_id}"),
    ("PATCH", "/v1/users/{user_id}"),
    ("POST", "/v1/invoices/{invoice_id}/resend"),
];

#[derive(sqlx::FromRow)]
struct SessionRow {
    agent_staff_id: uuid::Uuid,
    subject_user_id: uuid::Uuid,
    org_id: uuid::Uuid,
    scope: String,
    status: String,
    expires_at: Option<time::OffsetDateTime>,
    subject_role: String,
}

/// Turns the agent's principal into one acting as the session's subject.
async fn impersonate(state: &AppState, agent: Principal, header: &str, method: &str, route: &str, audit: &AuditCtx) -> ApiResult<Principal> {
    let not_active = |why: &str| ApiError::new(ErrorCode::ImpersonationNotActive, why.to_owned());
    if agent.kind != ActorKind::Staff {
        return Err(ApiError::new(ErrorCode::Forbidden, "Only staff impersonate."));
    }
    let id = uuid::Uuid::parse_str(header.trim()).map_err(|_| not_active("No such support session."))?;
    let mut tx = crate::db::begin(&state.db, &agent).await?;
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.agent_staff_id, s.subject_user_id, s.org_id, s.scope, s.status, s.expires_at, u.role AS subject_role \
         FROM impersonation_sessions s JOIN customer_users u ON u.id = s.subject_user_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    crate::db::end_read(tx);
    let row = row.ok_or_else(|| not_active("No such support session."))?;
    if Some(row.agent_staff_id) != agent.staff_id.map(|s| s.0) {
        return Err(not_active("This support session belongs to another agent."));
    }
    let now = time::OffsetDateTime::now_utc();
    match row.status.as_str() {
        "active" if row.expires_at.is_some_and(|e| e > now) => {}
        "active" | "ended" => return Err(ApiError::new(ErrorCode::ImpersonationExpired, "The support session has ended.")),
        _ => return Err(not_active("The support session is not active (pending approval or rejected).")),
    }
    // From here on the request happens inside the session, refused or not.
    audit.impersonation(id, serde_json::json!({ "user_id": row.subject_user_id, "org_id": row.org_id }));
    if !WHILE_IMPERSONATING.contains(&(method, route)) {
        return Err(ApiError::new(ErrorCode::NotWhileImpersonating, "Not allowed while impersonating a customer user."));
    }
    let role = if row.subject_role == "org_admin" { CustomerRole::OrgAdmin } else { CustomerRole::Member };
    Ok(Principal {
        permissions: policy::customer_permissions(role),
        scope: Scope { all_orgs: false, regions: vec![], org_ids: vec![OrgId(row.org_id)] },
        customer: Some(CustomerIdentity { user_id: UserId(row.subject_user_id), org_id: OrgId(row.org_id), role }),
        approval_limits: BTreeMap::new(),
        impersonation: Some(Impersonation {
            session_id: id,
            subject_user_id: UserId(row.subject_user_id),
            org_id: OrgId(row.org_id),
            scope: if row.scope == "write" { SessionScope::Write } else { SessionScope::Read },
            expires_at: row.expires_at.unwrap_or(now),
        }),
        ..agent
    })
}

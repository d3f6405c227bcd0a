//! Who is calling: a verified token resolved against the database on every
//! request, so a role change is effective on the very next request.

use crate::audit::AuditCtx;
use crate::error::{ApiError, ApiResult};
use crate::policy;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use countersign_api::{ActorKind, CustomerRole, ErrorCode, Money, OrgId, Permission, Region, Scope, StaffId, StaffRole, UserId};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone)]
pub struct CustomerIdentity {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: CustomerRole,
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
}

impl Principal {
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

#[derive(sqlx::FromRow)]
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

/// Resolves verified claims to a principal. Staff first, then customer accounts.
pub async fn resolve(state: &AppState, iss: &str, sub: &str) -> ApiResult<Principal> {
    let staff: Option<StaffRow> = sqlx::query_as(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE issuer = $1 AND subject = $2"))
        .bind(iss)
        .bind(sub)
        .fetch_optional(&state.db)
        .await?;
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
        let principal = principal?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

//! Who is calling: the request's extractor. A verified token is resolved
//! against the database on every request (staff first, then customer
//! accounts), and a `Countersign-Impersonation` header turns a staff
//! member's principal into one acting inside their support session.

use super::rules;
use super::store::{Lookup, StaffRow};
use super::token::Claims;
use crate::http::context::{AuditCtx, RequestId, RouteInfo};
use crate::http::problem::{ApiError, ApiResult};
use crate::impersonate::{rules as sessions, store as session_store};
use crate::kernel::caller::{CustomerIdentity, Impersonation, Principal};
use crate::kernel::permissions;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use countersign_api::{
    ActorKind, CustomerRole, ErrorCode, OrgId, Scope, SessionStatus, StaffId, UserId, IMPERSONATION_HEADER,
};
use std::collections::BTreeMap;

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
    let Some(p) = lookup(state, iss, sub).await? else {
        rules::account(rules::Account::None)?;
        return Err(ApiError::internal());
    };
    Ok(p)
}

/// The principal of (iss, sub), if it has an account; an account that may
/// not act (deactivated, waiting for access) is refused.
async fn lookup(state: &AppState, iss: &str, sub: &str) -> ApiResult<Option<Principal>> {
    let staff = staff_row(state, iss, sub).await?;
    if let Some(s) = staff {
        rules::account(rules::Account::Staff {
            active: s.active,
            pending: s.access_pending,
        })?;
        let roles = s.roles();
        return Ok(Some(Principal {
            kind: ActorKind::Staff,
            issuer: s.issuer.clone(),
            subject: s.subject.clone(),
            display_name: s.display_name.clone(),
            email: s.email.clone(),
            staff_id: Some(StaffId(s.id)),
            person_id: Some(s.person_id),
            customer: None,
            roles: roles.iter().map(|r| r.as_str().to_owned()).collect(),
            permissions: permissions::staff_permissions(&roles),
            scope: s.scope(),
            approval_limits: s.limits(),
            permission_epoch: s.permission_epoch,
            impersonation: None,
        }));
    }
    // Customer users live in a tenant table; this one narrow lookup goes
    // through a SECURITY DEFINER function that returns only the caller's row.
    let customer = super::store::customer_identity(&state.db, iss, sub).await?;
    let Some(c) = customer else {
        return Ok(None);
    };
    let role = if c.role == "org_admin" {
        CustomerRole::OrgAdmin
    } else {
        CustomerRole::Member
    };
    Ok(Some(Principal {
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
        permissions: permissions::customer_permissions(role),
        scope: Scope {
            all_orgs: false,
            regions: vec![],
            org_ids: vec![OrgId(c.org_id)],
        },
        approval_limits: BTreeMap::new(),
        permission_epoch: 0,
        impersonation: None,
    }))
}

/// A verified identity without any account: at an issuer configured for
/// just-in-time provisioning an account with no roles is created for it
/// (audited, actor the new account) and the request is `access_pending`;
/// elsewhere it is `forbidden`, as it always was.
async fn unknown_identity(state: &AppState, claims: &Claims, parts: &Parts) -> ApiError {
    let jit = state.config.issuer(&claims.iss).is_some_and(|i| i.jit_provisioning);
    if let Err(refusal) = rules::unknown_identity(jit) {
        return refusal.into();
    }
    let text = |v: &Option<serde_json::Value>| v.as_ref().and_then(|v| v.as_str()).map(str::to_owned);
    let (display_name, email) = rules::provisioned_names(
        &claims.sub,
        text(&claims.name).as_deref(),
        text(&claims.email).as_deref(),
    );
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), |r| r.0.clone());
    let event = crate::audit::store::EventRow {
        actor_issuer: Some(claims.iss.clone()),
        actor_subject: Some(claims.sub.clone()),
        actor_kind: Some("staff".into()),
        ip: parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
        user_agent: parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(256).collect()),
        details: serde_json::json!({ "roles": [], "jit_provisioning": true }),
        ..crate::audit::store::EventRow::new("staff.provisioned", request_id)
    };
    let new = super::store::Provisioned {
        issuer: claims.iss.clone(),
        subject: claims.sub.clone(),
        display_name,
        email,
    };
    match super::store::provision(&state.db, &new, event).await {
        Ok(Some(id)) => {
            tracing::info!(staff_id = %id, issuer = %claims.iss, "a staff account was provisioned at first sign-in");
            rules::provisioned().into()
        }
        // Another request provisioned it first: it waits all the same.
        Ok(None) => rules::provisioned().into(),
        Err(e) => e,
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(p.clone());
        }
        let headers: Vec<&str> = parts
            .headers
            .get_all(axum::http::header::AUTHORIZATION)
            .iter()
            .map(|h| h.to_str().unwrap_or(""))
            .collect();
        let token = rules::bearer(&headers)?;
        let claims = state.verifiers.verify(token).await?;
        let principal = match lookup(state, &claims.iss, &claims.sub).await {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(unknown_identity(state, &claims, parts).await),
            Err(e) => Err(e),
        };
        if let Some(ctx) = parts.extensions.get::<AuditCtx>() {
            let kind = principal.as_ref().map(|p| p.kind).ok();
            ctx.set_actor(&claims.iss, &claims.sub, kind);
        }
        // A deactivated agent's session ends with the account, and the
        // request that tried to use it says so.
        if let (Err(e), Some(h)) = (&principal, parts.headers.get(IMPERSONATION_HEADER)) {
            if e.code == ErrorCode::AccountDisabled {
                if let Ok(id) = uuid::Uuid::parse_str(h.to_str().unwrap_or("").trim()) {
                    session_store::end_disabled_agents_session(&state.db, &claims.iss, &claims.sub, id).await?;
                }
                return Err(ApiError::new(
                    ErrorCode::ImpersonationNotActive,
                    "Your account was deactivated; the support session was ended.",
                ));
            }
        }
        let mut principal = principal?;
        if let Some(h) = parts.headers.get(IMPERSONATION_HEADER) {
            let marked = parts
                .extensions
                .get::<RouteInfo>()
                .is_some_and(|r| r.while_impersonating);
            let ctx = parts.extensions.get::<AuditCtx>().cloned().unwrap_or_default();
            principal = impersonate(state, principal, h.to_str().unwrap_or(""), marked, &ctx).await?;
        }
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// Turns the agent's principal into one acting as the session's subject.
async fn impersonate(
    state: &AppState,
    agent: Principal,
    header: &str,
    // The route table marks the request's route as allowed in a session.
    marked: bool,
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
    let (mut tx, row) = session_store::session_for_use(&state.db, id).await?;
    let row = match row {
        Some(r) if Some(r.agent_staff_id) == agent_id => r,
        _ => return Err(no_such()),
    };
    let evidence = serde_json::json!({ "user_id": row.subject_user_id, "org_id": row.org_id });
    if matches!(row.status, SessionStatus::Active | SessionStatus::PendingApproval) {
        if let Some(why) =
            session_store::agent_lost_access(&mut tx, row.agent_staff_id, row.org_id, &row.region).await?
        {
            session_store::end_by_server(&mut tx, id, why).await?;
            tx.commit().await?;
            audit.impersonation(id, evidence);
            audit.detail("ended_by_server", serde_json::json!(why.as_str()));
            return Err(not_active("Your access changed; the support session was ended."));
        }
    }
    crate::kernel::db::end_read(tx);
    let now = time::OffsetDateTime::now_utc();
    let session = row.session()?;
    if let Err(refusal) = sessions::use_session(&session, now) {
        // Each later attempt at a session the server ended shows in its
        // timeline too.
        if refusal.code == ErrorCode::ImpersonationNotActive && session.status == SessionStatus::Ended {
            audit.impersonation(id, evidence);
        }
        return Err(refusal.into());
    }
    // From here on the request happens inside the session, refused or not.
    audit.impersonation(id, evidence);
    sessions::allowed_while_impersonating(marked)?;
    let role = row.subject_role;
    Ok(Principal {
        permissions: permissions::customer_permissions(role),
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

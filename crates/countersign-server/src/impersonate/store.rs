//! Support sessions in the database: rows parsed into the rules' types,
//! and the SQL the principal runs when a session is used.

use super::rules::{self, Session, Shown};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::GlobalTx;
use countersign_api::*;
use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// A session as stored; scope, status and review parse when the row is
/// read (an unknown value is an error there, never a default).
#[derive(sqlx::FromRow)]
pub struct Row {
    pub id: Uuid,
    pub org_id: Uuid,
    pub region: String,
    pub agent_staff_id: Uuid,
    pub agent_person_id: Uuid,
    pub agent_name: String,
    pub subject_user_id: Uuid,
    pub reason: String,
    pub ticket_ref: String,
    #[sqlx(try_from = "String")]
    pub scope: SessionScope,
    pub duration_minutes: i32,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    pub requested_at: OffsetDateTime,
    pub started_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    #[sqlx(rename = "end_reason")]
    pub end_reason_stored: Option<String>,
    #[sqlx(try_from = "String")]
    pub review: ReviewState,
    pub review_note: Option<String>,
}

pub const SELECT: &str = "SELECT s.id, s.org_id, s.region, s.agent_staff_id, s.agent_person_id, a.display_name AS \
    agent_name, s.subject_user_id, s.reason, s.ticket_ref, \
     s.scope, s.duration_minutes, s.status, s.requested_at, s.started_at, s.expires_at, s.ended_at, s.end_reason, \
         s.review, s.review_note \
     FROM impersonation_sessions s JOIN staff a ON a.id = s.agent_staff_id";

impl Row {
    /// The session as the rules see it.
    pub fn session(&self) -> ApiResult<Session> {
        let end_reason = match &self.end_reason_stored {
            None => None,
            Some(r) => Some(EndReason::try_from(r.clone()).map_err(|e| {
                tracing::error!(error = %e, "impersonation_sessions.end_reason");
                ApiError::internal()
            })?),
        };
        Ok(Session {
            agent_staff: self.agent_staff_id,
            agent_person: self.agent_person_id,
            status: self.status,
            end_reason,
            expires_at: self.expires_at,
            review: self.review,
        })
    }
    /// What the session reads as now.
    pub fn shown(&self) -> ApiResult<Shown> {
        Ok(self.session()?.shown(OffsetDateTime::now_utc()))
    }
    pub fn to_api(&self, timeline: Option<Vec<AuditEvent>>) -> ApiResult<ImpersonationSession> {
        let shown = self.shown()?;
        Ok(ImpersonationSession {
            id: ImpersonationId(self.id),
            org_id: OrgId(self.org_id),
            agent_id: StaffId(self.agent_staff_id),
            agent_name: self.agent_name.clone(),
            subject_user_id: UserId(self.subject_user_id),
            reason: self.reason.clone(),
            ticket_ref: self.ticket_ref.clone(),
            scope: self.scope,
            duration_minutes: self.duration_minutes as i64,
            status: shown.as_str().to_owned(),
            requested_at: self.requested_at,
            started_at: self.started_at,
            expires_at: self.expires_at,
            ended_at: self
                .ended_at
                .or(if shown == Shown::Expired { self.expires_at } else { None }),
            end_reason: self.end_reason_stored.clone(),
            review: self.review.as_str().to_owned(),
            review_note: self.review_note.clone(),
            timeline,
        })
    }
    pub fn entry(&self) -> ApiResult<SupportAccessEntry> {
        let api = self.to_api(None)?;
        Ok(SupportAccessEntry {
            session_id: api.id,
            agent_name: api.agent_name,
            reason: api.reason,
            ticket_ref: api.ticket_ref,
            scope: api.scope,
            status: api.status,
            started_at: api.started_at,
            ended_at: api.ended_at,
        })
    }
}

pub async fn load(tx: &mut PgConnection, id: Uuid, lock: bool) -> ApiResult<Row> {
    let sql = format!("{SELECT} WHERE s.id = $1{}", if lock { " FOR UPDATE OF s" } else { "" });
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Is an org admin's grant of support access in force for `org` now?
pub async fn grant_in_force(tx: &mut PgConnection, org: Uuid) -> ApiResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM support_access_grants WHERE org_id = $1 AND revoked_at IS NULL \
           AND now() >= starts_at AND now() < ends_at)",
    )
    .bind(org)
    .fetch_one(&mut *tx)
    .await?)
}

/// Why `staff_id` may no longer hold a support session in (`org`,
/// `region`), read now (see [`rules::lost_access`]).
pub async fn agent_lost_access(
    tx: &mut PgConnection,
    staff_id: Uuid,
    org: Uuid,
    region: &str,
) -> ApiResult<Option<EndReason>> {
    let row = crate::sign_in::store::staff_by_id(&mut *tx, staff_id).await?;
    let permissions = row
        .as_ref()
        .map(|r| crate::kernel::permissions::staff_permissions(&r.roles()))
        .unwrap_or_default();
    let now = row.as_ref().map(|r| rules::AgentNow {
        active: r.active,
        permissions: &permissions,
        all_orgs: r.scope_all,
        regions: &r.scope_regions.0,
        org_ids: &r.scope_org_ids,
    });
    Ok(rules::lost_access(now.as_ref(), org, region))
}

/// The server ends a session its agent may no longer hold; the review
/// queue shows why.
pub async fn end_by_server(tx: &mut PgConnection, id: Uuid, why: EndReason) -> ApiResult<()> {
    sqlx::query(
        "UPDATE impersonation_sessions SET status = 'ended', ended_at = now(), end_reason = $2 \
         WHERE id = $1 AND status IN ('active', 'pending_approval')",
    )
    .bind(id)
    .bind(why.as_str())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Ends every open session of the agent `staff_id` (the account was just
/// deactivated), in the caller's transaction: their ids. One that outlived
/// its time already reads as expired and keeps that: it ran its course.
pub async fn end_agents_sessions(tx: &mut PgConnection, staff_id: Uuid, why: EndReason) -> ApiResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "UPDATE impersonation_sessions SET status = 'ended', ended_at = now(), end_reason = $2 \
         WHERE agent_staff_id = $1 AND (status = 'pending_approval' OR (status = 'active' AND expires_at > now())) \
         RETURNING id",
    )
    .bind(staff_id)
    .bind(why.as_str())
    .fetch_all(&mut *tx)
    .await?)
}

/// A session as a request inside it needs it.
#[derive(sqlx::FromRow)]
pub struct SessionRow {
    pub agent_staff_id: uuid::Uuid,
    pub agent_person_id: uuid::Uuid,
    pub subject_user_id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    pub region: String,
    #[sqlx(try_from = "String")]
    pub scope: SessionScope,
    #[sqlx(try_from = "String")]
    pub status: SessionStatus,
    pub end_reason: Option<String>,
    pub expires_at: Option<time::OffsetDateTime>,
    #[sqlx(try_from = "String")]
    pub review: ReviewState,
    #[sqlx(try_from = "String")]
    pub subject_role: CustomerRole,
}

impl SessionRow {
    pub fn session(&self) -> ApiResult<rules::Session> {
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

/// Session `id` for use by its agent, read across every org: a session whose
/// org left the agent's scope must still be found, to be ended rather than
/// silently kept. The transaction stays open for ending it.
pub async fn session_for_use(pool: &sqlx::PgPool, id: Uuid) -> ApiResult<(GlobalTx, Option<SessionRow>)> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let row = sqlx::query_as(
        "SELECT s.agent_staff_id, s.agent_person_id, s.subject_user_id, s.org_id, s.region, s.scope, s.status, \
           s.end_reason, s.expires_at, s.review, u.role AS subject_role \
         FROM impersonation_sessions s JOIN customer_users u ON u.id = s.subject_user_id WHERE s.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    Ok((tx, row))
}

/// Ends session `id` of the deactivated staff account (`iss`, `sub`), if it
/// is theirs and still open.
pub async fn end_disabled_agents_session(pool: &sqlx::PgPool, iss: &str, sub: &str, id: Uuid) -> ApiResult<()> {
    let mut tx = crate::kernel::db::global(pool).await?;
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

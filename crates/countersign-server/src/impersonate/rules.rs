//! Support sessions (API.md "Impersonation"), as functions of what is known:
//! who may start one and whether it needs a supervisor, the consent an org
//! may require, who approves, ends and reviews, whether a session may be
//! used for a request, and when an agent no longer may hold one. Nothing
//! here reads or writes.

use crate::kernel::Refusal;
use countersign_api::{
    CustomerRole, EndReason, ErrorCode, Permission, Region, ReviewState, SessionScope, SessionStatus, SupportAccess,
};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// A session as the rules see it.
#[derive(Debug, Clone)]
pub struct Session {
    pub agent_staff: Uuid,
    pub agent_person: Uuid,
    pub status: SessionStatus,
    pub end_reason: Option<EndReason>,
    pub expires_at: Option<OffsetDateTime>,
    pub review: ReviewState,
}

/// What a session reads as: an active session past its end is `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Stored(SessionStatus),
    Expired,
}

impl Shown {
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Stored(s) => s.as_str(),
            Shown::Expired => "expired",
        }
    }
    /// Ran its course: ended, or expired.
    pub fn is_over(self) -> bool {
        matches!(self, Shown::Stored(SessionStatus::Ended) | Shown::Expired)
    }
}

impl Session {
    /// The one place "an active session past its end reads as expired" is
    /// written.
    pub fn shown(&self, now: OffsetDateTime) -> Shown {
        match self.status {
            SessionStatus::Active if self.expires_at.is_some_and(|e| e <= now) => Shown::Expired,
            s => Shown::Stored(s),
        }
    }
}

/// The staff member acting.
#[derive(Debug, Clone)]
pub struct Staff<'a> {
    /// `None` for a caller who is not staff (a customer user, the server).
    pub staff_id: Option<Uuid>,
    pub person: Option<Uuid>,
    pub permissions: &'a BTreeSet<Permission>,
    /// Acting as a customer user already.
    pub impersonating: bool,
}

impl Staff<'_> {
    /// Only staff, in person (never from inside a session), manage sessions.
    fn person(&self) -> Result<Uuid, Refusal> {
        match (self.staff_id, self.person, self.impersonating) {
            (Some(_), Some(p), false) => Ok(p),
            _ => Err(Refusal::new(
                ErrorCode::Forbidden,
                "Only staff manage support sessions.",
            )),
        }
    }
    fn require(&self, p: Permission) -> Result<(), Refusal> {
        if self.permissions.contains(&p) {
            Ok(())
        } else {
            Err(Refusal::lacks(p))
        }
    }
}

/// How a session starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Active,
    /// Writing, or acting as an org admin, needs a supervisor first.
    NeedsApproval,
}

/// May the caller start sessions at all (before anything is read)?
pub fn may_start(s: &Staff) -> Result<(), Refusal> {
    s.person()?;
    s.require(Permission::ImpersonationStart)
}

/// Starting a session as `subject_role` in an org with `access`, where
/// `granted` says an org admin's grant is in force now.
pub fn start(
    access: SupportAccess,
    granted: bool,
    scope: SessionScope,
    subject_role: CustomerRole,
) -> Result<Start, Refusal> {
    if access == SupportAccess::Consent && !granted {
        return Err(Refusal::new(
            ErrorCode::ConsentRequired,
            "This organisation requires an admin's grant before support sessions.",
        ));
    }
    Ok(
        if scope == SessionScope::Write || subject_role == CustomerRole::OrgAdmin {
            Start::NeedsApproval
        } else {
            Start::Active
        },
    )
}

/// May the caller approve or reject sessions at all?
pub fn may_decide(s: &Staff) -> Result<(), Refusal> {
    s.person()?;
    s.require(Permission::ImpersonationApprove)
}

/// Approving or rejecting `session`: a supervisor, never its agent, while it
/// waits.
pub fn decide(session: &Session, s: &Staff, now: OffsetDateTime) -> Result<(), Refusal> {
    may_decide(s)?;
    if session.agent_person == s.person()? {
        return Err(Refusal::new(
            ErrorCode::SelfApprovalForbidden,
            "Nobody approves their own support session.",
        ));
    }
    if session.status != SessionStatus::PendingApproval {
        return Err(Refusal::new(
            ErrorCode::NotPending,
            format!("The session is {}.", session.shown(now).as_str()),
        ));
    }
    Ok(())
}

/// Ending `session`: its agent or a supervisor, while it is open. Someone
/// else's session, to a caller who may not end it, reads as a random id
/// does (no existence oracle).
pub fn end(session: &Session, s: &Staff, now: OffsetDateTime) -> Result<(), Refusal> {
    s.person()?;
    let is_agent = s.staff_id == Some(session.agent_staff);
    if !is_agent && !s.permissions.contains(&Permission::ImpersonationApprove) {
        return Err(Refusal::new(ErrorCode::NotFound, "No such resource."));
    }
    match session.shown(now) {
        Shown::Stored(SessionStatus::Active | SessionStatus::PendingApproval) => Ok(()),
        other => Err(Refusal::new(
            ErrorCode::NotPending,
            format!("The session is already {}.", other.as_str()),
        )),
    }
}

/// May the caller review sessions at all?
pub fn may_review(s: &Staff) -> Result<(), Refusal> {
    s.person()?;
    s.require(Permission::ImpersonationReview)
}

/// Reviewing `session`: a supervisor, never its agent, once it is over; a
/// flagged session stays open to review until resolved as ok.
pub fn review(session: &Session, s: &Staff, now: OffsetDateTime) -> Result<(), Refusal> {
    may_review(s)?;
    if session.agent_person == s.person()? {
        return Err(Refusal::new(
            ErrorCode::SelfApprovalForbidden,
            "Nobody reviews their own support session.",
        ));
    }
    if !session.shown(now).is_over() {
        return Err(Refusal::new(
            ErrorCode::NotPending,
            "Only sessions that ended are reviewed.",
        ));
    }
    if session.review == ReviewState::Ok {
        return Err(Refusal::new(
            ErrorCode::AlreadyDecided,
            "This session was already reviewed as ok.",
        ));
    }
    Ok(())
}

/// A request made inside `session` (the agent's own, found beforehand).
pub fn use_session(session: &Session, now: OffsetDateTime) -> Result<(), Refusal> {
    let not_active = |why: &str| Refusal::new(ErrorCode::ImpersonationNotActive, why);
    match (session.shown(now), session.end_reason) {
        // An active session always has its end; one without counts as over.
        (Shown::Stored(SessionStatus::Active), _) if session.expires_at.is_some() => Ok(()),
        // Ended by the server because the agent's access changed: not a
        // session that ran its course.
        (Shown::Stored(SessionStatus::Ended), Some(EndReason::AccessRevoked | EndReason::AccountDisabled)) => {
            Err(not_active("Your access changed; the support session was ended."))
        }
        (Shown::Expired | Shown::Stored(SessionStatus::Ended | SessionStatus::Active), _) => Err(Refusal::new(
            ErrorCode::ImpersonationExpired,
            "The support session has ended.",
        )),
        (Shown::Stored(SessionStatus::PendingApproval | SessionStatus::Rejected), _) => Err(not_active(
            "The support session is not active (pending approval or rejected).",
        )),
    }
}

/// May a request be made inside a session? Only to a route the route
/// table marks so (`http::routes`): the subject's reads and the customer
/// actions.
pub fn allowed_while_impersonating(marked: bool) -> Result<(), Refusal> {
    if marked {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::NotWhileImpersonating,
            "Not allowed while impersonating a customer user.",
        ))
    }
}

/// The agent as they are now, read from their staff row.
#[derive(Debug, Clone)]
pub struct AgentNow<'a> {
    pub active: bool,
    pub permissions: &'a BTreeSet<Permission>,
    pub all_orgs: bool,
    pub regions: &'a [Region],
    pub org_ids: &'a [Uuid],
}

/// Why an agent may no longer hold a session into (`org`, `region`):
/// `None` while they may. A missing staff row is `access_revoked`.
pub fn lost_access(agent: Option<&AgentNow>, org: Uuid, region: &str) -> Option<EndReason> {
    let Some(a) = agent else {
        return Some(EndReason::AccessRevoked);
    };
    if !a.active {
        return Some(EndReason::AccountDisabled);
    }
    let may_start = a.permissions.contains(&Permission::ImpersonationStart);
    let covers = a.all_orgs || a.regions.iter().any(|r| r.as_str() == region) || a.org_ids.contains(&org);
    (!(may_start && covers)).then_some(EndReason::AccessRevoked)
}

#[cfg(test)]
mod tests;

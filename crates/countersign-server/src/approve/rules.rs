//! Deciding an approval request (API.md "Approvals"; DESIGN.md invariant 3),
//! as a function of what is known: the request, the decisions given so far,
//! who decides and the facts read beforehand (a delegation, a payout hold,
//! the time). Nothing here reads or writes: the group-commit engine
//! (`engine.rs`) and the single path call [`decide`]; every approval in a
//! response carries [`can_decide`]'s answer, the same function asked about
//! an approval of the current version, so "why not me" in the app and the
//! refusal of a decision cannot disagree.
//!
//! The checks, in this order (the first that fails answers):
//! 1. state: a request that is not pending is `not_pending`; one past its
//!    expiry is `request_expired` whoever asks (the engine then records the
//!    expiry, so it is checked before anything about the decider);
//! 2. separation of duties: deciding for someone who gave the decider no
//!    active delegation (`forbidden`); someone acting as a customer user
//!    (`not_while_impersonating`); the requester, in person or through a
//!    delegation they gave (`self_approval_forbidden`);
//! 3. permission for the kind (`approvals:decide`, `audit:export` for a data
//!    export) — `forbidden`;
//! 4. version: the decision names the version it saw — `stale_version`;
//! 5. one decision per person per version, counting decisions made on a
//!    person's behalf as theirs — `already_decided`;
//! 6. limit, approvals only: the amount in the base currency above the
//!    decider's limit for the kind, or a limit in a currency with no rate —
//!    `approval_limit_exceeded`;
//! 7. payout hold, approving a payout: a bank change pending for the vendor —
//!    `payout_hold`;
//! 8. then the outcome: a rejection rejects; an approval executes the
//!    request once every rule of the request is met by the approvals of the
//!    current version, counted by distinct person.

use crate::kernel::Refusal;
use countersign_api::{ApprovalKind, ApprovalStatus, Decision, ErrorCode, Money, Permission, Rule};
use std::collections::BTreeSet;
use time::OffsetDateTime;
use uuid::Uuid;

/// A request as the rules see it, parsed once from its row.
#[derive(Debug, Clone)]
pub struct Request {
    pub kind: ApprovalKind,
    /// As stored; [`Request::status_at`] is what it reads as.
    pub status: ApprovalStatus,
    pub version: i32,
    pub requester_person: Uuid,
    /// What limits compare (see `store::ApprovalRow::amount_base`).
    pub amount_base: Option<Money>,
    pub expires_at: OffsetDateTime,
    pub required: Vec<Rule>,
}

impl Facts<'_> {
    pub fn delegator(&self) -> Option<&Delegator> {
        match self.on_behalf {
            OnBehalf::Of(d) => Some(d),
            OnBehalf::No | OnBehalf::NoDelegation => None,
        }
    }
}

impl Request {
    /// Pending past its expiry reads as expired, even before the sweeper ran.
    pub fn status_at(&self, now: OffsetDateTime) -> ApprovalStatus {
        status_at(self.status, self.expires_at, now)
    }
}

/// The one place "pending past expiry reads as expired" is written.
pub fn status_at(stored: ApprovalStatus, expires_at: OffsetDateTime, now: OffsetDateTime) -> ApprovalStatus {
    if stored == ApprovalStatus::Pending && expires_at <= now {
        ApprovalStatus::Expired
    } else {
        stored
    }
}

/// A decision given so far.
#[derive(Debug, Clone)]
pub struct Given {
    pub person: Uuid,
    /// The delegator's person, when given on their behalf.
    pub on_behalf_person: Option<Uuid>,
    pub decision: Decision,
    pub version_seen: i32,
    /// The roles it brought to the rules (the delegator's, on their behalf).
    pub roles: Vec<String>,
}

/// Who decides.
#[derive(Debug, Clone)]
pub struct Decider<'a> {
    pub person: Uuid,
    pub permissions: &'a BTreeSet<Permission>,
    pub roles: &'a [String],
    /// Acting as a customer user (a support session).
    pub impersonating: bool,
    /// The decider's limit for the request's kind.
    pub limit: Limit,
}

/// An approver's limit for a kind, compared in the base currency.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    None,
    /// `base` converted from `configured` (which the refusal names).
    Base {
        base: Money,
        configured: Money,
    },
    /// Configured in a currency with no exchange rate: covers nothing.
    NoRate(Money),
}

/// The approver a decision is made for, out of office: an active
/// delegation from them to the decider, found beforehand.
#[derive(Debug, Clone)]
pub struct Delegator {
    pub staff_id: Uuid,
    pub person: Uuid,
    pub roles: Vec<String>,
}

/// For whom the decision is made.
#[derive(Debug, Clone, Copy)]
pub enum OnBehalf<'a> {
    /// The decider in person.
    No,
    /// A delegator with an active delegation to the decider.
    Of(&'a Delegator),
    /// Someone with no active delegation to the decider.
    NoDelegation,
}

/// What deciding needs from the database, read before deciding.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub on_behalf: OnBehalf<'a>,
    /// A bank change is pending for the payout's vendor.
    pub payout_hold: bool,
    pub now: OffsetDateTime,
}

/// What the decider asks for.
#[derive(Debug, Clone, Copy)]
pub struct Proposal {
    pub decision: Decision,
    pub version: i32,
}

/// What a decision does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Rejected: the request is closed.
    Rejected,
    /// Counted; the request waits for more approvals.
    Counted,
    /// The rules are met: the request executes, in the same transaction.
    Approved,
}

/// The permission every approver of `kind` needs.
pub fn permission(kind: ApprovalKind) -> Permission {
    match kind {
        ApprovalKind::DataExport => Permission::AuditExport,
        _ => Permission::ApprovalsDecide,
    }
}

/// Judges `proposal` by the request as `so_far` leaves it (see the module's
/// check order). On `Ok`, the decision is to be recorded with the roles of
/// [`counted_roles`].
pub fn decide(r: &Request, so_far: &[Given], d: &Decider, proposal: Proposal, f: &Facts) -> Result<Outcome, Refusal> {
    // 1. state
    pending(r.status_at(f.now))?;
    // 2. separation of duties
    if let OnBehalf::NoDelegation = f.on_behalf {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "No active delegation from that approver to you.",
        ));
    }
    if d.impersonating {
        return Err(Refusal::new(
            ErrorCode::NotWhileImpersonating,
            "Nobody decides a request while acting as a customer user.",
        ));
    }
    if r.requester_person == d.person || f.delegator().is_some_and(|g| g.person == r.requester_person) {
        return Err(Refusal::new(
            ErrorCode::SelfApprovalForbidden,
            "Nobody decides their own request.",
        ));
    }
    // 3. permission
    let needed = permission(r.kind);
    if !d.permissions.contains(&needed) {
        return Err(Refusal::lacks(needed));
    }
    // 4. version
    if proposal.version != r.version {
        return Err(Refusal::new(
            ErrorCode::StaleVersion,
            format!("The request changed: it is at version {}.", r.version),
        ));
    }
    // 5. one decision per person per version
    let persons = [Some(d.person), f.delegator().map(|g| g.person)];
    let theirs = |p: Option<Uuid>| p.is_some() && persons.contains(&p);
    if so_far
        .iter()
        .any(|g| g.version_seen == r.version && (theirs(Some(g.person)) || theirs(g.on_behalf_person)))
    {
        return Err(Refusal::new(
            ErrorCode::AlreadyDecided,
            "You have already decided this version of the request.",
        ));
    }
    if proposal.decision == Decision::Reject {
        return Ok(Outcome::Rejected);
    }
    // 6. limit (both sides in the base currency: a limit of 10,000.00 EUR
    // does not cover 9,999.99 GBP)
    if let Some(amount) = r.amount_base {
        let over = |why: String| Refusal::new(ErrorCode::ApprovalLimitExceeded, why);
        match &d.limit {
            Limit::None => {}
            Limit::NoRate(limit) => {
                return Err(over(format!(
                    "Your approval limit for {} is in {}, which has no exchange rate.",
                    r.kind.as_str(),
                    limit.currency.code()
                )))
            }
            Limit::Base { base, configured } if amount.amount_minor > base.amount_minor => {
                return Err(over(format!(
                    "This is {} in the base currency; your approval limit for {} is {}.",
                    amount.display(),
                    r.kind.as_str(),
                    configured.display()
                )))
            }
            Limit::Base { .. } => {}
        }
    }
    // 7. payout hold
    if r.kind == ApprovalKind::PayoutRelease && f.payout_hold {
        return Err(payout_hold());
    }
    // 8. rule satisfaction, this approval included
    let mine = Given {
        person: d.person,
        on_behalf_person: f.delegator().map(|g| g.person),
        decision: Decision::Approve,
        version_seen: r.version,
        roles: counted_roles(d, f).to_vec(),
    };
    let all: Vec<&Given> = so_far.iter().chain(std::iter::once(&mine)).collect();
    Ok(if rules_met(r, all) {
        Outcome::Approved
    } else {
        Outcome::Counted
    })
}

/// Could `d` approve the request now, as it stands? The same function as a
/// decision, asked about an approval of the current version by the decider
/// in person: `Err` says why not.
pub fn can_decide(r: &Request, so_far: &[Given], d: &Decider, f: &Facts) -> Result<(), Refusal> {
    let proposal = Proposal {
        decision: Decision::Approve,
        version: r.version,
    };
    let in_person = Facts {
        on_behalf: OnBehalf::No,
        ..f.clone()
    };
    decide(r, so_far, d, proposal, &in_person).map(|_| ())
}

/// The roles a decision brings to the rules: deciding for a delegator,
/// theirs (the delegate's own permission, limits and separation of duties
/// still apply).
pub fn counted_roles<'a>(d: &'a Decider, f: &'a Facts) -> &'a [String] {
    f.delegator().map(|g| g.roles.as_slice()).unwrap_or(d.roles)
}

/// Are the request's rules met by the approvals given to its current
/// version? Each rule counts distinct people (a decision on a delegator's
/// behalf counts as the delegator's), and a rule naming a role needs one of
/// them to hold it.
pub fn rules_met<'a>(r: &Request, given: impl IntoIterator<Item = &'a Given>) -> bool {
    let mut people: Vec<(Uuid, &[String])> = Vec::new();
    for g in given {
        if g.version_seen != r.version || g.decision != Decision::Approve {
            continue;
        }
        let who = g.on_behalf_person.unwrap_or(g.person);
        if !people.iter().any(|(p, _)| *p == who) {
            people.push((who, &g.roles));
        }
    }
    r.required.iter().all(|rule| {
        people.len() as u32 >= rule.approvals
            && rule
                .one_of_role
                .as_ref()
                .is_none_or(|role| people.iter().any(|(_, roles)| roles.contains(role)))
    })
}

/// Only a pending request is decided, amended or cancelled.
pub fn pending(status: ApprovalStatus) -> Result<(), Refusal> {
    match status {
        ApprovalStatus::Pending => Ok(()),
        ApprovalStatus::Expired => Err(Refusal::new(ErrorCode::RequestExpired, "The request has expired.")),
        other => Err(Refusal::new(
            ErrorCode::NotPending,
            format!("The request is {}.", other.as_str()),
        )),
    }
}

/// While a bank change for a vendor is pending, no payout is requested or
/// approved for it.
pub fn payout_hold() -> Refusal {
    Refusal::new(
        ErrorCode::PayoutHold,
        "A bank account change for this vendor is pending; payouts are on hold until it is decided.",
    )
}

#[cfg(test)]
mod tests;

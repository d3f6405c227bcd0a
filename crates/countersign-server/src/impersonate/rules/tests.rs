//! Table tests of the support-session rules: each case names the API code
//! it expects, or the answer.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use time::macros::datetime;
use ErrorCode as E;

const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

fn id(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}
const AGENT: u8 = 1;
const SUPERVISOR: u8 = 2;

fn perms(ps: &[Permission]) -> BTreeSet<Permission> {
    ps.iter().copied().collect()
}

fn staff(person: u8, permissions: &BTreeSet<Permission>) -> Staff<'_> {
    Staff {
        staff_id: Some(id(person + 100)),
        person: Some(id(person)),
        permissions,
        impersonating: false,
    }
}

fn session(status: SessionStatus) -> Session {
    Session {
        agent_staff: id(AGENT + 100),
        agent_person: id(AGENT),
        status,
        end_reason: None,
        expires_at: Some(NOW + time::Duration::minutes(5)),
        review: ReviewState::Unreviewed,
    }
}

fn expired(mut s: Session) -> Session {
    s.expires_at = Some(NOW);
    s
}

fn code<T>(r: Result<T, Refusal>) -> Result<T, ErrorCode> {
    r.map_err(|r| r.code)
}

#[test]
fn who_may_start_and_how_a_session_starts() {
    use CustomerRole::{Member, OrgAdmin};
    use SessionScope::{Read, Write};
    use SupportAccess::{Consent, Open};
    let agent = perms(&[Permission::ImpersonationStart]);
    let none = perms(&[]);
    let customer = Staff {
        staff_id: None,
        person: None,
        permissions: &agent,
        impersonating: false,
    };
    let inside = Staff {
        impersonating: true,
        ..staff(AGENT, &agent)
    };
    let may: [(&str, &Staff, Result<(), E>); 4] = [
        ("an agent", &staff(AGENT, &agent), Ok(())),
        ("no impersonation:start", &staff(AGENT, &none), Err(E::Forbidden)),
        ("not staff", &customer, Err(E::Forbidden)),
        ("from inside a session", &inside, Err(E::Forbidden)),
    ];
    for (name, s, expected) in may {
        assert_eq!(code(may_start(s)), expected, "{name}");
    }
    let cases: [(&str, SupportAccess, bool, SessionScope, CustomerRole, Result<Start, E>); 8] = [
        (
            "open org, read as a member",
            Open,
            false,
            Read,
            Member,
            Ok(Start::Active),
        ),
        ("open org, write", Open, false, Write, Member, Ok(Start::NeedsApproval)),
        (
            "open org, as an org admin",
            Open,
            false,
            Read,
            OrgAdmin,
            Ok(Start::NeedsApproval),
        ),
        (
            "consent org without a grant",
            Consent,
            false,
            Read,
            Member,
            Err(E::ConsentRequired),
        ),
        (
            "consent org without a grant, write",
            Consent,
            false,
            Write,
            Member,
            Err(E::ConsentRequired),
        ),
        (
            "consent org with a grant",
            Consent,
            true,
            Read,
            Member,
            Ok(Start::Active),
        ),
        (
            "consent org with a grant, as an admin",
            Consent,
            true,
            Read,
            OrgAdmin,
            Ok(Start::NeedsApproval),
        ),
        (
            "a grant is not needed where access is open",
            Open,
            true,
            Read,
            Member,
            Ok(Start::Active),
        ),
    ];
    for (name, access, granted, scope, role, expected) in cases {
        assert_eq!(code(start(access, granted, scope, role)), expected, "{name}");
    }
}

#[test]
fn approving_ending_and_reviewing() {
    use SessionStatus::*;
    let supervisor = perms(&[Permission::ImpersonationApprove, Permission::ImpersonationReview]);
    let agent = perms(&[Permission::ImpersonationStart]);
    let both = perms(&[
        Permission::ImpersonationStart,
        Permission::ImpersonationApprove,
        Permission::ImpersonationReview,
    ]);
    let sup = staff(SUPERVISOR, &supervisor);
    let me = staff(AGENT, &agent);
    let me_supervising = staff(AGENT, &both);
    let stranger = staff(3, &agent);
    type Rule = fn(&Session, &Staff, OffsetDateTime) -> Result<(), Refusal>;
    let cases: Vec<(&str, Rule, Session, &Staff, Result<(), E>)> = vec![
        (
            "approve a waiting session",
            decide,
            session(PendingApproval),
            &sup,
            Ok(()),
        ),
        (
            "approve my own session",
            decide,
            session(PendingApproval),
            &me_supervising,
            Err(E::SelfApprovalForbidden),
        ),
        (
            "approve without the permission",
            decide,
            session(PendingApproval),
            &me,
            Err(E::Forbidden),
        ),
        (
            "approve an active session",
            decide,
            session(Active),
            &sup,
            Err(E::NotPending),
        ),
        (
            "approve a rejected session",
            decide,
            session(Rejected),
            &sup,
            Err(E::NotPending),
        ),
        (
            "approve an ended session",
            decide,
            session(Ended),
            &sup,
            Err(E::NotPending),
        ),
        ("end my active session", end, session(Active), &me, Ok(())),
        ("end my waiting session", end, session(PendingApproval), &me, Ok(())),
        ("a supervisor ends it", end, session(Active), &sup, Ok(())),
        (
            "someone else's session reads as missing",
            end,
            session(Active),
            &stranger,
            Err(E::NotFound),
        ),
        ("end an ended session", end, session(Ended), &me, Err(E::NotPending)),
        (
            "end an expired session",
            end,
            expired(session(Active)),
            &me,
            Err(E::NotPending),
        ),
        (
            "end a rejected session",
            end,
            session(Rejected),
            &me,
            Err(E::NotPending),
        ),
        ("review an ended session", review, session(Ended), &sup, Ok(())),
        (
            "review an expired session",
            review,
            expired(session(Active)),
            &sup,
            Ok(()),
        ),
        (
            "review my own session",
            review,
            session(Ended),
            &me_supervising,
            Err(E::SelfApprovalForbidden),
        ),
        (
            "review without the permission",
            review,
            session(Ended),
            &me,
            Err(E::Forbidden),
        ),
        (
            "review a running session",
            review,
            session(Active),
            &sup,
            Err(E::NotPending),
        ),
        (
            "review a waiting session",
            review,
            session(PendingApproval),
            &sup,
            Err(E::NotPending),
        ),
        (
            "review again after ok",
            review,
            Session {
                review: ReviewState::Ok,
                ..session(Ended)
            },
            &sup,
            Err(E::AlreadyDecided),
        ),
        (
            "a flagged session may be reviewed again",
            review,
            Session {
                review: ReviewState::Flagged,
                ..session(Ended)
            },
            &sup,
            Ok(()),
        ),
    ];
    for (name, rule, s, who, expected) in cases {
        assert_eq!(code(rule(&s, who, NOW)), expected, "{name}");
    }
}

#[test]
fn using_a_session() {
    use SessionStatus::*;
    let ended_by = |why| Session {
        end_reason: Some(why),
        ..session(Ended)
    };
    let cases: Vec<(&str, Session, Result<(), E>)> = vec![
        ("active", session(Active), Ok(())),
        (
            "active, at its end",
            expired(session(Active)),
            Err(E::ImpersonationExpired),
        ),
        (
            "active without an end",
            Session {
                expires_at: None,
                ..session(Active)
            },
            Err(E::ImpersonationExpired),
        ),
        (
            "ended by its agent",
            ended_by(EndReason::Ended),
            Err(E::ImpersonationExpired),
        ),
        (
            "ended: access revoked",
            ended_by(EndReason::AccessRevoked),
            Err(E::ImpersonationNotActive),
        ),
        (
            "ended: account disabled",
            ended_by(EndReason::AccountDisabled),
            Err(E::ImpersonationNotActive),
        ),
        (
            "waiting for approval",
            session(PendingApproval),
            Err(E::ImpersonationNotActive),
        ),
        ("rejected", session(Rejected), Err(E::ImpersonationNotActive)),
    ];
    for (name, s, expected) in cases {
        assert_eq!(code(use_session(&s, NOW)), expected, "{name}");
    }
    assert_eq!(code(allowed_while_impersonating(true)), Ok(()));
    assert_eq!(code(allowed_while_impersonating(false)), Err(E::NotWhileImpersonating));
}

#[test]
fn an_agent_loses_a_session_with_their_access() {
    let org = id(9);
    let may = perms(&[Permission::ImpersonationStart]);
    let none = perms(&[]);
    let eu = [countersign_api::Region::EU];
    let orgs = [org];
    let agent = |active, permissions, all_orgs, regions, org_ids| AgentNow {
        active,
        permissions,
        all_orgs,
        regions,
        org_ids,
    };
    let cases: Vec<(&str, Option<AgentNow>, Option<EndReason>)> = vec![
        ("in scope by region", Some(agent(true, &may, false, &eu, &[])), None),
        ("in scope by org", Some(agent(true, &may, false, &[], &orgs)), None),
        ("every org", Some(agent(true, &may, true, &[], &[])), None),
        (
            "deactivated",
            Some(agent(false, &may, true, &[], &[])),
            Some(EndReason::AccountDisabled),
        ),
        (
            "role taken away",
            Some(agent(true, &none, true, &[], &[])),
            Some(EndReason::AccessRevoked),
        ),
        (
            "scope moved away",
            Some(agent(true, &may, false, &[], &[])),
            Some(EndReason::AccessRevoked),
        ),
        ("no staff row", None, Some(EndReason::AccessRevoked)),
    ];
    for (name, a, expected) in cases {
        assert_eq!(lost_access(a.as_ref(), org, "EU"), expected, "{name}");
    }
}

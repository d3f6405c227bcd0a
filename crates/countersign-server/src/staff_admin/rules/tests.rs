//! Table tests of the staff administration rules.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use countersign_api::{Currency, Money, Scope, StaffRole};
use std::collections::BTreeMap;
use ErrorCode as E;

fn update(limits: &[(&str, Option<i64>)]) -> StaffUpdate {
    StaffUpdate {
        roles: vec![StaffRole::FinanceApprover],
        scope: Scope {
            all_orgs: true,
            regions: vec![],
            org_ids: vec![],
        },
        approval_limits: limits
            .iter()
            .map(|(k, m)| (k.to_string(), m.map(|m| Money::new(m, Currency::parse("EUR").unwrap()))))
            .collect::<BTreeMap<_, _>>(),
        active: true,
    }
}

#[test]
fn nobody_changes_their_own_access() {
    let me = Uuid::from_bytes([1; 16]);
    let other = Uuid::from_bytes([2; 16]);
    let cases = [
        ("another person", Some(me), other, Ok(())),
        (
            "myself, through any of my accounts",
            Some(me),
            me,
            Err(E::SelfChangeForbidden),
        ),
        ("a caller who is no person on the staff", None, other, Ok(())),
    ];
    for (name, actor, target, expected) in cases {
        assert_eq!(may_change(actor, target).map_err(|r| r.code), expected, "{name}");
    }
}

#[test]
fn updates_name_known_kinds_and_limits_that_are_not_negative() {
    let cases = [
        ("no limits", update(&[]), Ok(())),
        (
            "a limit per kind",
            update(&[("refund", Some(5_000_000)), ("payout_release", None)]),
            Ok(()),
        ),
        ("a zero limit", update(&[("refund", Some(0))]), Ok(())),
        ("an unknown kind", update(&[("bonus", Some(1))]), Err(E::InvalidRequest)),
        (
            "a negative limit",
            update(&[("refund", Some(-1))]),
            Err(E::InvalidRequest),
        ),
    ];
    for (name, u, expected) in cases {
        assert_eq!(validate(&u).map_err(|r| r.code), expected, "{name}");
    }
}

#[test]
fn a_deactivation_says_why() {
    let cases = [
        ("a reason", "Left the company on 30 June", Ok(())),
        ("missing", "", Err(E::ReasonRequired)),
        ("too short", "left", Err(E::ReasonRequired)),
        ("short once trimmed", "   left     ", Err(E::ReasonRequired)),
        ("too long", &"x".repeat(2_001), Err(E::ReasonRequired)),
    ];
    for (name, text, expected) in cases {
        assert_eq!(
            deactivation_reason(text).map(|_| ()).map_err(|r| r.code),
            expected,
            "{name}"
        );
    }
    assert_eq!(
        deactivation_reason("  Left the company  ").unwrap().as_str(),
        "Left the company"
    );
}

#[test]
fn privileged_roles_are_those_that_grant_decide_or_see_everything() {
    let cases = [
        (StaffRole::SecurityAdmin, true),
        (StaffRole::FinanceController, true),
        (StaffRole::FinanceApprover, true),
        (StaffRole::SupportSupervisor, true),
        (StaffRole::Auditor, true),
        (StaffRole::SupportAgent, false),
        (StaffRole::FinanceClerk, false),
    ];
    assert_eq!(cases.len(), StaffRole::ALL.len(), "every role is decided");
    for (role, expected) in cases {
        assert_eq!(privileged(role), expected, "{}", role.as_str());
    }
}

#[test]
fn the_list_shows_what_its_filters_ask_for() {
    use StaffRole::*;
    let any = Filter::default();
    let privileged_only = Filter {
        privileged: Some(true),
        ..any
    };
    let unprivileged_only = Filter {
        privileged: Some(false),
        ..any
    };
    let inactive_only = Filter {
        active: Some(false),
        ..any
    };
    let cases: [(&str, Filter, &[StaffRole], bool, bool); 9] = [
        ("no filter, anyone", any, &[SupportAgent], true, true),
        ("no filter, no roles", any, &[], false, true),
        ("privileged: a privileged role", privileged_only, &[Auditor], true, true),
        (
            "privileged: one privileged role among others",
            privileged_only,
            &[SupportAgent, SecurityAdmin],
            true,
            true,
        ),
        (
            "privileged: no privileged role",
            privileged_only,
            &[FinanceClerk],
            true,
            false,
        ),
        ("privileged: no role at all", privileged_only, &[], true, false),
        ("unprivileged: an agent", unprivileged_only, &[SupportAgent], true, true),
        (
            "unprivileged: a supervisor",
            unprivileged_only,
            &[SupportSupervisor],
            true,
            false,
        ),
        (
            "deactivated only: an active account",
            inactive_only,
            &[Auditor],
            true,
            false,
        ),
    ];
    for (name, filter, roles, active, expected) in cases {
        assert_eq!(listed(filter, roles, active, false), expected, "{name}");
    }
    assert!(listed(inactive_only, &[Auditor], false, false));
    // Waiting for access: provisioned at a first sign-in, no role, never decided.
    let pending_only = Filter {
        pending: Some(true),
        ..any
    };
    let decided_only = Filter {
        pending: Some(false),
        ..any
    };
    assert!(listed(pending_only, &[], true, true));
    assert!(!listed(pending_only, &[], true, false), "no roles, but decided");
    assert!(!listed(pending_only, &[Auditor], true, true), "a role: not waiting");
    assert!(listed(decided_only, &[Auditor], true, false));
    assert!(!listed(decided_only, &[], true, true));
    assert!(listed(any, &[], true, true), "no filter shows it too");
}

fn new(issuer: &str, subject: &str, name: &str, email: &str) -> CreateStaff {
    let u = update(&[("refund", Some(100))]);
    CreateStaff {
        issuer: issuer.into(),
        subject: subject.into(),
        display_name: name.into(),
        email: email.into(),
        roles: u.roles,
        scope: u.scope,
        approval_limits: u.approval_limits,
    }
}

#[test]
fn a_new_account_is_at_a_trusted_issuer_names_its_person_and_is_never_ones_own() {
    const A: &str = "https://a.example";
    const B: &str = "https://b.example";
    let trusted = [A, B];
    let sid = Some((A, "staff-sid"));
    let long = "s".repeat(SUBJECT_MAX_CHARS + 1);
    let cases = [
        ("another person", new(A, "u-1", "Dana", "dana@x.example"), sid, Ok(())),
        (
            "at the second issuer",
            new(B, "u-1", "Dana", "dana@x.example"),
            sid,
            Ok(()),
        ),
        (
            "by an operator",
            new(A, "staff-sid", "Sid", "sid@x.example"),
            None,
            Ok(()),
        ),
        (
            "my subject at another issuer",
            new(B, "staff-sid", "Sid", "s@x.example"),
            sid,
            Ok(()),
        ),
        (
            "myself",
            new(A, "staff-sid", "Sid", "sid@x.example"),
            sid,
            Err(E::SelfChangeForbidden),
        ),
        (
            "an untrusted issuer",
            new("https://c.example", "u-1", "D", "d@x"),
            sid,
            Err(E::InvalidRequest),
        ),
        (
            "a trailing slash",
            new("https://a.example/", "u-1", "D", "d@x"),
            sid,
            Err(E::InvalidRequest),
        ),
        ("no subject", new(A, "", "D", "d@x"), sid, Err(E::InvalidRequest)),
        (
            "a padded subject",
            new(A, " u-1", "D", "d@x"),
            sid,
            Err(E::InvalidRequest),
        ),
        (
            "a subject with a NUL",
            new(A, "u\u{0}1", "D", "d@x"),
            sid,
            Err(E::InvalidRequest),
        ),
        (
            "a subject too long",
            new(A, &long, "D", "d@x"),
            sid,
            Err(E::InvalidRequest),
        ),
        ("a blank name", new(A, "u-1", "  ", "d@x"), sid, Err(E::InvalidRequest)),
        ("no e-mail", new(A, "u-1", "D", ""), sid, Err(E::InvalidRequest)),
        ("not an e-mail", new(A, "u-1", "D", "dana"), sid, Err(E::InvalidRequest)),
        (
            "half an e-mail",
            new(A, "u-1", "D", "dana@"),
            sid,
            Err(E::InvalidRequest),
        ),
    ];
    for (name, n, caller, expected) in cases {
        assert_eq!(
            new_account(&n, &trusted, caller).map_err(|r| r.code),
            expected,
            "{name}"
        );
    }
    let mut bad = new(A, "u-1", "D", "d@x");
    bad.approval_limits.insert("bonus".into(), None);
    assert_eq!(
        new_account(&bad, &trusted, sid).map_err(|r| r.code),
        Err(E::InvalidRequest),
        "checked like an update"
    );
    let issuer = new_account(&new("https://c.example", "u", "D", "d@x"), &trusted, sid).unwrap_err();
    assert!(
        issuer.message.contains("`issuer`"),
        "the field is named: {}",
        issuer.message
    );
}

#[test]
fn inactive_days_are_one_day_to_ten_years() {
    let cases = [
        (0, Err(E::InvalidRequest)),
        (1, Ok(1)),
        (30, Ok(30)),
        (3650, Ok(3650)),
        (3651, Err(E::InvalidRequest)),
        (u32::MAX, Err(E::InvalidRequest)),
    ];
    for (n, expected) in cases {
        assert_eq!(inactive_days(n).map_err(|r| r.code), expected, "{n}");
    }
}

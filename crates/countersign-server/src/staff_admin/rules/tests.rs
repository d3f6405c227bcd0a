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
        assert_eq!(listed(filter, roles, active), expected, "{name}");
    }
    assert!(listed(inactive_only, &[Auditor], false));
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

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

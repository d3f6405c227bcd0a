//! Table tests of the customer actions' rules.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use countersign_api::{OrgId, UserId};
use ErrorCode as E;

fn customer(user: u8, role: CustomerRole) -> CustomerIdentity {
    CustomerIdentity {
        user_id: UserId(Uuid::from_bytes([user; 16])),
        org_id: OrgId(Uuid::from_bytes([9; 16])),
        role,
    }
}

#[test]
fn who_acts_as_a_customer() {
    let member = customer(1, CustomerRole::Member);
    let cases = [
        ("the customer themselves", None, Some(&member), Ok(())),
        (
            "a write support session",
            Some(SessionScope::Write),
            Some(&member),
            Ok(()),
        ),
        (
            "a read-only support session",
            Some(SessionScope::Read),
            Some(&member),
            Err(E::ScopeExceeded),
        ),
        ("staff as themselves", None, None, Err(E::Forbidden)),
    ];
    for (name, session, who, expected) in cases {
        assert_eq!(
            acting_customer(session, who).map(|_| ()).map_err(|r| r.code),
            expected,
            "{name}"
        );
    }
}

#[test]
fn members_change_their_own_profile_admins_anyones() {
    let member = customer(1, CustomerRole::Member);
    let admin = customer(2, CustomerRole::OrgAdmin);
    let cases = [
        ("a member, their own", &member, 1, Ok(())),
        ("a member, someone else's", &member, 3, Err(E::Forbidden)),
        ("an admin, their own", &admin, 2, Ok(())),
        ("an admin, someone else's", &admin, 3, Ok(())),
    ];
    for (name, me, target, expected) in cases {
        assert_eq!(
            may_update_user(me, Uuid::from_bytes([target; 16])).map_err(|r| r.code),
            expected,
            "{name}"
        );
    }
}

#[test]
fn profiles_are_well_formed() {
    let long = "x".repeat(201);
    let cases: [(&str, Option<&str>, Option<&str>, Result<(), E>); 9] = [
        ("nothing", None, None, Ok(())),
        ("a name", Some(" Jana Novak "), None, Ok(())),
        ("a phone", None, Some("+49 (30) 123-456"), Ok(())),
        ("an empty name", Some("   "), None, Err(E::InvalidRequest)),
        ("a name too long", Some(&long), None, Err(E::InvalidRequest)),
        ("a NUL in the name", Some("Ja\0na"), None, Err(E::InvalidRequest)),
        ("a phone too short", None, Some("12"), Err(E::InvalidRequest)),
        ("letters in the phone", None, Some("call me"), Err(E::InvalidRequest)),
        (
            "a phone too long",
            None,
            Some("1234567890123456789012345678901234567890123"),
            Err(E::InvalidRequest),
        ),
    ];
    for (name, n, ph, expected) in cases {
        assert_eq!(profile(n, ph).map(|_| ()).map_err(|r| r.code), expected, "{name}");
    }
    assert_eq!(
        profile(Some(" Jana "), Some(" 123 ")).unwrap(),
        (Some("Jana"), Some("123"))
    );
}

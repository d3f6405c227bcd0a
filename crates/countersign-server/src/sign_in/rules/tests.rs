//! Table tests of who may call.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use ErrorCode as E;

#[test]
fn exactly_one_bearer_token() {
    let cases: [(&str, &[&str], Result<&str, E>); 8] = [
        ("a bearer token", &["Bearer abc.def.ghi"], Ok("abc.def.ghi")),
        ("the scheme in any case", &["bearer abc"], Ok("abc")),
        ("surrounding spaces", &["Bearer   abc  "], Ok("abc")),
        ("no header", &[], Err(E::Unauthenticated)),
        ("two headers", &["Bearer a", "Bearer b"], Err(E::TokenInvalid)),
        ("another scheme", &["Basic YWxpY2U6cHc="], Err(E::TokenInvalid)),
        ("no token", &["Bearer "], Err(E::TokenInvalid)),
        ("no scheme", &["abc.def.ghi"], Err(E::TokenInvalid)),
    ];
    for (name, headers, expected) in cases {
        assert_eq!(bearer(headers).map_err(|r| r.code), expected, "{name}");
    }
}

#[test]
fn which_accounts_may_act() {
    let staff = |active, pending| Account::Staff { active, pending };
    let cases = [
        ("active staff", staff(true, false), Ok(())),
        ("deactivated staff", staff(false, false), Err(E::AccountDisabled)),
        ("staff waiting for access", staff(true, true), Err(E::AccessPending)),
        (
            "deactivated while waiting: deactivated",
            staff(false, true),
            Err(E::AccountDisabled),
        ),
        ("a customer user", Account::Customer, Ok(())),
        ("no account", Account::None, Err(E::Forbidden)),
    ];
    for (name, found, expected) in cases {
        assert_eq!(account(found).map_err(|r| r.code), expected, "{name}");
    }
}

#[test]
fn an_unknown_identity_is_provisioned_only_where_its_issuer_says_so() {
    assert_eq!(unknown_identity(true), Ok(()));
    assert_eq!(unknown_identity(false).map_err(|r| r.code), Err(E::Forbidden));
    assert_eq!(provisioned().code, E::AccessPending);
}

#[test]
fn a_provisioned_account_is_named_from_the_token_or_its_subject() {
    let long = "x".repeat(CLAIM_MAX_CHARS + 50);
    let cases: [(&str, Option<&str>, Option<&str>, (&str, &str)); 5] = [
        (
            "claims",
            Some("Dana Scully"),
            Some("dana@contractor.example"),
            ("Dana Scully", "dana@contractor.example"),
        ),
        ("no claims", None, None, ("sub-1", "")),
        ("blank claims", Some("  "), Some(""), ("sub-1", "")),
        (
            "control characters",
            Some("Da\u{0}na\n"),
            Some("d@x\u{7}"),
            ("Dana", "d@x"),
        ),
        ("too long", Some(&long), None, (&long[..CLAIM_MAX_CHARS], "")),
    ];
    for (what, name, email, (want_name, want_email)) in cases {
        let (n, e) = provisioned_names("sub-1", name, email);
        assert_eq!((n.as_str(), e.as_str()), (want_name, want_email), "{what}");
    }
}

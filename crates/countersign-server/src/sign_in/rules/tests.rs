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
    let cases = [
        ("active staff", Account::Staff { active: true }, Ok(())),
        (
            "deactivated staff",
            Account::Staff { active: false },
            Err(E::AccountDisabled),
        ),
        ("a customer user", Account::Customer, Ok(())),
        ("no account", Account::None, Err(E::Forbidden)),
    ];
    for (name, found, expected) in cases {
        assert_eq!(account(found).map_err(|r| r.code), expected, "{name}");
    }
}

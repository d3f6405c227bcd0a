//! Who is calling (API.md "Authentication"), as functions of the request's
//! headers and the accounts found: exactly one `Authorization: Bearer`
//! header; a deactivated staff account is `account_disabled`; one waiting
//! for access (provisioned at a first sign-in, not decided yet) is
//! `access_pending`; an identity with neither a staff nor a customer account
//! has no access — `access_pending` where its issuer provisions such
//! identities just in time (an account is created for it), else `forbidden`. Verifying the
//! token itself is `token`'s (jsonwebtoken, the issuer's keys). Nothing here
//! reads or writes.

use crate::kernel::Refusal;
use countersign_api::ErrorCode;

/// The bearer token of the request's `Authorization` headers (all of them).
pub fn bearer<'a>(headers: &[&'a str]) -> Result<&'a str, Refusal> {
    match headers {
        [] => Err(Refusal::new(
            ErrorCode::Unauthenticated,
            "Send an access token as Authorization: Bearer <token>.",
        )),
        // Two headers are ambiguous: refused, never first-wins.
        [_, _, ..] => Err(Refusal::new(
            ErrorCode::TokenInvalid,
            "Send exactly one Authorization header.",
        )),
        [one] => one
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Refusal::new(
                    ErrorCode::TokenInvalid,
                    "The Authorization header is not a bearer token.",
                )
            }),
    }
}

/// What signs in: a staff account (active or not), a customer account, or
/// neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    Staff { active: bool, pending: bool },
    Customer,
    None,
}

/// May the account found for a verified identity act?
pub fn account(found: Account) -> Result<(), Refusal> {
    match found {
        Account::Staff {
            active: true,
            pending: false,
        }
        | Account::Customer => Ok(()),
        Account::Staff { active: false, .. } => Err(Refusal::new(
            ErrorCode::AccountDisabled,
            "This staff account is deactivated.",
        )),
        Account::Staff { pending: true, .. } => Err(pending()),
        Account::None => Err(Refusal::new(
            ErrorCode::Forbidden,
            "This identity has no access to Countersign.",
        )),
    }
}

fn pending() -> Refusal {
    Refusal::new(
        ErrorCode::AccessPending,
        "Your account is waiting for access: a security admin must review it first.",
    )
}

/// A verified identity with no account at all, at an issuer that does
/// (`jit`) or does not provision accounts just in time: `Ok` = create one
/// (with no roles), after which the request is refused as [`account`]
/// refuses a pending account; else no access.
pub fn unknown_identity(jit: bool) -> Result<(), Refusal> {
    if jit {
        Ok(())
    } else {
        account(Account::None)
    }
}

/// The refusal of the request that provisioned an account (or lost the race
/// to provision it): the account waits for access.
pub fn provisioned() -> Refusal {
    pending()
}

/// The most characters of a provisioned account's name or e-mail taken from
/// the token; longer claims are cut.
pub const CLAIM_MAX_CHARS: usize = 200;

/// The display name and e-mail of an account provisioned at a first sign-in:
/// the token's `name` and `email` claims when they are there (control
/// characters dropped, cut at [`CLAIM_MAX_CHARS`]), else the subject as the
/// name and no e-mail.
pub fn provisioned_names(subject: &str, name: Option<&str>, email: Option<&str>) -> (String, String) {
    let clean = |v: Option<&str>| {
        let v: String = v
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(CLAIM_MAX_CHARS)
            .collect();
        Some(v.trim().to_owned()).filter(|v| !v.is_empty())
    };
    (
        clean(name).unwrap_or_else(|| subject.chars().filter(|c| !c.is_control()).collect()),
        clean(email).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests;

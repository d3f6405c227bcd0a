//! Who is calling (API.md "Authentication"), as functions of the request's
//! headers and the accounts found: exactly one `Authorization: Bearer`
//! header; a deactivated staff account is `account_disabled`; an identity
//! with neither a staff nor a customer account has no access. Verifying the
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
    Staff { active: bool },
    Customer,
    None,
}

/// May the account found for a verified identity act?
pub fn account(found: Account) -> Result<(), Refusal> {
    match found {
        Account::Staff { active: true } | Account::Customer => Ok(()),
        Account::Staff { active: false } => Err(Refusal::new(
            ErrorCode::AccountDisabled,
            "This staff account is deactivated.",
        )),
        Account::None => Err(Refusal::new(
            ErrorCode::Forbidden,
            "This identity has no access to Countersign.",
        )),
    }
}

#[cfg(test)]
mod tests;

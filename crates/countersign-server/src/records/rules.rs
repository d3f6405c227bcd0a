//! What a customer user may change (API.md "Impersonation", customer
//! actions), as functions of who acts and what they send: only a customer
//! user, or a *write* support session acting as one; a member changes only
//! their own profile, an org admin anyone's in the org; a name of 1-200
//! characters, a phone of 3-40 digits, spaces and `+ - ( )`. Which records
//! a caller reads is row-level security's; how they are masked,
//! `kernel::masking`'s. Nothing here reads or writes.

use crate::kernel::caller::CustomerIdentity;
use crate::kernel::Refusal;
use countersign_api::{CustomerRole, ErrorCode, SessionScope};
use uuid::Uuid;

/// The customer identity acting: the caller's own, or the subject of a
/// write support session.
pub fn acting_customer(
    session: Option<SessionScope>,
    customer: Option<&CustomerIdentity>,
) -> Result<&CustomerIdentity, Refusal> {
    if session == Some(SessionScope::Read) {
        return Err(Refusal::new(
            ErrorCode::ScopeExceeded,
            "This support session is read-only.",
        ));
    }
    customer.ok_or_else(|| {
        Refusal::new(
            ErrorCode::Forbidden,
            "Customer data is changed by the customer, or through a write support session.",
        )
    })
}

/// May `me` change the profile of user `target`?
pub fn may_update_user(me: &CustomerIdentity, target: Uuid) -> Result<(), Refusal> {
    if me.user_id.0 != target && me.role != CustomerRole::OrgAdmin {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "Members change only their own profile.",
        ));
    }
    Ok(())
}

/// The profile change, trimmed: (name, phone).
pub fn profile<'a>(
    name: Option<&'a str>,
    phone: Option<&'a str>,
) -> Result<(Option<&'a str>, Option<&'a str>), Refusal> {
    let invalid = |m: &str| Refusal::new(ErrorCode::InvalidRequest, m);
    let name = name.map(str::trim);
    if name.is_some_and(|n| n.is_empty() || n.chars().count() > 200 || n.contains('\0')) {
        return Err(invalid("name: 1-200 characters."));
    }
    let phone = phone.map(str::trim);
    let phone_ok =
        |ph: &str| (3..=40).contains(&ph.len()) && ph.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if phone.is_some_and(|ph| !phone_ok(ph)) {
        return Err(invalid("phone: 3-40 characters of digits, spaces and + - ( )."));
    }
    Ok((name, phone))
}

#[cfg(test)]
mod tests;

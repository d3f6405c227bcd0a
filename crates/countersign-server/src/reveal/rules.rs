//! Who may reveal which sensitive field (API.md "Reveal"), as a function of
//! the caller and the field: its class decides the permission (contact →
//! `pii:reveal`, financial → `finance:reveal`), only staff reveal, never
//! from inside a support session, and always with a reason. Which fields of
//! which record exist, and reading the value, is `store`'s. Nothing here
//! reads or writes.

use crate::kernel::Refusal;
use countersign_api::masked::field_class;
use countersign_api::{ErrorCode, Permission, Reason};
use std::collections::BTreeSet;

/// The caller as a revealer.
#[derive(Debug, Clone)]
pub struct Revealer<'a> {
    pub staff: bool,
    pub impersonating: bool,
    pub permissions: &'a BTreeSet<Permission>,
}

/// May the caller reveal `field` (a field the record type has)? Checked in
/// this order: a sensitive field at all, staff, not inside a session, the
/// field class's permission, then the reason. Returns the parsed reason.
pub fn reveal(who: &Revealer, field: &str, reason: &str) -> Result<Reason, Refusal> {
    let class = field_class(field).ok_or_else(|| Refusal::new(ErrorCode::InvalidRequest, "Not a sensitive field."))?;
    let permission = class.permission();
    if !who.staff {
        return Err(Refusal::lacks(permission));
    }
    if who.impersonating {
        return Err(Refusal::new(
            ErrorCode::NotWhileImpersonating,
            "Not allowed while impersonating a customer user.",
        ));
    }
    if !who.permissions.contains(&permission) {
        return Err(Refusal::lacks(permission));
    }
    Reason::parse(reason).map_err(|e| Refusal::new(ErrorCode::ReasonRequired, format!("{e}.")))
}

#[cfg(test)]
mod tests;

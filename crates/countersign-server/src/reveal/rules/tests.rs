//! Table tests of who may reveal what.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use ErrorCode as E;

#[test]
fn the_field_class_decides_the_permission() {
    use Permission::{FinanceReveal as Fin, PiiReveal as Pii};
    let reason = "Customer asked to confirm the address on file";
    let cases: Vec<(&str, bool, bool, Vec<Permission>, &str, &str, Result<(), E>)> = vec![
        ("support agent, email", true, false, vec![Pii], "email", reason, Ok(())),
        ("support agent, phone", true, false, vec![Pii], "phone", reason, Ok(())),
        (
            "support agent, address",
            true,
            false,
            vec![Pii],
            "address",
            reason,
            Ok(()),
        ),
        (
            "support agent, iban",
            true,
            false,
            vec![Pii],
            "iban",
            reason,
            Err(E::Forbidden),
        ),
        (
            "support agent, tax id",
            true,
            false,
            vec![Pii],
            "tax_id",
            reason,
            Err(E::Forbidden),
        ),
        ("approver, iban", true, false, vec![Fin], "iban", reason, Ok(())),
        ("approver, tax id", true, false, vec![Fin], "tax_id", reason, Ok(())),
        (
            "approver, email",
            true,
            false,
            vec![Fin],
            "email",
            reason,
            Err(E::Forbidden),
        ),
        (
            "no reveal permission",
            true,
            false,
            vec![],
            "email",
            reason,
            Err(E::Forbidden),
        ),
        (
            "a customer user, even with the permission",
            false,
            false,
            vec![Pii],
            "email",
            reason,
            Err(E::Forbidden),
        ),
        (
            "inside a support session",
            true,
            true,
            vec![Pii],
            "email",
            reason,
            Err(E::NotWhileImpersonating),
        ),
        (
            "not a sensitive field",
            true,
            false,
            vec![Pii, Fin],
            "name",
            reason,
            Err(E::InvalidRequest),
        ),
        (
            "no reason",
            true,
            false,
            vec![Pii],
            "email",
            "   ",
            Err(E::ReasonRequired),
        ),
        (
            "a reason too short",
            true,
            false,
            vec![Pii],
            "email",
            "because",
            Err(E::ReasonRequired),
        ),
        (
            "permission answers before the reason",
            true,
            false,
            vec![],
            "email",
            "",
            Err(E::Forbidden),
        ),
    ];
    for (name, staff, impersonating, ps, field, why, expected) in cases {
        let permissions: BTreeSet<Permission> = ps.into_iter().collect();
        let who = Revealer {
            staff,
            impersonating,
            permissions: &permissions,
        };
        assert_eq!(
            reveal(&who, field, why).map(|_| ()).map_err(|r| r.code),
            expected,
            "{name}"
        );
    }
}

//! Table tests of who may search and export the audit log.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use Permission as P;

#[test]
fn search_and_export() {
    let auditor: BTreeSet<Permission> = [P::AuditRead, P::AuditExport].into();
    let supervisor: BTreeSet<Permission> = [P::AuditRead].into();
    let agent: BTreeSet<Permission> = [P::PiiReveal].into();
    assert_eq!(search(&auditor).map_err(|r| r.code), Ok(()));
    assert_eq!(search(&supervisor).map_err(|r| r.code), Ok(()));
    assert_eq!(search(&agent).map_err(|r| r.code), Err(ErrorCode::Forbidden));
    assert_eq!(verify(&auditor).map_err(|r| r.code), Ok(()));
    assert_eq!(verify(&supervisor).map_err(|r| r.code), Ok(()));
    assert_eq!(verify(&agent).map_err(|r| r.code), Err(ErrorCode::Forbidden));
    let cases = [
        ("an auditor's export", &auditor, true, false, Ok(())),
        ("no format", &auditor, false, false, Err(ErrorCode::InvalidRequest)),
        ("paged", &auditor, true, true, Err(ErrorCode::InvalidRequest)),
        (
            "read but not export",
            &supervisor,
            true,
            false,
            Err(ErrorCode::Forbidden),
        ),
        (
            "a bad request answers before the permission",
            &agent,
            false,
            false,
            Err(ErrorCode::InvalidRequest),
        ),
    ];
    for (name, ps, format, paged, expected) in cases {
        assert_eq!(export(ps, format, paged).map_err(|r| r.code), expected, "{name}");
    }
}

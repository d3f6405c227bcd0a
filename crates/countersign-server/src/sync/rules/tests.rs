//! Table tests of the sync rules: each case names its answer or API code.

// A table row is a tuple of its columns: naming each row type would hide the table.
#![allow(clippy::type_complexity)]

use super::*;
use countersign_api::{OrgId, Region};
use ErrorCode as E;

fn perms(ps: &[Permission]) -> BTreeSet<Permission> {
    ps.iter().copied().collect()
}

#[test]
fn the_feed_holds_exactly_the_readable_types() {
    use Permission as P;
    use RecordType as R;
    let cases: Vec<(&str, Vec<Permission>, Vec<RecordType>)> = vec![
        (
            "support agent",
            vec![P::OrgsRead, P::UsersRead, P::InvoicesRead, P::PiiReveal],
            vec![R::Org, R::User, R::Invoice],
        ),
        (
            "finance clerk",
            vec![P::OrgsRead, P::InvoicesRead, P::VendorsRead, P::PaymentsRead],
            vec![R::Org, R::Invoice, R::Vendor, R::Payment],
        ),
        ("security admin", vec![P::StaffManage], vec![]),
        (
            "reveal alone reads nothing",
            vec![P::FinanceReveal, P::PiiReveal],
            vec![],
        ),
        ("payments alone", vec![P::PaymentsRead], vec![R::Payment]),
    ];
    for (name, ps, expected) in cases {
        assert_eq!(readable(&perms(&ps)), expected, "{name}");
    }
}

#[test]
fn cursors_resume_only_for_their_subject_and_epoch() {
    let mine = Cursor {
        e: 7,
        sub: "staff-alice".into(),
        s: 42,
    };
    let cases: Vec<(&str, Option<Option<Cursor>>, Result<i64, E>)> = vec![
        ("no cursor: from the start", None, Ok(0)),
        ("my cursor", Some(Some(mine.clone())), Ok(42)),
        (
            "an older permission epoch",
            Some(Some(Cursor { e: 6, ..mine.clone() })),
            Err(E::StaleVersion),
        ),
        (
            "a newer permission epoch",
            Some(Some(Cursor { e: 8, ..mine.clone() })),
            Err(E::StaleVersion),
        ),
        (
            "someone else's",
            Some(Some(Cursor {
                sub: "staff-bob".into(),
                ..mine.clone()
            })),
            Err(E::StaleVersion),
        ),
        (
            "a negative position",
            Some(Some(Cursor { s: -1, ..mine.clone() })),
            Err(E::StaleVersion),
        ),
        ("unreadable", Some(None), Err(E::StaleVersion)),
    ];
    for (name, cursor, expected) in cases {
        let got = resume(cursor.as_ref().map(|c| c.as_ref()), 7, "staff-alice").map_err(|r| r.code);
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn page_sizes_and_statistics() {
    for (limit, expected) in [
        (None, Ok(200)),
        (Some(1), Ok(1)),
        (Some(200), Ok(200)),
        (Some(0), Err(E::InvalidRequest)),
        (Some(201), Err(E::InvalidRequest)),
    ] {
        assert_eq!(page_size(limit).map_err(|r| r.code), expected, "{limit:?}");
    }
    let all = Scope {
        all_orgs: true,
        regions: vec![],
        org_ids: vec![],
    };
    let eu = Scope {
        all_orgs: false,
        regions: vec![Region::EU],
        org_ids: vec![],
    };
    let one = Scope {
        all_orgs: false,
        regions: vec![],
        org_ids: vec![OrgId(uuid::Uuid::nil())],
    };
    assert!(statistics_may_estimate(&all));
    assert!(
        !statistics_may_estimate(&eu),
        "a regional caller would learn other regions' sizes"
    );
    assert!(!statistics_may_estimate(&one));
}

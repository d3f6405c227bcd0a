//! Table tests of `decide`: each case names the API code it expects (or the
//! outcome), and every refusal is also asked of `can_decide`, which must
//! give the same code whenever the decision asked about is the one
//! `can_decide` stands for (an approval of the current version, in person).

use super::*;
use countersign_api::Currency;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-12-07 12:00 UTC);

fn id(n: u8) -> Uuid {
    Uuid::from_bytes([n; 16])
}
const REQUESTER: u8 = 1;
const ME: u8 = 2;
const OTHER: u8 = 3;
const BOSS: u8 = 4;

fn eur(minor: i64) -> Money {
    Money::new(minor, Currency::parse("EUR").unwrap())
}

fn rule(approvals: u32, role: Option<&str>) -> Rule {
    Rule {
        approvals,
        one_of_role: role.map(str::to_owned),
        permission: "approvals:decide".into(),
        description: String::new(),
    }
}

/// One case: a pending refund of 500.00 EUR at version 2 needing one
/// approver, decided by an approver in person with no limit, unless the
/// case changes something.
struct Case {
    name: &'static str,
    request: Request,
    so_far: Vec<Given>,
    permissions: BTreeSet<Permission>,
    roles: Vec<String>,
    impersonating: bool,
    limit: Limit,
    delegator: Option<Delegator>,
    no_delegation: bool,
    payout_hold: bool,
    proposal: Proposal,
}

fn case(name: &'static str) -> Case {
    Case {
        name,
        request: Request {
            kind: ApprovalKind::Refund,
            status: ApprovalStatus::Pending,
            version: 2,
            requester_person: id(REQUESTER),
            amount_base: Some(eur(50_000)),
            expires_at: NOW + time::Duration::hours(1),
            required: vec![rule(1, None)],
        },
        so_far: vec![],
        permissions: [Permission::ApprovalsDecide, Permission::ApprovalsRequest].into(),
        roles: vec!["finance_approver".into()],
        impersonating: false,
        limit: Limit::None,
        delegator: None,
        no_delegation: false,
        payout_hold: false,
        proposal: Proposal {
            decision: Decision::Approve,
            version: 2,
        },
    }
}

fn given(person: u8, decision: Decision, version: i32, roles: &[&str]) -> Given {
    Given {
        person: id(person),
        on_behalf_person: None,
        decision,
        version_seen: version,
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn delegator(person: u8, roles: &[&str]) -> Delegator {
    Delegator {
        staff_id: id(person + 100),
        person: id(person),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

impl Case {
    fn with(mut self, f: impl FnOnce(&mut Case)) -> Case {
        f(&mut self);
        self
    }
    fn run(&self) -> (Result<Outcome, Refusal>, Result<(), Refusal>) {
        let d = Decider {
            person: id(ME),
            permissions: &self.permissions,
            roles: &self.roles,
            impersonating: self.impersonating,
            limit: self.limit.clone(),
        };
        let f = Facts {
            on_behalf: match (&self.delegator, self.no_delegation) {
                (_, true) => OnBehalf::NoDelegation,
                (Some(g), false) => OnBehalf::Of(g),
                (None, false) => OnBehalf::No,
            },
            payout_hold: self.payout_hold,
            now: NOW,
        };
        (
            decide(&self.request, &self.so_far, &d, self.proposal, &f),
            can_decide(&self.request, &self.so_far, &d, &f),
        )
    }
}

enum Expect {
    Refused(ErrorCode),
    Is(Outcome),
}
use Expect::*;

fn cases() -> Vec<(Case, Expect)> {
    use ApprovalStatus as S;
    use ErrorCode as E;
    let approve = Decision::Approve;
    let reject = Decision::Reject;
    vec![
        // 1. state
        (
            case("executed is not pending").with(|c| c.request.status = S::Executed),
            Refused(E::NotPending),
        ),
        (
            case("rejected is not pending").with(|c| c.request.status = S::Rejected),
            Refused(E::NotPending),
        ),
        (
            case("cancelled is not pending").with(|c| c.request.status = S::Cancelled),
            Refused(E::NotPending),
        ),
        (
            case("approved is not pending").with(|c| c.request.status = S::Approved),
            Refused(E::NotPending),
        ),
        (
            case("marked expired").with(|c| c.request.status = S::Expired),
            Refused(E::RequestExpired),
        ),
        (
            case("pending past expiry reads as expired").with(|c| c.request.expires_at = NOW),
            Refused(E::RequestExpired),
        ),
        (
            case("expiry answers before own request").with(|c| {
                c.request.expires_at = NOW - time::Duration::seconds(1);
                c.request.requester_person = id(ME);
            }),
            Refused(E::RequestExpired),
        ),
        (
            case("a rejection of an expired request is refused too").with(|c| {
                c.request.expires_at = NOW;
                c.proposal.decision = reject;
            }),
            Refused(E::RequestExpired),
        ),
        // 2. separation of duties
        (
            case("own request").with(|c| c.request.requester_person = id(ME)),
            Refused(E::SelfApprovalForbidden),
        ),
        (
            case("own request, rejecting").with(|c| {
                c.request.requester_person = id(ME);
                c.proposal.decision = reject;
            }),
            Refused(E::SelfApprovalForbidden),
        ),
        (
            case("for a delegator who requested it").with(|c| c.delegator = Some(delegator(REQUESTER, &[]))),
            Refused(E::SelfApprovalForbidden),
        ),
        (
            case("for someone who gave me no delegation").with(|c| c.no_delegation = true),
            Refused(E::Forbidden),
        ),
        (
            case("no delegation answers before own request").with(|c| {
                c.no_delegation = true;
                c.request.requester_person = id(ME);
            }),
            Refused(E::Forbidden),
        ),
        (
            case("expiry answers before a missing delegation").with(|c| {
                c.no_delegation = true;
                c.request.status = S::Expired;
            }),
            Refused(E::RequestExpired),
        ),
        (
            case("while impersonating").with(|c| c.impersonating = true),
            Refused(E::NotWhileImpersonating),
        ),
        (
            case("own request answers before permission").with(|c| {
                c.request.requester_person = id(ME);
                c.permissions.clear();
            }),
            Refused(E::SelfApprovalForbidden),
        ),
        // 3. permission
        (
            case("no decide permission").with(|c| c.permissions.clear()),
            Refused(E::Forbidden),
        ),
        (
            case("data export needs audit:export").with(|c| c.request.kind = ApprovalKind::DataExport),
            Refused(E::Forbidden),
        ),
        (
            case("data export with audit:export").with(|c| {
                c.request.kind = ApprovalKind::DataExport;
                c.request.amount_base = None;
                c.permissions = [Permission::AuditExport].into();
            }),
            Is(Outcome::Approved),
        ),
        (
            case("audit:export does not decide refunds").with(|c| c.permissions = [Permission::AuditExport].into()),
            Refused(E::Forbidden),
        ),
        (
            case("permission answers before version").with(|c| {
                c.permissions.clear();
                c.proposal.version = 1;
            }),
            Refused(E::Forbidden),
        ),
        // 4. version
        (
            case("an older version").with(|c| c.proposal.version = 1),
            Refused(E::StaleVersion),
        ),
        (
            case("a version from the future").with(|c| c.proposal.version = 3),
            Refused(E::StaleVersion),
        ),
        (
            case("version answers before a duplicate").with(|c| {
                c.proposal.version = 1;
                c.so_far = vec![given(ME, approve, 2, &[])];
            }),
            Refused(E::StaleVersion),
        ),
        // 5. duplicate
        (
            case("already approved").with(|c| c.so_far = vec![given(ME, approve, 2, &[])]),
            Refused(E::AlreadyDecided),
        ),
        (
            case("already rejected, now approving").with(|c| {
                c.request.required = vec![rule(2, None)];
                c.so_far = vec![given(ME, reject, 2, &[])];
            }),
            Refused(E::AlreadyDecided),
        ),
        (
            case("decided an older version: may decide again").with(|c| c.so_far = vec![given(ME, approve, 1, &[])]),
            Is(Outcome::Approved),
        ),
        (
            case("my delegate already decided for me").with(|c| {
                c.so_far = vec![Given {
                    on_behalf_person: Some(id(ME)),
                    ..given(OTHER, approve, 2, &[])
                }]
            }),
            Refused(E::AlreadyDecided),
        ),
        (
            case("the delegator already decided in person").with(|c| {
                c.request.required = vec![rule(2, None)];
                c.delegator = Some(delegator(BOSS, &[]));
                c.so_far = vec![given(BOSS, approve, 2, &[])];
            }),
            Refused(E::AlreadyDecided),
        ),
        // 6. limit
        (
            case("over the limit").with(|c| {
                c.limit = Limit::Base {
                    base: eur(49_999),
                    configured: eur(49_999),
                }
            }),
            Refused(E::ApprovalLimitExceeded),
        ),
        (
            case("exactly at the limit").with(|c| {
                c.limit = Limit::Base {
                    base: eur(50_000),
                    configured: eur(50_000),
                }
            }),
            Is(Outcome::Approved),
        ),
        (
            case("a limit in a currency with no rate").with(|c| c.limit = Limit::NoRate(eur(1))),
            Refused(E::ApprovalLimitExceeded),
        ),
        (
            case("the limit does not stop a rejection").with(|c| {
                c.proposal.decision = reject;
                c.limit = Limit::Base {
                    base: eur(1),
                    configured: eur(1),
                };
            }),
            Is(Outcome::Rejected),
        ),
        (
            case("no amount, no limit to pass").with(|c| {
                c.request.kind = ApprovalKind::VendorBankChange;
                c.request.amount_base = None;
                c.limit = Limit::Base {
                    base: eur(1),
                    configured: eur(1),
                };
            }),
            Is(Outcome::Approved),
        ),
        (
            case("limit answers before payout hold").with(|c| {
                c.request.kind = ApprovalKind::PayoutRelease;
                c.payout_hold = true;
                c.limit = Limit::NoRate(eur(1));
            }),
            Refused(E::ApprovalLimitExceeded),
        ),
        // 7. payout hold
        (
            case("payout on hold").with(|c| {
                c.request.kind = ApprovalKind::PayoutRelease;
                c.payout_hold = true;
            }),
            Refused(E::PayoutHold),
        ),
        (
            case("a held payout may still be rejected").with(|c| {
                c.request.kind = ApprovalKind::PayoutRelease;
                c.payout_hold = true;
                c.proposal.decision = reject;
            }),
            Is(Outcome::Rejected),
        ),
        (
            case("a hold concerns payouts only").with(|c| c.payout_hold = true),
            Is(Outcome::Approved),
        ),
        // 8. outcome
        (
            case("one approver needed, one given").with(|_| {}),
            Is(Outcome::Approved),
        ),
        (
            case("a rejection rejects").with(|c| c.proposal.decision = reject),
            Is(Outcome::Rejected),
        ),
        (
            case("two needed, first given").with(|c| c.request.required = vec![rule(2, None)]),
            Is(Outcome::Counted),
        ),
        (
            case("two needed, second given").with(|c| {
                c.request.required = vec![rule(2, None)];
                c.so_far = vec![given(OTHER, approve, 2, &[])];
            }),
            Is(Outcome::Approved),
        ),
        (
            case("approvals of an older version do not count").with(|c| {
                c.request.required = vec![rule(2, None)];
                c.so_far = vec![given(OTHER, approve, 1, &[])];
            }),
            Is(Outcome::Counted),
        ),
        (
            case("a rejection by someone else does not count as an approval").with(|c| {
                c.request.required = vec![rule(2, None)];
                c.so_far = vec![given(OTHER, reject, 2, &[])];
            }),
            Is(Outcome::Counted),
        ),
        (
            case("a role is needed and nobody holds it").with(|c| {
                c.request.required = vec![rule(2, Some("finance_controller"))];
                c.so_far = vec![given(OTHER, approve, 2, &["finance_approver"])];
            }),
            Is(Outcome::Counted),
        ),
        (
            case("a role is needed and the earlier approver holds it").with(|c| {
                c.request.required = vec![rule(2, Some("finance_controller"))];
                c.so_far = vec![given(OTHER, approve, 2, &["finance_controller"])];
            }),
            Is(Outcome::Approved),
        ),
        (
            case("a role is needed and I hold it").with(|c| {
                c.request.required = vec![rule(2, Some("finance_controller"))];
                c.roles = vec!["finance_controller".into()];
                c.so_far = vec![given(OTHER, approve, 2, &["finance_approver"])];
            }),
            Is(Outcome::Approved),
        ),
        (
            case("for a delegator: their roles count, not mine").with(|c| {
                c.request.required = vec![rule(2, Some("finance_controller"))];
                c.delegator = Some(delegator(BOSS, &["finance_controller"]));
                c.so_far = vec![given(OTHER, approve, 2, &["finance_approver"])];
            }),
            Is(Outcome::Approved),
        ),
        (
            case("for a delegator without the role: mine do not count").with(|c| {
                c.request.required = vec![rule(2, Some("finance_controller"))];
                c.roles = vec!["finance_controller".into()];
                c.delegator = Some(delegator(BOSS, &["finance_approver"]));
                c.so_far = vec![given(OTHER, approve, 2, &["finance_approver"])];
            }),
            Is(Outcome::Counted),
        ),
        (
            case("the same person twice is one person").with(|c| {
                c.request.required = vec![rule(3, None)];
                c.so_far = vec![given(OTHER, approve, 2, &[]), given(OTHER, approve, 2, &[])];
            }),
            Is(Outcome::Counted),
        ),
        (
            case("a decision on a delegator's behalf counts as the delegator's").with(|c| {
                c.request.required = vec![rule(3, None)];
                c.so_far = vec![
                    given(BOSS, approve, 2, &[]),
                    Given {
                        on_behalf_person: Some(id(BOSS)),
                        ..given(OTHER, approve, 2, &[])
                    },
                ];
            }),
            Is(Outcome::Counted),
        ),
        (
            case("every rule must be met").with(|c| {
                c.request.required = vec![rule(1, None), rule(2, None)];
            }),
            Is(Outcome::Counted),
        ),
    ]
}

#[test]
fn every_case_answers_its_code_and_can_decide_agrees() {
    let cases = cases();
    assert!(cases.len() >= 45, "{} cases", cases.len());
    for (c, expected) in &cases {
        let (decided, asked) = c.run();
        match expected {
            Refused(code) => assert_eq!(decided.as_ref().map_err(|r| r.code), Err(*code), "{}", c.name),
            Is(outcome) => assert_eq!(decided.as_ref().map_err(|r| r.code), Ok(outcome), "{}", c.name),
        }
        // can_decide is the decision "approve the current version, in
        // person": wherever the case asks exactly that, the two agree.
        let same_question = c.proposal.decision == Decision::Approve
            && c.proposal.version == c.request.version
            && c.delegator.is_none()
            && !c.no_delegation;
        if same_question {
            assert_eq!(
                decided.map(|_| ()).map_err(|r| r.code),
                asked.map_err(|r| r.code),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn refusals_say_why_in_words() {
    let (over, _) = case("")
        .with(|c| {
            c.limit = Limit::Base {
                base: eur(100),
                configured: eur(100),
            }
        })
        .run();
    let message = over.unwrap_err().message;
    assert!(message.contains("500.00") && message.contains("refund"), "{message}");
    let (stale, _) = case("").with(|c| c.proposal.version = 1).run();
    assert_eq!(stale.unwrap_err().message, "The request changed: it is at version 2.");
}

#[test]
fn status_reads_expired_from_the_second_of_expiry() {
    let at = NOW;
    assert_eq!(status_at(ApprovalStatus::Pending, at, at), ApprovalStatus::Expired);
    assert_eq!(
        status_at(ApprovalStatus::Pending, at, at - time::Duration::seconds(1)),
        ApprovalStatus::Pending
    );
    assert_eq!(status_at(ApprovalStatus::Executed, at, at), ApprovalStatus::Executed);
}

//! Issue 18 without the window: `countersign_client::desktop::Desktop`, which
//! every app command is a one-liner over, against the real stack (dev OpenID
//! provider, PostgreSQL, a `countersign-server` process, the OS keyring).
//! The window itself is driven through WebDriver in `tests/e2e/`.

use countersign_api::{OrgId, RecordType, RevealRequest};
use countersign_client::browser::scripted::ScriptedBrowser;
use countersign_client::browser::{Browser, NoBrowser};
use countersign_client::desktop::{CacheMode, Desktop, Options, PersistenceView, Theme};
use countersign_client::discovery::{Paths, ServerSource};
use countersign_client::error::Code;
use countersign_client::secrets::{self, KeyringSecretStore, SecretStore};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

mod support;
use support::*;

fn paths(dir: &Path) -> Paths {
    Paths {
        config_dir: dir.join("config"),
        system_config: dir.join("etc/config.toml"),
        data_dir: dir.join("data"),
    }
}

fn keyring() -> Arc<dyn SecretStore> {
    let k = KeyringSecretStore::new();
    k.check_available()
        .expect("the real Secret Service (run inside scripts/with-keyring)");
    Arc::new(k)
}

fn desktop(dir: &Path, env_url: Option<&str>, browser: Arc<dyn Browser>) -> Desktop {
    let options = Options {
        sign_in_timeout: Duration::from_secs(30),
        ..Options::default()
    };
    Desktop::new(paths(dir), env_url.map(str::to_owned), keyring(), browser, options)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_url_is_asked_for_checked_and_remembered() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path(), None, Arc::new(NoBrowser));

    // No variable, no file: the first screen asks.
    let state = app.start().await;
    assert!(state.server.is_none() && state.server_error.is_none() && state.account.is_none());

    // What a person may type wrong, each told apart.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert_eq!(
        app.set_server(&format!("http://127.0.0.1:{closed}"))
            .await
            .unwrap_err()
            .code,
        Code::Network
    );
    assert_eq!(
        app.set_server(&var("COUNTERSIGN_ISSUER")).await.unwrap_err().code,
        Code::NotCountersign,
        "the identity provider answers, but is not a Countersign server"
    );
    let tls = app
        .set_server(&server.url.replace("http://", "https://"))
        .await
        .unwrap_err();
    assert_eq!(tls.code, Code::Tls, "{tls:?}");
    assert_eq!(
        app.set_server("ftp://example").await.unwrap_err().code,
        Code::ConfigInvalid
    );
    assert!(
        !paths(dir.path()).user_config().exists(),
        "nothing is saved until a server answered"
    );

    // The right one: saved, and it says where to sign in.
    let state = app.set_server(&server.url).await.unwrap();
    let info = state.server.expect("the server");
    assert_eq!(info.url, server.url);
    assert_eq!(info.source, ServerSource::Entered);
    assert_eq!(info.providers[0].issuer, var("COUNTERSIGN_ISSUER"));
    assert!(!state.update_required);

    // Next start: read from the user's file, not asked again.
    let again = desktop(dir.path(), None, Arc::new(NoBrowser)).start().await;
    assert_eq!(again.server.map(|s| s.source), Some(ServerSource::UserConfig));
    // The environment wins over the file; an unreachable one is reported, not fatal.
    let env = desktop(
        dir.path(),
        Some(&format!("http://127.0.0.1:{closed}")),
        Arc::new(NoBrowser),
    )
    .start()
    .await;
    assert!(env.server.is_none());
    assert_eq!(env.server_error.map(|e| e.code), Some(Code::Network));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_older_than_the_servers_minimum_signs_nobody_in() {
    let server = Server::start_with(&[("COUNTERSIGN_MIN_CLIENT_VERSION", "999.0.0")]);
    let dir = tempfile::tempdir().unwrap();
    let browser = Arc::new(ScriptedBrowser::new("alice"));
    let app = desktop(dir.path(), Some(&server.url), browser.clone());
    let state = app.start().await;
    assert!(state.update_required, "{state:?}");
    let issuer = state.server.unwrap().providers[0].issuer.clone();
    let refused = app.sign_in(&issuer).await.unwrap_err();
    assert_eq!(refused.code, Code::UpdateRequired);
    assert!(browser.outcome().is_none(), "no browser was opened");
    assert!(app.start().await.account.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_waiting_for_the_browser_can_be_cancelled() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = Arc::new(desktop(dir.path(), Some(&server.url), Arc::new(NoBrowser)));
    let issuer = app.start().await.server.unwrap().providers[0].issuer.clone();
    let waiting = tokio::spawn({
        let app = app.clone();
        let issuer = issuer.clone();
        async move { app.sign_in(&issuer).await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !app.signing_in() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first sign-in never started waiting"
        );
        tokio::task::yield_now().await;
    }
    // A second sign-in while one waits is refused, not queued.
    assert_eq!(app.sign_in(&issuer).await.unwrap_err().code, Code::SignInInProgress);
    assert!(app.signing_in(), "and the first one still waits");
    app.cancel_sign_in();
    let cancelled = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("cancel ends the wait")
        .unwrap();
    assert_eq!(cancelled.unwrap_err().code, Code::SignInCancelled);
    assert!(app.start().await.account.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_signs_in_finds_acme_reveals_resumes_and_signs_out_through_the_app_state() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let browser = Arc::new(ScriptedBrowser::new("alice"));
    let app = desktop(dir.path(), Some(&server.url), browser.clone());
    let state = app.start().await;
    let issuer = state.server.unwrap().providers[0].issuer.clone();
    assert!(state.account.is_none());
    assert_eq!(app.sync(|_| {}).await.unwrap_err().code, Code::NotSignedIn);

    let me = app
        .sign_in(&issuer)
        .await
        .unwrap_or_else(|e| panic!("{e:?} ({:?})", browser.outcome()));
    assert_eq!(
        (me.subject.as_str(), me.persistence),
        ("staff-alice", PersistenceView::Keyring)
    );
    assert_eq!(me.roles, vec!["support_agent".to_owned()]);

    // First sync, with progress.
    let mut progress = Vec::new();
    let report = app.sync(|p| progress.push(p)).await.unwrap();
    assert!(report.records > 0 && !report.purged);
    assert_eq!(progress.last().map(|p| p.done), Some(report.applied));
    assert!(
        progress.first().and_then(|p| p.estimated_total).is_some(),
        "the first page says what to expect"
    );
    let status = app.sync_status().await.unwrap();
    assert!(status.online && !status.syncing && status.last_synced_at.is_some());
    assert_eq!(status.records, report.records);

    // Find acme, open it: its tabs come from the cache, and it is now recent.
    let hits = app.search("acme", 50).await.unwrap();
    let acme = hits.iter().find(|h| h.record_type == RecordType::Org).expect("acme");
    assert_eq!(acme.org_name, "Acme Corporation");
    assert!(app.recent_orgs().await.unwrap().is_empty());
    let summary = app.org(OrgId(acme.org_id)).await.unwrap();
    assert_eq!(summary.org.slug, "acme");
    let users = app.org_users(OrgId(acme.org_id)).await.unwrap();
    assert_eq!(users.len() as u64, summary.users);
    assert!(
        users
            .iter()
            .all(|u| u.org_id.0 == acme.org_id && u.email.masked.contains('*')),
        "masked, and only acme's"
    );
    assert_eq!(
        app.org_invoices(OrgId(acme.org_id)).await.unwrap().len() as u64,
        summary.invoices
    );
    assert_eq!(
        app.recent_orgs()
            .await
            .unwrap()
            .iter()
            .map(|o| o.slug.as_str())
            .collect::<Vec<_>>(),
        vec!["acme"]
    );
    // A US org is not in alice's cache: not found locally, whatever its id.
    assert_eq!(
        app.org(OrgId(uuid::Uuid::new_v4())).await.unwrap_err().code,
        Code::NotFoundLocally
    );

    // Reveal: a short reason is the server's reason_required; a good one gives the value.
    let user = &users[0];
    let short = app
        .reveal(RevealRequest {
            record_type: RecordType::User,
            record_id: user.id.0,
            field: "email".into(),
            reason: "because".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(short.code, Code::ReasonRequired);
    let revealed = app
        .reveal(RevealRequest {
            record_type: RecordType::User,
            record_id: user.id.0,
            field: "email".into(),
            reason: "Customer called to confirm the address".into(),
        })
        .await
        .unwrap();
    assert!(revealed.value.contains('@') && !revealed.value.contains('*'));
    assert!(
        !format!("{revealed:?}").contains(&revealed.value),
        "Debug never shows the value"
    );

    // Settings: encrypted on disk, the theme is remembered.
    let settings = app.settings().await.unwrap();
    let cache = settings.cache.unwrap();
    assert_eq!(cache.mode, CacheMode::Encrypted);
    assert!(cache.size_bytes > 0 && cache.records == report.records);
    assert!(!contains(
        &std::fs::read_dir(paths(dir.path()).data_dir)
            .unwrap()
            .flatten()
            .flat_map(|f| std::fs::read(f.path()).unwrap_or_default())
            .collect::<Vec<u8>>(),
        revealed.value.as_bytes()
    ));
    assert_eq!(app.theme(), Theme::System);
    app.set_theme(Theme::Dark).unwrap();
    assert_eq!(app.settings().await.unwrap().theme, Theme::Dark);

    // Quit and start again: resumed without a browser.
    drop(app);
    let app = desktop(dir.path(), Some(&server.url), Arc::new(NoBrowser));
    let state = app.start().await;
    assert_eq!(
        state.account.map(|a| a.subject),
        Some("staff-alice".into()),
        "resumed: {:?}",
        state.resume_error
    );
    assert_eq!(
        app.sync_status().await.unwrap().records,
        report.records,
        "the cache is still there"
    );

    // Wipe local data: the cache goes, the session stays, the next sync refills.
    app.wipe_local_data().await.unwrap();
    assert_eq!(app.sync_status().await.unwrap().records, 0);
    assert!(app.search("acme", 5).await.unwrap().is_empty());
    assert_eq!(app.sync(|_| {}).await.unwrap().records, report.records);

    // sid revokes alice's role: the next sync purges, and says so.
    server.staff(&["revoke", "staff-alice", "support_agent"]);
    let purged = app.sync(|_| {}).await.unwrap();
    assert!(purged.purged && purged.records == 0, "{purged:?}");

    // Sign out: keyring entries, cache files and the resume note are gone.
    app.sign_out().await.unwrap();
    let store = keyring();
    assert!(secrets::load_refresh_token(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .is_none());
    assert!(secrets::load_cache_key(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .is_none());
    assert_eq!(
        std::fs::read_dir(paths(dir.path()).data_dir).unwrap().count(),
        0,
        "no cache file and no session note left"
    );
    assert!(desktop(dir.path(), Some(&server.url), Arc::new(NoBrowser))
        .start()
        .await
        .account
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_server_goes_away_reads_go_on_from_the_cache_and_actions_say_offline() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path(), Some(&server.url), Arc::new(ScriptedBrowser::new("alice")));
    let issuer = app.start().await.server.unwrap().providers[0].issuer.clone();
    app.sign_in(&issuer).await.unwrap();
    app.sync(|_| {}).await.unwrap();
    let acme = app.search("acme", 5).await.unwrap()[0].org_id;
    let user = app.org_users(OrgId(acme)).await.unwrap()[0].id;

    server.stop();
    let offline = app.sync(|_| {}).await.unwrap_err();
    assert_eq!(offline.code, Code::Offline, "{offline:?}");
    let status = app.sync_status().await.unwrap();
    assert!(!status.online && status.offline_since.is_some() && status.last_synced_at.is_some());
    assert!(
        !app.org_users(OrgId(acme)).await.unwrap().is_empty(),
        "cached reads still work"
    );
    assert!(!app.search("acme", 5).await.unwrap().is_empty());
    let reveal = app
        .reveal(RevealRequest {
            record_type: RecordType::User,
            record_id: user.0,
            field: "email".into(),
            reason: "Customer called to confirm the address".into(),
        })
        .await;
    assert_eq!(
        reveal.unwrap_err().code,
        Code::Offline,
        "an action is refused, not queued"
    );

    server.restart();
    app.sync(|_| {}).await.unwrap();
    assert!(app.sync_status().await.unwrap().online, "reconnected");
    app.sign_out().await.unwrap();
}

/// `who`'s app, signed in through the scripted browser against `url`; its
/// profile directory, and the issuer it signed in with.
async fn signed_in(url: &str, who: &'static str) -> (Desktop, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path(), Some(url), Arc::new(ScriptedBrowser::new(who)));
    let issuer = app.start().await.server.unwrap().providers[0].issuer.clone();
    app.sign_in(&issuer).await.unwrap_or_else(|e| panic!("{who}: {e:?}"));
    (app, dir, issuer)
}

/// Issue 21 (approvals, through the app state): carl requests a refund above
/// andy's limit; each approver's app says, before anyone tries,
/// who may decide it and why not; a refused decision changes nothing; ana and
/// cora approve and it is executed for everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_goes_from_request_to_execution_and_each_app_says_why_not_me_first() {
    use countersign_api::{ApprovalStatus, CreateApproval, DecideApproval, Decision, Money};
    use countersign_client::api_client::{ApprovalFilter, Mine};

    let server = Server::start();
    let signed_in = |who: &'static str| signed_in(&server.url, who);
    let list = |mine| ApprovalFilter {
        mine,
        ..ApprovalFilter::default()
    };

    // carl finds acme's largest invoice in his synced data and asks for its refund.
    let (carl, _carl_dir, _) = signed_in("carl").await;
    carl.sync(|_| {}).await.unwrap();
    let acme = carl.search("acme", 5).await.unwrap();
    let acme = OrgId(acme.iter().find(|h| h.record_type == RecordType::Org).unwrap().org_id);
    let invoice = carl
        .org_invoices(acme)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.amount.currency.code() == "EUR")
        .max_by_key(|i| i.amount.amount_minor)
        .unwrap();
    // The largest refund the seed allows: above andy's limit (10,000.00 EUR), so two approvers.
    assert!(
        invoice.amount.amount_minor > 1_000_000,
        "acme has an EUR invoice above 10,000.00: {:?}",
        invoice.amount
    );
    let amount = Money::new(invoice.amount.amount_minor, invoice.amount.currency);
    let request = CreateApproval {
        kind: countersign_api::ApprovalKind::Refund,
        org_id: acme,
        target_id: invoice.id.0,
        amount: Some(amount),
        payload: Default::default(),
        reason: "Contract terminated: refund of the prepayment".into(),
    };
    let a = carl.request_approval(request).await.unwrap();
    assert_eq!(a.status, ApprovalStatus::Pending);
    assert_eq!(a.required.iter().map(|r| r.approvals).sum::<u32>(), 2);
    // His own request: he is told why not, in his requested list too.
    assert!(!a.can_decide);
    assert_eq!(
        a.cannot_decide.as_ref().map(|c| c.code),
        Some(countersign_api::ErrorCode::SelfApprovalForbidden)
    );
    let mine = carl.approvals(list(Some(Mine::Requested))).await.unwrap();
    assert!(mine.items.iter().any(|x| x.id == a.id));
    let decide = |version| DecideApproval {
        decision: Decision::Approve,
        comment: "checked the termination letter".into(),
        version,
        on_behalf_of: None,
    };
    let refused = carl.decide(a.id, decide(a.version)).await.unwrap_err();
    assert_eq!(refused.code, Code::SelfApprovalForbidden, "{refused:?}");

    // andy (limit 10,000.00) sees it waiting, and why he cannot decide it; trying changes nothing.
    let (andy, _andy_dir, _) = signed_in("andy").await;
    let waiting = andy.approvals(list(Some(Mine::ToDecide))).await.unwrap();
    let seen = waiting
        .items
        .iter()
        .find(|x| x.id == a.id)
        .expect("in andy's to-decide list");
    assert!(!seen.can_decide);
    assert_eq!(
        seen.cannot_decide.as_ref().map(|c| c.code),
        Some(countersign_api::ErrorCode::ApprovalLimitExceeded)
    );
    let refused = andy.decide(a.id, decide(a.version)).await.unwrap_err();
    assert_eq!(refused.code, Code::ApprovalLimitExceeded);
    assert!(
        andy.approval(a.id).await.unwrap().decisions.is_empty(),
        "a refused decision records nothing"
    );

    // ana approves: one of two; she may not approve twice.
    let (ana, _ana_dir, _) = signed_in("ana").await;
    let seen = ana.approval(a.id).await.unwrap();
    assert!(seen.can_decide && seen.cannot_decide.is_none());
    let after = ana.decide(a.id, decide(seen.version)).await.unwrap();
    assert_eq!((after.status, after.decisions.len()), (ApprovalStatus::Pending, 1));
    assert_eq!(
        after.cannot_decide.as_ref().map(|c| c.code),
        Some(countersign_api::ErrorCode::AlreadyDecided)
    );
    assert_eq!(
        ana.decide(a.id, decide(seen.version)).await.unwrap_err().code,
        Code::AlreadyDecided
    );
    assert!(!ana
        .approvals(list(Some(Mine::ToDecide)))
        .await
        .unwrap()
        .items
        .iter()
        .any(|x| x.id == a.id));

    // cora, a finance controller, completes it: executed, for carl too.
    let (cora, _cora_dir, _) = signed_in("cora").await;
    let done = cora.decide(a.id, decide(a.version)).await.unwrap();
    assert_eq!(done.status, ApprovalStatus::Executed);
    assert!(done.execution_result.is_some());
    assert_eq!(carl.approval(a.id).await.unwrap().status, ApprovalStatus::Executed);

    // Only the requester withdraws a pending request; once withdrawn, nothing is left to do.
    let small = carl
        .request_approval(CreateApproval {
            kind: countersign_api::ApprovalKind::Refund,
            org_id: acme,
            target_id: invoice.id.0,
            amount: Some(Money::new(10_000, invoice.amount.currency)),
            payload: Default::default(),
            reason: "Late delivery fee waived".into(),
        })
        .await
        .unwrap();
    assert_eq!(andy.cancel_approval(small.id).await.unwrap_err().code, Code::Forbidden);
    assert_eq!(andy.approval(small.id).await.unwrap().status, ApprovalStatus::Pending);
    assert_eq!(
        carl.cancel_approval(small.id).await.unwrap().status,
        ApprovalStatus::Cancelled
    );
    assert_eq!(carl.cancel_approval(small.id).await.unwrap_err().code, Code::NotPending);

    // A form submitted twice with one key (a double click, both in flight together) makes
    // one request; the same key with other details is refused and makes nothing.
    let form = CreateApproval {
        kind: countersign_api::ApprovalKind::Refund,
        org_id: acme,
        target_id: invoice.id.0,
        amount: Some(Money::new(200_000, invoice.amount.currency)),
        payload: Default::default(),
        reason: "Ticket 4821: charged twice in March".into(),
    };
    let key = "form-7f3c1e2a-double-click";
    let (first, second) = tokio::join!(
        carl.request_approval_once(form.clone(), key),
        carl.request_approval_once(form.clone(), key)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.id, second.id, "one request for one submission");
    let made = |items: &[countersign_api::Approval]| items.iter().filter(|x| x.reason == form.reason).count();
    assert_eq!(
        made(&carl.approvals(list(Some(Mine::Requested))).await.unwrap().items),
        1
    );
    let other = CreateApproval {
        reason: "Another reason entirely".into(),
        ..form.clone()
    };
    assert_eq!(
        carl.request_approval_once(other, key).await.unwrap_err().code,
        Code::IdempotencyKeyReused
    );
    assert_eq!(
        carl.request_approval_once(form.clone(), "").await.unwrap_err().code,
        Code::InvalidRequest
    );
    assert_eq!(
        made(&carl.approvals(list(Some(Mine::Requested))).await.unwrap().items),
        1
    );

    // Amend: ana's approval of version 1 stops counting; only the requester amends; a
    // decision or an amendment on the old version is stale.
    let seen = ana.decide(first.id, decide(first.version)).await.unwrap();
    assert_eq!((seen.status, seen.decisions.len()), (ApprovalStatus::Pending, 1));
    let amend = countersign_api::AmendApproval {
        amount: Some(Money::new(150_000, invoice.amount.currency)),
        payload: None,
        reason: None,
        version: first.version,
    };
    assert_eq!(
        andy.amend_approval(first.id, amend.clone()).await.unwrap_err().code,
        Code::Forbidden
    );
    let amended = carl.amend_approval(first.id, amend.clone()).await.unwrap();
    assert_eq!(amended.version, first.version + 1);
    assert_eq!(amended.amount.map(|m| m.amount_minor), Some(150_000));
    assert!(amended.decisions.iter().all(|d| !d.current), "{:?}", amended.decisions);
    assert!(
        ana.approval(first.id).await.unwrap().can_decide,
        "ana may approve the new version"
    );
    assert_eq!(
        cora.decide(first.id, decide(first.version)).await.unwrap_err().code,
        Code::StaleVersion
    );
    assert_eq!(
        carl.amend_approval(first.id, amend).await.unwrap_err().code,
        Code::StaleVersion
    );
    carl.cancel_approval(first.id).await.unwrap();
    for app in [&carl, &andy, &ana, &cora] {
        app.sign_out().await.unwrap();
    }
}

/// Issue 21, point 6 (staff access, through the app state): sid sees the
/// access review, is refused changing himself, deactivates bob with a reason;
/// bob's running app is signed out at its next request, its local data and
/// keyring entries gone; reactivated, bob signs in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sid_deactivates_bob_and_bobs_running_app_is_signed_out_at_its_next_request() {
    use countersign_client::api_client::StaffFilter;

    let server = Server::start();
    let signed_in = |who: &'static str| signed_in(&server.url, who);
    let (bob, bob_dir, issuer) = signed_in("bob").await;
    bob.sync(|_| {}).await.unwrap();
    assert!(bob.sync_status().await.unwrap().records > 0);

    let (sid, _sid_dir, _) = signed_in("sid").await;
    let all = sid.staff(StaffFilter::default()).await.unwrap();
    let find = |subject: &str| all.iter().find(|m| m.subject == subject).unwrap().clone();
    let (bob_row, sid_row) = (find("staff-bob"), find("staff-sid"));
    assert!(bob_row.active && bob_row.last_active_at.is_some(), "{bob_row:?}");
    let privileged = sid
        .staff(StaffFilter {
            privileged: Some(true),
            ..StaffFilter::default()
        })
        .await
        .unwrap();
    assert!(privileged.iter().any(|m| m.id == sid_row.id));
    assert!(!privileged.iter().any(|m| m.id == bob_row.id));

    // Never oneself, and never without a reason: refused, nothing changed.
    let own = sid.deactivate_staff(sid_row.id, "Testing my own account".into()).await;
    assert_eq!(own.unwrap_err().code, Code::SelfChangeForbidden);
    let short = sid.deactivate_staff(bob_row.id, "because".into()).await;
    assert_eq!(short.unwrap_err().code, Code::ReasonRequired);
    assert!(bob.sync(|_| {}).await.is_ok(), "bob still works");

    let off = sid
        .deactivate_staff(bob_row.id, "INC-2291: laptop reported stolen".into())
        .await
        .unwrap();
    assert!(!off.active);
    assert_eq!(
        off.deactivation_reason.as_deref(),
        Some("INC-2291: laptop reported stolen")
    );

    // bob's app, still running, makes its next request: refused and signed out here.
    let refused = bob.sync(|_| {}).await.unwrap_err();
    assert_eq!(refused.code, Code::AccountDisabled, "{refused:?}");
    assert_eq!(bob.sync(|_| {}).await.unwrap_err().code, Code::NotSignedIn);
    let store = keyring();
    assert!(secrets::load_refresh_token(store.as_ref(), &issuer, "staff-bob")
        .unwrap()
        .is_none());
    assert!(secrets::load_cache_key(store.as_ref(), &issuer, "staff-bob")
        .unwrap()
        .is_none());
    assert_eq!(
        std::fs::read_dir(paths(bob_dir.path()).data_dir).unwrap().count(),
        0,
        "no cache file and no session note left"
    );

    // Reactivated, bob signs in again.
    assert!(sid.reactivate_staff(bob_row.id).await.unwrap().active);
    bob.sign_in(&issuer).await.unwrap();
    assert!(bob.sync(|_| {}).await.unwrap().records > 0);
    for app in [&bob, &sid] {
        app.sign_out().await.unwrap();
    }
}

//! Issue 18 without the window: `countersign_client::desktop::Desktop`, which
//! every app command is a one-liner over, against the real stack (dev OpenID
//! provider, PostgreSQL, a `countersign-server` process, the OS keyring).
//! The window itself is driven through WebDriver in `tests/e2e/`.

use countersign_api::{OrgId, RecordType, RevealRequest, Scope, StaffRole, StaffUpdate};
use countersign_client::api_client::StaffFilter;
use countersign_client::browser::scripted::ScriptedBrowser;
use countersign_client::browser::NoBrowser;
use countersign_client::desktop::{CacheMode, Desktop, PersistenceView, Theme};
use countersign_client::discovery::ServerSource;
use countersign_client::error::Code;
use countersign_client::secrets;
use std::sync::Arc;
use std::time::Duration;

mod support;
use support::*;

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

/// Issue 22, point 3: the server raises its minimum while the app runs. The
/// app's next request states its version and is refused; from then on the
/// app says update_required (before it has read the new minimum: the refusal
/// alone says so) and signs nobody in, but keeps the session for the update.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimum_raised_mid_session_refuses_the_next_request_and_the_app_asks_for_the_update() {
    let _keyring = keyring_users(&["alice"]).await;
    let mut server = Server::start();
    let (app, dir, issuer) = signed_in(&server.url, "alice").await;
    app.sync(|_| {}).await.unwrap();

    server.restart_with(&[("COUNTERSIGN_MIN_CLIENT_VERSION", "999.0.0")]);
    let refused = app.sync(|_| {}).await.unwrap_err();
    assert_eq!(refused.code, Code::ClientUpdateRequired, "{refused:?}");
    assert_eq!(
        app.sign_in(&issuer).await.unwrap_err().code,
        Code::UpdateRequired,
        "the refusal alone: the app has not read the new minimum yet"
    );
    // What the window reads next (app_start): the update screen, the new minimum, the session kept.
    let state = app.start().await;
    assert!(state.update_required, "{state:?}");
    assert_eq!(state.server.unwrap().min_client_version, "999.0.0");
    assert!(state.account.is_some());
    assert_eq!(app.sync(|_| {}).await.unwrap_err().code, Code::ClientUpdateRequired);

    // Once the app is one the server serves (here: the minimum back down), the
    // next start resumes the session kept for it.
    server.restart_with(&[]);
    let updated = desktop(dir.path(), Some(&server.url), Arc::new(NoBrowser));
    let state = updated.start().await;
    assert!(!state.update_required && state.account.is_some(), "{state:?}");
    updated.sync(|_| {}).await.unwrap();
    updated.sign_out().await.unwrap();
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
    let _keyring = keyring_users(&["alice"]).await;
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

    // Quit and start again, as the shell does (the start begun before the
    // window asks): resumed without a browser; the search answers from the
    // cache as soon as its index, built on its own thread, is there.
    let acme_before = app.search("acme", 5).await.unwrap();
    drop(app);
    let app = desktop(dir.path(), Some(&server.url), Arc::new(NoBrowser));
    app.start_early().await;
    let state = app.start().await;
    assert_eq!(
        state.account.map(|a| a.subject),
        Some("staff-alice".into()),
        "resumed: {:?}",
        state.resume_error
    );
    assert_eq!(app.search("acme", 5).await.unwrap(), acme_before);
    app.start_early().await; // too late: changes nothing
    assert_eq!(app.start().await.account.map(|a| a.subject), Some("staff-alice".into()));
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
    let _keyring = keyring_users(&["alice"]).await;
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
    let _keyring = keyring_users(&["carl", "andy", "ana", "cora"]).await;
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
    let _keyring = keyring_users(&["bob", "sid"]).await;
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
    // Every later command says why too (the window may hear another one first).
    assert_eq!(bob.sync(|_| {}).await.unwrap_err().code, Code::AccountDisabled);
    assert_eq!(bob.sync_status().await.unwrap_err().code, Code::AccountDisabled);
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

/// Issue 21, point 3 (the agent's side, through the app state): alice starts
/// a read session on an acme user, sees the customer's view, is refused a
/// customer action and every staff action while in it, and ends it; a write
/// session waits until sam approves it in his own app, its clock starting
/// then; quitting the app ends a session on the server first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_supports_an_acme_user_read_then_write_after_sam_approves_and_quitting_ends_the_session() {
    let _keyring = keyring_users(&["alice", "sam"]).await;
    use countersign_api::{CreateImpersonation, CustomerRole, SessionScope, UpdateUser};
    use countersign_client::api_client::ApprovalFilter;

    let server = Server::start();
    let signed_in = |who: &'static str| signed_in(&server.url, who);
    let (alice, _alice_dir, _) = signed_in("alice").await;
    alice.sync(|_| {}).await.unwrap();
    let acme = alice.search("acme", 5).await.unwrap();
    let acme = OrgId(acme.iter().find(|h| h.record_type == RecordType::Org).unwrap().org_id);
    let subject = alice
        .org_users(acme)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.role != CustomerRole::OrgAdmin)
        .unwrap();
    let request = |scope, minutes| CreateImpersonation {
        subject_user_id: subject.id,
        reason: "Customer cannot find last month's invoice".into(),
        ticket_ref: "SUP-4711".into(),
        scope,
        duration_minutes: Some(minutes),
    };
    assert!(alice.support().await.unwrap().is_none());
    assert_eq!(alice.customer_users().await.unwrap_err().code, Code::NoSupportSession);

    // A read session starts at once, with the names the banner shows and the
    // server's clock (this machine's and the server's are the same here).
    let read = alice.start_support(request(SessionScope::Read, 10)).await.unwrap();
    assert_eq!(read.session.status, "active");
    assert_eq!(read.subject_name, subject.name);
    assert!(read.org_name.to_lowercase().contains("acme"), "{}", read.org_name);
    assert!(read.clock_offset_ms.abs() < 2_000, "{}", read.clock_offset_ms);
    let left = read.session.expires_at.unwrap() - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(9) && left <= time::Duration::minutes(10),
        "{left}"
    );
    // One at a time.
    let second = alice.start_support(request(SessionScope::Read, 5)).await.unwrap_err();
    assert_eq!(second.code, Code::SupportSessionOpen);

    // The customer's view: the subject's org only.
    let users = alice.customer_users().await.unwrap();
    assert!(users.iter().any(|u| u.id == subject.id));
    assert!(users.iter().all(|u| u.org_id == acme));
    let invoices = alice.customer_invoices().await.unwrap();
    assert!(invoices.iter().all(|i| i.org_id == acme));
    // Read scope: the customer actions are refused, nothing changed.
    let change = UpdateUser {
        name: None,
        phone: Some("+49 30 1234567".into()),
    };
    let refused = alice
        .customer_update_user(subject.id, change.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code, Code::ScopeExceeded, "{refused:?}");
    if let Some(invoice) = invoices.first() {
        let refused = alice.customer_resend_invoice(invoice.id).await.unwrap_err();
        assert_eq!(refused.code, Code::ScopeExceeded);
    }
    // Staff actions, if something calls them anyway, go with the session's
    // header and the server refuses them.
    let reveal_email = || {
        alice.reveal(RevealRequest {
            record_type: RecordType::User,
            record_id: subject.id.0,
            field: "email".into(),
            reason: "Checking the address on file".into(),
        })
    };
    let reveal = reveal_email().await.unwrap_err();
    assert_eq!(reveal.code, Code::NotWhileImpersonating, "{reveal:?}");
    let approvals = alice.approvals(ApprovalFilter::default()).await.unwrap_err();
    assert_eq!(approvals.code, Code::NotWhileImpersonating);

    let ended = alice.end_support().await.unwrap().unwrap();
    assert_eq!(ended.session.status, "ended");
    assert!(alice.support().await.unwrap().is_none());
    assert_eq!(alice.customer_users().await.unwrap_err().code, Code::NoSupportSession);
    // Out of the session, staff actions work again.
    assert!(reveal_email().await.is_ok());

    // A write session waits for a supervisor: no customer view until then.
    let write = alice.start_support(request(SessionScope::Write, 15)).await.unwrap();
    assert_eq!(write.session.status, "pending_approval");
    assert!(write.session.expires_at.is_none());
    assert_eq!(alice.customer_users().await.unwrap_err().code, Code::NoSupportSession);
    let (sam, _sam_dir, _) = signed_in("sam").await;
    let asked_to_approve = time::OffsetDateTime::now_utc();
    let approved = sam
        .answer_session(write.session.id, true, "Go ahead".into())
        .await
        .unwrap();
    assert_eq!(approved.status, "active");
    let now = alice.support().await.unwrap().unwrap();
    assert_eq!(now.session.status, "active");
    // Its clock starts at the approval, not at the request (the server's own
    // test waits 40 minutes in between; here: not before sam was asked).
    let started = now.session.started_at.unwrap();
    assert!(
        started >= asked_to_approve && started > write.session.requested_at,
        "{now:?}"
    );
    assert_eq!(now.session.expires_at.unwrap(), started + time::Duration::minutes(15));
    let updated = alice.customer_update_user(subject.id, change).await.unwrap();
    assert_eq!(updated.id, subject.id);

    // Quitting ends it on the server first: sam sees it ended.
    alice.end_support_on_quit().await;
    assert!(!alice.in_support());
    let seen = sam.session(write.session.id).await.unwrap();
    assert_eq!(seen.status, "ended", "{seen:?}");
    for app in [&alice, &sam] {
        app.sign_out().await.unwrap();
    }
}

/// Issue 21, point 5 (the audit log to a file, through the app state): ava
/// exports carl's events to a file, which holds exactly what the search
/// shows, with progress up to the count the server announced; a cancelled
/// export leaves no file (and an existing file where it was going stays as
/// it was); the server verifies the chain for her, and refuses carl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ava_exports_carls_events_to_a_file_cancels_an_export_and_verifies_the_chain() {
    let _keyring = keyring_users(&["carl", "ava"]).await;
    use countersign_client::api_client::{AuditFilter, ExportFormat};
    use std::os::unix::fs::PermissionsExt;

    let server = Server::start();
    let (carl, _carl_dir, _) = signed_in(&server.url, "carl").await;
    carl.sync(|_| {}).await.unwrap();
    let (ava, _ava_dir, _) = signed_in(&server.url, "ava").await;
    let carls = AuditFilter {
        actor_subject: Some("staff-carl".into()),
        ..AuditFilter::default()
    };

    // What the viewer shows, every page (newest first).
    let mut searched = Vec::new();
    let mut cursor = None;
    loop {
        let page = ava
            .audit(AuditFilter {
                limit: Some(200),
                cursor,
                ..carls.clone()
            })
            .await
            .unwrap();
        searched.extend(page.items.iter().map(|e| e.seq));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    searched.reverse();
    assert!(searched.len() >= 2, "carl's sign-in and sync: {searched:?}");

    let out = tempfile::tempdir().unwrap();
    let path = out.path().join("carl.ndjson");
    let mut progress = Vec::new();
    // The viewer's page size is not the export's: it is dropped.
    let paged = AuditFilter {
        limit: Some(200),
        ..carls.clone()
    };
    let report = ava
        .audit_export(paged, ExportFormat::Ndjson, &path, |p| progress.push(p))
        .await
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let exported: Vec<i64> = text
        .lines()
        .map(|l| serde_json::from_str::<countersign_api::AuditEvent>(l).unwrap().seq)
        .collect();
    assert_eq!(exported, searched, "exactly the filtered events, oldest first");
    assert_eq!(report.events, searched.len() as u64);
    assert_eq!(report.bytes, text.len() as u64);
    assert_eq!(report.file_name, "carl.ndjson");
    let last = progress.last().unwrap();
    assert_eq!((last.bytes, last.events), (report.bytes, report.events));
    assert!(
        progress.iter().all(|p| p.total_events == Some(report.events)),
        "{progress:?}"
    );
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600,
        "the owner's only"
    );
    let csv = out.path().join("carl.csv");
    let report = ava
        .audit_export(carls.clone(), ExportFormat::Csv, &csv, |_| {})
        .await
        .unwrap();
    assert_eq!(report.events, searched.len() as u64);
    assert!(std::fs::read_to_string(&csv).unwrap().starts_with("seq,id,at,"));

    // Cancelled as soon as it starts (the app's Cancel is another command
    // calling the same method while this one runs): nothing is left, and a
    // file already at the destination is untouched.
    let cancelled = out.path().join("everything.csv");
    let r = ava
        .audit_export(AuditFilter::default(), ExportFormat::Csv, &cancelled, |_| {
            ava.cancel_audit_export()
        })
        .await;
    assert_eq!(r.unwrap_err().code, Code::ExportCancelled);
    assert!(!cancelled.exists());
    std::fs::write(&path, "kept").unwrap();
    let r = ava
        .audit_export(carls.clone(), ExportFormat::Ndjson, &path, |_| {
            ava.cancel_audit_export()
        })
        .await;
    assert_eq!(r.unwrap_err().code, Code::ExportCancelled);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "kept");
    let mut left: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["carl.csv", "carl.ndjson"], "no partial file");
    assert!(!ava.exporting());

    // Not allowed to export: refused by the server, no file.
    let refused = carl
        .audit_export(
            carls.clone(),
            ExportFormat::Csv,
            &out.path().join("carl-own.csv"),
            |_| {},
        )
        .await;
    assert_eq!(refused.unwrap_err().code, Code::Forbidden);
    assert!(!out.path().join("carl-own.csv").exists());

    // The chain, verified by the server.
    let v = ava.audit_verify().await.unwrap();
    assert!(v.ok && v.first_bad.is_none(), "{v:?}");
    assert!(
        v.events_checked as i64 >= *searched.last().unwrap() && v.last_seq == v.events_checked as i64,
        "{v:?}"
    );
    assert_eq!(carl.audit_verify().await.unwrap_err().code, Code::Forbidden);
    for app in [&ava, &carl] {
        app.sign_out().await.unwrap();
    }
}

/// Issue 21, point 2 (through the app state): carl's and ana's running apps
/// watch the server's event stream; ana hears of carl's request, decides it,
/// and carl's app hears, as news, that ana approved it and that it was
/// executed; ana's hears nothing about her own decision. Signing out ends
/// carl's watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn carl_hears_that_ana_decided_his_request_and_ana_hears_nothing_of_her_own_decision() {
    let _keyring = keyring_users(&["carl", "ana"]).await;
    use countersign_api::{CreateApproval, DecideApproval, Decision, Money, NotificationKind};
    use countersign_client::desktop::Delivered;

    let server = Server::start();
    let (carl, _carl_dir, _) = signed_in(&server.url, "carl").await;
    let (ana, _ana_dir, _) = signed_in(&server.url, "ana").await;
    let (carl, ana) = (Arc::new(carl), Arc::new(ana));
    let watch = |app: &Arc<Desktop>| {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Delivered>();
        let app = app.clone();
        let task = tokio::spawn(async move {
            app.watch_notifications(move |d| {
                let _ = tx.send(d);
            })
            .await
        });
        (task, rx)
    };
    let (carl_watch, mut carl_heard) = watch(&carl);
    let (_ana_watch, mut ana_heard) = watch(&ana);
    async fn until(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Delivered>,
        what: impl Fn(&Delivered) -> bool,
    ) -> Delivered {
        let mut heard = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let d = rx.recv().await.expect("the watch runs");
                if what(&d) {
                    return d;
                }
                heard.push(d);
            }
        })
        .await
        .unwrap_or_else(|_| panic!("not heard within 20 s; heard {heard:#?}"))
    }

    // carl asks for a refund of 500.00 EUR (one approver).
    carl.sync(|_| {}).await.unwrap();
    let acme = carl.search("acme", 5).await.unwrap();
    let acme = OrgId(acme.iter().find(|h| h.record_type == RecordType::Org).unwrap().org_id);
    let mut eur = carl
        .org_invoices(acme)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.amount.currency.code() == "EUR" && i.amount.amount_minor >= 50_000);
    let invoice = eur.next().expect("an EUR invoice of at least 500.00");
    let second = eur.next().expect("a second one");
    let a = carl
        .request_approval(CreateApproval {
            kind: countersign_api::ApprovalKind::Refund,
            org_id: acme,
            target_id: invoice.id.0,
            amount: Some(Money::new(50_000, invoice.amount.currency)),
            payload: Default::default(),
            reason: "Charged twice for the same month".into(),
        })
        .await
        .unwrap();

    let to_decide = until(&mut ana_heard, |d| d.notification.approval_id == Some(a.id)).await;
    assert_eq!(to_decide.notification.kind, NotificationKind::ToDecide);
    assert!(to_decide.news, "it happened while ana's app was running");
    ana.decide(
        a.id,
        DecideApproval {
            decision: Decision::Approve,
            comment: "the duplicate charge is on the statement".into(),
            version: a.version,
            on_behalf_of: None,
        },
    )
    .await
    .unwrap();

    // Decided and executed, in the same transaction: in either order.
    let mut about_it = vec![];
    while about_it.len() < 2 {
        about_it.push(until(&mut carl_heard, |d| d.notification.approval_id == Some(a.id)).await);
    }
    about_it.sort_by_key(|d| d.notification.kind == NotificationKind::Executed);
    let [decided, executed] = &about_it[..] else {
        unreachable!()
    };
    assert_eq!(
        (decided.notification.kind, executed.notification.kind),
        (NotificationKind::Decided, NotificationKind::Executed)
    );
    assert!(decided.news && executed.news);
    assert_eq!(decided.notification.decision, Some(Decision::Approve));
    assert_eq!(decided.notification.actor_name.as_deref(), Some("Ana Costa"));
    let (title, body) = countersign_client::desktop::notification_words(&decided.notification);
    assert_eq!(title, "Your request was approved");
    assert!(
        body.starts_with("Ana Costa approved your refund of 500.00 EUR for "),
        "{body}"
    );
    // Nothing in carl's stream was about something he did himself.
    while let Ok(d) = carl_heard.try_recv() {
        assert_ne!(d.notification.kind, NotificationKind::ToDecide, "{d:?}");
    }

    // ana's own decision tells ana nothing. A later request of carl's is the
    // barrier: once ana hears of it, anything about her decision (earlier)
    // would have come first.
    let later = carl
        .request_approval(CreateApproval {
            kind: countersign_api::ApprovalKind::Refund,
            org_id: acme,
            target_id: second.id.0,
            amount: Some(Money::new(100, second.amount.currency)),
            payload: Default::default(),
            reason: "A second duplicate charge, a month later".into(),
        })
        .await
        .unwrap();
    until(&mut ana_heard, |d| d.notification.approval_id == Some(later.id)).await;
    while let Ok(d) = ana_heard.try_recv() {
        assert_ne!(
            d.notification.approval_id,
            Some(a.id),
            "ana heard of her own decision: {d:?}"
        );
    }
    assert!(ana
        .notifications()
        .await
        .unwrap()
        .iter()
        .all(|n| n.approval_id != Some(a.id)));

    // Signing out ends the watch.
    carl.sign_out().await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), carl_watch)
        .await
        .expect("the watch ends at sign-out")
        .unwrap();
    assert!(ended.is_ok(), "{ended:?}");
    ana.sign_out().await.unwrap_or_else(|e| panic!("{e:?}"));
}

/// Issue 23: a server that trusts two providers, the dev one and Glewlwyd
/// (a real SSO server set up as a company would: dev/glewlwyd, started by
/// `COUNTERSIGN_STACK_GLEWLWYD=1 scripts/stack up`), with just-in-time
/// provisioning at Glewlwyd. Alice, onboarded there by `staff add`, signs in
/// through the app at her provider, syncs and signs out (Glewlwyd refuses to
/// revoke for public clients: signed out all the same). Sam, unknown there,
/// is told his account is waiting for access and nothing of his sign-in
/// stays; sid sees him in the access review and grants him a role; then sam
/// is let in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_in_at_their_companys_provider_and_a_newcomer_waits_for_access() {
    let _keyring = keyring_users(&["sid"]).await;
    let glewlwyd = var("GLEWLWYD_ISSUER");
    let sub = |user: &str| var(&format!("GLEWLWYD_SUB_{}", user.to_uppercase()));
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        format!(
            "[[issuers]]\nissuer = \"{glewlwyd}\"\naudience = \"{}\"\nprovider_name = \"Glewlwyd\"\n\
             client_id = \"{}\"\nredirect_ports = [{}]\njit_provisioning = true\n",
            var("GLEWLWYD_AUDIENCE"),
            var("GLEWLWYD_CLIENT_ID"),
            var("GLEWLWYD_REDIRECT_PORTS"),
        ),
    )
    .unwrap();
    let server = Server::start_with(&[("COUNTERSIGN_CONFIG", config.path().to_str().unwrap())]);
    server.staff(&[
        "add",
        "--issuer",
        &glewlwyd,
        "--subject",
        &sub("alice"),
        "--name",
        "Alice Laurent",
        "--email",
        "alice@example.test",
        "--role",
        "support_agent",
        "--region",
        "EU",
    ]);

    let dir = tempfile::tempdir().unwrap();
    let app = desktop(dir.path(), Some(&server.url), Arc::new(ScriptedBrowser::new("alice")));
    let providers = app.start().await.server.unwrap().providers;
    assert_eq!(
        providers.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["Company sign-in", "Glewlwyd"]
    );
    assert_eq!(providers[1].issuer, glewlwyd);
    assert_eq!(providers[1].redirect_ports, [53682, 53683]);
    let alice = app.sign_in(&glewlwyd).await.unwrap();
    assert_eq!(
        (alice.issuer.as_str(), alice.subject.clone()),
        (glewlwyd.as_str(), sub("alice"))
    );
    assert!(app.sync(|_| {}).await.unwrap().records > 0);
    assert!(!app.search("acme", 5).await.unwrap().is_empty());
    app.sign_out().await.unwrap();
    let store = keyring();
    assert!(secrets::load_refresh_token(store.as_ref(), &glewlwyd, &sub("alice"))
        .unwrap()
        .is_none());
    assert!(secrets::load_cache_key(store.as_ref(), &glewlwyd, &sub("alice"))
        .unwrap()
        .is_none());

    // Sam has no account: the first sign-in creates one with no roles.
    let sam_dir = tempfile::tempdir().unwrap();
    let sam = desktop(sam_dir.path(), Some(&server.url), Arc::new(ScriptedBrowser::new("sam")));
    sam.start().await;
    let waiting = sam.sign_in(&glewlwyd).await.unwrap_err();
    assert_eq!(waiting.code, Code::AccessPending, "{waiting:?}");
    assert!(secrets::load_refresh_token(store.as_ref(), &glewlwyd, &sub("sam"))
        .unwrap()
        .is_none());
    assert_eq!(
        std::fs::read_dir(paths(sam_dir.path()).data_dir).map_or(0, |d| d.count()),
        0,
        "no cache file and no session note"
    );

    let (sid, _sid_dir, _) = signed_in(&server.url, "sid").await;
    let review = sid
        .staff(StaffFilter {
            pending: Some(true),
            ..StaffFilter::default()
        })
        .await
        .unwrap();
    let newcomer = review
        .iter()
        .find(|m| m.issuer == glewlwyd && m.subject == sub("sam"))
        .unwrap_or_else(|| panic!("sam waits in the access review: {review:?}"));
    assert!(newcomer.roles.is_empty() && newcomer.active);
    sid.update_staff(
        newcomer.id,
        StaffUpdate {
            roles: vec![StaffRole::SupportSupervisor],
            scope: Scope {
                all_orgs: true,
                regions: vec![],
                org_ids: vec![],
            },
            approval_limits: Default::default(),
            active: true,
        },
    )
    .await
    .unwrap();
    let let_in = sam.sign_in(&glewlwyd).await.unwrap();
    assert_eq!(let_in.roles, ["support_supervisor"]);
    sam.sign_out().await.unwrap();
}

//! Sign-in (RFC 8252 / RFC 9700) and the API client, against a real OpenID
//! provider and the real server. The stack comes from the environment
//! (`scripts/test`, or `scripts/stack up` then `. .stack/env`):
//! COUNTERSIGN_ISSUER, COUNTERSIGN_CLIENT_ID, COUNTERSIGN_AUDIENCE, COUNTERSIGN_API_URL.
//!
//! Issue 23, point 5: the same suite runs against each provider the stack
//! has. `COUNTERSIGN_TEST_PROVIDER=glewlwyd` signs in at the stack's Glewlwyd
//! (`COUNTERSIGN_STACK_GLEWLWYD=1 scripts/stack up`: its GLEWLWYD_* variables;
//! the stack's server trusts it and knows its users). What differs between
//! providers is described in [`Idp`], never special-cased in the client.
//! Glewlwyd takes only its two registered redirect ports: run that pass with
//! `--test-threads=1`.

use countersign_client::api::{ApprovalKind, CreateApproval, ErrorCode, InvoiceStatus, Money, OrgId};
use countersign_client::api_client::{
    ApiClient, ApprovalFilter, ClientError, ClientOptions, InvoiceFilter, Mine, OrgFilter, StaticToken,
};
use countersign_client::browser::scripted::{ScriptedBrowser, Tamper};
use countersign_client::browser::NoBrowser;
use countersign_client::error::{Code, HasCode};
use countersign_client::oidc::{Provider, SignIn, SignInError, Tokens};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The provider the suite signs in at, and what it is known to do.
struct Env {
    idp: Idp,
    issuer: String,
    client_id: String,
    audience: String,
    api_url: String,
    /// The loopback ports registered at the provider (empty: any).
    redirect_ports: Vec<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Idp {
    /// dev/idp: subjects `staff-<user>`, revokes refresh tokens.
    Dev,
    /// dev/glewlwyd: opaque subjects (GLEWLWYD_SUB_<USER>), refuses revocation
    /// from public clients (401), exact redirect URIs on two ports.
    Glewlwyd,
}

fn var(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!(
            "{k} is not set: these tests need the dev stack. Run them through scripts/test, or \
             `scripts/stack up` and `. .stack/env` first (COUNTERSIGN_ISSUER, COUNTERSIGN_CLIENT_ID, \
             COUNTERSIGN_AUDIENCE, COUNTERSIGN_API_URL; GLEWLWYD_* with COUNTERSIGN_STACK_GLEWLWYD=1)"
        )
    })
}

fn env() -> Env {
    let api_url = var("COUNTERSIGN_API_URL");
    match std::env::var("COUNTERSIGN_TEST_PROVIDER").as_deref() {
        Err(_) | Ok("dev") => Env {
            idp: Idp::Dev,
            issuer: var("COUNTERSIGN_ISSUER"),
            client_id: var("COUNTERSIGN_CLIENT_ID"),
            audience: var("COUNTERSIGN_AUDIENCE"),
            api_url,
            redirect_ports: Vec::new(),
        },
        Ok("glewlwyd") => Env {
            idp: Idp::Glewlwyd,
            issuer: var("GLEWLWYD_ISSUER"),
            client_id: var("GLEWLWYD_CLIENT_ID"),
            audience: var("GLEWLWYD_AUDIENCE"),
            api_url,
            redirect_ports: var("GLEWLWYD_REDIRECT_PORTS")
                .split(',')
                .map(|p| p.trim().parse().expect("GLEWLWYD_REDIRECT_PORTS: ports"))
                .collect(),
        },
        Ok(other) => panic!("COUNTERSIGN_TEST_PROVIDER={other:?}: dev or glewlwyd"),
    }
}

impl Env {
    /// `user`'s subject at this provider.
    fn subject(&self, user: &str) -> String {
        match self.idp {
            Idp::Dev => format!("staff-{user}"),
            Idp::Glewlwyd => var(&format!("GLEWLWYD_SUB_{}", user.to_uppercase())),
        }
    }
    fn email(&self, user: &str) -> String {
        match self.idp {
            Idp::Dev => format!("{user}@countersign.example"),
            Idp::Glewlwyd => format!("{user}@example.test"),
        }
    }
    async fn provider(&self) -> Provider {
        Provider::discover(&self.issuer, &self.client_id).await.unwrap()
    }
}

async fn start() -> SignIn {
    let e = env();
    e.provider()
        .await
        .sign_in(Some(&e.audience), &e.redirect_ports)
        .await
        .expect("discovery and listener")
        .with_timeout(Duration::from_secs(30))
}

async fn sign_in(username: &str) -> Tokens {
    let browser = ScriptedBrowser::new(username);
    match start().await.run(&browser).await {
        Ok(t) => t,
        Err(e) => panic!("{username} could not sign in: {e} (browser: {:?})", browser.outcome()),
    }
}

fn api(tokens: &Tokens) -> ApiClient {
    ApiClient::new(&env().api_url, Arc::new(StaticToken(tokens.access_token.clone()))).unwrap()
}

/// A sign-in that must fail with `code`, returning no tokens.
async fn refused(browser: ScriptedBrowser, code: Code) -> SignInError {
    let result = start().await.run(&browser).await;
    match result {
        Ok(_) => panic!("expected {code}, but the sign-in returned tokens"),
        Err(e) => {
            assert_eq!(e.code(), code, "{e}");
            e
        }
    }
}

// ---------- issue point 1: sign-in ----------

#[tokio::test]
async fn alice_signs_in_and_her_access_token_works_on_me() {
    let e = env();
    let signin = start().await;
    let url = signin.authorize_url().clone();
    let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["code_challenge"].len() >= 43);
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16);
    assert_eq!(q["prompt"], "consent");
    assert_eq!(q["scope"], "openid profile email offline_access");
    assert_eq!(q["response_type"], "code");
    let redirect = url::Url::parse(&q["redirect_uri"]).unwrap();
    assert_eq!(
        (redirect.scheme(), redirect.host_str(), redirect.path()),
        ("http", Some("127.0.0.1"), "/callback")
    );
    match e.redirect_ports.as_slice() {
        [] => assert_ne!(redirect.port(), None),
        registered => assert!(registered.contains(&redirect.port().unwrap()), "{redirect}"),
    }

    let browser = ScriptedBrowser::new("alice");
    let tokens = signin
        .run(&browser)
        .await
        .unwrap_or_else(|err| panic!("{err}; browser: {:?}", browser.outcome()));
    assert_eq!(tokens.identity.subject, e.subject("alice"));
    assert_eq!(tokens.identity.issuer, e.issuer);
    assert_eq!(tokens.identity.name.as_deref(), Some("Alice"));
    assert_eq!(tokens.identity.email.as_deref(), Some(e.email("alice").as_str()));
    assert!(tokens.expires_at > time::OffsetDateTime::now_utc());
    assert!(!tokens.refresh_token.as_ref().unwrap().expose().is_empty());
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains(tokens.access_token.expose().as_str())
            && !debug.contains(tokens.refresh_token.as_ref().unwrap().expose().as_str()),
        "{debug}"
    );
    assert_eq!(browser.outcome(), Some(Ok(())));

    let me = api(&tokens).me().await.unwrap();
    assert_eq!(me.subject, e.subject("alice"));
    assert_eq!(me.issuer, e.issuer);
    assert!(
        me.permissions.contains(&countersign_client::api::Permission::OrgsRead),
        "{me:?}"
    );
}

#[tokio::test]
async fn a_redirect_with_another_state_is_refused() {
    refused(
        ScriptedBrowser::new("alice").tamper(Tamper::State("forged-state".into())),
        Code::StateMismatch,
    )
    .await;
}

#[tokio::test]
async fn a_redirect_from_another_issuer_is_refused() {
    let e = refused(
        ScriptedBrowser::new("alice").tamper(Tamper::Issuer(Some("http://127.0.0.1:1".into()))),
        Code::IssuerMismatch,
    )
    .await;
    assert!(
        matches!(e, SignInError::IssuerMismatch { got: Some(ref g), .. } if g == "http://127.0.0.1:1"),
        "{e:?}"
    );
}

/// RFC 9207: `iss` is required exactly when discovery advertises it (the dev
/// provider does; Glewlwyd, like most, neither sends nor advertises it).
#[tokio::test]
async fn a_redirect_without_iss_is_refused_exactly_when_the_provider_advertises_it() {
    let e = env();
    let discovery: serde_json::Value = reqwest::get(format!("{}/.well-known/openid-configuration", e.issuer))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let advertised = discovery["authorization_response_iss_parameter_supported"] == true;
    assert_eq!(advertised, e.idp == Idp::Dev, "what this suite knows of {:?}", e.idp);
    let browser = ScriptedBrowser::new("alice").tamper(Tamper::Issuer(None));
    let result = start().await.run(&browser).await;
    if advertised {
        let err = result.map(|_| ()).unwrap_err();
        assert!(matches!(err, SignInError::IssuerMismatch { got: None, .. }), "{err:?}");
    } else {
        let tokens = result.unwrap_or_else(|err| panic!("{err}; browser: {:?}", browser.outcome()));
        assert_eq!(tokens.identity.issuer, e.issuer);
    }
}

#[tokio::test]
async fn an_id_token_with_another_nonce_is_refused() {
    refused(
        ScriptedBrowser::new("alice").tamper(Tamper::Nonce("someone-elses-nonce".into())),
        Code::NonceMismatch,
    )
    .await;
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let mut signin = start().await;
    let browser = ScriptedBrowser::new("alice");
    let response = signin.authorize(&browser).await.unwrap();
    let first = signin.exchange(&response).await.expect("first exchange");
    let second = signin.exchange(&response).await;
    match second {
        Err(e) => assert_eq!(e.code(), Code::CodeRejected, "{e}"),
        Ok(_) => panic!("a replayed code returned tokens"),
    }
    // The provider revoked the grant the code produced.
    let refreshed = signin.provider().refresh(&first).await;
    assert_eq!(refreshed.map(|_| ()).unwrap_err().code(), Code::RefreshRejected);
}

#[tokio::test]
async fn the_listener_times_out_and_closes_when_the_browser_never_comes_back() {
    let mut signin = start().await.with_timeout(Duration::from_millis(800));
    let port = url::Url::parse(signin.redirect_uri()).unwrap().port().unwrap();
    let started = std::time::Instant::now();
    let e = signin.authorize(&NoBrowser).await.unwrap_err();
    assert_eq!(e.code(), Code::SignInTimeout, "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the listener must be closed after the timeout"
    );

    // A browser that signs in but never delivers the redirect: the same.
    let browser = ScriptedBrowser::new("alice").never_deliver();
    let e = start()
        .await
        .with_timeout(Duration::from_secs(5))
        .run(&browser)
        .await
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(e, SignInError::Timeout(_)), "{e:?}");
    assert_eq!(browser.outcome(), Some(Ok(())), "the browser did sign in");
}

#[tokio::test]
async fn the_listener_ignores_other_paths_and_answers_exactly_once() {
    let mut signin = start().await;
    let redirect = url::Url::parse(signin.redirect_uri()).unwrap();
    let port = redirect.port().unwrap();
    // Another path first: 404, and the listener keeps waiting.
    // (Connected before authorize() accepts, so it is first in the queue.)
    let mut stray = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stray
        .write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let browser = ScriptedBrowser::new("alice");
    let response = signin.authorize(&browser).await.unwrap();
    let mut answer = String::new();
    stray.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    // Give the browser a moment to read the page, then the port is closed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "the listener answers once, then closes"
    );
    signin.exchange(&response).await.unwrap();
    // authorize() twice is refused without opening a browser.
    assert_eq!(
        signin.authorize(&NoBrowser).await.unwrap_err().code(),
        Code::ListenerFailed
    );
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_refresh_token_is_refused() {
    let e = env();
    let tokens = sign_in("alice").await;
    let provider = e.provider().await;
    let next = provider.refresh(&tokens).await.unwrap();
    assert_ne!(
        next.refresh_token.as_ref().unwrap().expose(),
        tokens.refresh_token.as_ref().unwrap().expose(),
        "refresh tokens rotate"
    );
    assert_eq!(next.identity.subject, e.subject("alice"));
    assert_eq!(api(&next).me().await.unwrap().subject, e.subject("alice"));
    let reused = provider.refresh(&tokens).await.map(|_| ()).unwrap_err();
    assert_eq!(reused.code(), Code::RefreshRejected, "{reused}");
}

/// Revocation ends the refresh token where the provider allows it; where it
/// refuses public clients (Glewlwyd: 401), the refusal is reported and the
/// token still works there (signing out then only forgets it: tests/session.rs).
#[tokio::test]
async fn revocation_ends_the_refresh_token_or_says_the_provider_refused() {
    let e = env();
    let tokens = sign_in("alice").await;
    let provider = e.provider().await;
    match e.idp {
        Idp::Dev => {
            provider.revoke(&tokens).await.unwrap();
            let after = provider.refresh(&tokens).await.map(|_| ()).unwrap_err();
            assert_eq!(after.code(), Code::RefreshRejected, "{after}");
        }
        Idp::Glewlwyd => {
            let refused = provider.revoke(&tokens).await.unwrap_err();
            assert_eq!(refused.code(), Code::RevocationFailed, "{refused}");
            assert!(refused.to_string().contains("401"), "{refused}");
            provider.refresh(&tokens).await.expect("not revoked");
        }
    }
}

// ---------- issue point 3: the API client ----------

#[tokio::test]
async fn a_404_problem_becomes_a_typed_api_error() {
    let tokens = sign_in("alice").await;
    let err = api(&tokens).get_org(OrgId::new()).await.unwrap_err();
    match &err {
        ClientError::Api(p) => {
            assert_eq!(p.code, ErrorCode::NotFound);
            assert_eq!(p.status, 404);
            assert!(!p.request_id.is_empty() && !p.detail.is_empty(), "{p:?}");
        }
        other => panic!("expected a problem, got {other:?}"),
    }
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn no_token_or_a_bad_token_is_unauthenticated() {
    let client = ApiClient::new(
        &env().api_url,
        Arc::new(StaticToken(countersign_client::oidc::Sensitive::new(
            "not-a-jwt".into(),
        ))),
    )
    .unwrap();
    let err = client.me().await.unwrap_err();
    assert!(
        matches!(
            err.api_code(),
            Some(ErrorCode::TokenInvalid | ErrorCode::Unauthenticated)
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_impersonation_header_is_sent_while_a_session_is_active() {
    let tokens = sign_in("alice").await;
    let client = api(&tokens);
    let session = countersign_client::api::ImpersonationId::new();
    let imp = client.with_impersonation(session);
    assert_eq!(imp.impersonation(), Some(session));
    // An unknown session: the server refuses the header (it would ignore a missing one).
    let err = imp.me().await.unwrap_err();
    assert_eq!(err.api_code(), Some(ErrorCode::ImpersonationNotActive), "{err:?}");
    // Without it, the same client works again.
    assert_eq!(
        imp.without_impersonation().me().await.unwrap().subject,
        env().subject("alice")
    );
}

#[tokio::test]
async fn api_calls_time_out() {
    // A server that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let held = Arc::new(Mutex::new(Vec::new()));
    let h = held.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = silent.accept().await {
            h.lock().unwrap().push(s);
        }
    });
    let options = ClientOptions {
        request_timeout: Duration::from_millis(300),
        retries: 0,
        ..ClientOptions::default()
    };
    let client = ApiClient::with_options(
        &format!("http://{addr}"),
        Arc::new(StaticToken(countersign_client::oidc::Sensitive::new("t".into()))),
        options,
    )
    .unwrap();
    let err = client.me().await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout), "{err:?}");
}

/// A loopback proxy to the API that lets the first request reach the server
/// and then drops the connection before the response reaches the client,
/// as a flaky network would. Records every request head.
async fn flaky_proxy(upstream: String) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::<String>::new()));
    let h = heads.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut client, _)) = listener.accept().await {
            n += 1;
            let first = n == 1;
            let upstream = upstream.clone();
            let h = h.clone();
            tokio::spawn(async move {
                let mut server = TcpStream::connect(&upstream).await.unwrap();
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let k = client.read(&mut chunk).await.unwrap();
                    if k == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..k]);
                }
                let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
                h.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..end]).into_owned());
                server.write_all(&buf).await.unwrap();
                if first {
                    let (mut cr, _cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let pump = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut cr, &mut sw).await;
                    });
                    // Wait until the server has answered (it acted), then drop everything.
                    let mut resp = [0u8; 1];
                    let _ = sr.read(&mut resp).await;
                    pump.abort();
                } else {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (format!("http://{addr}"), heads)
}

fn idempotency_key(head: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("idempotency-key")
            .then(|| v.trim().to_owned())
    })
}

#[tokio::test]
async fn a_post_retried_after_a_lost_response_reuses_its_idempotency_key() {
    let e = env();
    let tokens = sign_in("carl").await;
    let direct = api(&tokens);
    let acme = direct
        .list_orgs(&OrgFilter {
            q: Some("acme".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let org = acme
        .items
        .iter()
        .find(|o| o.slug == "acme")
        .expect("the demo org acme")
        .id;
    let invoices = direct
        .list_invoices(
            org,
            &InvoiceFilter {
                status: Some(InvoiceStatus::Open),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let invoice = invoices.items.first().expect("an open acme invoice");
    let reason = format!("client retry test {}", uuid::Uuid::new_v4());
    let req = CreateApproval {
        kind: ApprovalKind::Refund,
        org_id: org,
        target_id: invoice.id.0,
        amount: Some(Money::new(100, invoice.amount.currency)),
        payload: serde_json::json!({}),
        reason: reason.clone(),
    };

    let upstream = url::Url::parse(&e.api_url).unwrap();
    let (proxy, heads) = flaky_proxy(format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port_or_known_default().unwrap()
    ))
    .await;
    let flaky = ApiClient::new(&proxy, Arc::new(StaticToken(tokens.access_token.clone()))).unwrap();
    let created = flaky.create_approval(&req).await.expect("the retry succeeds");

    let heads = heads.lock().unwrap().clone();
    let posts: Vec<&String> = heads.iter().filter(|h| h.starts_with("POST /v1/approvals ")).collect();
    assert_eq!(posts.len(), 2, "one lost attempt and one retry: {heads:#?}");
    let keys: Vec<Option<String>> = posts.iter().map(|h| idempotency_key(h)).collect();
    assert!(keys[0].is_some(), "POST carries an Idempotency-Key");
    assert_eq!(keys[0], keys[1], "the retry reuses the key");

    // The server acted once: the retry got the first response, no duplicate exists.
    let mine = direct
        .list_approvals(&ApprovalFilter {
            mine: Some(Mine::Requested),
            org_id: Some(org),
            kind: Some(ApprovalKind::Refund),
            limit: Some(200),
            ..Default::default()
        })
        .await
        .unwrap();
    let same: Vec<_> = mine.items.iter().filter(|a| a.reason == reason).collect();
    assert_eq!(same.len(), 1, "exactly one approval was created");
    assert_eq!(same[0].id, created.id);

    // A new call is a new key: a second, distinct approval.
    let again = direct.create_approval(&req).await.unwrap();
    assert_ne!(again.id, created.id);
    direct.cancel_approval(again.id).await.unwrap();
    direct.cancel_approval(created.id).await.unwrap();
}

#[tokio::test]
async fn an_active_impersonation_session_applies_to_every_request_of_the_client() {
    use countersign_client::api::{CreateImpersonation, CustomerRole, SessionScope};
    use countersign_client::api_client::ListParams;
    let tokens = sign_in("alice").await;
    let client = api(&tokens);
    let acme = client
        .list_orgs(&OrgFilter {
            q: Some("acme".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let org = acme
        .items
        .iter()
        .find(|o| o.slug == "acme")
        .expect("the demo org acme")
        .id;
    let users = client.list_users(org, &ListParams::default()).await.unwrap();
    let member = users
        .items
        .iter()
        .find(|u| u.role == CustomerRole::Member)
        .expect("an acme member");
    let req = CreateImpersonation {
        subject_user_id: member.id,
        reason: "customer cannot find the invoice list".into(),
        ticket_ref: "TCK-4711".into(),
        scope: SessionScope::Read,
        duration_minutes: Some(5),
    };
    let session = match client.create_impersonation(&req).await {
        Ok(s) => s,
        Err(e) => panic!("could not start a read session: {e:?}"),
    };
    assert_eq!(session.status, "active", "{session:?}");
    let imp = client.with_impersonation(session.id);
    let me = imp.me().await.unwrap();
    assert_eq!(
        me.impersonation.as_ref().map(|i| i.session_id),
        Some(session.id),
        "{me:?}"
    );
    // Staff actions are refused while impersonating.
    let err = imp.list_staff().await.unwrap_err();
    assert!(err.api_code().is_some(), "{err:?}");
    let ended = client.end_impersonation(session.id).await.unwrap();
    assert_eq!(ended.status, "ended");
    assert!(client.me().await.unwrap().impersonation.is_none());
}

#[tokio::test]
async fn the_notification_stream_delivers_a_request_an_approver_can_decide() {
    let carl = api(&sign_in("carl").await);
    let ana = api(&sign_in("ana").await);
    let mut stream = ana.notification_stream().await.unwrap();
    let acme = carl
        .list_orgs(&OrgFilter {
            q: Some("acme".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let org = acme
        .items
        .iter()
        .find(|o| o.slug == "acme")
        .expect("the demo org acme")
        .id;
    let invoices = carl
        .list_invoices(
            org,
            &InvoiceFilter {
                status: Some(InvoiceStatus::Open),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let invoice = invoices.items.first().expect("an open acme invoice");
    let created = carl
        .create_approval(&CreateApproval {
            kind: ApprovalKind::Refund,
            org_id: org,
            target_id: invoice.id.0,
            amount: Some(Money::new(100, invoice.amount.currency)),
            payload: serde_json::json!({}),
            reason: format!("notification stream test {}", uuid::Uuid::new_v4()),
        })
        .await
        .unwrap();
    // The stream first replays what ana can act on, then what is new.
    let found = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(n) = stream.next().await {
            let n = n.expect("a well-formed notification");
            if n.approval_id == Some(created.id) {
                return Some(n);
            }
        }
        None
    })
    .await
    .expect("the notification arrives within 20 s")
    .expect("the stream stays open");
    assert_eq!(found.kind, countersign_client::api::NotificationKind::ToDecide);
    assert_eq!(found.approval_kind, Some(ApprovalKind::Refund));
    // carl is the requester: the stream is his only for his own requests' outcomes.
    carl.cancel_approval(created.id).await.unwrap();
}

#[tokio::test]
async fn a_customer_cannot_open_the_notification_stream() {
    // acme-admin is a customer, not staff: refused with the contract's code.
    // Customers sign in at the platform's own (dev) provider, whichever
    // provider the staff of this pass use.
    let dev = Provider::discover(&var("COUNTERSIGN_ISSUER"), &var("COUNTERSIGN_CLIENT_ID"))
        .await
        .unwrap();
    let customer = dev
        .sign_in(Some(&var("COUNTERSIGN_AUDIENCE")), &[])
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30))
        .run(&ScriptedBrowser::new("acme-admin"))
        .await
        .unwrap();
    let err = api(&customer).notification_stream().await.unwrap_err();
    assert_eq!(err.api_code(), Some(ErrorCode::Forbidden), "{err}");
}

/// Issue 23, point 1: the app listens on the first registered port that is
/// free (Glewlwyd: exactly 53682 or 53683; the dev provider takes any, so two
/// free ports stand for a registration there) and the provider accepts it;
/// with every registered port taken it says so at once.
#[tokio::test]
async fn the_first_free_registered_port_is_used_and_all_busy_is_said_at_once() {
    let e = env();
    let ports = match e.redirect_ports.as_slice() {
        [] => {
            let a = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let b = TcpListener::bind("127.0.0.1:0").await.unwrap();
            vec![a.local_addr().unwrap().port(), b.local_addr().unwrap().port()]
        }
        registered => registered.to_vec(),
    };
    let provider = e.provider().await;
    let first = TcpListener::bind(("127.0.0.1", ports[0])).await.unwrap();
    let signin = provider
        .sign_in(Some(&e.audience), &ports)
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(30));
    let redirect = url::Url::parse(signin.redirect_uri()).unwrap();
    assert_eq!(redirect.port(), Some(ports[1]));
    let browser = ScriptedBrowser::new("alice");
    let tokens = signin
        .run(&browser)
        .await
        .unwrap_or_else(|err| panic!("{err}; browser: {:?}", browser.outcome()));
    assert_eq!(tokens.identity.subject, e.subject("alice"));

    let second = TcpListener::bind(("127.0.0.1", ports[1])).await.unwrap();
    let busy = provider.sign_in(Some(&e.audience), &ports).await.unwrap_err();
    assert_eq!(busy.code(), Code::SignInPortsBusy, "{busy}");
    drop((first, second));

    // Any free port instead: the dev provider ignores the loopback port (RFC
    // 8252 §7.3); Glewlwyd compares redirect URIs exactly and refuses, so the
    // browser never comes back (why administrators list the ports).
    let browser = ScriptedBrowser::new("alice");
    let anywhere = provider
        .sign_in(Some(&e.audience), &[])
        .await
        .unwrap()
        .with_timeout(Duration::from_secs(3))
        .run(&browser)
        .await;
    match e.idp {
        Idp::Dev => assert_eq!(anywhere.unwrap().identity.subject, e.subject("alice")),
        Idp::Glewlwyd => {
            assert_eq!(anywhere.map(|_| ()).unwrap_err().code(), Code::SignInTimeout);
            assert!(
                matches!(browser.outcome(), Some(Err(ref m)) if m.starts_with("403")),
                "{:?}",
                browser.outcome()
            );
        }
    }
}

/// The scopes an administrator sets for a provider (client-config) are what
/// the sign-in asks for, `openid` always first; none set keeps the default.
#[tokio::test]
async fn the_sign_in_asks_for_the_configured_scopes() {
    let e = env();
    let scope_of = |signin: &SignIn| {
        signin
            .authorize_url()
            .query_pairs()
            .find(|(k, _)| k == "scope")
            .map(|(_, v)| v.into_owned())
    };
    let configured = e
        .provider()
        .await
        .with_scopes(&["email".to_owned(), "openid".to_owned(), "offline_access".to_owned()])
        .sign_in(Some(&e.audience), &e.redirect_ports)
        .await
        .unwrap();
    assert_eq!(scope_of(&configured).as_deref(), Some("openid email offline_access"));
    drop(configured);
    let default = e
        .provider()
        .await
        .with_scopes(&[])
        .sign_in(Some(&e.audience), &e.redirect_ports)
        .await
        .unwrap();
    assert_eq!(
        scope_of(&default).as_deref(),
        Some("openid profile email offline_access")
    );
}

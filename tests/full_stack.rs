//! Issue 6, point 8: the whole client against the whole platform. The real
//! dev OpenID provider and PostgreSQL of the stack (`scripts/test` brings them
//! up), a real `countersign-server` process of our own on a fresh database with
//! the demo seed (so changing alice's roles touches no other test), and the real
//! OS keyring (gnome-keyring in a private D-Bus session: `scripts/with-keyring`).
//!
//! alice signs in in a (scripted) browser, syncs, searches, reveals a field
//! (which is never cached), loses her role on the server → her next sync
//! purges what she may no longer see; she signs out → keyring entries and
//! cache gone, refresh token revoked at the provider.

use countersign_api::{RecordType, RevealRequest};
use countersign_client::account::{Account, ClientConfig};
use countersign_client::browser::scripted::ScriptedBrowser;
use countersign_client::error::{Code, HasCode};
use countersign_client::oidc::{Provider, Tokens};
use countersign_client::secrets::{self, KeyringSecretStore, SecretStore, Sensitive};
use std::sync::Arc;
use std::time::Duration;

mod support;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_signs_in_syncs_searches_reveals_loses_her_role_and_signs_out() {
    let server = Server::start();
    let issuer = var("COUNTERSIGN_ISSUER");
    let mut config = ClientConfig::new(&issuer, var("COUNTERSIGN_CLIENT_ID"), &server.url);
    config.audience = Some(var("COUNTERSIGN_AUDIENCE"));
    config.sign_in_timeout = Duration::from_secs(30);
    let keyring = KeyringSecretStore::new();
    keyring
        .check_available()
        .expect("the real Secret Service (run inside scripts/with-keyring)");
    let store: Arc<dyn SecretStore> = Arc::new(keyring);
    let data_dir = tempfile::tempdir().unwrap();

    // Sign in through the browser; the refresh token and the cache key go to the keyring.
    let browser = ScriptedBrowser::new("alice");
    let alice = Account::sign_in(&config, &browser, store.clone(), data_dir.path())
        .await
        .unwrap_or_else(|e| panic!("sign-in: {e} ({:?})", browser.outcome()));
    assert_eq!(alice.identity().subject, "staff-alice");
    assert!(secrets::load_refresh_token(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .is_some());
    assert!(secrets::load_cache_key(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .is_some());

    // Sync: EU only (alice is a support agent for EU).
    let mut progress = Vec::new();
    let first = alice.sync(|p| progress.push(p)).await.unwrap();
    assert!(first.applied > 0 && !first.purged);
    assert_eq!(progress.last().map(|p| p.done), Some(first.applied));
    assert!(alice.cache_path().exists(), "a persistent, encrypted cache");

    // Search the cache.
    let acme = alice.search("acme", 50).await.unwrap();
    assert_eq!(
        titles(&acme, RecordType::Org),
        vec!["Acme Corporation".to_owned()],
        "{acme:?}"
    );
    assert!(
        alice
            .search("initech", 50)
            .await
            .unwrap()
            .iter()
            .all(|h| h.record_type != RecordType::Org),
        "US orgs are not in alice's cache"
    );
    let acme_id = acme
        .iter()
        .find(|h| h.record_type == RecordType::Org)
        .unwrap()
        .record_id;
    let users = alice.search("@", 500).await.unwrap();
    let user = users
        .iter()
        .find(|h| h.record_type == RecordType::User && h.org_id == acme_id)
        .expect("an acme user by masked e-mail");

    // Reveal a field: the value reaches alice, and never the cache.
    let revealed = alice
        .reveal(&RevealRequest {
            record_type: RecordType::User,
            record_id: user.record_id,
            field: "email".into(),
            reason: "Customer called to confirm the address".into(),
        })
        .await
        .unwrap();
    let value = revealed.value;
    assert!(value.contains('@') && !value.contains('*'), "a revealed e-mail");
    alice.sync(|_| {}).await.unwrap();
    assert!(
        !contains(&cache_bytes(&alice.cache_path()), value.as_bytes()),
        "the revealed value is in no cache file"
    );
    assert!(
        alice.search(&value, 10).await.unwrap().is_empty(),
        "nor in the search index"
    );

    // The server takes alice's role away: her next sync purges everything.
    server.staff(&["revoke", "staff-alice", "support_agent"]);
    let after = alice.sync(|_| {}).await.unwrap();
    assert!(after.purged, "a new permission epoch purges the cache");
    assert_eq!(after.applied, 0, "nothing is readable any more");
    assert!(
        alice.search("acme", 50).await.unwrap().is_empty(),
        "what she may no longer see is gone: {:?}",
        alice.search("acme", 50).await.unwrap()
    );
    assert!(alice.search("@", 50).await.unwrap().is_empty());

    // Sign out: revoked at the provider, keyring entries and cache gone.
    let refresh_token = secrets::load_refresh_token(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .unwrap();
    let cache_path = alice.cache_path();
    let identity = alice.identity().clone();
    alice.sign_out().await.unwrap();
    assert!(secrets::load_refresh_token(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .is_none());
    assert!(secrets::load_cache_key(store.as_ref(), &issuer, "staff-alice")
        .unwrap()
        .is_none());
    assert!(
        cache_bytes(&cache_path).is_empty(),
        "no cache file, WAL or journal left"
    );
    assert_eq!(std::fs::read_dir(data_dir.path()).unwrap().count(), 0);
    let provider = Provider::discover(&issuer, &config.client_id).await.unwrap();
    let tokens = Tokens {
        access_token: Sensitive::new(String::new()),
        refresh_token: Some(refresh_token),
        id_token: Sensitive::new(String::new()),
        identity,
        expires_at: std::time::SystemTime::now().into(),
    };
    let refused = provider.refresh(&tokens).await.map(|_| ()).unwrap_err();
    assert_eq!(refused.code(), Code::RefreshRejected, "{refused}");
}

//! Secrets at rest: the OS keyring (Secret Service) behind a small trait, the
//! `Sensitive<T>` wrapper for keys and tokens, and the two entries the client
//! keeps per signed-in user (issuer, subject): the cache key and the refresh
//! token.
//!
//! The real store is [`KeyringSecretStore`], which always talks to the Secret
//! Service over D-Bus. It builds its credentials explicitly
//! (`SsCredential`), so it can never fall back to keyring's in-memory mock
//! (which is what `keyring` silently does when built without a platform
//! feature). [`InMemorySecretStoreForTests`] exists only for tests of logic that
//! cannot reach a keyring; nothing in the app may use it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use zeroize::{Zeroize, Zeroizing};

/// A secret value: prints as `<redacted>`, is wiped from memory on drop and
/// has no `Serialize`/`Display`, so it cannot reach a log, the webview or disk
/// by accident. Read it with [`Sensitive::expose`].
pub struct Sensitive<T: Zeroize>(T);

impl<T: Zeroize> Sensitive<T> {
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }
    /// The secret itself. Keep the borrow short; never format or store it.
    pub fn expose(&self) -> &T {
        &self.0
    }
    /// Takes the secret out (leaving an empty value to be zeroized).
    pub fn into_inner(mut self) -> T
    where
        T: Default,
    {
        std::mem::take(&mut self.0)
    }
    /// Mutable access, to fill a secret in place (e.g. from a random source).
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> From<T> for Sensitive<T> {
    fn from(value: T) -> Self {
        Sensitive(value)
    }
}

impl<T: Zeroize + Clone> Clone for Sensitive<T> {
    fn clone(&self) -> Self {
        Sensitive(self.0.clone())
    }
}

impl<T: Zeroize> Drop for Sensitive<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The keyring cannot be reached or used (no Secret Service on the session
    /// bus, locked collection, D-Bus failure). The caller degrades: no
    /// persistent cache, sign in again next start.
    #[error("the OS keyring is unavailable: {0}")]
    Unavailable(String),
    /// The keyring answered, but the entry is unusable (ambiguous, malformed).
    #[error("the OS keyring entry is unusable: {0}")]
    Invalid(String),
}

/// Get/set/delete a secret by (service, account).
pub trait SecretStore: Send + Sync {
    /// `Ok(None)` when there is no such entry.
    fn get(&self, service: &str, account: &str) -> Result<Option<Sensitive<Vec<u8>>>, SecretError>;
    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretError>;
    /// Deleting an entry that does not exist succeeds.
    fn delete(&self, service: &str, account: &str) -> Result<(), SecretError>;
}

/// The OS keyring through the Secret Service D-Bus API (gnome-keyring,
/// KWallet), items stored in the default collection with the attributes
/// `service`, `username`, `target=default`, `application=rust-keyring`.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyringSecretStore;

impl KeyringSecretStore {
    pub fn new() -> Self {
        KeyringSecretStore
    }

    /// Whether a Secret Service answers on the session bus (a lookup of an
    /// entry that never exists; "no entry" means it answered).
    pub fn check_available(&self) -> Result<(), SecretError> {
        self.get("countersign:probe", "probe").map(|_| ())
    }

    fn entry(service: &str, account: &str) -> Result<keyring::Entry, SecretError> {
        let credential = keyring::secret_service::SsCredential::new_with_target(None, service, account)
            .map_err(map_keyring_error)?;
        Ok(keyring::Entry::new_with_credential(Box::new(credential)))
    }
}

fn map_keyring_error(e: keyring::Error) -> SecretError {
    match e {
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_) => {
            SecretError::Unavailable(e.to_string())
        }
        other => SecretError::Invalid(other.to_string()),
    }
}

impl SecretStore for KeyringSecretStore {
    fn get(&self, service: &str, account: &str) -> Result<Option<Sensitive<Vec<u8>>>, SecretError> {
        match Self::entry(service, account)?.get_secret() {
            Ok(secret) => Ok(Some(Sensitive::new(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(e)),
        }
    }

    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretError> {
        Self::entry(service, account)?
            .set_secret(secret)
            .map_err(map_keyring_error)
    }

    fn delete(&self, service: &str, account: &str) -> Result<(), SecretError> {
        match Self::entry(service, account)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring_error(e)),
        }
    }
}

/// A process-local map. ONLY for tests of logic that cannot reach a keyring:
/// it keeps nothing across runs and proves nothing about the OS keyring. The
/// real tests use [`KeyringSecretStore`] inside `scripts/with-keyring`.
#[derive(Default)]
pub struct InMemorySecretStoreForTests {
    entries: Mutex<HashMap<EntryName, Sensitive<Vec<u8>>>>,
}

/// (service, account)
type EntryName = (String, String);

impl InMemorySecretStoreForTests {
    pub fn new() -> Self {
        Self::default()
    }
}

impl SecretStore for InMemorySecretStoreForTests {
    fn get(&self, service: &str, account: &str) -> Result<Option<Sensitive<Vec<u8>>>, SecretError> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        Ok(entries.get(&(service.to_owned(), account.to_owned())).cloned())
    }
    fn set(&self, service: &str, account: &str, secret: &[u8]) -> Result<(), SecretError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            (service.to_owned(), account.to_owned()),
            Sensitive::new(secret.to_vec()),
        );
        Ok(())
    }
    fn delete(&self, service: &str, account: &str) -> Result<(), SecretError> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&(service.to_owned(), account.to_owned()));
        Ok(())
    }
}

// ---- the client's entries, per (issuer, subject) ----------------------------
//
// The issuer goes into the service name and the subject is the account, so two
// users (or the same `sub` at two issuers) never share an entry.

/// Keyring service of the cache key for users of `issuer`.
pub fn cache_key_service(issuer: &str) -> String {
    format!("countersign:cache-key:{issuer}")
}

/// Keyring service of the refresh token for users of `issuer`.
pub fn refresh_token_service(issuer: &str) -> String {
    format!("countersign:refresh-token:{issuer}")
}

/// Length of the cache key: AES-256.
pub const CACHE_KEY_LEN: usize = 32;

/// The cache key of (issuer, subject), stored hex-encoded. `Ok(None)` when
/// there is none; `Invalid` when the entry does not hold a 256-bit key.
pub fn load_cache_key(
    store: &dyn SecretStore,
    issuer: &str,
    subject: &str,
) -> Result<Option<Sensitive<[u8; CACHE_KEY_LEN]>>, SecretError> {
    let Some(stored) = store.get(&cache_key_service(issuer), subject)? else {
        return Ok(None);
    };
    let mut key = Sensitive::new([0u8; CACHE_KEY_LEN]);
    if !hex_decode_into(stored.expose(), &mut key.0) {
        return Err(SecretError::Invalid(
            "the cache key entry is not a 256-bit hex key".into(),
        ));
    }
    Ok(Some(key))
}

pub fn store_cache_key(
    store: &dyn SecretStore,
    issuer: &str,
    subject: &str,
    key: &Sensitive<[u8; CACHE_KEY_LEN]>,
) -> Result<(), SecretError> {
    let encoded = hex_encode(key.expose());
    store.set(&cache_key_service(issuer), subject, encoded.as_bytes())
}

pub fn delete_cache_key(store: &dyn SecretStore, issuer: &str, subject: &str) -> Result<(), SecretError> {
    store.delete(&cache_key_service(issuer), subject)
}

pub fn store_refresh_token(
    store: &dyn SecretStore,
    issuer: &str,
    subject: &str,
    token: &Sensitive<String>,
) -> Result<(), SecretError> {
    store.set(&refresh_token_service(issuer), subject, token.expose().as_bytes())
}

pub fn load_refresh_token(
    store: &dyn SecretStore,
    issuer: &str,
    subject: &str,
) -> Result<Option<Sensitive<String>>, SecretError> {
    let Some(stored) = store.get(&refresh_token_service(issuer), subject)? else {
        return Ok(None);
    };
    match std::str::from_utf8(stored.expose()) {
        Ok(s) => Ok(Some(Sensitive::new(s.to_owned()))),
        Err(_) => Err(SecretError::Invalid("the refresh token entry is not UTF-8".into())),
    }
}

pub fn delete_refresh_token(store: &dyn SecretStore, issuer: &str, subject: &str) -> Result<(), SecretError> {
    store.delete(&refresh_token_service(issuer), subject)
}

fn hex_encode(bytes: &[u8]) -> Zeroizing<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 0xf) as usize] as char);
    }
    s
}

fn hex_decode_into(hex: &[u8], out: &mut [u8]) -> bool {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if hex.len() != out.len() * 2 {
        return false;
    }
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => out[i] = (h << 4) | l,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_debug_is_redacted() {
        let s = Sensitive::new(String::from("rt-very-secret"));
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
    }

    #[test]
    fn cache_key_round_trips_through_hex() {
        let store = InMemorySecretStoreForTests::new();
        let key = Sensitive::new([0xa5u8; CACHE_KEY_LEN]);
        store_cache_key(&store, "https://idp", "alice", &key).unwrap();
        let back = load_cache_key(&store, "https://idp", "alice").unwrap().unwrap();
        assert_eq!(back.expose(), key.expose());
        assert!(load_cache_key(&store, "https://idp", "bob").unwrap().is_none());
        store.set(&cache_key_service("https://idp"), "alice", b"short").unwrap();
        assert!(matches!(
            load_cache_key(&store, "https://idp", "alice"),
            Err(SecretError::Invalid(_))
        ));
    }
}

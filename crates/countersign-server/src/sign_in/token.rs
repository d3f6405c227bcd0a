//! Access-token validation (API.md "Conventions") and the caller's identity.
//!
//! Several issuers may be trusted ([`Verifiers`]): a token goes by its `iss`
//! to that issuer's verifier, and is checked with that issuer's keys and
//! audience only; an `iss` no configured issuer has is refused before any key
//! is looked at. A token is accepted only if: its header says `typ: at+jwt`, `alg` is RS256
//! or ES256 *and* matches the key the issuer published under that `kid`, the
//! signature verifies, `iss` equals the issuer exactly, `aud`
//! contains that issuer's audience, `exp`/`nbf` hold, `iat` is not in the future
//! beyond the leeway, and the header has no `crit` (RFC 7515 §4.1.11). Unknown `kid`s trigger one
//! JWKS refetch (rate-limited), then are refused.

use crate::http::problem::ApiError;
use countersign_api::ErrorCode;
use jsonwebtoken::{jwk::JwkSet, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    #[serde(default)]
    pub iat: Option<i64>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    /// Profile claims, if the provider puts them in access tokens: only a
    /// just-in-time provisioned account's name and e-mail come from them.
    /// Any JSON (a provider's odd type must not make the token unreadable).
    #[serde(default)]
    pub name: Option<serde_json::Value>,
    #[serde(default)]
    pub email: Option<serde_json::Value>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is not an access token (typ must be at+jwt)")]
    NotAnAccessToken,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
    #[error("the token's signing key is unknown")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued for another audience")]
    Audience,
    #[error("the token was issued by another issuer")]
    Issuer,
    #[error("the token's issuer is not one this server trusts")]
    UnknownIssuer,
    #[error("the token claims to be issued in the future")]
    IssuedInFuture,
    #[error("the token has critical header parameters this server does not understand")]
    Critical,
    #[error("the identity provider's keys are unavailable")]
    KeysUnavailable,
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::KeysUnavailable => ApiError::new(ErrorCode::ServiceUnavailable, e.to_string()),
            _ => ApiError::new(ErrorCode::TokenInvalid, e.to_string()),
        }
    }
}

struct KeySet {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched_at: Option<Instant>,
}

pub struct TokenVerifier {
    issuer: String,
    audience: String,
    leeway: u64,
    min_refetch: Duration,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    /// Tokens whose signature and claims already checked out, by SHA-256 of
    /// the token: verifying RS256 is the largest CPU cost of a request, and
    /// a client sends the same token for minutes. Time claims are re-checked
    /// on every hit; roles are never cached (they come from the database).
    /// Each entry names the key that signed it: a key refresh that drops the
    /// key drops the entry, and no entry outlives `verified_ttl`.
    verified: std::sync::Mutex<HashMap<[u8; 32], Verified>>,
    verified_ttl: Duration,
    /// When an unknown `kid` last caused a refetch.
    refetch: Mutex<Option<Instant>>,
    /// The last readiness check of the issuer's keys, and when it ran.
    ready: Mutex<Option<(Instant, Result<usize, TokenError>)>>,
    fetches: prometheus::IntCounter,
}

#[derive(Clone)]
struct Verified {
    claims: Claims,
    kid: String,
    at: Instant,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// Every trusted issuer's verifier, each with its own keys, key refreshes,
/// audience and verified-token cache.
pub struct Verifiers(Vec<TokenVerifier>);

impl Verifiers {
    pub fn new(verifiers: Vec<TokenVerifier>) -> Self {
        Verifiers(verifiers)
    }

    /// Verifies `token` with the verifier of the issuer its `iss` names: that
    /// issuer's keys and audience only. The `iss` read here, unverified, only
    /// chooses the verifier, which checks it again (exactly) with the rest.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let iss = unverified_issuer(token)?;
        self.0
            .iter()
            .find(|v| v.issuer == iss)
            .ok_or(TokenError::UnknownIssuer)?
            .verify(token)
            .await
    }

    /// In the configuration's order.
    pub fn all(&self) -> &[TokenVerifier] {
        &self.0
    }
}

/// The `iss` claim of a compact JWS, read without verifying anything (the
/// library's decoder: only to choose the verifier, which checks it all).
fn unverified_issuer(token: &str) -> Result<String, TokenError> {
    #[derive(Deserialize)]
    struct Iss {
        iss: String,
    }
    jsonwebtoken::dangerous::insecure_decode::<Iss>(token)
        .map(|t| t.claims.iss)
        .map_err(|_| TokenError::Malformed)
}

impl TokenVerifier {
    /// The issuer whose tokens this verifies.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn new(
        issuer: &str,
        audience: &str,
        leeway: u64,
        min_refetch: Duration,
        verified_ttl: Duration,
        fetches: prometheus::IntCounter,
    ) -> Self {
        let http = reqwest::Client::builder()
            // Fetching keys must never be steered elsewhere by a redirect.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("static client configuration");
        TokenVerifier {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            leeway,
            min_refetch,
            http,
            keys: RwLock::new(KeySet {
                keys: HashMap::new(),
                fetched_at: None,
            }),
            refetch: Mutex::new(None),
            ready: Mutex::new(None),
            verified: std::sync::Mutex::new(HashMap::new()),
            verified_ttl,
            fetches,
        }
    }

    /// Fetches discovery and the JWKS now (readiness, and unknown `kid`s).
    pub async fn refresh_keys(&self) -> Result<usize, TokenError> {
        self.fetches.inc();
        let url = format!("{}/.well-known/openid-configuration", self.issuer.trim_end_matches('/'));
        let get = |u: String| {
            let http = self.http.clone();
            async move { http.get(u).send().await.and_then(|r| r.error_for_status()) }
        };
        let discovery: Discovery = get(url)
            .await
            .map_err(|_| TokenError::KeysUnavailable)?
            .json()
            .await
            .map_err(|_| TokenError::KeysUnavailable)?;
        if discovery.issuer != self.issuer {
            tracing::error!("discovery document names another issuer");
            return Err(TokenError::KeysUnavailable);
        }
        let set: JwkSet = get(discovery.jwks_uri)
            .await
            .map_err(|_| TokenError::KeysUnavailable)?
            .json()
            .await
            .map_err(|_| TokenError::KeysUnavailable)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let Some(kid) = jwk.common.key_id.clone() else { continue };
            if matches!(jwk.common.public_key_use, Some(ref u) if *u != jsonwebtoken::jwk::PublicKeyUse::Signature) {
                continue;
            }
            let alg = match &jwk.algorithm {
                jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => Algorithm::RS256,
                jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(p)
                    if p.curve == jsonwebtoken::jwk::EllipticCurve::P256 =>
                {
                    Algorithm::ES256
                }
                _ => continue,
            };
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (key, alg));
            }
        }
        let n = keys.len();
        let mut current = self.keys.write().await;
        // A key the issuer no longer publishes (rotated out, or compromised)
        // verifies nothing from now on, cached verifications included.
        let dropped: Vec<&String> = current.keys.keys().filter(|k| !keys.contains_key(*k)).collect();
        if !dropped.is_empty() {
            tracing::warn!(kids = ?dropped, "the issuer dropped signing keys: tokens signed with them are refused");
            if let Ok(mut m) = self.verified.lock() {
                m.retain(|_, v| keys.contains_key(&v.kid));
            }
        }
        *current = KeySet {
            keys,
            fetched_at: Some(Instant::now()),
        };
        Ok(n)
    }

    /// The issuer's keys for the readiness probe: fetched at most once per
    /// `max_age`, success or failure, however often probes (or anyone
    /// unauthenticated) ask; concurrent probes share one fetch.
    pub async fn ready_keys(&self, max_age: Duration) -> Result<usize, TokenError> {
        let mut last = self.ready.lock().await;
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < max_age {
                return result.clone();
            }
        }
        let result = self.refresh_keys().await;
        *last = Some((Instant::now(), result.clone()));
        result
    }

    /// How many of the issuer's keys are cached, usable to verify tokens
    /// whether or not the issuer can be reached now.
    pub async fn cached_keys(&self) -> usize {
        self.keys.read().await.keys.len()
    }

    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), TokenError> {
        if let Some(k) = self.keys.read().await.keys.get(kid) {
            return Ok(k.clone());
        }
        // One refetch at a time, and not more often than min_refetch: a flood
        // of forged kids must not turn into a flood of requests to the issuer.
        // Only refetches caused by unknown kids count against the limit, so a
        // key rotated just after a routine fetch is still picked up.
        let mut last = self.refetch.lock().await;
        let (known, initial) = {
            let keys = self.keys.read().await;
            (keys.keys.contains_key(kid), keys.fetched_at.is_none())
        };
        if !known && (initial || last.is_none_or(|t| t.elapsed() >= self.min_refetch)) {
            self.refresh_keys().await?;
            if !initial {
                *last = Some(Instant::now());
            }
        }
        self.keys
            .read()
            .await
            .keys
            .get(kid)
            .cloned()
            .ok_or(TokenError::UnknownKey)
    }

    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let digest: [u8; 32] = ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .try_into()
            .expect("32 bytes");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let cached = self.verified.lock().ok().and_then(|m| m.get(&digest).cloned());
        if let Some(c) = cached.filter(|c| c.at.elapsed() < self.verified_ttl) {
            if c.claims.exp + self.leeway as i64 > now {
                return Ok(c.claims);
            }
            return Err(TokenError::Expired);
        }
        let (claims, kid) = self.verify_uncached(token).await?;
        if let Ok(mut m) = self.verified.lock() {
            // Bounded: forget everything rather than grow without limit.
            if m.len() >= 10_000 {
                m.clear();
            }
            m.insert(
                digest,
                Verified {
                    claims: claims.clone(),
                    kid,
                    at: Instant::now(),
                },
            );
        }
        Ok(claims)
    }

    /// The claims, and the `kid` of the key that verified them.
    async fn verify_uncached(&self, token: &str) -> Result<(Claims, String), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let typ = header.typ.as_deref().unwrap_or("").to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(TokenError::NotAnAccessToken);
        }
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(TokenError::Algorithm);
        }
        // RFC 7515 §4.1.11: we understand no extension, so any `crit` is refused.
        if header.crit.is_some() {
            return Err(TokenError::Critical);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let (key, key_alg) = self.key(&kid).await?;
        if header.alg != key_alg {
            return Err(TokenError::Algorithm);
        }
        let mut v = Validation::new(key_alg);
        v.leeway = self.leeway;
        v.validate_nbf = true;
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &key, &v)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::ExpiredSignature => TokenError::Expired,
                    K::ImmatureSignature => TokenError::NotYetValid,
                    K::InvalidAudience => TokenError::Audience,
                    K::InvalidIssuer => TokenError::Issuer,
                    K::InvalidSignature => TokenError::Signature,
                    K::InvalidAlgorithm => TokenError::Algorithm,
                    _ => TokenError::Malformed,
                }
            })?;
        // A token from the future beyond the clock skew is forged or from a
        // provider whose clock cannot be trusted either way.
        if claims
            .iat
            .is_some_and(|iat| iat > time::OffsetDateTime::now_utc().unix_timestamp() + self.leeway as i64)
        {
            return Err(TokenError::IssuedInFuture);
        }
        Ok((claims, kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn jws(payload: &str) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    /// Issue 23, point 3: the `iss` that routes a token to its issuer's
    /// verifier, read before anything is verified; anything else is malformed.
    #[test]
    fn the_issuer_is_read_from_the_payload_or_the_token_is_malformed() {
        assert_eq!(
            unverified_issuer(&jws(r#"{"iss":"https://a","sub":"x"}"#)),
            Ok("https://a".into())
        );
        for bad in [
            jws(r#"{"sub":"x"}"#),
            jws(r#"{"iss":7}"#),
            jws(r#"{"iss":"https://a","iss":"https://b"}"#),
            jws("not json"),
            "a.b".into(),
            format!("{}.extra", jws(r#"{"iss":"https://a"}"#)),
            "a.%%%.c".into(),
        ] {
            assert_eq!(unverified_issuer(&bad), Err(TokenError::Malformed), "{bad}");
        }
    }
}

//! `GET /v1/client-config`: everything the desktop app needs to sign in, given
//! only the server's URL.

use serde::{Deserialize, Serialize};

/// The header the desktop app states its version in, on every request to the
/// server (API.md, Conventions): the server refuses a version below its
/// minimum with `426 client_update_required`.
pub const CLIENT_VERSION_HEADER: &str = "countersign-client";

/// One identity provider the app may offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "Provider"))]
pub struct ProviderInfo {
    /// Shown on the button: "Sign in with <name>".
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The API's audience, requested as the RFC 8707 `resource` when it is a URI.
    pub audience: Option<String>,
    pub scopes: Vec<String>,
    /// Loopback ports registered at the provider; empty = any free port.
    pub redirect_ports: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClientConfigDoc {
    pub providers: Vec<ProviderInfo>,
    /// An app older than this must be updated before it signs anyone in.
    pub min_client_version: String,
    pub server_version: String,
}

/// A release version `MAJOR.MINOR.PATCH`, ordered numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientVersion(pub u64, pub u64, pub u64);

impl ClientVersion {
    /// `1.2.3`; anything else (pre-releases, build metadata, junk) is `None`.
    pub fn parse(v: &str) -> Option<ClientVersion> {
        let mut it = v.trim().split('.').map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u64>().ok())
                .flatten()
        });
        let version = ClientVersion(it.next()??, it.next()??, it.next()??);
        it.next().is_none().then_some(version)
    }
}

impl std::fmt::Display for ClientVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

#[cfg(test)]
mod tests {
    use super::ClientVersion;

    #[test]
    fn versions_compare_numerically_and_junk_is_refused() {
        assert!(ClientVersion::parse("0.10.0") > ClientVersion::parse("0.9.9"));
        assert_eq!(ClientVersion::parse(" 1.2.3 "), Some(ClientVersion(1, 2, 3)));
        for junk in ["", "1.2", "1.2.3.4", "1.2.x", "1.-2.3", "1.2.3-rc1", "+1.2.3"] {
            assert_eq!(ClientVersion::parse(junk), None, "{junk:?}");
        }
    }
}

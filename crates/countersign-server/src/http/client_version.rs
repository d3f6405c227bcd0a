//! The oldest app this server serves (API.md, Conventions): a request whose
//! `Countersign-Client` header states a version below
//! `desktop.min_client_version` is refused before its handler runs, so it
//! changes nothing. A request without the header (curl, integrations, other
//! clients) is not the app's and passes: the minimum is about the app's
//! behaviour, not an authorization. A header that is not a version is
//! `invalid_request`: a client that names itself and says nothing readable
//! cannot be said to meet the minimum.

use super::problem::ApiError;
use axum::http::HeaderMap;
use countersign_api::{ClientVersion, ErrorCode, CLIENT_VERSION_HEADER};

/// Routes an app too old for this server must still reach: the probes, the
/// configuration that tells it it is too old, the contract, and the updates
/// that fix it.
pub fn serves_any_version(path: &str) -> bool {
    !path.starts_with("/v1/")
        || matches!(path, "/v1/client-config" | "/v1/openapi.json")
        || path.starts_with("/v1/updates/")
}

/// `Ok` when the request states no version or one at least `min`.
pub fn check(headers: &HeaderMap, min: ClientVersion) -> Result<(), ApiError> {
    let mut values = headers.get_all(CLIENT_VERSION_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(());
    };
    let invalid =
        || ApiError::invalid("The Countersign-Client header must be one version, like 1.2.3 (semantic versioning).");
    // Two statements could each be read as the one that counts.
    if values.next().is_some() {
        return Err(invalid());
    }
    let stated = value
        .to_str()
        .ok()
        .and_then(|v| semver::Version::parse(v).ok())
        .ok_or_else(invalid)?;
    // Semantic versioning's order: a pre-release comes before its release
    // (1.2.0-rc.1 < 1.2.0); build metadata never makes a version older.
    if stated < semver::Version::new(min.0, min.1, min.2) {
        return Err(ApiError::new(
            ErrorCode::ClientUpdateRequired,
            format!("This version of the app ({stated}) is older than this server accepts ({min}). Update the app."),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(values: &[&[u8]]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(CLIENT_VERSION_HEADER, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    fn code(values: &[&[u8]]) -> Option<ErrorCode> {
        check(&with(values), ClientVersion(1, 2, 0)).err().map(|e| e.code)
    }

    #[test]
    fn older_versions_are_refused_and_the_rest_pass() {
        let old = Some(ErrorCode::ClientUpdateRequired);
        let bad = Some(ErrorCode::InvalidRequest);
        let table: &[(&[&[u8]], Option<ErrorCode>)] = &[
            (&[], None),
            (&[b"1.2.0"], None),
            (&[b"1.2.1"], None),
            (&[b"1.10.0"], None),
            (&[b"2.0.0-alpha"], None),
            (&[b"1.2.0+build.7"], None),
            (&[b"1.1.99"], old),
            (&[b"0.9.0"], old),
            (&[b"1.2.0-rc.1"], old),
            (&[b"1.2"], bad),
            (&[b"v1.2.0"], bad),
            (&[b"01.2.0"], bad),
            (&[b" 1.2.0"], bad),
            (&[b"soon"], bad),
            (&[b""], bad),
            (&["1.2.0\u{e9}".as_bytes()], bad),
            (&[b"1.2.0", b"1.2.0"], bad),
        ];
        for (values, want) in table {
            assert_eq!(code(values), *want, "{values:?}");
        }
    }

    #[test]
    fn probes_client_config_the_contract_and_updates_serve_any_version() {
        for path in [
            "/healthz",
            "/livez",
            "/readyz",
            "/v1/client-config",
            "/v1/openapi.json",
            "/v1/updates/{target}/{arch}/{current_version}",
        ] {
            assert!(serves_any_version(path), "{path}");
        }
        for path in [
            "/v1/me",
            "/v1/sync",
            "/v1/approvals",
            "/v1/notifications/stream",
            "/v1/updates",
        ] {
            assert!(!serves_any_version(path), "{path}");
        }
    }
}

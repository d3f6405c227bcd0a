//! Working offline (issue 6, point 6): when the server cannot be reached,
//! reads come from the encrypted cache, marked stale with their age; actions
//! are refused with a clear `offline` error. Nothing is ever queued to be
//! sent later behind the user's back.

use crate::api_client::{ApiClient, ClientError};
use crate::cache::{Cache, CacheError};
use crate::error::{Code, HasCode};
use countersign_api::RecordType;
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Straight from the server.
    Live,
    /// From the cache, last synced this long ago.
    Stale { age: Duration },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Read<T> {
    pub value: T,
    pub freshness: Freshness,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// Stable code `offline` for the UI.
    #[error("offline: the server cannot be reached, so this action was not sent (and will not be sent later)")]
    Offline,
    #[error(transparent)]
    Client(ClientError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("the cached record could not be read: {0}")]
    Decode(String),
}

impl HasCode for OfflineError {
    fn code(&self) -> Code {
        match self {
            OfflineError::Offline => Code::Offline,
            OfflineError::Client(e) => e.code(),
            OfflineError::Cache(_) | OfflineError::Decode(_) => Code::CacheUnavailable,
        }
    }
}

fn age(cache: &Cache) -> Result<Duration, CacheError> {
    Ok(cache
        .synced_at()?
        .and_then(|t| t.elapsed().ok())
        .unwrap_or(Duration::MAX))
}

/// Reads live, or from the cache when the server is unreachable.
pub async fn read_list<T: DeserializeOwned>(
    cache: &Cache,
    record_type: RecordType,
    live: impl std::future::Future<Output = Result<Vec<T>, ClientError>>,
) -> Result<Read<Vec<T>>, OfflineError> {
    match live.await {
        Ok(value) => Ok(Read {
            value,
            freshness: Freshness::Live,
        }),
        Err(e) if e.is_unreachable() => {
            let value = cache
                .list(record_type)?
                .into_iter()
                .map(|r| serde_json::from_value(r.data).map_err(|e| OfflineError::Decode(e.to_string())))
                .collect::<Result<Vec<T>, _>>()?;
            Ok(Read {
                value,
                freshness: Freshness::Stale { age: age(cache)? },
            })
        }
        Err(e) => Err(OfflineError::Client(e)),
    }
}

/// Runs an action; unreachable means refused now, not retried later.
pub async fn act<T>(action: impl std::future::Future<Output = Result<T, ClientError>>) -> Result<T, OfflineError> {
    action.await.map_err(|e| {
        if e.is_unreachable() {
            OfflineError::Offline
        } else {
            OfflineError::Client(e)
        }
    })
}

/// The orgs the user may see: live, or cached and stale.
pub async fn orgs(api: &ApiClient, cache: &Cache) -> Result<Read<Vec<countersign_api::Org>>, OfflineError> {
    read_list(cache, RecordType::Org, async {
        api.list_orgs(&crate::api_client::OrgFilter {
            limit: Some(200),
            ..Default::default()
        })
        .await
        .map(|p| p.items)
    })
    .await
}

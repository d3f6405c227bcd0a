//! `GET /v1/sync`: the feed of the client's encrypted cache.

use crate::RecordType;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncChange {
    pub record_type: RecordType,
    pub record_id: uuid::Uuid,
    pub org_id: uuid::Uuid,
    /// Increases with every change of the record (a global change sequence).
    pub version: i64,
    /// The record left the caller's view (deleted, or moved out of scope).
    pub deleted: bool,
    /// The record as the read endpoints return it, masked; `null` when deleted.
    pub data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    pub changes: Vec<SyncChange>,
    /// Pass back as `cursor`; valid only for the same `permission_epoch`.
    pub next_cursor: String,
    pub has_more: bool,
    pub permission_epoch: i64,
    /// On the first page of a sync (no cursor) only: how many records the
    /// caller may read now, for progress ("done / estimated total").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_total: Option<i64>,
}

//! The audited reveal: the one command whose result is a secret, for the
//! reveal dialog only.

use super::{App, Reply};
use crate::trace::reply_secret;
use countersign_client::api::{RecordType, RevealRequest};
use countersign_client::desktop::Revealed;

#[tauri::command(rename_all = "snake_case")]
pub async fn reveal(
    app: App<'_>,
    record_type: RecordType,
    record_id: uuid::Uuid,
    field: String,
    reason: String,
) -> Reply<Revealed> {
    reply_secret(
        "reveal",
        app.reveal(RevealRequest {
            record_type,
            record_id,
            field,
            reason,
        })
        .await,
    )
}

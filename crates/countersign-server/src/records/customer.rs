//! Customer actions (API.md "Impersonation"): what a customer user can do in
//! their own org, and so what a `write` support session can do for them.

use super::rules;
use crate::http::context::AuditCtx;
use crate::http::extract::{Json as Body, Path};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::caller::{CustomerIdentity, Principal};
use crate::kernel::db;
use crate::records::store::{UserRow, USER_COLUMNS};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use countersign_api::{CustomerUser, Problem, UpdateUser};
use uuid::Uuid;

/// The customer identity acting (`rules::acting_customer`).
fn acting_customer(p: &Principal) -> Result<&CustomerIdentity, crate::kernel::Refusal> {
    rules::acting_customer(p.impersonation.as_ref().map(|i| i.scope), p.customer.as_ref())
}

#[utoipa::path(patch, path = "/v1/users/{user_id}", params(("user_id" = Uuid, Path)), request_body = UpdateUser,
    responses((status = 200, body = CustomerUser), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])), tag = "customer")]
pub async fn update_user(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
    Body(req): Body<UpdateUser>,
) -> ApiResult<Json<CustomerUser>> {
    audit.target("user", id, None);
    let me = acting_customer(&p)?;
    rules::may_update_user(me, id)?;
    let (name, phone) = rules::profile(req.name.as_deref(), req.phone.as_deref())?;
    audit.detail(
        "fields",
        serde_json::json!([name.map(|_| "name"), phone.map(|_| "phone")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()),
    );
    let mut tx = db::begin(&s.db, &p).await?;
    let row: Option<UserRow> = sqlx::query_as(&format!(
        "UPDATE customer_users SET name = coalesce($2, name), phone = coalesce($3, phone), updated_at = now() WHERE id \
            = $1 AND org_id = $4 RETURNING {USER_COLUMNS}"
    ))
    .bind(id)
    .bind(name)
    .bind(phone)
    .bind(me.org_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    let row = row.ok_or_else(ApiError::not_found)?;
    audit.target("user", id, Some(row.org_id));
    Ok(Json(row.to_api(&p)?))
}

#[utoipa::path(post, path = "/v1/invoices/{invoice_id}/resend", params(("Idempotency-Key" = Option<String>, Header),
    ("invoice_id" = Uuid, Path)),
    responses(
        (status = 202, description = "Queued for sending"),
        (status = 403, body = Problem), (status = 404, body = Problem)
    ),
    security(("bearer" = [])), tag = "customer")]
pub async fn resend_invoice(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    headers: axum::http::HeaderMap,
    Path(id): Path<Uuid>,
) -> ApiResult<axum::response::Response> {
    audit.target("invoice", id, None);
    let me = acting_customer(&p)?;
    let key = crate::http::idempotency::from_headers(&headers, &p, &format!("POST /v1/invoices/{id}/resend"), &())?;
    let mut tx = crate::http::idempotency::begin_or_replay!(&s.db, &p, key.as_ref());
    let sent: Option<(Uuid, time::OffsetDateTime)> = sqlx::query_as(
        "UPDATE invoices SET last_sent_at = now() WHERE id = $1 AND org_id = $2 RETURNING org_id, last_sent_at",
    )
    .bind(id)
    .bind(me.org_id.0)
    .fetch_optional(&mut *tx)
    .await?;
    let (org, at) = sent.ok_or_else(ApiError::not_found)?;
    audit.target("invoice", id, Some(org));
    let resent_at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = serde_json::json!({ "resent_at": resent_at });
    crate::http::idempotency::finish(tx, &p, key.as_ref(), StatusCode::ACCEPTED, &body).await
}

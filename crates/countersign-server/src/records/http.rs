//! Read endpoints for orgs, customer users, invoices, vendors and payments.
//! Scope is enforced by row-level security inside `db::begin`; these queries
//! deliberately carry no org filter of their own beyond what the route asks.

use super::store::*;
use crate::http::context::AuditCtx;
use crate::http::extract::{Path, Query};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db;
use crate::kernel::paging::{decode_cursor, limit, page, parse_ts_key, ts_key};
use crate::kernel::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use countersign_api::*;
use serde::Deserialize;
use uuid::Uuid;

// ---------- paging ----------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// 1-200, default 50.
    pub limit: Option<u32>,
    /// Opaque cursor from a previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrgListParams {
    /// Substring of the name or slug.
    pub q: Option<String>,
    pub region: Option<Region>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InvoiceListParams {
    pub status: Option<InvoiceStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn like_pattern(q: &str) -> String {
    let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// A page of an org's invoices: `$1` org, `$2` status or NULL, `$3`/`$4`
/// the cursor's (issued_at, id), `$5` rows. Public for the test that checks
/// its plan against a large org.
pub fn invoice_page_sql(after_cursor: bool) -> String {
    format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE org_id = $1 AND ($2::text IS NULL OR status = $2) \
           AND {} ORDER BY issued_at DESC, id DESC LIMIT $5",
        db::page_start(after_cursor, "(issued_at, id) <", 3, &["timestamptz", "uuid"])
    )
}

/// 404 unless the org exists inside the caller's scope.
async fn visible_org(tx: &mut db::Tx, org_id: Uuid) -> ApiResult<()> {
    let found: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM orgs WHERE id = $1")
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?;
    found.map(|_| ()).ok_or_else(ApiError::not_found)
}

/// A page of `org_id`'s rows, or 404 when the org is not visible. Rows prove
/// the org is in scope (the same row-level security decides both), so only an
/// empty page asks about the org itself: one round trip fewer on every page
/// that has something in it, and the same answers.
async fn org_page<R>(tx: &mut db::Tx, org_id: Uuid, rows: Vec<R>) -> ApiResult<Vec<R>> {
    if rows.is_empty() {
        visible_org(tx, org_id).await?;
    }
    Ok(rows)
}

#[utoipa::path(get, path = "/v1/orgs", params(OrgListParams), responses((status = 200, body = Page<Org>)),
    security(("bearer" = [])), tag = "records")]
pub async fn list_orgs(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Query<OrgListParams>,
) -> ApiResult<Json<Page<Org>>> {
    p.require(Permission::OrgsRead)?;
    let lim = limit(q.limit)?;
    let cur = decode_cursor(&q.cursor)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<OrgRow> = sqlx::query_as(&format!(
        "SELECT {ORG_COLUMNS} FROM orgs \
         WHERE ($1::text IS NULL OR name ILIKE $1 OR slug ILIKE $1) AND ($2::text IS NULL OR region = $2) \
           AND {} \
         ORDER BY name, id LIMIT $5",
        db::page_start(cur.is_some(), "(name, id) >", 3, &["text", "uuid"])
    ))
    .bind(q.q.as_deref().map(like_pattern))
    .bind(q.region.map(|r| r.as_str()))
    .bind(cur.as_ref().map(|c| c.k.clone()))
    .bind(cur.as_ref().map(|c| c.id))
    .bind(lim + 1)
    .fetch_all(&mut *tx)
    .await?;
    db::end_read(tx);
    Ok(Json(page(rows, lim, |r| (r.name.clone(), r.id), OrgRow::to_api)?))
}

#[utoipa::path(get, path = "/v1/orgs/{org_id}", params(("org_id" = Uuid, Path)), responses((status = 200, body = Org),
    (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
pub async fn get_org(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(org_id): Path<Uuid>,
) -> ApiResult<Json<Org>> {
    p.require(Permission::OrgsRead)?;
    audit.target("org", org_id, None);
    let mut tx = db::begin(&s.db, &p).await?;
    let row: Option<OrgRow> = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
        .bind(org_id)
        .fetch_optional(&mut *tx)
        .await?;
    db::end_read(tx);
    let row = row.ok_or_else(ApiError::not_found)?;
    audit.target("org", org_id, Some(org_id));
    Ok(Json(row.to_api()?))
}

#[utoipa::path(get, path = "/v1/orgs/{org_id}/users", params(("org_id" = Uuid, Path), ListParams),
    responses((status = 200, body = Page<CustomerUser>), (status = 404, body = Problem)), security(("bearer" = [])),
        tag = "records")]
pub async fn list_users(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(org_id): Path<Uuid>,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Page<CustomerUser>>> {
    p.require(Permission::UsersRead)?;
    audit.target("org", org_id, None);
    let lim = limit(q.limit)?;
    let cur = decode_cursor(&q.cursor)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM customer_users WHERE org_id = $1 AND {} ORDER BY name, id LIMIT $4",
        db::page_start(cur.is_some(), "(name, id) >", 2, &["text", "uuid"])
    ))
    .bind(org_id)
    .bind(cur.as_ref().map(|c| c.k.clone()))
    .bind(cur.as_ref().map(|c| c.id))
    .bind(lim + 1)
    .fetch_all(&mut *tx)
    .await?;
    let rows = org_page(&mut tx, org_id, rows).await?;
    db::end_read(tx);
    audit.target("org", org_id, Some(org_id));
    Ok(Json(page(rows, lim, |r| (r.name.clone(), r.id), |r| r.to_api(&p))?))
}

#[utoipa::path(get, path = "/v1/users/{user_id}", params(("user_id" = Uuid, Path)), responses((status = 200,
    body = CustomerUser), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
pub async fn get_user(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CustomerUser>> {
    p.require(Permission::UsersRead)?;
    audit.target("user", id, None);
    let mut tx = db::begin(&s.db, &p).await?;
    let row: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM customer_users WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    db::end_read(tx);
    let row = row.ok_or_else(ApiError::not_found)?;
    audit.target("user", id, Some(row.org_id));
    Ok(Json(row.to_api(&p)?))
}

#[utoipa::path(get, path = "/v1/orgs/{org_id}/invoices", params(("org_id" = Uuid, Path), InvoiceListParams),
    responses((status = 200, body = Page<Invoice>), (status = 404, body = Problem)), security(("bearer" = [])),
        tag = "records")]
pub async fn list_invoices(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(org_id): Path<Uuid>,
    Query(q): Query<InvoiceListParams>,
) -> ApiResult<Json<Page<Invoice>>> {
    p.require(Permission::InvoicesRead)?;
    audit.target("org", org_id, None);
    let lim = limit(q.limit)?;
    let (after_t, after_id) = parse_ts_key(&decode_cursor(&q.cursor)?)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<InvoiceRow> = sqlx::query_as(&invoice_page_sql(after_t.is_some()))
        .bind(org_id)
        .bind(q.status.map(|s| s.as_str()))
        .bind(after_t)
        .bind(after_id)
        .bind(lim + 1)
        .fetch_all(&mut *tx)
        .await?;
    let rows = org_page(&mut tx, org_id, rows).await?;
    db::end_read(tx);
    audit.target("org", org_id, Some(org_id));
    Ok(Json(page(
        rows,
        lim,
        |r| (ts_key(r.issued_at), r.id),
        InvoiceRow::to_api,
    )?))
}

#[utoipa::path(get, path = "/v1/invoices/{invoice_id}", params(("invoice_id" = Uuid, Path)), responses((status = 200,
    body = Invoice), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
pub async fn get_invoice(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Invoice>> {
    p.require(Permission::InvoicesRead)?;
    audit.target("invoice", id, None);
    let mut tx = db::begin(&s.db, &p).await?;
    let row: Option<InvoiceRow> = sqlx::query_as(&format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    db::end_read(tx);
    let row = row.ok_or_else(ApiError::not_found)?;
    audit.target("invoice", id, Some(row.org_id));
    Ok(Json(row.to_api()?))
}

#[utoipa::path(get, path = "/v1/orgs/{org_id}/vendors", params(("org_id" = Uuid, Path), ListParams),
    responses((status = 200, body = Page<Vendor>), (status = 404, body = Problem)), security(("bearer" = [])),
        tag = "records")]
pub async fn list_vendors(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(org_id): Path<Uuid>,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Page<Vendor>>> {
    p.require(Permission::VendorsRead)?;
    audit.target("org", org_id, None);
    let lim = limit(q.limit)?;
    let cur = decode_cursor(&q.cursor)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<VendorRow> = sqlx::query_as(&format!(
        "{VENDOR_SELECT} WHERE v.org_id = $1 AND {} ORDER BY v.name, v.id LIMIT $4",
        db::page_start(cur.is_some(), "(v.name, v.id) >", 2, &["text", "uuid"])
    ))
    .bind(org_id)
    .bind(cur.as_ref().map(|c| c.k.clone()))
    .bind(cur.as_ref().map(|c| c.id))
    .bind(lim + 1)
    .fetch_all(&mut *tx)
    .await?;
    let rows = org_page(&mut tx, org_id, rows).await?;
    db::end_read(tx);
    audit.target("org", org_id, Some(org_id));
    Ok(Json(page(rows, lim, |r| (r.name.clone(), r.id), |r| r.to_api(&p))?))
}

#[utoipa::path(get, path = "/v1/vendors/{vendor_id}", params(("vendor_id" = Uuid, Path)), responses((status = 200,
    body = Vendor), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
pub async fn get_vendor(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vendor>> {
    p.require(Permission::VendorsRead)?;
    audit.target("vendor", id, None);
    let mut tx = db::begin(&s.db, &p).await?;
    let row: Option<VendorRow> = sqlx::query_as(&format!("{VENDOR_SELECT} WHERE v.id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    db::end_read(tx);
    let row = row.ok_or_else(ApiError::not_found)?;
    audit.target("vendor", id, Some(row.org_id));
    Ok(Json(row.to_api(&p)?))
}

#[utoipa::path(get, path = "/v1/orgs/{org_id}/payments", params(("org_id" = Uuid, Path), ListParams),
    responses((status = 200, body = Page<Payment>), (status = 404, body = Problem)), security(("bearer" = [])),
        tag = "records")]
pub async fn list_payments(
    State(s): State<AppState>,
    p: Principal,
    audit: AuditCtx,
    Path(org_id): Path<Uuid>,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<Page<Payment>>> {
    p.require(Permission::PaymentsRead)?;
    audit.target("org", org_id, None);
    let lim = limit(q.limit)?;
    let (after_t, after_id) = parse_ts_key(&decode_cursor(&q.cursor)?)?;
    let mut tx = db::begin(&s.db, &p).await?;
    let rows: Vec<PaymentRow> = sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE org_id = $1 AND {} ORDER BY created_at DESC, id DESC LIMIT $4",
        db::page_start(after_t.is_some(), "(created_at, id) <", 2, &["timestamptz", "uuid"])
    ))
    .bind(org_id)
    .bind(after_t)
    .bind(after_id)
    .bind(lim + 1)
    .fetch_all(&mut *tx)
    .await?;
    let rows = org_page(&mut tx, org_id, rows).await?;
    db::end_read(tx);
    audit.target("org", org_id, Some(org_id));
    Ok(Json(page(
        rows,
        lim,
        |r| (ts_key(r.created_at), r.id),
        PaymentRow::to_api,
    )?))
}

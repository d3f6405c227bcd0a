//! Read endpoints for orgs, customer users, invoices, vendors and payments.
//! Scope is enforced by row-level security inside `db::begin`; these queries
//! deliberately carry no org filter of their own beyond what the route asks.

use crate::audit::AuditCtx;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::masking;
use crate::principal::Principal;
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use base64::Engine;
use countersign_api::*;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
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

/// Keyset position: the sort key and id of the last item of the previous page.
#[derive(Serialize, Deserialize)]
pub(crate) struct Cursor {
    k: String,
    id: Uuid,
}

pub(crate) fn limit(l: Option<u32>) -> ApiResult<i64> {
    match l.unwrap_or(LIMIT_DEFAULT) {
        n @ LIMIT_MIN..=LIMIT_MAX => Ok(n as i64),
        _ => Err(ApiError::invalid(format!(
            "limit must be between {LIMIT_MIN} and {LIMIT_MAX}."
        ))),
    }
}

pub(crate) fn decode_cursor(c: &Option<String>) -> ApiResult<Option<Cursor>> {
    let Some(c) = c else { return Ok(None) };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid("The cursor is not valid."))
}

/// Builds the page from `limit + 1` fetched rows.
pub(crate) fn page<R, T>(
    mut rows: Vec<R>,
    limit: i64,
    key: impl Fn(&R) -> (String, Uuid),
    map: impl Fn(&R) -> ApiResult<T>,
) -> ApiResult<Page<T>> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|r| {
            let (k, id) = key(r);
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&Cursor { k, id }).expect("plain struct"))
        })
    } else {
        None
    };
    Ok(Page {
        items: rows.iter().map(map).collect::<ApiResult<_>>()?,
        next_cursor,
    })
}

pub(crate) fn ts_key(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("valid timestamp")
}

pub(crate) fn parse_ts_key(c: &Option<Cursor>) -> ApiResult<(Option<OffsetDateTime>, Option<Uuid>)> {
    match c {
        None => Ok((None, None)),
        Some(c) => OffsetDateTime::parse(&c.k, &time::format_description::well_known::Rfc3339)
            .map(|t| (Some(t), Some(c.id)))
            .map_err(|_| ApiError::invalid("The cursor is not valid.")),
    }
}

fn money(amount_minor: i64, currency: &str) -> ApiResult<Money> {
    Currency::parse(currency)
        .map(|c| Money::new(amount_minor, c))
        .map_err(|_| {
            tracing::error!("stored currency is not supported");
            ApiError::internal()
        })
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

// ---------- rows and their wire forms ----------

#[derive(sqlx::FromRow)]
pub struct OrgRow {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub region: String,
    pub support_access: String,
    pub created_at: OffsetDateTime,
}
pub const ORG_COLUMNS: &str = "id, slug, name, region, support_access, created_at";

impl OrgRow {
    pub fn to_api(&self) -> ApiResult<Org> {
        Ok(Org {
            id: OrgId(self.id),
            slug: self.slug.clone(),
            name: self.name.clone(),
            region: Region::parse(&self.region).ok_or_else(ApiError::internal)?,
            support_access: if self.support_access == "consent" {
                SupportAccess::Consent
            } else {
                SupportAccess::Open
            },
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub city: String,
    pub role: String,
}
pub const USER_COLUMNS: &str = "id, org_id, name, email, phone, city, role";

impl UserRow {
    pub fn to_api(&self, p: &Principal) -> ApiResult<CustomerUser> {
        Ok(CustomerUser {
            id: UserId(self.id),
            org_id: OrgId(self.org_id),
            name: self.name.clone(),
            email: masking::masked(p, "email", masking::email(&self.email)),
            phone: masking::masked(p, "phone", masking::phone(&self.phone)),
            address: masking::masked(p, "address", self.city.clone()),
            city: self.city.clone(),
            role: if self.role == "org_admin" {
                CustomerRole::OrgAdmin
            } else {
                CustomerRole::Member
            },
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct InvoiceRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub number: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub issued_at: OffsetDateTime,
    pub due_at: OffsetDateTime,
}
pub const INVOICE_COLUMNS: &str = "id, org_id, number, amount_minor, currency, status, issued_at, due_at";

impl InvoiceRow {
    pub fn to_api(&self) -> ApiResult<Invoice> {
        Ok(Invoice {
            id: InvoiceId(self.id),
            org_id: OrgId(self.org_id),
            number: self.number.clone(),
            amount: money(self.amount_minor, &self.currency)?,
            status: match self.status.as_str() {
                "paid" => InvoiceStatus::Paid,
                "void" => InvoiceStatus::Void,
                _ => InvoiceStatus::Open,
            },
            issued_at: self.issued_at,
            due_at: self.due_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct VendorRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub tax_id: String,
    pub city: String,
    pub iban: Option<String>,
    pub bank_name: Option<String>,
    pub account_holder: Option<String>,
}
pub const VENDOR_SELECT: &str =
    "SELECT v.id, v.org_id, v.name, v.tax_id, v.city, b.iban, b.bank_name, b.account_holder \
     FROM vendors v LEFT JOIN vendor_bank_accounts b ON b.vendor_id = v.id AND b.valid_to IS NULL";

impl VendorRow {
    pub fn to_api(&self, p: &Principal) -> ApiResult<Vendor> {
        let bank_account = match (&self.iban, &self.bank_name, &self.account_holder) {
            (Some(iban), Some(bank_name), Some(holder)) => Some(BankAccount {
                iban: masking::masked(p, "iban", masking::iban(iban)),
                bank_name: bank_name.clone(),
                account_holder: holder.clone(),
            }),
            _ => None,
        };
        Ok(Vendor {
            id: VendorId(self.id),
            org_id: OrgId(self.org_id),
            name: self.name.clone(),
            tax_id: masking::masked(p, "tax_id", masking::tax_id(&self.tax_id)),
            address: masking::masked(p, "address", self.city.clone()),
            city: self.city.clone(),
            bank_account,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct PaymentRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub amount_minor: i64,
    pub currency: String,
    pub approval_id: Option<Uuid>,
    pub vendor_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}
pub const PAYMENT_COLUMNS: &str =
    "id, org_id, kind, amount_minor, currency, approval_id, vendor_id, invoice_id, created_at";

impl PaymentRow {
    pub fn to_api(&self) -> ApiResult<Payment> {
        Ok(Payment {
            id: PaymentId(self.id),
            org_id: OrgId(self.org_id),
            kind: match self.kind.as_str() {
                "refund" => PaymentKind::Refund,
                "credit_note" => PaymentKind::CreditNote,
                _ => PaymentKind::Payout,
            },
            amount: money(self.amount_minor, &self.currency)?,
            approval_id: self.approval_id,
            vendor_id: self.vendor_id.map(VendorId),
            invoice_id: self.invoice_id.map(InvoiceId),
            created_at: self.created_at,
        })
    }
}

// ---------- handlers ----------

#[utoipa::path(get, path = "/v1/orgs", params(OrgListParams), responses((status = 200, body = Page<Org>)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/orgs/{org_id}", params(("org_id" = Uuid, Path)), responses((status = 200, body = Org), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/orgs/{org_id}/users", params(("org_id" = Uuid, Path), ListParams), responses((status = 200, body = Page<CustomerUser>), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/users/{user_id}", params(("user_id" = Uuid, Path)), responses((status = 200, body = CustomerUser), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/orgs/{org_id}/invoices", params(("org_id" = Uuid, Path), InvoiceListParams), responses((status = 200, body = Page<Invoice>), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/invoices/{invoice_id}", params(("invoice_id" = Uuid, Path)), responses((status = 200, body = Invoice), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/orgs/{org_id}/vendors", params(("org_id" = Uuid, Path), ListParams), responses((status = 200, body = Page<Vendor>), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/vendors/{vendor_id}", params(("vendor_id" = Uuid, Path)), responses((status = 200, body = Vendor), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

#[utoipa::path(get, path = "/v1/orgs/{org_id}/payments", params(("org_id" = Uuid, Path), ListParams), responses((status = 200, body = Page<Payment>), (status = 404, body = Problem)), security(("bearer" = [])), tag = "records")]
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

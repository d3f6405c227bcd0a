//! The records as stored, and their wire forms, masked per caller.

use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::masking;
use crate::kernel::Principal;
use countersign_api::*;
use time::OffsetDateTime;
use uuid::Uuid;

pub fn money(amount_minor: i64, currency: &str) -> ApiResult<Money> {
    Currency::parse(currency)
        .map(|c| Money::new(amount_minor, c))
        .map_err(|_| {
            tracing::error!("stored currency is not supported");
            ApiError::internal()
        })
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

//! Approvals in the database: the rows, parsed once into the rules' types,
//! and the SQL of every approval action except the group commit's two
//! statements (`engine.rs`).

use super::policy::ApprovalPolicy;
use super::rules::{self, Delegator, Given, Limit, Request};
use crate::http::problem::{ApiError, ApiResult};
use crate::kernel::db::Tx;
use crate::kernel::masking;
use crate::kernel::Principal;
use crate::records::store::{
    InvoiceRow, PaymentRow, UserRow, VendorRow, INVOICE_COLUMNS, PAYMENT_COLUMNS, USER_COLUMNS, VENDOR_SELECT,
};
use countersign_api::*;
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A request as stored. Kind and status parse when the row is read: an
/// unknown value is an error there (the tables' CHECK constraints are the
/// second line), never a default.
#[derive(sqlx::FromRow)]
pub struct ApprovalRow {
    pub id: Uuid,
    pub org_id: Uuid,
    #[sqlx(try_from = "String")]
    pub kind: ApprovalKind,
    pub target_id: Uuid,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub base_currency: Option<String>,
    pub exchange_rate: Option<String>,
    pub amount_base_minor: Option<i64>,
    pub payload: serde_json::Value,
    pub reason: String,
    /// As stored; see [`ApprovalRow::status`].
    #[sqlx(try_from = "String")]
    pub stored_status: ApprovalStatus,
    pub version: i32,
    pub requester_staff_id: Uuid,
    pub requester_person_id: Uuid,
    pub policy_version: String,
    pub required: sqlx::types::Json<Vec<Rule>>,
    pub expires_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
    pub execution_result: Option<serde_json::Value>,
    /// A payout release whose vendor has a bank change pending: a fact the
    /// rules need, read with the row.
    pub payout_held: bool,
}

/// The columns of an [`ApprovalRow`], over `approval_requests` unaliased.
pub const COLUMNS: &str = "id, org_id, kind, target_id, amount_minor, currency, base_currency, \
     exchange_rate::text AS exchange_rate, amount_base_minor, payload, reason, status AS stored_status, version, \
     requester_staff_id, requester_person_id, policy_version, required, expires_at, created_at, execution_result, \
     (kind = 'payout_release' AND EXISTS (SELECT 1 FROM approval_requests h WHERE h.kind = 'vendor_bank_change' \
       AND h.target_id = approval_requests.target_id AND h.status = 'pending' AND h.expires_at > now())) AS \
           payout_held";

impl ApprovalRow {
    /// What the request reads as now.
    pub fn status(&self) -> ApprovalStatus {
        rules::status_at(self.stored_status, self.expires_at, OffsetDateTime::now_utc())
    }
    pub fn amount(&self) -> Option<Money> {
        match (self.amount_minor, &self.currency) {
            (Some(a), Some(c)) => Currency::parse(c).ok().map(|c| Money::new(a, c)),
            _ => None,
        }
    }
    /// The amount in the base currency as recorded.
    pub fn recorded_base(&self) -> Option<Money> {
        match (self.amount_base_minor, &self.base_currency) {
            (Some(a), Some(c)) => Currency::parse(c).ok().map(|c| Money::new(a, c)),
            _ => None,
        }
    }
    /// What thresholds and limits compare: the recorded base amount, or for
    /// a request from before rates were recorded, today's conversion; never
    /// the raw amount of another currency.
    pub fn amount_base(&self, policy: &ApprovalPolicy) -> ApiResult<Option<Money>> {
        match (self.recorded_base(), self.amount()) {
            (Some(b), _) => Ok(Some(b)),
            (None, Some(m)) => policy.to_base(m).map(|b| Some(b.base)).map_err(ApiError::invalid),
            (None, None) => Ok(None),
        }
    }
    /// The request as the rules see it.
    pub fn request(&self, policy: &ApprovalPolicy) -> ApiResult<Request> {
        Ok(Request {
            kind: self.kind,
            status: self.stored_status,
            version: self.version,
            requester_person: self.requester_person_id,
            amount_base: self.amount_base(policy)?,
            expires_at: self.expires_at,
            required: self.required.0.clone(),
        })
    }
}

/// A decision as the history shows it.
#[derive(sqlx::FromRow, Deserialize)]
pub struct DecisionRow {
    pub approver_staff_id: Uuid,
    pub approver_name: String,
    pub on_behalf_of_staff_id: Option<Uuid>,
    #[sqlx(try_from = "String")]
    pub decision: Decision,
    pub comment: String,
    pub version_seen: i32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whose it is: one decision per person per version, and a decision on
    /// a person's behalf counts as theirs.
    pub approver_person_id: Uuid,
    pub on_behalf_person_id: Option<Uuid>,
    /// The roles it brought to the rules.
    pub approver_roles: Vec<String>,
}

impl DecisionRow {
    pub fn given(&self) -> Given {
        Given {
            person: self.approver_person_id,
            on_behalf_person: self.on_behalf_person_id,
            decision: self.decision,
            version_seen: self.version_seen,
            roles: self.approver_roles.clone(),
        }
    }
}

/// The decisions of a request as JSON objects of [`DecisionRow`]'s fields,
/// for `json_agg`: the group commit reads them with the requests in one
/// statement. `$request` is the request's id expression.
pub fn decisions_json(request: &str) -> String {
    format!(
        "coalesce((SELECT json_agg(json_build_object( \
           'approver_staff_id', d.approver_staff_id, 'approver_name', s.display_name, \
           'on_behalf_of_staff_id', d.on_behalf_of_staff_id, 'decision', d.decision, 'comment', d.comment, \
           'version_seen', d.version_seen, 'created_at', d.created_at, 'approver_person_id', d.approver_person_id, \
           'on_behalf_person_id', b.person_id, 'approver_roles', d.approver_roles) ORDER BY d.created_at, d.id) \
         FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id \
           LEFT JOIN staff b ON b.id = d.on_behalf_of_staff_id WHERE d.request_id = {request}), '[]')"
    )
}

pub async fn load(tx: &mut Tx, id: Uuid, lock: bool) -> ApiResult<ApprovalRow> {
    let sql = format!(
        "SELECT {COLUMNS} FROM approval_requests WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(ApiError::not_found)
}

pub async fn decisions(tx: &mut Tx, id: Uuid) -> ApiResult<Vec<DecisionRow>> {
    Ok(sqlx::query_as(
        "SELECT d.approver_staff_id, s.display_name AS approver_name, d.on_behalf_of_staff_id, d.decision, \
           d.comment, d.version_seen, d.created_at, d.approver_person_id, b.person_id AS on_behalf_person_id, \
           d.approver_roles \
         FROM approval_decisions d JOIN staff s ON s.id = d.approver_staff_id \
           LEFT JOIN staff b ON b.id = d.on_behalf_of_staff_id \
         WHERE d.request_id = $1 ORDER BY d.created_at, d.id",
    )
    .bind(id)
    .fetch_all(&mut **tx)
    .await?)
}

/// The caller's limit for `kind`, in the base currency.
pub fn limit(p: &Principal, kind: ApprovalKind, policy: &ApprovalPolicy) -> Limit {
    match p.approval_limits.get(kind.as_str()) {
        Some(Some(configured)) => match policy.to_base(*configured) {
            Ok(b) => Limit::Base {
                base: b.base,
                configured: *configured,
            },
            Err(_) => Limit::NoRate(*configured),
        },
        _ => Limit::None,
    }
}

/// The caller as a decider of `row`; `None` for a caller who is not a
/// person on the staff (they take no part in approvals).
pub fn decider<'a>(p: &'a Principal, row: &ApprovalRow, policy: &ApprovalPolicy) -> Option<rules::Decider<'a>> {
    Some(rules::Decider {
        person: p.person_id.filter(|_| p.kind == ActorKind::Staff)?,
        permissions: &p.permissions,
        roles: &p.roles,
        impersonating: p.impersonation.is_some(),
        limit: limit(p, row.kind, policy),
    })
}

/// The wire form for `p`; the payload is masked for every caller (a new
/// IBAN is revealed, if at all, through the vendor once executed).
/// `can_decide` is the rules' answer for `p` about this request as it
/// stands, decided in person.
pub fn to_api<'a>(
    row: &ApprovalRow,
    ds: impl IntoIterator<Item = &'a DecisionRow> + Clone,
    p: &Principal,
    policy: &ApprovalPolicy,
) -> ApiResult<Approval> {
    let mut payload = row.payload.clone();
    if let Some(iban) = payload.get("iban").and_then(|v| v.as_str()).map(str::to_owned) {
        payload["iban"] = serde_json::to_value(Masked {
            masked: masking::iban(&iban),
            field: "iban".into(),
            revealable: false,
        })
        .map_err(|_| ApiError::internal())?;
    }
    let can = match decider(p, row, policy) {
        None => Err(crate::kernel::Refusal::new(
            ErrorCode::Forbidden,
            "Only staff take part in approvals.",
        )),
        Some(d) => {
            let given: Vec<Given> = ds.clone().into_iter().map(DecisionRow::given).collect();
            let facts = rules::Facts {
                on_behalf: rules::OnBehalf::No,
                payout_hold: row.payout_held,
                now: OffsetDateTime::now_utc(),
            };
            rules::can_decide(&row.request(policy)?, &given, &d, &facts)
        }
    };
    Ok(Approval {
        id: ApprovalId(row.id),
        kind: row.kind,
        org_id: OrgId(row.org_id),
        target_id: row.target_id,
        amount: row.amount(),
        amount_base: row.recorded_base(),
        exchange_rate: row.exchange_rate.clone(),
        payload,
        reason: row.reason.clone(),
        status: row.status(),
        version: row.version,
        requester_id: StaffId(row.requester_staff_id),
        policy_version: row.policy_version.clone(),
        required: row.required.0.clone(),
        decisions: ds
            .into_iter()
            .map(|d| DecisionRecord {
                approver_id: StaffId(d.approver_staff_id),
                approver_name: d.approver_name.clone(),
                on_behalf_of: d.on_behalf_of_staff_id.map(StaffId),
                decision: d.decision,
                comment: d.comment.clone(),
                version_seen: d.version_seen,
                current: d.version_seen == row.version,
                at: d.created_at,
            })
            .collect(),
        expires_at: row.expires_at,
        created_at: row.created_at,
        execution_result: row.execution_result.clone(),
        can_decide: can.is_ok(),
        cannot_decide: can.err().map(|r| CannotDecide {
            code: r.code,
            message: r.message,
        }),
    })
}

// ---------- validation ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankChange {
    pub iban: String,
    pub bank_name: String,
    pub account_holder: String,
}

/// Checks amount and payload for the kind; returns the payload to store.
pub fn validate(
    kind: ApprovalKind,
    amount: &Option<Money>,
    payload: &serde_json::Value,
) -> ApiResult<serde_json::Value> {
    match (kind.has_amount(), amount) {
        (true, None) => return Err(ApiError::invalid(format!("A {} needs an amount.", kind.as_str()))),
        (true, Some(m)) if m.amount_minor <= 0 => {
            return Err(ApiError::invalid("The amount must be greater than zero."))
        }
        (false, Some(_)) => return Err(ApiError::invalid(format!("A {} has no amount.", kind.as_str()))),
        _ => {}
    }
    if kind == ApprovalKind::VendorBankChange {
        let b: BankChange =
            serde_json::from_value(payload.clone()).map_err(|e| ApiError::invalid(format!("payload: {e}")))?;
        use iban::IbanLike;
        let iban: iban::Iban = b
            .iban
            .parse()
            .map_err(|_| ApiError::invalid("payload.iban is not a valid IBAN."))?;
        if b.bank_name.trim().is_empty()
            || b.account_holder.trim().is_empty()
            || b.bank_name.len() > 200
            || b.account_holder.len() > 200
        {
            return Err(ApiError::invalid(
                "payload.bank_name and payload.account_holder are required (at most 200 characters).",
            ));
        }
        return Ok(serde_json::json!({
            "iban": iban.electronic_str(),
            "bank_name": b.bank_name.trim(),
            "account_holder": b.account_holder.trim(),
        }));
    }
    match payload {
        serde_json::Value::Null => Ok(serde_json::json!({})),
        serde_json::Value::Object(m) if m.is_empty() => Ok(serde_json::json!({})),
        _ => Err(ApiError::invalid(format!("A {} takes no payload.", kind.as_str()))),
    }
}

/// The target must exist in the org (and, for money, match its currency).
pub async fn check_target(
    tx: &mut Tx,
    kind: ApprovalKind,
    org_id: Uuid,
    target: Uuid,
    amount: &Option<Money>,
) -> ApiResult<()> {
    match kind {
        ApprovalKind::Refund | ApprovalKind::CreditNote => {
            let inv: Option<(i64, String)> =
                sqlx::query_as("SELECT amount_minor, currency FROM invoices WHERE id = $1 AND org_id = $2")
                    .bind(target)
                    .bind(org_id)
                    .fetch_optional(&mut **tx)
                    .await?;
            let (total, currency) = inv.ok_or_else(ApiError::not_found)?;
            if let Some(m) = amount {
                if m.currency.code() != currency {
                    return Err(ApiError::invalid(format!("The invoice is in {currency}.")));
                }
                if m.amount_minor > total {
                    return Err(ApiError::invalid("The amount exceeds the invoice total."));
                }
            }
        }
        ApprovalKind::VendorBankChange | ApprovalKind::PayoutRelease => {
            let v: Option<(Uuid,)> = sqlx::query_as("SELECT id FROM vendors WHERE id = $1 AND org_id = $2")
                .bind(target)
                .bind(org_id)
                .fetch_optional(&mut **tx)
                .await?;
            v.ok_or_else(ApiError::not_found)?;
        }
        ApprovalKind::DataExport => {
            if target != org_id {
                return Err(ApiError::invalid(
                    "A data_export targets its org: target_id must equal org_id.",
                ));
            }
        }
    }
    Ok(())
}

/// Is a bank change pending for the vendor? While it is, no payout leaves
/// for it.
pub async fn payout_held(tx: &mut Tx, vendor: Uuid) -> ApiResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM approval_requests WHERE kind = 'vendor_bank_change' AND target_id = $1 \
           AND status = 'pending' AND expires_at > now())",
    )
    .bind(vendor)
    .fetch_one(&mut **tx)
    .await?)
}

/// The delegator, if `delegator` has an active delegation to `me` now.
pub async fn active_delegator(
    conn: &mut sqlx::PgConnection,
    delegator: Uuid,
    me: Option<Uuid>,
) -> ApiResult<Option<Delegator>> {
    let found: Option<(Uuid, Uuid, Vec<String>)> = sqlx::query_as(
        "SELECT s.id, s.person_id, s.roles FROM delegations d JOIN staff s ON s.id = d.delegator_staff_id \
         WHERE d.delegator_staff_id = $1 AND d.delegate_staff_id = $2 AND d.revoked_at IS NULL \
           AND now() >= d.starts_at AND now() < d.ends_at AND s.active LIMIT 1",
    )
    .bind(delegator)
    .bind(me)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|(staff_id, person, roles)| Delegator {
        staff_id,
        person,
        roles,
    }))
}

/// What cancelling a request sets, whoever cancels: its requester
/// (`POST /v1/approvals/{id}/cancel`), or the server when the requester's
/// account is deactivated; both read alike afterwards.
const CANCELLED: &str = "status = 'cancelled', updated_at = now()";

/// Cancels request `id` (pending, locked and checked by the caller).
pub async fn cancel(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(&format!("UPDATE approval_requests SET {CANCELLED} WHERE id = $1"))
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Cancels every pending request made through the staff account
/// `staff_id`, across tenants (its account was just deactivated), in the
/// caller's transaction: their (id, org). One already past its expiry is
/// left to be marked expired, as it would be for its requester.
pub async fn cancel_requests_of(tx: &mut sqlx::PgConnection, staff_id: Uuid) -> ApiResult<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(&format!(
        "UPDATE approval_requests SET {CANCELLED} \
         WHERE requester_staff_id = $1 AND status = 'pending' AND expires_at > now() RETURNING id, org_id"
    ))
    .bind(staff_id)
    .fetch_all(&mut *tx)
    .await?)
}

/// Marks a request expired.
pub async fn mark_expired(tx: &mut Tx, id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE approval_requests SET status = 'expired', updated_at = now() WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The approved action's effect when it is more than a payment, on the
/// deciding transaction's connection: its result.
pub async fn execute(conn: &mut sqlx::PgConnection, row: &ApprovalRow) -> ApiResult<serde_json::Value> {
    match row.kind {
        // Written with the decision instead (engine::payment_of).
        ApprovalKind::Refund | ApprovalKind::CreditNote | ApprovalKind::PayoutRelease => Err(ApiError::internal()),
        ApprovalKind::VendorBankChange => {
            let b: BankChange = serde_json::from_value(row.payload.clone()).map_err(|_| ApiError::internal())?;
            let old: Option<(Uuid,)> = sqlx::query_as(
                "UPDATE vendor_bank_accounts SET valid_to = now() WHERE vendor_id = $1 AND valid_to IS NULL RETURNING \
                    id",
            )
            .bind(row.target_id)
            .fetch_optional(&mut *conn)
            .await?;
            let account = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO vendor_bank_accounts (id, org_id, region, vendor_id, iban, bank_name, account_holder) \
                 SELECT $1, org_id, region, id, $2, $3, $4 FROM vendors WHERE id = $5",
            )
            .bind(account)
            .bind(&b.iban)
            .bind(&b.bank_name)
            .bind(&b.account_holder)
            .bind(row.target_id)
            .execute(&mut *conn)
            .await?;
            Ok(serde_json::json!({ "bank_account_id": account, "previous_bank_account_id": old.map(|o| o.0) }))
        }
        ApprovalKind::DataExport => {
            let export = Uuid::new_v4();
            let content = org_export(conn, row.org_id).await?;
            let expires = OffsetDateTime::now_utc() + Duration::hours(24);
            sqlx::query(
                "INSERT INTO data_exports (id, org_id, region, approval_id, requester_staff_id, content, expires_at) \
                 SELECT $1, id, region, $2, $3, $4, $5 FROM orgs WHERE id = $6",
            )
            .bind(export)
            .bind(row.id)
            .bind(row.requester_staff_id)
            .bind(&content)
            .bind(expires)
            .bind(row.org_id)
            .execute(&mut *conn)
            .await?;
            Ok(serde_json::json!({ "export_id": export, "expires_at": expires.unix_timestamp() }))
        }
    }
}

/// The org's records, masked as for someone with no reveal permission.
async fn org_export(conn: &mut sqlx::PgConnection, org: Uuid) -> ApiResult<serde_json::Value> {
    let nobody = Principal::service(false);
    let users: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM customer_users WHERE org_id = $1 ORDER BY name, id"
    ))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let invoices: Vec<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE org_id = $1 ORDER BY issued_at, id"
    ))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    let vendors: Vec<VendorRow> = sqlx::query_as(&format!("{VENDOR_SELECT} WHERE v.org_id = $1 ORDER BY v.name, v.id"))
        .bind(org)
        .fetch_all(&mut *conn)
        .await?;
    let payments: Vec<PaymentRow> = sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE org_id = $1 ORDER BY created_at, id"
    ))
    .bind(org)
    .fetch_all(&mut *conn)
    .await?;
    Ok(serde_json::json!({
        "users": users.iter().map(|u| u.to_api(&nobody)).collect::<ApiResult<Vec<_>>>()?,
        "invoices": invoices.iter().map(|i| i.to_api()).collect::<ApiResult<Vec<_>>>()?,
        "vendors": vendors.iter().map(|v| v.to_api(&nobody)).collect::<ApiResult<Vec<_>>>()?,
        "payments": payments.iter().map(|p| p.to_api()).collect::<ApiResult<Vec<_>>>()?,
    }))
}

/// Marks every pending request past its expiry expired, across tenants (the
/// server's own work): their (id, org).
pub async fn expire_overdue(pool: &sqlx::PgPool) -> ApiResult<Vec<(Uuid, Uuid)>> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let expired = sqlx::query_as(
        "UPDATE approval_requests SET status = 'expired', updated_at = now() \
         WHERE status = 'pending' AND expires_at <= now() RETURNING id, org_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(expired)
}

/// A staff member's roles and whether the account is active (delegations
/// name their delegate by staff id; staff accounts are outside row-level
/// security).
pub async fn staff_roles(pool: &sqlx::PgPool, id: Uuid) -> ApiResult<Option<(Vec<StaffRole>, bool)>> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let found = crate::sign_in::store::staff_by_id(&mut *tx, id).await?;
    crate::kernel::db::end_read(tx);
    Ok(found.map(|s| (s.roles(), s.active)))
}

/// An out-of-office delegation (staff data, outside row-level security).
#[derive(sqlx::FromRow)]
pub struct DelegationRow {
    pub id: Uuid,
    pub delegator_staff_id: Uuid,
    pub delegate_staff_id: Uuid,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub delegator_name: String,
    pub delegate_name: String,
}

impl DelegationRow {
    /// As `me` sees it (`mine`: I gave it).
    pub fn to_api(&self, me: Uuid) -> Delegation {
        Delegation {
            mine: self.delegator_staff_id == me,
            id: self.id,
            delegator_id: StaffId(self.delegator_staff_id),
            delegator_name: self.delegator_name.clone(),
            delegate_id: StaffId(self.delegate_staff_id),
            delegate_name: self.delegate_name.clone(),
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            revoked: self.revoked_at.is_some(),
        }
    }
}

/// Also after `RETURNING`, hence the names as sub-selects rather than a join.
pub const DELEGATION_COLUMNS: &str = "id, delegator_staff_id, delegate_staff_id, starts_at, ends_at, revoked_at, \
    (SELECT display_name FROM staff WHERE id = delegator_staff_id) AS delegator_name, \
    (SELECT display_name FROM staff WHERE id = delegate_staff_id) AS delegate_name";

/// Who an approver may delegate to: every active account with a role that
/// decides approvals, other than the caller's own person (staff data,
/// outside row-level security).
pub async fn delegates_for(pool: &sqlx::PgPool, me: Uuid) -> ApiResult<Vec<(Uuid, String)>> {
    let deciding: Vec<&str> = StaffRole::ALL
        .iter()
        .filter(|r| crate::kernel::permissions::role_permissions(**r).contains(&Permission::ApprovalsDecide))
        .map(|r| r.as_str())
        .collect();
    let mut tx = crate::kernel::db::global(pool).await?;
    let rows = sqlx::query_as(
        "SELECT id, display_name FROM staff WHERE active AND roles && $2::text[] AND person_id <> (SELECT person_id \
         FROM staff WHERE id = $1) ORDER BY display_name, id",
    )
    .bind(me)
    .bind(&deciding)
    .fetch_all(&mut *tx)
    .await?;
    crate::kernel::db::end_read(tx);
    Ok(rows)
}

/// The delegations `me` gave or holds (delegations are staff data, outside
/// row-level security).
pub async fn delegations_of(pool: &sqlx::PgPool, me: Uuid) -> ApiResult<Vec<DelegationRow>> {
    let mut tx = crate::kernel::db::global(pool).await?;
    let rows = sqlx::query_as(&format!(
        "SELECT {DELEGATION_COLUMNS} FROM delegations WHERE delegator_staff_id = $1 OR delegate_staff_id = $1 \
         ORDER BY starts_at DESC"
    ))
    .bind(me)
    .fetch_all(&mut *tx)
    .await?;
    crate::kernel::db::end_read(tx);
    Ok(rows)
}

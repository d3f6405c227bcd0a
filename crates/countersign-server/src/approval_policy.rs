//! The approval policy: server configuration, versioned; the version applied
//! is stored on each request. Defaults are API.md's.

use countersign_api::{ApprovalKind, Permission, Rule};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApprovalPolicy {
    /// Stored on every request; change it whenever the rules change.
    pub version: String,
    pub expires_after_hours: i64,
    /// For refund, credit_note and payout_release: the rule of the highest
    /// tier whose `from_minor` the amount reaches.
    pub amount_tiers: Vec<Tier>,
    pub vendor_bank_change: Tier,
    pub data_export: Tier,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(default)]
    pub from_minor: i64,
    pub approvals: u32,
    #[serde(default)]
    pub one_of_role: Option<String>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            version: "2026-11-default".into(),
            expires_after_hours: 72,
            amount_tiers: vec![
                Tier { from_minor: 0, approvals: 1, one_of_role: None },
                Tier { from_minor: 1_000_00, approvals: 2, one_of_role: None },
                Tier { from_minor: 25_000_00, approvals: 2, one_of_role: Some("finance_controller".into()) },
            ],
            vendor_bank_change: Tier { from_minor: 0, approvals: 2, one_of_role: Some("finance_controller".into()) },
            data_export: Tier { from_minor: 0, approvals: 1, one_of_role: None },
        }
    }
}

impl ApprovalPolicy {
    /// The permission every approver of `kind` needs.
    pub fn permission(kind: ApprovalKind) -> Permission {
        match kind {
            ApprovalKind::DataExport => Permission::AuditExport,
            _ => Permission::ApprovalsDecide,
        }
    }

    pub fn rule(&self, kind: ApprovalKind, amount_minor: Option<i64>) -> Rule {
        let tier = match kind {
            ApprovalKind::VendorBankChange => &self.vendor_bank_change,
            ApprovalKind::DataExport => &self.data_export,
            _ => {
                let a = amount_minor.unwrap_or(0);
                self.amount_tiers.iter().filter(|t| a >= t.from_minor).max_by_key(|t| t.from_minor).unwrap_or(&self.amount_tiers[0])
            }
        };
        let permission = Self::permission(kind).as_str().to_owned();
        let who = if tier.approvals == 1 { "1 approver".to_owned() } else { format!("{} distinct approvers", tier.approvals) };
        let description = match &tier.one_of_role {
            Some(r) => format!("{who} with {permission}, at least one {r}"),
            None => format!("{who} with {permission}"),
        };
        Rule { approvals: tier.approvals, one_of_role: tier.one_of_role.clone(), permission, description }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tiers_match_api_md_at_every_edge() {
        let p = ApprovalPolicy::default();
        let r = |a| p.rule(ApprovalKind::Refund, Some(a));
        assert_eq!((r(99_999).approvals, r(99_999).one_of_role), (1, None));
        assert_eq!((r(100_000).approvals, r(100_000).one_of_role), (2, None));
        assert_eq!((r(2_499_999).approvals, r(2_499_999).one_of_role), (2, None));
        assert_eq!((r(2_500_000).approvals, r(2_500_000).one_of_role.as_deref()), (2, Some("finance_controller")));
        assert_eq!(p.rule(ApprovalKind::PayoutRelease, Some(5)).approvals, 1);
        let b = p.rule(ApprovalKind::VendorBankChange, None);
        assert_eq!((b.approvals, b.one_of_role.as_deref()), (2, Some("finance_controller")));
        assert_eq!(p.rule(ApprovalKind::DataExport, None).permission, "audit:export");
    }
}

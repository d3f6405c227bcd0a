//! The approval policy: server configuration, versioned; the version applied
//! is stored on each request. Defaults are API.md's.

use countersign_api::{ApprovalKind, Currency, Money, Rule, StaffRole};
use serde::Deserialize;
use std::collections::BTreeMap;

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
    /// Thresholds and approvers' limits are in this currency (API.md,
    /// Approvals): every amount is compared as `amount_base`.
    pub base_currency: String,
    /// Units of the base currency per unit of another, as a decimal string
    /// ("1.17"). A request records the rate at creation; a currency with no
    /// rate here is refused.
    pub exchange_rates: BTreeMap<String, String>,
}

/// An amount converted into the base currency, with the rate used.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseAmount {
    /// The decimal rate as configured ("1" for the base currency itself).
    pub rate: String,
    pub base: Money,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(default)]
    pub from_minor: i64,
    pub approvals: u32,
    #[serde(default)]
    /// Parsed when the configuration loads: an unknown role refuses to start.
    pub one_of_role: Option<StaffRole>,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            version: "2026-11-default".into(),
            expires_after_hours: 72,
            amount_tiers: vec![
                Tier {
                    from_minor: 0,
                    approvals: 1,
                    one_of_role: None,
                },
                Tier {
                    from_minor: 100_000, // 1,000.00
                    approvals: 2,
                    one_of_role: None,
                },
                Tier {
                    from_minor: 2_500_000, // 25,000.00
                    approvals: 2,
                    one_of_role: Some(StaffRole::FinanceController),
                },
            ],
            vendor_bank_change: Tier {
                from_minor: 0,
                approvals: 2,
                one_of_role: Some(StaffRole::FinanceController),
            },
            data_export: Tier {
                from_minor: 0,
                approvals: 1,
                one_of_role: None,
            },
            base_currency: "EUR".into(),
            // Demo rates; a deployment configures (and updates) its own.
            exchange_rates: [("GBP", "1.17"), ("USD", "0.92")]
                .into_iter()
                .map(|(c, r)| (c.to_owned(), r.to_owned()))
                .collect(),
        }
    }
}

impl ApprovalPolicy {
    pub fn base(&self) -> Result<Currency, String> {
        Currency::parse(&self.base_currency).map_err(|_| {
            format!(
                "approval_policy.base_currency {:?} is not a currency code",
                self.base_currency
            )
        })
    }

    /// Checks the currencies and rates once, at start.
    pub fn validate(&self) -> Result<(), String> {
        self.base()?;
        for (code, rate) in &self.exchange_rates {
            Currency::parse(code)
                .map_err(|_| format!("approval_policy.exchange_rates: {code:?} is not a currency code"))?;
            parse_rate(rate)
                .ok_or_else(|| format!("approval_policy.exchange_rates.{code}: {rate:?} is not a positive decimal"))?;
        }
        Ok(())
    }

    /// `m` in the base currency at today's configured rate.
    pub fn to_base(&self, m: Money) -> Result<BaseAmount, String> {
        let base = self.base()?;
        if m.currency == base {
            return Ok(BaseAmount {
                rate: "1".into(),
                base: m,
            });
        }
        let rate = self
            .exchange_rates
            .get(m.currency.code())
            .ok_or_else(|| format!("No exchange rate is configured for {}.", m.currency.code()))?;
        convert(m, rate, base)
            .map(|base| BaseAmount {
                rate: rate.clone(),
                base,
            })
            .ok_or_else(|| format!("No usable exchange rate is configured for {}.", m.currency.code()))
    }

    /// `m` in the base currency at a rate recorded earlier (an amendment).
    pub fn to_base_at(&self, m: Money, rate: &str) -> Result<BaseAmount, String> {
        let base = self.base()?;
        convert(m, rate, base)
            .map(|b| BaseAmount {
                rate: rate.to_owned(),
                base: b,
            })
            .ok_or_else(|| "The recorded exchange rate is not usable.".to_owned())
    }

    pub fn rule(&self, kind: ApprovalKind, amount_minor: Option<i64>) -> Rule {
        let tier = match kind {
            ApprovalKind::VendorBankChange => &self.vendor_bank_change,
            ApprovalKind::DataExport => &self.data_export,
            _ => {
                let a = amount_minor.unwrap_or(0);
                self.amount_tiers
                    .iter()
                    .filter(|t| a >= t.from_minor)
                    .max_by_key(|t| t.from_minor)
                    .unwrap_or(&self.amount_tiers[0])
            }
        };
        let permission = super::rules::permission(kind).as_str().to_owned();
        let who = if tier.approvals == 1 {
            "1 approver".to_owned()
        } else {
            format!("{} distinct approvers", tier.approvals)
        };
        let description = match &tier.one_of_role {
            Some(r) => format!("{who} with {permission}, at least one {}", r.as_str()),
            None => format!("{who} with {permission}"),
        };
        Rule {
            approvals: tier.approvals,
            one_of_role: tier.one_of_role.map(|r| r.as_str().to_owned()),
            permission,
            description,
        }
    }
}

/// "1.17" → (117, 100): a positive decimal as an exact fraction.
fn parse_rate(rate: &str) -> Option<(i128, i128)> {
    let (whole, frac) = rate.trim().split_once('.').unwrap_or((rate.trim(), ""));
    if whole.is_empty() || frac.len() > 12 || !whole.chars().chain(frac.chars()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let scale = 10i128.checked_pow(frac.len() as u32)?;
    let n: i128 = format!("{whole}{frac}").parse().ok()?;
    (n > 0).then_some((n, scale))
}

/// Exact integer conversion, rounded half away from zero to the base
/// currency's minor unit (JPY has none, EUR two, …).
fn convert(m: Money, rate: &str, base: Currency) -> Option<Money> {
    let (num, den) = parse_rate(rate)?;
    let up = 10i128.pow(base.minor_digits() as u32);
    let down = 10i128.pow(m.currency.minor_digits() as u32);
    let top = (m.amount_minor as i128).checked_mul(num)?.checked_mul(up)?;
    let bottom = den.checked_mul(down)?;
    let rounded = (top.abs() * 2 + bottom) / (2 * bottom) * top.signum();
    i64::try_from(rounded).ok().map(|minor| Money::new(minor, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, Currency::parse(code).unwrap())
    }

    #[test]
    fn amounts_convert_exactly_into_the_base_currency() {
        let p = ApprovalPolicy::default();
        assert_eq!(
            p.to_base(money(999_999, "GBP")).unwrap().base,
            money(1_169_999, "EUR"),
            "9,999.99 GBP × 1.17 = 11,699.99 EUR"
        );
        assert_eq!(p.to_base(money(854_700, "GBP")).unwrap().base, money(999_999, "EUR"));
        assert_eq!(
            p.to_base(money(1, "GBP")).unwrap().base,
            money(1, "EUR"),
            "0.0117 rounds to 0.01"
        );
        assert_eq!(
            p.to_base(money(5_000, "EUR")).unwrap(),
            BaseAmount {
                rate: "1".into(),
                base: money(5_000, "EUR")
            }
        );
        assert!(p.to_base(money(100, "CHF")).unwrap_err().contains("CHF"));
        let mut yen = ApprovalPolicy::default();
        yen.exchange_rates.insert("JPY".into(), "0.0061".into());
        assert_eq!(
            yen.to_base(money(10_000, "JPY")).unwrap().base,
            money(6_100, "EUR"),
            "10,000 JPY (no minor unit) = 61.00 EUR"
        );
        assert_eq!(
            p.to_base_at(money(200_000, "USD"), "0.9").unwrap().base,
            money(180_000, "EUR")
        );
    }

    #[test]
    fn rates_must_be_positive_decimals_of_known_currencies() {
        assert_eq!(parse_rate("1.17"), Some((117, 100)));
        for bad in ["", "0", "0.00", "-1", "1,2", "abc", "1.2.3", " "] {
            assert_eq!(parse_rate(bad), None, "{bad:?}");
        }
        let mut p = ApprovalPolicy::default();
        assert!(p.validate().is_ok());
        p.exchange_rates.insert("XXQ".into(), "1".into());
        assert!(p.validate().is_err());
        let mut p = ApprovalPolicy::default();
        p.exchange_rates.insert("CHF".into(), "zero".into());
        assert!(p.validate().unwrap_err().contains("CHF"));
    }

    #[test]
    fn default_tiers_match_api_md_at_every_edge() {
        let p = ApprovalPolicy::default();
        let r = |a| p.rule(ApprovalKind::Refund, Some(a));
        assert_eq!((r(99_999).approvals, r(99_999).one_of_role), (1, None));
        assert_eq!((r(100_000).approvals, r(100_000).one_of_role), (2, None));
        assert_eq!((r(2_499_999).approvals, r(2_499_999).one_of_role), (2, None));
        assert_eq!(
            (r(2_500_000).approvals, r(2_500_000).one_of_role.as_deref()),
            (2, Some("finance_controller"))
        );
        assert_eq!(p.rule(ApprovalKind::PayoutRelease, Some(5)).approvals, 1);
        let b = p.rule(ApprovalKind::VendorBankChange, None);
        assert_eq!((b.approvals, b.one_of_role.as_deref()), (2, Some("finance_controller")));
        assert_eq!(p.rule(ApprovalKind::DataExport, None).permission, "audit:export");
    }

    /// Issue 20, point 3: a role in a tier parses when the configuration
    /// loads; an unknown one is an error there, never a rule nobody meets.
    #[test]
    fn tier_roles_parse_at_load() {
        let ok: Tier = toml::from_str("approvals = 2\none_of_role = \"finance_controller\"").unwrap();
        assert_eq!(ok.one_of_role, Some(StaffRole::FinanceController));
        let e = toml::from_str::<Tier>("approvals = 2\none_of_role = \"ceo\"").unwrap_err();
        assert!(e.to_string().contains("ceo"), "{e}");
    }
}

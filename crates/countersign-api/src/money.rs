//! Money as integer minor units with an ISO 4217 currency; parsed once.

use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    #[error("amount must not be negative")]
    Negative,
}

/// The currencies the platform settles in, with their minor-unit exponent.
const CURRENCIES: &[(&str, u8)] = &[
    ("EUR", 2),
    ("USD", 2),
    ("GBP", 2),
    ("CHF", 2),
    ("JPY", 0),
    ("SEK", 2),
    ("PLN", 2),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
#[serde(into = "String")]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "EUR"))]
pub struct Currency(&'static str);

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(c, _)| Currency(c))
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }
    pub fn code(self) -> &'static str {
        self.0
    }
    pub fn minor_digits(self) -> u8 {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == self.0)
            .map(|(_, d)| *d)
            .unwrap_or(2)
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse(&s)
    }
}
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0.to_owned()
    }
}

/// `{ "amount_minor": 123456, "currency": "EUR" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount_minor: i64, currency: Currency) -> Money {
        Money { amount_minor, currency }
    }
    /// A human form like `1,234.56 EUR` for UI and logs.
    pub fn display(&self) -> String {
        let digits = self.currency.minor_digits() as u32;
        let scale = 10i128.pow(digits);
        let v = self.amount_minor as i128;
        let (sign, v) = if v < 0 { ("-", -v) } else { ("", v) };
        let whole = (v / scale).to_string();
        let mut grouped = String::new();
        for (i, ch) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        if digits == 0 {
            format!("{sign}{grouped} {}", self.currency.code())
        } else {
            format!(
                "{sign}{grouped}.{:0width$} {}",
                v % scale,
                self.currency.code(),
                width = digits as usize
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_currency_is_refused_on_parse() {
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":1,"currency":"XXX"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":1,"currency":"eur"}"#).is_err());
        let m: Money = serde_json::from_str(r#"{"amount_minor":123456,"currency":"EUR"}"#).unwrap();
        assert_eq!(m.display(), "1,234.56 EUR");
    }

    #[test]
    fn amounts_above_i64_do_not_parse() {
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":9223372036854775808,"currency":"EUR"}"#).is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount_minor":1.5,"currency":"EUR"}"#).is_err());
    }

    #[test]
    fn display_handles_zero_digit_currencies_and_negatives() {
        assert_eq!(Money::new(-5, Currency::parse("EUR").unwrap()).display(), "-0.05 EUR");
        assert_eq!(
            Money::new(1000000, Currency::parse("JPY").unwrap()).display(),
            "1,000,000 JPY"
        );
    }
}

//! Server-side masking (API.md "Records"). The display forms keep just enough
//! to recognise a value, never enough to use it.

use crate::kernel::Principal;
use countersign_api::masked::field_class;
use countersign_api::Masked;

const DOT: char = '•';

pub fn email(v: &str) -> String {
    match v.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `•••• ••12`: the last two digits only.
pub fn phone(v: &str) -> String {
    let digits: Vec<char> = v.chars().filter(|c| c.is_ascii_digit()).collect();
    let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
    format!("{d}{d}{d}{d} {d}{d}{tail}", d = DOT)
}

/// `DE89 •••• •••• •••• ••30 00`: country and check digits, then the last 4.
pub fn iban(v: &str) -> String {
    let compact: Vec<char> = v.chars().filter(|c| !c.is_whitespace()).collect();
    let n = compact.len();
    let shown: Vec<char> = compact
        .iter()
        .enumerate()
        .map(|(i, c)| if i < 4 || i + 4 >= n { *c } else { DOT })
        .collect();
    shown
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Last four characters of the tax id.
pub fn tax_id(v: &str) -> String {
    let chars: Vec<char> = v.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{d}{d}{d}{d}{tail}", d = DOT)
}

/// May `p` reveal `field` of a record it can already see?
pub fn revealable(p: &Principal, field: &str) -> bool {
    field_class(field).is_some_and(|c| p.can(c.permission()))
}

/// The masked wire form of `field`, whose display form is `display`.
pub fn masked(p: &Principal, field: &str, display: String) -> Masked {
    Masked {
        masked: display,
        field: field.to_owned(),
        revealable: revealable(p, field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_forms_match_the_contract() {
        assert_eq!(email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(phone("+49 30 1234 5612"), "•••• ••12");
        assert_eq!(iban("DE89370400440532013000"), "DE89 •••• •••• •••• ••30 00");
        assert_eq!(iban("DE89 3704 0044 0532 0130 00"), "DE89 •••• •••• •••• ••30 00");
        assert_eq!(tax_id("DE123456789"), "••••6789");
    }

    #[test]
    fn masks_never_contain_the_hidden_part() {
        let v = "DE89370400440532013000";
        let m = iban(v);
        assert!(!m.contains("3704") && !m.contains("0532"));
        assert!(!email("secretname@x.io").contains("secretname"));
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        for v in ["", "@", "a", "1", "€€€", "@@@"] {
            let _ = (email(v), phone(v), iban(v), tax_id(v));
        }
    }
}

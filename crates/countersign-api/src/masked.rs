//! Sensitive fields leave the server in this shape unless revealed one at a time,
//! so a client can never mistake a mask for a value.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Masked {
    /// The display form, e.g. `j***@example.com`; never the value.
    pub masked: String,
    /// The field name to pass to `POST /v1/reveals`.
    pub field: String,
    /// Whether the caller may reveal it (permission and scope).
    pub revealable: bool,
}

/// Field classes decide which permission reveals a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldClass {
    /// e-mail, phone, street address: `pii:reveal`.
    Contact,
    /// IBAN, tax id: `finance:reveal`.
    Financial,
}

impl FieldClass {
    /// The permission that reveals a field of this class.
    pub fn permission(self) -> crate::Permission {
        match self {
            FieldClass::Contact => crate::Permission::PiiReveal,
            FieldClass::Financial => crate::Permission::FinanceReveal,
        }
    }
}

/// Sensitive field names and their class.
pub const SENSITIVE_FIELDS: &[(&str, FieldClass)] = &[
    ("email", FieldClass::Contact),
    ("phone", FieldClass::Contact),
    ("address", FieldClass::Contact),
    ("iban", FieldClass::Financial),
    ("tax_id", FieldClass::Financial),
];

pub fn field_class(field: &str) -> Option<FieldClass> {
    SENSITIVE_FIELDS.iter().find(|(f, _)| *f == field).map(|(_, c)| *c)
}

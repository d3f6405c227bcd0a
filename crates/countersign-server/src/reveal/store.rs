//! Where each revealable field's value is.

use countersign_api::RecordType;

/// Which fields of which record types are revealable, and the SQL that reads
/// one (row-level security applies: out of scope is "not found").
pub fn source(record_type: RecordType, field: &str) -> Option<&'static str> {
    Some(match (record_type, field) {
        (RecordType::User, "email") => "SELECT org_id, email FROM customer_users WHERE id = $1",
        (RecordType::User, "phone") => "SELECT org_id, phone FROM customer_users WHERE id = $1",
        (RecordType::User, "address") => "SELECT org_id, street || ', ' || city FROM customer_users WHERE id = $1",
        (RecordType::Vendor, "tax_id") => "SELECT org_id, tax_id FROM vendors WHERE id = $1",
        (RecordType::Vendor, "address") => "SELECT org_id, street || ', ' || city FROM vendors WHERE id = $1",
        (RecordType::Vendor, "iban") => {
            "SELECT org_id, iban FROM vendor_bank_accounts WHERE vendor_id = $1 AND valid_to IS NULL"
        }
        _ => return None,
    })
}

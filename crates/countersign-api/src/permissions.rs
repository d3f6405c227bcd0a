//! Permission strings `resource:action`. Which role grants which permission is
//! server policy; the names are contract, so they live here.

use serde::{Deserialize, Serialize};

/// The OpenAPI schema of an enum serialized as the given strings. By hand:
/// utoipa's derive does not see serde's renames through a `macro_rules!`
/// and documented the Rust names instead of the strings on the wire.
#[macro_export]
#[doc(hidden)]
macro_rules! wire_string_schema {
    ($ty:ident, $($text:literal),*) => {
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text,)*]))
                    .into()
            }
        }
        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $ty {}
    };
}

macro_rules! permissions {
    ($($variant:ident = $text:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum Permission { $(#[serde(rename = $text)] $variant,)* }

        crate::wire_string_schema!(Permission, $($text),*);

        impl Permission {
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];
            pub fn as_str(self) -> &'static str { match self { $(Permission::$variant => $text,)* } }
            pub fn parse(s: &str) -> Option<Permission> {
                Permission::ALL.iter().copied().find(|p| p.as_str() == s)
            }
        }
    };
}

permissions! {
    OrgsRead = "orgs:read";
    UsersRead = "users:read";
    InvoicesRead = "invoices:read";
    VendorsRead = "vendors:read";
    PaymentsRead = "payments:read";
    PiiReveal = "pii:reveal";
    FinanceReveal = "finance:reveal";
    ApprovalsRequest = "approvals:request";
    ApprovalsDecide = "approvals:decide";
    ImpersonationStart = "impersonation:start";
    ImpersonationApprove = "impersonation:approve";
    ImpersonationReview = "impersonation:review";
    AuditRead = "audit:read";
    AuditExport = "audit:export";
    StaffRead = "staff:read";
    StaffManage = "staff:manage";
    SupportAccessRead = "support_access:read";
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

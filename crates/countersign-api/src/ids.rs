//! Typed ids: an `OrgId` can never be passed where an `InvoiceId` is expected.

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string"))]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self { $name(uuid::Uuid::new_v4()) }
            pub fn parse(s: &str) -> Option<Self> { uuid::Uuid::parse_str(s).ok().map($name) }
        }
        impl Default for $name { fn default() -> Self { Self::new() } }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
        impl From<uuid::Uuid> for $name { fn from(u: uuid::Uuid) -> Self { $name(u) } }
    )*};
}

id_type!(
    OrgId,
    UserId,
    InvoiceId,
    VendorId,
    PaymentId,
    StaffId,
    ApprovalId,
    ImpersonationId
);

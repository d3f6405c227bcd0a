//! API tests against a real PostgreSQL and the real dev identity provider.
mod helpers;

mod impersonation;

mod approvals;
mod audit;
mod auth;
mod can_decide;
mod errors;
mod issuers;
mod notifications;
mod onboarding;
mod ops;
mod records;
mod reveals;
mod security_currency;
mod security_dos;
mod security_existence;
mod security_idempotency;
mod security_input;
mod security_misc;
mod security_privileges;
mod security_revocation;
mod seed;
mod staff;
mod sync;
mod tenancy;
mod updates;

//! Approvals (API.md "Approvals"; DESIGN.md invariant 3): requests for
//! refunds, credit notes, bank changes, payouts and data exports, decided by
//! other people than the requester under the approval policy.
//!
//! - `rules`: deciding, as a pure function (check order, outcome, `can_decide`);
//! - `policy`: the configured policy (tiers, currencies), pure;
//! - `store`: rows and SQL, parsed into the rules' types;
//! - `engine`: decisions in batches (group commit), performance machinery;
//! - `http`: the handlers; `delegations`: out-of-office delegation;
//!   `sweep`: the scheduled expiry.

pub mod delegations;
pub mod engine;
pub mod http;
pub mod policy;
pub mod rules;
pub mod store;
pub mod sweep;

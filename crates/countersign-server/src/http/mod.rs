//! What every handler shares — problem rendering (`problem`), strict input
//! (`extract`), the audit context and middleware (`context`, `audit`),
//! Idempotency-Key (`idempotency`), the oldest app served (`client_version`) —
//! and the one route table (`routes`), with the operational endpoints (`ops`)
//! and the desktop app's updates (`updates`).

pub mod audit;
pub mod client_version;
pub mod context;
pub mod extract;
pub mod idempotency;
pub mod ops;
pub mod problem;
pub mod routes;
pub mod updates;

//! The Countersign platform API server. See `shared/DESIGN.md` for the
//! security invariants every module here upholds.

pub mod approve;
pub mod audit;
pub mod auditlog;
pub mod auth;
pub mod batch;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod impersonate;
pub mod kernel;
pub mod masking;
pub mod policy;
pub mod principal;
pub mod ratelimit;
pub mod routes;
pub mod seed;
pub mod startup;
pub mod state;
pub mod telemetry;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

//! The Countersign platform API server. See `shared/DESIGN.md` for the
//! security invariants every module here upholds, and the README's map for
//! the layout: a `kernel` every verb shares; one module per verb
//! (`sign_in`, `sync`, `records`, `reveal`, `approve`, `impersonate`,
//! `audit`, `staff_admin`, `notify`), each with its pure `rules`, its SQL
//! (`store`) and its handlers (`http`); `http` for the route table and
//! what every handler shares; the process around them (`config`,
//! `startup`, `state`, `telemetry`, `cli`, `seed`, `batch`).

pub mod approve;
pub mod audit;
pub mod batch;
pub mod cli;
pub mod config;
pub mod http;
pub mod impersonate;
pub mod kernel;
pub mod notify;
pub mod records;
pub mod reveal;
pub mod seed;
pub mod sign_in;
pub mod staff_admin;
pub mod startup;
pub mod state;
pub mod sync;
pub mod telemetry;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

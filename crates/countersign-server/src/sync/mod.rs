//! The sync feed (API.md "Sync"): which record types a caller reads and
//! what a cursor is worth (`rules`), the page's statement (`store`), the
//! handler (`http`), the settled watermark shared by concurrent pages
//! (`watermark`).

pub mod http;
pub mod rules;
pub mod store;
pub mod watermark;

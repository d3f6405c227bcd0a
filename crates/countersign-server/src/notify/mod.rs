//! The notification stream (API.md "Notifications").

pub mod http;

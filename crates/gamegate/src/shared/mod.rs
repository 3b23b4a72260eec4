//! Building blocks that the running service and the operator commands both
//! use. This room depends on no other room of the crate.

pub mod certificate;
pub mod checklist;
pub mod keys;

/// `Strict-Transport-Security` on a TLS listener and in the rendered nginx: two years, Mozilla's
/// recommendation (<https://infosec.mozilla.org/guidelines/web_security#http-strict-transport-security>)
/// and what SSL Labs grades A+.
pub const HSTS: &str = "max-age=63072000";
pub mod atomic_file;
pub mod backup_files;
pub mod operator_db;
pub mod timefmt;

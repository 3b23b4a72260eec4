//! gamegate: registration, status and statistics backend of an online game.
//!
//! The binary (`main.rs`) only parses the command line; everything else is
//! here so the integration tests start exactly what production runs.

pub mod anomaly_cache;
pub mod backup;
pub mod ban_cmd;
pub mod battles_cmd;
pub mod cli;
pub mod config;
pub mod descriptors;
pub mod doctor;
pub mod edge;
pub mod hashing;
pub mod healthcheck;
pub mod http;
pub mod keygen;
pub mod metrics;
pub mod reconciler;
pub mod registration;
pub mod render;
pub mod report_cmd;
pub mod report_view;
pub mod startup;
pub mod status_cache;
pub mod telegram;
pub mod telemetry;
pub mod timefmt;

pub use config::Config;
pub use startup::Application;

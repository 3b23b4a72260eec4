//! gamegate: registration, status and statistics backend of an online game.
//!
//! The binary (`main.rs`) only parses the command line; everything else is
//! here so the integration tests start exactly what production runs.
//!
//! Rooms (docs/ARCHITECTURE.md): [`app`] — the application layer (the
//! registration saga, the reconciler, caches, Telegram, hashing, metrics);
//! [`http`] — listeners, handlers and the edge; [`commands`] — one module per
//! operator command, imported only by [`cli`]; bootstrap at the root
//! ([`config`], [`startup`], [`telemetry`], [`descriptors`]).

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod descriptors;
pub mod http;
pub mod shared;
pub mod startup;
pub mod telemetry;

pub use config::Config;
pub use startup::Application;

//! The application layer: what runs while the process serves, independent of
//! HTTP — the registration saga (with its idempotency keys) and its reconciler, the status cache and
//! the game server's polls, the Telegram check, password hashing and the metrics registry.

pub mod anomaly_cache;
pub mod battle_import;
pub mod connector;
pub mod game_monitor;
pub mod hashing;
pub mod idempotency;
pub mod lifecycle;
pub mod metrics;
pub mod reconciler;
pub mod registration;
pub mod report_view;
pub mod status_cache;
pub mod telegram;

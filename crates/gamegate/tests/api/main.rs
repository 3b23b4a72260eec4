//! End-to-end tests: the real application over real sockets, per backend.

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod admin_auth;
mod backup;
mod conformance;
mod conformance_safety;
mod connections;
mod constants;
mod dashboard;
mod db_faults;
mod demo;
mod doctor;
mod edge;
mod errors;
mod game_link;
mod game_rules;
mod http_connector;
mod http_faults;
mod idempotency;
mod identity;
mod jail;
mod limits;
mod operator;
mod register;
mod reports;
mod saga;
mod saga_properties;
mod schema;
mod shared_limits;
mod split;
mod stats;
mod status;
mod status_game;
mod telegram;
mod transport;
mod wowcore;
mod wowcore_faults;

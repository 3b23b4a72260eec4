//! End-to-end tests: the real application over real sockets, per backend.

mod helpers;

mod dashboard;
mod db_faults;
mod demo;
mod edge;
mod errors;
mod jail;
mod register;
mod reports;
mod saga;
mod schema;
mod split;
mod stats;
mod status;
mod telegram;
mod transport;

//! AzerothCore and TrinityCore (WoW 3.3.5a): game-server connectors that
//! create accounts in the core's auth database with SRP6 verifiers
//! ([`AuthDbGameServer`], `game_server.kind = "azerothcore-db"` /
//! `"trinitycore-db"`) or through worldserver SOAP ([`SoapGameServer`],
//! `"azerothcore-soap"` / `"trinitycore-soap"`), each declaring the core's
//! account rules. docs/GAME_SERVER.md, "AzerothCore and TrinityCore".

#![warn(missing_docs)]

pub mod authdb;
pub mod core;
pub mod db_connector;
pub mod schema;
pub mod soap;
pub mod srp6;

pub use authdb::{AuthDb, AuthDbSettings};
pub use core::{Core, Via};
pub use db_connector::AuthDbGameServer;
pub use soap::fake::{FakeConfig, FakeMode, FakeWorldserver};
pub use soap::{SoapGameServer, SoapSettings};

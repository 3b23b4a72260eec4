//! Soak test with faults (docs/RELIABILITY.md): a bounded load generator
//! drives `gamegate all` — its game server an external `gamegate
//! gameserver-mock` process, its database MariaDB behind a TCP proxy — while
//! a fault schedule restarts the game server, makes it slow and drops the
//! database connections. At the end, once the reconciler has settled, the
//! answers are checked against both stores ([`verify`]) and the gamegate
//! process's memory over time against a flat line.

#![warn(missing_docs)]

pub mod faults;
pub mod load;
pub mod processes;
pub mod proxy;
pub mod report;
pub mod run;
pub mod verify;

pub use run::{SoakConfig, run};

//! Operator commands, one module each (as crates.io keeps one file per admin
//! command). Only [`crate::cli`] imports them; what a command shares with the
//! running service lives in [`crate::app`] or [`crate::http`].

pub mod accounts;
pub mod backup;
pub mod ban;
pub mod battles;
pub mod doctor;
pub mod gameserver;
pub mod healthcheck;
pub mod keygen;
pub mod ml;
pub mod render;
pub mod report;
pub mod status;

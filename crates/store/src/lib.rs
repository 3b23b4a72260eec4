//! Persistence for gamegate: one query path for every backend.
//!
//! Queries are built once with sea-query and run through sqlx's `Any` driver,
//! so SQLite, MySQL/MariaDB and PostgreSQL share every statement; the backend
//! only chooses the SQL dialect the builder emits. Per-backend SQL exists only
//! where dialects truly differ: the DDL of the migrations and SQLite's
//! `BEGIN IMMEDIATE`. One module per aggregate: [`accounts`] (with its [`audit`]), [`bans`], [`constants`], [`idempotency`],
//! [`battles`] (the analytics database).

#![warn(missing_docs)]

pub mod accounts;
pub mod audit;
mod backup;
pub mod bans;
pub mod battles;
mod clock;
pub mod constants;
mod db;
mod error;
pub mod idempotency;
mod migrate;
pub mod reports;
mod tables;

pub use accounts::{
    AccountDetails, Accounts, Mark, MoveError, NewAccount, Operation, PendingAccount, ReserveError,
};
pub use audit::{Audit, AuditAction, AuditEntry, AuditOutcome, AuditRow};
pub use bans::{Ban, Bans};
pub use battles::{
    BattleLog, IngestPipeline, Ingested, IngestedBatch, LeaderboardMode, PlayerStats,
    RatingHistogram, Summary,
};
pub use clock::unix_now;
pub use constants::Constants;
pub use db::{Backend, Database, PoolSettings, mask_url_password, sqlite_file};
pub use error::StoreError;
pub use migrate::{MigrationSet, MigrationStatus};

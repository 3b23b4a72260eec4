//! The cores' `account` table as their base SQL defines it, for tests,
//! benchmarks and a scratch auth database (`sql/*.sql` in this crate).
//! gamegate never creates or alters the table of a real server.

use crate::core::Core;

/// `CREATE TABLE account …` of AzerothCore (`data/sql/base/db_auth/account.sql`).
pub const AZEROTHCORE_ACCOUNT: &str = include_str!("../sql/azerothcore_account.sql");
/// `CREATE TABLE account …` of TrinityCore 3.3.5 (`sql/base/auth_database.sql`).
pub const TRINITYCORE_ACCOUNT: &str = include_str!("../sql/trinitycore_account.sql");

/// The `account` DDL of `core`.
pub const fn account_ddl(core: Core) -> &'static str {
    match core {
        Core::AzerothCore => AZEROTHCORE_ACCOUNT,
        Core::TrinityCore => TRINITYCORE_ACCOUNT,
    }
}

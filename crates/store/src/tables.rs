//! Identifiers of the account tables, shared by the modules that query them
//! ([`crate::accounts`] writes, [`crate::reports`] reads): one spelling of
//! each table and column name (the migrations create them).

use sea_query::Iden;

/// `players`: one row per account.
#[derive(Iden)]
pub(crate) enum Players {
    Table,
    Login,
    LoginNorm,
    PasswordHash,
    Gender,
    State,
    GameAccountId,
    CreatedAt,
    UpdatedAt,
    /// `NULL`, `'deleting'` or `'password'` (migration 0004).
    Operation,
    /// When `operation` was set, Unix seconds.
    OperationAt,
}

/// `telegram_players`: which Telegram id owns which login, in which slot.
#[derive(Iden)]
pub(crate) enum TelegramPlayers {
    Table,
    LoginNorm,
    TelegramId,
    Slot,
    Username,
    CreatedAt,
}

/// `account_audit`: who deleted an account, changed its password or moved
/// it to another Telegram id, and when (migration 0004).
#[derive(Iden)]
pub(crate) enum AccountAudit {
    Table,
    Id,
    At,
    Actor,
    Action,
    Outcome,
    Login,
    LoginNorm,
    TelegramHash,
}

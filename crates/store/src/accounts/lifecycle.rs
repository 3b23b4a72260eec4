//! After registration: deleting an account, changing its password, moving it
//! to another Telegram id, and what the operator reads about it.
//!
//! A deletion or a password change is a saga like a registration: the
//! account is marked first (`players.operation`, with `operation_at`), the
//! game server is called, then the rows change in one transaction that also
//! writes the audit row — or the mark is taken back. A mark is taken with a
//! compare-and-set on `(operation, operation_at)` as read, so two writers
//! cannot both hold it.

use gamegate_domain::AccountLimit;
use sea_query::{Expr, ExprTrait, Order, Query, SimpleExpr};
use sqlx::Row;

use super::{Accounts, SYNCED, retry_if_transient_err};
use crate::audit::{self, AuditEntry};
use crate::error::{StoreError, is_unique_violation};
use crate::tables::{Players, TelegramPlayers};

/// An operation under way on a synced account (`players.operation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `deleting`: marked before the game server's `delete`.
    Deleting,
    /// `password`: marked before the game server's `set_password`.
    Password,
}

impl Operation {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Deleting => "deleting",
            Operation::Password => "password",
        }
    }

    fn parse(text: Option<String>) -> Option<Self> {
        match text.as_deref() {
            Some("deleting") => Some(Operation::Deleting),
            Some("password") => Some(Operation::Password),
            _ => None,
        }
    }
}

/// A mark as stored: the operation and when it was set (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// What is under way.
    pub operation: Operation,
    /// When it was marked, Unix seconds; also what makes the mark its
    /// holder's (the finishing write checks it).
    pub at: i64,
}

/// One account with everything the operator may see about it — and its
/// password hash for the password check, which `Debug` never shows.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountDetails {
    /// The login as stored (NFC).
    pub login: String,
    /// The case-insensitive key.
    pub login_norm: String,
    /// `"pending"` (registration's answer unknown) or `"synced"`.
    pub state: String,
    /// An operation under way, if any.
    pub mark: Option<Mark>,
    /// The owner's Telegram user id.
    pub telegram_id: i64,
    /// The account's slot under its Telegram id.
    pub slot: i64,
    /// The owner's Telegram username (without `@`), when known.
    pub telegram_username: Option<String>,
    /// The game server's id of the account, when it reported one.
    pub game_account_id: Option<i64>,
    /// When the account was registered, Unix seconds.
    pub created_at: i64,
    /// The Argon2id PHC string; only for the password check.
    pub password_hash: String,
}

impl std::fmt::Debug for AccountDetails {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountDetails")
            .field("login", &self.login)
            .field("state", &self.state)
            .field("mark", &self.mark)
            .field("telegram_id", &self.telegram_id)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

/// Why [`Accounts::move_telegram`] moved nothing.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// No account has the login.
    #[error("no account has this login")]
    NotFound,
    /// The account already belongs to that Telegram id.
    #[error("the account already belongs to this Telegram id")]
    SameOwner,
    /// The target Telegram id has all its slots taken.
    #[error("the Telegram id already has its {0} accounts")]
    LimitExceeded(u32),
    /// The account is being registered or deleted.
    #[error("the account is being registered or deleted; try again later")]
    Busy,
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many times a move is retried after losing a slot race.
const MAX_MOVE_ATTEMPTS: u32 = 16;

fn mark_matches(expected: Option<Mark>) -> SimpleExpr {
    match expected {
        None => Expr::col(Players::Operation).is_null(),
        Some(mark) => Expr::col(Players::Operation)
            .eq(mark.operation.as_str())
            .and(Expr::col(Players::OperationAt).eq(mark.at)),
    }
}

impl Accounts<'_> {
    /// The account with this login (case-insensitively), with its owner.
    /// Errs as every [`Accounts`] operation.
    pub async fn details(&self, login: &str) -> Result<Option<AccountDetails>, StoreError> {
        let key = gamegate_domain::normalise_login(login);
        let mut rows = self
            .details_where(Expr::col((Players::Table, Players::LoginNorm)).eq(key), 1)
            .await?;
        Ok(rows.pop())
    }

    /// Every account of a Telegram id, by slot (at most 1000).
    /// Errs as every [`Accounts`] operation.
    pub async fn for_telegram(&self, telegram_id: i64) -> Result<Vec<AccountDetails>, StoreError> {
        self.details_where(
            Expr::col((TelegramPlayers::Table, TelegramPlayers::TelegramId)).eq(telegram_id),
            1000,
        )
        .await
    }

    async fn details_where(
        &self,
        filter: SimpleExpr,
        limit: u64,
    ) -> Result<Vec<AccountDetails>, StoreError> {
        self.db
            .bounded(async {
                let query = Query::select()
                    .column((Players::Table, Players::Login))
                    .column((Players::Table, Players::LoginNorm))
                    .column((Players::Table, Players::State))
                    .column((Players::Table, Players::Operation))
                    .column((Players::Table, Players::OperationAt))
                    .column((TelegramPlayers::Table, TelegramPlayers::TelegramId))
                    .column((TelegramPlayers::Table, TelegramPlayers::Slot))
                    .column((TelegramPlayers::Table, TelegramPlayers::Username))
                    .column((Players::Table, Players::GameAccountId))
                    .column((Players::Table, Players::CreatedAt))
                    .column((Players::Table, Players::PasswordHash))
                    .from(Players::Table)
                    .inner_join(
                        TelegramPlayers::Table,
                        Expr::col((TelegramPlayers::Table, TelegramPlayers::LoginNorm))
                            .equals((Players::Table, Players::LoginNorm)),
                    )
                    .and_where(filter)
                    .order_by((TelegramPlayers::Table, TelegramPlayers::Slot), Order::Asc)
                    .limit(limit)
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        let operation = Operation::parse(r.try_get(3)?);
                        let at: Option<i64> = r.try_get(4)?;
                        Ok(AccountDetails {
                            login: r.try_get(0)?,
                            login_norm: r.try_get(1)?,
                            state: r.try_get(2)?,
                            mark: operation.map(|operation| Mark {
                                operation,
                                at: at.unwrap_or(0),
                            }),
                            telegram_id: r.try_get(5)?,
                            slot: r.try_get(6)?,
                            telegram_username: r.try_get(7)?,
                            game_account_id: r.try_get(8)?,
                            created_at: r.try_get(9)?,
                            password_hash: r.try_get(10)?,
                        })
                    })
                    .await
            })
            .await
    }

    /// Marks a synced account with `operation` at `now`, if its mark is
    /// still `expected` (as read by [`Accounts::details`]) and, when given,
    /// its password hash is still `password_hash` — the hash an old password
    /// was checked against, so a change checked against a hash that another
    /// change (or a deletion and a new registration of the login) replaced
    /// meanwhile cannot take the account. Returns the new mark, or `None`
    /// when another writer changed it first (or the account is gone or not
    /// synced). Errs as every [`Accounts`] operation.
    pub async fn mark(
        &self,
        login_norm: &str,
        expected: Option<Mark>,
        password_hash: Option<&str>,
        operation: Operation,
        now: i64,
    ) -> Result<Option<Mark>, StoreError> {
        self.db
            .bounded(async {
                let mut update = Query::update();
                update
                    .table(Players::Table)
                    .values([
                        (Players::Operation, operation.as_str().into()),
                        (Players::OperationAt, now.into()),
                    ])
                    .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                    .and_where(Expr::col(Players::State).eq(SYNCED))
                    .and_where(mark_matches(expected));
                if let Some(hash) = password_hash {
                    update.and_where(Expr::col(Players::PasswordHash).eq(hash));
                }
                let (sql, values) = self.db.build(&update);
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok((done.rows_affected() == 1).then_some(Mark { operation, at: now }))
            })
            .await
    }

    /// Takes a mark back (the game server definitely did nothing): the
    /// account's mark becomes `restore` again, if it is still `held`.
    /// Returns whether it was. Errs as every [`Accounts`] operation.
    pub async fn unmark(
        &self,
        login_norm: &str,
        held: Mark,
        restore: Option<Mark>,
    ) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::update()
                        .table(Players::Table)
                        .values([
                            (
                                Players::Operation,
                                restore.map(|m| m.operation.as_str().to_owned()).into(),
                            ),
                            (Players::OperationAt, restore.map(|m| m.at).into()),
                        ])
                        .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                        .and_where(mark_matches(Some(held))),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            })
            .await
    }

    /// Erases an account marked `deleting` (the game server no longer has
    /// it): its `players` and `telegram_players` rows go (the Telegram slot is
    /// free again), every audit row about it loses the login, the
    /// `Idempotency-Key` rows of its registration are deleted, and `audit` is
    /// written — one transaction. Returns false (and changes nothing) when
    /// the account is not marked `deleting` (already finished by another
    /// writer). Errs as every [`Accounts`] operation.
    pub async fn finish_deletion(
        &self,
        login_norm: &str,
        audit: &AuditEntry<'_>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let deleting = || {
            Query::select()
                .column(Players::LoginNorm)
                .from(Players::Table)
                .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                .and_where(Expr::col(Players::Operation).eq(Operation::Deleting.as_str()))
                .take()
        };
        self.db
            .bounded(async {
                let mut tx = self.db.begin_write().await?;
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(TelegramPlayers::Table)
                        .and_where(Expr::col(TelegramPlayers::LoginNorm).in_subquery(deleting())),
                );
                sqlx::query_with(sql, values).execute(&mut *tx).await?;
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Players::Table)
                        .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                        .and_where(Expr::col(Players::Operation).eq(Operation::Deleting.as_str())),
                );
                let done = sqlx::query_with(sql, values).execute(&mut *tx).await?;
                if done.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                audit::forget(self.db, &mut tx, login_norm).await?;
                crate::idempotency::forget(self.db, &mut tx, login_norm).await?;
                audit::insert(self.db, &mut tx, audit, now).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    /// Stores the new password's hash of an account whose `password` mark is
    /// still `held` (the game server took the new password), clears the mark
    /// and writes `audit` — one transaction. Returns false (and changes
    /// nothing) when the mark is no longer `held`. Errs as every
    /// [`Accounts`] operation.
    pub async fn finish_password_change(
        &self,
        login_norm: &str,
        held: Mark,
        password_hash: &str,
        audit: &AuditEntry<'_>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let mut tx = self.db.begin_write().await?;
                let none: Option<String> = None;
                let (sql, values) = self.db.build(
                    Query::update()
                        .table(Players::Table)
                        .values([
                            (Players::PasswordHash, password_hash.into()),
                            (Players::Operation, none.into()),
                            (Players::OperationAt, Option::<i64>::None.into()),
                            (Players::UpdatedAt, now.into()),
                        ])
                        .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                        .and_where(mark_matches(Some(held))),
                );
                let done = sqlx::query_with(sql, values).execute(&mut *tx).await?;
                if done.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                audit::insert(self.db, &mut tx, audit, now).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    /// Accounts marked `operation` at or before `marked_before` (Unix
    /// seconds), oldest first, at most `limit`: what the reconciler settles.
    /// Errs as every [`Accounts`] operation.
    pub async fn marked_before(
        &self,
        operation: Operation,
        marked_before: i64,
        limit: u64,
    ) -> Result<Vec<(String, String, Mark)>, StoreError> {
        self.db
            .bounded(async {
                let query = Query::select()
                    .columns([Players::Login, Players::LoginNorm, Players::OperationAt])
                    .from(Players::Table)
                    .and_where(Expr::col(Players::Operation).eq(operation.as_str()))
                    .and_where(Expr::col(Players::OperationAt).lte(marked_before))
                    .order_by(Players::OperationAt, Order::Asc)
                    .limit(limit)
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        Ok((
                            r.try_get(0)?,
                            r.try_get(1)?,
                            Mark {
                                operation,
                                at: r.try_get(2)?,
                            },
                        ))
                    })
                    .await
            })
            .await
    }

    /// Moves a synced account to Telegram id `to`, into its first free slot
    /// under `limit`, and writes `audit` — one transaction; the username is
    /// cleared (it was the old owner's). Retries a lost slot race.
    /// Errs with [`MoveError`].
    pub async fn move_telegram(
        &self,
        login: &str,
        to: i64,
        limit: AccountLimit,
        audit: &AuditEntry<'_>,
        now: i64,
    ) -> Result<(), MoveError> {
        let login_norm = gamegate_domain::normalise_login(login);
        self.db
            .bounded(async {
                for _ in 0..MAX_MOVE_ATTEMPTS {
                    match self.try_move(&login_norm, to, limit, audit, now).await {
                        Ok(Some(result)) => return result,
                        Ok(None) => continue,
                        Err(e) => return Err(MoveError::Store(e)),
                    }
                }
                Err(MoveError::Store(StoreError::Contended(
                    "another writer kept taking the Telegram id's free slot",
                )))
            })
            .await
    }

    /// One attempt: `None` to retry (a lost race or a lock conflict).
    async fn try_move(
        &self,
        login_norm: &str,
        to: i64,
        limit: AccountLimit,
        audit: &AuditEntry<'_>,
        now: i64,
    ) -> Result<Option<Result<(), MoveError>>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let (sql, values) = self.db.build(
            Query::select()
                .column((Players::Table, Players::State))
                .column((Players::Table, Players::Operation))
                .column((TelegramPlayers::Table, TelegramPlayers::TelegramId))
                .from(Players::Table)
                .inner_join(
                    TelegramPlayers::Table,
                    Expr::col((TelegramPlayers::Table, TelegramPlayers::LoginNorm))
                        .equals((Players::Table, Players::LoginNorm)),
                )
                .and_where(Expr::col((Players::Table, Players::LoginNorm)).eq(login_norm)),
        );
        let row = match sqlx::query_with(sql, values).fetch_optional(&mut *tx).await {
            Ok(row) => row,
            Err(e) => return retry_if_transient_err(e),
        };
        let Some(row) = row else {
            return Ok(Some(Err(MoveError::NotFound)));
        };
        let state: String = row.try_get(0)?;
        let operation: Option<String> = row.try_get(1)?;
        let from: i64 = row.try_get(2)?;
        if state != SYNCED || Operation::parse(operation) == Some(Operation::Deleting) {
            return Ok(Some(Err(MoveError::Busy)));
        }
        if from == to {
            return Ok(Some(Err(MoveError::SameOwner)));
        }
        let (sql, values) = self.db.build(
            Query::select()
                .column(TelegramPlayers::Slot)
                .from(TelegramPlayers::Table)
                .and_where(Expr::col(TelegramPlayers::TelegramId).eq(to)),
        );
        let used: Vec<i64> = match sqlx::query_with(sql, values).fetch_all(&mut *tx).await {
            Ok(rows) => rows
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?,
            Err(e) => return retry_if_transient_err(e),
        };
        let Some(slot) = limit.first_free_slot(&used) else {
            return Ok(Some(Err(MoveError::LimitExceeded(limit.get()))));
        };
        let none: Option<String> = None;
        let (sql, values) = self.db.build(
            Query::update()
                .table(TelegramPlayers::Table)
                .values([
                    (TelegramPlayers::TelegramId, to.into()),
                    (TelegramPlayers::Slot, slot.into()),
                    (TelegramPlayers::Username, none.into()),
                ])
                .and_where(Expr::col(TelegramPlayers::LoginNorm).eq(login_norm)),
        );
        if let Err(e) = sqlx::query_with(sql, values).execute(&mut *tx).await {
            if is_unique_violation(&e) {
                return Ok(None);
            }
            return retry_if_transient_err(e);
        }
        audit::insert(self.db, &mut tx, audit, now).await?;
        match tx.commit().await {
            Ok(()) => Ok(Some(Ok(()))),
            Err(e) => retry_if_transient_err(e),
        }
    }
}

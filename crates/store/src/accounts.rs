//! The account aggregate: `players` and `telegram_players`, written together.
//!
//! A registration is a reservation first (`state = 'pending'`), then either
//! confirmed (`synced`) once the game server has the account, or removed.
//! The invariants are the database's: UNIQUE(login_norm) makes a login
//! single, UNIQUE(telegram_id, slot) with slots `0..limit` caps accounts per
//! Telegram id. Rust only picks a slot and retries when another writer took
//! it first.

use std::time::Duration;

use gamegate_domain::AccountLimit;
use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::{StoreError, database_error, is_transient, is_unique_violation};
use crate::tables::{Players, TelegramPlayers};
// `created_at` is stamped inside each reservation attempt, so time spent
// waiting on locks before it never makes a fresh row look old to the reconciler.
use crate::unix_now;

mod lifecycle;

pub use lifecycle::{AccountDetails, Mark, MoveError, Operation};

const PENDING: &str = "pending";
const SYNCED: &str = "synced";

/// How many times a reservation is retried after losing a slot race or a
/// lock conflict. Each retry sees every slot taken so far, so `limit` + a few
/// rounds always settle; the bound only stops a pathological loop.
const MAX_RESERVE_ATTEMPTS: u32 = 64;

/// What a reservation writes. `password_hash` is a PHC string, never a password.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    /// The login as the player typed it, in Unicode NFC (`players.login`).
    pub login: &'a str,
    /// The case-insensitive key ([`gamegate_domain::normalise_login`]),
    /// `players.login_norm`, UNIQUE: what makes a login single.
    pub login_norm: &'a str,
    /// The password's Argon2id hash as a PHC string (`$argon2id$v=19$…`).
    pub password_hash: &'a str,
    /// `0` or `1` (`players.gender`).
    pub gender: u8,
    /// The owner's Telegram user id (`telegram_players.telegram_id`).
    pub telegram_id: i64,
    /// Without the `@` (`telegram_players.username`); `None` when unknown.
    pub telegram_username: Option<&'a str>,
}

/// Why [`Accounts::reserve`] wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// Every slot `0..limit` of the Telegram id is taken (answered as
    /// `limit_exceeded`).
    #[error("the telegram id has reached its account limit")]
    LimitExceeded,
    /// Another account has the same `login_norm` (answered as `login_taken`).
    #[error("the login is taken")]
    LoginTaken,
    /// The database failed; see [`StoreError`]. Losing the slot race more than
    /// 64 times in a row is reported as [`StoreError::Unavailable`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A reservation whose game-server outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAccount {
    /// The login as stored (NFC), to ask the game server about.
    pub login: String,
    /// The case-insensitive key the row is found by.
    pub login_norm: String,
    /// When the reservation was made, Unix seconds.
    pub created_at: i64,
}

/// One stored account, as reports and tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    /// The login as stored (NFC).
    pub login: String,
    /// `"pending"` (reserved, game-server outcome unknown) or `"synced"`.
    pub state: String,
    /// The owner's Telegram user id.
    pub telegram_id: i64,
    /// The account's slot under its Telegram id, `0..limit`.
    pub slot: i64,
    /// The game server's id of the account, when it reported one (protocol v1
    /// `ok` answer); `None` while pending.
    pub game_account_id: Option<i64>,
}

/// Why a cheap pre-check already knows the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownRefusal {
    /// The Telegram id already has `limit` accounts.
    LimitExceeded,
    /// An account with the same `login_norm` exists (in any state).
    LoginTaken,
}

/// The account aggregate (`players` + `telegram_players`) of one database,
/// from [`Database::accounts`]. Every operation runs within
/// [`PoolSettings::operation_timeout`](crate::PoolSettings::operation_timeout)
/// and errs with [`StoreError::TimedOut`] past it,
/// [`StoreError::Unavailable`] when the database cannot be reached or a lock
/// conflict outlasts the retries, [`StoreError::Query`] otherwise.
pub struct Accounts<'a> {
    db: &'a Database,
}

enum Attempt {
    Done(Result<(), ReserveError>),
    Retry,
}

impl Database {
    /// The account aggregate ([`Accounts`]).
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts::new(self)
    }
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Reserves the login and a slot of the Telegram id in one transaction,
    /// as a `pending` account. Checks in the seed's order: limit, then login.
    /// Retries, up to 64 times, a lost slot race or a lock conflict; errs with
    /// [`ReserveError::LimitExceeded`], [`ReserveError::LoginTaken`], or
    /// [`ReserveError::Store`] (past the operation timeout, unreachable, or the
    /// retries exhausted).
    pub async fn reserve(
        &self,
        new: &NewAccount<'_>,
        limit: AccountLimit,
    ) -> Result<(), ReserveError> {
        self.db
            .bounded(async {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.try_reserve(new, limit).await? {
                        Attempt::Done(result) => return result,
                        Attempt::Retry if attempt < MAX_RESERVE_ATTEMPTS => {
                            // Spread the contenders out (a per-login, per-attempt offset);
                            // each retry reads fresh state.
                            let jitter = new.login_norm.bytes().fold(u64::from(attempt), |h, b| {
                                h.wrapping_mul(31).wrapping_add(u64::from(b))
                            }) % 11;
                            tokio::time::sleep(Duration::from_millis(
                                jitter + u64::from(Ord::min(attempt, 10)),
                            ))
                            .await;
                        }
                        Attempt::Retry => {
                            return Err(ReserveError::Store(StoreError::Contended(
                                "too many conflicting registrations for one telegram id",
                            )));
                        }
                    }
                }
            })
            .await
    }

    async fn try_reserve(
        &self,
        new: &NewAccount<'_>,
        limit: AccountLimit,
    ) -> Result<Attempt, StoreError> {
        let mut tx = match self.db.begin_write().await {
            Ok(tx) => tx,
            Err(e) => return Err(e),
        };

        let (sql, values) = self.db.build(
            Query::select()
                .column(TelegramPlayers::Slot)
                .from(TelegramPlayers::Table)
                .and_where(Expr::col(TelegramPlayers::TelegramId).eq(new.telegram_id)),
        );
        let used: Vec<i64> = match sqlx::query_with(sql, values).fetch_all(&mut *tx).await {
            Ok(rows) => rows
                .iter()
                .map(|r| r.try_get::<i64, _>(0))
                .collect::<Result<_, _>>()?,
            Err(e) => return retry_if_transient(e),
        };
        let Some(slot) = limit.first_free_slot(&used) else {
            return Ok(Attempt::Done(Err(ReserveError::LimitExceeded)));
        };
        let now = unix_now();

        let (sql, values) = self.db.build(
            Query::insert()
                .into_table(Players::Table)
                .columns([
                    Players::Login,
                    Players::LoginNorm,
                    Players::PasswordHash,
                    Players::Gender,
                    Players::State,
                    Players::CreatedAt,
                    Players::UpdatedAt,
                ])
                .values_panic([
                    new.login.into(),
                    new.login_norm.into(),
                    new.password_hash.into(),
                    i32::from(new.gender).into(),
                    PENDING.into(),
                    now.into(),
                    now.into(),
                ]),
        );
        if let Err(e) = sqlx::query_with(sql, values).execute(&mut *tx).await {
            // The only unique key a player insert can hit is the login.
            if is_unique_violation(&e) {
                return Ok(Attempt::Done(Err(ReserveError::LoginTaken)));
            }
            return retry_if_transient(e);
        }

        let (sql, values) = self.db.build(
            Query::insert()
                .into_table(TelegramPlayers::Table)
                .columns([
                    TelegramPlayers::LoginNorm,
                    TelegramPlayers::TelegramId,
                    TelegramPlayers::Slot,
                    TelegramPlayers::Username,
                    TelegramPlayers::CreatedAt,
                ])
                .values_panic([
                    new.login_norm.into(),
                    new.telegram_id.into(),
                    slot.into(),
                    new.telegram_username.map(str::to_owned).into(),
                    now.into(),
                ]),
        );
        if let Err(e) = sqlx::query_with(sql, values).execute(&mut *tx).await {
            // Another writer took this slot since we read: read again.
            if is_unique_violation(&e) {
                return Ok(Attempt::Retry);
            }
            return retry_if_transient(e);
        }

        match tx.commit().await {
            Ok(()) => Ok(Attempt::Done(Ok(()))),
            Err(e) => retry_if_transient(e),
        }
    }

    /// Answers early, without hashing a password, when the database already
    /// shows the request must fail. Advisory only: `reserve` decides.
    pub async fn precheck(
        &self,
        telegram_id: i64,
        login_norm: &str,
        limit: AccountLimit,
    ) -> Result<Option<KnownRefusal>, StoreError> {
        self.db
            .bounded(async {
                if self.count_for_telegram(telegram_id).await? >= i64::from(limit.get()) {
                    return Ok(Some(KnownRefusal::LimitExceeded));
                }
                let (sql, values) = self.db.build(
                    Query::select()
                        .expr(Expr::val(1))
                        .from(Players::Table)
                        .and_where(Expr::col(Players::LoginNorm).eq(login_norm)),
                );
                let taken = sqlx::query_with(sql, values)
                    .fetch_optional(self.db.pool())
                    .await?;
                Ok(taken.map(|_| KnownRefusal::LoginTaken))
            })
            .await
    }

    /// Confirms a reservation once the game server has the account. Returns
    /// false when there was no pending row (already settled by the reconciler).
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn mark_synced(
        &self,
        login_norm: &str,
        game_account_id: Option<i64>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::update()
                        .table(Players::Table)
                        .values([
                            (Players::State, SYNCED.into()),
                            (Players::GameAccountId, game_account_id.into()),
                            (Players::UpdatedAt, now.into()),
                        ])
                        .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                        .and_where(Expr::col(Players::State).eq(PENDING)),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            })
            .await
    }

    /// Removes a reservation that never reached the game server. Only pending
    /// rows are touched, so a late call can never delete a confirmed account.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn remove_pending(&self, login_norm: &str) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let mut tx = self.db.begin_write().await?;
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(TelegramPlayers::Table)
                        .and_where(
                            Expr::col(TelegramPlayers::LoginNorm).in_subquery(
                                Query::select()
                                    .column(Players::LoginNorm)
                                    .from(Players::Table)
                                    .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                                    .and_where(Expr::col(Players::State).eq(PENDING))
                                    .take(),
                            ),
                        ),
                );
                sqlx::query_with(sql, values).execute(&mut *tx).await?;
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Players::Table)
                        .and_where(Expr::col(Players::LoginNorm).eq(login_norm))
                        .and_where(Expr::col(Players::State).eq(PENDING)),
                );
                let done = sqlx::query_with(sql, values).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            })
            .await
    }

    /// Pending reservations created at or before `created_before` (Unix
    /// seconds), oldest first, for the reconciler.
    /// At most `limit` rows. Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn pending_before(
        &self,
        created_before: i64,
        limit: u64,
    ) -> Result<Vec<PendingAccount>, StoreError> {
        self.db
            .bounded(async {
                let query = Query::select()
                    .columns([Players::Login, Players::LoginNorm, Players::CreatedAt])
                    .from(Players::Table)
                    .and_where(Expr::col(Players::State).eq(PENDING))
                    .and_where(Expr::col(Players::CreatedAt).lte(created_before))
                    .order_by(Players::CreatedAt, Order::Asc)
                    .limit(limit)
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        Ok(PendingAccount {
                            login: r.try_get(0)?,
                            login_norm: r.try_get(1)?,
                            created_at: r.try_get(2)?,
                        })
                    })
                    .await
            })
            .await
    }

    /// How many pending reservations were created at or before
    /// `created_before` (Unix seconds): the reconciler's backlog, exported as
    /// `gamegate_registrations_pending` (index `(state, created_at)`).
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn count_pending_before(&self, created_before: i64) -> Result<i64, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::select()
                        .expr(Expr::col(Players::LoginNorm).count())
                        .from(Players::Table)
                        .and_where(Expr::col(Players::State).eq(PENDING))
                        .and_where(Expr::col(Players::CreatedAt).lte(created_before)),
                );
                let row = sqlx::query_with(sql, values)
                    .fetch_one(self.db.pool())
                    .await?;
                Ok(row.try_get::<i64, _>(0)?)
            })
            .await
    }

    /// How many accounts (`telegram_players` rows, any state) the Telegram id
    /// owns. Errs as every [`Accounts`] operation.
    pub async fn count_for_telegram(&self, telegram_id: i64) -> Result<i64, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::select()
                        .expr(Expr::col(TelegramPlayers::Slot).count())
                        .from(TelegramPlayers::Table)
                        .and_where(Expr::col(TelegramPlayers::TelegramId).eq(telegram_id)),
                );
                let row = sqlx::query_with(sql, values)
                    .fetch_one(self.db.pool())
                    .await?;
                Ok(row.try_get::<i64, _>(0)?)
            })
            .await
    }

    /// Looks an account up by login, case-insensitively.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn find(&self, login: &str) -> Result<Option<AccountRow>, StoreError> {
        self.db
            .bounded(async {
                let login_norm = gamegate_domain::normalise_login(login);
                let (sql, values) = self.db.build(
                    Query::select()
                        .column((Players::Table, Players::Login))
                        .column((Players::Table, Players::State))
                        .column((TelegramPlayers::Table, TelegramPlayers::TelegramId))
                        .column((TelegramPlayers::Table, TelegramPlayers::Slot))
                        .column((Players::Table, Players::GameAccountId))
                        .from(Players::Table)
                        .inner_join(
                            TelegramPlayers::Table,
                            Expr::col((TelegramPlayers::Table, TelegramPlayers::LoginNorm))
                                .equals((Players::Table, Players::LoginNorm)),
                        )
                        .and_where(Expr::col((Players::Table, Players::LoginNorm)).eq(login_norm)),
                );
                let row = sqlx::query_with(sql, values)
                    .fetch_optional(self.db.pool())
                    .await?;
                row.map(|r| {
                    Ok(AccountRow {
                        login: r.try_get(0)?,
                        state: r.try_get(1)?,
                        telegram_id: r.try_get(2)?,
                        slot: r.try_get(3)?,
                        game_account_id: r.try_get(4)?,
                    })
                })
                .transpose()
                .map_err(|e: sqlx::Error| StoreError::from(e))
            })
            .await
    }

    /// Which of `logins` have an account (any state), as their
    /// case-insensitive keys ([`gamegate_domain::normalise_login`]): the
    /// battle log's link to the accounts. Looked up 1,000 keys per query.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn registered(
        &self,
        logins: &[&str],
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        let keys: std::collections::BTreeSet<String> = logins
            .iter()
            .map(|l| gamegate_domain::normalise_login(l))
            .collect();
        let keys: Vec<String> = keys.into_iter().collect();
        self.db
            .bounded(async {
                let mut found = std::collections::HashSet::new();
                for chunk in keys.chunks(1_000) {
                    let query = Query::select()
                        .column(Players::LoginNorm)
                        .from(Players::Table)
                        .and_where(Expr::col(Players::LoginNorm).is_in(chunk.iter().cloned()))
                        .take();
                    found.extend(
                        self.db
                            .fetch_all(&query, |r| r.try_get::<String, _>(0))
                            .await?,
                    );
                }
                Ok(found)
            })
            .await
    }

    /// Counts accounts by state: `(synced, pending)`.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn count_by_state(&self) -> Result<(i64, i64), StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::select()
                        .column(Players::State)
                        .expr(Expr::col(Players::LoginNorm).count())
                        .from(Players::Table)
                        .group_by_col(Players::State),
                );
                let rows = sqlx::query_with(sql, values)
                    .fetch_all(self.db.pool())
                    .await?;
                let (mut synced, mut pending) = (0, 0);
                for row in rows {
                    let state: String = row.try_get(0)?;
                    let n: i64 = row.try_get(1)?;
                    match state.as_str() {
                        SYNCED => synced = n,
                        _ => pending += n,
                    }
                }
                Ok((synced, pending))
            })
            .await
    }

    /// Every login in the accounts table (tests and reconciliation reports).
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn logins(&self) -> Result<Vec<String>, StoreError> {
        self.db
            .bounded(async {
                let query = Query::select()
                    .column(Players::Login)
                    .from(Players::Table)
                    .order_by(Players::LoginNorm, Order::Asc)
                    .take();
                self.db.fetch_all(&query, |r| r.try_get(0)).await
            })
            .await
    }
}

fn retry_if_transient(err: sqlx::Error) -> Result<Attempt, StoreError> {
    if database_error(&err).is_some_and(is_transient) {
        Ok(Attempt::Retry)
    } else {
        Err(StoreError::from(err))
    }
}

/// [`retry_if_transient`] for code that retries on `Ok(None)`.
fn retry_if_transient_err<T>(err: sqlx::Error) -> Result<Option<T>, StoreError> {
    if database_error(&err).is_some_and(is_transient) {
        Ok(None)
    } else {
        Err(StoreError::from(err))
    }
}

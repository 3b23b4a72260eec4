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
use sea_query::{Expr, ExprTrait, Iden, Order, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::{StoreError, database_error, is_transient, is_unique_violation};

#[derive(Iden)]
enum Players {
    Table,
    Login,
    LoginNorm,
    PasswordHash,
    Gender,
    State,
    GameAccountId,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden)]
enum TelegramPlayers {
    Table,
    LoginNorm,
    TelegramId,
    Slot,
    Username,
    CreatedAt,
}

const PENDING: &str = "pending";
const SYNCED: &str = "synced";

/// How many times a reservation is retried after losing a slot race or a
/// lock conflict. Each retry sees every slot taken so far, so `limit` + a few
/// rounds always settle; the bound only stops a pathological loop.
const MAX_RESERVE_ATTEMPTS: u32 = 64;

/// What a reservation writes. `password_hash` is a PHC string, never a password.
#[derive(Debug, Clone)]
pub struct NewAccount<'a> {
    pub login: &'a str,
    pub login_norm: &'a str,
    pub password_hash: &'a str,
    pub gender: u8,
    pub telegram_id: i64,
    pub telegram_username: Option<&'a str>,
}

/// Unix seconds. `created_at` is stamped inside each reservation attempt, so
/// time spent waiting on locks before it never makes a fresh row look old to
/// the reconciler.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("the telegram id has reached its account limit")]
    LimitExceeded,
    #[error("the login is taken")]
    LoginTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A reservation whose game-server outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAccount {
    pub login: String,
    pub login_norm: String,
    pub created_at: i64,
}

/// One stored account, as reports and tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub login: String,
    pub state: String,
    pub telegram_id: i64,
    pub slot: i64,
    pub game_account_id: Option<i64>,
}

/// Why a cheap pre-check already knows the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownRefusal {
    LimitExceeded,
    LoginTaken,
}

pub struct Accounts<'a> {
    db: &'a Database,
}

enum Attempt {
    Done(Result<(), ReserveError>),
    Retry,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Reserves the login and a slot of the Telegram id in one transaction,
    /// as a `pending` account. Checks in the seed's order: limit, then login.
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

    /// Counts accounts by state: `(synced, pending)`.
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

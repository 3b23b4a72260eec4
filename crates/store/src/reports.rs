//! Admin reports: the seed's "Database Monitoring" queries, on every backend.
//!
//! Like every other query of the store these are built with sea-query and run
//! through sqlx's `Any` driver, so SQLite, MySQL/MariaDB and PostgreSQL answer
//! the same statement. Only aggregates whose result type is the same on all
//! three are used (`COUNT` is BIGINT everywhere; `SUM` would be DECIMAL on
//! MySQL and NUMERIC on PostgreSQL, which the `Any` driver cannot decode), and
//! time arithmetic is done in Rust on the Unix seconds the tables store.

use std::collections::BTreeMap;

use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::StoreError;
use crate::tables::{Players, TelegramPlayers};

const SYNCED: &str = "synced";

/// The width of one row of a registrations report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// One hour (3,600 s) per row.
    Hour,
    /// One UTC day (86,400 s) per row.
    Day,
}

impl Bucket {
    /// The bucket's width in seconds: 3,600 or 86,400.
    pub fn seconds(self) -> i64 {
        match self {
            Bucket::Hour => 3_600,
            Bucket::Day => 86_400,
        }
    }

    /// The start (Unix seconds, UTC) of the bucket holding `unix`. Floors
    /// toward minus infinity, so times before 1970 land in the right bucket too.
    pub fn start_of(self, unix: i64) -> i64 {
        unix - unix.rem_euclid(self.seconds())
    }

    /// `"hour"` or `"day"`, as the report's JSON and the `bucket` parameter spell
    /// it.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
        }
    }
}

/// Registrations (rows of `telegram_players`) created at or after `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationsReport {
    /// The window's start, Unix seconds, inclusive.
    pub since: i64,
    /// The width of each entry of `buckets`.
    pub bucket: Bucket,
    /// Every registration in the window: `synced + pending`.
    pub total: i64,
    /// Confirmed on the game server (`players.state = 'synced'`).
    pub synced: i64,
    /// Reserved, game-server outcome not yet known.
    pub pending: i64,
    /// Bucket start (Unix seconds, UTC) → registrations in that bucket,
    /// ascending. Only buckets with at least one registration are present;
    /// the counts add up to `total`.
    pub buckets: BTreeMap<i64, i64>,
}

/// One Telegram id and how many accounts it owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopTelegram {
    /// The Telegram user id.
    pub telegram_id: i64,
    /// `MAX(username)` over the id's rows; NULL (this version never fills
    /// `username`) unless some row has one.
    pub username: Option<String>,
    /// Accounts (`telegram_players` rows) the id owns, any state.
    pub accounts: i64,
}

/// The operator reports of one database, from [`Database::reports`]. Errs
/// like every store operation: [`StoreError::TimedOut`],
/// [`StoreError::Unavailable`], [`StoreError::Query`].
pub struct Reports<'a> {
    db: &'a Database,
}

impl Database {
    /// The operator reports ([`Reports`]).
    pub fn reports(&self) -> Reports<'_> {
        Reports::new(self)
    }
}

impl<'a> Reports<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Registrations created at or after `since_unix`, in total, by state and
    /// per `bucket`.
    ///
    /// This reads one row (`created_at`, `state`) per registration in the
    /// window and counts in Rust, instead of grouping in SQL: flooring a
    /// timestamp to a bucket is spelled differently per backend (integer
    /// division is `DIV` on MySQL, `/` elsewhere; the seed uses FROM_UNIXTIME /
    /// to_timestamp), and PostgreSQL does not match a SELECT expression to a
    /// GROUP BY expression whose bound parameters are separate placeholders.
    /// Admin-report windows are hours or days, so the rows are few,
    /// `idx_telegram_created` serves the range scan, and one statement gives
    /// totals and buckets from the same snapshot, so they always agree.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn registrations_since(
        &self,
        since_unix: i64,
        bucket: Bucket,
    ) -> Result<RegistrationsReport, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::select()
                        .column((TelegramPlayers::Table, TelegramPlayers::CreatedAt))
                        .column((Players::Table, Players::State))
                        .from(TelegramPlayers::Table)
                        // The foreign key telegram_players → players (ON DELETE
                        // CASCADE) gives every link exactly one player row, so the
                        // inner join neither drops nor duplicates registrations.
                        .inner_join(
                            Players::Table,
                            Expr::col((Players::Table, Players::LoginNorm))
                                .equals((TelegramPlayers::Table, TelegramPlayers::LoginNorm)),
                        )
                        .and_where(
                            Expr::col((TelegramPlayers::Table, TelegramPlayers::CreatedAt))
                                .gte(since_unix),
                        ),
                );
                let rows = sqlx::query_with(sql, values)
                    .fetch_all(self.db.pool())
                    .await?;
                let mut report = RegistrationsReport {
                    since: since_unix,
                    bucket,
                    total: 0,
                    synced: 0,
                    pending: 0,
                    buckets: BTreeMap::new(),
                };
                for row in rows {
                    let created_at: i64 = row.try_get(0)?;
                    let state: String = row.try_get(1)?;
                    report.total += 1;
                    // The schema allows only 'pending' and 'synced'; anything not
                    // confirmed counts as pending, as `Accounts::count_by_state` does.
                    if state == SYNCED {
                        report.synced += 1;
                    } else {
                        report.pending += 1;
                    }
                    *report
                        .buckets
                        .entry(bucket.start_of(created_at))
                        .or_insert(0) += 1;
                }
                Ok(report)
            })
            .await
    }

    /// The Telegram ids with the most accounts: most first, ties by id
    /// ascending, at most `limit` of them. Counts every link, pending or not,
    /// like the seed's query.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn top_telegram(&self, limit: u64) -> Result<Vec<TopTelegram>, StoreError> {
        self.db
            .bounded(async {
                // sea-query-sqlx binds a LIMIT as i64 and panics above i64::MAX.
                let limit = Ord::min(limit, i64::MAX as u64);
                let accounts = || Expr::col(TelegramPlayers::LoginNorm).count();
                let query = Query::select()
                    .column(TelegramPlayers::TelegramId)
                    // Aggregated, not bare: a bare non-grouped column is rejected
                    // by PostgreSQL and by MySQL's ONLY_FULL_GROUP_BY.
                    .expr(Expr::col(TelegramPlayers::Username).max())
                    .expr(accounts())
                    .from(TelegramPlayers::Table)
                    .group_by_col(TelegramPlayers::TelegramId)
                    .order_by_expr(accounts(), Order::Desc)
                    .order_by(TelegramPlayers::TelegramId, Order::Asc)
                    .limit(limit)
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        Ok(TopTelegram {
                            telegram_id: r.try_get(0)?,
                            username: r.try_get(1)?,
                            accounts: r.try_get(2)?,
                        })
                    })
                    .await
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_floor_to_their_start() {
        assert_eq!(Bucket::Hour.start_of(0), 0);
        assert_eq!(Bucket::Hour.start_of(3_599), 0);
        assert_eq!(Bucket::Hour.start_of(3_600), 3_600);
        assert_eq!(Bucket::Day.start_of(86_399), 0);
        assert_eq!(Bucket::Day.start_of(86_400 + 5), 86_400);
        // Before 1970 the floor still goes down, not toward zero.
        assert_eq!(Bucket::Hour.start_of(-1), -3_600);
        assert_eq!(Bucket::Day.start_of(-86_400), -86_400);
    }
}

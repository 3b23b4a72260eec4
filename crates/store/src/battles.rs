//! The battle-log aggregate: `battles`, `battle_participants` and the
//! per-player `player_ratings` derived from them.
//!
//! Ingestion is idempotent by the game server's battle id and runs in one
//! transaction per batch: battles and participants go in as batched
//! multi-row INSERTs that skip ids already stored, and the players of the
//! battles that were new get their totals and (PvP only) their Weng-Lin
//! rating updated in the same transaction. `rebuild` recomputes every
//! player row from the stored battles in (started_at, id) order, which is
//! the order ingestion applies them in, so an in-order history gives the same
//! ratings either way.
//!
//! A player is their login's case-insensitive key
//! ([`gamegate_domain::normalise_login`], stored in `player_ratings.login_key`
//! and computed here, not by the database): ingestion writes every battle
//! with the spelling the player's row already has (or the first one seen),
//! so `Hero` and `hero` in two battles are one player, and lookups by any
//! case find them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gamegate_analytics::{Battle, Mode, Participant, Rating, RatingBook};
use gamegate_domain::normalise_login;
use sea_query::{Expr, ExprTrait, Iden, InsertStatement, OnConflict, Order, Query, SimpleExpr};
use sqlx::Row;

use crate::db::{Backend, Database};
use crate::error::{StoreError, database_error, is_transient};

/// The id a synthetic (demo) battle is stored under: the generator's id
/// `n` (1, 2, …) as `-n`. Real battles have positive ids (ingestion refuses
/// others), so demo data can never collide with a real battle, and
/// [`Battles::purge_demo`] removes exactly it.
pub const fn demo_id(generated: i64) -> i64 {
    -generated.abs()
}

#[derive(Iden)]
enum Battles {
    Table,
    Id,
    Mode,
    StartedAt,
    Day,
    DurationSecs,
    IngestedAt,
}

#[derive(Iden)]
enum BattleParticipants {
    Table,
    BattleId,
    Login,
    Team,
    Won,
    Kills,
    Deaths,
    DamageDealt,
    DamageTaken,
    Level,
}

#[derive(Iden)]
enum PlayerRatings {
    Table,
    Login,
    LoginKey,
    Mu,
    Sigma,
    Score,
    Battles,
    Wins,
    PvpBattles,
    PvpWins,
    Kills,
    Deaths,
    DamageDealt,
    DamageTaken,
    UpdatedAt,
}

const DAY: i64 = 86_400;
/// Rows per multi-row INSERT: 9 participant columns × 500 = 4,500 bound
/// parameters, far below every backend's limit (SQLite 32,766).
const INSERT_ROWS: usize = 500;
/// Values per `IN (…)` list.
const IN_LIST: usize = 1_000;
/// Battles read per page by `rebuild` and `for_each_battle`. Small enough
/// that a page's decoded rows (~5 participants each) stay well under a
/// megabyte: the allocator keeps what a pass peaked at, and the anomaly pass
/// runs in the serving process (2,000 left `gamegate all` at 31 MiB idle).
const PAGE: u64 = 250;
/// Attempts of one ingestion after a lock conflict or a concurrent writer
/// storing the same battle first.
const MAX_ATTEMPTS: u32 = 8;

/// What ingestion did with one battle of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Inserted,
    /// Already stored (or earlier in the same batch): nothing changed.
    Duplicate,
}

/// One player's row: totals over every stored battle and the rating.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerStats {
    pub login: String,
    pub rating: Rating,
    pub battles: i64,
    pub wins: i64,
    pub pvp_battles: i64,
    pub pvp_wins: i64,
    pub kills: i64,
    pub deaths: i64,
    pub damage_dealt: i64,
    pub damage_taken: i64,
    pub updated_at: i64,
}

impl PlayerStats {
    fn new(login: &str, now: i64) -> Self {
        PlayerStats {
            login: login.to_owned(),
            rating: Rating::default(),
            battles: 0,
            wins: 0,
            pvp_battles: 0,
            pvp_wins: 0,
            kills: 0,
            deaths: 0,
            damage_dealt: 0,
            damage_taken: 0,
            updated_at: now,
        }
    }

    fn add(&mut self, mode: Mode, p: &Participant) {
        self.battles += 1;
        self.wins += i64::from(p.won);
        if mode == Mode::Pvp {
            self.pvp_battles += 1;
            self.pvp_wins += i64::from(p.won);
        }
        self.kills += i64::from(p.kills);
        self.deaths += i64::from(p.deaths);
        self.damage_dealt = self.damage_dealt.saturating_add(clamp_u64(p.damage_dealt));
        self.damage_taken = self.damage_taken.saturating_add(clamp_u64(p.damage_taken));
    }
}

/// Which battles a leaderboard counts for its `min_battles` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderboardMode {
    Pvp,
    Pve,
    All,
}

/// Battles and distinct players of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    /// Unix seconds of the day's start (UTC).
    pub day_start: i64,
    pub battles: i64,
    pub active_players: i64,
}

/// Activity from `since_day_start` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub since: i64,
    pub battles: i64,
    pub pvp_battles: i64,
    pub participants: i64,
    pub active_players: i64,
    /// Only days with at least one battle, ascending.
    pub days: Vec<DaySummary>,
}

fn clamp_u64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

enum Attempt<T> {
    Done(T),
    Retry,
}

pub struct BattleLog<'a> {
    db: &'a Database,
}

impl<'a> BattleLog<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// An INSERT that skips rows whose key exists: `ON CONFLICT DO NOTHING`
    /// (SQLite, PostgreSQL), `INSERT IGNORE` on MySQL, where sea-query has no
    /// spelling for it (its `ON DUPLICATE KEY UPDATE k = k` polyfill counts
    /// skipped rows as affected, and ingestion needs the true count).
    fn build_insert_ignore(
        &self,
        mut insert: InsertStatement,
        key: ConflictKey,
    ) -> (sqlx::AssertSqlSafe<String>, sea_query_sqlx::SqlxValues) {
        if self.db.backend() == Backend::Mysql {
            let (sql, values) = self.db.build(&insert);
            let sql = sql.0.replacen("INSERT ", "INSERT IGNORE ", 1);
            return (sqlx::AssertSqlSafe(sql), values);
        }
        let on_conflict = match key {
            ConflictKey::Battle => OnConflict::column(Battles::Id).do_nothing().to_owned(),
            ConflictKey::Player => OnConflict::column(PlayerRatings::Login)
                .do_nothing()
                .to_owned(),
        };
        insert.on_conflict(on_conflict);
        self.db.build(&insert)
    }

    /// Stores a batch of (already validated) battles in one transaction and
    /// answers, per battle in input order, whether it was new. Players of the
    /// new battles get their totals and ratings updated; new battles are
    /// applied in (started_at, id) order.
    pub async fn ingest(&self, battles: &[Battle]) -> Result<Vec<Ingested>, StoreError> {
        if battles.is_empty() {
            return Ok(Vec::new());
        }
        self.db
            .bounded(async {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.try_ingest(battles).await {
                        Ok(Attempt::Done(result)) => return Ok(result),
                        Ok(Attempt::Retry) if attempt < MAX_ATTEMPTS => {}
                        Err(e) if attempt < MAX_ATTEMPTS && is_retryable(&e) => {}
                        Ok(Attempt::Retry) => {
                            return Err(StoreError::Contended(
                                "too many concurrent ingestions of the same battles",
                            ));
                        }
                        Err(e) => return Err(e),
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt)))
                        .await;
                }
            })
            .await
    }

    async fn try_ingest(&self, battles: &[Battle]) -> Result<Attempt<Vec<Ingested>>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let now = unix_now();

        // Ids already stored.
        let ids: Vec<i64> = battles
            .iter()
            .map(|b| b.id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut stored = BTreeSet::new();
        for chunk in ids.chunks(IN_LIST) {
            let (sql, values) = self.db.build(
                Query::select()
                    .column(Battles::Id)
                    .from(Battles::Table)
                    .and_where(Expr::col(Battles::Id).is_in(chunk.iter().copied())),
            );
            for row in sqlx::query_with(sql, values).fetch_all(&mut *tx).await? {
                stored.insert(row.try_get::<i64, _>(0)?);
            }
        }
        // Per input position; a repeated id in the batch is a duplicate of its
        // first occurrence.
        let mut seen = BTreeSet::new();
        let outcome: Vec<Ingested> = battles
            .iter()
            .map(|b| match !stored.contains(&b.id) && seen.insert(b.id) {
                true => Ingested::Inserted,
                false => Ingested::Duplicate,
            })
            .collect();
        let mut new: Vec<&Battle> = battles
            .iter()
            .zip(&outcome)
            .filter(|(_, o)| **o == Ingested::Inserted)
            .map(|(b, _)| b)
            .collect();
        if new.is_empty() {
            tx.rollback().await?;
            return Ok(Attempt::Done(outcome));
        }
        new.sort_by_key(|b| (b.started_at, b.id));

        // One spelling per player: a login whose key has a row already is
        // written with that row's spelling, a new one with the first spelling
        // of this batch (in the order the battles are applied).
        let keys: Vec<String> = new
            .iter()
            .flat_map(|b| b.participants.iter().map(|p| normalise_login(&p.login)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut spelling: HashMap<String, String> = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(IN_LIST) {
            let (sql, values) = self.db.build(
                Query::select()
                    .columns([PlayerRatings::LoginKey, PlayerRatings::Login])
                    .from(PlayerRatings::Table)
                    .and_where(Expr::col(PlayerRatings::LoginKey).is_in(chunk.iter().cloned()))
                    .order_by(PlayerRatings::Battles, Order::Desc)
                    .order_by(PlayerRatings::Login, Order::Asc),
            );
            for row in sqlx::query_with(sql, values).fetch_all(&mut *tx).await? {
                spelling
                    .entry(row.try_get::<String, _>(0)?)
                    .or_insert(row.try_get::<String, _>(1)?);
            }
        }
        let renamed: Vec<Battle> = new
            .iter()
            .map(|b| with_one_spelling(b, &mut spelling))
            .collect();
        let new: Vec<&Battle> = renamed.iter().collect();

        for chunk in new.chunks(INSERT_ROWS) {
            let mut insert = Query::insert();
            insert.into_table(Battles::Table).columns([
                Battles::Id,
                Battles::Mode,
                Battles::StartedAt,
                Battles::Day,
                Battles::DurationSecs,
                Battles::IngestedAt,
            ]);
            for b in chunk {
                insert.values_panic([
                    b.id.into(),
                    b.mode.as_str().into(),
                    b.started_at.into(),
                    b.started_at.div_euclid(DAY).into(),
                    i64::from(b.duration_secs).into(),
                    now.into(),
                ]);
            }
            let (sql, values) = self.build_insert_ignore(insert, ConflictKey::Battle);
            let done = sqlx::query_with(sql, values).execute(&mut *tx).await?;
            if done.rows_affected() != chunk.len() as u64 {
                // Another writer stored some of these since we looked: start
                // over, the next look sees them.
                tx.rollback().await?;
                return Ok(Attempt::Retry);
            }
        }

        let rows: Vec<(i64, &Participant)> = new
            .iter()
            .flat_map(|b| b.participants.iter().map(move |p| (b.id, p)))
            .collect();
        for chunk in rows.chunks(INSERT_ROWS) {
            let mut insert = Query::insert();
            insert.into_table(BattleParticipants::Table).columns([
                BattleParticipants::BattleId,
                BattleParticipants::Login,
                BattleParticipants::Team,
                BattleParticipants::Won,
                BattleParticipants::Kills,
                BattleParticipants::Deaths,
                BattleParticipants::DamageDealt,
                BattleParticipants::DamageTaken,
                BattleParticipants::Level,
            ]);
            for (id, p) in chunk {
                insert.values_panic([
                    (*id).into(),
                    p.login.as_str().into(),
                    i64::from(p.team).into(),
                    i64::from(p.won).into(),
                    i64::from(p.kills).into(),
                    i64::from(p.deaths).into(),
                    clamp_u64(p.damage_dealt).into(),
                    clamp_u64(p.damage_taken).into(),
                    i64::from(p.level).into(),
                ]);
            }
            let (sql, values) = self.db.build(&insert);
            sqlx::query_with(sql, values).execute(&mut *tx).await?;
        }

        // The players' rows: make sure each exists, lock them (in login order,
        // so concurrent batches do not deadlock each other), update in memory.
        let logins: Vec<&str> = rows
            .iter()
            .map(|(_, p)| p.login.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let blanks: Vec<PlayerStats> = logins.iter().map(|l| PlayerStats::new(l, now)).collect();
        for chunk in blanks.chunks(INSERT_ROWS) {
            let (sql, values) = self.build_insert_ignore(player_insert(chunk), ConflictKey::Player);
            sqlx::query_with(sql, values).execute(&mut *tx).await?;
        }
        let mut players: HashMap<String, PlayerStats> = HashMap::with_capacity(logins.len());
        for chunk in logins.chunks(IN_LIST) {
            let (sql, values) = self.db.build(
                player_select()
                    .and_where(Expr::col(PlayerRatings::Login).is_in(chunk.iter().copied()))
                    .order_by(PlayerRatings::Login, Order::Asc)
                    .lock_exclusive(),
            );
            for row in sqlx::query_with(sql, values).fetch_all(&mut *tx).await? {
                let stats = player_from_row(&row)?;
                players.insert(stats.login.clone(), stats);
            }
        }
        let mut book =
            RatingBook::with_ratings(players.iter().map(|(l, s)| (l.clone(), s.rating)).collect());
        for battle in &new {
            for (login, rating) in book.apply(battle) {
                if let Some(stats) = players.get_mut(&login) {
                    stats.rating = rating;
                }
            }
            for p in &battle.participants {
                if let Some(stats) = players.get_mut(&p.login) {
                    stats.add(battle.mode, p);
                    stats.updated_at = now;
                }
            }
        }
        let mut updated: Vec<PlayerStats> = players.into_values().collect();
        updated.sort_by(|a, b| a.login.cmp(&b.login));
        for chunk in updated.chunks(INSERT_ROWS) {
            let (sql, values) = self.db.build(
                player_insert(chunk).on_conflict(
                    OnConflict::column(PlayerRatings::Login)
                        .update_columns(PLAYER_VALUE_COLUMNS)
                        .to_owned(),
                ),
            );
            sqlx::query_with(sql, values).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Attempt::Done(outcome))
    }

    /// Recomputes every player row from the stored battles, in (started_at,
    /// id) order, and replaces `player_ratings` in one transaction. `progress`
    /// is called with (battles done, battles in total) after each page.
    /// Ingestion running meanwhile may be overwritten: run it while the game
    /// server's ingestion is paused, or run it again afterwards.
    pub async fn rebuild(
        &self,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<RebuildReport, StoreError> {
        let total = self.count_battles().await?;
        let now = unix_now();
        let mut book = RatingBook::new();
        let mut players: HashMap<String, PlayerStats> = HashMap::new();
        let mut done = 0u64;
        let mut spelling: HashMap<String, String> = HashMap::new();
        self.for_each_battle(|battle| {
            // Battles stored with another case of a player's login (before
            // ingestion kept one spelling) count for the same player.
            let battle = &with_one_spelling(battle, &mut spelling);
            book.apply(battle);
            for p in &battle.participants {
                players
                    .entry(p.login.clone())
                    .or_insert_with(|| PlayerStats::new(&p.login, now))
                    .add(battle.mode, p);
            }
            done += 1;
            if done.is_multiple_of(PAGE) {
                progress(done, total);
            }
        })
        .await?;
        progress(done, total);
        let mut rows: Vec<PlayerStats> = players
            .into_values()
            .map(|mut s| {
                s.rating = book.get(&s.login);
                s
            })
            .collect();
        rows.sort_by(|a, b| a.login.cmp(&b.login));

        let mut tx = self.db.begin_write().await?;
        let (sql, values) = self
            .db
            .build(&Query::delete().from_table(PlayerRatings::Table).to_owned());
        sqlx::query_with(sql, values).execute(&mut *tx).await?;
        for chunk in rows.chunks(INSERT_ROWS) {
            let (sql, values) = self.db.build(&player_insert(chunk));
            sqlx::query_with(sql, values).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(RebuildReport {
            battles: done,
            players: rows.len() as u64,
        })
    }

    /// Calls `visit` with every stored battle in (started_at, id) order, a
    /// page at a time (each page's queries within the operation timeout).
    pub async fn for_each_battle(&self, mut visit: impl FnMut(&Battle)) -> Result<(), StoreError> {
        let mut after: Option<(i64, i64)> = None;
        loop {
            let page = self.db.bounded(self.page_after(after)).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some((last.started_at, last.id));
            let full = page.len() as u64 == PAGE;
            for battle in &page {
                visit(battle);
            }
            if !full {
                return Ok(());
            }
        }
    }

    async fn page_after(&self, after: Option<(i64, i64)>) -> Result<Vec<Battle>, StoreError> {
        let mut query = Query::select();
        query
            .columns([
                Battles::Id,
                Battles::Mode,
                Battles::StartedAt,
                Battles::DurationSecs,
            ])
            .from(Battles::Table)
            .order_by(Battles::StartedAt, Order::Asc)
            .order_by(Battles::Id, Order::Asc)
            .limit(PAGE);
        if let Some((started_at, id)) = after {
            // Keyset pagination written so every backend walks the
            // (started_at, id) index in order: the leading range on
            // started_at bounds the scan. The plain `a > x OR (a = x AND
            // b > y)` made SQLite gather the rest of the table and sort it
            // for every page (quadratic: 1M battles took 198 s to rebuild).
            query.cond_where(
                Expr::col(Battles::StartedAt).gte(started_at).and(
                    Expr::col(Battles::StartedAt)
                        .gt(started_at)
                        .or(Expr::col(Battles::Id).gt(id)),
                ),
            );
        }
        let mut battles = self
            .db
            .fetch_all(&query, |r| {
                let mode: String = r.try_get(1)?;
                Ok(Battle {
                    id: r.try_get(0)?,
                    mode: Mode::parse(&mode).unwrap_or(Mode::Pve),
                    started_at: r.try_get(2)?,
                    duration_secs: u32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0),
                    participants: Vec::new(),
                })
            })
            .await?;
        let index: HashMap<i64, usize> =
            battles.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        let ids: Vec<i64> = battles.iter().map(|b| b.id).collect();
        for chunk in ids.chunks(IN_LIST) {
            let query = Query::select()
                .columns([
                    BattleParticipants::BattleId,
                    BattleParticipants::Login,
                    BattleParticipants::Team,
                    BattleParticipants::Won,
                    BattleParticipants::Kills,
                    BattleParticipants::Deaths,
                    BattleParticipants::DamageDealt,
                    BattleParticipants::DamageTaken,
                    BattleParticipants::Level,
                ])
                .from(BattleParticipants::Table)
                .and_where(Expr::col(BattleParticipants::BattleId).is_in(chunk.iter().copied()))
                // The insertion order is not kept; login order makes a
                // battle's participant list (and so the team order the
                // rating update sees) the same on every read.
                .order_by(BattleParticipants::BattleId, Order::Asc)
                .order_by(BattleParticipants::Login, Order::Asc)
                .take();
            let rows = self
                .db
                .fetch_all(&query, |r| {
                    let n = |i: usize| r.try_get::<i64, _>(i);
                    Ok((
                        n(0)?,
                        Participant {
                            login: r.try_get(1)?,
                            team: u8::try_from(n(2)?).unwrap_or(0),
                            won: n(3)? != 0,
                            kills: u32::try_from(n(4)?).unwrap_or(0),
                            deaths: u32::try_from(n(5)?).unwrap_or(0),
                            damage_dealt: u64::try_from(n(6)?).unwrap_or(0),
                            damage_taken: u64::try_from(n(7)?).unwrap_or(0),
                            level: u16::try_from(n(8)?).unwrap_or(0),
                        },
                    ))
                })
                .await?;
            for (id, p) in rows {
                if let Some(&i) = index.get(&id) {
                    battles[i].participants.push(p);
                }
            }
        }
        Ok(battles)
    }

    /// How many stored battles are synthetic (ids below zero, see
    /// [`demo_id`]).
    pub async fn count_demo_battles(&self) -> Result<u64, StoreError> {
        self.count(Some(Expr::col(Battles::Id).lt(0))).await
    }

    /// Deletes every synthetic battle (ids below zero) and its participants
    /// in one transaction; returns how many battles went. The player rows
    /// still count them until [`Battles::rebuild`] runs.
    pub async fn purge_demo(&self) -> Result<u64, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let (sql, values) = self.db.build(
            &Query::delete()
                .from_table(BattleParticipants::Table)
                .and_where(Expr::col(BattleParticipants::BattleId).lt(0))
                .to_owned(),
        );
        sqlx::query_with(sql, values).execute(&mut *tx).await?;
        let (sql, values) = self.db.build(
            &Query::delete()
                .from_table(Battles::Table)
                .and_where(Expr::col(Battles::Id).lt(0))
                .to_owned(),
        );
        let removed = sqlx::query_with(sql, values)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }

    /// How many battles are stored, real and synthetic.
    pub async fn count_battles(&self) -> Result<u64, StoreError> {
        self.count(None).await
    }

    /// `COUNT(*)` of the battles matching `condition` (all when `None`).
    async fn count(&self, condition: Option<SimpleExpr>) -> Result<u64, StoreError> {
        self.db
            .bounded(async {
                let mut query = Query::select()
                    .expr(Expr::col(Battles::Id).count())
                    .from(Battles::Table)
                    .take();
                if let Some(condition) = condition {
                    query.and_where(condition);
                }
                let n = self
                    .db
                    .fetch_all(&query, |r| r.try_get::<i64, _>(0))
                    .await?;
                Ok(Ord::max(n.first().copied().unwrap_or(0), 0) as u64)
            })
            .await
    }

    /// One player's row, found by any case (and any Unicode normal form) of
    /// the login; `None` when the login never appeared in a battle. Should two
    /// rows share the key (two ingestions racing with a new player's two
    /// spellings), the one with more battles answers.
    pub async fn player(&self, login: &str) -> Result<Option<PlayerStats>, StoreError> {
        self.db
            .bounded(async {
                let query = player_select()
                    .and_where(Expr::col(PlayerRatings::LoginKey).eq(normalise_login(login)))
                    .order_by(PlayerRatings::Battles, Order::Desc)
                    .order_by(PlayerRatings::Login, Order::Asc)
                    .limit(1)
                    .take();
                let rows = self.db.fetch_all(&query, player_from_row).await?;
                Ok(rows.into_iter().next())
            })
            .await
    }

    /// The stored ratings of `logins`, keyed by each login's case-insensitive
    /// key ([`normalise_login`]); absent logins are left out.
    pub async fn ratings(&self, logins: &[&str]) -> Result<HashMap<String, Rating>, StoreError> {
        let keys: Vec<String> = logins
            .iter()
            .map(|l| normalise_login(l))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        self.db
            .bounded(async {
                let mut out = HashMap::new();
                for chunk in keys.chunks(IN_LIST) {
                    // Fewest battles first: where two rows share a key, the
                    // one with more battles is inserted last and answers.
                    let query = player_select()
                        .and_where(Expr::col(PlayerRatings::LoginKey).is_in(chunk.iter().cloned()))
                        .order_by(PlayerRatings::Battles, Order::Asc)
                        .order_by(PlayerRatings::Login, Order::Desc)
                        .take();
                    for s in self.db.fetch_all(&query, player_from_row).await? {
                        out.insert(normalise_login(&s.login), s.rating);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Players by conservative rating (mu − 3σ), best first, ties by login;
    /// only those with at least `min_battles` (and at least one) battles of
    /// `mode`.
    pub async fn leaderboard(
        &self,
        mode: LeaderboardMode,
        limit: u64,
        min_battles: u64,
    ) -> Result<Vec<PlayerStats>, StoreError> {
        self.db
            .bounded(async {
                let min = clamp_u64(Ord::max(min_battles, 1));
                let filter: SimpleExpr = match mode {
                    LeaderboardMode::Pvp => Expr::col(PlayerRatings::PvpBattles).gte(min),
                    LeaderboardMode::All => Expr::col(PlayerRatings::Battles).gte(min),
                    LeaderboardMode::Pve => Expr::col(PlayerRatings::Battles)
                        .sub(Expr::col(PlayerRatings::PvpBattles))
                        .gte(min),
                };
                let query = player_select()
                    .and_where(filter)
                    .order_by(PlayerRatings::Score, Order::Desc)
                    .order_by(PlayerRatings::Login, Order::Asc)
                    .limit(Ord::min(limit, i64::MAX as u64))
                    .take();
                self.db.fetch_all(&query, player_from_row).await
            })
            .await
    }

    /// Battles and active players per UTC day from the start of the day
    /// holding `since` on, and totals over that window.
    pub async fn summary(&self, since: i64) -> Result<Summary, StoreError> {
        self.db
            .bounded(async {
                let since_day = since.div_euclid(DAY);
                let query = Query::select()
                    .column(Battles::Day)
                    .expr(Expr::col(Battles::Id).count())
                    .from(Battles::Table)
                    .and_where(Expr::col(Battles::Day).gte(since_day))
                    .group_by_col(Battles::Day)
                    .take();
                let per_day = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
                    })
                    .await?;
                let query = Query::select()
                    .column((Battles::Table, Battles::Day))
                    .expr(
                        Expr::col((BattleParticipants::Table, BattleParticipants::Login))
                            .count_distinct(),
                    )
                    .from(BattleParticipants::Table)
                    .inner_join(
                        Battles::Table,
                        Expr::col((Battles::Table, Battles::Id))
                            .equals((BattleParticipants::Table, BattleParticipants::BattleId)),
                    )
                    .and_where(Expr::col((Battles::Table, Battles::Day)).gte(since_day))
                    .group_by_col((Battles::Table, Battles::Day))
                    .take();
                let active = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
                    })
                    .await?;
                let query = Query::select()
                    .expr(Expr::col((BattleParticipants::Table, BattleParticipants::Login)).count())
                    .expr(
                        Expr::col((BattleParticipants::Table, BattleParticipants::Login))
                            .count_distinct(),
                    )
                    .from(BattleParticipants::Table)
                    .inner_join(
                        Battles::Table,
                        Expr::col((Battles::Table, Battles::Id))
                            .equals((BattleParticipants::Table, BattleParticipants::BattleId)),
                    )
                    .and_where(Expr::col((Battles::Table, Battles::Day)).gte(since_day))
                    .take();
                let totals = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
                    })
                    .await?;
                let query = Query::select()
                    .expr(Expr::col(Battles::Id).count())
                    .from(Battles::Table)
                    .and_where(Expr::col(Battles::Day).gte(since_day))
                    .and_where(Expr::col(Battles::Mode).eq(Mode::Pvp.as_str()))
                    .take();
                let pvp = self
                    .db
                    .fetch_all(&query, |r| r.try_get::<i64, _>(0))
                    .await?;

                let mut days: BTreeMap<i64, DaySummary> = BTreeMap::new();
                for (day, battles) in per_day {
                    days.entry(day)
                        .or_insert(DaySummary {
                            day_start: day * DAY,
                            battles: 0,
                            active_players: 0,
                        })
                        .battles = battles;
                }
                for (day, players) in active {
                    if let Some(d) = days.get_mut(&day) {
                        d.active_players = players;
                    }
                }
                let (participants, active_players) = totals.first().copied().unwrap_or((0, 0));
                Ok(Summary {
                    since: since_day * DAY,
                    battles: days.values().map(|d| d.battles).sum(),
                    pvp_battles: pvp.first().copied().unwrap_or(0),
                    participants,
                    active_players,
                    days: days.into_values().collect(),
                })
            })
            .await
    }
}

/// What `rebuild` recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    pub battles: u64,
    pub players: u64,
}

/// Which key an insert-ignore skips on.
#[derive(Clone, Copy)]
enum ConflictKey {
    Battle,
    Player,
}

const PLAYER_VALUE_COLUMNS: [PlayerRatings; 12] = [
    PlayerRatings::Mu,
    PlayerRatings::Sigma,
    PlayerRatings::Score,
    PlayerRatings::Battles,
    PlayerRatings::Wins,
    PlayerRatings::PvpBattles,
    PlayerRatings::PvpWins,
    PlayerRatings::Kills,
    PlayerRatings::Deaths,
    PlayerRatings::DamageDealt,
    PlayerRatings::DamageTaken,
    PlayerRatings::UpdatedAt,
];

/// `battle` with each participant's login replaced by the spelling its key
/// has in `spelling`; a key not there yet takes this battle's spelling.
fn with_one_spelling(battle: &Battle, spelling: &mut HashMap<String, String>) -> Battle {
    let mut battle = battle.clone();
    for p in &mut battle.participants {
        let known = spelling
            .entry(normalise_login(&p.login))
            .or_insert_with(|| p.login.clone());
        if *known != p.login {
            p.login.clone_from(known);
        }
    }
    battle
}

fn player_insert(rows: &[PlayerStats]) -> InsertStatement {
    let mut insert = Query::insert();
    insert.into_table(PlayerRatings::Table).columns(
        [PlayerRatings::Login, PlayerRatings::LoginKey]
            .into_iter()
            .chain(PLAYER_VALUE_COLUMNS),
    );
    for s in rows {
        insert.values_panic([
            s.login.as_str().into(),
            normalise_login(&s.login).into(),
            s.rating.mu.into(),
            s.rating.sigma.into(),
            s.rating.conservative().into(),
            s.battles.into(),
            s.wins.into(),
            s.pvp_battles.into(),
            s.pvp_wins.into(),
            s.kills.into(),
            s.deaths.into(),
            s.damage_dealt.into(),
            s.damage_taken.into(),
            s.updated_at.into(),
        ]);
    }
    insert
}

fn player_select() -> sea_query::SelectStatement {
    Query::select()
        .column(PlayerRatings::Login)
        .columns(PLAYER_VALUE_COLUMNS)
        .from(PlayerRatings::Table)
        .take()
}

fn player_from_row(r: &sqlx::any::AnyRow) -> Result<PlayerStats, sqlx::Error> {
    let n = |i: usize| r.try_get::<i64, _>(i);
    Ok(PlayerStats {
        login: r.try_get(0)?,
        rating: Rating {
            mu: r.try_get(1)?,
            sigma: r.try_get(2)?,
        },
        battles: n(4)?,
        wins: n(5)?,
        pvp_battles: n(6)?,
        pvp_wins: n(7)?,
        kills: n(8)?,
        deaths: n(9)?,
        damage_dealt: n(10)?,
        damage_taken: n(11)?,
        updated_at: n(12)?,
    })
}

/// Lock conflicts and deadlocks between concurrent batches: a fresh
/// transaction gets past them.
fn is_retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Unavailable(e) => database_error(e).is_some_and(is_transient),
        _ => false,
    }
}

/// How many players' conservative ratings (mu − 3σ, the leaderboard's order)
/// fall in each of equal-width bins from the lowest to the highest.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingHistogram {
    /// Lower edge of the first bin; `None` when no player qualifies.
    pub min: Option<f64>,
    /// Upper edge of the last bin (the highest rating, inclusive).
    pub max: Option<f64>,
    pub bin_width: f64,
    /// Players per bin, lowest first; empty when no player qualifies.
    pub counts: Vec<i64>,
    pub players: i64,
}

impl BattleLog<'_> {
    /// The distribution of the conservative rating over players with at
    /// least `min_pvp_battles` PvP battles (ratings move only in PvP), in
    /// `bins` bins. Counted in the database — one `COUNT(CASE …)` per bin in a
    /// single scan, portable to every backend — so no rating leaves it. When
    /// every rating is equal, one unit-wide range holds them all.
    pub async fn rating_histogram(
        &self,
        bins: usize,
        min_pvp_battles: u64,
    ) -> Result<RatingHistogram, StoreError> {
        let bins = bins.max(1);
        self.db
            .bounded(async {
                let qualifies =
                    || Expr::col(PlayerRatings::PvpBattles).gte(clamp_u64(min_pvp_battles));
                let query = Query::select()
                    .expr(Expr::col(PlayerRatings::Score).min())
                    .expr(Expr::col(PlayerRatings::Score).max())
                    .expr(Expr::col(PlayerRatings::Login).count())
                    .from(PlayerRatings::Table)
                    .and_where(qualifies())
                    .take();
                let range = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((
                            r.try_get::<Option<f64>, _>(0)?,
                            r.try_get::<Option<f64>, _>(1)?,
                            r.try_get::<i64, _>(2)?,
                        ))
                    })
                    .await?;
                let (Some(low), Some(high), players) =
                    range.first().copied().unwrap_or((None, None, 0))
                else {
                    return Ok(RatingHistogram {
                        min: None,
                        max: None,
                        bin_width: 0.0,
                        counts: Vec::new(),
                        players: 0,
                    });
                };
                let high = if high > low { high } else { low + 1.0 };
                let width = (high - low) / bins as f64;
                // Inner edges only: the first bin takes everything below the
                // second edge and the last everything from its own, so each
                // row lands in exactly one bin whatever the rounding.
                let edge = |i: usize| low + width * i as f64;
                let score = || Expr::col(PlayerRatings::Score);
                let mut query = Query::select();
                for i in 0..bins {
                    let mut condition = sea_query::Condition::all();
                    if i > 0 {
                        condition = condition.add(score().gte(edge(i)));
                    }
                    if i + 1 < bins {
                        condition = condition.add(score().lt(edge(i + 1)));
                    }
                    let in_bin: SimpleExpr = match i == 0 && bins == 1 {
                        true => Expr::val(1),
                        false => Expr::case(condition, 1).into(),
                    };
                    query.expr(in_bin.count());
                }
                query.from(PlayerRatings::Table).and_where(qualifies());
                let counts = self
                    .db
                    .fetch_all(&query, |r| {
                        (0..bins).map(|i| r.try_get::<i64, _>(i)).collect()
                    })
                    .await?;
                Ok(RatingHistogram {
                    min: Some(low),
                    max: Some(high),
                    bin_width: width,
                    counts: counts.into_iter().next().unwrap_or_default(),
                    players,
                })
            })
            .await
    }
}

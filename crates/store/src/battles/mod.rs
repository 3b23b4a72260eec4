//! The battle-log aggregate: `battles`, `battle_participants` and the
//! per-player `player_ratings` derived from them.
//!
//! Ingestion is idempotent by the game server's battle id and runs in one
//! transaction per batch: battles and participants go in through one bulk
//! step per backend (`bulk.rs`: `INSERT … SELECT UNNEST` of arrays on
//! PostgreSQL, multi-row VALUES elsewhere) that skips ids already stored, and the players of the
//! battles that were new get their totals and (PvP only) their rating
//! updated in the same transaction. `rebuild` recomputes every
//! player row from the stored battles in (started_at, id) order, which is
//! the order ingestion applies them in, so an in-order history gives the same
//! ratings either way. Long imports go through an [`IngestPipeline`], which
//! overlaps one batch's writes with the previous batch's rating and commit.
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
use crate::error::{StoreError, database_error, is_transient, is_unique_violation};
use crate::unix_now;

/// The id a synthetic (demo) battle is stored under: the generator's id
/// `n` (1, 2, …) as `-n`. Real battles have positive ids (ingestion refuses
/// others), so demo data can never collide with a real battle, and
/// [`BattleLog::purge_demo`] removes exactly it.
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
    /// Newly stored; its players' totals (and, for PvP, ratings) were updated.
    Inserted,
    /// Already stored (or earlier in the same batch): nothing changed.
    Duplicate,
}

/// One player's row: totals over every stored battle and the rating.
#[derive(Debug, Clone, PartialEq)]
pub struct PlayerStats {
    /// The login with the spelling first seen for this player (NFC); the row's
    /// key is its [`normalise_login`] form.
    pub login: String,
    /// Rating (mu, sigma) of the production model
    /// ([`gamegate_analytics::RatingBook`]); moves only in PvP battles.
    pub rating: Rating,
    /// Battles of any mode.
    pub battles: i64,
    /// Battles of any mode the player's team won.
    pub wins: i64,
    /// PvP battles.
    pub pvp_battles: i64,
    /// PvP battles won.
    pub pvp_wins: i64,
    /// Kills over every battle.
    pub kills: i64,
    /// Deaths over every battle.
    pub deaths: i64,
    /// Damage dealt over every battle, in the game server's damage points
    /// (saturates at `i64::MAX`).
    pub damage_dealt: i64,
    /// Damage taken over every battle, in the game server's damage points
    /// (saturates at `i64::MAX`).
    pub damage_taken: i64,
    /// When the row was last written, Unix seconds.
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
    /// Count PvP battles (`pvp_battles`).
    Pvp,
    /// Count PvE battles (`battles − pvp_battles`).
    Pve,
    /// Count battles of any mode.
    All,
}

/// Battles and distinct players of one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    /// Unix seconds of the day's start (UTC).
    pub day_start: i64,
    /// Battles started that day.
    pub battles: i64,
    /// Distinct players (case-insensitive logins) in those battles.
    pub active_players: i64,
}

/// Activity from `since_day_start` on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Start of the window: the UTC midnight (Unix seconds) of the day holding the
    /// `since` asked for.
    pub since: i64,
    /// Battles in the window.
    pub battles: i64,
    /// PvP battles in the window.
    pub pvp_battles: i64,
    /// Participant rows in the window (one per player per battle).
    pub participants: i64,
    /// Distinct players in the window.
    pub active_players: i64,
    /// Only days with at least one battle, ascending.
    pub days: Vec<DaySummary>,
}

/// The distinct case-insensitive keys ([`normalise_login`]) of `logins`,
/// sorted: the order every batch locks players in.
fn sorted_keys<'l>(logins: impl IntoIterator<Item = &'l str>) -> Vec<String> {
    logins
        .into_iter()
        .map(normalise_login)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn clamp_u64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

enum Attempt<T> {
    Done(T),
    Retry,
}

/// The battle log (`battles`, `battle_participants`, `player_ratings`) of one
/// database, from [`Database::battles`]. Every operation runs within the
/// pool's operation timeout and errs with [`StoreError::TimedOut`],
/// [`StoreError::Unavailable`] (unreachable, or a lock conflict that outlasts
/// the retries) or [`StoreError::Query`].
pub struct BattleLog<'a> {
    db: &'a Database,
}

impl Database {
    /// Battle logs and player ratings (the analytics database; [`BattleLog`]).
    pub fn battles(&self) -> BattleLog<'_> {
        BattleLog::new(self)
    }
}

mod bulk;
mod ingest;
mod pipeline;
mod queries;

pub use ingest::RebuildReport;
pub use pipeline::{IngestPipeline, IngestedBatch};
pub use queries::RatingHistogram;

impl<'a> BattleLog<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }
}

/// A participant row's columns, in the order ingestion writes them and
/// reads them back.
const PARTICIPANT_COLUMNS: [BattleParticipants; 9] = [
    BattleParticipants::BattleId,
    BattleParticipants::Login,
    BattleParticipants::Team,
    BattleParticipants::Won,
    BattleParticipants::Kills,
    BattleParticipants::Deaths,
    BattleParticipants::DamageDealt,
    BattleParticipants::DamageTaken,
    BattleParticipants::Level,
];

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

/// Where `login_key` is in a row of [`player_select`] with that column
/// added: after the login and the value columns.
const PLAYER_KEY_INDEX: usize = 1 + PLAYER_VALUE_COLUMNS.len();

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

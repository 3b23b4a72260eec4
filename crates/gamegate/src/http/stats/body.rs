//! The statistics answers as the handlers serialise them. The public ones
//! (players, leaderboard, summary, prediction) are also the schemas of the
//! OpenAPI document ([`crate::http::openapi`]): their doc comments are its
//! descriptions, and their field order is the order of its `required` lists,
//! so a comment or field changed here changes docs/openapi.json.

use gamegate_analytics::Anomaly;
use gamegate_store::PlayerStats;
use gamegate_store::battles::{DaySummary, Summary};
use serde::Serialize;
use utoipa::ToSchema;

use crate::shared::timefmt::format_utc;

/// A skill rating: mean, uncertainty, and mu − 3σ (the leaderboard order).
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingBody {
    mu: f64,
    sigma: f64,
    conservative: f64,
}

impl RatingBody {
    fn of(s: &PlayerStats) -> Self {
        RatingBody {
            mu: s.rating.mu,
            sigma: s.rating.sigma,
            conservative: s.rating.conservative(),
        }
    }
}

/// Kills per death; with no deaths, the kills (the usual convention).
fn kill_death_ratio(kills: i64, deaths: i64) -> f64 {
    kills as f64 / Ord::max(deaths, 1) as f64
}

fn ratio(part: i64, whole: i64) -> f64 {
    match whole {
        0 => 0.0,
        _ => part as f64 / whole as f64,
    }
}

/// `GET /stats/players/{login}`: totals over every stored battle.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlayerStatsBody {
    login: String,
    /// Whether an account of the accounts database has this login (any
    /// state, case-insensitively): battles may name players who never
    /// registered here unless `analytics.require_registered_players` is on.
    registered: bool,
    battles: i64,
    wins: i64,
    win_rate: f64,
    pvp_battles: i64,
    pvp_wins: i64,
    kills: i64,
    deaths: i64,
    /// kills / deaths; with no deaths, the kills.
    kd: f64,
    damage_dealt: i64,
    damage_taken: i64,
    damage_per_battle: f64,
    rating: RatingBody,
}

impl PlayerStatsBody {
    /// `s`'s totals; `registered` as the accounts database says.
    pub(super) fn new(s: &PlayerStats, registered: bool) -> Self {
        PlayerStatsBody {
            login: s.login.clone(),
            registered,
            battles: s.battles,
            wins: s.wins,
            win_rate: ratio(s.wins, s.battles),
            pvp_battles: s.pvp_battles,
            pvp_wins: s.pvp_wins,
            kills: s.kills,
            deaths: s.deaths,
            kd: kill_death_ratio(s.kills, s.deaths),
            damage_dealt: s.damage_dealt,
            damage_taken: s.damage_taken,
            damage_per_battle: ratio(s.damage_dealt, s.battles),
            rating: RatingBody::of(s),
        }
    }
}

// One player of a leaderboard (no doc comment: it would become the
// schema's description).
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardEntry {
    rank: u32,
    login: String,
    rating: RatingBody,
    /// Battles and wins of the requested mode.
    battles: i64,
    wins: i64,
    win_rate: f64,
}

impl LeaderboardEntry {
    /// The `rank`-th player (from 1), counted with the `battles` and `wins`
    /// of the requested mode.
    pub(super) fn new(rank: u32, s: &PlayerStats, battles: i64, wins: i64) -> Self {
        LeaderboardEntry {
            rank,
            login: s.login.clone(),
            rating: RatingBody::of(s),
            battles,
            wins,
            win_rate: ratio(wins, battles),
        }
    }
}

/// `GET /stats/leaderboard`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaderboardBody {
    #[schema(example = "pvp")]
    pub(super) mode: &'static str,
    pub(super) limit: u32,
    pub(super) min_battles: u32,
    pub(super) players: Vec<LeaderboardEntry>,
}

// One day of a summary (no doc comment: it would become the schema's
// description).
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryDay {
    #[schema(example = "2026-11-25")]
    date: String,
    day_start: i64,
    battles: i64,
    active_players: i64,
}

impl From<&DaySummary> for SummaryDay {
    fn from(d: &DaySummary) -> Self {
        SummaryDay {
            // `YYYY-MM-DD` of `YYYY-MM-DD HH:MM`.
            date: format_utc(d.day_start)[..10].to_owned(),
            day_start: d.day_start,
            battles: d.battles,
            active_players: d.active_players,
        }
    }
}

/// `GET /stats/summary`: activity from the start of the UTC day `days - 1` days ago.
#[derive(Debug, Serialize, ToSchema)]
pub struct SummaryBody {
    days: u32,
    since: i64,
    battles: i64,
    pvp_battles: i64,
    participants: i64,
    active_players: i64,
    /// Only days with battles, ascending.
    per_day: Vec<SummaryDay>,
}

impl SummaryBody {
    /// The answer for a window of `days` days.
    pub(super) fn new(days: u32, summary: &Summary) -> Self {
        SummaryBody {
            days,
            since: summary.since,
            battles: summary.battles,
            pvp_battles: summary.pvp_battles,
            participants: summary.participants,
            active_players: summary.active_players,
            per_day: summary.days.iter().map(SummaryDay::from).collect(),
        }
    }
}

/// `GET /ml/predict`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PredictionBody {
    pub(super) team_a: Vec<String>,
    pub(super) team_b: Vec<String>,
    /// P(team A wins), from the stored ratings.
    pub(super) p_team_a_wins: f64,
    /// Logins with no stored rating: they count at the default (25 ± 8.33).
    pub(super) unknown_logins: Vec<String>,
    pub(super) note: &'static str,
}

/// `GET /ml/anomalies` (admin listener; not in the OpenAPI document).
#[derive(Debug, Serialize)]
pub struct AnomaliesBody {
    /// Unix seconds of the end of the pass answered from.
    pub(super) computed_at: i64,
    /// Battles that pass read.
    pub(super) battles_analysed: u64,
    /// The battle floor applied: the larger of the query's `min_battles` and
    /// `analytics.anomaly_min_battles`; every reason has at least this many
    /// battles behind it.
    pub(super) min_battles: u64,
    /// `analytics.anomaly_min_expected`: fewest wins and losses the ratings
    /// must have expected in a run of wins before it can count.
    pub(super) min_expected: f64,
    /// Family-wise error rate of the corrected p-values.
    pub(super) alpha: f64,
    /// Players flagged under these floors, before `limit`.
    pub(super) flagged: usize,
    /// The first `limit` of them, most suspicious first.
    pub(super) players: Vec<Anomaly>,
}

/// One item's result of a `POST /stats/battles` batch, in the batch's order.
#[derive(Debug, Serialize)]
pub struct ItemResult {
    /// The item's `id` when it had an integer one, else `null`.
    pub(super) id: Option<i64>,
    /// `inserted` (stored now), `duplicate` (the id was stored before;
    /// nothing changed) or `invalid`.
    pub(super) status: &'static str,
    /// Only when `invalid`: a stable code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
    /// Only when `invalid`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) message: Option<String>,
}

/// `POST /stats/battles` (ingest token; not in the OpenAPI document).
#[derive(Debug, Serialize)]
pub struct IngestBody {
    /// No item was invalid.
    pub(super) ok: bool,
    pub(super) inserted: u64,
    pub(super) duplicate: u64,
    pub(super) invalid: u64,
    pub(super) results: Vec<ItemResult>,
}

//! Players whose results are improbable for their rating. Battles are consumed
//! in order with the ratings each player had *before* the battle, as in
//! production, and every player is kept as a handful of running sums (O(1)
//! memory per player, whatever their number of battles):
//!
//! - **Improbable wins** (PvP): the surprise is the observed wins minus the sum
//!   of the win probabilities the ratings gave the player's team before each
//!   battle, divided by its binomial standard deviation √Σ p(1 − p). Under the
//!   rating model it is about standard normal; a player who keeps beating
//!   stronger opponents drifts far above it.
//! - **Damage outlier**: each battle's damage dealt is put on the robust scale
//!   of its (mode, level bucket of 5 levels) distribution:
//!   z = (ln(1 + damage) − median) / (1.4826 · MAD), the median and MAD read
//!   from a fixed-bin histogram of ln(1 + damage) per bucket (O(1) memory, up
//!   to a bin width of 0.02, about 2% in damage). A player's recent damage is
//!   the exponentially weighted mean of these z (weight 0.1 per battle, so
//!   about the last 10–20 battles count); skill moves it by well under one, a
//!   damage hack by three and more.

use std::borrow::Borrow;
use std::collections::HashMap;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::battle::{Battle, Mode};
use crate::predict::{pvp_sides, win_probability};
use crate::ratings::{Rating, RatingBook};

/// Surprise (z) at or above which a player's wins are flagged.
pub const WIN_Z: f64 = 4.5;
/// Recent mean robust damage z at or above which a player's damage is flagged.
pub const DAMAGE_Z: f64 = 3.0;
/// Battles with a damage score a player needs before damage can flag them.
const MIN_DAMAGE_BATTLES: u32 = 10;
/// Observations a level bucket needs before its median and MAD are trusted.
const MIN_BUCKET: u64 = 200;
const EWMA_WEIGHT: f64 = 0.1;

const LEVELS_PER_BUCKET: u16 = 5;
/// Levels above this share the top bucket.
const TOP_LEVEL: u16 = 100;
const BIN_WIDTH: f64 = 0.02;
/// ln(1 + damage) up to 24 (damage ≈ 2.6e10) gets its own bin; above, the last.
const BINS: usize = 1200;

/// Why a player is flagged; serialised as
/// `{"kind": "improbable_wins" | "damage_outlier", …the variant's fields, "sentence": "…"}`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// Won far more PvP battles than the ratings before each predicted.
    ImprobableWins {
        /// PvP battles in the most surprising run of consecutive PvP battles.
        battles: u32,
        /// Battles of that run the player's team won.
        wins: u32,
        /// Wins the ratings before each battle predicted for that run (Σ p).
        expected: f64,
        /// (wins − expected) / √Σ p(1 − p), in standard deviations; flagged at
        /// [`WIN_Z`] and above.
        z: f64,
    },
    /// Deals damage far outside the distribution of their level.
    DamageOutlier {
        /// The player's level in their latest battle.
        level: u16,
        /// Recent damage dealt over the median of the player's (mode, level bucket),
        /// as a factor (the exponentially weighted geometric mean; 3.0 = three times).
        ratio_to_median: f64,
        /// Recent robust z of damage (EWMA, weight 0.1 per battle) in standard
        /// deviations; flagged at [`DAMAGE_Z`] and above.
        z: f64,
    },
}

impl Reason {
    /// The reason's stable tag: `"improbable_wins"` or `"damage_outlier"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::ImprobableWins { .. } => "improbable_wins",
            Reason::DamageOutlier { .. } => "damage_outlier",
        }
    }

    /// The reason's z, in standard deviations.
    pub fn z(&self) -> f64 {
        match self {
            Reason::ImprobableWins { z, .. } | Reason::DamageOutlier { z, .. } => *z,
        }
    }

    /// One sentence an operator can read.
    pub fn sentence(&self) -> String {
        match self {
            Reason::ImprobableWins {
                battles,
                wins,
                expected,
                z,
            } => format!(
                "won {wins} of {battles} PvP battles where the ratings before each battle \
                 predicted {expected:.1} wins (z = {z:.1})"
            ),
            Reason::DamageOutlier {
                level,
                ratio_to_median,
                z,
            } => format!(
                "recently deals {ratio_to_median:.1}× the median damage of level {level} players \
                 (robust z = {z:.1})"
            ),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.sentence())
    }
}

/// `{"kind": "improbable_wins", …fields, "sentence": "…"}`.
impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s;
        match self {
            Reason::ImprobableWins {
                battles,
                wins,
                expected,
                z,
            } => {
                s = serializer.serialize_struct("Reason", 6)?;
                s.serialize_field("kind", self.kind())?;
                s.serialize_field("battles", battles)?;
                s.serialize_field("wins", wins)?;
                s.serialize_field("expected", expected)?;
                s.serialize_field("z", z)?;
            }
            Reason::DamageOutlier {
                level,
                ratio_to_median,
                z,
            } => {
                s = serializer.serialize_struct("Reason", 5)?;
                s.serialize_field("kind", self.kind())?;
                s.serialize_field("level", level)?;
                s.serialize_field("ratio_to_median", ratio_to_median)?;
                s.serialize_field("z", z)?;
            }
        }
        s.serialize_field("sentence", &self.sentence())?;
        s.end()
    }
}

/// A flagged player, as `GET /ml/anomalies` lists them:
/// `{"login", "score", "reasons": [Reason…]}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Anomaly {
    /// The player's login as the battles spell it.
    pub login: String,
    /// The largest z among the reasons: how improbable, in standard deviations.
    pub score: f64,
    /// Every reason the player is flagged for, at least one.
    pub reasons: Vec<Reason>,
}

/// Running sums for one player.
#[derive(Debug, Clone, Copy, Default)]
struct PlayerSums {
    battles: u32,
    level: u16,
    pvp: u32,
    wins: u32,
    expected_wins: f64,
    win_variance: f64,
    /// The current and the most surprising run of consecutive PvP battles
    /// (the maximum-sum segment of won − p, found by Kadane's scan).
    streak: Streak,
    best_streak: Streak,
    damage_scored: u32,
    /// Exponentially weighted sums (value and weight, so early battles are
    /// not biased towards the starting zero).
    damage_z: f64,
    damage_log_ratio: f64,
    damage_weight: f64,
}

/// A run of consecutive PvP battles of one player.
#[derive(Debug, Clone, Copy, Default)]
struct Streak {
    battles: u32,
    wins: u32,
    expected: f64,
    variance: f64,
}

impl Streak {
    fn surprise(&self) -> f64 {
        f64::from(self.wins) - self.expected
    }

    fn z(&self) -> f64 {
        if self.variance > 0.0 {
            self.surprise() / self.variance.sqrt()
        } else {
            0.0
        }
    }
}

/// Fixed-bin histogram of ln(1 + damage) for one (mode, level bucket), with
/// its median and scaled MAD cached and refreshed as it grows.
#[derive(Debug, Clone)]
struct LevelBucket {
    bins: Vec<u32>,
    count: u64,
    median: f64,
    robust_sd: f64,
    refreshed_at: u64,
}

impl LevelBucket {
    fn new() -> Self {
        LevelBucket {
            bins: vec![0; BINS],
            count: 0,
            median: 0.0,
            robust_sd: 0.0,
            refreshed_at: 0,
        }
    }

    fn bin(value: f64) -> usize {
        ((value / BIN_WIDTH) as usize).min(BINS - 1)
    }

    fn add(&mut self, value: f64) {
        self.bins[Self::bin(value)] += 1;
        self.count += 1;
        // Refresh after growing by 1/16 (at least 32): amortised O(1).
        if self.count - self.refreshed_at >= (self.count / 16).max(32) {
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        self.refreshed_at = self.count;
        let half = self.count.div_ceil(2);
        let mut seen = 0u64;
        let mut median_bin = 0;
        for (i, n) in self.bins.iter().enumerate() {
            seen += u64::from(*n);
            if seen >= half {
                median_bin = i;
                break;
            }
        }
        self.median = (median_bin as f64 + 0.5) * BIN_WIDTH;
        // MAD: the median of |bin − median_bin|, counted outwards in bins.
        let mut seen = u64::from(self.bins[median_bin]);
        let mut distance = 0usize;
        while seen < half {
            distance += 1;
            if median_bin >= distance {
                seen += u64::from(self.bins[median_bin - distance]);
            }
            if median_bin + distance < BINS {
                seen += u64::from(self.bins[median_bin + distance]);
            }
        }
        self.robust_sd = 1.4826 * (distance as f64).max(0.5) * BIN_WIDTH;
    }

    /// Robust z of a value, once the bucket holds enough to judge.
    fn z(&self, value: f64) -> Option<f64> {
        (self.count >= MIN_BUCKET && self.robust_sd > 0.0)
            .then(|| (value - self.median) / self.robust_sd)
    }
}

/// The anomaly detector: running sums per player and a damage histogram per
/// (mode, level bucket), fed battle by battle in time order
/// ([`observe`](Self::observe)). Memory is O(players + buckets), not
/// O(battles).
#[derive(Debug, Clone, Default)]
pub struct Detector {
    players: HashMap<String, PlayerSums>,
    buckets: HashMap<(Mode, u16), LevelBucket>,
}

impl Detector {
    /// An empty detector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Players seen so far.
    pub fn len(&self) -> usize {
        self.players.len()
    }

    /// Whether no player has been seen yet.
    pub fn is_empty(&self) -> bool {
        self.players.is_empty()
    }

    /// Takes one battle, with each participant's rating before it.
    pub fn observe(&mut self, battle: &Battle, rating_before: impl Fn(&str) -> Rating) {
        if let Some((a, b)) = pvp_sides(battle) {
            let ratings = |side: &[&crate::battle::Participant]| -> Vec<Rating> {
                side.iter().map(|p| rating_before(&p.login)).collect()
            };
            let p_a = win_probability(&ratings(&a), &ratings(&b));
            for (side, p) in [(&a, p_a), (&b, 1.0 - p_a)] {
                for participant in side.iter() {
                    let sums = self.players.entry(participant.login.clone()).or_default();
                    sums.pvp += 1;
                    sums.wins += u32::from(participant.won);
                    sums.expected_wins += p;
                    sums.win_variance += p * (1.0 - p);
                    let streak = &mut sums.streak;
                    streak.battles += 1;
                    streak.wins += u32::from(participant.won);
                    streak.expected += p;
                    streak.variance += p * (1.0 - p);
                    if streak.surprise() <= 0.0 {
                        *streak = Streak::default();
                    } else if streak.surprise() > sums.best_streak.surprise() {
                        sums.best_streak = *streak;
                    }
                }
            }
        }
        for participant in &battle.participants {
            let value = (participant.damage_dealt as f64).ln_1p();
            let key = (
                battle.mode,
                participant.level.min(TOP_LEVEL) / LEVELS_PER_BUCKET,
            );
            let bucket = self.buckets.entry(key).or_insert_with(LevelBucket::new);
            // Scored against the bucket as it was before this battle.
            let scored = bucket.z(value).map(|z| (z, value - bucket.median));
            bucket.add(value);
            let sums = self.players.entry(participant.login.clone()).or_default();
            sums.battles += 1;
            sums.level = participant.level;
            if let Some((z, log_ratio)) = scored {
                let keep = 1.0 - EWMA_WEIGHT;
                sums.damage_scored += 1;
                sums.damage_z = keep * sums.damage_z + EWMA_WEIGHT * z;
                sums.damage_log_ratio = keep * sums.damage_log_ratio + EWMA_WEIGHT * log_ratio;
                sums.damage_weight = keep * sums.damage_weight + EWMA_WEIGHT;
            }
        }
    }

    /// Players with at least `min_battles` battles and at least one reason,
    /// most improbable first (ties by login).
    pub fn flagged(&self, min_battles: u32) -> Vec<Anomaly> {
        let mut out: Vec<Anomaly> = self
            .players
            .iter()
            .filter(|(_, s)| s.battles >= min_battles)
            .filter_map(|(login, s)| {
                let reasons = reasons(s);
                let score = reasons
                    .iter()
                    .map(Reason::z)
                    .fold(f64::NEG_INFINITY, f64::max);
                (!reasons.is_empty()).then(|| Anomaly {
                    login: login.clone(),
                    score,
                    reasons,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.login.cmp(&b.login))
        });
        out
    }
}

fn reasons(s: &PlayerSums) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let streak = &s.best_streak;
    if streak.z() >= WIN_Z {
        reasons.push(Reason::ImprobableWins {
            battles: streak.battles,
            wins: streak.wins,
            expected: streak.expected,
            z: streak.z(),
        });
    }
    if s.damage_scored >= MIN_DAMAGE_BATTLES && s.damage_weight > 0.0 {
        let z = s.damage_z / s.damage_weight;
        if z >= DAMAGE_Z {
            reasons.push(Reason::DamageOutlier {
                level: s.level,
                ratio_to_median: (s.damage_log_ratio / s.damage_weight).exp(),
                z,
            });
        }
    }
    reasons
}

/// Ratings and anomaly detection in one pass over battles in time order: each
/// battle is scored with the ratings before it, then applied. What
/// `ratings rebuild` and the statistics service run.
///
/// Takes references or owned battles, so a `synth::stream` (or a database
/// cursor) can be fed without collecting it first.
pub fn analyse<B: Borrow<Battle>>(battles: impl IntoIterator<Item = B>) -> (RatingBook, Detector) {
    let mut book = RatingBook::new();
    let mut detector = Detector::new();
    for battle in battles {
        let battle = battle.borrow();
        detector.observe(battle, |login| book.get(login));
        book.apply(battle);
    }
    (book, detector)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::battle::Participant;
    use crate::synth::{CheatKind, SynthConfig, generate};

    /// The stated set: 500 players, 30 000 battles, seed 42, 80% PvP, teams
    /// of 1–5; with 4% cheaters (20: 10 aimbots, 10 damage hacks) or none.
    fn stated_set(cheater_fraction: f64) -> SynthConfig {
        SynthConfig {
            players: 500,
            battles: 30_000,
            seed: 42,
            cheater_fraction,
            ..SynthConfig::default()
        }
    }

    const MIN_BATTLES: u32 = 30;

    #[test]
    fn planted_cheaters_are_found_with_the_right_reason() {
        let (battles, truth) = generate(&stated_set(0.04));
        let (_, detector) = analyse(&battles);
        let flagged = detector.flagged(MIN_BATTLES);
        let found: Vec<&Anomaly> = flagged
            .iter()
            .filter(|a| truth.cheaters.contains(&a.login))
            .collect();
        let false_positives = flagged.len() - found.len();
        let honest = truth.skill.len() - truth.cheaters.len();
        let recall = found.len() as f64 / truth.cheaters.len() as f64;
        let fp_rate = false_positives as f64 / honest as f64;
        // Measured on this set: recall 1.0 (20/20), 0 false positives of 480.
        assert_eq!(truth.cheaters.len(), 20);
        assert!(recall >= 0.8, "recall {recall}: {flagged:#?}");
        assert!(
            fp_rate <= 0.01,
            "false-positive rate {fp_rate}: {flagged:#?}"
        );
        // Each kind is caught for what it does.
        for anomaly in &found {
            let expected = match truth.cheats[&anomaly.login].kind {
                CheatKind::Aimbot => "improbable_wins",
                CheatKind::DamageHack => "damage_outlier",
            };
            assert!(
                anomaly.reasons.iter().any(|r| r.kind() == expected),
                "{anomaly:?}"
            );
        }
        // Most improbable first.
        assert!(flagged.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn honest_players_are_hardly_flagged() {
        // Measured: none of 500 flagged.
        let (battles, truth) = generate(&stated_set(0.0));
        assert!(truth.cheaters.is_empty());
        let (_, detector) = analyse(&battles);
        let flagged = detector.flagged(MIN_BATTLES);
        assert!(flagged.len() <= 2, "{flagged:#?}");
        assert_eq!(detector.len(), 500);
    }

    fn one_v_one(id: i64, winner: &str, loser: &str, damage: u64) -> Battle {
        let p = |login: &str, team, won| Participant {
            login: login.to_string(),
            team,
            won,
            kills: 1,
            deaths: 1,
            damage_dealt: damage,
            damage_taken: 1000,
            level: 12,
        };
        Battle {
            id,
            mode: Mode::Pvp,
            started_at: 1_000 + id,
            duration_secs: 300,
            participants: vec![p(winner, 0, true), p(loser, 1, false)],
        }
    }

    #[test]
    fn wins_against_the_odds_given_by_the_ratings_before() {
        let mut detector = Detector::new();
        // The underdog is rated far below every opponent and wins 20 times.
        let ratings = |login: &str| match login {
            "underdog" => Rating {
                mu: 15.0,
                sigma: 1.0,
            },
            _ => Rating {
                mu: 30.0,
                sigma: 1.0,
            },
        };
        for id in 1..=20 {
            detector.observe(
                &one_v_one(id, "underdog", &format!("strong{id}"), 1000),
                ratings,
            );
        }
        let p = win_probability(&[ratings("underdog")], &[ratings("strong")]);
        let flagged = detector.flagged(20);
        assert_eq!(flagged.len(), 1, "{flagged:#?}");
        let Reason::ImprobableWins {
            battles,
            wins,
            expected,
            z,
        } = flagged[0].reasons[0]
        else {
            panic!("{flagged:?}")
        };
        assert_eq!((battles, wins), (20, 20));
        assert!((expected - 20.0 * p).abs() < 1e-9);
        let by_hand = (20.0 - 20.0 * p) / (20.0 * p * (1.0 - p)).sqrt();
        assert!((z - by_hand).abs() < 1e-9 && z >= WIN_Z, "{z}");
        assert_eq!(flagged[0].score, z);
        // The strong players each lost once, as expected: nobody else flagged.
        assert!(detector.flagged(1).iter().all(|a| a.login == "underdog"));
    }

    #[test]
    fn damage_far_above_the_level_median() {
        let mut detector = Detector::new();
        let even = |_: &str| Rating::default();
        // 400 ordinary battles at level 12 (damage 900..1100), then a player
        // dealing ten times that for 15 battles.
        for id in 1..=400i64 {
            let damage = 900 + (id as u64 * 37) % 200;
            detector.observe(
                &one_v_one(
                    id,
                    &format!("a{}", id % 40),
                    &format!("b{}", id % 40),
                    damage,
                ),
                even,
            );
        }
        for id in 401..=415 {
            detector.observe(&one_v_one(id, "hacker", &format!("c{id}"), 10_000), even);
        }
        let flagged = detector.flagged(10);
        assert_eq!(flagged.len(), 1, "{flagged:#?}");
        assert_eq!(flagged[0].login, "hacker");
        let Reason::DamageOutlier {
            level,
            ratio_to_median,
            z,
        } = flagged[0].reasons[0]
        else {
            panic!("{flagged:?}")
        };
        assert_eq!(level, 12);
        // ln(1+10000) − ln(1+~1000), up to the histogram's 2% bins.
        assert!((ratio_to_median - 10.0).abs() < 0.5, "{ratio_to_median}");
        assert!(z > 10.0, "{z}");
    }

    #[test]
    fn reasons_serialise_with_a_sentence() {
        let reason = Reason::ImprobableWins {
            battles: 40,
            wins: 35,
            expected: 20.25,
            z: 5.5,
        };
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["kind"], "improbable_wins");
        assert_eq!(json["wins"], 35);
        assert_eq!(
            json["sentence"],
            "won 35 of 40 PvP battles where the ratings before each battle predicted 20.2 wins (z = 5.5)"
        );
        let anomaly = Anomaly {
            login: "x_1".into(),
            score: 3.2,
            reasons: vec![Reason::DamageOutlier {
                level: 40,
                ratio_to_median: 4.04,
                z: 3.2,
            }],
        };
        let json = serde_json::to_value(&anomaly).unwrap();
        assert_eq!(json["reasons"][0]["kind"], "damage_outlier");
        assert_eq!(
            json["reasons"][0]["sentence"],
            "recently deals 4.0× the median damage of level 40 players (robust z = 3.2)"
        );
    }

    #[test]
    fn analyse_rates_like_the_rating_book() {
        let (battles, _) = generate(&SynthConfig {
            players: 50,
            battles: 500,
            ..SynthConfig::default()
        });
        let (book, _) = analyse(&battles);
        let (streamed, _) = analyse(
            crate::synth::stream(&SynthConfig {
                players: 50,
                battles: 500,
                ..SynthConfig::default()
            })
            .0,
        );
        assert_eq!(streamed.len(), book.len());
        let mut by_hand = RatingBook::new();
        for battle in &battles {
            by_hand.apply(battle);
        }
        let logins: HashSet<&str> = by_hand.iter().map(|(l, _)| l).collect();
        assert_eq!(book.len(), logins.len());
        for login in logins {
            assert_eq!(book.get(login), by_hand.get(login));
        }
    }
}

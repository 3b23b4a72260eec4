//! Players whose results are improbable for their rating. Battles are consumed
//! in order with the ratings each player had *before* the battle, as in
//! production, and every player is kept as a handful of running sums (O(1)
//! memory per player, whatever their number of battles):
//!
//! - **Improbable wins** (PvP): over the most surprising run of consecutive
//!   PvP battles, the observed wins minus the sum of the win probabilities the
//!   ratings gave the player's team before each battle, divided by its
//!   binomial standard deviation √Σ p(1 − p) (with continuity correction).
//!   Under the rating model it is about standard normal; a player who keeps
//!   beating stronger opponents drifts far above it.
//!
//! No flag without evidence ([`Evidence`]): a floor of battles, a floor of
//! expected wins and losses for a run (where the normal tail holds), and
//! p-values corrected for every player tested (Bonferroni) and every start
//! of a run. Each reason carries its numbers and the ids of its most
//! surprising battles.
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

use crate::battle::{Battle, Mode};
use crate::predict::{pvp_sides, win_probability};
use crate::ratings::{Rating, RatingBook};

mod reason;
pub use reason::{Reason, format_expected, format_p};

/// Recent mean robust damage z at or above which a player's damage is flagged:
/// an effect-size floor (skill moves a player's damage by well under one robust
/// standard deviation), on top of the significance test.
pub const DAMAGE_Z: f64 = 2.5;
/// Most battle ids a reason carries as evidence.
pub const MAX_EVIDENCE_IDS: usize = 5;
/// Observations a level bucket needs before its median and MAD are trusted.
const MIN_BUCKET: u64 = 200;
const EWMA_WEIGHT: f64 = 0.1;

const LEVELS_PER_BUCKET: u16 = 5;
/// Levels above this share the top bucket.
const TOP_LEVEL: u16 = 100;
const BIN_WIDTH: f64 = 0.02;
/// ln(1 + damage) up to 24 (damage ≈ 2.6e10) gets its own bin; above, the last.
const BINS: usize = 1200;

/// How much evidence a flag needs, and how improbable it must be.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Evidence {
    /// Fewest battles behind a reason: the run's PvP battles for
    /// `improbable_wins`, the damage-scored battles for `damage_outlier`
    /// (configuration `analytics.anomaly_min_battles`).
    pub min_battles: u32,
    /// Fewest wins (Σ p) and fewest losses (Σ (1 − p)) the ratings must have
    /// expected in a run before its wins can count as improbable — the
    /// textbook condition (np ≥ 5 and n(1 − p) ≥ 5) under which the normal
    /// tail with continuity correction is accurate: one upset win at
    /// p = 0.04 expects 0.04 wins, far below the floor
    /// (configuration `analytics.anomaly_min_expected`).
    pub min_expected: f64,
    /// Family-wise error rate: a reason is flagged when its p-value, corrected
    /// for every player tested (Bonferroni) and, for a run of wins, for every
    /// place the run could have started, is at most `alpha`.
    pub alpha: f64,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence {
            min_battles: 30,
            min_expected: 5.0,
            alpha: 0.01,
        }
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

/// The `MAX_EVIDENCE_IDS` battles with the highest key, highest first; fixed
/// size, so a player's sums stay O(1).
#[derive(Debug, Clone, Copy, Default)]
struct TopBattles {
    items: [(f64, i64); MAX_EVIDENCE_IDS],
    len: usize,
}

impl TopBattles {
    fn offer(&mut self, key: f64, id: i64) {
        let mut at = self.len;
        while at > 0 && self.items[at - 1].0 < key {
            at -= 1;
        }
        if at >= MAX_EVIDENCE_IDS {
            return;
        }
        let last = self.len.min(MAX_EVIDENCE_IDS - 1);
        self.items.copy_within(at..last, at + 1);
        self.items[at] = (key, id);
        self.len = (self.len + 1).min(MAX_EVIDENCE_IDS);
    }

    fn ids(&self) -> Vec<i64> {
        self.items[..self.len].iter().map(|(_, id)| *id).collect()
    }
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
    /// not biased towards the starting zero; the squared weights give the
    /// weighted mean's standard error).
    damage_z: f64,
    damage_log_ratio: f64,
    damage_weight: f64,
    damage_weight_sq: f64,
    damage_top: TopBattles,
}

/// A run of consecutive PvP battles of one player.
#[derive(Debug, Clone, Copy, Default)]
struct Streak {
    battles: u32,
    wins: u32,
    expected: f64,
    variance: f64,
    /// Its wins with the lowest p (key −p).
    surprising: TopBattles,
}

impl Streak {
    fn surprise(&self) -> f64 {
        f64::from(self.wins) - self.expected
    }

    /// With continuity correction.
    fn z(&self) -> f64 {
        if self.variance > 0.0 {
            (self.surprise() - 0.5) / self.variance.sqrt()
        } else {
            0.0
        }
    }

    /// Losses the ratings expected over the run.
    fn expected_losses(&self) -> f64 {
        f64::from(self.battles) - self.expected
    }
}

/// P(Z ≥ z) for a standard normal Z, with a small relative error also far
/// in the tail (erfc by the Chebyshev fit of Numerical Recipes, fractional
/// error below 1.2e−7 everywhere).
pub fn normal_tail(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let poly = -x * x - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if x >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
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
                    if participant.won {
                        streak.surprising.offer(-p, battle.id);
                    }
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
                sums.damage_weight_sq =
                    keep * keep * sums.damage_weight_sq + EWMA_WEIGHT * EWMA_WEIGHT;
                sums.damage_top.offer(z, battle.id);
            }
        }
    }

    /// Players with at least one reason backed by `evidence`, most improbable
    /// first (ties by login). Every reason has at least
    /// `evidence.min_battles` battles behind it.
    pub fn flagged(&self, evidence: &Evidence) -> Vec<Anomaly> {
        // Bonferroni: the players each test is run on.
        let tested_wins = self
            .players
            .values()
            .filter(|s| wins_testable(s, evidence))
            .count()
            .max(1) as f64;
        let tested_damage = self
            .players
            .values()
            .filter(|s| damage_testable(s, evidence))
            .count()
            .max(1) as f64;
        let mut out: Vec<Anomaly> = self
            .players
            .iter()
            .filter_map(|(login, s)| {
                let reasons = reasons(s, evidence, tested_wins, tested_damage);
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

fn wins_testable(s: &PlayerSums, evidence: &Evidence) -> bool {
    let run = &s.best_streak;
    run.battles >= evidence.min_battles
        && run.expected >= evidence.min_expected
        && run.expected_losses() >= evidence.min_expected
}

fn damage_testable(s: &PlayerSums, evidence: &Evidence) -> bool {
    s.damage_scored >= evidence.min_battles.max(1) && s.damage_weight > 0.0
}

fn reasons(
    s: &PlayerSums,
    evidence: &Evidence,
    tested_wins: f64,
    tested_damage: f64,
) -> Vec<Reason> {
    let mut reasons = Vec::new();
    let run = &s.best_streak;
    if wins_testable(s, evidence) {
        // The run is the best of up to `pvp` starting points: corrected for each.
        let p_value = (normal_tail(run.z()) * f64::from(s.pvp.max(1)) * tested_wins).min(1.0);
        if p_value <= evidence.alpha {
            reasons.push(Reason::ImprobableWins {
                battles: run.battles,
                wins: run.wins,
                expected: run.expected,
                z: run.z(),
                p_value,
                battle_ids: run.surprising.ids(),
            });
        }
    }
    if damage_testable(s, evidence) {
        let z = s.damage_z / s.damage_weight;
        let standard = s.damage_z / s.damage_weight_sq.sqrt();
        let p_value = (normal_tail(standard) * tested_damage).min(1.0);
        if z >= DAMAGE_Z && p_value <= evidence.alpha {
            reasons.push(Reason::DamageOutlier {
                level: s.level,
                battles: s.damage_scored,
                ratio_to_median: (s.damage_log_ratio / s.damage_weight).exp(),
                z,
                p_value,
                battle_ids: s.damage_top.ids(),
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

    fn evidence() -> Evidence {
        Evidence::default()
    }

    #[test]
    fn planted_cheaters_are_found_with_the_right_reason() {
        let (battles, truth) = generate(&stated_set(0.04));
        let (_, detector) = analyse(&battles);
        let flagged = detector.flagged(&evidence());
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
        assert!(recall >= 0.9, "recall {recall}: {flagged:#?}");
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
        let flagged = detector.flagged(&evidence());
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
        // The underdog is rated far below every opponent and wins 40 times
        // (the ratings expected about 8 wins and 32 losses: enough evidence).
        let ratings = |login: &str| match login {
            "underdog" => Rating {
                mu: 22.0,
                sigma: 1.0,
            },
            _ => Rating {
                mu: 30.0,
                sigma: 1.0,
            },
        };
        for id in 1..=40 {
            detector.observe(
                &one_v_one(id, "underdog", &format!("strong{id}"), 1000),
                ratings,
            );
        }
        let p = win_probability(&[ratings("underdog")], &[ratings("strong")]);
        let evidence = Evidence {
            min_battles: 20,
            ..Evidence::default()
        };
        let flagged = detector.flagged(&evidence);
        assert_eq!(flagged.len(), 1, "{flagged:#?}");
        let Reason::ImprobableWins {
            battles,
            wins,
            expected,
            z,
            p_value,
            ref battle_ids,
        } = flagged[0].reasons[0]
        else {
            panic!("{flagged:?}")
        };
        assert_eq!((battles, wins), (40, 40));
        assert!((expected - 40.0 * p).abs() < 1e-9);
        let by_hand = (40.0 - 40.0 * p - 0.5) / (40.0 * p * (1.0 - p)).sqrt();
        assert!((z - by_hand).abs() < 1e-9, "{z}");
        // One tested player, 40 possible starts of the run.
        let corrected = 40.0 * normal_tail(by_hand);
        assert!(
            (p_value - corrected).abs() <= 1e-12 * corrected,
            "{p_value} vs {corrected}"
        );
        assert!(p_value <= evidence.alpha, "{p_value}");
        // Every win had the same p: the first five ids, as evidence.
        assert_eq!(battle_ids, &[1, 2, 3, 4, 5]);
        assert_eq!(flagged[0].score, z);
        // The strong players each lost once, as expected: nobody else flagged.
        let lenient = Evidence {
            min_battles: 1,
            min_expected: 0.0,
            alpha: 1.0,
        };
        assert!(
            detector
                .flagged(&lenient)
                .iter()
                .all(|a| a.login == "underdog")
        );
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
        let flagged = detector.flagged(&Evidence {
            min_battles: 10,
            ..Evidence::default()
        });
        assert_eq!(flagged.len(), 1, "{flagged:#?}");
        assert_eq!(flagged[0].login, "hacker");
        let Reason::DamageOutlier {
            level,
            battles,
            ratio_to_median,
            z,
            ref battle_ids,
            ..
        } = flagged[0].reasons[0]
        else {
            panic!("{flagged:?}")
        };
        assert_eq!((level, battles), (12, 15));
        assert_eq!(battle_ids.len(), MAX_EVIDENCE_IDS);
        assert!(battle_ids.iter().all(|id| (401..=415).contains(id)));
        // ln(1+10000) − ln(1+~1000), up to the histogram's 2% bins.
        assert!((ratio_to_median - 10.0).abs() < 0.5, "{ratio_to_median}");
        assert!(z > 10.0, "{z}");
    }

    #[test]
    fn reasons_serialise_with_their_evidence_and_a_sentence() {
        let reason = Reason::ImprobableWins {
            battles: 40,
            wins: 35,
            expected: 20.25,
            z: 5.5,
            p_value: 3.17e-6,
            battle_ids: vec![7, 9],
        };
        let json = serde_json::to_value(&reason).unwrap();
        assert_eq!(json["kind"], "improbable_wins");
        assert_eq!(json["wins"], 35);
        assert_eq!(json["p_value"], 3.17e-6);
        assert_eq!(json["battle_ids"], serde_json::json!([7, 9]));
        assert_eq!(
            json["sentence"],
            "won 35 of 40 PvP battles in a row where the ratings before each battle expected \
             20.2 wins (z = 5.5, corrected p = 3.2e-6); most surprising wins: battles 7, 9"
        );
        let tiny = Reason::ImprobableWins {
            battles: 1,
            wins: 1,
            expected: 0.04,
            z: 4.8,
            p_value: 1.0,
            battle_ids: vec![1],
        };
        assert!(tiny.sentence().contains("expected < 0.1 wins"), "{tiny}");
        let anomaly = Anomaly {
            login: "x_1".into(),
            score: 3.2,
            reasons: vec![Reason::DamageOutlier {
                level: 40,
                battles: 31,
                ratio_to_median: 4.04,
                z: 3.2,
                p_value: 0.0042,
                battle_ids: vec![3],
            }],
        };
        let json = serde_json::to_value(&anomaly).unwrap();
        assert_eq!(json["reasons"][0]["kind"], "damage_outlier");
        assert_eq!(json["reasons"][0]["battles"], 31);
        assert_eq!(
            json["reasons"][0]["sentence"],
            "recently deals 4.0× the median damage of level 40 players (robust z = 3.2 over 31 \
             scored battles, corrected p = 0.004); highest damage: battles 3"
        );
    }

    #[test]
    fn the_normal_tail_matches_known_values() {
        // scipy.stats.norm.sf: 0 → 0.5, 1.96 → 0.0249979, 5 → 2.8665157e-7,
        // 10 → 7.6198530e-24, −1 → 0.8413447.
        for (z, p) in [
            (0.0, 0.5),
            (1.96, 0.024_997_9),
            (5.0, 2.866_515_7e-7),
            (10.0, 7.619_853_0e-24),
            (-1.0, 0.841_344_7),
        ] {
            assert!(
                (normal_tail(z) / p - 1.0).abs() < 1e-6,
                "{z}: {}",
                normal_tail(z)
            );
        }
    }

    #[test]
    fn one_upset_win_is_no_evidence() {
        // A player rated far below an opponent wins once (p ≈ 0.04, the ratings
        // expected < 0.1 wins): z is large, but one battle is no evidence.
        let mut detector = Detector::new();
        let ratings = |login: &str| match login {
            "lucky" => Rating {
                mu: 15.0,
                sigma: 1.0,
            },
            _ => Rating {
                mu: 34.0,
                sigma: 1.0,
            },
        };
        detector.observe(&one_v_one(1, "lucky", "strong", 1000), ratings);
        let p = win_probability(&[ratings("lucky")], &[ratings("strong")]);
        assert!(p < 0.05, "{p}");
        assert!(detector.flagged(&evidence()).is_empty());
        // Not even with a battle floor of one: the ratings expected p < 5 wins.
        let one = Evidence {
            min_battles: 1,
            ..evidence()
        };
        assert!(detector.flagged(&one).is_empty());
    }

    #[test]
    fn no_flag_has_fewer_battles_than_the_floor() {
        let (battles, _) = generate(&stated_set(0.04));
        let (_, detector) = analyse(&battles);
        for floor in [30, 100, 400] {
            let evidence = Evidence {
                min_battles: floor,
                ..evidence()
            };
            let flagged = detector.flagged(&evidence);
            for reason in flagged.iter().flat_map(|a| &a.reasons) {
                assert!(reason.battles() >= floor, "{floor}: {reason:?}");
                assert!(reason.p_value() <= evidence.alpha, "{reason:?}");
                assert!(
                    !reason.battle_ids().is_empty()
                        && reason.battle_ids().len() <= MAX_EVIDENCE_IDS,
                    "{reason:?}"
                );
                if let Reason::ImprobableWins {
                    battles, expected, ..
                } = reason
                {
                    assert!(f64::from(*battles) - expected >= evidence.min_expected);
                    assert!(*expected >= evidence.min_expected);
                }
            }
            if floor == 30 {
                assert!(!flagged.is_empty());
            }
        }
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

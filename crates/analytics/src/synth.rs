//! A synthetic battle generator with hidden true skills and planted cheaters:
//! the data for tests, benchmarks and the demo, and the only data on which the
//! best possible predictor (the ceiling of the evaluation) is known.
//!
//! The model, stated so that a Bayes-optimal predictor exists:
//! - every player has a true skill drawn from Normal(25, 5);
//! - a PvP battle puts two teams of the same size k (uniform in `team_size`)
//!   of distinct players drawn uniformly at random; team A (team 0) wins with
//!   P = logistic((S_A − S_B) / SCALE), S = the sum of the members' effective
//!   skills and SCALE = √2·25/6 (Weng-Lin's default β·√2, so a converged rating
//!   book is on the same scale as the truth);
//! - a PvE battle puts one team of k against the environment, won with
//!   P = logistic((S − 25k) / SCALE);
//! - a player's effective skill is the true skill, plus `Cheat::skill_boost`
//!   once a cheater has started cheating (`Cheat::since`);
//! - damage dealt = base(level) · exp(0.02·(skill − 25) + N(0, 0.35)), times
//!   `Cheat::damage_factor` while cheating; base(level) = 300 + 40·level;
//!   kills/deaths follow skill and the outcome with noise;
//! - levels start uniform in 1..=60 and rise by one every 25 battles played,
//!   up to 100.
//!
//! Two kinds of cheater are planted (alternating): an aimbot wins far more
//! than its true skill implies (skill +20, 4 standard deviations) with
//! damage only as high as that skill explains; a damage hack deals 3–6× the
//! damage of its level with a small skill gain (+3). Cheating starts at a
//! random point between 20% and 60% of the timeline, as it would for accounts
//! that were honest before.

use std::collections::{HashMap, HashSet};

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};

use crate::battle::{Battle, Mode, Participant};

/// Logistic scale of the outcome model: √2 · 25/6.
pub const SCALE: f64 = std::f64::consts::SQRT_2 * 25.0 / 6.0;
const SKILL_MEAN: f64 = 25.0;
const SKILL_SD: f64 = 5.0;
const DAMAGE_NOISE_SD: f64 = 0.35;
const BATTLES_PER_LEVEL: u32 = 25;
const MAX_LEVEL: u16 = 100;
const AIMBOT_BOOST: f64 = 20.0;

/// Out-of-range shares are clamped to [0, 1] and team sizes to 1..=32, and
/// `players` is raised to two of the largest teams; bounding `players` and
/// `battles` themselves (memory, time) is the caller's business.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Players generated (`player_000000`, …); default 1,000.
    pub players: usize,
    /// Battles generated, 1–59 s apart (30 s on average) from `start_at`;
    /// default 50,000.
    pub battles: usize,
    /// RNG seed: the same config gives the same battles; default 42.
    pub seed: u64,
    /// Share of players planted as cheaters (rounded to a whole number).
    pub cheater_fraction: f64,
    /// Unix seconds of the first battle.
    pub start_at: i64,
    /// Share of battles that are PvP (the rest PvE).
    pub pvp_share: f64,
    /// (min, max) players per team, inclusive.
    pub team_size: (usize, usize),
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            players: 1000,
            battles: 50_000,
            seed: 42,
            cheater_fraction: 0.01,
            // 2026-01-01T00:00:00Z
            start_at: 1_767_225_600,
            pvp_share: 0.8,
            team_size: (1, 5),
        }
    }
}

/// The two kinds of planted cheater; JSON `"aimbot"` or `"damage_hack"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheatKind {
    /// Wins far beyond the true skill: +20 skill (4 standard deviations of the
    /// population), damage only as that skill explains.
    Aimbot,
    /// Deals 3–6× the damage of its level, with a small skill gain (+3).
    DamageHack,
}

/// How one planted cheater cheats.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cheat {
    /// Which kind of cheat.
    pub kind: CheatKind,
    /// Unix seconds from which this player cheats (battles at or after it).
    pub since: i64,
    /// Added to the true skill while cheating.
    pub skill_boost: f64,
    /// Multiplies damage dealt while cheating.
    pub damage_factor: f64,
}

/// What the generator knows and the analytics must not see.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    /// True skill per login, drawn from Normal(25, 5).
    pub skill: HashMap<String, f64>,
    /// Logins planted as cheaters.
    pub cheaters: HashSet<String>,
    /// How and since when each cheater cheats (keys = `cheaters`).
    pub cheats: HashMap<String, Cheat>,
}

impl Truth {
    /// The skill that decides outcomes for `login` in a battle starting at `at`.
    pub fn effective_skill(&self, login: &str, at: i64) -> f64 {
        let skill = self.skill.get(login).copied().unwrap_or(SKILL_MEAN);
        match self.cheats.get(login) {
            Some(cheat) if at >= cheat.since => skill + cheat.skill_boost,
            _ => skill,
        }
    }
}

/// P(the lower-numbered team wins) of a PvP battle under the generator's
/// model, from the true (effective) skills: the Bayes-optimal prediction,
/// the ceiling no rating system can beat on synthetic data. `None` for
/// battles that are not PvP between two teams.
pub fn bayes_optimal(battle: &Battle, truth: &Truth) -> Option<f64> {
    if battle.mode != Mode::Pvp {
        return None;
    }
    let teams = battle.teams();
    let [a, b] = teams[..] else {
        return None;
    };
    let strength = |team: u8| -> f64 {
        battle
            .participants
            .iter()
            .filter(|p| p.team == team)
            .map(|p| truth.effective_skill(&p.login, battle.started_at))
            .sum()
    };
    Some(logistic((strength(a) - strength(b)) / SCALE))
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// All battles at once (fine up to a few hundred thousand).
pub fn generate(config: &SynthConfig) -> (Vec<Battle>, Truth) {
    let (battles, truth) = stream(config);
    (battles.collect(), truth)
}

/// The battles lazily, in order, with the truth up front: memory is
/// O(players), so a million battles never sit in memory together.
pub fn stream(config: &SynthConfig) -> (impl Iterator<Item = Battle> + use<>, Truth) {
    let generator = Generator::new(config);
    let truth = generator.truth.clone();
    (generator, truth)
}

struct PlayerState {
    login: String,
    level: u16,
    played: u32,
}

struct Generator {
    rng: StdRng,
    players: Vec<PlayerState>,
    truth: Truth,
    next_id: i64,
    remaining: usize,
    clock: i64,
    pvp_share: f64,
    team_size: (usize, usize),
}

impl Generator {
    fn new(config: &SynthConfig) -> Generator {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let (min_team, max_team) = config.team_size;
        let min_team = min_team.max(1);
        // Two teams of the largest size must fit among the players and in one battle.
        let max_team = max_team
            .max(min_team)
            .min(crate::battle::MAX_PARTICIPANTS / 2);
        let needed = 2 * max_team;
        let player_count = config.players.max(needed);
        let mut truth = Truth::default();
        let mut players = Vec::with_capacity(player_count);
        for i in 0..player_count {
            let login = format!("player_{i:06}");
            let skill = SKILL_MEAN + SKILL_SD * standard_normal(&mut rng);
            truth.skill.insert(login.clone(), skill);
            players.push(PlayerState {
                login,
                level: rng.gen_range(1..=60),
                played: 0,
            });
        }
        let cheaters =
            ((player_count as f64) * config.cheater_fraction.clamp(0.0, 1.0)).round() as usize;
        let span = config.battles as f64 * MEAN_GAP_SECS;
        for (n, index) in sample(&mut rng, player_count, cheaters)
            .into_iter()
            .enumerate()
        {
            let login = players[index].login.clone();
            let since = config.start_at + (span * rng.gen_range(0.2..0.6)) as i64;
            let cheat = if n % 2 == 0 {
                Cheat {
                    kind: CheatKind::Aimbot,
                    since,
                    skill_boost: AIMBOT_BOOST,
                    damage_factor: 1.0,
                }
            } else {
                Cheat {
                    kind: CheatKind::DamageHack,
                    since,
                    skill_boost: 3.0,
                    damage_factor: rng.gen_range(3.0..6.0),
                }
            };
            truth.cheaters.insert(login.clone());
            truth.cheats.insert(login, cheat);
        }
        Generator {
            rng,
            players,
            truth,
            next_id: 1,
            remaining: config.battles,
            clock: config.start_at,
            // NaN would make gen_bool panic: treat it as "no PvP".
            pvp_share: if config.pvp_share.is_nan() {
                0.0
            } else {
                config.pvp_share.clamp(0.0, 1.0)
            },
            team_size: (min_team, max_team),
        }
    }

    fn participant(&mut self, index: usize, team: u8, won: bool, at: i64) -> Participant {
        let player = &mut self.players[index];
        let login = player.login.clone();
        let level = player.level;
        player.played += 1;
        if player.played.is_multiple_of(BATTLES_PER_LEVEL) && player.level < MAX_LEVEL {
            player.level += 1;
        }
        let rng = &mut self.rng;
        let skill = self.truth.effective_skill(&login, at);
        let damage_factor = match self.truth.cheats.get(&login) {
            Some(cheat) if at >= cheat.since => cheat.damage_factor,
            _ => 1.0,
        };
        let form = skill - SKILL_MEAN;
        let base = 300.0 + 40.0 * f64::from(level);
        let dealt =
            base * (0.02 * form + DAMAGE_NOISE_SD * standard_normal(rng)).exp() * damage_factor;
        let taken = base * (-0.02 * form + DAMAGE_NOISE_SD * standard_normal(rng)).exp();
        let outcome = if won { 1.0 } else { -0.5 };
        let kills = (2.0 + 0.1 * form + outcome + 1.5 * standard_normal(rng)).round();
        let deaths = (2.0 - 0.1 * form - outcome + 1.5 * standard_normal(rng)).round();
        Participant {
            login,
            team,
            won,
            kills: kills.max(0.0) as u32,
            deaths: deaths.max(0.0) as u32,
            damage_dealt: dealt.round() as u64,
            damage_taken: taken.round() as u64,
            level,
        }
    }
}

/// Mean seconds between battle starts (uniform 1..=59).
const MEAN_GAP_SECS: f64 = 30.0;

impl Iterator for Generator {
    type Item = Battle;

    fn next(&mut self) -> Option<Battle> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        self.clock += self.rng.gen_range(1..=59);
        let at = self.clock;
        let id = self.next_id;
        self.next_id += 1;
        let size = self.rng.gen_range(self.team_size.0..=self.team_size.1);
        let pvp = self.rng.gen_bool(self.pvp_share);
        let chosen = sample(
            &mut self.rng,
            self.players.len(),
            if pvp { 2 * size } else { size },
        );
        let chosen: Vec<usize> = chosen.into_iter().collect();
        let strength = |members: &[usize], truth: &Truth, players: &[PlayerState]| -> f64 {
            members
                .iter()
                .map(|i| truth.effective_skill(&players[*i].login, at))
                .sum()
        };
        let mut participants = Vec::with_capacity(chosen.len());
        if pvp {
            let (a, b) = chosen.split_at(size);
            let edge =
                strength(a, &self.truth, &self.players) - strength(b, &self.truth, &self.players);
            let a_won = self.rng.gen_bool(logistic(edge / SCALE));
            for &i in a {
                participants.push(self.participant(i, 0, a_won, at));
            }
            for &i in b {
                participants.push(self.participant(i, 1, !a_won, at));
            }
        } else {
            let edge = strength(&chosen, &self.truth, &self.players) - SKILL_MEAN * size as f64;
            let won = self.rng.gen_bool(logistic(edge / SCALE));
            for &i in &chosen {
                participants.push(self.participant(i, 0, won, at));
            }
        }
        Some(Battle {
            id,
            mode: if pvp { Mode::Pvp } else { Mode::Pve },
            started_at: at,
            duration_secs: self.rng.gen_range(60..=1800),
            participants,
        })
    }
}

/// Box–Muller: one standard normal draw (rand_distr is not worth a dependency
/// for one distribution).
fn standard_normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.r#gen::<f64>(); // (0, 1], so ln is finite
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> SynthConfig {
        SynthConfig {
            players: 200,
            battles: 3000,
            seed: 7,
            cheater_fraction: 0.05,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn same_seed_same_battles_and_truth() {
        let (a, truth_a) = generate(&small());
        let (b, truth_b) = generate(&small());
        assert_eq!(a, b);
        assert_eq!(truth_a.skill, truth_b.skill);
        assert_eq!(truth_a.cheaters, truth_b.cheaters);
        let (c, _) = generate(&SynthConfig { seed: 8, ..small() });
        assert_ne!(a, c, "another seed gives other battles");
    }

    #[test]
    fn stream_yields_what_generate_returns() {
        let (all, _) = generate(&small());
        let (lazy, _) = stream(&small());
        assert!(lazy.eq(all.into_iter()));
    }

    #[test]
    fn every_battle_validates_in_order_with_ids_one_to_m() {
        let config = SynthConfig {
            team_size: (1, 32),
            ..small()
        };
        let (battles, truth) = generate(&config);
        assert_eq!(battles.len(), config.battles);
        let mut last = i64::MIN;
        let mut modes = HashSet::new();
        for (i, battle) in battles.iter().enumerate() {
            assert_eq!(battle.id, i as i64 + 1);
            assert!(battle.started_at > last, "started_at strictly increasing");
            last = battle.started_at;
            battle
                .validate()
                .unwrap_or_else(|e| panic!("battle {}: {e}", battle.id));
            modes.insert(battle.mode);
            for p in &battle.participants {
                assert!(truth.skill.contains_key(&p.login));
            }
        }
        assert_eq!(modes.len(), 2, "both pvp and pve generated");
        // Nonsense settings are tamed, not panicked on.
        let (odd, _) = generate(&SynthConfig {
            players: 1,
            battles: 50,
            pvp_share: f64::NAN,
            cheater_fraction: 7.0,
            team_size: (0, 1000),
            ..small()
        });
        assert!(
            odd.iter()
                .all(|b| b.validate().is_ok() && b.mode == Mode::Pve)
        );
        assert_eq!(truth.cheaters.len(), 10, "5% of 200 planted");
        assert_eq!(truth.cheaters.len(), truth.cheats.len());
    }

    #[test]
    fn outcomes_follow_the_stated_model() {
        // Calibration of the generator itself: the mean Bayes-optimal
        // probability of team 0 winning matches the observed share.
        let (battles, truth) = generate(&SynthConfig {
            battles: 20_000,
            ..small()
        });
        let (mut predicted, mut observed, mut n) = (0.0, 0.0, 0.0);
        for battle in &battles {
            if let Some(p) = bayes_optimal(battle, &truth) {
                predicted += p;
                observed += f64::from(u8::from(battle.participants[0].won));
                n += 1.0;
            }
        }
        assert!(n > 10_000.0);
        let gap = (predicted - observed).abs() / n;
        assert!(
            gap < 0.01,
            "predicted {predicted} vs observed {observed} of {n}"
        );
    }

    #[test]
    fn cheaters_deal_damage_or_win_beyond_their_skill() {
        let (battles, truth) = generate(&small());
        let damage_hackers: HashSet<&String> = truth
            .cheats
            .iter()
            .filter(|(_, c)| c.kind == CheatKind::DamageHack)
            .map(|(l, _)| l)
            .collect();
        assert!(!damage_hackers.is_empty());
        let (mut hacked, mut hacked_n, mut honest, mut honest_n) = (0.0, 0.0, 0.0, 0.0);
        for battle in &battles {
            for p in &battle.participants {
                let per_level = p.damage_dealt as f64 / (300.0 + 40.0 * f64::from(p.level));
                let cheating = truth
                    .cheats
                    .get(&p.login)
                    .is_some_and(|c| battle.started_at >= c.since);
                if cheating && damage_hackers.contains(&p.login) {
                    hacked += per_level;
                    hacked_n += 1.0;
                } else if !truth.cheaters.contains(&p.login) {
                    honest += per_level;
                    honest_n += 1.0;
                }
            }
        }
        assert!(hacked / hacked_n > 2.5 * honest / honest_n);
    }
}

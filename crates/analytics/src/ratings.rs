//! Skill ratings for teams. A rating is a mean `mu` and an uncertainty
//! `sigma`; a new player starts at 25 ± 8.33. The rule is a [`RatingModel`]:
//! the production one is a Kalman filter on the logistic team model with
//! dynamics; Weng-Lin and TrueSkill (computed by the `skillratings` crate) are
//! the candidates it was measured against (docs/ANALYTICS.md).

use std::collections::HashMap;

use skillratings::Outcomes;
use skillratings::trueskill::{self, TrueSkillConfig, TrueSkillRating};
use skillratings::weng_lin::{
    WengLinConfig, WengLinRating, expected_score_two_teams, weng_lin_two_teams,
};

use crate::battle::{Battle, Participant, pvp_sides};

/// A Weng-Lin skill rating; JSON `{"mu", "sigma"}`. A new player starts at
/// mu = 25, sigma = 25/3 ≈ 8.33.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rating {
    /// Mean skill estimate.
    pub mu: f64,
    /// Uncertainty of `mu` (one standard deviation); shrinks as battles are
    /// played.
    pub sigma: f64,
}

impl Default for Rating {
    fn default() -> Self {
        let r = WengLinRating::new();
        Rating {
            mu: r.rating,
            sigma: r.uncertainty,
        }
    }
}

impl Rating {
    /// A conservative skill estimate (mu − 3σ): what leaderboards sort by, so a
    /// lucky newcomer with two wins does not top players with hundreds.
    pub fn conservative(&self) -> f64 {
        self.mu - 3.0 * self.sigma
    }

    fn to_wl(self) -> WengLinRating {
        WengLinRating {
            rating: self.mu,
            uncertainty: self.sigma,
        }
    }

    fn from_wl(r: WengLinRating) -> Rating {
        Rating {
            mu: r.rating,
            sigma: r.uncertainty,
        }
    }
}

/// How ratings move after a battle and how they predict one. Every rule keeps
/// a rating as a mean and an uncertainty ([`Rating`]) and is incremental:
/// the new ratings of a battle's participants depend only on their ratings
/// before it, so the store can update them on ingestion and a rebuild in time
/// order gives the same book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Weng & Lin (2011), Bradley–Terry full pair, from `skillratings`.
    WengLin,
    /// TrueSkill (Herbrich et al. 2006, two teams, no draws' margin beyond the
    /// crate's default), from `skillratings`.
    TrueSkill,
    /// A Gaussian (Kalman) filter on the logistic outcome model: the team
    /// difference d = Σμ_A − Σμ_B has variance V = Σσ² over both teams; the
    /// outcome's log-likelihood is expanded to second order at the prior mean
    /// (one Newton step, the Laplace approximation), which gives every member
    /// the exact linear-Gaussian update for a sum of skills.
    Kalman,
}

/// A rating rule with its parameters. `beta` is the per-player skill-class
/// width (the logistic scale of a battle is √2·β, as Weng-Lin's); `tau` is
/// the dynamics: before each battle every participant's σ² grows by τ², so
/// ratings keep following players whose skill changes (σ never settles
/// below about √(τ·√2·β / √(p(1 − p))) for the filters).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct RatingModel {
    /// The update and prediction rule.
    pub algorithm: Algorithm,
    /// Skill-class width, rating points (default 25/6 ≈ 4.17).
    pub beta: f64,
    /// Dynamics: σ added in quadrature per battle, rating points.
    pub tau: f64,
}

impl Default for RatingModel {
    /// The production model: chosen by held-out log-loss over synthetic
    /// seeds 1–5 (docs/ANALYTICS.md, `gamegate ml evaluate --compare`).
    fn default() -> Self {
        RatingModel::PRODUCTION
    }
}

impl RatingModel {
    /// The model the rating book, the store and the HTTP predictions use.
    pub const PRODUCTION: RatingModel = RatingModel {
        algorithm: Algorithm::Kalman,
        beta: 25.0 / 6.0,
        tau: 0.05,
    };

    /// Weng-Lin with `skillratings`' defaults and no dynamics: the model before
    /// the comparison, kept as its reference row.
    pub const WENG_LIN_DEFAULT: RatingModel = RatingModel {
        algorithm: Algorithm::WengLin,
        beta: 25.0 / 6.0,
        tau: 0.0,
    };

    /// A short name with the parameters, e.g. `kalman β=4.17 τ=0.05`.
    pub fn label(&self) -> String {
        let name = match self.algorithm {
            Algorithm::WengLin => "weng-lin",
            Algorithm::TrueSkill => "trueskill",
            Algorithm::Kalman => "kalman",
        };
        format!("{name} β={:.2} τ={:.2}", self.beta, self.tau)
    }

    fn with_dynamics(&self, team: &[Rating]) -> Vec<Rating> {
        team.iter()
            .map(|r| Rating {
                mu: r.mu,
                sigma: r.sigma.hypot(self.tau),
            })
            .collect()
    }

    /// P(team A beats team B) before the battle (dynamics included). An
    /// empty side has no chance; two empty sides are a coin toss.
    pub fn win_probability(&self, team_a: &[Rating], team_b: &[Rating]) -> f64 {
        match (team_a.is_empty(), team_b.is_empty()) {
            (true, true) => return 0.5,
            (true, false) => return 0.0,
            (false, true) => return 1.0,
            (false, false) => {}
        }
        let (a, b) = (self.with_dynamics(team_a), self.with_dynamics(team_b));
        match self.algorithm {
            Algorithm::WengLin => {
                let config = WengLinConfig {
                    beta: self.beta,
                    ..WengLinConfig::new()
                };
                expected_score_two_teams(&to_wl(&a), &to_wl(&b), &config).0
            }
            Algorithm::TrueSkill => {
                trueskill::expected_score_two_teams(&to_ts(&a), &to_ts(&b), &self.trueskill()).0
            }
            Algorithm::Kalman => {
                let (d, v) = difference(&a, &b);
                // E[logistic(x/s)] for x ~ N(d, v) ≈ logistic(d / √(s² + πv/8)).
                logistic(d / (self.scale().powi(2) + std::f64::consts::PI * v / 8.0).sqrt())
            }
        }
    }

    /// The new ratings of both teams after A won (`a_won`) or lost.
    pub fn update(
        &self,
        team_a: &[Rating],
        team_b: &[Rating],
        a_won: bool,
    ) -> (Vec<Rating>, Vec<Rating>) {
        if team_a.is_empty() || team_b.is_empty() {
            return (team_a.to_vec(), team_b.to_vec());
        }
        let (a, b) = (self.with_dynamics(team_a), self.with_dynamics(team_b));
        let outcome = if a_won { Outcomes::WIN } else { Outcomes::LOSS };
        match self.algorithm {
            Algorithm::WengLin => {
                let config = WengLinConfig {
                    beta: self.beta,
                    ..WengLinConfig::new()
                };
                let (x, y) = weng_lin_two_teams(&to_wl(&a), &to_wl(&b), &outcome, &config);
                (from_wl(&x), from_wl(&y))
            }
            Algorithm::TrueSkill => {
                // Dynamics are added above; the crate's own factor is zeroed.
                let config = TrueSkillConfig {
                    dynamics_factor: 0.0,
                    ..self.trueskill()
                };
                let (x, y) =
                    trueskill::trueskill_two_teams(&to_ts(&a), &to_ts(&b), &outcome, &config);
                let back = |t: Vec<TrueSkillRating>| {
                    t.into_iter()
                        .map(|r| Rating {
                            mu: r.rating,
                            sigma: r.uncertainty,
                        })
                        .collect()
                };
                (back(x), back(y))
            }
            Algorithm::Kalman => {
                let (d, v) = difference(&a, &b);
                let s = self.scale();
                let p = logistic(d / s);
                let y = if a_won { 1.0 } else { 0.0 };
                // Newton step on d: gradient (y − p)/s, curvature p(1 − p)/s².
                let h = p * (1.0 - p) / (s * s);
                let k = 1.0 / (1.0 + v * h);
                let step = (y - p) / s * k;
                let move_by = |team: &[Rating], sign: f64| -> Vec<Rating> {
                    team.iter()
                        .map(|r| {
                            let var = r.sigma * r.sigma;
                            Rating {
                                mu: r.mu + sign * var * step,
                                sigma: (var - var * var * h * k).max(1e-12).sqrt(),
                            }
                        })
                        .collect()
                };
                (move_by(&a, 1.0), move_by(&b, -1.0))
            }
        }
    }

    /// Logistic scale of a battle: √2·β.
    fn scale(&self) -> f64 {
        std::f64::consts::SQRT_2 * self.beta
    }

    fn trueskill(&self) -> TrueSkillConfig {
        TrueSkillConfig {
            // Battles here have no draws.
            draw_probability: 0.0,
            beta: self.beta,
            dynamics_factor: 0.0,
        }
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// (Σμ_A − Σμ_B, Σσ² over both teams).
fn difference(a: &[Rating], b: &[Rating]) -> (f64, f64) {
    let mu = |t: &[Rating]| t.iter().map(|r| r.mu).sum::<f64>();
    let var = |t: &[Rating]| t.iter().map(|r| r.sigma * r.sigma).sum::<f64>();
    (mu(a) - mu(b), var(a) + var(b))
}

fn to_wl(team: &[Rating]) -> Vec<WengLinRating> {
    team.iter().map(|r| r.to_wl()).collect()
}

fn from_wl(team: &[WengLinRating]) -> Vec<Rating> {
    team.iter().map(|r| Rating::from_wl(*r)).collect()
}

fn to_ts(team: &[Rating]) -> Vec<TrueSkillRating> {
    team.iter()
        .map(|r| TrueSkillRating {
            rating: r.mu,
            uncertainty: r.sigma,
        })
        .collect()
}

/// Ratings of every player seen, updated battle by battle in the order given.
#[derive(Debug, Default, Clone)]
pub struct RatingBook {
    ratings: HashMap<String, Rating>,
    model: RatingModel,
}

impl RatingBook {
    /// An empty book under the production model: every player reads as
    /// [`Rating::default`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty book under another model (the evaluation's comparison).
    pub fn with_model(model: RatingModel) -> Self {
        RatingBook {
            ratings: HashMap::new(),
            model,
        }
    }

    /// Starts from known ratings (for example loaded from the database).
    pub fn with_ratings(ratings: HashMap<String, Rating>) -> Self {
        RatingBook {
            ratings,
            model: RatingModel::default(),
        }
    }

    /// The model this book rates with.
    pub fn model(&self) -> &RatingModel {
        &self.model
    }

    /// The player's current rating, or the default one if never seen.
    pub fn get(&self, login: &str) -> Rating {
        self.ratings.get(login).copied().unwrap_or_default()
    }

    /// Every rated player and their rating, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Rating)> {
        self.ratings.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// Players with a rating.
    pub fn len(&self) -> usize {
        self.ratings.len()
    }

    /// Whether no player has a rating yet.
    pub fn is_empty(&self) -> bool {
        self.ratings.is_empty()
    }

    /// Applies one battle and returns the new ratings of its participants.
    /// Only PvP battles between two teams move ratings; others return nothing.
    pub fn apply(&mut self, battle: &Battle) -> Vec<(String, Rating)> {
        let new = rate_battle(battle, |login| self.get(login), &self.model);
        for (login, rating) in &new {
            self.ratings.insert(login.clone(), *rating);
        }
        new
    }
}

/// The new ratings of a battle's participants given their current ones.
/// Pure: the store uses it to update ratings incrementally on ingestion.
pub fn rate_battle(
    battle: &Battle,
    current: impl Fn(&str) -> Rating,
    model: &RatingModel,
) -> Vec<(String, Rating)> {
    let Some((team_a, team_b)) = pvp_sides(battle) else {
        return Vec::new();
    };
    let ratings =
        |team: &[&Participant]| -> Vec<Rating> { team.iter().map(|p| current(&p.login)).collect() };
    let a_won = team_a.first().is_some_and(|p| p.won);
    let (new_a, new_b) = model.update(&ratings(&team_a), &ratings(&team_b), a_won);
    team_a
        .iter()
        .zip(new_a)
        .chain(team_b.iter().zip(new_b))
        .map(|(p, r)| (p.login.clone(), r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battle::Mode;

    fn player(login: &str, team: u8, won: bool) -> Participant {
        Participant {
            login: login.into(),
            team,
            won,
            kills: 0,
            deaths: 0,
            damage_dealt: 0,
            damage_taken: 0,
            level: 1,
        }
    }

    #[test]
    fn one_v_one_from_default_ratings_matches_an_independent_computation() {
        // Weng & Lin (2011), Bradley–Terry full pair, computed independently:
        // python3 -c "import math; b=25/6; s=25/3; c=math.sqrt(2*b*b+2*s*s);
        //   p=0.5; print(25+s*s/c*(1-p), 25-s*s/c*p,
        //   s*math.sqrt(1-(s/c)*s*s/c**2*p*(1-p)))"
        // → 27.63523138347365 22.36476861652635 8.065506316323548
        // (skillratings' own test asserts 27.635_231_383_473_65 as well).
        let battle = Battle {
            id: 1,
            mode: Mode::Pvp,
            started_at: 0,
            duration_secs: 60,
            participants: vec![player("loser", 0, false), player("winner", 1, true)],
        };
        let mut book = RatingBook::with_model(RatingModel::WENG_LIN_DEFAULT);
        book.apply(&battle);
        let (winner, loser) = (book.get("winner"), book.get("loser"));
        assert!(
            (winner.mu - 27.635_231_383_473_65).abs() < 1e-9,
            "{winner:?}"
        );
        assert!((loser.mu - 22.364_768_616_526_35).abs() < 1e-9, "{loser:?}");
        assert!((winner.sigma - 8.065_506_316_323_548).abs() < 1e-9);
        assert!((loser.sigma - 8.065_506_316_323_548).abs() < 1e-9);
        // PvE battles do not move ratings.
        let pve = Battle {
            mode: Mode::Pve,
            participants: vec![player("loser", 0, true)],
            ..battle
        };
        assert!(book.apply(&pve).is_empty());
        assert_eq!(book.get("loser"), loser);
    }

    #[test]
    fn kalman_one_v_one_matches_an_independent_computation() {
        // python3 -c "import math; s=2**0.5*25/6; var=(25/3)**2+0.05**2;
        //   V=2*var; h=0.25/s/s; k=1/(1+V*h); step=0.5/s*k;
        //   print(25+var*step, 25-var*step, math.sqrt(var-var*var*h*k))"
        let r = Rating::default();
        let (a, b) = RatingModel::PRODUCTION.update(&[r], &[r], true);
        assert!((a[0].mu - 27.946_331_287_0).abs() < 1e-6, "{a:?}");
        assert!((b[0].mu - 22.053_668_713_0).abs() < 1e-6, "{b:?}");
        assert!((a[0].sigma - 7.216_986_617).abs() < 1e-6, "{a:?}");
        assert_eq!(a[0].sigma, b[0].sigma);
        // The book applies the same rule.
        let mut book = RatingBook::new();
        let battle = Battle {
            id: 1,
            mode: Mode::Pvp,
            started_at: 0,
            duration_secs: 60,
            participants: vec![player("w", 0, true), player("l", 1, false)],
        };
        book.apply(&battle);
        assert_eq!((book.get("w"), book.get("l")), (a[0], b[0]));
    }
}

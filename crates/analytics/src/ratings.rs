//! Skill ratings: Weng-Lin (a Bayesian approximation of TrueSkill that handles
//! teams), computed by the `skillratings` crate. A rating is a mean `mu` and an
//! uncertainty `sigma`; a new player starts at 25 ± 8.33.

use std::collections::HashMap;

use skillratings::Outcomes;
use skillratings::weng_lin::{WengLinConfig, WengLinRating, weng_lin_two_teams};

use crate::battle::{Battle, Mode};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rating {
    pub mu: f64,
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

/// Ratings of every player seen, updated battle by battle in the order given.
#[derive(Debug, Default, Clone)]
pub struct RatingBook {
    ratings: HashMap<String, Rating>,
    config: WengLinConfig,
}

impl RatingBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts from known ratings (for example loaded from the database).
    pub fn with_ratings(ratings: HashMap<String, Rating>) -> Self {
        RatingBook {
            ratings,
            config: WengLinConfig::new(),
        }
    }

    pub fn get(&self, login: &str) -> Rating {
        self.ratings.get(login).copied().unwrap_or_default()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, Rating)> {
        self.ratings.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn len(&self) -> usize {
        self.ratings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ratings.is_empty()
    }

    /// Applies one battle and returns the new ratings of its participants.
    /// Only PvP battles between two teams move ratings; others return nothing.
    pub fn apply(&mut self, battle: &Battle) -> Vec<(String, Rating)> {
        let new = rate_battle(battle, |login| self.get(login), &self.config);
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
    config: &WengLinConfig,
) -> Vec<(String, Rating)> {
    if battle.mode != Mode::Pvp {
        return Vec::new();
    }
    let teams = battle.teams();
    let [a, b] = teams[..] else {
        return Vec::new();
    };
    let members = |team: u8| -> Vec<&crate::battle::Participant> {
        battle
            .participants
            .iter()
            .filter(|p| p.team == team)
            .collect()
    };
    let (team_a, team_b) = (members(a), members(b));
    let ratings = |team: &[&crate::battle::Participant]| -> Vec<WengLinRating> {
        team.iter().map(|p| current(&p.login).to_wl()).collect()
    };
    let a_won = team_a.first().is_some_and(|p| p.won);
    let outcome = if a_won { Outcomes::WIN } else { Outcomes::LOSS };
    let (new_a, new_b) = weng_lin_two_teams(&ratings(&team_a), &ratings(&team_b), &outcome, config);
    team_a
        .iter()
        .zip(new_a)
        .chain(team_b.iter().zip(new_b))
        .map(|(p, r)| (p.login.clone(), Rating::from_wl(r)))
        .collect()
}

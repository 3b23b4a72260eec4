//! Skill ratings: Weng-Lin (a Bayesian approximation of TrueSkill that handles
//! teams), computed by the `skillratings` crate. A rating is a mean `mu` and an
//! uncertainty `sigma`; a new player starts at 25 ± 8.33.

use std::collections::HashMap;

use skillratings::Outcomes;
use skillratings::weng_lin::{WengLinConfig, WengLinRating, weng_lin_two_teams};

use crate::battle::{Battle, Mode};

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

/// Ratings of every player seen, updated battle by battle in the order given.
#[derive(Debug, Default, Clone)]
pub struct RatingBook {
    ratings: HashMap<String, Rating>,
    config: WengLinConfig,
}

impl RatingBook {
    /// An empty book: every player reads as [`Rating::default`].
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::battle::Participant;

    #[test]
    fn one_v_one_from_default_ratings_matches_an_independent_computation() {
        // Weng & Lin (2011), Bradley–Terry full pair, computed independently:
        // python3 -c "import math; b=25/6; s=25/3; c=math.sqrt(2*b*b+2*s*s);
        //   p=0.5; print(25+s*s/c*(1-p), 25-s*s/c*p,
        //   s*math.sqrt(1-(s/c)*s*s/c**2*p*(1-p)))"
        // → 27.63523138347365 22.36476861652635 8.065506316323548
        // (skillratings' own test asserts 27.635_231_383_473_65 as well).
        let player = |login: &str, team, won| Participant {
            login: login.into(),
            team,
            won,
            kills: 0,
            deaths: 0,
            damage_dealt: 0,
            damage_taken: 0,
            level: 1,
        };
        let battle = Battle {
            id: 1,
            mode: Mode::Pvp,
            started_at: 0,
            duration_secs: 60,
            participants: vec![player("loser", 0, false), player("winner", 1, true)],
        };
        let mut book = RatingBook::new();
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
}

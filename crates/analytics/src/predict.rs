//! Win prediction from ratings: the production rating model's probability
//! for two teams (the logistic probability over the summed team ratings,
//! widened by every member's uncertainty; see [`RatingModel`]).

pub use crate::battle::pvp_sides;
use crate::battle::{Battle, Participant};
use crate::ratings::{Rating, RatingModel};

pub use crate::synth::bayes_optimal;

/// P(team A beats team B) under the production rating model
/// ([`RatingModel::PRODUCTION`]). An empty side has no chance; two empty
/// sides are a coin toss.
pub fn win_probability(team_a: &[Rating], team_b: &[Rating]) -> f64 {
    RatingModel::PRODUCTION.win_probability(team_a, team_b)
}

/// P(the lower-numbered team of a PvP battle wins) given current ratings,
/// and whether it did. `None` for battles that are not PvP between two teams.
pub fn predict_battle(battle: &Battle, rating: impl Fn(&str) -> Rating) -> Option<(f64, bool)> {
    predict_battle_with(battle, rating, &RatingModel::PRODUCTION)
}

/// [`predict_battle`] under a given rating model.
pub fn predict_battle_with(
    battle: &Battle,
    rating: impl Fn(&str) -> Rating,
    model: &RatingModel,
) -> Option<(f64, bool)> {
    let (a, b) = pvp_sides(battle)?;
    let ratings =
        |side: &[&Participant]| -> Vec<Rating> { side.iter().map(|p| rating(&p.login)).collect() };
    let p = model.win_probability(&ratings(&a), &ratings(&b));
    Some((p, a.first().is_some_and(|p| p.won)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(mu: f64, sigma: f64) -> Rating {
        Rating { mu, sigma }
    }

    #[test]
    fn equal_teams_are_a_coin_toss_and_sides_sum_to_one() {
        let team = [Rating::default(), r(30.0, 2.0)];
        assert!((win_probability(&team, &team) - 0.5).abs() < 1e-12);
        let (a, b) = ([r(30.0, 2.0)], [r(20.0, 3.0), r(5.0, 1.0)]);
        assert!((win_probability(&a, &b) + win_probability(&b, &a) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn matches_skillratings_documented_team_example() {
        // The example in skillratings' docs for expected_score_two_teams: 21%.
        let one = [r(42.0, 2.1), Rating::default(), r(12.0, 3.2)];
        let two = [r(31.0, 1.2), Rating::default(), r(41.0, 1.2)];
        let p = RatingModel::WENG_LIN_DEFAULT.win_probability(&one, &two);
        assert_eq!((p * 100.0).round(), 21.0);
    }

    #[test]
    fn matches_the_bradley_terry_formula_computed_independently() {
        // python3 -c "import math; c=math.sqrt(2*(25/6)**2+2**2+3**2);
        //   print(1/(1+math.exp(-(30-25)/c)))"  → 0.6734399901…
        let p = RatingModel::WENG_LIN_DEFAULT.win_probability(&[r(30.0, 2.0)], &[r(25.0, 3.0)]);
        assert!((p - 0.673_439_990_1).abs() < 1e-9, "{p}");
    }

    #[test]
    fn production_is_the_kalman_filter_computed_independently() {
        // python3 -c "import math; s=2**0.5*25/6; v=2**2+3**2+2*0.05**2;
        //   print(1/(1+math.exp(-5/math.sqrt(s*s+math.pi*v/8))))"  → 0.6883168…
        let p = win_probability(&[r(30.0, 2.0)], &[r(25.0, 3.0)]);
        assert!((p - 0.688_316_8).abs() < 1e-6, "{p}");
    }

    #[test]
    fn more_uncertainty_pulls_towards_a_coin_toss() {
        let sure = win_probability(&[r(30.0, 1.0)], &[r(25.0, 1.0)]);
        let unsure = win_probability(&[r(30.0, 8.0)], &[r(25.0, 8.0)]);
        assert!(sure > unsure && unsure > 0.5);
    }

    #[test]
    fn empty_sides() {
        assert_eq!(win_probability(&[], &[]), 0.5);
        assert_eq!(win_probability(&[Rating::default()], &[]), 1.0);
        assert_eq!(win_probability(&[], &[Rating::default()]), 0.0);
    }
}

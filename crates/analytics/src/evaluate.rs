//! Honest held-out evaluation of win prediction. Battles are put in time
//! order; ratings are learned on the first (1 − holdout) share; on the rest,
//! every PvP battle is predicted *before* its result is applied, then applied
//! — exactly what production does, so no battle's own outcome leaks into its
//! prediction. Compared with the trivial 50% baseline and, when the synthetic
//! truth is known, with the Bayes-optimal predictor (the ceiling).

use crate::battle::Battle;
use crate::predict::predict_battle_with;
use crate::ratings::{RatingBook, RatingModel};
use crate::synth::{Truth, bayes_optimal};

/// Probabilities are clamped to [EPS, 1 − EPS] before the logarithm so one
/// confident miss cannot make the log-loss infinite.
const EPS: f64 = 1e-12;

/// Quality of a set of win predictions over PvP battles.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Metrics {
    /// Mean −ln P(actual outcome); 0.6931 (ln 2) for a coin toss.
    pub log_loss: f64,
    /// Mean (p − outcome)²; 0.25 for a coin toss.
    pub brier: f64,
    /// Share of battles whose favourite (p > 0.5) won; p = 0.5 counts as half.
    pub accuracy: f64,
    /// PvP battles scored.
    pub n: usize,
}

/// Result of [`evaluate`](crate::evaluate()): the rating model against the 50% baseline and, on
/// synthetic data, the Bayes-optimal ceiling, all on the same held-out battles.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Predictions from the ratings learned so far (the rating model evaluated).
    pub model: Metrics,
    /// Always 0.5.
    pub baseline: Metrics,
    /// Bayes-optimal on the true skills, when the truth is known.
    pub ceiling: Option<Metrics>,
    /// Battles (all modes) the ratings were learned on before testing.
    pub train: usize,
    /// Battles (all modes) in the held-out part; `model.n` counts its PvP ones.
    pub test: usize,
}

/// Running sums for one predictor.
#[derive(Debug, Default, Clone, Copy)]
struct Scorer {
    log_loss: f64,
    brier: f64,
    correct: f64,
    n: usize,
}

impl Scorer {
    fn add(&mut self, p: f64, won: bool) {
        let p = p.clamp(EPS, 1.0 - EPS);
        let y = if won { 1.0 } else { 0.0 };
        self.log_loss -= if won { p.ln() } else { (1.0 - p).ln() };
        self.brier += (p - y) * (p - y);
        self.correct += if p == 0.5 {
            0.5
        } else if (p > 0.5) == won {
            1.0
        } else {
            0.0
        };
        self.n += 1;
    }

    fn metrics(&self) -> Metrics {
        let n = self.n.max(1) as f64;
        Metrics {
            log_loss: self.log_loss / n,
            brier: self.brier / n,
            accuracy: self.correct / n,
            n: self.n,
        }
    }
}

/// Evaluates the production rating model on `battles` (any order; sorted by
/// start time, then id). The held-out share is clamped to [0, 1]; `truth`
/// adds the ceiling.
pub fn evaluate(battles: &[Battle], holdout: f64, truth: Option<&Truth>) -> Evaluation {
    evaluate_model(battles, holdout, truth, RatingModel::default())
}

/// [`evaluate`] with another rating model (what `ml evaluate --compare` runs
/// for each candidate).
pub fn evaluate_model(
    battles: &[Battle],
    holdout: f64,
    truth: Option<&Truth>,
    rating_model: RatingModel,
) -> Evaluation {
    let mut ordered: Vec<&Battle> = battles.iter().collect();
    ordered.sort_by_key(|b| (b.started_at, b.id));
    let mut evaluator = Evaluator::new(rating_model, ordered.len(), holdout, truth);
    for battle in ordered {
        evaluator.observe(battle);
    }
    evaluator.finish()
}

/// The held-out evaluation fed one battle at a time, already in time order
/// (start time, then id), e.g. from a database cursor: memory is the rating
/// book's, not the history's. The first `total − round(total · holdout)`
/// battles only train; each later PvP battle is predicted, then applied.
#[derive(Debug)]
pub struct Evaluator<'t> {
    book: RatingBook,
    truth: Option<&'t Truth>,
    train: usize,
    seen: usize,
    model: Scorer,
    baseline: Scorer,
    ceiling: Scorer,
}

impl<'t> Evaluator<'t> {
    /// For `total` battles of which the last `holdout` share (clamped to
    /// [0, 1]) is tested.
    pub fn new(
        rating_model: RatingModel,
        total: usize,
        holdout: f64,
        truth: Option<&'t Truth>,
    ) -> Self {
        let test = ((total as f64) * holdout.clamp(0.0, 1.0)).round() as usize;
        Evaluator {
            book: RatingBook::with_model(rating_model),
            truth,
            train: total - test.min(total),
            seen: 0,
            model: Scorer::default(),
            baseline: Scorer::default(),
            ceiling: Scorer::default(),
        }
    }

    /// The next battle in time order.
    pub fn observe(&mut self, battle: &Battle) {
        if self.seen >= self.train {
            let book = &self.book;
            if let Some((p, a_won)) =
                predict_battle_with(battle, |login| book.get(login), book.model())
            {
                self.model.add(p, a_won);
                self.baseline.add(0.5, a_won);
                if let Some(best) = self.truth.and_then(|t| bayes_optimal(battle, t)) {
                    self.ceiling.add(best, a_won);
                }
            }
        }
        self.book.apply(battle);
        self.seen += 1;
    }

    /// The metrics over the battles seen.
    pub fn finish(self) -> Evaluation {
        Evaluation {
            model: self.model.metrics(),
            baseline: self.baseline.metrics(),
            ceiling: self.truth.map(|_| self.ceiling.metrics()),
            train: self.train.min(self.seen),
            test: self.seen.saturating_sub(self.train),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{SynthConfig, generate};

    /// The stated synthetic set for the test: 300 players, 20 000 battles,
    /// seed 42, 2% cheaters, 80% PvP, teams of 1–5; last 25% held out.
    fn stated_set() -> SynthConfig {
        SynthConfig {
            players: 300,
            battles: 20_000,
            seed: 42,
            cheater_fraction: 0.02,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn model_beats_the_coin_and_comes_close_to_the_ceiling() {
        let (battles, truth) = generate(&stated_set());
        let e = evaluate(&battles, 0.25, Some(&truth));
        let ceiling = e.ceiling.expect("truth given");
        assert_eq!((e.train, e.test), (15_000, 5_000));
        assert!(e.model.n > 3_500 && e.model.n == e.baseline.n && e.model.n == ceiling.n);
        assert!((e.baseline.log_loss - std::f64::consts::LN_2).abs() < 1e-12);
        assert!((e.baseline.brier - 0.25).abs() < 1e-12);
        // Better than the coin by a clear margin …
        assert!(e.model.log_loss < std::f64::consts::LN_2 - 0.05, "{e:?}");
        assert!(e.model.brier < 0.25 - 0.02, "{e:?}");
        assert!(e.model.accuracy > 0.6, "{e:?}");
        // … and no better than the truth allows (small tolerance for the
        // finite sample), but not far from it either.
        assert!(e.model.log_loss >= ceiling.log_loss - 0.01, "{e:?}");
        assert!(e.model.brier >= ceiling.brier - 0.005, "{e:?}");
        assert!(e.model.log_loss < ceiling.log_loss + 0.05, "{e:?}");
        assert!(e.model.brier < ceiling.brier + 0.02, "{e:?}");
        // Measured 1.040 on this small set (about 190 PvP battles a player by
        // the test); 1.022–1.027 on 2000 players × 200k battles (docs/ANALYTICS.md).
        assert!(e.model.log_loss / ceiling.log_loss < 1.05, "{e:?}");
        // The production model beats the Weng-Lin it replaced on the same battles
        // (measured 1.065 of the ceiling).
        let old = evaluate_model(&battles, 0.25, Some(&truth), RatingModel::WENG_LIN_DEFAULT);
        assert!(e.model.log_loss < old.model.log_loss, "{e:?} vs {old:?}");
    }

    #[test]
    fn metrics_by_hand() {
        let mut s = Scorer::default();
        s.add(0.8, true);
        s.add(0.8, false);
        s.add(0.5, true);
        let m = s.metrics();
        let ll = -(0.8f64.ln() + 0.2f64.ln() + 0.5f64.ln()) / 3.0;
        assert!((m.log_loss - ll).abs() < 1e-12);
        assert!((m.brier - (0.04 + 0.64 + 0.25) / 3.0).abs() < 1e-12);
        assert!((m.accuracy - 1.5 / 3.0).abs() < 1e-12);
        assert_eq!(m.n, 3);
    }

    #[test]
    fn no_leak_from_the_future_order_does_not_matter() {
        // Shuffled input gives the same result: evaluation sorts by time.
        let (battles, truth) = generate(&SynthConfig {
            battles: 2_000,
            ..stated_set()
        });
        let mut reversed = battles.clone();
        reversed.reverse();
        assert_eq!(
            evaluate(&battles, 0.3, Some(&truth)),
            evaluate(&reversed, 0.3, Some(&truth))
        );
        let none = evaluate(&battles, 0.0, None);
        assert_eq!((none.train, none.test, none.model.n), (2_000, 0, 0));
        assert!(none.ceiling.is_none());
    }
}

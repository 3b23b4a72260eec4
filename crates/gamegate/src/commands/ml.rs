//! `gamegate ml evaluate`: held-out evaluation of win prediction over a
//! file, synthetic battles (with `--compare`, every candidate rating model)
//! or the stored battles.

use std::path::{Path, PathBuf};

use anyhow::bail;

use clap::Subcommand;
use gamegate_analytics::ratings::{Algorithm, RatingModel};
use gamegate_analytics::{evaluate, synth};

use super::battles::{SynthArgs, open_analytics, read_jsonl, read_truth};
use crate::config::Config;

#[derive(Debug, Clone, Subcommand)]
pub enum MlCommand {
    /// Held-out evaluation of win prediction: log-loss, Brier score, accuracy vs the 50% baseline and (with the truth) the Bayes-optimal ceiling.
    Evaluate {
        /// Battles as JSONL (e.g. from `battles synth --out`).
        #[arg(long, conflicts_with_all = ["synthetic", "from_db"])]
        file: Option<PathBuf>,
        /// The battles stored in the analytics database, in battle order (read twice: a count, then one pass).
        #[arg(long, conflicts_with = "synthetic")]
        from_db: bool,
        /// The truth JSON written by `battles synth --truth`, for the ceiling.
        #[arg(long, requires = "file")]
        truth: Option<PathBuf>,
        /// Generate the battles instead (with --players, --battles, --seed).
        #[arg(long)]
        synthetic: bool,
        #[command(flatten)]
        set: SynthArgs,
        /// Share of the battles, the latest ones, held out for testing.
        #[arg(long, default_value_t = 0.25)]
        holdout: f64,
        /// With --synthetic: every candidate rating model on every seed of --seeds, as a Markdown table.
        #[arg(long, requires = "synthetic")]
        compare: bool,
        /// Seeds for --compare, e.g. 1-5 (at most 100 seeds).
        #[arg(long, default_value = "1-5", requires = "compare")]
        seeds: String,
    },
}

/// `ml evaluate --from-db`: the held-out evaluation over the stored battles,
/// in battle order, streamed (the rating book's memory, not the history's).
pub async fn ml_evaluate_db(config: &Config, holdout: f64) -> anyhow::Result<String> {
    check_holdout(holdout)?;
    let db = open_analytics(config).await?;
    let result = async {
        let total = db.battles().count_battles().await?;
        let total = usize::try_from(total).unwrap_or(usize::MAX);
        let mut evaluator = evaluate::Evaluator::new(RatingModel::PRODUCTION, total, holdout, None);
        db.battles()
            .for_each_battle(|battle| evaluator.observe(battle))
            .await?;
        anyhow::Ok(evaluator.finish())
    }
    .await;
    let source = format!("analytics database {}", db.display_url());
    db.close().await;
    Ok(metrics_table(&source, &result?, holdout))
}

fn check_holdout(holdout: f64) -> anyhow::Result<()> {
    if !(0.0..1.0).contains(&holdout) || holdout == 0.0 {
        bail!("--holdout must be above 0 and below 1");
    }
    Ok(())
}

/// `--seeds A-B` (or one seed): at most 100.
fn parse_seeds(text: &str) -> anyhow::Result<std::ops::RangeInclusive<u64>> {
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let parse = |s: &str| s.trim().parse::<u64>().ok();
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) if a <= b && b - a < 100 => Ok(a..=b),
        _ => bail!("--seeds must be A-B with A <= B and at most 100 seeds, got {text:?}"),
    }
}

/// The candidates `ml evaluate --compare` measures: the reference Weng-Lin,
/// each library model with dynamics, and the Kalman filter around the
/// production τ.
fn candidates() -> Vec<RatingModel> {
    let model = |algorithm, tau| RatingModel {
        algorithm,
        beta: 25.0 / 6.0,
        tau,
    };
    vec![
        RatingModel::WENG_LIN_DEFAULT,
        model(Algorithm::WengLin, 0.05),
        model(Algorithm::TrueSkill, 0.05),
        model(Algorithm::Kalman, 0.0),
        model(Algorithm::Kalman, 0.05),
        model(Algorithm::Kalman, 0.1),
    ]
}

/// `ml evaluate --synthetic --compare --seeds A-B`: log-loss of every
/// candidate per seed, the ceiling and the ratio, as a Markdown table with
/// the machine, the date and the command.
pub fn ml_compare(set: &SynthArgs, holdout: f64, seeds: &str) -> anyhow::Result<String> {
    check_holdout(holdout)?;
    let seeds = parse_seeds(seeds)?;
    let models = candidates();
    // rows[m][s] = (model log-loss, ceiling log-loss)
    let mut rows = vec![Vec::new(); models.len()];
    for seed in seeds.clone() {
        let config = SynthArgs {
            seed,
            ..set.clone()
        }
        .config()?;
        let (battles, truth) = synth::generate(&config);
        for (m, model) in models.iter().enumerate() {
            let e = evaluate::evaluate_model(&battles, holdout, Some(&truth), *model);
            let ceiling = e.ceiling.map_or(f64::NAN, |c| c.log_loss);
            rows[m].push((e.model.log_loss, ceiling));
        }
    }
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    // Best effort: the processor's name on Linux.
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let now = time::OffsetDateTime::now_utc();
    let date = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    let mut out = format!(
        "Held-out log-loss (online: each battle predicted from the ratings before it), {} players, \
         {} battles, 1% planted cheaters, last {}% held out; {cpu}, {} ({cores} cores), {date}.\n\
         Command: `gamegate ml evaluate --synthetic --players {} --battles {} --holdout {holdout} \
         --compare --seeds {}-{}`\n\n",
        set.players,
        set.battles,
        holdout * 100.0,
        std::env::consts::OS,
        set.players,
        set.battles,
        seeds.start(),
        seeds.end(),
    );
    out += "| model | parameters |";
    for seed in seeds.clone() {
        out += &format!(" seed {seed} |");
    }
    out += " worst ratio to ceiling |\n|---|---|";
    for _ in seeds.clone() {
        out += "---|";
    }
    out += "---|\n";
    for (model, row) in models.iter().zip(&rows) {
        let label = model.label();
        let (name, params) = label.split_once(' ').unwrap_or((&label, ""));
        let production = if *model == RatingModel::PRODUCTION {
            " (production)"
        } else {
            ""
        };
        out += &format!("| {name}{production} | {params} |");
        let mut worst = 0.0f64;
        for (loss, ceiling) in row {
            out += &format!(" {loss:.4} ({:.3}) |", loss / ceiling);
            worst = worst.max(loss / ceiling);
        }
        out += &format!(" {worst:.3} |\n");
    }
    out += "| Bayes-optimal ceiling | true skills |";
    for (_, ceiling) in &rows[0] {
        out += &format!(" {ceiling:.4} |");
    }
    out += " 1 |\n";
    out += "\nEach cell: log-loss (in brackets, its ratio to the Bayes-optimal ceiling on the same battles).";
    Ok(out)
}

/// `ml evaluate`: the table of metrics.
pub fn ml_evaluate(
    file: Option<&Path>,
    truth: Option<&Path>,
    synthetic: bool,
    set: &SynthArgs,
    holdout: f64,
) -> anyhow::Result<String> {
    check_holdout(holdout)?;
    let (battles, truth, source) = match (file, synthetic) {
        (Some(path), false) => (
            read_jsonl(path)?,
            truth.map(read_truth).transpose()?,
            format!("{}", path.display()),
        ),
        (None, true) => {
            let (battles, truth) = synth::generate(&set.config()?);
            (
                battles,
                Some(truth),
                format!(
                    "synthetic: {} players, {} battles, seed {}",
                    set.players, set.battles, set.seed
                ),
            )
        }
        _ => bail!("give either --file F.jsonl [--truth T.json] or --synthetic"),
    };
    let e = evaluate::evaluate(&battles, holdout, truth.as_ref());
    Ok(metrics_table(&source, &e, holdout))
}

/// The metrics of one evaluation as the command prints them.
fn metrics_table(source: &str, e: &evaluate::Evaluation, holdout: f64) -> String {
    let mut out = format!(
        "{source}\ntrained on {} battles, tested on {} ({} PvP predicted), holdout {holdout}\n\n",
        e.train, e.test, e.model.n
    );
    out += &format!(
        "{:<22} {:>9} {:>9} {:>9}\n",
        "predictor", "log-loss", "Brier", "accuracy"
    );
    let mut row = |name: &str, m: &evaluate::Metrics| {
        out += &format!(
            "{name:<22} {:>9.4} {:>9.4} {:>9.4}\n",
            m.log_loss, m.brier, m.accuracy
        );
    };
    row("model (Kalman)", &e.model);
    row("baseline (50%)", &e.baseline);
    if let Some(ceiling) = &e.ceiling {
        row("ceiling (Bayes)", ceiling);
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_a_bounded_range() {
        assert_eq!(parse_seeds("1-5").unwrap(), 1..=5);
        assert_eq!(parse_seeds("7").unwrap(), 7..=7);
        assert_eq!(parse_seeds("1-100").unwrap().count(), 100);
        for bad in ["5-1", "1-101", "x", "1-", ""] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_comparison_table_has_every_candidate_per_seed_and_the_ceiling() {
        let set = SynthArgs {
            players: 40,
            battles: 1_500,
            seed: 0,
        };
        let table = ml_compare(&set, 0.25, "3-4").unwrap();
        assert!(
            table.contains(
                "Command: `gamegate ml evaluate --synthetic --players 40 --battles 1500 \
                 --holdout 0.25 --compare --seeds 3-4`"
            ),
            "{table}"
        );
        assert!(
            table.contains("| model | parameters | seed 3 | seed 4 |"),
            "{table}"
        );
        let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
        // Header, the candidates, the ceiling.
        assert_eq!(rows.len(), 1 + candidates().len() + 1, "{table}");
        assert_eq!(
            rows.iter().filter(|r| r.contains("(production)")).count(),
            1,
            "{table}"
        );
        assert!(
            rows.last()
                .unwrap()
                .starts_with("| Bayes-optimal ceiling |")
        );
        // Each seed's numbers are those of the evaluation itself.
        let (battles, truth) = synth::generate(&SynthArgs { seed: 4, ..set }.config().unwrap());
        let e = evaluate::evaluate(&battles, 0.25, Some(&truth));
        let ceiling = e.ceiling.unwrap().log_loss;
        let cell = format!(
            "{:.4} ({:.3})",
            e.model.log_loss,
            e.model.log_loss / ceiling
        );
        let production = rows.iter().find(|r| r.contains("(production)")).unwrap();
        assert!(production.contains(&cell), "{production} lacks {cell}");
    }
}

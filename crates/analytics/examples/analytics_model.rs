//! Times `analyse` (ratings + anomaly detection) over a synthetic history and
//! reports what it found against the planted truth; optionally the held-out
//! evaluation. Run by bench/analytics_model.sh (release build).
//!
//! analytics_model [--players N] [--battles M] [--seed S] [--cheaters F] [--evaluate HOLDOUT]

use std::time::Instant;

use gamegate_analytics::anomalies::Evidence;
use gamegate_analytics::synth::{SynthConfig, stream};
use gamegate_analytics::{analyse, evaluate, synth::generate};

fn main() {
    let mut config = SynthConfig {
        players: 2000,
        battles: 1_000_000,
        seed: 42,
        cheater_fraction: 0.01,
        ..SynthConfig::default()
    };
    let mut holdout = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .unwrap_or_else(|| panic!("{} needs a value", pair[0]));
        match pair[0].as_str() {
            "--players" => config.players = value.parse().expect("--players N"),
            "--battles" => config.battles = value.parse().expect("--battles M"),
            "--seed" => config.seed = value.parse().expect("--seed S"),
            "--cheaters" => config.cheater_fraction = value.parse().expect("--cheaters F"),
            "--evaluate" => holdout = Some(value.parse::<f64>().expect("--evaluate HOLDOUT")),
            other => panic!("unknown argument {other}"),
        }
    }
    println!(
        "set: players {} battles {} seed {} cheater_fraction {} pvp_share {} team_size {:?}",
        config.players,
        config.battles,
        config.seed,
        config.cheater_fraction,
        config.pvp_share,
        config.team_size
    );

    if let Some(holdout) = holdout {
        let (battles, truth) = generate(&config);
        let e = evaluate(&battles, holdout, Some(&truth));
        println!(
            "evaluation (holdout {holdout}): train {} test {} pvp predicted {}",
            e.train, e.test, e.model.n
        );
        for (name, m) in [
            ("model (Kalman)", Some(e.model)),
            ("baseline 0.5", Some(e.baseline)),
            ("ceiling (Bayes)", e.ceiling),
        ] {
            if let Some(m) = m {
                println!(
                    "  {name:<17} log-loss {:.4}  brier {:.4}  accuracy {:.4}",
                    m.log_loss, m.brier, m.accuracy
                );
            }
        }
        return;
    }

    // End to end: `analyse` fed straight from the generator's stream.
    let started = Instant::now();
    let (book, _) = analyse(stream(&config).0);
    println!(
        "analyse(stream): {} battles, {} players rated, {:.2}s including generation",
        config.battles,
        book.len(),
        started.elapsed().as_secs_f64()
    );

    // What `analyse` does, battle by battle as the stream yields them, so
    // generation can be timed apart and no battle list is held in memory.
    let (mut battles, truth) = stream(&config);
    let (mut gen_secs, mut analyse_secs) = (0.0, 0.0);
    let mut book = gamegate_analytics::RatingBook::new();
    let mut detector = gamegate_analytics::Detector::new();
    let (mut generated, mut participants) = (0u64, 0u64);
    loop {
        let t = Instant::now();
        let Some(battle) = battles.next() else { break };
        gen_secs += t.elapsed().as_secs_f64();
        generated += 1;
        participants += battle.participants.len() as u64;
        let t = Instant::now();
        detector.observe(&battle, |login| book.get(login));
        book.apply(&battle);
        analyse_secs += t.elapsed().as_secs_f64();
    }
    println!(
        "analyse: {generated} battles in {analyse_secs:.2}s = {:.0} battles/s, {:.0} participants/s (generation {gen_secs:.2}s apart)",
        generated as f64 / analyse_secs,
        participants as f64 / analyse_secs
    );
    for min_battles in [30, 100] {
        let flagged = detector.flagged(&Evidence {
            min_battles,
            ..Evidence::default()
        });
        let found = flagged
            .iter()
            .filter(|a| truth.cheaters.contains(&a.login))
            .count();
        let false_positives = flagged.len() - found;
        let honest = truth.skill.len() - truth.cheaters.len();
        println!(
            "anomalies (min_battles {min_battles}): flagged {}, planted cheaters found {found}/{} (recall {:.2}), false positives {false_positives}/{honest} ({:.4})",
            flagged.len(),
            truth.cheaters.len(),
            found as f64 / truth.cheaters.len().max(1) as f64,
            false_positives as f64 / honest.max(1) as f64
        );
    }
    let flagged: std::collections::HashSet<String> = detector
        .flagged(&Evidence::default())
        .into_iter()
        .map(|a| a.login)
        .collect();
    let mut missed: Vec<_> = truth
        .cheats
        .iter()
        .filter(|(l, _)| !flagged.contains(*l))
        .collect();
    missed.sort_by(|a, b| a.0.cmp(b.0));
    for (login, cheat) in missed {
        println!("  missed {login}: {cheat:?}");
    }
}

//! Recall and precision of the anomaly flags against planted cheaters, per
//! seed, with the default evidence rules. Run by bench/anomalies.sh (release).
//!
//! anomaly_quality --players N --battles M --cheaters F --seeds A-B

use gamegate_analytics::anomalies::{Evidence, analyse};
use gamegate_analytics::synth::{CheatKind, SynthConfig, stream};

fn main() {
    let mut config = SynthConfig {
        players: 500,
        battles: 30_000,
        cheater_fraction: 0.04,
        ..SynthConfig::default()
    };
    let mut seeds = (1u64, 10u64);
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair
            .get(1)
            .unwrap_or_else(|| panic!("{} needs a value", pair[0]));
        match pair[0].as_str() {
            "--players" => config.players = value.parse().expect("--players N"),
            "--battles" => config.battles = value.parse().expect("--battles M"),
            "--cheaters" => config.cheater_fraction = value.parse().expect("--cheaters F"),
            "--seeds" => {
                let (a, b) = value.split_once('-').unwrap_or((value, value));
                seeds = (
                    a.parse().expect("--seeds A-B"),
                    b.parse().expect("--seeds A-B"),
                );
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let evidence = Evidence::default();
    println!(
        "set: {} players, {} battles, cheater share {}; evidence {evidence:?}",
        config.players, config.battles, config.cheater_fraction
    );
    println!("| seed | planted | flagged | found (recall) | honest flagged | precision | missed |");
    println!("|---|---|---|---|---|---|---|");
    let (mut planted_all, mut found_all, mut flagged_all) = (0, 0, 0);
    for seed in seeds.0..=seeds.1 {
        let (battles, truth) = stream(&SynthConfig {
            seed,
            ..config.clone()
        });
        let (_, detector) = analyse(battles);
        let flagged = detector.flagged(&evidence);
        if std::env::var("DEBUG").is_ok() {
            let lenient = Evidence {
                min_battles: 1,
                min_expected: 0.0,
                alpha: 1.0,
            };
            for a in detector.flagged(&lenient) {
                if truth.cheaters.contains(&a.login) && !flagged.iter().any(|f| f.login == a.login)
                {
                    eprintln!("{} {:?}", a.login, a.reasons);
                }
            }
        }
        let found = flagged
            .iter()
            .filter(|a| truth.cheaters.contains(&a.login))
            .count();
        let planted = truth.cheaters.len();
        let mut missed: Vec<String> = truth
            .cheats
            .iter()
            .filter(|(login, _)| !flagged.iter().any(|a| &a.login == *login))
            .map(|(login, c)| {
                let kind = match c.kind {
                    CheatKind::Aimbot => "aimbot",
                    CheatKind::DamageHack => "damage×",
                };
                format!("{login} ({kind} {:.1})", c.damage_factor)
            })
            .collect();
        missed.sort();
        let recall = if planted > 0 {
            found as f64 / planted as f64
        } else {
            f64::NAN
        };
        let precision = if flagged.is_empty() {
            f64::NAN
        } else {
            found as f64 / flagged.len() as f64
        };
        println!(
            "| {seed} | {planted} | {} | {found} ({recall:.2}) | {} | {precision:.2} | {} |",
            flagged.len(),
            flagged.len() - found,
            missed.join(", ")
        );
        for a in flagged
            .iter()
            .filter(|a| !truth.cheaters.contains(&a.login))
        {
            eprintln!("seed {seed}: honest {} flagged: {}", a.login, a.reasons[0]);
        }
        planted_all += planted;
        found_all += found;
        flagged_all += flagged.len();
    }
    println!(
        "\nall seeds: planted {planted_all}, flagged {flagged_all}, found {found_all} (recall {:.3}, precision {:.3})",
        found_all as f64 / planted_all.max(1) as f64,
        found_all as f64 / flagged_all.max(1) as f64
    );
}

//! `gamegate battles import|synth`, `gamegate ratings rebuild` and
//! `gamegate ml evaluate`: the operator's side of the statistics service.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use gamegate_analytics::Battle;
use gamegate_analytics::synth::{self, Cheat, CheatKind, SynthConfig, Truth};
use gamegate_store::{Database, IngestPipeline, MigrationSet};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::app::battle_import::{
    ImportReport, MAX_REPORTED_LINES, UNKNOWN_PLAYER, as_demo, ingest_all, unknown_player_message,
    unregistered_logins,
};
use crate::config::Config;
use crate::shared::operator_db::open_existing;

/// Most battles per ingestion transaction from the command line.
const MAX_BATCH: usize = 10_000;

#[derive(Debug, Clone, Subcommand)]
pub enum BattlesCommand {
    /// Ingest a JSONL file (one battle per line) into the analytics database; idempotent by battle id.
    /// Exits 1 when a line was rejected (after importing the valid ones) unless --allow-partial.
    Import {
        file: PathBuf,
        /// Battles per transaction.
        #[arg(long, default_value_t = 1_000)]
        batch: usize,
        /// Exit 0 even when some lines were rejected (they are still reported).
        #[arg(long)]
        allow_partial: bool,
    },
    /// Write every stored battle as JSONL, the format `battles import` reads, in time order
    /// (streamed a page at a time). Synthetic battles (negative ids) are left out: import refuses them.
    Export {
        /// Write here; without it, or with `-`, to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Remove the synthetic history (`gamegate all`'s demo battles and `battles synth`'s
    /// ingested ones, stored under negative ids) and rebuild the ratings from the real battles.
    PurgeDemo,
    /// Generate synthetic battles with hidden true skills and planted cheaters (ingested under
    /// negative ids, apart from real battles, unless written to --out).
    Synth {
        #[command(flatten)]
        set: SynthArgs,
        /// Write JSONL here instead of ingesting into the analytics database.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the hidden truth (skills, cheaters) here as JSON.
        #[arg(long)]
        truth: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct SynthArgs {
    #[arg(long, default_value_t = 1_000)]
    pub players: usize,
    #[arg(long, default_value_t = 50_000)]
    pub battles: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

impl SynthArgs {
    pub(super) fn config(&self) -> anyhow::Result<SynthConfig> {
        if !(2..=10_000_000).contains(&self.players) || self.battles > 100_000_000 {
            bail!("--players must be 2..=10000000 and --battles at most 100000000");
        }
        Ok(SynthConfig {
            players: self.players,
            battles: self.battles,
            seed: self.seed,
            ..SynthConfig::default()
        })
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum RatingsCommand {
    /// Recompute every player's totals and rating from the stored battles, in time order.
    Rebuild,
}

/// The truth as a file: what `synth::Truth` holds, in plain JSON.
#[derive(Serialize, Deserialize)]
struct TruthFile {
    skill: HashMap<String, f64>,
    cheats: HashMap<String, CheatFile>,
}

#[derive(Serialize, Deserialize)]
struct CheatFile {
    kind: String,
    since: i64,
    skill_boost: f64,
    damage_factor: f64,
}

impl TruthFile {
    fn from_truth(t: &Truth) -> Self {
        TruthFile {
            skill: t.skill.clone(),
            cheats: t
                .cheats
                .iter()
                .map(|(login, c)| {
                    let kind = match c.kind {
                        CheatKind::Aimbot => "aimbot",
                        CheatKind::DamageHack => "damage_hack",
                    };
                    (
                        login.clone(),
                        CheatFile {
                            kind: kind.to_owned(),
                            since: c.since,
                            skill_boost: c.skill_boost,
                            damage_factor: c.damage_factor,
                        },
                    )
                })
                .collect(),
        }
    }

    fn into_truth(self) -> anyhow::Result<Truth> {
        let mut cheats = HashMap::new();
        for (login, c) in self.cheats {
            let kind = match c.kind.as_str() {
                "aimbot" => CheatKind::Aimbot,
                "damage_hack" => CheatKind::DamageHack,
                other => bail!("unknown cheat kind {other:?} in the truth file"),
            };
            cheats.insert(
                login,
                Cheat {
                    kind,
                    since: c.since,
                    skill_boost: c.skill_boost,
                    damage_factor: c.damage_factor,
                },
            );
        }
        Ok(Truth {
            skill: self.skill,
            cheaters: cheats.keys().cloned().collect::<HashSet<_>>(),
            cheats,
        })
    }
}

pub(super) async fn open_analytics(config: &Config) -> anyhow::Result<Database> {
    let db = Database::connect(&config.analytics.url, &config.analytics_pool_settings()).await?;
    db.migrate(MigrationSet::Analytics)
        .await
        .with_context(|| format!("cannot migrate {}", db.display_url()))?;
    Ok(db)
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// `battles import FILE`: returns the summary line; an error (exit 1) when a
/// line was rejected, unless `allow_partial` — the valid lines are imported
/// either way.
pub async fn import(
    config: &Config,
    file: &Path,
    batch: usize,
    allow_partial: bool,
) -> anyhow::Result<String> {
    if !(1..=MAX_BATCH).contains(&batch) {
        bail!("--batch must be 1..={MAX_BATCH}");
    }
    let handle =
        std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    let size = handle.metadata().map(|m| m.len()).unwrap_or(0);
    let db = open_analytics(config).await?;
    let started = Instant::now();
    let progress = bar(
        size,
        "{elapsed_precise} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    );
    let mut report = ImportReport::default();
    let mut reader = BufReader::new(handle);
    let mut line = String::new();
    let mut line_no = 0u64;
    let mut read = 0u64;
    let mut pending: Vec<(u64, Battle)> = Vec::with_capacity(batch);
    // Battle logins follow the registration's login rule.
    let rules = config.rules()?;
    // analytics.require_registered_players: every login must have an account.
    let accounts = match config.analytics.require_registered_players {
        true => Some(
            open_existing(&config.database.url, ACCOUNTS_TIMEOUT)
                .await
                .context("analytics.require_registered_players needs the accounts database")?,
        ),
        false => None,
    };
    let mut pipeline = db.battles().pipeline();
    let result = async {
        loop {
            line.clear();
            let n = reader
                .read_line(&mut line)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if n == 0 {
                break;
            }
            line_no += 1;
            read += n as u64;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let parsed = serde_json::from_str::<Battle>(text)
                .map_err(|e| e.to_string())
                .and_then(|b| b.checked(&rules).map_err(|e| e.to_string()));
            match parsed {
                Ok(b) => pending.push((line_no, b)),
                Err(why) => reject(line_no, &why, &mut report, &progress),
            }
            if pending.len() == batch {
                store_lines(
                    &mut pipeline,
                    accounts.as_ref(),
                    &mut pending,
                    &mut report,
                    &progress,
                )
                .await?;
                progress.set_position(read);
            }
        }
        store_lines(
            &mut pipeline,
            accounts.as_ref(),
            &mut pending,
            &mut report,
            &progress,
        )
        .await?;
        for done in pipeline.finish().await? {
            report.count(&done);
        }
        progress.set_position(read);
        anyhow::Ok(())
    }
    .await;
    if let Some(accounts) = accounts {
        accounts.close().await;
    }
    progress.finish_and_clear();
    db.close().await;
    result?;
    let secs = started.elapsed().as_secs_f64();
    if report.invalid_lines > MAX_REPORTED_LINES {
        eprintln!(
            "… and {} more invalid lines",
            report.invalid_lines - MAX_REPORTED_LINES
        );
    }
    let summary = format!(
        "imported {}: {} inserted ({} participants), {} duplicate, {} invalid lines in {:.2} s ({:.0} participants/s)",
        file.display(),
        report.inserted,
        report.participants,
        report.duplicate,
        report.invalid_lines,
        secs,
        report.participants as f64 / secs.max(1e-9),
    );
    let summary = match report.duplicate_ids.as_slice() {
        [] => summary,
        ids => {
            let shown: Vec<String> = ids.iter().map(i64::to_string).collect();
            let more = report.duplicate - ids.len() as u64;
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!(
                "{summary}\nalready stored (skipped), by id: {}{more}",
                shown.join(", ")
            )
        }
    };
    if report.invalid_lines > 0 && !allow_partial {
        bail!(
            "{summary}\n{} line(s) rejected (see above); the valid lines were imported. \
             Fix the file and import it again (stored battles are skipped), or pass \
             --allow-partial to accept a partial import",
            report.invalid_lines
        );
    }
    Ok(summary)
}

/// How long `battles import` waits for the accounts database.
const ACCOUNTS_TIMEOUT: Duration = Duration::from_secs(10);

/// Counts a rejected line and prints it while fewer than
/// [`MAX_REPORTED_LINES`] were.
fn reject(line_no: u64, why: &str, report: &mut ImportReport, progress: &ProgressBar) {
    report.invalid_lines += 1;
    if report.invalid_lines <= MAX_REPORTED_LINES {
        progress.suspend(|| eprintln!("line {line_no}: {why}"));
    }
}

/// Stores the valid lines read so far (emptying `pending`); with `accounts`
/// (`analytics.require_registered_players`), a line naming a login with no
/// account is rejected instead, like an invalid one.
/// Pushes the parsed lines of one batch into the ingestion pipeline (after
/// refusing, under `analytics.require_registered_players`, the battles naming
/// a login with no account), counting the batch the pipeline answers.
async fn store_lines(
    pipeline: &mut IngestPipeline,
    accounts: Option<&Database>,
    pending: &mut Vec<(u64, Battle)>,
    report: &mut ImportReport,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    if let Some(accounts) = accounts {
        let battles: Vec<&Battle> = pending.iter().map(|(_, b)| b).collect();
        let unknown = unregistered_logins(accounts, &battles).await?;
        let mut unknown = unknown.into_iter();
        pending.retain(|(line_no, _)| {
            let logins = unknown.next().unwrap_or_default();
            let known = logins.is_empty();
            if !known {
                let why = format!("{UNKNOWN_PLAYER}: {}", unknown_player_message(&logins));
                reject(*line_no, &why, report, progress);
            }
            known
        });
    }
    if pending.is_empty() {
        return Ok(());
    }
    let battles = pending.drain(..).map(|(_, b)| b).collect();
    for done in pipeline.push(battles).await? {
        report.count(&done);
    }
    Ok(())
}

/// What `battles export` wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExportReport {
    /// Battles written.
    pub battles: u64,
    /// Their participants.
    pub participants: u64,
    /// Synthetic battles (negative ids) left out.
    pub synthetic: u64,
}

/// Writes every stored battle of `db` to `out` as JSONL in (started_at, id)
/// order, one page of battles in memory at a time; `progress` is called with
/// the battles read so far.
pub async fn export_to(
    db: &Database,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<ExportReport> {
    let mut report = ExportReport::default();
    let mut after = None;
    loop {
        let page = db.battles().page(after).await?;
        for battle in &page {
            if battle.id <= 0 {
                report.synthetic += 1;
                continue;
            }
            serde_json::to_writer(&mut *out, battle)?;
            out.write_all(b"\n")?;
            report.battles += 1;
            report.participants += battle.participants.len() as u64;
        }
        progress(report.battles + report.synthetic);
        match page.last() {
            Some(last) if page.len() as u64 == gamegate_store::BattleLog::PAGE => {
                after = Some((last.started_at, last.id));
            }
            _ => break,
        }
    }
    out.flush()?;
    Ok(report)
}

/// `battles export [--out FILE]`: the summary line (for stderr when the
/// battles went to stdout).
pub async fn export(config: &Config, out: Option<&Path>) -> anyhow::Result<String> {
    let out = out.filter(|p| p.as_os_str() != "-");
    let db = open_analytics(config).await?;
    let started = Instant::now();
    let result = async {
        let total = db.battles().count_battles().await?;
        let progress = bar(
            total,
            "{elapsed_precise} [{bar:40}] {pos}/{len} battles ({per_sec}, eta {eta})",
        );
        let set = |n| progress.set_position(n);
        let report = match out {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                export_to(&db, &mut BufWriter::new(file), set).await
            }
            None => export_to(&db, &mut BufWriter::new(std::io::stdout().lock()), set).await,
        };
        progress.finish_and_clear();
        report
    }
    .await;
    db.close().await;
    let report = result?;
    let target = out.map_or("stdout".to_owned(), |p| p.display().to_string());
    let skipped = match report.synthetic {
        0 => String::new(),
        n => format!("; {n} synthetic battles (negative ids) left out"),
    };
    Ok(format!(
        "exported {} battles ({} participants) to {target} in {:.2} s{skipped}",
        report.battles,
        report.participants,
        started.elapsed().as_secs_f64(),
    ))
}

/// `battles purge-demo`: deletes the synthetic battles and rebuilds the
/// ratings from what is left.
pub async fn purge_demo(config: &Config) -> anyhow::Result<String> {
    let db = open_analytics(config).await?;
    let result = async {
        let removed = db.battles().purge_demo().await?;
        let rebuilt = db.battles().rebuild(|_, _| {}).await?;
        anyhow::Ok(format!(
            "removed {removed} synthetic battles from {}; rebuilt the ratings of {} players from {} battles",
            db.display_url(),
            rebuilt.players,
            rebuilt.battles
        ))
    }
    .await;
    db.close().await;
    result
}

fn write_truth(path: &Path, truth: &Truth) -> anyhow::Result<()> {
    let text = serde_json::to_string(&TruthFile::from_truth(truth))?;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub(super) fn read_truth(path: &Path) -> anyhow::Result<Truth> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: TruthFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a truth file", path.display()))?;
    file.into_truth()
}

/// `battles synth`.
pub async fn synthesize(
    config: &Config,
    set: &SynthArgs,
    out: Option<&Path>,
    truth_path: Option<&Path>,
) -> anyhow::Result<String> {
    let synth_config = set.config()?;
    let (battles, truth) = synth::stream(&synth_config);
    if let Some(path) = truth_path {
        write_truth(path, &truth)?;
    }
    let progress = bar(
        set.battles as u64,
        "{elapsed_precise} [{bar:40}] {pos}/{len} battles ({per_sec}, eta {eta})",
    );
    let text = match out {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut writer = BufWriter::new(file);
            let mut n = 0u64;
            for battle in battles {
                serde_json::to_writer(&mut writer, &battle)?;
                writer.write_all(b"\n")?;
                n += 1;
                if n.is_multiple_of(10_000) {
                    progress.set_position(n);
                }
            }
            writer.flush()?;
            format!("wrote {n} battles to {}", path.display())
        }
        None => {
            let db = open_analytics(config).await?;
            let mut report = ImportReport::default();
            let result = ingest_all(&db, as_demo(battles), 1_000, &mut report, |n| {
                progress.set_position(n)
            })
            .await;
            db.close().await;
            result?;
            format!(
                "ingested {} synthetic battles ({} inserted, {} duplicate; negative ids, removed by \
                 `gamegate battles purge-demo`) into {}",
                report.inserted + report.duplicate,
                report.inserted,
                report.duplicate,
                gamegate_store::mask_url_password(&config.analytics.url),
            )
        }
    };
    progress.finish_and_clear();
    let cheaters = truth.cheaters.len();
    Ok(format!(
        "{text}; {} players, {cheaters} planted cheaters, seed {}",
        set.players, set.seed
    ))
}

/// `ratings rebuild`.
pub async fn rebuild(config: &Config) -> anyhow::Result<String> {
    let db = open_analytics(config).await?;
    let started = Instant::now();
    let progress = bar(
        0,
        "{elapsed_precise} [{bar:40}] {pos}/{len} battles ({per_sec}, eta {eta})",
    );
    let result = db
        .battles()
        .rebuild(|done, total| {
            progress.set_length(total);
            progress.set_position(done);
        })
        .await;
    progress.finish_and_clear();
    db.close().await;
    let report = result?;
    Ok(format!(
        "rebuilt the ratings of {} players from {} battles in {:.2} s",
        report.players,
        report.battles,
        started.elapsed().as_secs_f64()
    ))
}

pub(super) fn read_jsonl(path: &Path) -> anyhow::Result<Vec<Battle>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut battles = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let battle: Battle = serde_json::from_str(&line)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        battles.push(battle);
    }
    Ok(battles)
}

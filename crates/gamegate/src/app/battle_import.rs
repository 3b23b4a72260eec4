//! Battles into the analytics store in batches (the `battles import`
//! command, the synthetic history) and the demo history of `gamegate all`.

use gamegate_analytics::Battle;
use gamegate_analytics::synth::{self, SynthConfig};
use gamegate_domain::normalise_login;
use gamegate_store::battles::demo_id;
use gamegate_store::{Database, Ingested, IngestedBatch, StoreError};

/// How many duplicate ids an [`ImportReport`] keeps (and a report names).
pub const MAX_REPORTED_LINES: u64 = 50;

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub inserted: u64,
    pub duplicate: u64,
    pub invalid_lines: u64,
    pub participants: u64,
    /// The ids of the first [`MAX_REPORTED_LINES`] duplicates (already stored).
    pub duplicate_ids: Vec<i64>,
}

/// The per-item error of a battle naming a login with no account, under
/// `analytics.require_registered_players`.
pub const UNKNOWN_PLAYER: &str = "unknown_player";

/// For each of `battles`, the logins of its participants that no account of
/// `accounts` has (matched case-insensitively, any account state); empty
/// when every player is registered. One lookup for the whole slice.
pub async fn unregistered_logins(
    accounts: &Database,
    battles: &[&Battle],
) -> Result<Vec<Vec<String>>, StoreError> {
    let logins: Vec<&str> = battles
        .iter()
        .flat_map(|b| b.participants.iter().map(|p| p.login.as_str()))
        .collect();
    let known = accounts.accounts().registered(&logins).await?;
    Ok(battles
        .iter()
        .map(|b| {
            b.participants
                .iter()
                .filter(|p| !known.contains(&normalise_login(&p.login)))
                .map(|p| p.login.clone())
                .collect()
        })
        .collect())
}

/// The message of an [`UNKNOWN_PLAYER`] refusal.
pub fn unknown_player_message(logins: &[String]) -> String {
    format!(
        "no account has the login {} (analytics.require_registered_players is on)",
        logins.join(", ")
    )
}

impl ImportReport {
    /// Counts one ingested batch.
    pub fn count(&mut self, done: &IngestedBatch) {
        for (b, o) in done.battles.iter().zip(&done.outcome) {
            match o {
                Ingested::Inserted => {
                    self.inserted += 1;
                    self.participants += b.participants.len() as u64;
                }
                Ingested::Duplicate => {
                    self.duplicate += 1;
                    if self.duplicate_ids.len() < MAX_REPORTED_LINES as usize {
                        self.duplicate_ids.push(b.id);
                    }
                }
            }
        }
    }
}

/// Ingests `battles` in transactions of `batch` through an
/// [`gamegate_store::IngestPipeline`], counting into `report`; `progress` is called with the
/// battles answered so far after each batch.
pub async fn ingest_all(
    db: &Database,
    battles: impl IntoIterator<Item = Battle>,
    batch: usize,
    report: &mut ImportReport,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<()> {
    let mut pipeline = db.battles().pipeline();
    let mut pending = Vec::with_capacity(batch);
    let mut answered = |done: Vec<IngestedBatch>, report: &mut ImportReport| {
        for batch in &done {
            report.count(batch);
            progress(report.inserted + report.duplicate);
        }
    };
    for battle in battles {
        pending.push(battle);
        if pending.len() == batch {
            let full = std::mem::replace(&mut pending, Vec::with_capacity(batch));
            answered(pipeline.push(full).await?, report);
        }
    }
    if !pending.is_empty() {
        answered(pipeline.push(pending).await?, report);
    }
    answered(pipeline.finish().await?, report);
    Ok(())
}

/// Synthetic battles as they are stored: under [`demo_id`]s, apart from
/// every real battle.
pub fn as_demo(battles: impl IntoIterator<Item = Battle>) -> impl Iterator<Item = Battle> {
    battles.into_iter().map(|mut b| {
        b.id = demo_id(b.id);
        b
    })
}

/// Seeds a small synthetic history into an empty analytics database (the
/// dashboard of `gamegate all` is then not empty), under negative ids
/// ([`demo_id`]) so it never collides with a real battle and `battles
/// purge-demo` removes exactly it. Does nothing when the database holds any
/// battle.
pub async fn seed_if_empty(db: &Database, players: usize, battles: usize) -> anyhow::Result<bool> {
    if db.battles().count_battles().await? > 0 {
        return Ok(false);
    }
    let (stream, _) = synth::stream(&SynthConfig {
        players,
        battles,
        seed: 42,
        // Recent, so the default 7-day summary shows it (a few thousand
        // battles span about two days of the generator's clock).
        start_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
            - 3 * 86_400,
        ..SynthConfig::default()
    });
    let mut report = ImportReport::default();
    ingest_all(db, as_demo(stream), 1_000, &mut report, |_| {}).await?;
    Ok(true)
}

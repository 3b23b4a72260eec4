//! `gamegate doctor`: the production checklist (docs/PRODUCTION_SETUP.md#checklist)
//! checked against one configuration. Each check is data — an id, an
//! outcome, the reason, the fix — produced by [`run`]; printing is separate
//! ([`Report::to_text`], [`Report::to_json`]), so tests assert on outcomes.
//!
//! Every network check has its own short bound; they run concurrently, so a
//! run takes about as long as the slowest check. No secret is ever part of a
//! reason: keys are counted, URLs are masked, the bot token is never shown.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gamegate_gameserver::FailureKind;
use gamegate_store::MigrationSet;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::config::{Config, ConnectorKind, DEV_GAME_SERVER_TOKEN};
use crate::shared::backup_files::{self, Which};
use crate::shared::certificate::{CertFacts, CertProblem};
use crate::shared::checklist;
use crate::shared::operator_db::open_existing;

mod certificate;
mod defaults;
mod edge;
mod files;
mod network;

use certificate::*;
use defaults::*;
use edge::*;
use files::*;
use network::*;

/// Bound on each network check (connect + the question asked).
pub const NETWORK_LIMIT: Duration = Duration::from_secs(5);
/// API keys shorter than this fail (a generated key has 44).
pub const MIN_KEY_CHARS: usize = 32;
/// … and keys whose estimated entropy is below this.
pub const MIN_KEY_BITS: f64 = 128.0;

/// The items of the checklist doctor can check.
///
/// `--skip` takes exactly the names the report prints ([`CheckId::name`],
/// snake_case), so a name copied from a report works on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum CheckId {
    Certificate,
    /// TLS on a listener that faces the internet (or a proxy in front).
    Tls,
    ApiKeys,
    Cors,
    RateLimits,
    TrustedProxies,
    /// The admin listener (metrics, dashboard, reports) and `serve stats`
    /// are on loopback, or behind `admin.tokens`.
    AdminListener,
    AccountsDatabase,
    AnalyticsDatabase,
    GameServer,
    /// The connector's credential (`game_server.auth_token`, or
    /// `game_server.http.signing_secret` for `kind = "http"`) is not the
    /// development default and is strong.
    GameServerToken,
    /// `game_server.embedded_mock` is off.
    EmbeddedMock,
    Telegram,
    Logging,
    Backup,
    /// `http.demo_site` is off.
    DemoSite,
    /// `analytics.seed_demo_history` is off.
    DemoHistory,
}

impl CheckId {
    pub const ALL: [CheckId; 17] = [
        CheckId::Certificate,
        CheckId::Tls,
        CheckId::ApiKeys,
        CheckId::Cors,
        CheckId::RateLimits,
        CheckId::TrustedProxies,
        CheckId::AdminListener,
        CheckId::AccountsDatabase,
        CheckId::AnalyticsDatabase,
        CheckId::GameServer,
        CheckId::GameServerToken,
        CheckId::EmbeddedMock,
        CheckId::Telegram,
        CheckId::Logging,
        CheckId::Backup,
        CheckId::DemoSite,
        CheckId::DemoHistory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckId::Certificate => "certificate",
            CheckId::Tls => "tls",
            CheckId::AdminListener => "admin_listener",
            CheckId::GameServerToken => "game_server_token",
            CheckId::EmbeddedMock => "embedded_mock",
            CheckId::DemoSite => "demo_site",
            CheckId::DemoHistory => "demo_history",
            CheckId::ApiKeys => "api_keys",
            CheckId::Cors => "cors",
            CheckId::RateLimits => "rate_limits",
            CheckId::TrustedProxies => "trusted_proxies",
            CheckId::AccountsDatabase => "accounts_database",
            CheckId::AnalyticsDatabase => "analytics_database",
            CheckId::GameServer => "game_server",
            CheckId::Telegram => "telegram",
            CheckId::Logging => "logging",
            CheckId::Backup => "backup",
        }
    }
}

pub use crate::shared::checklist::Outcome;

/// One checked item of `doctor`.
pub type Check = checklist::Check<CheckId>;

impl checklist::CheckName for CheckId {
    fn name(self) -> &'static str {
        CheckId::name(self)
    }
}

/// Every check of one run, in checklist order.
#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
    pub elapsed: Duration,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed().is_empty()
    }

    pub fn failed(&self) -> Vec<CheckId> {
        checklist::failed(&self.checks)
    }

    pub fn get(&self, id: CheckId) -> &Check {
        self.checks
            .iter()
            .find(|c| c.id == id)
            .expect("every check is in the report")
    }

    /// One line per check (`✓ name  reason`), a `fix:` line under each ✗.
    pub fn to_text(&self) -> String {
        let width = CheckId::ALL
            .iter()
            .map(|c| c.name().len())
            .max()
            .unwrap_or(0);
        checklist::lines(&self.checks, width) + &checklist::totals(&self.checks, self.elapsed)
    }

    pub fn to_json(&self) -> Value {
        Value::Object(checklist::json_fields(&self.checks, self.elapsed))
    }
}

/// Runs every check except those in `skip` (reported as not applicable).
pub async fn run(config: &Config, skip: &[CheckId]) -> Report {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let skipped = |id: CheckId| skip.contains(&id);
    let (accounts, analytics, game, telegram) = tokio::join!(
        timed(skipped(CheckId::AccountsDatabase), || database(
            config,
            Which::Accounts
        )),
        timed(skipped(CheckId::AnalyticsDatabase), || database(
            config,
            Which::Analytics
        )),
        timed(skipped(CheckId::GameServer), || game_server(config)),
        timed(skipped(CheckId::Telegram), || telegram_bot(config)),
    );
    let mut checks = Vec::new();
    for id in CheckId::ALL {
        let check = match id {
            _ if skipped(id) => Check::not_applicable(id, "skipped (--skip)"),
            CheckId::Certificate => certificate(config, now),
            CheckId::Tls => tls(config),
            CheckId::AdminListener => admin_listener(config),
            CheckId::GameServerToken => game_server_token(config),
            CheckId::EmbeddedMock => embedded_mock(config),
            CheckId::DemoSite => demo_site(config),
            CheckId::DemoHistory => demo_history(config),
            CheckId::ApiKeys => api_keys(config),
            CheckId::Cors => cors(config),
            CheckId::RateLimits => rate_limits(config),
            CheckId::TrustedProxies => trusted_proxies(config),
            CheckId::AccountsDatabase => accounts.clone(),
            CheckId::AnalyticsDatabase => analytics.clone(),
            CheckId::GameServer => game.clone(),
            CheckId::Telegram => telegram.clone(),
            CheckId::Logging => logging(config),
            CheckId::Backup => backup_check(config),
        };
        checks.push(check);
    }
    Report {
        checks,
        elapsed: started.elapsed(),
    }
}

/// Runs a network check under [`NETWORK_LIMIT`] and records its duration;
/// a skipped one is not run at all.
async fn timed<F, Fut>(skip: bool, check: F) -> Check
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Check>,
{
    if skip {
        // Replaced by the runner's "skipped" entry.
        return Check::not_applicable(CheckId::Backup, "skipped");
    }
    let started = Instant::now();
    let mut check = check().await;
    check.elapsed_ms = started.elapsed().as_millis() as u64;
    check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_strong_and_guessable_ones_are_not() {
        for _ in 0..100 {
            let k = crate::shared::keys::api_key();
            assert!(estimated_bits(&k) >= MIN_KEY_BITS, "{}", estimated_bits(&k));
        }
        assert!(estimated_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 1.0);
        assert!(estimated_bits("passwordpasswordpasswordpassword") < MIN_KEY_BITS);
        assert!(estimated_bits("0123456789abcdef") < MIN_KEY_BITS);
    }
}

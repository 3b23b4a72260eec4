//! `gamegate gameserver check`: the conformance kit. Runs the suite of
//! docs/GAME_SERVER.md ("The conformance kit") against the configured game
//! server — `game_server.kind`, `addr`, `auth_token` — and reports each
//! check as ✓/✗/– with the reason and, for a ✗, what to fix.
//!
//! Two parts:
//! - protocol v1 on the wire (`wire_checks.rs`, over raw connections of its
//!   own, in the connector's TLS when `game_server.tls.enabled`):
//!   authentication, ids, one connection for many requests, pipelining, the
//!   line rules. Only for `kind = "v1"`.
//! - through the connector (`operations.rs`, `round_trip.rs`: the
//!   `GameServer` trait), so they hold for every kind: the register /
//!   exists / set_password / delete round trip with throw-away logins
//!   (`passwords.rs`: `set_password` answers ok on the kit's account and
//!   `not_found` on a missing one), duplicates and case
//!   folding, `exists` exact (also under concurrent calls), the account
//!   rules, answer times, the cleanup.
//!
//! The kit never touches an account it did not create: a throw-away login
//! is used only after `exists` answered false for it, `delete_missing` and
//! `set_password_missing` use again a login the kit created and deleted,
//! `set_password` changes only the kit's own account, and the cleanup asks
//! `exists` after each delete (`logins.rs`, `round_trip.rs`).
//!
//! Every network step is bounded by `game_server.connect_timeout_ms` or
//! `call_timeout_ms`, each check and the whole run by `runner.rs`'s bounds.
//! No token or password is ever part of a reason.
//!
//! `gamegate gameserver mock` (and its older spelling `gameserver-mock`)
//! is dispatched by the CLI itself: it runs the service, not a check.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;

use crate::config::{Config, ConnectorKind};
use gamegate_gameserver::MockOptions;

mod logins;
mod operations;
mod passwords;
pub mod report;
mod round_trip;
mod runner;
mod target;
mod wire;
mod wire_checks;

pub use report::{Check, CheckId, Outcome, Report};

/// `gamegate gameserver …`.
#[derive(Debug, Subcommand)]
pub enum GameserverCommand {
    /// Run the conformance suite against the configured game server (game_server.kind, addr,
    /// auth_token): one line per check (✓/✗/–) with the reason and the fix; exit 1 when a
    /// check fails. Creates and deletes throw-away accounts named gg_check_….
    Check(CheckArgs),
    /// Run only the mock game server (protocol v1); `gamegate gameserver-mock` is the same.
    Mock(MockArgs),
}

/// Options of `gamegate gameserver check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Print the report as JSON (for CI).
    #[arg(long)]
    pub json: bool,
}

/// Options of `gamegate gameserver mock`.
#[derive(Debug, Clone, clap::Args)]
pub struct MockArgs {
    /// Address to listen on; default: game_server.addr from the config.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Keep the accounts in this file (a JSON-lines journal) so they survive a restart.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Serve TLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    #[command(flatten)]
    pub tls: MockTlsArgs,
}

/// TLS of `gamegate gameserver mock` (docs/GAME_SERVER.md, "TLS on the link").
#[derive(Debug, Clone, clap::Args)]
pub struct MockTlsArgs {
    /// Serve TLS with this PEM certificate (chain); with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate signed by the CA in this PEM file (mutual TLS).
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
}

impl MockTlsArgs {
    /// The mock's options: `state`, and TLS with --tls-cert.
    pub fn options(&self, state: Option<PathBuf>) -> anyhow::Result<MockOptions> {
        let mut options = MockOptions { state, tls: None };
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(options);
        };
        let read =
            |p: &Path| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
        let client_ca = self.tls_client_ca.as_deref().map(read).transpose()?;
        let config = gamegate_gameserver::tls::server_config(
            &read(cert)?,
            &read(key)?,
            client_ca.as_deref(),
        )
        .with_context(|| {
            format!(
                "cannot serve TLS with {} and {}",
                cert.display(),
                key.display()
            )
        })?;
        options.tls = Some(config);
        Ok(options)
    }
}

/// Runs the suite against `config.game_server`.
///
/// # Errors
/// Only when the suite cannot start: the connector cannot be built from its
/// settings, or the game's rules and gamegate's leave nothing to register.
/// A server that fails checks is a [`Report`] with failures, not an error.
pub async fn run(config: &Config) -> anyhow::Result<Report> {
    let game = &config.game_server;
    let server = crate::app::connector::build(config, game.addr.clone())
        .context("the connector cannot be built from [game_server]")?;
    let caps = server.capabilities().clone();
    let rules = config
        .registration
        .login_charset
        .restricted_by(&caps.rules)
        .map_err(|e| anyhow::anyhow!("game_server.rules: {e}"))?;
    let call_timeout = Duration::from_millis(game.call_timeout_ms);
    let mut runner = runner::Runner::new(runner::Bounds::for_call_timeout(call_timeout));

    let blocked = if game.kind == ConnectorKind::V1 {
        let tls = game
            .tls
            .link(&game.addr)
            .context("[game_server.tls] cannot be used")?;
        let dialer = wire::Dialer::new(
            game.addr.clone(),
            game.auth_token.clone(),
            tls,
            Duration::from_millis(game.connect_timeout_ms),
            call_timeout,
        );
        wire_checks::run(&mut runner, &dialer).await
    } else {
        for &id in wire_checks::IDS {
            runner.not_applicable(id, "protocol v1 on the wire: not this connector's protocol");
        }
        None
    };
    let target = target::Target {
        server: server.as_ref(),
        caps: &caps,
        rules: &rules,
        pool_size: game.pool_size.max(1),
        call_timeout,
    };
    let left_accounts = operations::run(&mut runner, &target, blocked).await;
    let (checks, elapsed) = runner.finish();
    Ok(Report {
        addr: game.addr.clone(),
        connector: caps.summary(),
        checks,
        left_accounts,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sections_split_the_run_order_between_wire_and_connector_checks() {
        assert_eq!(wire_checks::IDS.first(), Some(&CheckId::TcpConnect));
        assert_eq!(wire_checks::IDS.last(), Some(&CheckId::InvalidRequest));
        assert_eq!(operations::IDS.first(), Some(&CheckId::Ping));
        assert_eq!(operations::IDS.last(), Some(&CheckId::Cleanup));
    }

    #[tokio::test]
    async fn an_unreachable_server_fails_at_tcp_connect_and_runs_nothing_else() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = Config::default();
        config.game_server.addr = format!("127.0.0.1:{port}");
        let report = run(&config).await.unwrap();
        assert_eq!(report.failed(), vec![CheckId::TcpConnect]);
        let ids: Vec<CheckId> = report.checks.iter().map(|c| c.id).collect();
        assert_eq!(ids, CheckId::ALL.to_vec());
        let cleanup = report.get(CheckId::Cleanup).unwrap();
        assert_eq!(cleanup.reason, "nothing left to delete");
        assert!(report.left_accounts.is_empty());
    }
}

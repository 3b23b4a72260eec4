//! Subcommands of the one binary: every operator action is a command.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use gamegate_gameserver::MockGameServer;
use gamegate_store::{Database, MigrationSet};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::startup::{Application, Mode};

/// `0.1.0 (commit 1a2b3c4d5e6f)`: the crate version and the commit the
/// binary was built from (build.rs; `unknown` outside a git checkout).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("GAMEGATE_COMMIT"),
    ")"
);

/// The configuration every command reads when neither `--config` nor
/// `GAMEGATE_CONFIG` names one and this file exists: the place the rendered
/// systemd units and docs/PRODUCTION_SETUP.md put it, so an operator's
/// `gamegate ban list` on the server finds the server's database.
pub const SYSTEM_CONFIG: &str = "/etc/gamegate/gamegate.toml";

/// The configuration file to read: `explicit` (`--config` or
/// `GAMEGATE_CONFIG`), else `system` when it exists, else none (defaults
/// and `GAMEGATE_*` variables only).
pub fn config_file(explicit: Option<&Path>, system: &Path) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_owned()),
        None => system.is_file().then(|| system.to_owned()),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "gamegate",
    version = VERSION,
    about = "Registration, status and statistics backend for an online game"
)]
pub struct Cli {
    /// TOML configuration file (default: /etc/gamegate/gamegate.toml when it exists); every key
    /// can also be set as GAMEGATE_SECTION__KEY.
    #[arg(long, short, global = true, env = "GAMEGATE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process: public + admin listeners, mock game server (default; SQLite unless configured).
    All,
    /// One service of the split topology per process (register, status, stats).
    Serve {
        #[arg(value_enum)]
        service: Service,
    },
    /// The game server: check an implementation against the protocol (`check`), or run the mock.
    Gameserver {
        #[command(subcommand)]
        cmd: crate::commands::gameserver::GameserverCommand,
    },
    /// Run only the mock game server (protocol v1); the same as `gameserver mock`.
    GameserverMock(crate::commands::gameserver::MockArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Admin reports over the accounts database (registrations per hour or day, top Telegram ids).
    Report {
        #[command(subcommand)]
        report: crate::commands::report::ReportCommand,
    },
    /// Write configuration for the software around gamegate from this configuration (docs/EDGE.md).
    Render {
        #[command(subcommand)]
        target: crate::commands::render::RenderTarget,
    },
    /// Print generated documentation (e.g. `gamegate docs errors > docs/ERRORS.md`).
    Docs {
        #[command(subcommand)]
        doc: DocsTarget,
    },
    /// Ask a local service for its liveness, GET /internal/health/live (3 s timeout); exit 0 on
    /// 200, else 1. Docker's HEALTHCHECK and the rendered compose file run it.
    Healthcheck {
        /// Which process to ask; the URL comes from its listener in the config.
        #[arg(long, value_enum, default_value = "all")]
        service: crate::commands::healthcheck::Target,
        /// Ask for readiness instead, GET /internal/health/ready: 503 (exit 1) while a
        /// database or the game server the process needs is down.
        #[arg(long)]
        ready: bool,
        /// Ask this URL instead (e.g. https://NAME:8080/internal/health/live with TLS on).
        #[arg(long, conflicts_with = "ready")]
        url: Option<String>,
    },
    /// New secrets: an API key, or a WireGuard key pair.
    Keygen {
        #[command(subcommand)]
        key: crate::commands::keygen::KeygenCommand,
    },
    /// Battle logs in the analytics database: import a JSONL file, generate synthetic ones.
    Battles {
        #[command(subcommand)]
        cmd: crate::commands::battles::BattlesCommand,
    },
    /// Player ratings in the analytics database.
    Ratings {
        #[command(subcommand)]
        cmd: crate::commands::battles::RatingsCommand,
    },
    /// Win prediction: held-out evaluation.
    Ml {
        #[command(subcommand)]
        cmd: crate::commands::ml::MlCommand,
    },
    /// Check this configuration against the production checklist: one line per
    /// item (✓/✗/–) with the reason and the fix; exit 1 when an item fails.
    Doctor {
        /// Print the checks as JSON (for scripts and monitoring).
        #[arg(long)]
        json: bool,
        /// Leave out a check that belongs to another host (e.g. `certificate` on the WG_CLIENT).
        #[arg(long, value_enum)]
        skip: Vec<crate::commands::doctor::CheckId>,
    },
    /// Online copy of each SQLite database into backup.dir (mode 0600, retention
    /// backup.keep); for MySQL/PostgreSQL prints the dump recipe and exits 1.
    Backup(crate::commands::backup::BackupArgs),
    /// The ban jail's bans in the accounts database: list, add, remove.
    Ban {
        #[command(subcommand)]
        ban: crate::commands::ban::BanCommand,
    },
    /// Accounts after registration: show, list, delete, move-telegram, audit.
    Accounts {
        #[command(subcommand)]
        cmd: crate::commands::accounts::AccountsCommand,
    },
    /// The constants of GET /api/server/status in the accounts database: list, set.
    Status {
        #[command(subcommand)]
        cmd: crate::commands::status::StatusCommand,
    },
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum DocsTarget {
    /// docs/ERRORS.md: every error code with its status, messages and what the site should do.
    Errors,
    /// docs/openapi.json: the OpenAPI 3.1 document of the public listener (also at /openapi.json).
    Openapi,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Service {
    /// POST /api/register on services.register_addr (default 127.0.0.1:8080).
    Register,
    /// GET /server/status on services.status_addr (default 127.0.0.1:8081).
    Status,
    /// The statistics service on services.stats_addr (default 127.0.0.1:8084): battle ingestion, statistics, predictions (docs/ANALYTICS.md).
    Stats,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // Generated from code alone: needs no configuration, so it works anywhere.
    if let Some(Command::Docs { doc }) = &cli.command {
        let text = match doc {
            DocsTarget::Errors => gamegate_domain::docs::errors_markdown(),
            DocsTarget::Openapi => crate::http::openapi::document(),
        };
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write to stdout")?;
        return Ok(());
    }
    let file = config_file(cli.config.as_deref(), Path::new(SYSTEM_CONFIG));
    let (config, unknown_env) = Config::load(file.as_deref())?;
    crate::telemetry::init(config.log.format, &config.log.level);
    match &file {
        Some(path) => tracing::debug!(file = %path.display(), "configuration file"),
        None => tracing::debug!("no configuration file: defaults and GAMEGATE_* variables"),
    }
    for name in unknown_env {
        tracing::warn!(variable = %name, "environment variable matches no configuration key; ignored");
    }
    match cli.command.unwrap_or(Command::All) {
        Command::All => serve(config, Mode::All).await,
        Command::Serve { service } => {
            let mode = match service {
                Service::Register => Mode::Register,
                Service::Status => Mode::Status,
                Service::Stats => Mode::Stats,
            };
            serve(config, mode).await
        }
        Command::GameserverMock(args)
        | Command::Gameserver {
            cmd: crate::commands::gameserver::GameserverCommand::Mock(args),
        } => run_mock(config, args.listen, args.state, args.tls).await,
        Command::Gameserver {
            cmd: crate::commands::gameserver::GameserverCommand::Check(args),
        } => {
            let report = crate::commands::gameserver::run(&config).await?;
            let text = match args.json {
                true => format!("{:#}\n", report.to_json()),
                false => report.to_text(),
            };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            let failed = report.failed();
            if !failed.is_empty() {
                let names: Vec<&str> = failed.iter().map(|c| c.name()).collect();
                anyhow::bail!(
                    "the game server failed {} check(s): {}",
                    names.len(),
                    names.join(", ")
                );
            }
            Ok(())
        }
        Command::Migrate => migrate(config).await,
        Command::Report { report } => {
            let text = crate::commands::report::run(&config, report).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Healthcheck {
            service,
            ready,
            url,
        } => {
            use crate::commands::healthcheck::{Probe, default_url};
            let probe = if ready { Probe::Ready } else { Probe::Live };
            let url = match url {
                Some(url) => url,
                None => default_url(&config, service, probe)?,
            };
            crate::commands::healthcheck::run(&url).await
        }
        Command::Keygen { key } => crate::commands::keygen::run(key),
        Command::Doctor { json, skip } => {
            let report = crate::commands::doctor::run(&config, &skip).await;
            let text = match json {
                true => format!("{:#}\n", report.to_json()),
                false => report.to_text(),
            };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            let failed = report.failed();
            if !failed.is_empty() {
                let names: Vec<&str> = failed.iter().map(|c| c.name()).collect();
                anyhow::bail!("{} check(s) failed: {}", names.len(), names.join(", "));
            }
            Ok(())
        }
        Command::Backup(args) => {
            let outcomes = crate::commands::backup::run(&config, &args).await?;
            let (text, all_copied) = crate::commands::backup::describe(&outcomes, &config);
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            if !all_copied {
                anyhow::bail!("not every database was backed up (see the recipe above)");
            }
            Ok(())
        }
        Command::Render { target } => crate::commands::render::run(&config, target),
        Command::Docs { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Battles { cmd } => {
            use crate::commands::battles::BattlesCommand;
            let text = match cmd {
                BattlesCommand::Import {
                    file,
                    batch,
                    allow_partial,
                } => crate::commands::battles::import(&config, &file, batch, allow_partial).await?,
                BattlesCommand::Export { out } => {
                    let text = crate::commands::battles::export(&config, out.as_deref()).await?;
                    // stdout may be the battles themselves: the summary goes apart.
                    let _ = writeln!(std::io::stderr().lock(), "{text}");
                    return Ok(());
                }
                BattlesCommand::PurgeDemo => crate::commands::battles::purge_demo(&config).await?,
                BattlesCommand::Synth { set, out, truth } => {
                    crate::commands::battles::synthesize(
                        &config,
                        &set,
                        out.as_deref(),
                        truth.as_deref(),
                    )
                    .await?
                }
            };
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Ratings {
            cmd: crate::commands::battles::RatingsCommand::Rebuild,
        } => {
            let text = crate::commands::battles::rebuild(&config).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Ml {
            cmd:
                crate::commands::ml::MlCommand::Evaluate {
                    file,
                    from_db,
                    truth,
                    synthetic,
                    set,
                    holdout,
                    compare,
                    seeds,
                },
        } => {
            let text = if from_db {
                crate::commands::ml::ml_evaluate_db(&config, holdout).await?
            } else if compare {
                crate::commands::ml::ml_compare(&set, holdout, &seeds)?
            } else {
                crate::commands::ml::ml_evaluate(
                    file.as_deref(),
                    truth.as_deref(),
                    synthetic,
                    &set,
                    holdout,
                )?
            };
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Ban { ban } => {
            let text = crate::commands::ban::run(&config, ban).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Accounts { cmd } => {
            let text = crate::commands::accounts::run(&config, cmd).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Status { cmd } => {
            let text = crate::commands::status::run(&config, cmd).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
    }
}

async fn serve(config: Config, mode: Mode) -> anyhow::Result<()> {
    let app = Application::build_mode(config, mode).await?;
    // Not println!: a service whose stdout was closed (a supervisor that only
    // read the banner) must keep serving, not panic on EPIPE.
    let _ = writeln!(std::io::stdout().lock(), "{}", app.banner());
    let token = app.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        token.cancel();
    });
    app.run_until_stopped().await
}

async fn run_mock(
    config: Config,
    listen: Option<std::net::SocketAddr>,
    state: Option<PathBuf>,
    tls: crate::commands::gameserver::MockTlsArgs,
) -> anyhow::Result<()> {
    let addr = match listen {
        Some(addr) => addr,
        None => config
            .game_server
            .addr
            .parse()
            .context("game_server.addr must be IP:PORT")?,
    };
    let options = tls.options(state)?;
    let over = match options.tls.is_some() {
        true => " (TLS)",
        false => "",
    };
    let token = CancellationToken::new();
    let mock = MockGameServer::start_with(
        addr,
        config.game_server.auth_token.expose_secret().to_owned(),
        options,
        token.clone(),
    )
    .await
    .with_context(|| format!("cannot start on {addr}"))?;
    println!(
        "gamegate mock game server listening on {}{over}",
        mock.local_addr()
    );
    shutdown_signal().await;
    token.cancel();
    mock.stopped().await;
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    for (what, url, settings, set) in [
        (
            "accounts",
            &config.database.url,
            config.pool_settings(),
            MigrationSet::Accounts,
        ),
        (
            "analytics",
            &config.analytics.url,
            config.analytics_pool_settings(),
            MigrationSet::Analytics,
        ),
    ] {
        // Said plainly: a new SQLite file, or a database that was already
        // current, are things an operator wants to know (a wrong directory
        // shows up as "created").
        let file = gamegate_store::sqlite_file(url);
        let created = file.as_ref().is_some_and(|f| !f.exists());
        let db = Database::connect(url, &settings).await?;
        let before = db.migration_status(set).await?;
        db.migrate(set).await?;
        let shown = match &file {
            Some(f) => std::path::absolute(f)
                .unwrap_or_else(|_| f.clone())
                .display()
                .to_string(),
            None => db.display_url().to_owned(),
        };
        println!(
            "{}",
            migrate_line(what, &shown, created, &before.pending, before.applied.len())
        );
        db.close().await;
    }
    Ok(())
}

/// One line of `gamegate migrate`'s report: `accounts database /srv/g.db:
/// created, applied 3 migration(s) (1, 2, 3)`, or `… up to date (3
/// migration(s) applied earlier)`.
fn migrate_line(
    what: &str,
    shown: &str,
    created: bool,
    applied_now: &[i64],
    earlier: usize,
) -> String {
    let created = if created { "created, " } else { "" };
    if applied_now.is_empty() {
        return format!(
            "{what} database {shown}: {created}up to date ({earlier} migration(s) applied earlier)"
        );
    }
    let versions: Vec<String> = applied_now.iter().map(i64::to_string).collect();
    format!(
        "{what} database {shown}: {created}applied {} migration(s) ({})",
        applied_now.len(),
        versions.join(", ")
    )
}

/// Ctrl-C, or SIGTERM from systemd/docker.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_says_what_it_created_and_applied() {
        assert_eq!(
            migrate_line("accounts", "/srv/g.db", true, &[1, 2, 3], 0),
            "accounts database /srv/g.db: created, applied 3 migration(s) (1, 2, 3)"
        );
        assert_eq!(
            migrate_line("analytics", "postgres://u:***@h/a", false, &[], 4),
            "analytics database postgres://u:***@h/a: up to date (4 migration(s) applied earlier)"
        );
    }

    #[test]
    fn the_configuration_is_the_named_file_else_the_system_one_when_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let system = dir.path().join("gamegate.toml");
        let named = Path::new("/srv/other.toml");
        assert_eq!(config_file(None, &system), None, "no system file yet");
        std::fs::write(&system, "").unwrap();
        assert_eq!(config_file(None, &system), Some(system.clone()));
        assert_eq!(
            config_file(Some(named), &system),
            Some(named.to_owned()),
            "--config / GAMEGATE_CONFIG win"
        );
        assert_eq!(
            crate::config::DeployConfig::default().config_path,
            SYSTEM_CONFIG,
            "the rendered units put the file where commands look"
        );
    }
}

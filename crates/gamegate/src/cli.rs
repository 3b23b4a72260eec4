//! Subcommands of the one binary: every operator action is a command.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gamegate_gameserver::MockGameServer;
use gamegate_store::{Database, MigrationSet};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::startup::{Application, Mode};

#[derive(Debug, Parser)]
#[command(
    name = "gamegate",
    version,
    about = "Registration, status and statistics backend for an online game"
)]
pub struct Cli {
    /// TOML configuration file; every key can also be set as GAMEGATE_SECTION__KEY.
    #[arg(long, short, global = true, env = "GAMEGATE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Everything in one process: public + admin listeners, mock game server (default; SQLite unless configured).
    All,
    /// One service of the split topology per process (the seed's API_Father, API_1, API_4).
    Serve {
        #[arg(value_enum)]
        service: Service,
    },
    /// Run only the mock game server (protocol v1).
    GameserverMock {
        /// Address to listen on; default: game_server.addr from the config.
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Admin reports over the accounts database (the seed's monitoring queries).
    Report {
        #[command(subcommand)]
        report: crate::report_cmd::ReportCommand,
    },
    /// Write configuration for the software around gamegate from this configuration (docs/EDGE.md).
    Render {
        #[command(subcommand)]
        target: crate::render::RenderTarget,
    },
    /// Print generated documentation (e.g. `gamegate docs errors > docs/ERRORS.md`).
    Docs {
        #[command(subcommand)]
        doc: DocsTarget,
    },
    /// Ask a local service for GET /internal/health (3 s timeout); exit 0 on 200, else 1.
    /// Docker's HEALTHCHECK and the rendered compose file run it.
    Healthcheck {
        /// Which process to ask; the URL comes from its listener in the config.
        #[arg(long, value_enum, default_value = "all")]
        service: crate::healthcheck::Target,
        /// Ask this URL instead (e.g. https://NAME:8080/internal/health with TLS on).
        #[arg(long)]
        url: Option<String>,
    },
    /// New secrets: an API key, or a WireGuard key pair.
    Keygen {
        #[command(subcommand)]
        key: crate::keygen::KeygenCommand,
    },
    /// Battle logs in the analytics database: import a JSONL file, generate synthetic ones.
    Battles {
        #[command(subcommand)]
        cmd: crate::battles_cmd::BattlesCommand,
    },
    /// Player ratings in the analytics database.
    Ratings {
        #[command(subcommand)]
        cmd: crate::battles_cmd::RatingsCommand,
    },
    /// Win prediction: held-out evaluation.
    Ml {
        #[command(subcommand)]
        cmd: crate::battles_cmd::MlCommand,
    },
    /// The ban jail's bans in the accounts database: list, add, remove.
    Ban {
        #[command(subcommand)]
        ban: crate::ban_cmd::BanCommand,
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
    let (config, unknown_env) = Config::load(cli.config.as_deref())?;
    crate::telemetry::init(&config.log.format, &config.log.level);
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
        Command::GameserverMock { listen } => run_mock(config, listen).await,
        Command::Migrate => migrate(config).await,
        Command::Report { report } => {
            let text = crate::report_cmd::run(&config, report).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Healthcheck { service, url } => {
            let url = match url {
                Some(url) => url,
                None => crate::healthcheck::default_url(&config, service)?,
            };
            crate::healthcheck::run(&url).await
        }
        Command::Keygen { key } => crate::keygen::run(key),
        Command::Render { target } => crate::render::run(&config, target),
        Command::Docs { .. } => unreachable!("handled before the configuration is loaded"),
        Command::Battles { cmd } => {
            use crate::battles_cmd::BattlesCommand;
            let text = match cmd {
                BattlesCommand::Import { file, batch } => {
                    crate::battles_cmd::import(&config, &file, batch).await?
                }
                BattlesCommand::Synth { set, out, truth } => {
                    crate::battles_cmd::synthesize(&config, &set, out.as_deref(), truth.as_deref())
                        .await?
                }
            };
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Ratings {
            cmd: crate::battles_cmd::RatingsCommand::Rebuild,
        } => {
            let text = crate::battles_cmd::rebuild(&config).await?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Ml {
            cmd:
                crate::battles_cmd::MlCommand::Evaluate {
                    file,
                    truth,
                    synthetic,
                    set,
                    holdout,
                },
        } => {
            let text = crate::battles_cmd::ml_evaluate(
                file.as_deref(),
                truth.as_deref(),
                synthetic,
                &set,
                holdout,
            )?;
            let _ = writeln!(std::io::stdout().lock(), "{text}");
            Ok(())
        }
        Command::Ban { ban } => {
            let text = crate::ban_cmd::run(&config, ban).await?;
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

async fn run_mock(config: Config, listen: Option<std::net::SocketAddr>) -> anyhow::Result<()> {
    let addr = match listen {
        Some(addr) => addr,
        None => config
            .game_server
            .addr
            .parse()
            .context("game_server.addr must be IP:PORT")?,
    };
    let token = CancellationToken::new();
    let mock = MockGameServer::start(addr, config.game_server.auth_token.clone(), token.clone())
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    println!(
        "gamegate mock game server listening on {}",
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
        let db = Database::connect(url, &settings).await?;
        db.migrate(set).await?;
        println!("{what} database {} is up to date", db.display_url());
        db.close().await;
    }
    Ok(())
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

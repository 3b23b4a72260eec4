//! `Application::build`: one bootstrap shared by the binary and the tests.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use gamegate_gameserver::{GameServer, MockGameServer, MockHandle, TcpGameServer};
use gamegate_store::{Database, MigrationSet};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::hashing::PasswordHasher;
use crate::http::{AdminState, Common, PublicState, admin_router, public_router};
use crate::metrics::Metrics;
use crate::reconciler::Reconciler;
use crate::registration::Registrar;
use crate::status_cache::StatusCache;

/// The all-in-one process: public and admin listeners, the registration
/// saga, the status cache, the reconciler and (optionally) the mock game
/// server, all stopped by one cancellation token.
pub struct Application {
    config: Config,
    public: TcpListener,
    admin: TcpListener,
    db: Database,
    game: Arc<dyn GameServer>,
    game_addr: String,
    mock: Option<MockHandle>,
    mock_shutdown: CancellationToken,
    status: StatusCache,
    common: Common,
    registrar: Registrar,
    shutdown: CancellationToken,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let mock_shutdown = CancellationToken::new();
        let metrics = Arc::new(Metrics::new());

        let db = Database::connect(&config.database.url, &config.pool_settings())
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    gamegate_store::mask_url_password(&config.database.url)
                )
            })?;
        db.migrate(MigrationSet::Accounts)
            .await
            .context("cannot migrate the accounts database")?;
        let status = StatusCache::load(&db)
            .await
            .context("cannot read the constants table")?;

        let mock = if config.game_server.embedded_mock {
            let addr: SocketAddr = config
                .game_server
                .addr
                .parse()
                .context("game_server.addr must be IP:PORT when embedded_mock is on")?;
            // Its own token: it must outlive the HTTP listeners so in-flight
            // registrations can finish during a graceful shutdown.
            let handle = MockGameServer::start(
                addr,
                config.game_server.auth_token.clone(),
                mock_shutdown.clone(),
            )
            .await
            .with_context(|| format!("cannot start the mock game server on {addr}"))?;
            Some(handle)
        } else {
            None
        };
        let game_addr = mock.as_ref().map_or_else(
            || config.game_server.addr.clone(),
            |m| m.local_addr().to_string(),
        );
        let game: Arc<dyn GameServer> = Arc::new(TcpGameServer::new(
            config.game_server_client(game_addr.clone()),
        ));

        let common = Common {
            lang: config.lang()?,
            metrics: metrics.clone(),
            rules: Arc::new(config.rules()?),
            body_limit: config.http.body_limit_bytes,
            request_timeout: config.request_timeout(),
        };
        let registrar = Registrar {
            db: db.clone(),
            game: game.clone(),
            hasher: PasswordHasher::new(&config.password_hash)?,
            limit: config.account_limit()?,
            metrics,
            tasks: TaskTracker::new(),
        };

        let public = TcpListener::bind(config.http.public_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.http.public_addr))?;
        let admin = TcpListener::bind(config.http.admin_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.http.admin_addr))?;

        Ok(Self {
            config,
            public,
            admin,
            db,
            game,
            game_addr,
            mock,
            mock_shutdown,
            status,
            common,
            registrar,
            shutdown,
        })
    }

    pub fn public_addr(&self) -> SocketAddr {
        self.public
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
            .local_addr()
            .expect("bound listener has an address")
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The in-process mock game server, when `game_server.embedded_mock` is on.
    pub fn mock(&self) -> Option<&MockHandle> {
        self.mock.as_ref()
    }

    /// Cancelling this token shuts the application down gracefully.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The reconciler this application runs, for a test to drive by hand.
    pub fn reconciler(&self) -> Reconciler {
        Reconciler {
            db: self.db.clone(),
            game: self.game.clone(),
            metrics: self.common.metrics.clone(),
            interval: self.config.reconciler_interval(),
            grace: self.config.reconciler_grace(),
            batch_size: self.config.reconciler.batch_size,
        }
    }

    /// What the operator sees on start: where everything is and a request to try.
    pub fn banner(&self) -> String {
        let public = self.public_addr();
        let admin = self.admin_addr();
        let game = match &self.mock {
            Some(_) => format!("{} (built-in mock)", self.game_addr),
            None => self.game_addr.clone(),
        };
        format!(
            "gamegate {version} — all-in-one\n\
             \x20 public    http://{public}   POST /api/register · GET /api/server/status · GET /health\n\
             \x20 admin     http://{admin}   GET /internal/health · GET /metrics\n\
             \x20 game      {game}\n\
             \x20 database  {db}\n\
             Try it:\n\
             \x20 curl -s -X POST http://{public}/api/register -H 'Content-Type: application/json' \
             -d '{{\"login\":\"Hero_01\",\"password\":\"secret12\",\"gender\":0,\"telegram_id\":123456789}}'\n\
             \x20 curl -s http://{public}/api/server/status\n\
             Ctrl-C stops it gracefully.",
            version = env!("CARGO_PKG_VERSION"),
            db = self.db.display_url(),
        )
    }

    /// Serves until the shutdown token is cancelled, then lets in-flight
    /// requests finish and stops the background tasks.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let tasks = TaskTracker::new();
        let shutdown = self.shutdown.clone();

        tasks.spawn(self.status.clone().run(
            self.db.clone(),
            self.config.status_refresh(),
            shutdown.child_token(),
        ));
        tasks.spawn(self.reconciler().run(shutdown.child_token()));

        let public_app = public_router(PublicState {
            common: self.common.clone(),
            registrar: self.registrar.clone(),
            status: self.status.clone(),
        });
        let admin_app = admin_router(AdminState {
            common: self.common.clone(),
            db: self.db.clone(),
            game: self.game.clone(),
            status: self.status.clone(),
        });
        let public = tasks.spawn(
            axum::serve(self.public, public_app)
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .into_future(),
        );
        let admin = tasks.spawn(
            axum::serve(self.admin, admin_app)
                .with_graceful_shutdown(shutdown.clone().cancelled_owned())
                .into_future(),
        );
        tasks.close();

        // Whichever listener ends first (shutdown, or an error) ends the other.
        let (public, admin) = tokio::join!(
            async {
                let r = public.await;
                shutdown.cancel();
                r
            },
            async {
                let r = admin.await;
                shutdown.cancel();
                r
            }
        );
        tasks.wait().await;
        // Sagas whose client went away may still be running: let them finish
        // while the game server and the pool are still up.
        self.registrar.tasks.close();
        self.registrar.tasks.wait().await;
        self.mock_shutdown.cancel();
        if let Some(mock) = &self.mock {
            mock.stopped().await;
        }
        self.db.close().await;
        public
            .context("public listener task")?
            .context("public listener")?;
        admin
            .context("admin listener task")?
            .context("admin listener")?;
        Ok(())
    }
}

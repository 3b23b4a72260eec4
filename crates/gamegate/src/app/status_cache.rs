//! The status answer, pre-serialised in memory, so `GET /api/server/status`
//! never waits on the database or the game server: the constants are re-read
//! every refresh interval (and at once after an operator's change in this
//! process), the game server's state comes from the [`GameMonitor`]'s polls,
//! and each change of either builds the next body.
//!
//! [`GameMonitor`]: super::game_monitor::GameMonitor

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use gamegate_domain::{GameObservation, ServerStatus};
use gamegate_store::{Database, StoreError};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use gamegate_store::unix_now;

/// Read on every status request, written by the refresh loop alone: an
/// atomically swapped snapshot (`arc-swap`), so readers take no lock and do
/// not contend on a lock's counter the way an `RwLock`'s readers do.
#[derive(Clone)]
pub struct StatusCache {
    shared: Arc<Shared>,
}

struct Shared {
    /// The JSON body and the Unix time its constants were read.
    body: ArcSwap<(Bytes, i64)>,
    /// Asks the refresh loop to re-read the constants now
    /// ([`StatusCache::refresh_soon`]).
    wake: Notify,
}

/// The loop that keeps a [`StatusCache`] current: the one writer of its body.
pub struct StatusRefresh {
    cache: StatusCache,
    db: Database,
    game: watch::Receiver<GameObservation>,
    /// `status.down_after_polls` when `status.derive_from_game_server` is on.
    derivation: Option<u32>,
    /// The constants as last read.
    constants: ServerStatus,
}

impl StatusCache {
    /// Reads the constants once and builds the first answer with what the
    /// game server's polls found so far; start-up fails if the database
    /// cannot answer. The [`StatusRefresh`] keeps it current once run.
    pub async fn load(
        db: &Database,
        game: watch::Receiver<GameObservation>,
        derivation: Option<u32>,
    ) -> Result<(Self, StatusRefresh), StoreError> {
        let cache = Self {
            shared: Arc::new(Shared {
                body: ArcSwap::from_pointee((Bytes::new(), 0)),
                wake: Notify::new(),
            }),
        };
        let constants = read(db).await?;
        let mut refresh = StatusRefresh {
            cache: cache.clone(),
            db: db.clone(),
            game,
            derivation,
            constants,
        };
        refresh.publish();
        Ok((cache, refresh))
    }

    /// The JSON body and the Unix time its constants were read.
    pub fn current(&self) -> (Bytes, i64) {
        let snapshot = self.shared.body.load();
        (snapshot.0.clone(), snapshot.1)
    }

    /// Asks the refresh loop to re-read the constants now rather than at its
    /// next tick (after an operator's change through this process). Returns
    /// at once; a request made while a read runs is kept for the next one.
    pub fn refresh_soon(&self) {
        self.shared.wake.notify_one();
    }
}

async fn read(db: &Database) -> Result<ServerStatus, StoreError> {
    let rows = db.constants().all().await?;
    Ok(ServerStatus::from_constants(
        rows.iter().map(|(n, v)| (n.as_str(), *v)),
        unix_now(),
    ))
}

impl StatusRefresh {
    /// Builds the body from the last constants and the game server's last
    /// observation, and swaps it in.
    fn publish(&mut self) {
        let game = *self.game.borrow_and_update();
        let status = self.constants.clone().reflect(game, self.derivation);
        let body = Bytes::from(serde_json::to_vec(&status).expect("status serialises"));
        self.cache
            .shared
            .body
            .store(Arc::new((body, self.constants.updated_at)));
    }

    async fn reread(&mut self) {
        match read(&self.db).await {
            Ok(constants) => {
                self.constants = constants;
                self.publish();
            }
            Err(e) => {
                tracing::warn!(error = %e, "status refresh failed; serving the last known constants");
            }
        }
    }

    /// Re-reads the constants every `every` (and when asked), and rebuilds
    /// the answer whenever the game server's observation changes; on a
    /// database error the last constants are served.
    pub async fn run(mut self, every: Duration, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        // Once the monitor is gone (it never is before shutdown), only the
        // constants change.
        let mut watching = true;
        let cache = self.cache.clone();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => self.reread().await,
                _ = cache.shared.wake.notified() => self.reread().await,
                changed = self.game.changed(), if watching => match changed {
                    Ok(()) => self.publish(),
                    Err(_) => watching = false,
                },
            }
        }
    }
}

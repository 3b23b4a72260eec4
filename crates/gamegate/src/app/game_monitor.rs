//! The game server, polled on an interval: `ping`, then `online` when the
//! ping answered. What the polls found ([`GameObservation`]) feeds the status
//! answer (`game_server`, `online`, the derived `server_status`), the
//! readiness check and the `gamegate_game_server_up` gauge, so none of them
//! waits on the game server.
//!
//! The polls use a client of their own (one connection): a pool saturated by
//! registrations cannot make a ping late, and the polls take no connection
//! from the registrations.

use std::sync::Arc;
use std::time::Duration;

use gamegate_domain::GameObservation;
use gamegate_gameserver::GameServer;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::metrics::{Metrics, Unlabelled};

/// Polls the game server and keeps what it found; cheap to clone (every
/// clone shares the same observation).
#[derive(Clone)]
pub struct GameMonitor {
    game: Arc<dyn GameServer>,
    /// Bound on each call of a poll (`game_server.call_timeout_ms`), also
    /// when a connector does not bound its own calls.
    call_timeout: Duration,
    state: Arc<watch::Sender<GameObservation>>,
    metrics: Arc<Metrics>,
}

impl GameMonitor {
    /// Polls once, so the first status answer and readiness check already
    /// tell the truth (at most two call timeouts when the game server does
    /// not answer), and returns the monitor. Never fails: a game server that
    /// is down is an observation, not an error.
    pub async fn start(
        game: Arc<dyn GameServer>,
        call_timeout: Duration,
        metrics: Arc<Metrics>,
    ) -> Self {
        let monitor = Self {
            game,
            call_timeout,
            state: Arc::new(watch::Sender::new(GameObservation::default())),
            metrics,
        };
        monitor.poll().await;
        monitor
    }

    /// What the last polls found.
    pub fn current(&self) -> GameObservation {
        *self.state.borrow()
    }

    /// A receiver that wakes whenever an observation changes (the game
    /// server went down or came back, the online count moved).
    pub fn subscribe(&self) -> watch::Receiver<GameObservation> {
        self.state.subscribe()
    }

    /// One poll: `ping`, then `online` if the ping answered (an `online`
    /// that fails, or that the server does not support, reads as unknown and
    /// does not make the server down). Each call bounded by the call timeout.
    pub async fn poll(&self) {
        let ping = tokio::time::timeout(self.call_timeout, self.game.ping()).await;
        let failure = match ping {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("no answer within {:?}", self.call_timeout)),
        };
        // A connector that cannot count players is not asked.
        let counts = self.game.capabilities().operations.online;
        let online = match failure {
            None if !counts => None,
            None => match tokio::time::timeout(self.call_timeout, self.game.online()).await {
                Ok(Ok(online)) => Some(online),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "game server: online count unknown");
                    None
                }
                Err(_) => None,
            },
            Some(_) => None,
        };
        let before = self.current();
        let after = before.after_poll(failure.is_none(), online);
        match (&failure, before.is_up()) {
            (Some(reason), true) => {
                tracing::warn!(error = %reason, "game server does not answer: status shows it down");
            }
            (None, false) => tracing::info!(
                failed_polls = before.failed_polls,
                "game server answers again"
            ),
            _ => {}
        }
        self.metrics
            .game_server_up
            .get_or_create(&Unlabelled)
            .set(i64::from(failure.is_none()));
        self.state.send_if_modified(|state| {
            let changed = *state != after;
            *state = after;
            changed
        });
    }

    /// Polls every `every` until `shutdown`; a slow poll delays the next one
    /// rather than overlapping it.
    pub async fn run(self, every: Duration, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: `start` has just polled.
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.poll() => {}
            }
        }
    }
}

//! Settles registrations whose game-server answer was lost: asks the game
//! server whether the account exists, then confirms or removes the row.
//! Settles deletions the same way: an account marked `deleting` past the
//! grace is asked about; gone, its rows are erased; still there, the
//! deletion is sent again (deleting is idempotent) and, once it answers,
//! erased. A deletion is never rolled back: the player asked for it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gamegate_gameserver::{ExistsSupport, FailureKind, GameServer};
use gamegate_store::{Database, Operation};
use tokio_util::sync::CancellationToken;

use crate::app::lifecycle::{Erasure, erased};
use crate::app::metrics::{Metrics, ResultLabels, Unlabelled};
use gamegate_store::unix_now;

pub struct Reconciler {
    pub db: Database,
    pub game: Arc<dyn GameServer>,
    pub metrics: Arc<Metrics>,
    pub interval: Duration,
    pub grace: Duration,
    pub batch_size: u64,
    /// What an erased account leaves behind (`registration.erasure_keep`).
    pub erasure: Erasure,
}

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub synced: u64,
    pub removed: u64,
    pub deferred: u64,
    /// Deletions finished (the account was gone, or is now).
    pub deleted: u64,
}

impl Reconciler {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            match self.pass().await {
                Ok(pass) if pass != Pass::default() => tracing::info!(?pass, "reconciler pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "reconciler pass failed; will retry"),
            }
        }
    }

    /// One pass over pending rows, and accounts marked `deleting`, older
    /// than the grace period.
    pub async fn pass(&self) -> Result<Pass, gamegate_store::StoreError> {
        let mut pass = self.registrations().await?;
        pass.deleted = self.deletions().await?;
        Ok(pass)
    }

    /// The cutoff of settling: rows stamped at or before it are certainly
    /// older than the grace. created_at has whole-second resolution: a row
    /// stamped second S was created anywhere in [S, S+1). Only rows with
    /// S <= now - grace - 1 are certainly older than the grace, so settling
    /// never races a game server that is still acting on the command.
    fn cutoff(&self) -> i64 {
        let grace_secs = self.grace.as_millis().div_ceil(1000) as i64;
        unix_now() - grace_secs - 1
    }

    /// Accounts marked `deleting` past the grace: erased once the game server
    /// no longer has them. Returns how many were erased.
    async fn deletions(&self) -> Result<u64, gamegate_store::StoreError> {
        let marked = self
            .db
            .accounts()
            .marked_before(Operation::Deleting, self.cutoff(), self.batch_size)
            .await?;
        let mut deleted = 0;
        for (login, login_norm, _) in marked {
            let exact = self.game.capabilities().operations.exists == ExistsSupport::Exact;
            let gone = match exact {
                true => match self.game.exists(&login).await {
                    Ok(false) => true,
                    // Still there (or unknown): send the deletion again.
                    _ => self.game.delete(&login).await.is_ok(),
                },
                false => self.game.delete(&login).await.is_ok(),
            };
            let result = if gone {
                let telegram_id = self
                    .db
                    .accounts()
                    .details(&login)
                    .await?
                    .map(|a| a.telegram_id);
                let hash = telegram_id.and_then(|id| self.erasure.telegram_hash(id));
                let entry = erased("reconciler", hash.as_deref());
                if self
                    .db
                    .accounts()
                    .finish_deletion(&login_norm, &entry, unix_now())
                    .await?
                {
                    deleted += 1;
                }
                "deleted"
            } else {
                tracing::debug!("game server unreachable; the deletion stays marked");
                "deletion_deferred"
            };
            self.metrics
                .reconciler_settled
                .get_or_create(&ResultLabels { result })
                .inc();
        }
        Ok(deleted)
    }

    /// Pending registrations past the grace.
    async fn registrations(&self) -> Result<Pass, gamegate_store::StoreError> {
        let cutoff = self.cutoff();
        let backlog = self.db.accounts().count_pending_before(cutoff).await?;
        self.metrics
            .registrations_pending
            .get_or_create(&Unlabelled)
            .set(backlog);
        let pending = self
            .db
            .accounts()
            .pending_before(cutoff, self.batch_size)
            .await?;
        let mut pass = Pass::default();
        if self.game.capabilities().operations.exists == ExistsSupport::Unsupported {
            // Guessing would delete a real account or keep a phantom: the rows
            // stay pending (their logins reserved) for the operator.
            if !pending.is_empty() {
                tracing::warn!(
                    pending = pending.len(),
                    connector = self.game.capabilities().connector,
                    "registrations with a lost game-server answer cannot be settled: this \
                     connector cannot answer `exists` exactly; settle them by hand \
                     (docs/GAME_SERVER.md, \"Lost answers\")"
                );
            }
            let unsettleable = self
                .metrics
                .reconciler_settled
                .get_or_create(&ResultLabels {
                    result: "unsettleable",
                });
            for _ in &pending {
                unsettleable.inc();
                pass.deferred += 1;
            }
            return Ok(pass);
        }
        for account in pending {
            let started = Instant::now();
            let exists = self.game.exists(&account.login).await;
            self.metrics.game_server_call(
                "exists",
                if exists.is_ok() { "ok" } else { "error" },
                started.elapsed(),
            );
            let result = match exists {
                Ok(true) => {
                    self.db
                        .accounts()
                        .mark_synced(&account.login_norm, None, unix_now())
                        .await?;
                    pass.synced += 1;
                    "synced"
                }
                Ok(false) => {
                    self.db
                        .accounts()
                        .remove_pending(&account.login_norm)
                        .await?;
                    pass.removed += 1;
                    "removed"
                }
                // The server announced no `exists`: this row cannot be
                // settled by asking, as with a connector that declares so.
                Err(e) if e.kind() == FailureKind::Unsupported => {
                    tracing::warn!(
                        login = %account.login,
                        "a registration with a lost game-server answer cannot be settled: the \
                         game server does not announce `exists`; settle it by hand \
                         (docs/GAME_SERVER.md, \"Lost answers\")"
                    );
                    pass.deferred += 1;
                    "unsettleable"
                }
                Err(e) => {
                    tracing::debug!(login = %account.login, error = %e, "game server unreachable; pending row kept");
                    pass.deferred += 1;
                    "deferred"
                }
            };
            self.metrics
                .reconciler_settled
                .get_or_create(&ResultLabels { result })
                .inc();
        }
        Ok(pass)
    }
}

//! The anomaly detector's last pass over every stored battle, kept in
//! memory and refreshed in the background, so `GET /ml/anomalies` never
//! waits on a pass (over a million battles it takes longer than a request
//! may). An application service like [`crate::app::status_cache`]: the HTTP
//! layer only reads [`AnomalyCache::current`] and calls
//! [`AnomalyCache::mark_stale`] after an ingestion.

use std::sync::Arc;

use gamegate_analytics::anomalies::Evidence;
use gamegate_analytics::{Detector, RatingBook};
use gamegate_store::{Database, StoreError};

use gamegate_store::unix_now;

/// The anomaly detector's state after a pass over every stored battle.
pub struct AnomalySnapshot {
    /// The detector after the pass: its flagged players are the answer.
    pub detector: Detector,
    /// How many battles the pass read.
    pub battles: u64,
    /// Unix seconds of the pass's end.
    pub computed_at: i64,
}

/// `/ml/anomalies` answers from the last pass; a background task
/// ([`AnomalyCache::run`]) recomputes it every `analytics.anomalies_refresh_secs`
/// and about a second after an HTTP ingestion stored new battles. A pass
/// over a million battles takes longer than a request may, hence not on demand.
#[derive(Default)]
pub struct AnomalyCache {
    /// The configured floors (`analytics.anomaly_min_battles`,
    /// `analytics.anomaly_min_expected`): no flag with less evidence.
    pub evidence: Evidence,
    snapshot: std::sync::RwLock<Option<Arc<AnomalySnapshot>>>,
    stale: tokio::sync::Notify,
}

impl AnomalyCache {
    /// An empty cache whose answers keep to `evidence`.
    pub fn new(evidence: Evidence) -> Self {
        AnomalyCache {
            evidence,
            ..Self::default()
        }
    }

    /// The last pass, or `None` before the first one finished.
    pub fn current(&self) -> Option<Arc<AnomalySnapshot>> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// New battles were stored: recompute soon.
    pub fn mark_stale(&self) {
        self.stale.notify_one();
    }

    /// One pass over the stored battles in time order, scoring each battle
    /// with the ratings before it, then applying it (what
    /// `gamegate_analytics::analyse` does, fed page by page from the
    /// database instead of from one in-memory list).
    pub async fn refresh(&self, db: &Database) -> Result<(), StoreError> {
        let mut book = RatingBook::new();
        let mut detector = Detector::new();
        let mut battles = 0u64;
        db.battles()
            .for_each_battle(|battle| {
                detector.observe(battle, |login| book.get(login));
                book.apply(battle);
                battles += 1;
            })
            .await?;
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(AnomalySnapshot {
            detector,
            battles,
            computed_at: unix_now(),
        }));
        Ok(())
    }

    /// Passes every `interval`, and about a second after [`Self::mark_stale`],
    /// until `shutdown`; a failed pass keeps the previous one.
    pub async fn run(
        self: Arc<Self>,
        db: Database,
        interval: std::time::Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        loop {
            if let Err(e) = self.refresh(&db).await {
                tracing::warn!(error = %e, "anomaly detection pass failed; kept the previous one");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
                _ = self.stale.notified() => {
                    // Let a burst of ingestions land before the pass.
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }
}

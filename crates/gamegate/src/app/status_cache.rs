//! The status answer, pre-serialised in memory and refreshed on an interval,
//! so `GET /api/server/status` never waits on the database.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use gamegate_domain::ServerStatus;
use gamegate_store::{Database, StoreError};
use tokio_util::sync::CancellationToken;

use gamegate_store::unix_now;

/// Read on every status request, written once per refresh: an atomically
/// swapped snapshot (`arc-swap`), so readers take no lock and do not
/// contend on a lock's counter the way an `RwLock`'s readers do.
#[derive(Clone)]
pub struct StatusCache {
    body: Arc<ArcSwap<(Bytes, i64)>>,
}

impl StatusCache {
    /// Reads the constants once; start-up fails if the database cannot answer.
    pub async fn load(db: &Database) -> Result<Self, StoreError> {
        let cache = Self {
            body: Arc::new(ArcSwap::from_pointee((Bytes::new(), 0))),
        };
        cache.refresh(db).await?;
        Ok(cache)
    }

    /// The JSON body and the Unix time it was read.
    pub fn current(&self) -> (Bytes, i64) {
        let snapshot = self.body.load();
        (snapshot.0.clone(), snapshot.1)
    }

    pub async fn refresh(&self, db: &Database) -> Result<(), StoreError> {
        let rows = db.constants().all().await?;
        let now = unix_now();
        let status = ServerStatus::from_constants(rows.iter().map(|(n, v)| (n.as_str(), *v)), now);
        let body = Bytes::from(serde_json::to_vec(&status).expect("status serialises"));
        self.body.store(Arc::new((body, now)));
        Ok(())
    }

    /// Keeps the cache fresh; on a database error the last answer is served.
    pub async fn run(self, db: Database, every: Duration, shutdown: CancellationToken) {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if let Err(e) = self.refresh(&db).await {
                tracing::warn!(error = %e, "status refresh failed; serving the last known status");
            }
        }
    }
}

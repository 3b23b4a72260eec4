//! Ingestion of a long run of batches (`battles import`, the synthetic
//! history) with two transactions in flight: while one batch's players are
//! locked, rated and committed, the next batch's battles and participants are
//! already being written. A PostgreSQL or MySQL server works on both at once,
//! on two cores; each batch is still one transaction with the same answers as
//! [`BattleLog::ingest`], and ratings are applied in batch order.

use tokio::task::JoinHandle;

use super::ingest::{Staged, is_retryable};
use super::*;

/// One batch that went through an [`IngestPipeline`]: the battles as given
/// and, per battle in the same order, what ingestion did with it.
#[derive(Debug)]
pub struct IngestedBatch {
    /// The batch as it was pushed.
    pub battles: Vec<Battle>,
    /// Per battle of [`IngestedBatch::battles`], in order.
    pub outcome: Vec<Ingested>,
}

type Settling = JoinHandle<Result<Settled, StoreError>>;

/// Consecutive batches ingested with the next batch's first half
/// (`stage`: the battle-id check, the battles and their
/// participants) overlapping the previous batch's second half
/// (`settle`: the players' rows locked, rated, written,
/// committed). The second halves run one at a time, in push order, so every
/// batch is rated on the ratings its predecessor committed, as with
/// [`BattleLog::ingest`] called batch after batch.
///
/// Why it is correct with the first half unlocked: the stage reads the
/// players' spellings without a lock; the settle locks the rows and, if a
/// concurrent batch created a player meanwhile with another spelling (or a
/// row this batch was going to create), rolls the batch back. That batch is
/// then ingested again whole with [`BattleLog::ingest`], by the next push
/// (or [`IngestPipeline::finish`]) with nothing else in flight: the batch
/// staged meanwhile is rolled back and ingested whole after it. A battle id
/// the previous batch is still inserting makes the stage wait for its commit
/// and then start over; the batch is ingested whole once the previous one is
/// answered.
///
/// Why it cannot deadlock: only a stage inserts battles in the background,
/// and it starts after the previous stage finished, so a stage may wait for
/// the previous batch's transaction but that transaction (its settle: the
/// players' rows only) never waits for the stage; whole-batch ingestion runs
/// only with nothing in flight. A third writer (HTTP ingestion) could close a
/// cycle the database cannot see — waiting for a staged battle id while
/// holding a player row the settle needs — so a staged batch is held only
/// for a quarter of the operation timeout, then rolled back and ingested
/// whole after the settle.
///
/// On SQLite, whose one writer at a time would make the stage wait for the
/// previous commit anyway, and on a pool of one connection, a push is a plain
/// [`BattleLog::ingest`].
///
/// Every half is bounded by the operation timeout and errs like
/// [`BattleLog::ingest`].
pub struct IngestPipeline {
    db: Database,
    settling: Option<Settling>,
}

impl BattleLog<'_> {
    /// A pipeline of batches into this battle log ([`IngestPipeline`]).
    pub fn pipeline(&self) -> IngestPipeline {
        IngestPipeline {
            db: self.db.clone(),
            settling: None,
        }
    }
}

/// What a batch's second half came to.
enum Settled {
    /// Committed.
    Done(IngestedBatch),
    /// Rolled back: to be ingested again by [`BattleLog::ingest`], with
    /// nothing else in flight.
    Redo(Vec<Battle>),
}

impl IngestPipeline {
    /// Starts ingesting `battles` and answers, in push order, the batches
    /// this push saw committed: none or the one pushed before it, and
    /// `battles` itself when it went in whole (sequential pushes on SQLite or
    /// a pool of one connection, or a batch that had to be ingested again).
    /// Call [`IngestPipeline::finish`] after the last push for the batch
    /// still in flight.
    ///
    /// Errs like [`BattleLog::ingest`]; after an error the batches not yet
    /// answered may or may not be stored (each one wholly or not at all), and
    /// ingesting them again is safe (ingestion is idempotent).
    pub async fn push(&mut self, battles: Vec<Battle>) -> Result<Vec<IngestedBatch>, StoreError> {
        // Two transactions in flight need two connections.
        let sequential = self.db.backend() == Backend::Sqlite
            || self.db.pool().options().get_max_connections() < 2;
        if sequential {
            return Ok(vec![self.ingest(battles).await?]);
        }
        let staged = self
            .db
            .bounded(self.db.battles().stage(&battles, false))
            .await;
        // The previous batch first: its answer, and its commit before this
        // batch's players are locked. While it settles, this batch's staged
        // transaction sits idle holding its new battle ids; should a third
        // writer wait for one of them while holding a player row the settle
        // needs, neither database sees the cycle (it runs through this
        // await). So the stage is held only for a while: past it, it is
        // rolled back and the batch goes in whole afterwards.
        let (staged, previous) = match staged {
            Ok(Attempt::Done(staged)) => self.finish_previous_holding(staged).await?,
            other => (other, self.finish_previous().await),
        };
        let staged = match staged {
            Ok(Attempt::Done(staged)) => match &previous {
                Ok(None | Some(Settled::Done(_))) => Some(staged),
                // The previous batch is to be ingested again, and this stage
                // may hold battles it was going to store: both go in whole,
                // in order, with nothing else in flight.
                Ok(Some(Settled::Redo(_))) | Err(_) => {
                    staged.abandon().await?;
                    None
                }
            },
            // The previous batch stored some of these ids meanwhile (or a lock
            // conflict): the whole batch, now that it has committed.
            Ok(Attempt::Retry) => None,
            Err(e) if is_retryable(&e) => None,
            Err(e) => return Err(e),
        };
        let mut answered = Vec::with_capacity(2);
        match previous? {
            None => {}
            Some(Settled::Done(batch)) => answered.push(batch),
            Some(Settled::Redo(batch)) => answered.push(self.ingest(batch).await?),
        }
        match staged {
            Some(staged) => {
                let db = self.db.clone();
                self.settling = Some(tokio::spawn(
                    async move { settle(&db, battles, staged).await },
                ));
            }
            None => answered.push(self.ingest(battles).await?),
        }
        Ok(answered)
    }

    /// Waits for the last pushed batch and answers it (none when nothing is
    /// in flight). Errs like [`BattleLog::ingest`].
    pub async fn finish(mut self) -> Result<Vec<IngestedBatch>, StoreError> {
        Ok(match self.finish_previous().await? {
            None => Vec::new(),
            Some(Settled::Done(batch)) => vec![batch],
            Some(Settled::Redo(batch)) => vec![self.ingest(batch).await?],
        })
    }

    /// A whole batch through [`BattleLog::ingest`]; only ever called with no
    /// batch in flight, so it never waits for a transaction that waits for
    /// it.
    async fn ingest(&self, battles: Vec<Battle>) -> Result<IngestedBatch, StoreError> {
        debug_assert!(self.settling.is_none());
        let outcome = self.db.battles().ingest(&battles).await?;
        Ok(IngestedBatch { battles, outcome })
    }

    /// [`IngestPipeline::finish_previous`] while `staged` is held, for at
    /// most [`STAGE_PATIENCE`] of the operation timeout; past it `staged` is
    /// rolled back (answered as [`Attempt::Retry`]) before waiting on. Errs
    /// only when that rollback fails.
    async fn finish_previous_holding(
        &mut self,
        staged: Staged,
    ) -> Result<
        (
            Result<Attempt<Staged>, StoreError>,
            Result<Option<Settled>, StoreError>,
        ),
        StoreError,
    > {
        let Some(task) = self.settling.as_mut() else {
            return Ok((Ok(Attempt::Done(staged)), Ok(None)));
        };
        let patience = self.db.operation_timeout() / STAGE_PATIENCE;
        match tokio::time::timeout(patience, task).await {
            Ok(joined) => {
                self.settling = None;
                Ok((Ok(Attempt::Done(staged)), joined_result(joined)))
            }
            Err(_) => {
                staged.abandon().await?;
                Ok((Ok(Attempt::Retry), self.finish_previous().await))
            }
        }
    }

    async fn finish_previous(&mut self) -> Result<Option<Settled>, StoreError> {
        match self.settling.take() {
            None => Ok(None),
            Some(task) => joined_result(task.await),
        }
    }
}

/// How long a push holds its staged batch while the previous batch
/// settles: this fraction of the operation timeout (2 s of the default 8 s),
/// so a writer caught waiting on the staged battles gets them well within its
/// own timeout. A settle of a batch of 1000 battles takes about 0.2 s.
const STAGE_PATIENCE: u32 = 4;

/// A settle task's result, a panic or cancellation as [`StoreError::Contended`].
fn joined_result(
    joined: Result<Result<Settled, StoreError>, tokio::task::JoinError>,
) -> Result<Option<Settled>, StoreError> {
    match joined {
        Ok(result) => result.map(Some),
        Err(e) => Err(StoreError::Contended(match e.is_panic() {
            true => "an ingestion task panicked",
            false => "an ingestion task was cancelled",
        })),
    }
}

/// The second half of a staged batch, run beside the next batch's first
/// half. It never inserts battles (the next stage may wait for this one's,
/// never the other way round), so a batch whose settle starts over is handed
/// back as [`Settled::Redo`] instead of being ingested here.
async fn settle(
    db: &Database,
    battles: Vec<Battle>,
    staged: Staged,
) -> Result<Settled, StoreError> {
    match db.bounded(db.battles().settle(staged)).await {
        Ok(Attempt::Done(outcome)) => Ok(Settled::Done(IngestedBatch { battles, outcome })),
        Ok(Attempt::Retry) => Ok(Settled::Redo(battles)),
        Err(e) if is_retryable(&e) => Ok(Settled::Redo(battles)),
        Err(e) => Err(e),
    }
}

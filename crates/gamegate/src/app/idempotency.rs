//! `Idempotency-Key` on `POST /api/register` (docs/API.md#idempotency-key):
//! a retry with the same key and body gets the first request's answer.
//!
//! The first request claims the key in the accounts database (an INSERT on
//! the table's primary key, so of parallel requests exactly one runs), runs
//! the saga on its own task, and records what the retry should get
//! ([`Remember`]): the answer itself; `pending` when the game server's answer
//! was lost (a retry then reads the account again: confirmed by the
//! reconciler → 200, removed → the definite failure, still pending → the same
//! 503); or nothing, releasing the key, when a dependency failed before
//! anything was decided. A claim held longer than [`Idempotency::lease`] is
//! presumed dead (its process stopped) and may be taken over.

use std::sync::Arc;
use std::time::Duration;

use gamegate_domain::idempotency::Remember;
use gamegate_domain::{ErrorCode, IdempotencyKey, RegisterRequest};
use gamegate_gameserver::CallError;
use gamegate_store::idempotency::{Claim, KeyRecord, KeyState, NewKey};
use gamegate_store::{Database, unix_now};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;

use crate::app::registration::{Registrar, RegistrationError};

/// Turns a registration's result into its answer, `(HTTP status, JSON
/// body)`: given by the HTTP layer, run where the answer is stored.
pub type Render = Arc<dyn Fn(Result<(), ErrorCode>) -> (u16, Vec<u8>) + Send + Sync>;

/// A request's key, with whose it is and what it asked.
pub struct KeyedRequest {
    /// The key as the site sent it.
    pub key: IdempotencyKey,
    /// The site's scope ([`gamegate_domain::idempotency::scope_of_site_key`]).
    pub scope: String,
    /// The request's fingerprint ([`gamegate_domain::idempotency::fingerprint`]).
    pub fingerprint: String,
}

/// What a request with a key gets.
#[derive(Debug)]
pub enum Keyed {
    /// The registration ran now (its answer is recorded as [`Remember`] says).
    Ran(Result<(), RegistrationError>),
    /// An earlier answer for this key and body, to send as is.
    Replayed {
        /// The stored HTTP status.
        status: u16,
        /// The stored JSON body.
        body: Vec<u8>,
    },
    /// The first request with this key is still running.
    InProgress,
    /// The key was used for a different body.
    Reused,
}

/// The keys' policy and table, shared by the handler and the purge loop.
#[derive(Clone)]
pub struct Idempotency {
    /// The accounts database (table `idempotency_keys`).
    pub db: Database,
    /// `registration.idempotency_window_secs`: how long a key is remembered.
    pub window: Duration,
    /// How long a running first request holds its key before another may
    /// take it over: 3 × `http.request_timeout_ms`, at least 60 s (the saga
    /// runs on past the request's backstop timeout).
    pub lease: Duration,
}

impl Idempotency {
    /// The policy of `window`, with the lease derived from the request timeout.
    pub fn new(db: Database, window: Duration, request_timeout: Duration) -> Self {
        Self {
            db,
            window,
            lease: (request_timeout * 3).max(Duration::from_secs(60)),
        }
    }

    /// Registers `request` under `keyed`: runs it when the key is new (or
    /// expired), answers from the key's record otherwise. Errs like the saga
    /// when the key's table cannot be read or claimed.
    pub async fn register(
        &self,
        registrar: &Registrar,
        keyed: KeyedRequest,
        request: RegisterRequest,
        render: Render,
    ) -> Result<Keyed, RegistrationError> {
        let now = unix_now();
        let login_norm = request.login_key();
        let new = NewKey {
            scope: &keyed.scope,
            key: keyed.key.as_str(),
            fingerprint: &keyed.fingerprint,
            login_norm: &login_norm,
            telegram_id: request.telegram_id,
        };
        let keys = self.db.idempotency();
        let claim = keys
            .claim(&new, now, now + secs(self.lease), now - secs(self.window))
            .await?;
        let record = match claim {
            Claim::Claimed => {
                return Ok(Keyed::Ran(
                    self.run(registrar, keyed, request, render).await?,
                ));
            }
            Claim::Taken(record) => record,
        };
        let same_body: bool = record
            .fingerprint
            .as_bytes()
            .ct_eq(keyed.fingerprint.as_bytes())
            .into();
        if !same_body {
            return Ok(Keyed::Reused);
        }
        match record.state {
            KeyState::Done => Ok(Keyed::Replayed {
                status: record.status.unwrap_or(500),
                body: record.body.unwrap_or_default().into_bytes(),
            }),
            KeyState::Pending => self.settle(&keyed, &record, &render).await,
            KeyState::Running if record.locked_until >= now => Ok(Keyed::InProgress),
            KeyState::Running => {
                // The first request's process is presumed gone: one retry takes
                // the claim over; what it left behind decides.
                if !keys
                    .take_over(
                        &keyed.scope,
                        keyed.key.as_str(),
                        now,
                        now + secs(self.lease),
                    )
                    .await?
                {
                    return Ok(Keyed::InProgress);
                }
                if self.db.accounts().find(&record.login_norm).await?.is_some() {
                    return self.settle(&keyed, &record, &render).await;
                }
                Ok(Keyed::Ran(
                    self.run(registrar, keyed, request, render).await?,
                ))
            }
        }
    }

    /// Runs the saga for a claimed key on its own task, which also records
    /// the answer: a client that leaves, or the backstop timeout, cannot
    /// leave the key claimed.
    async fn run(
        &self,
        registrar: &Registrar,
        keyed: KeyedRequest,
        request: RegisterRequest,
        render: Render,
    ) -> Result<Result<(), RegistrationError>, RegistrationError> {
        let this = self.clone();
        let saga = registrar.clone();
        registrar
            .tasks
            .spawn(async move {
                let result = saga.register(request).await;
                this.record(&keyed, &result, &render).await;
                result
            })
            .await
            .map_err(|e| {
                RegistrationError::Internal(anyhow::anyhow!("registration task failed: {e}"))
            })
    }

    /// Stores what a retry of `keyed` should get after `result`.
    async fn record(
        &self,
        keyed: &KeyedRequest,
        result: &Result<(), RegistrationError>,
        render: &Render,
    ) {
        let keys = self.db.idempotency();
        let (scope, key) = (keyed.scope.as_str(), keyed.key.as_str());
        let done = match result {
            Err(RegistrationError::GameServerUnavailable(CallError::Ambiguous(_))) => {
                keys.mark_pending(scope, key).await
            }
            other => {
                let code = other.as_ref().err().map(RegistrationError::code);
                match Remember::after(code) {
                    Remember::Answer => {
                        let (status, body) = render(code.map_or(Ok(()), Err));
                        keys.finish(scope, key, status, &String::from_utf8_lossy(&body))
                            .await
                    }
                    Remember::Forget => keys.release(scope, key).await,
                }
            }
        };
        if let Err(e) = done {
            // The claim stays `running` until its lease ends; a retry after
            // that reads the account's state (see `register`).
            tracing::warn!(error = %e, "could not record an idempotency key's outcome");
        }
    }

    /// The answer for a key whose first request left an account behind with
    /// an unknown outcome: read the account again. Confirmed (and owned by
    /// the same Telegram id) → the success, stored; still pending → the same
    /// 503, not stored; gone or someone else's → the definite failure, stored.
    async fn settle(
        &self,
        keyed: &KeyedRequest,
        record: &KeyRecord,
        render: &Render,
    ) -> Result<Keyed, RegistrationError> {
        let keys = self.db.idempotency();
        let (scope, key) = (keyed.scope.as_str(), keyed.key.as_str());
        let account = self.db.accounts().find(&record.login_norm).await?;
        let ours = account
            .as_ref()
            .filter(|a| a.telegram_id == record.telegram_id);
        let outcome = match ours.map(|a| a.state.as_str()) {
            Some("synced") => Ok(()),
            Some(_) => {
                if record.state == KeyState::Running {
                    keys.mark_pending(scope, key).await?;
                }
                let (status, body) = render(Err(ErrorCode::GameServerUnavailable));
                return Ok(Keyed::Replayed { status, body });
            }
            None => Err(ErrorCode::GameServerUnavailable),
        };
        let (status, body) = render(outcome);
        keys.finish(scope, key, status, &String::from_utf8_lossy(&body))
            .await?;
        Ok(Keyed::Replayed { status, body })
    }

    /// Purges expired keys every `window` (at most every minute, at least
    /// every second) until `shutdown`: the table holds at most the keys of
    /// one window and one interval.
    pub async fn purge_loop(self, shutdown: CancellationToken) {
        let every = self
            .window
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let cutoff = unix_now() - secs(self.window);
            match self.db.idempotency().purge_expired(cutoff).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(purged = n, "expired idempotency keys purged"),
                Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed; will retry"),
            }
        }
    }
}

/// Whole seconds of `d`, rounded up, as the table's Unix-second columns.
fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_millis().div_ceil(1000)).unwrap_or(i64::MAX / 4)
}

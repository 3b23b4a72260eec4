//! After registration: deleting an account and changing its password, as
//! sagas with the registration's guarantees (docs/DESIGN.md, "Deleting an
//! account", "Changing a password"): the account is marked in the database,
//! the game server is called, then the rows change — or the mark is taken
//! back. A success means both stores agree; a definite refusal changes
//! nothing; a lost answer keeps the mark (a deletion is finished by the
//! reconciler, a password change by the next one). Every outcome writes an
//! audit row; no password or hash reaches a log, an error or the audit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gamegate_domain::{ErrorCode, PasswordChange};
use gamegate_gameserver::{CallError, FailureKind, GameServer, ServerCode};
use gamegate_store::{
    AccountDetails, AuditAction, AuditEntry, AuditOutcome, Database, Mark, Operation, StoreError,
    unix_now,
};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};

use crate::app::hashing::PasswordHasher;
use crate::app::metrics::Metrics;
use crate::config::ErasureKeep;

/// Why a deletion or a password change did not succeed; each maps to one
/// contract code.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no account has this login")]
    NotFound,
    #[error("the account is being registered or changed")]
    Busy,
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("{0}: not supported by the game server's connector")]
    NotSupported(&'static str),
    #[error("game server unavailable: {0}")]
    GameServerUnavailable(CallError),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl LifecycleError {
    /// The contract code the answer carries.
    pub fn code(&self) -> ErrorCode {
        match self {
            LifecycleError::NotFound => ErrorCode::AccountNotFound,
            LifecycleError::Busy => ErrorCode::AccountBusy,
            LifecycleError::WrongPassword => ErrorCode::WrongPassword,
            LifecycleError::NotSupported(_) => ErrorCode::NotSupported,
            LifecycleError::GameServerUnavailable(_) => ErrorCode::GameServerUnavailable,
            LifecycleError::DatabaseUnavailable(_) => ErrorCode::DatabaseUnavailable,
            LifecycleError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<StoreError> for LifecycleError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            LifecycleError::DatabaseUnavailable(err)
        } else {
            LifecycleError::Internal(err.into())
        }
    }
}

/// What an erased account leaves behind (`registration.erasure_keep`).
#[derive(Clone)]
pub struct Erasure {
    pub keep: ErasureKeep,
    /// The HMAC key of [`ErasureKeep::TelegramHash`].
    pub key: SecretString,
}

impl Erasure {
    /// The value kept for `telegram_id`: `None`, or the lower-case hex
    /// HMAC-SHA-256 of its decimal form under the key.
    pub fn telegram_hash(&self, telegram_id: i64) -> Option<String> {
        match self.keep {
            ErasureKeep::Nothing => None,
            ErasureKeep::TelegramHash => {
                let mut mac =
                    Hmac::<sha2::Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
                        .expect("HMAC takes a key of any length");
                mac.update(telegram_id.to_string().as_bytes());
                Some(hex::encode(mac.finalize().into_bytes()))
            }
        }
    }
}

/// Deletions and password changes; cheap to clone into a task.
#[derive(Clone)]
pub struct AccountLifecycle {
    pub db: Database,
    pub game: Arc<dyn GameServer>,
    pub hasher: PasswordHasher,
    pub metrics: Arc<Metrics>,
    pub erasure: Erasure,
    /// A `password` mark older than this is a lost answer, which the next
    /// change may take over (`reconciler.grace_ms`, longer than a call).
    pub grace: Duration,
    /// Sagas in flight, so shutdown waits for them (the registrations').
    pub tasks: tokio_util::task::TaskTracker,
}

impl AccountLifecycle {
    /// Deletes the account (case-insensitive `login`) from the game server
    /// and the database, on its own task so a client that leaves cannot cut
    /// it. Returns the login as it was stored.
    pub async fn delete(&self, login: &str, actor: &str) -> Result<String, LifecycleError> {
        let (this, login, actor) = (self.clone(), login.to_owned(), actor.to_owned());
        self.spawn(async move { this.run_delete(&login, &actor).await })
            .await
    }

    /// Changes the account's password on the game server, then its hash
    /// here, after checking the current one; on its own task.
    pub async fn change_password(
        &self,
        login: &str,
        change: PasswordChange,
        actor: &str,
    ) -> Result<String, LifecycleError> {
        let (this, login, actor) = (self.clone(), login.to_owned(), actor.to_owned());
        self.spawn(async move { this.run_password(&login, change, &actor).await })
            .await
    }

    async fn spawn(
        &self,
        saga: impl Future<Output = Result<String, LifecycleError>> + Send + 'static,
    ) -> Result<String, LifecycleError> {
        self.tasks
            .spawn(saga)
            .await
            .map_err(|e| LifecycleError::Internal(anyhow::anyhow!("account task failed: {e}")))?
    }

    /// The account and the mark to take over: none, or a stale `password`
    /// mark (a lost answer). Anything else is busy.
    async fn takeable(
        &self,
        login: &str,
    ) -> Result<(AccountDetails, Option<Mark>), LifecycleError> {
        let account = self
            .db
            .accounts()
            .details(login)
            .await?
            .ok_or(LifecycleError::NotFound)?;
        if account.state != "synced" {
            return Err(LifecycleError::Busy);
        }
        // As the reconciler's cutoff: whole-second stamps, the grace rounded
        // up and one more second, so a mark is certainly older than the grace.
        let grace_secs = self.grace.as_millis().div_ceil(1000) as i64;
        let stale_before = unix_now() - grace_secs;
        match account.mark {
            None => Ok((account, None)),
            Some(mark) if mark.operation == Operation::Password && mark.at < stale_before => {
                Ok((account, Some(mark)))
            }
            Some(_) => Err(LifecycleError::Busy),
        }
    }

    /// Marks the account for `operation` if its mark is still `expected` and,
    /// given `checked_hash`, its hash is still the one an old password was
    /// checked against; `Busy` otherwise.
    async fn take(
        &self,
        account: &AccountDetails,
        expected: Option<Mark>,
        checked_hash: Option<&str>,
        operation: Operation,
    ) -> Result<Mark, LifecycleError> {
        self.db
            .accounts()
            .mark(
                &account.login_norm,
                expected,
                checked_hash,
                operation,
                unix_now(),
            )
            .await?
            .ok_or(LifecycleError::Busy)
    }

    /// Gives a mark back after a definite refusal; a database failure here
    /// leaves it for the reconciler (deletion) or the next change (password).
    async fn give_back(&self, account: &AccountDetails, held: Mark, restore: Option<Mark>) {
        if let Err(e) = self
            .db
            .accounts()
            .unmark(&account.login_norm, held, restore)
            .await
        {
            tracing::warn!(login = %account.login, error = %e, "could not take an account's mark back; it is settled later");
        }
    }

    async fn audit(&self, entry: AuditEntry<'_>) {
        if let Err(e) = self.db.audit().record(&entry).await {
            tracing::warn!(error = %e, action = entry.action.as_str(), "could not write an audit row");
        }
    }

    async fn run_delete(&self, login: &str, actor: &str) -> Result<String, LifecycleError> {
        if !self.game.capabilities().operations.delete {
            return Err(LifecycleError::NotSupported("delete"));
        }
        let (account, expected) = self.takeable(login).await?;
        let held = self
            .take(&account, expected, None, Operation::Deleting)
            .await?;
        let started = Instant::now();
        let deleted = self.game.delete(&account.login).await;
        self.observe("delete", started.elapsed(), &deleted);
        let refused = |outcome| AuditEntry {
            actor,
            action: AuditAction::Delete,
            outcome,
            login: Some(&account.login),
            login_norm: Some(&account.login_norm),
            telegram_hash: None,
        };
        match deleted {
            Ok(()) => {
                let hash = self.erasure.telegram_hash(account.telegram_id);
                let entry = erased(actor, hash.as_deref());
                match self
                    .db
                    .accounts()
                    .finish_deletion(&account.login_norm, &entry, unix_now())
                    .await
                {
                    Ok(_) => {
                        tracing::info!(actor, "account deleted");
                        Ok(account.login)
                    }
                    Err(e) => {
                        tracing::warn!(login = %account.login, error = %e, "deleted on the game server, not yet here; the reconciler finishes it");
                        Err(e.into())
                    }
                }
            }
            Err(err @ CallError::Unavailable(_)) => {
                self.give_back(&account, held, expected).await;
                let unsupported = err.kind() == FailureKind::Unsupported;
                let outcome = match unsupported {
                    true => AuditOutcome::NotSupported,
                    false => AuditOutcome::Refused,
                };
                self.audit(refused(outcome)).await;
                tracing::info!(login = %account.login, "game server refused the deletion; nothing changed");
                match unsupported {
                    true => Err(LifecycleError::NotSupported("delete")),
                    false => Err(LifecycleError::GameServerUnavailable(err)),
                }
            }
            Err(err @ CallError::Ambiguous(_)) => {
                self.audit(refused(AuditOutcome::AnswerLost)).await;
                tracing::info!(login = %account.login, "game server answer lost; the account stays marked for the reconciler");
                Err(LifecycleError::GameServerUnavailable(err))
            }
        }
    }

    async fn run_password(
        &self,
        login: &str,
        change: PasswordChange,
        actor: &str,
    ) -> Result<String, LifecycleError> {
        if !self.game.capabilities().operations.set_password {
            return Err(LifecycleError::NotSupported("set_password"));
        }
        let (account, expected) = self.takeable(login).await?;
        let entry = |outcome| AuditEntry {
            actor,
            action: AuditAction::PasswordChange,
            outcome,
            login: Some(&account.login),
            login_norm: Some(&account.login_norm),
            telegram_hash: None,
        };
        let matches = self
            .hasher
            .check(&change.old_password, account.password_hash.clone())
            .await?;
        if !matches {
            self.audit(entry(AuditOutcome::Refused)).await;
            return Err(LifecycleError::WrongPassword);
        }
        // Hashed before the mark, so the mark is held only for the call.
        let new_hash = self.hasher.hash(&change.new_password).await?;
        // Held only while the hash is the one the old password was checked
        // against: a change or re-registration meanwhile makes this one Busy.
        let held = self
            .take(
                &account,
                expected,
                Some(&account.password_hash),
                Operation::Password,
            )
            .await?;
        let started = Instant::now();
        let set = self
            .game
            .set_password(&account.login, change.new_password.expose())
            .await;
        self.observe("set_password", started.elapsed(), &set);
        match set {
            Ok(()) => {
                let finished = self
                    .db
                    .accounts()
                    .finish_password_change(
                        &account.login_norm,
                        held,
                        &new_hash,
                        &entry(AuditOutcome::Done),
                        unix_now(),
                    )
                    .await;
                match finished {
                    Ok(true) => {
                        tracing::info!(login = %account.login, actor, "password changed");
                        Ok(account.login)
                    }
                    // Another change took the stale mark over meanwhile.
                    Ok(false) => Err(LifecycleError::Busy),
                    Err(e) => {
                        tracing::warn!(login = %account.login, error = %e, "password changed on the game server, not yet here; the account stays marked until the next change");
                        Err(e.into())
                    }
                }
            }
            Err(err @ CallError::Unavailable(_)) => {
                self.give_back(&account, held, expected).await;
                let kind = err.kind();
                if kind == FailureKind::Server(ServerCode::NotFound) {
                    tracing::error!(login = %account.login, "the game server has no account with this login, the database has: the stores differ; check by hand");
                }
                let outcome = match kind {
                    FailureKind::Unsupported => AuditOutcome::NotSupported,
                    _ => AuditOutcome::Refused,
                };
                self.audit(entry(outcome)).await;
                match kind {
                    FailureKind::Unsupported => Err(LifecycleError::NotSupported("set_password")),
                    _ => Err(LifecycleError::GameServerUnavailable(err)),
                }
            }
            Err(err @ CallError::Ambiguous(_)) => {
                self.audit(entry(AuditOutcome::AnswerLost)).await;
                tracing::warn!(login = %account.login, "game server answer to set_password lost; the account stays marked until the next password change");
                Err(LifecycleError::GameServerUnavailable(err))
            }
        }
    }

    fn observe(&self, cmd: &'static str, elapsed: Duration, result: &Result<(), CallError>) {
        let label = match result {
            Ok(()) => "ok",
            Err(CallError::Unavailable(_)) => "unavailable",
            Err(CallError::Ambiguous(_)) => "ambiguous",
        };
        self.metrics.game_server_call(cmd, label, elapsed);
    }
}

/// The audit row of an erasure: no login, at most the kept hash.
pub fn erased<'a>(actor: &'a str, telegram_hash: Option<&'a str>) -> AuditEntry<'a> {
    AuditEntry {
        actor,
        action: AuditAction::Delete,
        outcome: AuditOutcome::Done,
        login: None,
        login_norm: None,
        telegram_hash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_telegram_hash_is_keyed_and_stable() {
        let with = |key: &str| Erasure {
            keep: ErasureKeep::TelegramHash,
            key: SecretString::from(key.to_owned()),
        };
        let a = with("erasure-key-0123456789").telegram_hash(42).unwrap();
        assert_eq!(a.len(), 64);
        assert!(!a.contains("42"));
        assert_eq!(
            Some(a.clone()),
            with("erasure-key-0123456789").telegram_hash(42)
        );
        assert_ne!(
            Some(a.clone()),
            with("another-key-0123456789").telegram_hash(42)
        );
        assert_ne!(Some(a), with("erasure-key-0123456789").telegram_hash(43));
        let nothing = Erasure {
            keep: ErasureKeep::Nothing,
            key: SecretString::from(String::new()),
        };
        assert_eq!(nothing.telegram_hash(42), None);
    }
}

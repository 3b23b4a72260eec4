//! The registration saga (API.md §3): reserve in the database, create on the
//! game server, confirm — or undo. Nothing is left half-created: a failure
//! with a definite answer removes the reservation at once, a lost answer
//! leaves it `pending` for the reconciler.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gamegate_domain::{AccountLimit, AuthRejection, ErrorCode, RegisterRequest};
use gamegate_gameserver::{CallError, GameServer, RegisterError};
use gamegate_store::accounts::KnownRefusal;
use gamegate_store::{Database, NewAccount, ReserveError, StoreError};

use crate::app::hashing::PasswordHasher;
use crate::app::metrics::{Metrics, Outcome};
use crate::app::telegram::{Telegram, TelegramUnavailable};

/// The one wall clock (`gamegate_store::unix_now`), named here for this
/// crate's modules.
use gamegate_store::unix_now;

/// Why a registration did not succeed; each maps to one contract code.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error("account limit reached")]
    LimitExceeded,
    #[error("login taken")]
    LoginTaken,
    #[error("not a member of the Telegram group")]
    NotInTelegramGroup,
    #[error("{0}")]
    TelegramUnavailable(TelegramUnavailable),
    #[error("telegram_auth refused: {}", .0.as_str())]
    TelegramAuthInvalid(AuthRejection),
    #[error("game server unavailable: {0}")]
    GameServerUnavailable(CallError),
    #[error("database unavailable: {0}")]
    DatabaseUnavailable(StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl RegistrationError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RegistrationError::LimitExceeded => ErrorCode::LimitExceeded,
            RegistrationError::LoginTaken => ErrorCode::LoginTaken,
            RegistrationError::NotInTelegramGroup => ErrorCode::NotInTelegramGroup,
            RegistrationError::TelegramUnavailable(_) => ErrorCode::TelegramUnavailable,
            RegistrationError::TelegramAuthInvalid(_) => ErrorCode::TelegramAuthInvalid,
            RegistrationError::GameServerUnavailable(_) => ErrorCode::GameServerUnavailable,
            RegistrationError::DatabaseUnavailable(_) => ErrorCode::DatabaseUnavailable,
            RegistrationError::Internal(_) => ErrorCode::InternalError,
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            RegistrationError::LimitExceeded => Outcome::limit_exceeded,
            RegistrationError::LoginTaken => Outcome::login_taken,
            RegistrationError::NotInTelegramGroup => Outcome::not_in_telegram_group,
            RegistrationError::TelegramUnavailable(_) => Outcome::telegram_unavailable,
            RegistrationError::TelegramAuthInvalid(_) => Outcome::telegram_auth_invalid,
            RegistrationError::GameServerUnavailable(CallError::Ambiguous(_)) => {
                Outcome::game_server_ambiguous
            }
            RegistrationError::GameServerUnavailable(_) => Outcome::game_server_unavailable,
            RegistrationError::DatabaseUnavailable(_) => Outcome::database_unavailable,
            RegistrationError::Internal(_) => Outcome::internal_error,
        }
    }
}

impl From<StoreError> for RegistrationError {
    fn from(err: StoreError) -> Self {
        if err.is_unavailable() {
            RegistrationError::DatabaseUnavailable(err)
        } else {
            RegistrationError::Internal(err.into())
        }
    }
}

impl From<ReserveError> for RegistrationError {
    fn from(err: ReserveError) -> Self {
        match err {
            ReserveError::LimitExceeded => RegistrationError::LimitExceeded,
            ReserveError::LoginTaken => RegistrationError::LoginTaken,
            ReserveError::Store(e) => e.into(),
        }
    }
}

/// Everything a registration needs; cheap to clone into a task.
#[derive(Clone)]
pub struct Registrar {
    pub db: Database,
    pub game: Arc<dyn GameServer>,
    pub hasher: PasswordHasher,
    pub limit: AccountLimit,
    pub metrics: Arc<Metrics>,
    pub telegram: Arc<Telegram>,
    /// Sagas in flight, so shutdown waits for them before closing the pool.
    pub tasks: tokio_util::task::TaskTracker,
}

impl Registrar {
    /// Runs the saga to the end on its own task, so a client that disconnects
    /// mid-way cannot cut it between the game server and the database.
    pub async fn register(&self, request: RegisterRequest) -> Result<(), RegistrationError> {
        let this = self.clone();
        self.tasks
            .spawn(async move {
                let result = this.run(request).await;
                // Counted here, not by the caller, so a saga whose client went
                // away is still counted.
                this.metrics.registration(match &result {
                    Ok(()) => Outcome::ok,
                    Err(e) => e.outcome(),
                });
                result
            })
            .await
            .map_err(|e| {
                RegistrationError::Internal(anyhow::anyhow!("registration task failed: {e}"))
            })?
    }

    async fn run(&self, request: RegisterRequest) -> Result<(), RegistrationError> {
        let login_norm = request.login_key();
        let accounts = self.db.accounts();

        // The seed's order: Telegram first (identity, then membership).
        let identity = self
            .telegram
            .verify_identity(request.telegram_auth.as_ref(), request.telegram_id)
            .map_err(|reason| {
                tracing::info!(
                    telegram_id = request.telegram_id,
                    reason = reason.as_str(),
                    "telegram_auth refused"
                );
                RegistrationError::TelegramAuthInvalid(reason)
            })?;
        match self.telegram.is_member(request.telegram_id).await {
            Ok(true) => {}
            Ok(false) => return Err(RegistrationError::NotInTelegramGroup),
            Err(e) if self.telegram.fail_open => {
                tracing::warn!(telegram_id = request.telegram_id, error = %e, "membership not checked; let through (telegram.fail_policy = open)");
            }
            // Refused (telegram.fail_policy = closed); the answer logs the cause.
            Err(e) => return Err(RegistrationError::TelegramUnavailable(e)),
        }

        // Cheap early answer for the common refusals, before spending ~20 ms
        // of CPU on a hash. Advisory: `reserve` below is what enforces.
        match accounts
            .precheck(request.telegram_id, &login_norm, self.limit)
            .await?
        {
            Some(KnownRefusal::LimitExceeded) => return Err(RegistrationError::LimitExceeded),
            Some(KnownRefusal::LoginTaken) => return Err(RegistrationError::LoginTaken),
            None => {}
        }

        let password_hash = self.hasher.hash(&request.password).await?;
        accounts
            .reserve(
                &NewAccount {
                    login: &request.login,
                    login_norm: &login_norm,
                    password_hash: &password_hash,
                    gender: request.gender,
                    telegram_id: request.telegram_id,
                    telegram_username: identity.as_ref().and_then(|i| i.username.as_deref()),
                },
                self.limit,
            )
            .await?;

        let started = Instant::now();
        let created = self
            .game
            .register(&request.login, request.password.expose(), request.gender)
            .await;
        self.observe_call(started.elapsed(), &created);

        match created {
            Ok(account_id) => {
                let account_id = i64::try_from(account_id).ok();
                // The account now exists in both stores, so this is a success
                // even if confirming fails: the reconciler confirms it later.
                if let Err(e) = accounts
                    .mark_synced(&login_norm, account_id, unix_now())
                    .await
                {
                    tracing::warn!(login = %request.login, error = %e, "account created but not yet marked synced; the reconciler will");
                }
                tracing::info!(login = %request.login, "registered");
                Ok(())
            }
            Err(RegisterError::LoginTaken) => {
                self.undo(&login_norm).await;
                Err(RegistrationError::LoginTaken)
            }
            Err(RegisterError::Call(err @ CallError::Unavailable(_))) => {
                // The failure itself is logged (warn) with the answer; here
                // what the saga did about it, also when the client left.
                tracing::info!(login = %request.login, "game server unavailable; reservation removed");
                self.undo(&login_norm).await;
                Err(RegistrationError::GameServerUnavailable(err))
            }
            Err(RegisterError::Call(err @ CallError::Ambiguous(_))) => {
                tracing::info!(login = %request.login, "game server answer lost; reservation kept pending for the reconciler");
                Err(RegistrationError::GameServerUnavailable(err))
            }
        }
    }

    /// Removes a reservation the game server definitely did not act on. If the
    /// database is down right now the row stays pending, and the reconciler
    /// removes it after asking the game server.
    async fn undo(&self, login_norm: &str) {
        if let Err(e) = self.db.accounts().remove_pending(login_norm).await {
            tracing::warn!(error = %e, "could not remove a reservation; the reconciler will settle it");
        }
    }

    fn observe_call(&self, elapsed: Duration, result: &Result<u64, RegisterError>) {
        let label = match result {
            Ok(_) => "ok",
            Err(RegisterError::LoginTaken) => "login_taken",
            Err(RegisterError::Call(CallError::Unavailable(_))) => "unavailable",
            Err(RegisterError::Call(CallError::Ambiguous(_))) => "ambiguous",
        };
        self.metrics.game_server_call("register", label, elapsed);
    }
}

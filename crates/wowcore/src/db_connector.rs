//! `game_server.kind = "azerothcore-db"` / `"trinitycore-db"`: accounts
//! written straight into the core's auth database, as its own `account
//! create` does.

use gamegate_gameserver::{
    CallError, Capabilities, Failure, FailureKind, GameAccountRules, GameServer, Operations,
    RegisterError, ServerCode,
};

use crate::authdb::{AuthDb, AuthDbSettings};
use crate::core::{Core, Via};
use crate::srp6;

/// The `azerothcore-db` / `trinitycore-db` connector. Every operation is
/// supported; `exists` is exact (a read by the upper-cased username under the
/// unique key's collation, an error whenever the database cannot answer).
#[derive(Debug)]
pub struct AuthDbGameServer {
    db: AuthDb,
    core: Core,
    capabilities: Capabilities,
}

impl AuthDbGameServer {
    /// Builds the connector and its pool without connecting. `rules` is
    /// what the operator configured in `[game_server.rules]`; the core's own
    /// rules are merged in (the stricter wins, [`Core::merged_rules`]).
    ///
    /// # Errors
    /// An unusable URL or rules that conflict with the core's; the message
    /// names the setting and never the URL's password.
    pub fn new(
        core: Core,
        settings: &AuthDbSettings,
        rules: &GameAccountRules,
    ) -> Result<Self, String> {
        let db = AuthDb::connect_lazy(settings).map_err(|e| format!("game_server.auth_db: {e}"))?;
        Ok(Self {
            db,
            core,
            capabilities: Capabilities {
                connector: match core {
                    Core::AzerothCore => "azerothcore-db",
                    Core::TrinityCore => "trinitycore-db",
                },
                operations: Operations::ALL,
                rules: core.merged_rules(Via::AuthDb, rules)?,
            },
        })
    }

    /// The pool, for tests and `doctor`.
    pub fn auth_db(&self) -> &AuthDb {
        &self.db
    }

    /// Refuses what the core could never log in with (validation already
    /// did; this keeps a caller that skipped it from writing such a row).
    fn check(&self, op: &str, login: &str, password: Option<&str>) -> Result<(), CallError> {
        let fits = |text: &str, max: usize| {
            text.chars().count() <= max && text.bytes().all(|b| (0x21..=0x7E).contains(&b))
        };
        let login_ok = !login.is_empty() && fits(login, self.core.login_max_chars());
        let password_ok =
            password.is_none_or(|p| !p.is_empty() && fits(p, self.core.password_max_chars()));
        if login_ok && password_ok {
            Ok(())
        } else {
            Err(CallError::Unavailable(Failure::new(
                FailureKind::Server(ServerCode::Invalid),
                format!(
                    "{op}: refused before the auth database: the login or password is not \
                     printable ASCII within the {} limits",
                    self.core.name()
                ),
            )))
        }
    }
}

#[async_trait::async_trait]
impl GameServer for AuthDbGameServer {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn register(
        &self,
        login: &str,
        password: &str,
        _gender: u8,
    ) -> Result<u64, RegisterError> {
        self.check("register", login, Some(password))?;
        let username = srp6::upper_latin(login);
        let (salt, verifier) = srp6::registration_data(&username, password);
        self.db.insert_account(&username, &salt, &verifier).await
    }

    async fn exists(&self, login: &str) -> Result<bool, CallError> {
        Ok(self
            .db
            .account_id(&srp6::upper_latin(login))
            .await?
            .is_some())
    }

    async fn delete(&self, login: &str) -> Result<(), CallError> {
        self.db.delete_account(&srp6::upper_latin(login)).await
    }

    async fn ping(&self) -> Result<(), CallError> {
        self.db.ping().await
    }

    async fn online(&self) -> Result<u64, CallError> {
        self.db.online().await
    }

    fn link_summary(&self) -> Option<String> {
        Some(format!(
            "SQL to the auth database {} (TLS as its URL's ssl-mode says)",
            self.db.shown_url()
        ))
    }

    async fn set_password(&self, login: &str, password: &str) -> Result<(), CallError> {
        self.check("set_password", login, Some(password))?;
        let username = srp6::upper_latin(login);
        let (salt, verifier) = srp6::registration_data(&username, password);
        if self.db.set_logon(&username, &salt, &verifier).await? {
            Ok(())
        } else {
            Err(CallError::Unavailable(Failure::new(
                FailureKind::Server(ServerCode::NotFound),
                "set_password: no such account",
            )))
        }
    }
}

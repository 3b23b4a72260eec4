//! `game_server.kind = "azerothcore-soap"` / `"trinitycore-soap"`: accounts
//! created by the worldserver itself, with `account create USER PASS` over
//! its SOAP interface (`SOAP.Enabled = 1` in worldserver.conf).
//!
//! The command text holds the password: it is never logged, and no error
//! repeats it or the server's answer text.

pub mod envelope;
pub mod fake;

use std::fmt;
use std::time::Duration;

use gamegate_gameserver::client::unsupported;
use gamegate_gameserver::{
    CallError, Capabilities, ExistsSupport, Failure, FailureKind, GameAccountRules, GameServer,
    Operations, RegisterError, ServerCode,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::authdb::AuthDb;
use crate::core::{Core, Via};
use crate::srp6;
use envelope::Answer;

/// Most bytes of an answer read (a command's output is a few lines).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// How often a created account is looked for in the auth database while
/// confirming a SOAP success (AzerothCore queues its INSERT).
const CONFIRM_POLL: Duration = Duration::from_millis(20);

/// How to reach the worldserver's SOAP endpoint. `Debug` hides the password.
#[derive(Clone)]
pub struct SoapSettings {
    /// `http://HOST:PORT/` of `SOAP.IP`/`SOAP.Port` (7878 by default). Plain
    /// HTTP: keep it on loopback or a private link.
    pub url: String,
    /// The game-master account (security level ≥ 3, administrator) SOAP
    /// authenticates with.
    pub user: String,
    /// Its password (a secret).
    pub password: SecretString,
    /// Bound on opening the TCP connection.
    pub connect_timeout: Duration,
    /// Bound on one whole call, the wait for a free slot included (the
    /// worldserver answers after its next world update ran the command).
    pub call_timeout: Duration,
    /// Calls sent at once (0 is treated as 1). The worldserver serves one
    /// connection at a time; more only queue in its listen backlog, where a
    /// request whose caller has given up still runs later. Waiting here
    /// instead (for at most half of `call_timeout`) keeps a timed-out wait a
    /// definite failure: nothing was sent.
    pub max_in_flight: usize,
}

impl fmt::Debug for SoapSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoapSettings")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"[REDACTED]")
            .field("connect_timeout", &self.connect_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// The `azerothcore-soap` / `trinitycore-soap` connector.
pub struct SoapGameServer {
    http: reqwest::Client,
    slots: tokio::sync::Semaphore,
    settings: SoapSettings,
    core: Core,
    auth_db: Option<AuthDb>,
    capabilities: Capabilities,
}

impl fmt::Debug for SoapGameServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoapGameServer")
            .field("settings", &self.settings)
            .field("auth_db", &self.auth_db)
            .finish_non_exhaustive()
    }
}

/// What a fault's text says, in the cores' English strings
/// (`acore_string` / `trinity_string`, default locale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultClass {
    /// `LANG_ACCOUNT_ALREADY_EXIST`: "Account with this name already exist!"
    NameTaken,
    /// `LANG_ACCOUNT_NAME_TOO_LONG` / `LANG_ACCOUNT_PASS_TOO_LONG`: "… can't
    /// be longer than N characters (client limit) …"
    TooLong,
    /// `LANG_NO_CMD`: "There is no such command."
    UnknownCommand,
    /// A permission refusal.
    NoPermission,
    /// `LANG_ACCOUNT_NOT_EXIST`: "Account … does not exist" / "No account
    /// with that name … was found."
    NoSuchAccount,
    /// Anything else: the command failed without doing its work.
    Other,
}

impl FaultClass {
    /// Classifies a fault text (case-insensitively, by the words the cores'
    /// English strings use).
    pub fn of(text: &str) -> Self {
        let text = text.to_ascii_lowercase();
        if text.contains("already exist") {
            FaultClass::NameTaken
        } else if text.contains("longer than") || text.contains("too long") {
            FaultClass::TooLong
        } else if text.contains("no such command") {
            FaultClass::UnknownCommand
        } else if text.contains("permission") || text.contains("not allowed") {
            FaultClass::NoPermission
        } else if text.contains("not exist") || text.contains("no account with that name") {
            FaultClass::NoSuchAccount
        } else {
            FaultClass::Other
        }
    }

    /// The failure kind an operation refused with this fault reports.
    fn kind(self) -> FailureKind {
        match self {
            FaultClass::NoPermission => FailureKind::Server(ServerCode::Unauthorized),
            // What the `GameServer` trait answers for a missing account.
            FaultClass::NoSuchAccount => FailureKind::Server(ServerCode::NotFound),
            FaultClass::Other => FailureKind::Server(ServerCode::Unknown),
            _ => FailureKind::Server(ServerCode::Invalid),
        }
    }

    /// Words for the log (never the server's text, which may echo input).
    fn name(self) -> &'static str {
        match self {
            FaultClass::NameTaken => "name taken",
            FaultClass::TooLong => "too long",
            FaultClass::UnknownCommand => "unknown command (is the worldserver this core?)",
            FaultClass::NoPermission => "no permission",
            FaultClass::NoSuchAccount => "no such account",
            FaultClass::Other => "the command failed",
        }
    }
}

impl SoapGameServer {
    /// Builds the connector (no I/O). `auth_db`, when given, answers
    /// `exists` and `online` and confirms each created account; without it
    /// `exists` is declared unsupported (lost answers stay pending for the
    /// operator). `rules` are the operator's `[game_server.rules]`, merged
    /// with the core's (the stricter wins).
    ///
    /// # Errors
    /// A URL that is not `http://` or carries user information, or rules that
    /// conflict with the core's.
    pub fn new(
        core: Core,
        settings: SoapSettings,
        auth_db: Option<AuthDb>,
        rules: &GameAccountRules,
    ) -> Result<Self, String> {
        let url = reqwest::Url::parse(&settings.url)
            .map_err(|_| format!("game_server.soap.url {:?} is not a URL", settings.url))?;
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return Err(format!(
                "game_server.soap.url must be http://HOST:PORT/ without user information \
                 (the worldserver's SOAP is plain HTTP; set game_server.soap.user/password), \
                 got scheme {}",
                url.scheme()
            ));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.call_timeout)
            // gSOAP closes after each answer: a pooled connection would only
            // turn a stale socket into a lost answer.
            .pool_max_idle_per_host(0)
            // The password must never go to a proxy from the environment.
            .no_proxy()
            .build()
            .map_err(|e| format!("game_server.soap: cannot build the HTTP client: {e}"))?;
        let exact = auth_db.is_some();
        Ok(Self {
            http,
            slots: tokio::sync::Semaphore::new(settings.max_in_flight.max(1)),
            core,
            capabilities: Capabilities {
                connector: match core {
                    Core::AzerothCore => "azerothcore-soap",
                    Core::TrinityCore => "trinitycore-soap",
                },
                operations: Operations {
                    exists: if exact {
                        ExistsSupport::Exact
                    } else {
                        ExistsSupport::Unsupported
                    },
                    delete: true,
                    set_password: true,
                    online: exact,
                    ping: true,
                },
                rules: core.merged_rules(Via::Soap, rules)?,
            },
            settings,
            auth_db,
        })
    }

    /// Runs one command; the answer, or a failure classified by whether the
    /// request may have reached the worldserver.
    async fn execute(
        &self,
        op: &str,
        command: &str,
        deadline: Instant,
    ) -> Result<Answer, CallError> {
        // A request sent with little time left would mostly be abandoned in
        // the worldserver's backlog and still run there later: the wait for
        // a slot may use half the call's time, the request keeps the rest.
        let latest_send = deadline - self.settings.call_timeout / 2;
        let Ok(Ok(_slot)) = tokio::time::timeout_at(latest_send, self.slots.acquire()).await else {
            return Err(CallError::Unavailable(Failure::new(
                FailureKind::Timeout,
                format!(
                    "{op}: no free SOAP slot within {:?} (game_server.soap.max_in_flight)",
                    self.settings.call_timeout / 2
                ),
            )));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let body = envelope::request(self.core.soap_urn(), command);
        let sent = self
            .http
            .post(&self.settings.url)
            .timeout(left)
            .basic_auth(
                &self.settings.user,
                Some(self.settings.password.expose_secret()),
            )
            .header("Content-Type", "text/xml; charset=utf-8")
            .header(
                "SOAPAction",
                format!("\"{}#executeCommand\"", self.core.soap_urn()),
            )
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => return Err(self.transport_failure(op, &err)),
        };
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            return Err(CallError::Unavailable(Failure::new(
                FailureKind::AuthRefused,
                format!(
                    "{op}: the worldserver refused game_server.soap.user (HTTP {}): {}",
                    status.as_u16(),
                    if status == reqwest::StatusCode::UNAUTHORIZED {
                        "wrong user or password"
                    } else {
                        "the account's security level is below administrator (3)"
                    }
                ),
            )));
        }
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if bytes.len() + chunk.len() <= MAX_ANSWER_BYTES => {
                    bytes.extend_from_slice(&chunk)
                }
                Ok(Some(_)) => return Err(self.lost(op, FailureKind::Protocol, "answer too long")),
                Ok(None) => break,
                Err(err) => return Err(self.transport_failure(op, &err)),
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        match envelope::parse_answer(&text) {
            Ok(answer) => Ok(answer),
            Err(_) => Err(self.lost(
                op,
                FailureKind::Protocol,
                &format!("HTTP {} without a SOAP result or fault", status.as_u16()),
            )),
        }
    }

    fn lost(&self, op: &str, kind: FailureKind, what: &str) -> CallError {
        CallError::Ambiguous(Failure::new(
            kind,
            format!("{op}: worldserver SOAP {}: {what}", self.settings.url),
        ))
    }

    /// Connecting failed: nothing was sent. Anything later: the request may
    /// have been read and queued for the world thread.
    fn transport_failure(&self, op: &str, err: &reqwest::Error) -> CallError {
        let url = &self.settings.url;
        if err.is_connect() {
            CallError::Unavailable(Failure::new(
                if err.is_timeout() {
                    FailureKind::Timeout
                } else {
                    FailureKind::Connection
                },
                format!("{op}: cannot connect to worldserver SOAP {url}"),
            ))
        } else if err.is_timeout() {
            self.lost(
                op,
                FailureKind::Timeout,
                &format!("no answer within {:?}", self.settings.call_timeout),
            )
        } else {
            self.lost(
                op,
                FailureKind::Connection,
                "connection failed before the answer",
            )
        }
    }

    fn refused(&self, op: &str, class: FaultClass) -> CallError {
        CallError::Unavailable(Failure::new(
            class.kind(),
            format!(
                "{op}: the worldserver refused the command: {}",
                class.name()
            ),
        ))
    }

    /// After a success, the account as the auth database shows it: its id
    /// once the row is there (polled until the call's deadline: AzerothCore
    /// inserts asynchronously after answering), or a lost answer. `0` without
    /// an auth database to read.
    async fn confirm(&self, username: &str, deadline: Instant) -> Result<u64, CallError> {
        let Some(db) = &self.auth_db else {
            return Ok(0);
        };
        loop {
            // A failed read proves nothing: the command did run.
            if let Ok(Ok(Some(id))) =
                tokio::time::timeout_at(deadline, db.account_id(username)).await
            {
                return Ok(id);
            }
            if Instant::now() + CONFIRM_POLL >= deadline {
                return Err(self.lost(
                    "register",
                    FailureKind::Protocol,
                    "answered created, but the account is not in the auth database yet",
                ));
            }
            tokio::time::sleep(CONFIRM_POLL).await;
        }
    }
}

/// Whether a login or password can travel inside `account create USER PASS`:
/// non-empty printable ASCII without space and quotes (the declared
/// charsets; checked again here so nothing else can slip into the command).
fn carriable(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| (0x21..=0x7E).contains(&b) && b != b'"' && b != b'\'')
}

#[async_trait::async_trait]
impl GameServer for SoapGameServer {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn register(
        &self,
        login: &str,
        password: &str,
        _gender: u8,
    ) -> Result<u64, RegisterError> {
        if !carriable(login) || !carriable(password) || login.contains('@') {
            return Err(self.refused("register", FaultClass::Other).into());
        }
        let deadline = Instant::now() + self.settings.call_timeout;
        match self
            .execute(
                "register",
                &format!("account create {login} {password}"),
                deadline,
            )
            .await?
        {
            Answer::Result(_) => Ok(self.confirm(&srp6::upper_latin(login), deadline).await?),
            Answer::Fault(text) => match FaultClass::of(&text) {
                FaultClass::NameTaken => Err(RegisterError::LoginTaken),
                class => Err(self.refused("register", class).into()),
            },
        }
    }

    async fn exists(&self, login: &str) -> Result<bool, CallError> {
        match &self.auth_db {
            Some(db) => Ok(db.account_id(&srp6::upper_latin(login)).await?.is_some()),
            None => Err(unsupported("exists")),
        }
    }

    async fn delete(&self, login: &str) -> Result<(), CallError> {
        if !carriable(login) {
            return Err(self.refused("delete", FaultClass::Other));
        }
        let deadline = Instant::now() + self.settings.call_timeout;
        match self
            .execute("delete", &format!("account delete {login}"), deadline)
            .await?
        {
            Answer::Result(_) => Ok(()),
            Answer::Fault(text) => match FaultClass::of(&text) {
                FaultClass::NoSuchAccount => Ok(()),
                class => Err(self.refused("delete", class)),
            },
        }
    }

    async fn ping(&self) -> Result<(), CallError> {
        let deadline = Instant::now() + self.settings.call_timeout;
        match self.execute("ping", "server info", deadline).await? {
            Answer::Result(_) => Ok(()),
            Answer::Fault(text) => Err(self.refused("ping", FaultClass::of(&text))),
        }
    }

    async fn online(&self) -> Result<u64, CallError> {
        match &self.auth_db {
            Some(db) => db.online().await,
            None => Err(unsupported("online")),
        }
    }

    fn link_summary(&self) -> Option<String> {
        Some(format!(
            "worldserver SOAP over plain HTTP ({}){}",
            self.core.soap_urn(),
            match &self.auth_db {
                Some(db) => format!(", auth database {} for exists", db.shown_url()),
                None => String::new(),
            }
        ))
    }

    async fn set_password(&self, login: &str, password: &str) -> Result<(), CallError> {
        if !carriable(login) || !carriable(password) {
            return Err(self.refused("set_password", FaultClass::Other));
        }
        let command = format!("account set password {login} {password} {password}");
        let deadline = Instant::now() + self.settings.call_timeout;
        match self.execute("set_password", &command, deadline).await? {
            Answer::Result(_) => Ok(()),
            Answer::Fault(text) => Err(self.refused("set_password", FaultClass::of(&text))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cores_fault_texts_are_classified() {
        for (text, class) in [
            (
                "Account with this name already exist!",
                FaultClass::NameTaken,
            ),
            (
                "Account name can't be longer than 17 characters (client limit), account not created!",
                FaultClass::TooLong,
            ),
            (
                "Password can't be longer than 16 characters (client limit), account not created!",
                FaultClass::TooLong,
            ),
            ("There is no such command.", FaultClass::UnknownCommand),
            (
                "You do not have permission to use this command",
                FaultClass::NoPermission,
            ),
            ("Account HERO does not exist", FaultClass::NoSuchAccount),
            (
                "No account with that name: HERO was found.",
                FaultClass::NoSuchAccount,
            ),
            ("Incorrect syntax.", FaultClass::Other),
        ] {
            assert_eq!(FaultClass::of(text), class, "{text}");
        }
    }

    #[test]
    fn only_plain_tokens_travel_in_the_command() {
        assert!(carriable("p@ss!Word"));
        for bad in ["pass word", "it's", "say\"", "tab\t", "", "пароль"] {
            assert!(!carriable(bad), "{bad:?}");
        }
    }

    #[test]
    fn settings_debug_hides_the_password() {
        let settings = SoapSettings {
            url: "http://127.0.0.1:7878/".into(),
            user: "GAMEGATE".into(),
            password: "hunter22".into(),
            connect_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(3),
            max_in_flight: 1,
        };
        assert!(!format!("{settings:?}").contains("hunter22"));
        let bad = SoapSettings {
            url: "http://u:p@127.0.0.1:7878/".into(),
            ..settings.clone()
        };
        assert!(
            SoapGameServer::new(Core::AzerothCore, bad, None, &GameAccountRules::default())
                .is_err()
        );
        let server = SoapGameServer::new(
            Core::TrinityCore,
            settings,
            None,
            &GameAccountRules::default(),
        )
        .unwrap();
        assert_eq!(
            server.capabilities().operations.exists,
            ExistsSupport::Unsupported
        );
        assert_eq!(server.capabilities().connector, "trinitycore-soap");
    }
}

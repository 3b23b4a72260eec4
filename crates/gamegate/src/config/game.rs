//! `[registration]`, `[password_hash]`, `[game_server]`, `[reconciler]`
//! and `[status]`: the registration saga and what it talks to.

use gamegate_domain::{AccountLimit, GameAccountRules, RegistrationRules};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::game_tls::GameServerTlsConfig;
use super::types::{self, ErasureKeep};
use super::wowcore::{AuthDbConfig, SoapConfig};
use gamegate_wowcore::Via;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Maximum game accounts per Telegram id (1 to 1000, checked at load).
    pub account_limit: AccountLimit,
    /// A regex character-class body for logins (`A-Za-z0-9_`): in Rust the
    /// registration rules built from it at load, so a bad class fails the
    /// start and nothing compiles it later.
    #[serde(with = "types::login_charset")]
    pub login_charset: RegistrationRules,
    /// How long an `Idempotency-Key` of `POST /api/register` is remembered,
    /// in seconds (1 to [`MAX_IDEMPOTENCY_WINDOW_SECS`], checked at load).
    pub idempotency_window_secs: u64,
    /// What a deleted account leaves behind (`nothing`, `telegram_hash`).
    pub erasure_keep: ErasureKeep,
    /// The HMAC key of `erasure_keep = "telegram_hash"` (at least
    /// `MIN_ERASURE_KEY_CHARS` (16) characters then). Secret: prefer
    /// `GAMEGATE_REGISTRATION__ERASURE_KEY_FILE`.
    #[serde(with = "types::secret")]
    pub erasure_key: SecretString,
}

/// The longest `registration.idempotency_window_secs` accepted: 7 days.
pub const MAX_IDEMPOTENCY_WINDOW_SECS: u64 = 7 * 24 * 3600;

/// The shortest `registration.erasure_key` accepted with
/// `erasure_keep = "telegram_hash"`.
pub const MIN_ERASURE_KEY_CHARS: usize = 16;

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            account_limit: AccountLimit::DEFAULT,
            login_charset: RegistrationRules::default(),
            idempotency_window_secs: 24 * 3600,
            erasure_keep: ErasureKeep::Nothing,
            erasure_key: SecretString::from(String::new()),
        }
    }
}

impl RegistrationConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        use secrecy::ExposeSecret;
        let chars = self.erasure_key.expose_secret().chars().count();
        if self.erasure_keep == ErasureKeep::TelegramHash && chars < MIN_ERASURE_KEY_CHARS {
            anyhow::bail!(
                "registration.erasure_keep = \"telegram_hash\" needs registration.erasure_key of at \
                 least {MIN_ERASURE_KEY_CHARS} characters (it has {chars}): set it through \
                 GAMEGATE_REGISTRATION__ERASURE_KEY_FILE (`gamegate keygen api-key` makes one); \
                 changing it later makes new hashes differ from old ones"
            );
        }
        Ok(())
    }
}

/// Argon2id parameters; defaults are OWASP's minimum (19 MiB, t=2, p=1).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordHashConfig {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core.
    pub max_concurrent: usize,
}

impl Default for PasswordHashConfig {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
            max_concurrent: 0,
        }
    }
}

/// The game-server token `gamegate all` and the mock ship with: fine on one
/// machine, refused by `gamegate doctor` for production.
pub const DEV_GAME_SERVER_TOKEN: &str = "gamegate-dev-token";

/// Which connector speaks to the game server (`game_server.kind`); each is
/// described in docs/GAME_SERVER.md.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ConnectorKind {
    /// gamegate's line protocol v1 over TCP (docs/GAME_SERVER.md, "Protocol v1").
    #[default]
    #[serde(rename = "v1")]
    V1,
    /// Signed JSON over HTTP to the operator's receiver
    /// (docs/GAME_SERVER.md, "HTTP connector"), set up in `[game_server.http]`.
    #[serde(rename = "http")]
    Http,
    /// AzerothCore's auth database, SRP6 rows (`[game_server.auth_db]`).
    #[serde(rename = "azerothcore-db")]
    AzerothcoreDb,
    /// TrinityCore 3.3.5's auth database, SRP6 rows (`[game_server.auth_db]`).
    #[serde(rename = "trinitycore-db")]
    TrinitycoreDb,
    /// AzerothCore's worldserver SOAP, `account create` (`[game_server.soap]`).
    #[serde(rename = "azerothcore-soap")]
    AzerothcoreSoap,
    /// TrinityCore 3.3.5's worldserver SOAP, `account create` (`[game_server.soap]`).
    #[serde(rename = "trinitycore-soap")]
    TrinitycoreSoap,
}

impl ConnectorKind {
    /// The name in configuration, the banner and `doctor`.
    pub const fn name(self) -> &'static str {
        match self {
            ConnectorKind::V1 => "v1",
            ConnectorKind::Http => "http",
            ConnectorKind::AzerothcoreDb => "azerothcore-db",
            ConnectorKind::TrinitycoreDb => "trinitycore-db",
            ConnectorKind::AzerothcoreSoap => "azerothcore-soap",
            ConnectorKind::TrinitycoreSoap => "trinitycore-soap",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameServerConfig {
    /// The connector (`v1` by default).
    pub kind: ConnectorKind,
    /// `host:port` of the game server (protocol v1).
    pub addr: String,
    /// Secret: prefer `GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE`.
    #[serde(with = "types::secret")]
    pub auth_token: SecretString,
    pub pool_size: usize,
    pub connect_timeout_ms: u64,
    pub call_timeout_ms: u64,
    /// `gamegate all` only: run the mock game server in-process on `addr`.
    pub embedded_mock: bool,
    /// `[game_server.rules]`: the game's own account rules (lengths,
    /// charsets, case folding), merged into validation at start so the site
    /// gets a 422 for what the game would refuse. Empty by default.
    pub rules: GameAccountRules,
    /// `[game_server.tls]`: TLS on the v1 link (off by default).
    pub tls: GameServerTlsConfig,
    /// `[game_server.auth_db]`: the AzerothCore/TrinityCore auth database.
    pub auth_db: AuthDbConfig,
    /// `[game_server.soap]`: the AzerothCore/TrinityCore worldserver SOAP.
    pub soap: SoapConfig,
    /// `[game_server.http]`: the receiver of `kind = "http"`.
    pub http: GameServerHttpConfig,
}

/// `[game_server.http]`: where the HTTP connector sends its signed requests.
/// Checked at load when `kind = "http"` (`Config::validate`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameServerHttpConfig {
    /// The receiver's base URL (`https://game.example/gamegate`); the
    /// endpoints are `{url}/register`, `{url}/exists`, …
    pub url: String,
    /// The HMAC-SHA-256 key of the request signature, shared with the
    /// receiver. Secret: prefer `GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET_FILE`.
    #[serde(with = "types::secret")]
    pub signing_secret: SecretString,
    /// A PEM file of CA certificates trusted besides the built-in Mozilla
    /// roots, for an `https://` receiver whose certificate a private CA
    /// signed; empty: the built-in roots only.
    pub ca_file: String,
}

impl GameServerConfig {
    /// Why `gamegate all` cannot run its embedded mock with this
    /// configuration: the mock speaks plain text, so with
    /// `game_server.tls.enabled` it would be refused by the client. Only
    /// `gamegate all` asks (serve, `doctor` and `gameserver check` never run
    /// the embedded mock, so the combination is no error for them).
    pub fn embedded_mock_refusal(&self) -> Option<String> {
        (self.tls.enabled && self.embedded_mock).then(|| {
            "game_server.tls.enabled needs a game server that speaks TLS, and the embedded \
             mock (game_server.embedded_mock) speaks plain text: set \
             game_server.embedded_mock = false and run `gamegate gameserver mock --tls-cert \
             FILE --tls-key FILE` (or the real game server) at game_server.addr, or turn \
             game_server.tls off"
                .to_owned()
        })
    }

    /// The game's account rules as the connector declares them: what the
    /// operator configured in `[game_server.rules]`, and for the
    /// AzerothCore/TrinityCore kinds the core's own rules merged in (the
    /// stricter wins; a conflict is refused at load by `validate`).
    pub fn account_rules(&self) -> GameAccountRules {
        match self.kind.wow() {
            None => self.rules.clone(),
            Some((core, via)) => core
                .merged_rules(via, &self.rules)
                .unwrap_or_else(|_| core.rules(via)),
        }
    }

    /// Checks the connector's own sections (run at load).
    pub fn validate(&self) -> anyhow::Result<()> {
        super::wowcore::validate(self)
    }

    /// What an AzerothCore/TrinityCore connector talks to, for the banner
    /// and logs: the auth database without user information, or the SOAP
    /// URL; `None` for the other kinds (`Config::game_server_target`).
    pub fn wow_target(&self) -> Option<String> {
        Some(match self.kind.wow()? {
            (_, Via::AuthDb) => gamegate_wowcore::authdb::redacted_url(
                secrecy::ExposeSecret::expose_secret(&self.auth_db.url),
            ),
            (_, Via::Soap) => self.soap.url.clone(),
        })
    }

    /// The key and value of the bound on one connector call (the
    /// reconciler's grace must exceed it).
    pub fn call_timeout_key(&self) -> (&'static str, u64) {
        match self.kind.wow() {
            None => ("game_server.call_timeout_ms", self.call_timeout_ms),
            Some((_, Via::AuthDb)) => (
                "game_server.auth_db.call_timeout_ms",
                self.auth_db.call_timeout_ms,
            ),
            Some((_, Via::Soap)) => (
                "game_server.soap.call_timeout_ms",
                self.soap.call_timeout_ms,
            ),
        }
    }

    /// Connections the connector may hold open (not counting the embedded
    /// mock's side).
    pub fn connections(&self) -> u64 {
        match self.kind.wow() {
            None => self.pool_size as u64,
            Some((_, Via::AuthDb)) => u64::from(self.auth_db.pool_size),
            Some((_, Via::Soap)) => {
                self.soap.max_in_flight as u64
                    + if self.auth_db.is_set() {
                        u64::from(self.auth_db.pool_size)
                    } else {
                        0
                    }
            }
        }
    }
}

impl Default for GameServerConfig {
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:5190".into(),
            auth_token: DEV_GAME_SERVER_TOKEN.into(),
            pool_size: 8,
            connect_timeout_ms: 1_000,
            call_timeout_ms: 3_000,
            embedded_mock: true,
            kind: ConnectorKind::V1,
            rules: GameAccountRules::default(),
            tls: GameServerTlsConfig::default(),
            http: GameServerHttpConfig::default(),
            auth_db: AuthDbConfig::default(),
            soap: SoapConfig::default(),
        }
    }
}

/// Settles registrations whose game-server answer was lost.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcilerConfig {
    pub interval_ms: u64,
    /// A pending row is only settled once it is this old; must exceed the
    /// longest time the game server may still act on a register command.
    pub grace_ms: u64,
    pub batch_size: u64,
}

impl Default for ReconcilerConfig {
    fn default() -> Self {
        Self {
            interval_ms: 5_000,
            grace_ms: 30_000,
            batch_size: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    /// How often the constants are re-read and the game server polled; the
    /// endpoint never waits on either.
    pub refresh_interval_ms: u64,
    /// `server_status` answers 0 while the game server is down (see `down_after_polls`).
    pub derive_from_game_server: bool,
    /// Failed polls in a row after which the game server counts as down for
    /// `derive_from_game_server` (at least 1).
    pub down_after_polls: u32,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            refresh_interval_ms: 2_000,
            derive_from_game_server: false,
            down_after_polls: 2,
        }
    }
}

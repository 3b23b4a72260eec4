//! `[game_server.auth_db]` and `[game_server.soap]`: the AzerothCore and
//! TrinityCore connectors (`game_server.kind = "azerothcore-db"`, …;
//! docs/GAME_SERVER.md, "AzerothCore and TrinityCore").

use std::time::Duration;

use anyhow::{Context, bail};
use gamegate_wowcore::{AuthDbSettings, Core, SoapSettings, Via};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::game::{ConnectorKind, GameServerConfig};

/// `[game_server.auth_db]`: the core's auth database (`acore_auth` /
/// `auth`), written by the `-db` connectors and read by the `-soap` ones
/// for an exact `exists` when `url` is set.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthDbConfig {
    /// Secret: `mysql://USER:PASS@HOST:3306/acore_auth`; empty = none.
    #[serde(with = "super::types::secret")]
    pub url: SecretString,
    /// Connections of its own pool.
    pub pool_size: u32,
    /// Bound on getting a connection (waiting for one, or connecting).
    pub acquire_timeout_ms: u64,
    /// Bound on one whole operation, the wait for a connection included.
    pub call_timeout_ms: u64,
    /// `account.expansion` of new accounts (2 = Wrath of the Lich King).
    pub expansion: u8,
}

impl Default for AuthDbConfig {
    fn default() -> Self {
        Self {
            url: SecretString::from(String::new()),
            pool_size: 16,
            acquire_timeout_ms: 1_000,
            call_timeout_ms: 3_000,
            expansion: 2,
        }
    }
}

impl std::fmt::Debug for AuthDbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthDbConfig")
            .field(
                "url",
                &gamegate_wowcore::authdb::redacted_url(self.url.expose_secret()),
            )
            .field("pool_size", &self.pool_size)
            .field("call_timeout_ms", &self.call_timeout_ms)
            .finish_non_exhaustive()
    }
}

impl AuthDbConfig {
    /// Whether a URL is configured.
    pub fn is_set(&self) -> bool {
        !self.url.expose_secret().trim().is_empty()
    }

    /// The connector's settings.
    pub fn settings(&self) -> AuthDbSettings {
        AuthDbSettings {
            url: self.url.clone(),
            pool_size: self.pool_size,
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
            call_timeout: Duration::from_millis(self.call_timeout_ms),
            expansion: self.expansion,
        }
    }
}

/// `[game_server.soap]`: the worldserver's SOAP endpoint (`SOAP.Enabled = 1`,
/// `SOAP.IP`, `SOAP.Port` in worldserver.conf) and the game-master account
/// it authenticates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoapConfig {
    /// `http://SOAP.IP:SOAP.Port/`.
    pub url: String,
    /// A dedicated account of security level 3 (administrator).
    pub user: String,
    /// Secret: its password.
    #[serde(with = "super::types::secret")]
    pub password: SecretString,
    /// Bound on opening the connection.
    pub connect_timeout_ms: u64,
    /// Bound on one call, the wait for a free slot included: the
    /// worldserver answers after its world update ran the command.
    pub call_timeout_ms: u64,
    /// Calls sent at once (the worldserver serves one connection at a time).
    pub max_in_flight: usize,
}

impl Default for SoapConfig {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:7878/".into(),
            user: String::new(),
            password: SecretString::from(String::new()),
            connect_timeout_ms: 1_000,
            call_timeout_ms: 5_000,
            max_in_flight: 1,
        }
    }
}

impl SoapConfig {
    /// The connector's settings.
    pub fn settings(&self) -> SoapSettings {
        SoapSettings {
            url: self.url.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            call_timeout: Duration::from_millis(self.call_timeout_ms),
            max_in_flight: self.max_in_flight,
        }
    }
}

impl ConnectorKind {
    /// The core and the way to it, for the AzerothCore/TrinityCore kinds.
    pub const fn wow(self) -> Option<(Core, Via)> {
        match self {
            ConnectorKind::V1 | ConnectorKind::Http => None,
            ConnectorKind::AzerothcoreDb => Some((Core::AzerothCore, Via::AuthDb)),
            ConnectorKind::TrinitycoreDb => Some((Core::TrinityCore, Via::AuthDb)),
            ConnectorKind::AzerothcoreSoap => Some((Core::AzerothCore, Via::Soap)),
            ConnectorKind::TrinitycoreSoap => Some((Core::TrinityCore, Via::Soap)),
        }
    }
}

/// Checks the sections the AzerothCore/TrinityCore kinds need.
pub(super) fn validate(game: &GameServerConfig) -> anyhow::Result<()> {
    let Some((core, via)) = game.kind.wow() else {
        return Ok(());
    };
    let kind = game.kind.name();
    let db = &game.auth_db;
    if via == Via::AuthDb && !db.is_set() {
        bail!(
            "game_server.kind = \"{kind}\" writes accounts into the auth database: set \
             game_server.auth_db.url (GAMEGATE_GAME_SERVER__AUTH_DB__URL_FILE)"
        );
    }
    if db.is_set() {
        if db.pool_size == 0 || db.call_timeout_ms == 0 || db.acquire_timeout_ms == 0 {
            bail!(
                "game_server.auth_db.pool_size, acquire_timeout_ms and call_timeout_ms must be \
                 above 0"
            );
        }
        gamegate_wowcore::AuthDb::settings_check(&db.settings())
            .map_err(|e| anyhow::anyhow!("game_server.auth_db.url: {e}"))?;
    }
    if via == Via::Soap {
        let soap = &game.soap;
        if soap.user.trim().is_empty() || soap.password.expose_secret().is_empty() {
            bail!(
                "game_server.kind = \"{kind}\" needs game_server.soap.user and \
                 game_server.soap.password: a game-master account of level 3 for SOAP"
            );
        }
        if soap.connect_timeout_ms == 0 || soap.call_timeout_ms == 0 || soap.max_in_flight == 0 {
            bail!(
                "game_server.soap.connect_timeout_ms, call_timeout_ms and max_in_flight must be \
                 above 0"
            );
        }
        let url = url::Url::parse(&soap.url)
            .with_context(|| format!("game_server.soap.url {:?} is not a URL", soap.url))?;
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            bail!(
                "game_server.soap.url must be http://HOST:PORT/ without user information \
                 (the worldserver's SOAP is plain HTTP; credentials go in game_server.soap.user \
                 and password)"
            );
        }
    }
    core.merged_rules(via, &game.rules)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .map(drop)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::super::Config;

    fn load(toml: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::from_toml_str(toml, env).map(|(c, _)| c)
    }

    #[test]
    fn db_kinds_need_an_auth_database_and_merge_the_cores_rules() {
        let err = load("[game_server]\nkind = \"azerothcore-db\"\n", &[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("game_server.auth_db.url"),
            "{err:#}"
        );

        let mut secret = tempfile::NamedTempFile::new().unwrap();
        writeln!(
            secret,
            "mysql://gamegate:Sup3rSecret@10.0.0.5:3306/acore_auth"
        )
        .unwrap();
        let path = secret.path().to_str().unwrap();
        let config = load(
            "[game_server]\nkind = \"trinitycore-db\"\n[game_server.rules]\npassword_max_chars = 12\n",
            &[("GAMEGATE_GAME_SERVER__AUTH_DB__URL_FILE", path)],
        )
        .unwrap();
        assert!(!format!("{config:?}").contains("Sup3rSecret"));
        assert_eq!(
            config.game_server_target(),
            "mysql://10.0.0.5:3306/acore_auth"
        );
        let rules = config.game_server.account_rules();
        assert_eq!(
            rules.login_max_chars,
            Some(16),
            "TrinityCore's MAX_ACCOUNT_STR"
        );
        assert_eq!(
            rules.password_max_chars,
            Some(12),
            "the operator's is stricter"
        );
        assert_eq!(rules.case_folding, gamegate_domain::CaseFolding::Ascii);
        let merged = config.rules().unwrap();
        assert_eq!(merged.password_max_chars, 12);
        assert!(merged.check_password_charset("p@ss!Word"));
        assert!(!merged.check_password_charset("pass word"));
        assert!(!config.runs_embedded_mock(), "no mock for a real core");
        assert_eq!(config.game_server.connections(), 16);

        let err = load(
            "[game_server]\nkind = \"azerothcore-db\"\n[game_server.auth_db]\nurl = \"postgres://x@h/db\"\n",
            &[],
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("mysql://"), "{err:#}");
        let err = load(
            "[game_server]\nkind = \"azerothcore-db\"\n[game_server.auth_db]\nurl = \"mysql://h/a\"\n[game_server.rules]\nlogin_charset = \"а-я\"\n",
            &[],
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("shares no character"),
            "{err:#}"
        );
    }

    #[test]
    fn soap_kinds_need_a_game_master_and_a_plain_http_url() {
        let err = load("[game_server]\nkind = \"azerothcore-soap\"\n", &[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("game_server.soap.user"),
            "{err:#}"
        );
        let base = "[game_server]\nkind = \"azerothcore-soap\"\n[game_server.soap]\nuser = \"GAMEGATE\"\npassword = \"pw-9x\"\n";
        let config = load(base, &[]).unwrap();
        assert_eq!(config.game_server_target(), "http://127.0.0.1:7878/");
        assert_eq!(config.game_server.account_rules().login_max_chars, Some(17));
        assert_eq!(
            config.game_server.call_timeout_key(),
            ("game_server.soap.call_timeout_ms", 5_000)
        );
        let err = load(
            &format!("{base}url = \"http://u:p@127.0.0.1:7878/\"\n"),
            &[],
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("without user information"),
            "{err:#}"
        );
        let err = load(&format!("{base}call_timeout_ms = 40000\n"), &[]).unwrap_err();
        assert!(
            format!("{err:#}").contains("must exceed game_server.soap.call_timeout_ms (40000)"),
            "{err:#}"
        );
    }
}

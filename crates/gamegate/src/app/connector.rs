//! The connector `game_server.kind` names, built once at start and shared by
//! the registration saga, the reconciler, the status cache, `doctor` and
//! `gamegate gameserver check`; and the one probe a registering process makes
//! at start.

use std::sync::Arc;

use anyhow::Context;
use gamegate_gameserver::{FailureKind, GameServer, HttpGameServer, TcpGameServer};
use gamegate_wowcore::{AuthDb, AuthDbGameServer, SoapGameServer, Via};

use crate::config::{Config, ConnectorKind};

/// Builds the connector for `config.game_server.kind`: v1 talks to `addr`
/// (`game_server.addr`, or the embedded mock's bound address), http to
/// `game_server.http.url` (`addr` unused). Performs no network I/O:
/// connectors connect lazily, each call bounded by
/// `game_server.call_timeout_ms`.
///
/// # Errors
/// A connector whose own settings cannot be used (an unreadable CA file, a
/// malformed URL), with a message naming the setting.
pub fn build(config: &Config, addr: String) -> anyhow::Result<Arc<dyn GameServer>> {
    Ok(match config.game_server.kind {
        ConnectorKind::V1 => Arc::new(TcpGameServer::new(config.game_server_client(addr)?)),
        ConnectorKind::Http => Arc::new(
            HttpGameServer::new(config.game_server_http_client()?).context("game_server.http")?,
        ),
        ConnectorKind::AzerothcoreDb
        | ConnectorKind::TrinitycoreDb
        | ConnectorKind::AzerothcoreSoap
        | ConnectorKind::TrinitycoreSoap => wow(config)?,
    })
}

/// The AzerothCore/TrinityCore connectors (`[game_server.auth_db]`,
/// `[game_server.soap]`); `addr` plays no part.
fn wow(config: &Config) -> anyhow::Result<Arc<dyn GameServer>> {
    let game = &config.game_server;
    let Some((core, via)) = game.kind.wow() else {
        anyhow::bail!(
            "{} is not an AzerothCore/TrinityCore connector",
            game.kind.name()
        );
    };
    Ok(match via {
        Via::AuthDb => Arc::new(
            AuthDbGameServer::new(core, &game.auth_db.settings(), &game.rules)
                .map_err(anyhow::Error::msg)?,
        ),
        Via::Soap => {
            let auth_db = if game.auth_db.is_set() {
                Some(
                    AuthDb::connect_lazy(&game.auth_db.settings())
                        .map_err(|e| anyhow::anyhow!("game_server.auth_db: {e}"))?,
                )
            } else {
                None
            };
            Arc::new(
                SoapGameServer::new(core, game.soap.settings(), auth_db, &game.rules)
                    .map_err(anyhow::Error::msg)?,
            )
        }
    })
}

/// What the start-up probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The game server answered (connection, TLS, auth and version fine).
    Answered,
    /// It could not be asked (down, refusing, our token refused, …): the
    /// process starts anyway and connects lazily, as calls need it.
    Unanswered(String),
}

/// One bounded probe of the game server at start (`all`, `serve register`):
/// connect, TLS, `auth` and a `ping`, within the connector's own timeouts
/// (`connect_timeout_ms` for the connection and for `auth`, the whole within
/// `call_timeout_ms`). The connection stays in the pool.
///
/// # Errors
/// What waiting will not fix, so the process must not start: the server
/// announces a protocol version this gamegate does not speak, or TLS cannot
/// be established (a certificate from another CA, another pin, a
/// plain-text server). The message says what happened and what to change.
pub async fn probe(game: &dyn GameServer) -> anyhow::Result<Probe> {
    let err = match game.ping().await {
        Ok(()) => return Ok(Probe::Answered),
        // A server that does not announce `ping` still authenticated us.
        Err(e) if e.kind() == FailureKind::Unsupported => return Ok(Probe::Answered),
        Err(e) => e,
    };
    let failure = err.failure();
    let detail = failure.detail();
    let detail = detail.strip_prefix("ping: ").unwrap_or(detail);
    let fix = failure
        .hint()
        .map(|hint| format!("; fix: {hint}"))
        .unwrap_or_default();
    match failure.kind {
        FailureKind::Incompatible => anyhow::bail!("the game server cannot be used: {detail}{fix}"),
        FailureKind::Tls => anyhow::bail!("the game server link cannot be secured: {detail}{fix}"),
        _ => Ok(Probe::Unanswered(format!("{detail}{fix}"))),
    }
}

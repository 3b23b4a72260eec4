//! The connector `game_server.kind` names, built once at start and shared by
//! the registration saga, the reconciler, the status cache, `doctor` and
//! `gamegate gameserver check`.

use std::sync::Arc;

use gamegate_gameserver::{GameServer, TcpGameServer};
use gamegate_wowcore::{AuthDb, AuthDbGameServer, SoapGameServer, Via};

use crate::config::{Config, ConnectorKind};

/// Builds the connector for `config.game_server.kind`, talking to `addr`
/// (`game_server.addr`, or the embedded mock's bound address). Performs no
/// I/O: connectors connect lazily, each call bounded by
/// `game_server.call_timeout_ms`.
///
/// # Errors
/// A connector whose own settings cannot be used (an unreadable CA file, a
/// malformed URL), with a message naming the setting.
pub fn build(config: &Config, addr: String) -> anyhow::Result<Arc<dyn GameServer>> {
    Ok(match config.game_server.kind {
        ConnectorKind::V1 => Arc::new(TcpGameServer::new(config.game_server_client(addr))),
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

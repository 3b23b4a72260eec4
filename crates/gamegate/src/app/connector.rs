//! The connector `game_server.kind` names, built once at start and shared by
//! the registration saga, the reconciler, the status cache, `doctor` and
//! `gamegate gameserver check`.

use std::sync::Arc;

use anyhow::Context;
use gamegate_gameserver::{GameServer, HttpGameServer, TcpGameServer};

use crate::config::{Config, ConnectorKind};

/// Builds the connector for `config.game_server.kind`: v1 talks to `addr`
/// (`game_server.addr`, or the embedded mock's bound address), http to
/// `game_server.http.url` (`addr` unused). Performs no
/// I/O: connectors connect lazily, each call bounded by
/// `game_server.call_timeout_ms`.
///
/// # Errors
/// A connector whose own settings cannot be used (an unreadable CA file, a
/// malformed URL), with a message naming the setting.
pub fn build(config: &Config, addr: String) -> anyhow::Result<Arc<dyn GameServer>> {
    Ok(match config.game_server.kind {
        ConnectorKind::V1 => Arc::new(TcpGameServer::new(config.game_server_client(addr))),
        ConnectorKind::Http => Arc::new(
            HttpGameServer::new(config.game_server_http_client()?).context("game_server.http")?,
        ),
    })
}

//! What the connector checks run against, and the fixes they share.

use std::time::Duration;

use gamegate_domain::RegistrationRules;
use gamegate_gameserver::{CallError, Capabilities, FailureKind, GameServer, ServerCode};

/// The fix for an `exists` that answered false for an account that exists.
pub(super) const FIX_EXISTS_FALSE: &str = "answer true for every account that exists, and `internal` \
    (never false) when the lookup fails: a false makes the reconciler free a login whose account exists";

/// What the checks run against.
pub(super) struct Target<'a> {
    /// The connector `game_server.kind` names.
    pub(super) server: &'a dyn GameServer,
    /// Its declared capabilities.
    pub(super) caps: &'a Capabilities,
    /// The rules validation applies: gamegate's narrowed by the game's.
    pub(super) rules: &'a RegistrationRules,
    /// `game_server.pool_size`.
    pub(super) pool_size: usize,
    /// `game_server.call_timeout_ms`.
    pub(super) call_timeout: Duration,
}

/// The fix for a failed call, by what failed.
pub(super) fn fix_for(e: &CallError) -> &'static str {
    match e.kind() {
        FailureKind::AuthRefused => {
            "set game_server.auth_token (GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE) to the game server's token"
        }
        FailureKind::Timeout => {
            "answer within game_server.call_timeout_ms: check the server's load and logs"
        }
        FailureKind::Connection => {
            "check that the server runs on game_server.addr and keeps connections open"
        }
        FailureKind::Protocol => {
            "answer every request with one reply line carrying its id and the fields \
             docs/GAME_SERVER.md lists for the command"
        }
        FailureKind::Server(ServerCode::Internal) => {
            "the server answered `internal`: see its logs (its storage)"
        }
        _ => "answer the command as docs/GAME_SERVER.md describes it",
    }
}

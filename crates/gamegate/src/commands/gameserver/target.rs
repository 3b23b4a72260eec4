//! What the connector checks run against, the fixes they share, and the
//! two steps that keep the kit off accounts it did not create: a fresh
//! login (`exists` answered false for it) and a delete confirmed by `exists`.

use std::time::Duration;

use gamegate_domain::RegistrationRules;
use gamegate_gameserver::{
    CallError, Capabilities, ExistsSupport, FailureKind, GameServer, ServerCode,
};

use super::logins::{self, FRESH_TRIES};
use super::report::{Check, CheckId};

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

impl Target<'_> {
    /// Whether the connector declares an exact `exists`.
    pub(super) fn exact_exists(&self) -> bool {
        self.caps.operations.exists == ExistsSupport::Exact
    }
}

/// Why no fresh login could be had.
#[derive(Debug)]
pub(super) enum NoFresh {
    /// The rules admit no login the kit can draw.
    NoLogin,
    /// `exists` answered true for every one of this many logins drawn.
    AllTaken(usize),
    /// `exists` failed.
    Call(CallError),
}

impl NoFresh {
    /// The check `id` that could not run for this reason: a failed `exists`
    /// fails it, anything else leaves it not run (–).
    pub(super) fn check(&self, id: CheckId, rules: &RegistrationRules) -> Check {
        match self {
            NoFresh::NoLogin => Check::not_applicable(
                id,
                format!(
                    "not run: no throw-away login satisfies the rules ({})",
                    rules.login_rule_text()
                ),
            ),
            NoFresh::AllTaken(n) => Check::not_applicable(
                id,
                format!(
                    "not run: exists answered true for every one of the {n} throw-away logins \
                     drawn (the rules admit few logins: {}); the kit never uses an account it \
                     did not create",
                    rules.login_rule_text()
                ),
            ),
            NoFresh::Call(e) => Check::fail(
                id,
                format!("exists of a throw-away login, asked before using it: {e}"),
                fix_for(e),
            ),
        }
    }
}

/// A throw-away login of `len` characters nobody has: drawn until `exists`
/// answers false for one (at most [`FRESH_TRIES`]). Without an exact
/// `exists`, the first drawn (the callers then treat a `login_taken` for a
/// login that may be a player's as not run, never as the server's fault).
pub(super) async fn fresh_login(target: &Target<'_>, len: usize) -> Result<String, NoFresh> {
    if !target.exact_exists() {
        return logins::login(target.rules, len).ok_or(NoFresh::NoLogin);
    }
    for _ in 0..FRESH_TRIES {
        let login = logins::login(target.rules, len).ok_or(NoFresh::NoLogin)?;
        match target.server.exists(&login).await {
            Ok(false) => return Ok(login),
            Ok(true) => {}
            Err(e) => return Err(NoFresh::Call(e)),
        }
    }
    Err(NoFresh::AllTaken(FRESH_TRIES))
}

/// Deletes `login` (one the kit created) and, with an exact `exists`, asks
/// whether it is gone: `Ok(true)` when it certainly is (or cannot be asked),
/// `Ok(false)` when `exists` still answers true after `delete` answered ok.
pub(super) async fn delete_confirmed(target: &Target<'_>, login: &str) -> Result<bool, CallError> {
    target.server.delete(login).await?;
    if !target.exact_exists() {
        return Ok(true);
    }
    target.server.exists(login).await.map(|exists| !exists)
}

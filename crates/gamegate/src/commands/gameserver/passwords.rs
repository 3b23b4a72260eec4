//! The `set_password` checks through the connector: on the kit's own
//! account it answers ok and the account stays; on a login that does not
//! exist it answers the protocol's `not_found` and creates nothing.
//!
//! Protocol v1 (and the HTTP connector's API) has no command to log in
//! with, so the kit cannot see which password the server now accepts: what
//! it checks is what the protocol shows. docs/GAME_SERVER.md says so.

use gamegate_gameserver::{CallError, FailureKind, ServerCode};

use super::logins::{self, Throwaways};
use super::report::{Check, CheckId};
use super::target::{Target, fix_for, fresh_login};

/// The fix for a `set_password` that answers ok for a login nobody has.
const FIX_NOT_FOUND: &str = "answer `not_found` (HTTP: 404 `not_found`) when no account has the \
    login, and change nothing: gamegate tells the operator the account is gone from the game";

/// The check of a `set_password` that failed for another reason than the
/// one the check is about: not applicable when the server does not announce
/// the command (nothing was sent), failed otherwise.
fn other_failure(id: CheckId, what: String, e: &CallError) -> Check {
    match e.kind() {
        FailureKind::Unsupported => Check::not_applicable(id, e.to_string()),
        _ => Check::fail(id, format!("{what}: {e}"), fix_for(e)),
    }
}

/// `set_password`: a new password for `login` (the kit's own, registered by
/// `register`) answers ok, and, when `ask_exists`, `exists` still answers
/// true for it.
pub(super) async fn set_password(target: &Target<'_>, login: &str, ask_exists: bool) -> Check {
    let id = CheckId::SetPassword;
    let Some(password) = logins::password(target.rules, 12) else {
        return Check::not_applicable(id, "no password satisfies the rules");
    };
    match target.server.set_password(login, &password).await {
        Ok(()) => {}
        Err(e) if e.kind() == FailureKind::Server(ServerCode::NotFound) => {
            return Check::fail(
                id,
                format!("set_password of {login}, which register created, answered not_found"),
                "find the account as exists does (case-insensitively) and change its password",
            );
        }
        Err(e) => return other_failure(id, format!("set_password of {login}"), &e),
    }
    if !ask_exists {
        return Check::pass(
            id,
            format!(
                "set_password of {login} answers ok (no exact exists to verify the account stays)"
            ),
        );
    }
    match target.server.exists(login).await {
        Ok(true) => Check::pass(
            id,
            format!("set_password of {login} answers ok, and exists still answers true"),
        ),
        Ok(false) => Check::fail(
            id,
            format!("after set_password of {login} answered ok, exists answered false"),
            "change the password in place: keep the account, its login and its id",
        ),
        Err(e) => Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
    }
}

/// `set_password_missing`: `set_password` of a login that does not exist
/// answers `not_found`, and (with an exact `exists`) creates no account.
/// The login is `deleted` (one the kit created and deleted), or a fresh
/// one `exists` just answered false for: never a player's. It is tracked
/// while it may exist, so the cleanup deletes an account it created.
pub(super) async fn set_password_missing(
    target: &Target<'_>,
    made: &mut Throwaways,
    deleted: Option<&str>,
) -> Check {
    let id = CheckId::SetPasswordMissing;
    let login = match deleted {
        Some(login) => login.to_owned(),
        None if target.exact_exists() => match fresh_login(target, 16).await {
            Ok(login) => login,
            Err(e) => return e.check(id, target.rules),
        },
        None => {
            return Check::not_applicable(
                id,
                "not run: no login the kit deleted itself, and no exact exists to confirm one \
                 absent: the kit changes no password of a login it cannot show is nobody's",
            );
        }
    };
    let Some(password) = logins::password(target.rules, 12) else {
        return Check::not_applicable(id, "no password satisfies the rules");
    };
    made.track(&login);
    let answer = target.server.set_password(&login, &password).await;
    let not_found = match &answer {
        Ok(()) => false,
        Err(e) if e.kind() == FailureKind::Server(ServerCode::NotFound) => true,
        Err(e) => {
            if matches!(e, CallError::Unavailable(_)) {
                made.untrack(&login);
            }
            let what = format!("set_password of {login}, which does not exist");
            return other_failure(id, what, e);
        }
    };
    let created = match target.exact_exists() {
        true => match target.server.exists(&login).await {
            Ok(created) => created,
            Err(e) => return Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
        },
        false => false,
    };
    if !created && (not_found || target.exact_exists()) {
        made.untrack(&login);
    }
    match (not_found, created) {
        (true, false) => Check::pass(
            id,
            format!("set_password of {login}, which does not exist, answers not_found"),
        ),
        (_, true) => Check::fail(
            id,
            format!("set_password of {login}, which did not exist, created the account"),
            FIX_NOT_FOUND,
        ),
        (false, false) => Check::fail(
            id,
            format!("set_password of {login}, which does not exist, answered ok"),
            FIX_NOT_FOUND,
        ),
    }
}

//! The round trip through the connector with throw-away logins: register,
//! exists (after create, for unknown logins, under concurrent calls, after
//! delete), duplicates and case folding, the longest login and password,
//! and the cleanup.
//!
//! Every login registered, asked about as unknown or deleted is either one
//! `exists` just answered false for ([`fresh_login`]) or one the kit
//! created: the kit never registers over, or deletes, a player's account.

use futures_util::future::join_all;
use gamegate_gameserver::{CallError, RegisterError};

use super::logins::{self, FRESH_TRIES, Throwaways};
use super::report::{Check, CheckId};
use super::target::{FIX_EXISTS_FALSE, Target, delete_confirmed, fix_for, fresh_login};

/// The check for a `login_taken` of a login that may be a player's (short
/// rules, no exact `exists` to pick a free one): not run, never a fault.
fn taken_by_someone(id: CheckId, login: &str) -> Check {
    Check::not_applicable(
        id,
        format!(
            "not run: {login} exists already (the rules admit few logins and the connector has \
             no exact exists to pick a free one); the kit leaves it alone"
        ),
    )
}

/// `register`: a fresh throw-away login (tracked before it is sent)
/// answers an account id.
pub(super) async fn register(
    target: &Target<'_>,
    made: &mut Throwaways,
    login: Option<&str>,
) -> Check {
    let id = CheckId::Register;
    let password = logins::password(target.rules, 12);
    let (Some(login), Some(password)) = (login, password) else {
        return Check::fail(
            id,
            format!(
                "no throw-away login and password satisfy the rules ({}; passwords {} to {} chars)",
                target.rules.login_rule_text(),
                target.rules.password_min_chars,
                target.rules.password_max_chars
            ),
            "admit ASCII letters or digits in registration.login_charset and [game_server.rules]",
        );
    };
    made.track(login);
    match target.server.register(login, &password, 0).await {
        Ok(account) => Check::pass(
            id,
            format!("register of the throw-away {login} answered account id {account}"),
        ),
        Err(RegisterError::LoginTaken) => {
            made.untrack(login);
            if !target.exact_exists() && !logins::unlikely_taken(login) {
                return taken_by_someone(id, login);
            }
            Check::fail(
                id,
                format!("register of {login}, a random login nobody has, answered login_taken"),
                "answer login_taken only when an account with that login exists",
            )
        }
        Err(RegisterError::Call(e)) => {
            if matches!(e, CallError::Unavailable(_)) {
                made.untrack(login);
            }
            Check::fail(id, format!("register of {login}: {e}"), fix_for(&e))
        }
    }
}

/// `exists_after_create`: `exists` of the login just registered is true.
pub(super) async fn exists_after_create(target: &Target<'_>, login: &str) -> Check {
    let id = CheckId::ExistsAfterCreate;
    match target.server.exists(login).await {
        Ok(true) => Check::pass(id, format!("exists answers true for {login}, just created")),
        Ok(false) => Check::fail(
            id,
            format!("exists answered false for {login}, which register created a moment ago"),
            FIX_EXISTS_FALSE,
        ),
        Err(e) => Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
    }
}

/// `duplicate`: a second `register` of the login answers `login_taken`.
pub(super) async fn duplicate(target: &Target<'_>, login: &str) -> Check {
    let id = CheckId::Duplicate;
    let password = logins::password(target.rules, 12).unwrap_or_default();
    match target.server.register(login, &password, 1).await {
        Err(RegisterError::LoginTaken) => Check::pass(
            id,
            format!("a second register of {login} answers login_taken"),
        ),
        Ok(account) => Check::fail(
            id,
            format!(
                "a second register of {login} answered ok (account id {account}): two accounts, one login"
            ),
            "refuse a register whose login exists with login_taken, atomically (two at once must not both succeed)",
        ),
        Err(RegisterError::Call(e)) => Check::fail(
            id,
            format!("a second register of {login}, instead of login_taken: {e}"),
            "answer login_taken when the login exists: gamegate shows the player 409 login_taken, \
             any other error as 503",
        ),
    }
}

/// `case_folding`: the login with its ASCII case swapped is the same account
/// (`login_taken`, and `exists` true when `ask_exists`).
pub(super) async fn case_folding(
    target: &Target<'_>,
    made: &mut Throwaways,
    login: &str,
    variant: &str,
    ask_exists: bool,
) -> Check {
    let id = CheckId::CaseFolding;
    let declared = target.caps.rules.case_folding.name();
    let password = logins::password(target.rules, 12).unwrap_or_default();
    made.track(variant);
    match target.server.register(variant, &password, 0).await {
        Err(RegisterError::LoginTaken) => made.untrack(variant),
        Ok(account) => {
            return Check::fail(
                id,
                format!(
                    "register of {variant} ({login} with its case changed) created a second \
                     account (id {account}): the server compares logins case-sensitively \
                     (declared case_folding = \"{declared}\")"
                ),
                "compare logins case-insensitively (protocol v1: Unicode case folding of the NFC \
                 form); a game that cannot must declare case_folding = \"sensitive\" in \
                 [game_server.rules]",
            );
        }
        Err(RegisterError::Call(e)) => {
            if matches!(e, CallError::Unavailable(_)) {
                made.untrack(variant);
            }
            return Check::fail(
                id,
                format!("register of {variant} ({login} with its case changed): {e}"),
                fix_for(&e),
            );
        }
    }
    if !ask_exists {
        return Check::pass(
            id,
            format!("register of {variant} answers login_taken: one account with {login}"),
        );
    }
    match target.server.exists(variant).await {
        Ok(true) => Check::pass(
            id,
            format!(
                "{variant} is the account {login} (case_folding = \"{declared}\"): register \
                 answers login_taken, exists true"
            ),
        ),
        Ok(false) => Check::fail(
            id,
            format!(
                "register of {variant} answers login_taken, but exists of {variant} answered false"
            ),
            "compare logins in exists exactly as in register (case-insensitively)",
        ),
        Err(e) => Check::fail(id, format!("exists of {variant}: {e}"), fix_for(&e)),
    }
}

/// `exists_unknown`: `exists` of a login never created is false. A true
/// for a login that may be a player's (short rules) is no fault: another
/// is drawn, at most [`FRESH_TRIES`].
pub(super) async fn exists_unknown(target: &Target<'_>) -> Check {
    let id = CheckId::ExistsUnknown;
    for _ in 0..FRESH_TRIES {
        let Some(login) = logins::regular_login(target.rules) else {
            return Check::not_applicable(id, "no login satisfies the rules");
        };
        match target.server.exists(&login).await {
            Ok(false) => {
                return Check::pass(
                    id,
                    format!("exists answers false for {login}, never created"),
                );
            }
            Ok(true) if !logins::unlikely_taken(&login) => {}
            Ok(true) => {
                return Check::fail(
                    id,
                    format!("exists answered true for {login}, which was never created"),
                    "answer true only for accounts that exist: a true keeps a login reserved for \
                     a phantom",
                );
            }
            Err(e) => return Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
        }
    }
    Check::not_applicable(
        id,
        format!(
            "not run: exists answered true for every one of the {FRESH_TRIES} logins drawn, and \
             under these rules ({}) each may be a player's: none is certainly unknown",
            target.rules.login_rule_text()
        ),
    )
}

/// `exists_under_load`: concurrent `exists` for the login and an unknown one
/// (a fresh login; none under rules that leave none free) all answer exactly.
pub(super) async fn exists_under_load(target: &Target<'_>, login: &str) -> Check {
    let id = CheckId::ExistsUnderLoad;
    let unknown = fresh_login(target, 16).await.ok();
    let calls = (target.pool_size * 4).clamp(16, 64);
    let answers = join_all((0..calls).map(|n| {
        let (ask, want) = match (n % 2, &unknown) {
            (1, Some(unknown)) => (unknown.as_str(), false),
            _ => (login, true),
        };
        async move { (want, target.server.exists(ask).await) }
    }))
    .await;
    let (mut false_for_existing, mut true_for_unknown, mut errors) = (0, 0, Vec::new());
    for (want, got) in answers {
        match got {
            Ok(got) if got == want => {}
            Ok(_) if want => false_for_existing += 1,
            Ok(_) => true_for_unknown += 1,
            Err(e) => errors.push(e),
        }
    }
    let unknown = unknown.unwrap_or_default();
    let half = calls / 2;
    if false_for_existing + true_for_unknown > 0 {
        let mut wrong = Vec::new();
        if false_for_existing > 0 {
            wrong.push(format!(
                "false for {login} (which exists) {false_for_existing} of {half} times"
            ));
        }
        if true_for_unknown > 0 {
            wrong.push(format!(
                "true for {unknown} (never created) {true_for_unknown} of {half} times"
            ));
        }
        return Check::fail(
            id,
            format!(
                "{calls} exists at once over up to {} connections: {}",
                target.pool_size,
                wrong.join(", ")
            ),
            FIX_EXISTS_FALSE,
        );
    }
    if let Some(first) = errors.first() {
        return Check::fail(
            id,
            format!(
                "{} of {calls} exists at once failed (first: {first})",
                errors.len()
            ),
            "serve game_server.pool_size connections at once: raise the server's limits, or lower \
             pool_size",
        );
    }
    Check::pass(
        id,
        format!(
            "{calls} exists at once over up to {} connections: all exact",
            target.pool_size
        ),
    )
}

/// `exists_after_delete`: `delete` answers ok, then `exists` is false.
pub(super) async fn exists_after_delete(
    target: &Target<'_>,
    made: &mut Throwaways,
    login: &str,
) -> Check {
    let id = CheckId::ExistsAfterDelete;
    match delete_confirmed(target, login).await {
        Ok(true) if !target.exact_exists() => {
            made.untrack(login);
            Check::pass(
                id,
                format!("delete of {login} answers ok (no exact exists to verify it)"),
            )
        }
        Ok(true) => {
            made.untrack(login);
            Check::pass(
                id,
                format!("after delete, exists answers false for {login}"),
            )
        }
        Ok(false) => Check::fail(
            id,
            format!("exists still answers true for {login} after delete answered ok"),
            "remove the account before answering delete with ok",
        ),
        Err(e) => Check::fail(
            id,
            format!("delete, then exists, of {login}: {e}"),
            fix_for(&e),
        ),
    }
}

/// `delete_missing`: `delete` of a login that does not exist answers ok.
/// The login is `deleted` (one the kit created and already deleted), or a
/// fresh one `exists` just answered false for: never a player's.
pub(super) async fn delete_missing(target: &Target<'_>, deleted: Option<&str>) -> Check {
    let id = CheckId::DeleteMissing;
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
                 absent: the kit deletes no login it cannot show is nobody's",
            );
        }
    };
    match target.server.delete(&login).await {
        Ok(()) => Check::pass(
            id,
            format!("delete of {login}, which does not exist, answers ok"),
        ),
        Err(e) => Check::fail(
            id,
            format!("delete of {login}, which does not exist: {e}"),
            "answer ok when the login does not exist: gamegate deletes to undo, and an undo must \
             be repeatable",
        ),
    }
}

/// `account_rules`: the longest login and password validation admits are
/// accepted (and found, when `ask_exists`).
pub(super) async fn account_rules(
    target: &Target<'_>,
    made: &mut Throwaways,
    ask_exists: bool,
) -> Check {
    let id = CheckId::AccountRules;
    let rules = target.rules;
    let fix = "accept every login and password validation admits, or declare the game's limits in \
               [game_server.rules] (login_max_chars, password_max_chars, password_charset) so \
               gamegate refuses them with a 422 first";
    let login = match fresh_login(target, rules.login_max_chars).await {
        Ok(login) => login,
        Err(e) => return e.check(id, rules),
    };
    let Some(password) = logins::password(rules, rules.password_max_chars) else {
        return Check::not_applicable(id, "no longest login and password satisfy the rules");
    };
    let what = format!(
        "a login of {} characters ({login}) and a password of {} characters with {} (the \
         longest validation admits)",
        login.chars().count(),
        password.chars().count(),
        logins::password_traits(&password)
    );
    made.track(&login);
    match target.server.register(&login, &password, 1).await {
        Ok(_) => {}
        Err(RegisterError::LoginTaken) => {
            made.untrack(&login);
            if !target.exact_exists() && !logins::unlikely_taken(&login) {
                return taken_by_someone(id, &login);
            }
            return Check::fail(id, format!("{what}: register answered login_taken"), fix);
        }
        Err(RegisterError::Call(e)) => {
            if matches!(e, CallError::Unavailable(_)) {
                made.untrack(&login);
            }
            return Check::fail(id, format!("{what}: register failed: {e}"), fix);
        }
    }
    if ask_exists {
        match target.server.exists(&login).await {
            Ok(true) => {}
            Ok(false) => {
                return Check::fail(
                    id,
                    format!("{what}: registered, but exists answered false for it"),
                    "store the login whole (no truncation) and compare it in exists as in register",
                );
            }
            Err(e) => return Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
        }
    }
    if target.caps.operations.delete && matches!(delete_confirmed(target, &login).await, Ok(true)) {
        made.untrack(&login);
    }
    Check::pass(id, format!("{what}: accepted"))
}

/// `cleanup`: deletes every throw-away account that may still exist and,
/// with an exact `exists`, asks after each delete whether it is gone: what
/// is still there stays in `made` (the report's `left_accounts`).
pub(super) async fn cleanup(target: &Target<'_>, made: &mut Throwaways) -> Check {
    let id = CheckId::Cleanup;
    let left = made.logins();
    if left.is_empty() {
        return Check::pass(id, "nothing left to delete");
    }
    let (mut kept, mut failures) = (Vec::new(), Vec::new());
    for login in &left {
        match delete_confirmed(target, login).await {
            Ok(true) => made.untrack(login),
            Ok(false) => kept.push(login.as_str()),
            Err(e) => failures.push(format!("{login} ({e})")),
        }
    }
    let verified = match target.exact_exists() {
        true => ", exists answers false for each",
        false => " (no exact exists to verify it)",
    };
    if kept.is_empty() && failures.is_empty() {
        return Check::pass(
            id,
            format!(
                "deleted the throw-away account(s) {}{verified}",
                left.join(", ")
            ),
        );
    }
    let mut problems = Vec::new();
    if !kept.is_empty() {
        problems.push(format!(
            "{} still exist(s): exists answers true after delete answered ok",
            kept.join(", ")
        ));
    }
    if !failures.is_empty() {
        problems.push(format!("could not delete {}", failures.join(", ")));
    }
    Check::fail(
        id,
        problems.join("; "),
        "delete these accounts on the game server by hand, and make delete remove the account \
         before it answers ok",
    )
}

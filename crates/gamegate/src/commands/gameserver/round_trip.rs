//! The round trip through the connector with throw-away logins: register,
//! exists (after create, for unknown logins, under concurrent calls, after
//! delete), duplicates and case folding, the longest login and password,
//! and the cleanup.

use futures_util::future::join_all;
use gamegate_gameserver::{CallError, ExistsSupport, RegisterError};

use super::logins::{self, Throwaways};
use super::report::{Check, CheckId};
use super::target::{FIX_EXISTS_FALSE, Target, fix_for};

/// `register`: a throw-away login (tracked before it is sent) answers an account id.
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

/// `exists_unknown`: `exists` of a login never created is false.
pub(super) async fn exists_unknown(target: &Target<'_>) -> Check {
    let id = CheckId::ExistsUnknown;
    let Some(login) = logins::regular_login(target.rules) else {
        return Check::not_applicable(id, "no login satisfies the rules");
    };
    match target.server.exists(&login).await {
        Ok(false) => Check::pass(
            id,
            format!("exists answers false for {login}, never created"),
        ),
        Ok(true) => Check::fail(
            id,
            format!("exists answered true for {login}, which was never created"),
            "answer true only for accounts that exist: a true keeps a login reserved for a phantom",
        ),
        Err(e) => Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
    }
}

/// `exists_under_load`: concurrent `exists` for the login and an unknown one
/// all answer exactly.
pub(super) async fn exists_under_load(target: &Target<'_>, login: &str) -> Check {
    let id = CheckId::ExistsUnderLoad;
    let unknown = logins::regular_login(target.rules).unwrap_or_default();
    let calls = (target.pool_size * 4).clamp(16, 64);
    let answers = join_all((0..calls).map(|n| {
        let (ask, want) = match n % 2 {
            0 => (login, true),
            _ => (unknown.as_str(), false),
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
    if let Err(e) = target.server.delete(login).await {
        return Check::fail(id, format!("delete of {login}: {e}"), fix_for(&e));
    }
    made.untrack(login);
    if target.caps.operations.exists != ExistsSupport::Exact {
        return Check::pass(
            id,
            format!("delete of {login} answers ok (no exact exists to verify it)"),
        );
    }
    match target.server.exists(login).await {
        Ok(false) => Check::pass(
            id,
            format!("after delete, exists answers false for {login}"),
        ),
        Ok(true) => Check::fail(
            id,
            format!("exists still answers true for {login} after delete answered ok"),
            "remove the account before answering delete with ok",
        ),
        Err(e) => Check::fail(id, format!("exists of {login}: {e}"), fix_for(&e)),
    }
}

/// `delete_missing`: `delete` of a login that does not exist answers ok.
pub(super) async fn delete_missing(target: &Target<'_>) -> Check {
    let id = CheckId::DeleteMissing;
    let login = logins::regular_login(target.rules).unwrap_or_default();
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
    let login = logins::login(rules, rules.login_max_chars);
    let password = logins::password(rules, rules.password_max_chars);
    let (Some(login), Some(password)) = (login, password) else {
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
    if target.caps.operations.delete && target.server.delete(&login).await.is_ok() {
        made.untrack(&login);
    }
    Check::pass(id, format!("{what}: accepted"))
}

/// `cleanup`: deletes every throw-away account that may still exist.
pub(super) async fn cleanup(target: &Target<'_>, made: &mut Throwaways) -> Check {
    let id = CheckId::Cleanup;
    let left = made.logins();
    if left.is_empty() {
        return Check::pass(id, "nothing left to delete");
    }
    let mut failures = Vec::new();
    for login in &left {
        match target.server.delete(login).await {
            Ok(()) => made.untrack(login),
            Err(e) => failures.push(format!("{login} ({e})")),
        }
    }
    if failures.is_empty() {
        Check::pass(
            id,
            format!("deleted the throw-away account(s) {}", left.join(", ")),
        )
    } else {
        Check::fail(
            id,
            format!("could not delete {}", failures.join(", ")),
            "delete these accounts on the game server by hand, and see why delete fails",
        )
    }
}

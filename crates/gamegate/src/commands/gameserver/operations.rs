//! The checks through the connector (the `GameServer` trait), so they hold
//! for every `game_server.kind`, in order: `ping` and `online`, the round
//! trip of [`super::round_trip`] with the password changes of
//! [`super::passwords`], answer times, and the cleanup. An
//! operation the connector does not declare, or the server does not announce
//! in its `auth` reply, is not applicable; a check that needs an earlier one
//! that failed says so, with that check's own reason.

use std::time::{Duration, Instant};

use gamegate_gameserver::{CallError, CaseFolding, ExistsSupport, FailureKind};

use super::logins::{self, Throwaways};
use super::passwords::{set_password, set_password_missing};
use super::report::{Check, CheckId};
use super::round_trip::{
    account_rules, case_folding, cleanup, delete_missing, duplicate, exists_after_create,
    exists_after_delete, exists_under_load, exists_unknown, register,
};
use super::runner::Runner;
use super::target::{Target, fix_for, fresh_login};

/// The checks of this module, in run order (the cleanup last): the rest of
/// [`CheckId::ALL`] after the wire checks.
pub(super) const IDS: &[CheckId] = CheckId::ALL
    .as_slice()
    .split_at(super::wire_checks::WIRE_CHECKS)
    .1;

/// Calls `answer_times` makes per operation it measures.
const SAMPLES: usize = 10;

/// Runs the connector checks, the cleanup last; answers the throw-away
/// accounts left on the server. With `blocked`, only the cleanup runs
/// (nothing was created) and every other check says why it did not.
pub(super) async fn run(
    runner: &mut Runner,
    target: &Target<'_>,
    blocked: Option<String>,
) -> Vec<String> {
    let mut made = Throwaways::default();
    let ops = target.caps.operations;
    let skip_all = |runner: &mut Runner, from: CheckId, reason: &str| {
        for id in IDS.iter().skip_while(|&&c| c != from) {
            if *id != CheckId::Cleanup {
                runner.skip(*id, reason);
            }
        }
    };
    if let Some(reason) = blocked {
        skip_all(runner, CheckId::Ping, &reason);
    } else {
        checks(runner, target, &mut made, skip_all).await;
    }
    if ops.delete || made.logins().is_empty() {
        runner
            .run_cleanup(CheckId::Cleanup, cleanup(target, &mut made))
            .await;
    } else {
        runner.not_applicable(
            CheckId::Cleanup,
            &format!(
                "the connector declares no delete: {} left on the server; delete them by hand",
                made.logins().join(", ")
            ),
        );
    }
    made.logins()
}

/// Every connector check but the cleanup, in order; `skip_all` records the
/// rest as not run when `ping` shows the server cannot be reached.
async fn checks(
    runner: &mut Runner,
    target: &Target<'_>,
    made: &mut Throwaways,
    skip_all: impl Fn(&mut Runner, CheckId, &str),
) {
    let ops = target.caps.operations;
    let exact = ops.exists == ExistsSupport::Exact;
    let no_exists = "the connector declares no exact `exists`: the reconciler leaves lost answers \
                     pending for the operator";
    let no_delete = "the connector declares no `delete`";
    let no_set_password = "the connector declares no `set_password`";
    if !ops.ping {
        runner.not_applicable(CheckId::Ping, "the connector declares no `ping`");
    } else if !runner.run(CheckId::Ping, ping(target)).await && runner.last_failed() {
        let reason = runner.failure_of_last();
        skip_all(runner, CheckId::Online, &reason);
        return;
    }
    if ops.online {
        runner.run(CheckId::Online, online(target)).await;
    } else {
        runner.not_applicable(CheckId::Online, "the connector declares no `online`");
    }
    let login = match fresh_login(target, 16).await {
        Ok(login) => {
            let check = register(target, made, Some(&login));
            runner.run(CheckId::Register, check).await.then_some(login)
        }
        Err(e) => {
            let check = e.check(CheckId::Register, target.rules);
            runner.run(CheckId::Register, async { check }).await;
            None
        }
    };
    let after_register = &runner.failure_of_last();
    // Whether `exists` answered right once: the later checks ask it only then,
    // so one wrong `exists` is reported once, not as a fault of each.
    let exists_trusted = match (&login, exact) {
        (Some(l), true) => {
            let check = exists_after_create(target, l);
            runner.run(CheckId::ExistsAfterCreate, check).await
        }
        (Some(_), false) => {
            runner.not_applicable(CheckId::ExistsAfterCreate, no_exists);
            false
        }
        (None, _) => {
            runner.skip(CheckId::ExistsAfterCreate, after_register);
            false
        }
    };
    match &login {
        Some(l) => {
            runner.run(CheckId::Duplicate, duplicate(target, l)).await;
        }
        None => runner.skip(CheckId::Duplicate, after_register),
    }
    match (&login, target.caps.rules.case_folding) {
        (_, CaseFolding::Sensitive) => runner.not_applicable(
            CheckId::CaseFolding,
            "declared case_folding = \"sensitive\": gamegate never sends two logins that differ \
             only in case",
        ),
        (Some(l), _) => match logins::case_changed(target.rules, l) {
            Some(variant) => {
                let check = case_folding(target, made, l, &variant, exists_trusted);
                runner.run(CheckId::CaseFolding, check).await;
            }
            None => runner.not_applicable(
                CheckId::CaseFolding,
                "the login rules admit no case-changed login: gamegate never sends one",
            ),
        },
        (None, _) => runner.skip(CheckId::CaseFolding, after_register),
    }
    if exact {
        runner
            .run(CheckId::ExistsUnknown, exists_unknown(target))
            .await;
    } else {
        runner.not_applicable(CheckId::ExistsUnknown, no_exists);
    }
    match (&login, exact) {
        (Some(l), true) => {
            runner
                .run(CheckId::ExistsUnderLoad, exists_under_load(target, l))
                .await;
        }
        (Some(_), false) => runner.not_applicable(CheckId::ExistsUnderLoad, no_exists),
        (None, _) => runner.skip(CheckId::ExistsUnderLoad, after_register),
    }
    match (&login, ops.set_password) {
        (_, false) => runner.not_applicable(CheckId::SetPassword, no_set_password),
        (Some(l), true) => {
            let check = set_password(target, l, exists_trusted);
            runner.run(CheckId::SetPassword, check).await;
        }
        (None, true) => runner.skip(CheckId::SetPassword, after_register),
    }
    // A login the kit created and deleted: `delete_missing` deletes it again.
    let deleted = match (&login, ops.delete) {
        (_, false) => {
            runner.not_applicable(CheckId::ExistsAfterDelete, no_delete);
            None
        }
        (Some(l), true) => {
            let check = exists_after_delete(target, made, l);
            let gone = runner.run(CheckId::ExistsAfterDelete, check).await;
            login.as_deref().filter(|_| gone)
        }
        (None, true) => {
            runner.skip(CheckId::ExistsAfterDelete, after_register);
            None
        }
    };
    if ops.delete {
        runner
            .run(CheckId::DeleteMissing, delete_missing(target, deleted))
            .await;
    } else {
        runner.not_applicable(CheckId::DeleteMissing, no_delete);
    }
    if ops.set_password {
        let check = set_password_missing(target, made, deleted);
        runner.run(CheckId::SetPasswordMissing, check).await;
    } else {
        runner.not_applicable(CheckId::SetPasswordMissing, no_set_password);
    }
    if login.is_some() {
        let check = account_rules(target, made, exists_trusted);
        runner.run(CheckId::AccountRules, check).await;
    } else {
        runner.skip(CheckId::AccountRules, after_register);
    }
    if ops.ping || exact {
        runner.run(CheckId::AnswerTimes, answer_times(target)).await;
    } else {
        runner.not_applicable(
            CheckId::AnswerTimes,
            "the connector declares neither `ping` nor `exists` to time",
        );
    }
}

/// The check of a failed call: not applicable when the server does not
/// announce the command (nothing was sent), failed otherwise.
fn call_failed(id: CheckId, e: &CallError) -> Check {
    match e.kind() {
        FailureKind::Unsupported => Check::not_applicable(id, e.to_string()),
        _ => Check::fail(id, e.to_string(), fix_for(e)),
    }
}

async fn ping(target: &Target<'_>) -> Check {
    let id = CheckId::Ping;
    let started = Instant::now();
    match target.server.ping().await {
        Ok(()) => Check::pass(
            id,
            format!("answers ({} ms)", started.elapsed().as_millis()),
        ),
        Err(e) => call_failed(id, &e),
    }
}

async fn online(target: &Target<'_>) -> Check {
    let id = CheckId::Online;
    match target.server.online().await {
        Ok(n) => Check::pass(id, format!("answers {n} player(s) online")),
        Err(e) => call_failed(id, &e),
    }
}

async fn answer_times(target: &Target<'_>) -> Check {
    let id = CheckId::AnswerTimes;
    let ops = target.caps.operations;
    let unknown = logins::regular_login(target.rules).unwrap_or_default();
    let mut timed = Vec::new();
    let mut errors = Vec::new();
    let mut names = Vec::new();
    if ops.ping {
        names.push("ping");
    }
    if ops.exists == ExistsSupport::Exact {
        names.push("exists");
    }
    for name in &names {
        for _ in 0..SAMPLES {
            let started = Instant::now();
            let result = match *name {
                "ping" => target.server.ping().await,
                _ => target.server.exists(&unknown).await.map(drop),
            };
            match result {
                Ok(()) => timed.push(started.elapsed()),
                // Not announced by the server: nothing was sent, nothing to time.
                Err(e) if e.kind() == FailureKind::Unsupported => break,
                Err(e) => errors.push(e),
            }
        }
    }
    if timed.is_empty() && errors.is_empty() {
        return Check::not_applicable(
            id,
            "the server announces neither `ping` nor `exists` to time",
        );
    }
    let calls = timed.len() + errors.len();
    if let Some(first) = errors.first() {
        return Check::fail(
            id,
            format!("{} of {calls} calls failed (first: {first})", errors.len()),
            fix_for(first),
        );
    }
    timed.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let (p50, max) = (timed[timed.len() / 2], timed[timed.len() - 1]);
    let what = format!(
        "p50 {}, max {} over {calls} calls ({})",
        ms(p50),
        ms(max),
        names.join(", ")
    );
    // Past half the timeout, one slow moment more turns answers into lost ones.
    if max > target.call_timeout / 2 {
        return Check::fail(
            id,
            format!(
                "{what}: the slowest took over half of game_server.call_timeout_ms ({} ms)",
                target.call_timeout.as_millis()
            ),
            "answer well within the call timeout: speed the server up, or raise \
             game_server.call_timeout_ms",
        );
    }
    Check::pass(
        id,
        format!(
            "{what}; gamegate gives up after {} ms",
            target.call_timeout.as_millis()
        ),
    )
}

//! The end-of-run checks, pure over what was recorded: the answers, the
//! accounts in the database and on the game server once the reconciler has
//! settled, the fault windows and the RSS samples.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use gamegate_gameserver::StateEntry;
use serde::Serialize;

use crate::load::{Answer, Kind};

/// The only server errors a fault may cause (docs/ERRORS.md: 503 with these
/// codes); anything else, or one of these outside a fault, is a failure.
pub const FAULT_CODES: [&str; 3] = [
    "database_unavailable",
    "game_server_unavailable",
    "request_timeout",
];

/// A fault as it happened, in offsets from the start of the load.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FaultWindow {
    /// Which fault.
    pub kind: crate::faults::FaultKind,
    /// When it began (for a restart: the kill).
    pub started: Duration,
    /// When it ended (for a restart: the mock listening again).
    pub ended: Duration,
}

/// Everything the checks look at, recorded during and after the run.
pub struct Observed<'a> {
    /// Every request the load generator sent, with its answer.
    pub answers: &'a [Answer],
    /// Logins in the accounts table after settling.
    pub db_logins: &'a [String],
    /// Rows still `pending` after settling.
    pub db_pending: i64,
    /// The mock game server's state journal.
    pub game_journal: &'a [StateEntry],
    /// The faults as they happened.
    pub faults: &'a [FaultWindow],
    /// How long after a fault ends a 503 still counts as caused by it
    /// (pools reconnecting, a call that started during the fault).
    pub fault_slack: Duration,
}

/// The outcome of [`verify`]: answers by class, how registrations settled,
/// and every rule broken.
#[derive(Debug, Default, Serialize)]
pub struct Verdict {
    /// `kind status detail` → count; `kind transport_error` for no answer.
    pub answer_classes: BTreeMap<String, u64>,
    /// Registrations answered 200 (each found in both stores).
    pub registered: u64,
    /// Accounts in both stores whose registration was not answered 200 (a
    /// lost game-server answer the reconciler confirmed).
    pub settled_without_200: u64,
    /// Registrations not answered 200 that are in neither store.
    pub absent_after_failure: u64,
    /// Accounts in the database after settling.
    pub db_accounts: u64,
    /// Accounts on the game server after settling (journal replayed).
    pub game_accounts: u64,
    /// Broken rules, one line each: the rule, how many, and up to 5 examples.
    pub violations: Vec<String>,
}

/// Shown violations per rule; the count says how many there were.
const SHOW: usize = 5;

fn key(login: &str) -> String {
    login.to_lowercase()
}

/// Checks the run against the rules: no login twice in either store, no
/// pending row left, every answer within gamegate's own timeout, 5xx only
/// during a fault (plus `fault_slack`) and only with a [`FAULT_CODES`] code,
/// no 4xx to a valid request, every 200 in both stores, every other
/// registration in both stores or in neither, nothing created after a 4xx,
/// no account nobody asked for.
pub fn verify(seen: &Observed<'_>) -> Verdict {
    let mut verdict = Verdict::default();
    let mut rules: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut fail = |rule: &'static str, what: String| rules.entry(rule).or_default().push(what);

    // The game server's accounts: replay the journal, flagging a create of a
    // login that already exists (a duplicate the mock should have refused).
    let mut game: HashMap<String, String> = HashMap::new();
    for entry in seen.game_journal {
        match entry {
            StateEntry::Created { login, .. } => {
                if game.insert(key(login), login.clone()).is_some() {
                    fail("duplicate on the game server", login.clone());
                }
            }
            StateEntry::Deleted { login } => {
                game.remove(&key(login));
            }
            // A password change creates and removes nothing.
            StateEntry::PasswordSet { .. } => {}
        }
    }
    let mut db: BTreeSet<String> = BTreeSet::new();
    for login in seen.db_logins {
        if !db.insert(key(login)) {
            fail("duplicate in the database", login.clone());
        }
    }
    verdict.db_accounts = db.len() as u64;
    verdict.game_accounts = game.len() as u64;
    if seen.db_pending != 0 {
        fail(
            "pending rows left after settling",
            seen.db_pending.to_string(),
        );
    }

    let mut sent: HashMap<String, &Answer> = HashMap::new();
    for answer in seen.answers {
        let class = match (answer.status, &answer.detail) {
            (Some(status), Some(detail)) => format!("{:?} {status} {detail}", answer.kind),
            (Some(status), None) => format!("{:?} {status}", answer.kind),
            (None, _) => format!("{:?} transport_error", answer.kind),
        };
        *verdict
            .answer_classes
            .entry(class.to_lowercase())
            .or_default() += 1;
        let during_fault = seen.faults.iter().any(|f| {
            answer.sent_at <= f.ended + seen.fault_slack
                && answer.sent_at + answer.latency >= f.started
        });
        match answer.status {
            None => fail(
                "no answer (gamegate must answer within its own timeout)",
                format!(
                    "{:?} at {:?}: {}",
                    answer.kind,
                    answer.sent_at,
                    answer.transport_error.as_deref().unwrap_or("")
                ),
            ),
            Some(200) => {}
            Some(503)
                if during_fault
                    && answer
                        .detail
                        .as_deref()
                        .is_some_and(|d| FAULT_CODES.contains(&d)) => {}
            Some(status) if status >= 500 && during_fault => fail(
                "server error a fault does not explain",
                format!("{:?} {status} {:?}", answer.kind, answer.detail),
            ),
            Some(status) if status >= 500 && !during_fault => fail(
                "server error outside every fault window",
                format!(
                    "{:?} {status} {:?} at {:?}",
                    answer.kind, answer.detail, answer.sent_at
                ),
            ),
            Some(status) => fail(
                "refused a valid request",
                format!("{:?} {status} {:?}", answer.kind, answer.detail),
            ),
        }
        if answer.kind == Kind::Register {
            let login = answer.login.clone().unwrap_or_default();
            if sent.insert(key(&login), answer).is_some() {
                fail("the load generator repeated a login", login);
            }
        }
    }

    for (login_key, answer) in &sent {
        let login = answer.login.as_deref().unwrap_or_default();
        let (in_db, in_game) = (db.contains(login_key), game.contains_key(login_key));
        match (answer.status == Some(200), in_db, in_game) {
            (true, true, true) => verdict.registered += 1,
            (true, _, _) => fail(
                "answered 200 but missing from a store",
                format!("{login} (database: {in_db}, game server: {in_game})"),
            ),
            (false, true, true) => verdict.settled_without_200 += 1,
            (false, false, false) => verdict.absent_after_failure += 1,
            (false, _, _) => fail(
                "in one store only after settling",
                format!("{login} (database: {in_db}, game server: {in_game})"),
            ),
        }
        if answer.status != Some(200)
            && (in_db || in_game)
            && answer.status.is_some_and(|s| s < 500)
        {
            fail(
                "refused with a 4xx but created",
                format!("{login} {:?}", answer.status),
            );
        }
    }
    for login_key in db.iter().chain(game.keys()) {
        if !sent.contains_key(login_key) {
            fail("an account nobody asked for", login_key.clone());
        }
    }

    for (rule, items) in rules {
        let shown: Vec<_> = items.iter().take(SHOW).cloned().collect();
        verdict
            .violations
            .push(format!("{rule}: {} — {}", items.len(), shown.join("; ")));
    }
    verdict
}

/// RSS over time, judged on the samples after warm-up: the mean of the last
/// third against the mean of the first third.
#[derive(Debug, Clone, Serialize)]
pub struct RssCheck {
    /// Samples taken after warm-up.
    pub samples_judged: usize,
    /// Mean RSS of the first third of them, KiB.
    pub first_third_mean_kib: f64,
    /// Mean RSS of the last third of them, KiB.
    pub last_third_mean_kib: f64,
    /// Growth from the first to the last third, percent.
    pub change_pct: f64,
    /// Growth allowed, percent.
    pub tolerance_pct: f64,
    /// Whether `change_pct` is within `tolerance_pct`.
    pub flat: bool,
}

/// `samples`: (seconds from the start of the load, KiB). `None` with fewer
/// than three samples after `warm_up`.
pub fn rss_check(samples: &[(f64, u64)], warm_up: f64, tolerance_pct: f64) -> Option<RssCheck> {
    let judged: Vec<f64> = samples
        .iter()
        .filter(|(t, _)| *t >= warm_up)
        .map(|(_, kib)| *kib as f64)
        .collect();
    let third = judged.len() / 3;
    if third == 0 {
        return None;
    }
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let first = mean(&judged[..third]);
    let last = mean(&judged[judged.len() - third..]);
    let change_pct = (last - first) / first * 100.0;
    Some(RssCheck {
        samples_judged: judged.len(),
        first_third_mean_kib: first,
        last_third_mean_kib: last,
        change_pct,
        tolerance_pct,
        flat: change_pct <= tolerance_pct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultKind;

    fn register(login: &str, at_ms: u64, status: u16, detail: Option<&str>) -> Answer {
        Answer {
            kind: Kind::Register,
            sent_at: Duration::from_millis(at_ms),
            latency: Duration::from_millis(10),
            login: Some(login.into()),
            status: Some(status),
            detail: detail.map(str::to_owned),
            transport_error: None,
        }
    }

    fn created(login: &str) -> StateEntry {
        StateEntry::Created {
            login: login.into(),
            id: 1,
        }
    }

    const FAULT: [FaultWindow; 1] = [FaultWindow {
        kind: FaultKind::DatabaseDrop,
        started: Duration::from_secs(10),
        ended: Duration::from_secs(12),
    }];

    fn check(answers: &[Answer], db: &[&str], pending: i64, journal: &[StateEntry]) -> Verdict {
        let db: Vec<String> = db.iter().map(|s| s.to_string()).collect();
        verify(&Observed {
            answers,
            db_logins: &db,
            db_pending: pending,
            game_journal: journal,
            faults: &FAULT,
            fault_slack: Duration::from_secs(1),
        })
    }

    #[test]
    fn a_consistent_run_passes_and_is_counted() {
        let answers = [
            register("Ok_1", 1_000, 200, None),
            register("Lost_1", 10_500, 503, Some("game_server_unavailable")),
            register("Gone_1", 11_000, 503, Some("database_unavailable")),
        ];
        let v = check(
            &answers,
            &["ok_1", "LOST_1"],
            0,
            &[created("Ok_1"), created("Lost_1")],
        );
        assert!(v.violations.is_empty(), "{:?}", v.violations);
        assert_eq!(
            (v.registered, v.settled_without_200, v.absent_after_failure),
            (1, 1, 1)
        );
        assert_eq!(v.answer_classes["register 503 database_unavailable"], 1);
    }

    #[test]
    fn every_broken_invariant_is_reported() {
        let answers = [
            register("In_Db_Only", 1_000, 200, None),
            register("Half_1", 10_500, 503, Some("game_server_unavailable")),
            register("Late_503", 20_000, 503, Some("database_unavailable")),
            register("Odd_503", 10_500, 503, Some("internal_error")),
            register("Err_500", 11_000, 500, Some("internal_error")),
            register("Taken_1", 2_000, 409, Some("login_taken")),
        ];
        let v = check(
            &answers,
            &["in_db_only", "stranger", "taken_1"],
            2,
            &[
                created("Half_1"),
                created("Taken_1"),
                created("Dup_1"),
                created("DUP_1"),
            ],
        );
        let all = v.violations.join("\n");
        for rule in [
            "duplicate on the game server: 1",
            "pending rows left after settling",
            "answered 200 but missing from a store: 1",
            "in one store only after settling: 1",
            "server error outside every fault window: 1",
            "server error a fault does not explain: 2",
            "refused a valid request: 1",
            "refused with a 4xx but created: 1",
            "an account nobody asked for: 2",
        ] {
            assert!(all.contains(rule), "{rule} not in:\n{all}");
        }
    }

    #[test]
    fn growing_memory_is_not_flat_and_noise_is() {
        let flat: Vec<(f64, u64)> = (0..60)
            .map(|t| (t as f64, 30_000 + (t % 3) * 500))
            .collect();
        let c = rss_check(&flat, 10.0, 10.0).unwrap();
        assert!(c.flat, "{c:?}");
        assert_eq!(c.samples_judged, 50);
        let leak: Vec<(f64, u64)> = (0..60).map(|t| (t as f64, 30_000 + t * 300)).collect();
        let c = rss_check(&leak, 10.0, 10.0).unwrap();
        assert!(!c.flat && c.change_pct > 25.0, "{c:?}");
        assert!(rss_check(&leak[..11], 10.0, 10.0).is_none());
    }
}

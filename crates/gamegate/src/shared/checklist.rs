//! A checklist report, shared by `gamegate doctor` and `gamegate gameserver
//! check`: one [`Check`] per item, printed as `✓`/`✗`/`–` lines with a
//! `fix:` line under each `✗` and a totals line, or as JSON for scripts.
//! Each command keeps its own check ids and adds its own header or fields.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// What was checked holds.
    Pass,
    /// It does not: the reason says what was seen, the fix what to change.
    Fail,
    /// Not run: it does not apply, was skipped, or needs a check that failed
    /// (the reason says which).
    NotApplicable,
}

impl Outcome {
    /// `✓`, `✗` or `–`.
    pub fn symbol(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::NotApplicable => "–",
        }
    }
}

/// One checked item; `Id` is the command's own check id (serialised as its
/// name).
#[derive(Debug, Clone, Serialize)]
pub struct Check<Id> {
    /// Which item.
    pub id: Id,
    /// Its outcome.
    pub outcome: Outcome,
    /// What was seen (never a secret).
    pub reason: String,
    /// What to do; set when the check failed.
    pub fix: Option<String>,
    /// How long the check took, in milliseconds.
    pub elapsed_ms: u64,
}

impl<Id> Check<Id> {
    /// A passed check.
    pub fn pass(id: Id, reason: impl Into<String>) -> Self {
        Self::new(id, Outcome::Pass, reason.into(), None)
    }

    /// A failed check with what to fix (one line).
    pub fn fail(id: Id, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self::new(id, Outcome::Fail, reason.into(), Some(fix.into()))
    }

    /// A check that does not apply or was not run.
    pub fn not_applicable(id: Id, reason: impl Into<String>) -> Self {
        Self::new(id, Outcome::NotApplicable, reason.into(), None)
    }

    fn new(id: Id, outcome: Outcome, reason: String, fix: Option<String>) -> Self {
        Self {
            id,
            outcome,
            reason,
            fix,
            elapsed_ms: 0,
        }
    }

    /// Whether it passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Pass
    }
}

/// A command's check id: its name in reports and on the command line.
pub trait CheckName: Copy + PartialEq {
    /// The id as printed (`game_server`, `auth_required`).
    fn name(self) -> &'static str;
}

/// The ids of the failed checks, in order.
pub fn failed<Id: CheckName>(checks: &[Check<Id>]) -> Vec<Id> {
    checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail)
        .map(|c| c.id)
        .collect()
}

fn count<Id>(checks: &[Check<Id>], outcome: Outcome) -> usize {
    checks.iter().filter(|c| c.outcome == outcome).count()
}

/// One line per check (`✓ name  reason`, names padded to `width`), a
/// `fix:` line under each `✗`.
pub fn lines<Id: CheckName>(checks: &[Check<Id>], width: usize) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&format!(
            "{} {:width$}  {}\n",
            c.outcome.symbol(),
            c.id.name(),
            c.reason
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("  {:width$}  fix: {fix}\n", ""));
        }
    }
    out
}

/// `N passed, N failed, N not applicable (N ms)` and a line end.
pub fn totals<Id>(checks: &[Check<Id>], elapsed: Duration) -> String {
    format!(
        "{} passed, {} failed, {} not applicable ({} ms)\n",
        count(checks, Outcome::Pass),
        count(checks, Outcome::Fail),
        count(checks, Outcome::NotApplicable),
        elapsed.as_millis()
    )
}

/// `{"ok", "passed", "failed", "not_applicable", "elapsed_ms", "checks"}`, to
/// which a command adds its own fields.
pub fn json_fields<Id: Serialize>(checks: &[Check<Id>], elapsed: Duration) -> Map<String, Value> {
    let failed = count(checks, Outcome::Fail);
    let mut map = Map::new();
    map.insert("ok".into(), (failed == 0).into());
    map.insert("passed".into(), count(checks, Outcome::Pass).into());
    map.insert("failed".into(), failed.into());
    map.insert(
        "not_applicable".into(),
        count(checks, Outcome::NotApplicable).into(),
    );
    map.insert("elapsed_ms".into(), (elapsed.as_millis() as u64).into());
    map.insert(
        "checks".into(),
        serde_json::to_value(checks).expect("checks serialise"),
    );
    map
}

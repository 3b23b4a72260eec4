//! Runs the checks one after another, each under its own bound and the
//! run's: a server that stops answering fails the check it stalls, and the
//! checks after the run's bound fail as not run, so the command always ends.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use super::report::{Check, CheckId, Outcome};

/// The bounds of one run, from `game_server.call_timeout_ms`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    /// One check: five call timeouts, at least 10 s.
    pub(super) check: Duration,
    /// The whole run before the cleanup: twenty call timeouts, at least 60 s.
    pub(super) run: Duration,
    /// The cleanup, which runs even after the run's bound: like a check.
    pub(super) cleanup: Duration,
}

impl Bounds {
    /// The bounds for a call timeout of `call_timeout`.
    pub(super) fn for_call_timeout(call_timeout: Duration) -> Self {
        let check = (call_timeout * 5).max(Duration::from_secs(10));
        Self {
            check,
            run: (call_timeout * 20).max(Duration::from_secs(60)),
            cleanup: check,
        }
    }
}

/// Collects the checks of a run.
pub(super) struct Runner {
    bounds: Bounds,
    started: Instant,
    checks: Vec<Check>,
}

impl Runner {
    /// A run starting now.
    pub(super) fn new(bounds: Bounds) -> Self {
        Self {
            bounds,
            started: Instant::now(),
            checks: Vec::new(),
        }
    }

    /// Runs `check` (which reports as `id`) under the check's bound and what
    /// is left of the run's; records it and answers whether it passed. A
    /// check past the run's bound is recorded as failed without running.
    pub(super) async fn run<F>(&mut self, id: CheckId, check: F) -> bool
    where
        F: Future<Output = Check>,
    {
        let left = self.bounds.run.saturating_sub(self.started.elapsed());
        if left.is_zero() {
            self.push(Check::fail(
                id,
                format!(
                    "not run: the run reached its bound of {} s",
                    self.bounds.run.as_secs()
                ),
                "the server answers too slowly for the suite: see the checks that took long",
            ));
            return false;
        }
        self.bounded(id, self.bounds.check.min(left), check).await
    }

    /// Runs the cleanup `check` under its own bound, even after the run's.
    pub(super) async fn run_cleanup<F>(&mut self, id: CheckId, check: F) -> bool
    where
        F: Future<Output = Check>,
    {
        self.bounded(id, self.bounds.cleanup, check).await
    }

    async fn bounded<F>(&mut self, id: CheckId, limit: Duration, check: F) -> bool
    where
        F: Future<Output = Check>,
    {
        let started = Instant::now();
        let mut check = match tokio::time::timeout(limit, check).await {
            Ok(check) => check,
            Err(_) => Check::fail(
                id,
                format!("no result within {} ms", limit.as_millis()),
                "the server stopped answering part-way: check its logs",
            ),
        };
        debug_assert_eq!(check.id, id, "a check reports under its own id");
        check.elapsed_ms = started.elapsed().as_millis() as u64;
        let passed = check.passed();
        self.push(check);
        passed
    }

    /// Records `id` as not run because of `reason`.
    pub(super) fn skip(&mut self, id: CheckId, reason: &str) {
        self.push(Check::not_applicable(id, format!("not run: {reason}")));
    }

    /// Records `id` as not applicable to this connector, saying why.
    pub(super) fn not_applicable(&mut self, id: CheckId, reason: &str) {
        self.push(Check::not_applicable(id, reason));
    }

    /// What the last recorded check found, for the reasons of the checks it
    /// keeps from running: `"{id} failed: {reason}"`, or `"{id}: {reason}"`
    /// when it did not fail (not run, not applicable).
    pub(super) fn failure_of_last(&self) -> String {
        match self.checks.last() {
            Some(check) if check.outcome == Outcome::Fail => {
                format!("{} failed: {}", check.id.name(), check.reason)
            }
            Some(check) => format!("{}: {}", check.id.name(), check.reason),
            None => "nothing ran".to_owned(),
        }
    }

    /// Whether the last recorded check failed (✗, not –).
    pub(super) fn last_failed(&self) -> bool {
        self.checks
            .last()
            .is_some_and(|c| c.outcome == Outcome::Fail)
    }

    fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// The checks so far and the time taken.
    pub(super) fn finish(self) -> (Vec<Check>, Duration) {
        (self.checks, self.started.elapsed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_grow_with_the_call_timeout_from_a_floor() {
        let short = Bounds::for_call_timeout(Duration::from_secs(1));
        assert_eq!(
            (short.check, short.run),
            (Duration::from_secs(10), Duration::from_secs(60))
        );
        let long = Bounds::for_call_timeout(Duration::from_secs(6));
        assert_eq!(
            (long.check, long.run),
            (Duration::from_secs(30), Duration::from_secs(120))
        );
    }

    #[tokio::test]
    async fn a_stalled_check_fails_at_its_bound_and_the_run_goes_on() {
        let mut runner = Runner::new(Bounds {
            check: Duration::from_millis(20),
            run: Duration::from_secs(60),
            cleanup: Duration::from_millis(20),
        });
        let stalled = runner
            .run(CheckId::Ping, std::future::pending::<Check>())
            .await;
        assert!(!stalled);
        let online = async { Check::pass(CheckId::Online, "42") };
        assert!(runner.run(CheckId::Online, online).await);
        let (checks, _) = runner.finish();
        assert_eq!(checks[0].outcome, Outcome::Fail);
        assert!(
            checks[0].reason.contains("no result within 20 ms"),
            "{}",
            checks[0].reason
        );
        assert_eq!(checks[1].outcome, Outcome::Pass);
    }

    #[tokio::test]
    async fn checks_past_the_run_bound_fail_unrun_but_the_cleanup_runs() {
        let mut runner = Runner::new(Bounds {
            check: Duration::from_secs(10),
            run: Duration::ZERO,
            cleanup: Duration::from_secs(10),
        });
        let mut ran = false;
        let register = async {
            ran = true;
            Check::pass(CheckId::Register, "")
        };
        assert!(!runner.run(CheckId::Register, register).await);
        assert!(!ran);
        let cleanup = async { Check::pass(CheckId::Cleanup, "") };
        assert!(runner.run_cleanup(CheckId::Cleanup, cleanup).await);
        let (checks, _) = runner.finish();
        assert!(
            checks[0]
                .reason
                .starts_with("not run: the run reached its bound")
        );
    }
}

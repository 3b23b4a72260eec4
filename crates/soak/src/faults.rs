//! The fault schedule: which fault, when, for how long. Pure, so its shape is
//! unit-tested; `run` applies it while the load runs.

use std::time::Duration;

use serde::Serialize;

/// The three faults the soak injects; JSON `"game_server_restart"`,
/// `"game_server_slow"`, `"database_drop"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The mock game server process is killed (SIGKILL: in-flight calls lose
    /// their answers), stays down, then starts again on the same address and
    /// state file.
    GameServerRestart,
    /// Every game-server reply is held back longer than gamegate's call
    /// timeout: registrations time out after the account was created.
    GameServerSlow,
    /// Every database connection is cut and new ones are refused.
    DatabaseDrop,
}

const KINDS: [FaultKind; 3] = [
    FaultKind::GameServerRestart,
    FaultKind::GameServerSlow,
    FaultKind::DatabaseDrop,
];

/// One planned fault, as offsets from the start of the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Which fault.
    pub kind: FaultKind,
    /// When it starts, from the start of the load.
    pub at: Duration,
    /// How long it lasts: half its slot, at most 8 s.
    pub length: Duration,
}

impl Fault {
    /// When it ends (`at + length`), from the start of the load.
    pub fn end(&self) -> Duration {
        self.at + self.length
    }
}

/// No fault in the first `WARM_UP_SHARE` of the run (a baseline) and in the
/// last `RECOVERY_SHARE` (the system must be seen serving again).
pub const WARM_UP_SHARE: f64 = 0.15;
/// No fault in the last 20% of the run: the system must be seen serving again.
pub const RECOVERY_SHARE: f64 = 0.20;
/// One fault per this much of the faulty window, but at least one of each kind.
const SLOT: Duration = Duration::from_secs(15);
/// A fault lasts half its slot, at most this long.
const MAX_LENGTH: Duration = Duration::from_secs(8);

/// Faults for a run of `run` length: the three kinds in turn, evenly spread
/// over the window between warm-up and recovery, never overlapping, each
/// followed by as much fault-free time as it lasted.
pub fn schedule(run: Duration) -> Vec<Fault> {
    let start = run.mul_f64(WARM_UP_SHARE);
    let window = run.mul_f64(1.0 - WARM_UP_SHARE - RECOVERY_SHARE);
    let count = ((window.as_secs_f64() / SLOT.as_secs_f64()) as usize).max(KINDS.len());
    let slot = window / count as u32;
    let length = (slot / 2).min(MAX_LENGTH);
    (0..count)
        .map(|i| Fault {
            kind: KINDS[i % KINDS.len()],
            at: start + slot * i as u32,
            length,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(run: Duration) -> Vec<Fault> {
        let faults = schedule(run);
        for kind in KINDS {
            assert!(faults.iter().any(|f| f.kind == kind), "{kind:?} missing");
        }
        for f in &faults {
            assert!(
                f.length >= Duration::from_secs(1),
                "{f:?} too short to matter"
            );
            assert!(f.at >= run.mul_f64(WARM_UP_SHARE), "{f:?} in the warm-up");
            assert!(
                f.end() <= run.mul_f64(1.0 - RECOVERY_SHARE),
                "{f:?} in the recovery"
            );
        }
        for pair in faults.windows(2) {
            assert!(
                pair[1].at >= pair[0].end() + pair[0].length,
                "{pair:?}: no fault-free time between"
            );
        }
        faults
    }

    #[test]
    fn a_30_second_run_has_one_fault_of_each_kind() {
        let faults = check(Duration::from_secs(30));
        assert_eq!(faults.len(), 3);
    }

    #[test]
    fn a_10_minute_run_repeats_the_kinds_in_turn() {
        let faults = check(Duration::from_secs(600));
        assert_eq!(faults.len(), 26);
        assert!(
            faults
                .iter()
                .all(|f| f.length == Duration::from_millis(7_500))
        );
        assert_eq!(check(Duration::from_secs(100))[0].length, MAX_LENGTH);
        let kinds: Vec<_> = faults.iter().take(4).map(|f| f.kind).collect();
        assert_eq!(kinds, [KINDS[0], KINDS[1], KINDS[2], KINDS[0]]);
    }

    #[test]
    fn odd_lengths_keep_the_rules() {
        for secs in [20, 31, 47, 95, 181, 299, 1234] {
            check(Duration::from_secs(secs));
        }
    }
}

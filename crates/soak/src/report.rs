//! The run's summary: printed for people, written as JSON for the docs.

use std::time::Duration;

use serde::Serialize;

use crate::load::{Answer, Kind};
use crate::verify::{FaultWindow, RssCheck, Verdict};

/// Latency percentiles of the answered requests of one kind, in
/// milliseconds (JSON `{"count", "p50_ms", "p90_ms", "p99_ms", "max_ms"}`).
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Requests answered (with any status).
    pub count: usize,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
}

/// Percentiles by sorting: a run holds at most some hundred thousand answers.
pub fn latency(answers: &[Answer], kind: Kind) -> Latency {
    let mut ms: Vec<f64> = answers
        .iter()
        .filter(|a| a.kind == kind && a.status.is_some())
        .map(|a| a.latency.as_secs_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if ms.is_empty() {
            0.0
        } else {
            ms[((ms.len() - 1) as f64 * q).round() as usize]
        }
    };
    Latency {
        count: ms.len(),
        p50_ms: at(0.50),
        p90_ms: at(0.90),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    }
}

/// The whole run's result: [`summary`](Self::summary) for people, JSON
/// (docs/soak.json) for the docs.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Unix seconds when the run began (also its id).
    pub started_unix: u64,
    /// How long the load ran, seconds.
    pub duration_secs: f64,
    /// Requests started per second asked for.
    pub target_rate_per_sec: f64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Share of requests that were registrations, 0–1.
    pub register_share: f64,
    /// Requests sent.
    pub requests: usize,
    /// Requests sent per second over the load.
    pub achieved_rate_per_sec: f64,
    /// `POST /api/register` latencies.
    pub register_latency: Latency,
    /// `GET /api/server/status` latencies.
    pub status_latency: Latency,
    /// The faults as they happened.
    pub faults: Vec<FaultWindow>,
    /// Times the mock game server was restarted.
    pub mock_restarts: u64,
    /// Connections gamegate opened to the database (through the fault proxy).
    pub database_proxy_connections: u64,
    /// From the end of the load until no row was pending.
    pub settle_secs: f64,
    /// What the end-of-run checks found.
    pub verdict: Verdict,
    /// (seconds from the start of the load, VmRSS KiB) of the gamegate process.
    pub rss_kib: Vec<(f64, u64)>,
    /// The RSS judgement; `None` with too few samples after warm-up.
    pub rss: Option<RssCheck>,
    /// Everything that failed; empty means the soak passed.
    pub failures: Vec<String>,
}

impl Report {
    /// Whether the soak passed: no failure recorded.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The multi-line text printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "soak: {} requests in {:.0} s ({:.1}/s, target {:.1}/s, {} in flight at most)\n",
            self.requests,
            self.duration_secs,
            self.achieved_rate_per_sec,
            self.target_rate_per_sec,
            self.concurrency
        );
        for (name, l) in [
            ("register", &self.register_latency),
            ("status", &self.status_latency),
        ] {
            out += &format!(
                "  {name:<8} {:>6} answered  p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms\n",
                l.count, l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
            );
        }
        out += "answers:\n";
        for (class, n) in &self.verdict.answer_classes {
            out += &format!("  {n:>7}  {class}\n");
        }
        out += &format!("faults ({}):\n", self.faults.len());
        for f in &self.faults {
            out += &format!(
                "  {:>6.1}–{:<6.1} s  {:?}\n",
                f.started.as_secs_f64(),
                f.ended.as_secs_f64(),
                f.kind
            );
        }
        let v = &self.verdict;
        out += &format!(
            "stores after {:.1} s of settling: database {} accounts, game server {}; \
             200s {}, settled without a 200 {}, failed and absent {}\n",
            self.settle_secs,
            v.db_accounts,
            v.game_accounts,
            v.registered,
            v.settled_without_200,
            v.absent_after_failure
        );
        let series: Vec<String> = self
            .rss_kib
            .iter()
            .map(|(_, kib)| format!("{:.1}", *kib as f64 / 1024.0))
            .collect();
        out += &format!("RSS MiB each second: {}\n", series.join(" "));
        if let Some(rss) = &self.rss {
            out += &format!(
                "RSS after warm-up: first third {:.1} MiB, last third {:.1} MiB ({:+.1}%, tolerance {:.0}%)\n",
                rss.first_third_mean_kib / 1024.0,
                rss.last_third_mean_kib / 1024.0,
                rss.change_pct,
                rss.tolerance_pct
            );
        }
        if self.passed() {
            out += "PASSED\n";
        } else {
            out += "FAILED:\n";
            for f in &self.failures {
                out += &format!("  {f}\n");
            }
        }
        out
    }
}

/// A duration in seconds, fractional.
pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

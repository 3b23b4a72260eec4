//! The run's summary: printed for people, written as JSON for the docs.

use std::time::Duration;

use serde::Serialize;

use crate::load::{Answer, Kind};
use crate::verify::{FaultWindow, RssCheck, Verdict};

#[derive(Debug, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
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

#[derive(Debug, Serialize)]
pub struct Report {
    pub started_unix: u64,
    pub duration_secs: f64,
    pub target_rate_per_sec: f64,
    pub concurrency: usize,
    pub register_share: f64,
    pub requests: usize,
    pub achieved_rate_per_sec: f64,
    pub register_latency: Latency,
    pub status_latency: Latency,
    pub faults: Vec<FaultWindow>,
    pub mock_restarts: u64,
    pub database_proxy_connections: u64,
    /// From the end of the load until no row was pending.
    pub settle_secs: f64,
    pub verdict: Verdict,
    /// (seconds from the start of the load, VmRSS KiB) of the gamegate process.
    pub rss_kib: Vec<(f64, u64)>,
    pub rss: Option<RssCheck>,
    /// Everything that failed; empty means the soak passed.
    pub failures: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

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

pub fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

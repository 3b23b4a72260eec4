//! The soak test's quick form (the long form is bench/soak.sh): 30 seconds of
//! mixed register/status load at a real `gamegate all` process, its game
//! server an external `gamegate gameserver-mock` process that is killed and
//! restarted, then slowed past the call timeout, and its MariaDB behind a
//! proxy that drops every connection — then, once the reconciler settled:
//! every 200 is an account in both stores, every account in a store is in the
//! other and was asked for, no duplicates, only the faults' 503s, flat RSS.
//! See crates/soak and docs/RELIABILITY.md.

use std::time::Duration;

use gamegate_soak::SoakConfig;

mod support;
use support::{Backend, binary, server_url};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_30_seconds_with_faults_keeps_both_stores_in_step() {
    // The database faults need a server behind a TCP proxy: SQLite has no
    // connection to cut. Skipped with a notice without one, failed under CI.
    let Some(mysql_url) = server_url(Backend::Mysql) else {
        return;
    };
    let report = gamegate_soak::run(&SoakConfig {
        gamegate_bin: binary::BIN.into(),
        mysql_url,
        duration: Duration::from_secs(30),
        rate_per_sec: 50.0,
        concurrency: 16,
        register_share: 0.3,
        rss_tolerance_pct: 20.0,
        keep_database: false,
    })
    .await
    .expect("the soak ran to the end");
    println!("{}", report.summary());
    assert!(report.passed(), "{}", report.summary());
    assert_eq!(
        report.faults.len(),
        3,
        "one fault of each kind was injected"
    );
    assert_eq!(report.mock_restarts, 1);
}

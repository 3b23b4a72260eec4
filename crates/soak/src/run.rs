//! One soak run: set up, load with faults, settle, verify, tear down.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use gamegate_store::{Database, PoolSettings};
use tokio::sync::Mutex as AsyncMutex;
use tokio_util::sync::CancellationToken;

use crate::faults::{self, FaultKind};
use crate::load::{self, LoadConfig};
use crate::processes::{Gamegate, MockProcess, rss_kib};
use crate::proxy::{FaultProxy, Mode};
use crate::report::{Report, latency, secs};
use crate::verify::{self, FaultWindow, Observed};

/// gamegate's timeouts in the soak: short, so faults resolve quickly, and in
/// the order its configuration requires (grace > call timeout, operation
/// timeout < request timeout).
const CALL_TIMEOUT_MS: u64 = 1_000;
const RECONCILER_GRACE_MS: u64 = 2_000;
const RECONCILER_INTERVAL_MS: u64 = 500;
const ACQUIRE_TIMEOUT_MS: u64 = 1_000;
const OPERATION_TIMEOUT_MS: u64 = 2_000;
const REQUEST_TIMEOUT_MS: u64 = 5_000;
/// A slow game server holds each reply this long: past the call timeout.
const SLOW_REPLY: Duration = Duration::from_millis(CALL_TIMEOUT_MS * 3 / 2);
/// A 503 up to this long after a fault ended still counts as the fault's:
/// the pool's reconnect, a call that began inside the window, the reconciler.
const FAULT_SLACK: Duration = Duration::from_secs(3);
/// Bound on waiting for the reconciler to settle every pending row.
const SETTLE_PATIENCE: Duration = Duration::from_secs(60);
const API_KEY: &str = "soak-api-key-0123456789abcdef";
const GAME_TOKEN: &str = "soak-game-token";

/// One soak run's parameters; the `gamegate-soak` flags map onto them
/// (defaults there: 600 s, 100/s, 32 in flight, 0.3, 20%).
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// The gamegate binary.
    pub gamegate_bin: PathBuf,
    /// A MariaDB/MySQL server URL; the soak creates its own database there
    /// (`gg_test_soak_*`, dropped at the end unless `keep_database`).
    pub mysql_url: String,
    /// How long the load runs.
    pub duration: Duration,
    /// Requests started per second.
    pub rate_per_sec: f64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Share of requests that are registrations, 0–1 (the rest read the status).
    pub register_share: f64,
    /// Allowed RSS growth, last third against first third after warm-up.
    pub rss_tolerance_pct: f64,
    /// Keep the soak's database for inspection instead of dropping it.
    pub keep_database: bool,
}

/// Runs one soak: creates a database, starts the mock game server and
/// `gamegate all` behind fault proxies, drives the load while injecting
/// [`faults::schedule`], waits up to 60 s for the
/// reconciler to settle, then verifies. A failed check is not an error: it is
/// in [`Report::failures`](crate::report::Report::failures). Errs when the run
/// itself cannot go on: no gamegate binary, a bad or unreachable `mysql_url`,
/// a database that cannot be created, a process that does not start, or
/// gamegate exiting during the soak.
pub async fn run(config: &SoakConfig) -> anyhow::Result<Report> {
    // The processes start in a work directory: a relative path would not resolve there.
    let bin = std::fs::canonicalize(&config.gamegate_bin)
        .with_context(|| format!("no gamegate binary at {}", config.gamegate_bin.display()))?;
    let config = &SoakConfig {
        gamegate_bin: bin,
        ..config.clone()
    };
    let workdir =
        std::env::temp_dir().join(format!("gamegate-soak-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&workdir)?;
    let db_name = format!("gg_test_soak_{:012x}", rand::random::<u64>() >> 16);
    let server = reqwest::Url::parse(&config.mysql_url).context("mysql_url is not a URL")?;
    let upstream: SocketAddr = tokio::net::lookup_host((
        server.host_str().context("mysql_url has no host")?,
        server.port().unwrap_or(3306),
    ))
    .await?
    .next()
    .context("mysql_url's host does not resolve")?;
    let settings = PoolSettings {
        max_connections: 2,
        ..PoolSettings::default()
    };
    let admin = Database::connect(&config.mysql_url, &settings).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(admin.pool())
        .await
        .context("cannot create the soak database")?;
    let result = soak(config, &workdir, &db_name, &server, upstream).await;
    if !config.keep_database {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {db_name}")))
            .execute(admin.pool())
            .await;
    }
    admin.close().await;
    if result.as_ref().is_ok_and(Report::passed) {
        let _ = std::fs::remove_dir_all(&workdir);
    } else {
        eprintln!("soak: logs kept in {}", workdir.display());
    }
    result
}

fn with_database(server: &reqwest::Url, addr: Option<SocketAddr>, db: &str) -> String {
    let mut url = server.clone();
    if let Some(addr) = addr {
        let _ = url.set_host(Some(&addr.ip().to_string()));
        let _ = url.set_port(Some(addr.port()));
    }
    url.set_path(&format!("/{db}"));
    url.to_string()
}

async fn soak(
    config: &SoakConfig,
    workdir: &std::path::Path,
    db_name: &str,
    server: &reqwest::Url,
    db_upstream: SocketAddr,
) -> anyhow::Result<Report> {
    let db_proxy = FaultProxy::start(db_upstream).await?;
    let mock = MockProcess::start(&config.gamegate_bin, workdir, GAME_TOKEN).await?;
    let game_proxy = FaultProxy::start(mock.addr).await?;
    let env: Vec<(String, String)> = [
        (
            "DATABASE__URL",
            with_database(server, Some(db_proxy.addr()), db_name),
        ),
        (
            "DATABASE__ACQUIRE_TIMEOUT_MS",
            ACQUIRE_TIMEOUT_MS.to_string(),
        ),
        (
            "DATABASE__OPERATION_TIMEOUT_MS",
            OPERATION_TIMEOUT_MS.to_string(),
        ),
        (
            "ANALYTICS__URL",
            format!("sqlite://{}", workdir.join("analytics.db").display()),
        ),
        ("HTTP__PUBLIC_ADDR", "127.0.0.1:0".into()),
        ("HTTP__ADMIN_ADDR", "127.0.0.1:0".into()),
        ("HTTP__REQUEST_TIMEOUT_MS", REQUEST_TIMEOUT_MS.to_string()),
        ("HTTP__DEMO_SITE", "false".into()),
        ("GAME_SERVER__ADDR", game_proxy.addr().to_string()),
        ("GAME_SERVER__AUTH_TOKEN", GAME_TOKEN.into()),
        ("GAME_SERVER__EMBEDDED_MOCK", "false".into()),
        ("GAME_SERVER__CONNECT_TIMEOUT_MS", "500".into()),
        ("GAME_SERVER__CALL_TIMEOUT_MS", CALL_TIMEOUT_MS.to_string()),
        (
            "RECONCILER__INTERVAL_MS",
            RECONCILER_INTERVAL_MS.to_string(),
        ),
        ("RECONCILER__GRACE_MS", RECONCILER_GRACE_MS.to_string()),
        // The soak exercises the saga, not Argon2: a cheap hash keeps the
        // CPU for the requests (the register benchmark measures the hash).
        ("PASSWORD_HASH__MEMORY_KIB", "1024".into()),
        ("PASSWORD_HASH__ITERATIONS", "1".into()),
        // One client address sends everything: limits and the jail would
        // refuse it (the edge has its own tests).
        ("EDGE__API_KEYS", API_KEY.into()),
        ("EDGE__REGISTER_PER_MINUTE", "0".into()),
        ("EDGE__STATUS_PER_MINUTE", "0".into()),
        ("EDGE__BAN_ENABLED", "false".into()),
        ("LOG__LEVEL", "warn".into()),
        ("LOG__ACCESS_LOG", "off".into()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("GAMEGATE_{k}"), v))
    .collect();
    let mut gamegate = Gamegate::start(&config.gamegate_bin, workdir, &env).await?;
    let pid = gamegate.pid().context("gamegate exited at once")?;

    let run_id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let load_config = LoadConfig {
        base_url: format!("http://{}", gamegate.public),
        api_key: API_KEY.into(),
        rate_per_sec: config.rate_per_sec,
        concurrency: config.concurrency,
        duration: config.duration,
        register_share: config.register_share,
        // 16 characters at most: "sk" + 5 hex digits + "_" + up to 8 digits.
        login_prefix: format!("sk{:05x}_", run_id & 0xf_ffff),
        telegram_base: (run_id as i64 % 100_000) * 100_000_000 + 1,
        request_timeout: Duration::from_millis(REQUEST_TIMEOUT_MS * 3),
    };

    let started = Instant::now();
    let stop_sampling = CancellationToken::new();
    let rss = Arc::new(Mutex::new(Vec::new()));
    let sampler = tokio::spawn({
        let (rss, stop) = (rss.clone(), stop_sampling.clone());
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                if let Some(kib) = rss_kib(pid) {
                    rss.lock()
                        .expect("not poisoned")
                        .push((secs(started.elapsed()), kib));
                }
            }
        }
    });

    let mock = Arc::new(AsyncMutex::new(mock));
    let injector = inject_faults(
        faults::schedule(config.duration),
        started,
        &db_proxy,
        &game_proxy,
        mock.clone(),
    );
    let (answers, windows) = tokio::join!(load::drive(&load_config, started), injector);
    let (answers, windows) = (answers?, windows?);
    let load_secs = secs(started.elapsed());

    // Settle: the reconciler confirms or removes every pending row.
    let direct = Database::connect(
        &with_database(server, None, db_name),
        &PoolSettings {
            max_connections: 2,
            ..PoolSettings::default()
        },
    )
    .await?;
    let settling = Instant::now();
    let pending = loop {
        let (_, pending) = direct.accounts().count_by_state().await?;
        if pending == 0 || settling.elapsed() > SETTLE_PATIENCE {
            break pending;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let settle_secs = secs(settling.elapsed());
    stop_sampling.cancel();
    let _ = sampler.await;
    let db_logins = direct.accounts().logins().await?;
    direct.close().await;
    if let Ok(Some(status)) = gamegate.child.try_wait() {
        bail!("gamegate exited during the soak ({status}); see its log");
    }
    let _ = gamegate.child.kill().await;
    let mut mock = mock.lock().await;
    let journal = gamegate_gameserver::read_state(&mock.state)?;
    let _ = mock.kill().await;

    let verdict = verify::verify(&Observed {
        answers: &answers,
        db_logins: &db_logins,
        db_pending: pending,
        game_journal: &journal,
        faults: &windows,
        fault_slack: FAULT_SLACK,
    });
    let rss_kib = std::mem::take(&mut *rss.lock().expect("not poisoned"));
    let warm_up = config.duration.mul_f64(faults::WARM_UP_SHARE).as_secs_f64();
    let rss = verify::rss_check(&rss_kib, warm_up, config.rss_tolerance_pct);
    let mut failures = verdict.violations.clone();
    match &rss {
        Some(check) if !check.flat => failures.push(format!(
            "RSS grew {:.1}% (last third against first third after warm-up; tolerance {:.0}%)",
            check.change_pct, check.tolerance_pct
        )),
        Some(_) => {}
        None => failures.push("too few RSS samples to judge".into()),
    }
    if verdict.registered == 0 {
        failures.push("no registration succeeded".into());
    }
    Ok(Report {
        started_unix: run_id,
        duration_secs: load_secs,
        target_rate_per_sec: config.rate_per_sec,
        concurrency: config.concurrency,
        register_share: config.register_share,
        requests: answers.len(),
        achieved_rate_per_sec: answers.len() as f64 / load_secs,
        register_latency: latency(&answers, load::Kind::Register),
        status_latency: latency(&answers, load::Kind::Status),
        faults: windows,
        mock_restarts: mock.restarts,
        database_proxy_connections: db_proxy.accepted(),
        settle_secs,
        verdict,
        rss_kib,
        rss,
        failures,
    })
}

/// Applies the schedule; returns when each fault happened (a restart's
/// window runs from the kill until the process listens again).
async fn inject_faults(
    schedule: Vec<faults::Fault>,
    started: Instant,
    db_proxy: &FaultProxy,
    game_proxy: &FaultProxy,
    mock: Arc<AsyncMutex<MockProcess>>,
) -> anyhow::Result<Vec<FaultWindow>> {
    let mut windows = Vec::new();
    for fault in schedule {
        tokio::time::sleep_until((started + fault.at).into()).await;
        let began = started.elapsed();
        match fault.kind {
            FaultKind::GameServerRestart => {
                let mut mock = mock.lock().await;
                mock.kill().await?;
                tokio::time::sleep(fault.length).await;
                mock.start_again().await?;
            }
            FaultKind::GameServerSlow => {
                game_proxy.set_mode(Mode::Slow(SLOW_REPLY));
                tokio::time::sleep(fault.length).await;
                game_proxy.set_mode(Mode::Pass);
            }
            FaultKind::DatabaseDrop => {
                db_proxy.set_mode(Mode::Down);
                tokio::time::sleep(fault.length).await;
                db_proxy.set_mode(Mode::Pass);
            }
        }
        windows.push(FaultWindow {
            kind: fault.kind,
            started: began,
            ended: started.elapsed(),
        });
    }
    Ok(windows)
}

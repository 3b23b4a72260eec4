//! Database faults: a TCP proxy the test controls sits between the
//! application and the real MariaDB/PostgreSQL server. While it is down,
//! registrations answer 503 `database_unavailable` within the acquire
//! timeout and `/internal/health` is 503 `unhealthy`; once it is up again the
//! same process serves registrations, and every 200 — and only a 200 — ends
//! as one account in the database and on the game server.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::register::assert_stores_agree;
use crate::support::{Backend, TestApp, player, server_url, spawn_app_with};

// The SQLite database is a file inside the process: there is no connection
// a proxy could cut, so these tests exist for the server backends only (no
// `sqlite` module is generated — they do not pass vacuously on SQLite).
// Without a server URL they skip with a notice, and fail under `CI`, like
// every other server-backend test (`support::server_url`).
crate::on_server_backends!(
    registrations_survive_a_database_that_drops_connections,
    registrations_survive_a_database_that_stops_answering,
    registrations_survive_a_database_that_goes_silent,
);

/// The pool's acquire timeout in these tests.
const ACQUIRE_MS: u64 = 500;
/// The store's bound on one operation in these tests.
const OPERATION_MS: u64 = 800;
/// Any answer, during the outage or not, must come within the tighter of the
/// two database bounds plus this margin.
const MARGIN_MS: u64 = 1_000;
const OUTAGE: Duration = Duration::from_millis(2_000);
const AFTER_OUTAGE: Duration = Duration::from_millis(1_500);
const WORKERS: usize = 4;
/// Pause of each worker between two requests: a steady stream, not a flood.
const PAUSE: Duration = Duration::from_millis(20);
/// Hard bound on the number of registrations one run sends.
const MAX_REQUESTS: u64 = 3_000;

/// What "down" does to new connections; open ones are always reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DownMode {
    /// Accepts and resets at once: the driver fails fast (EOF/reset in the
    /// handshake), as with a server that crashed or restarts.
    AcceptAndReset,
    /// Stops calling `accept`: the kernel completes the TCP handshake, then
    /// nothing is ever said, as with a hung server or a black-holed route.
    /// Only the pool's acquire timeout bounds the wait.
    StopAccepting,
    /// Open connections stay open but carry nothing, and new ones are accepted
    /// and held silent: a frozen server or a dead route without resets. A
    /// query already in flight is bounded only by the store's operation
    /// timeout.
    GoSilent,
}

async fn registrations_survive_a_database_that_drops_connections(backend: Backend) {
    outage_scenario(backend, DownMode::AcceptAndReset).await;
}

async fn registrations_survive_a_database_that_stops_answering(backend: Backend) {
    outage_scenario(backend, DownMode::StopAccepting).await;
}

async fn registrations_survive_a_database_that_goes_silent(backend: Backend) {
    outage_scenario(backend, DownMode::GoSilent).await;
}

/// A TCP proxy to the database server that the test switches up and down.
struct Proxy {
    addr: SocketAddr,
    up: watch::Sender<bool>,
    /// Proxied connections currently open.
    live: Arc<AtomicUsize>,
    /// Connections accepted and piped to the server, in all.
    piped: Arc<AtomicU64>,
    accept_loop: JoinHandle<()>,
    mode: DownMode,
}

/// Counts a proxied connection as open until it is dropped.
struct LiveGuard(Arc<AtomicUsize>);

impl LiveGuard {
    fn new(live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::SeqCst);
        Self(live.clone())
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Proxy {
    async fn start(upstream: String, mode: DownMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, _) = watch::channel(true);
        let live = Arc::new(AtomicUsize::new(0));
        let piped = Arc::new(AtomicU64::new(0));
        let accept_loop = tokio::spawn(accept_loop(
            listener,
            upstream,
            mode,
            up.subscribe(),
            live.clone(),
            piped.clone(),
        ));
        Self {
            addr,
            up,
            live,
            piped,
            accept_loop,
            mode,
        }
    }

    /// Refuses new connections and resets every open one; returns once all
    /// proxied connections are closed.
    async fn down(&self) {
        self.up.send_replace(false);
        if self.mode == DownMode::GoSilent {
            return; // connections stay open, silent
        }
        let started = Instant::now();
        while self.live.load(Ordering::SeqCst) > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "proxied connections did not close"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn up(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept_loop.abort();
        // Dropping `up` ends every pipe still open.
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    mode: DownMode,
    mut state: watch::Receiver<bool>,
    live: Arc<AtomicUsize>,
    piped: Arc<AtomicU64>,
) {
    loop {
        if mode == DownMode::StopAccepting && state.wait_for(|up| *up).await.is_err() {
            return;
        }
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // Stop accepting as soon as the proxy goes down.
            gone = state.wait_for(|up| !*up), if mode == DownMode::StopAccepting => {
                if gone.is_err() {
                    return;
                }
                continue;
            }
        };
        let Ok((client, _)) = accepted else {
            continue;
        };
        if !*state.borrow() && mode == DownMode::GoSilent {
            // Hold it open and say nothing until the proxy is up, then reset it.
            let mut state = state.clone();
            tokio::spawn(async move {
                let _ = state.wait_for(|up| *up).await;
                let _ = client.set_zero_linger();
            });
            continue;
        }
        if !*state.borrow() {
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        piped.fetch_add(1, Ordering::SeqCst);
        let guard = LiveGuard::new(&live);
        tokio::spawn(pipe(client, upstream.clone(), state.clone(), guard, mode));
    }
}

async fn pipe(
    mut client: TcpStream,
    upstream: String,
    mut state: watch::Receiver<bool>,
    guard: LiveGuard,
    mode: DownMode,
) {
    if let Ok(mut server) = TcpStream::connect(&upstream).await {
        let went_down = tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => false,
            // Down (or the proxy dropped).
            _ = state.wait_for(|up| !*up) => true,
        };
        if went_down {
            if mode == DownMode::GoSilent {
                // Stop carrying bytes but keep both ends open until up.
                let _ = state.wait_for(|up| *up).await;
            }
            // Then reset both sides.
            let _ = client.set_zero_linger();
            let _ = server.set_zero_linger();
        }
        drop(server);
    }
    drop(client);
    drop(guard);
}

/// `host:port` of the database server a test URL names.
fn upstream_of(server_url: &str, backend: Backend) -> String {
    let url = url::Url::parse(server_url).expect("test database URL parses");
    let host = url.host_str().expect("test database URL has a host");
    let port = url.port().unwrap_or(match backend {
        Backend::Mysql => 3306,
        Backend::Postgres => 5432,
        Backend::Sqlite => unreachable!("no proxy for SQLite"),
    });
    format!("{host}:{port}")
}

/// The same database URL, but through the proxy.
fn through_proxy(database_url: &str, proxy: SocketAddr) -> String {
    let mut url = url::Url::parse(database_url).expect("database URL parses");
    url.set_host(Some(&proxy.ip().to_string())).unwrap();
    url.set_port(Some(proxy.port())).unwrap();
    url.to_string()
}

#[derive(Debug)]
struct Answer {
    login: String,
    started: Instant,
    ended: Instant,
    status: u16,
    detail: String,
}

impl Answer {
    fn latency(&self) -> Duration {
        self.ended - self.started
    }
}

/// Keeps registering distinct accounts, one at a time, until told to stop.
async fn worker(app: &TestApp, next: &AtomicU64, stop: &AtomicBool, answers: &Mutex<Vec<Answer>>) {
    while !stop.load(Ordering::SeqCst) {
        let i = next.fetch_add(1, Ordering::SeqCst);
        if i >= MAX_REQUESTS {
            return;
        }
        let login = format!("dbf_{i}");
        let started = Instant::now();
        let (status, body) = app.register(player(&login, 900_000_000 + i as i64)).await;
        let ended = Instant::now();
        answers.lock().unwrap().push(Answer {
            login,
            started,
            ended,
            status: status.as_u16(),
            detail: body["detail"].as_str().unwrap_or("").to_owned(),
        });
        tokio::time::sleep(PAUSE).await;
    }
}

/// `/internal/health`: status code, `status` field, how long it took.
async fn health(app: &TestApp) -> (u16, String, Duration) {
    let started = Instant::now();
    let (status, body) = app.get_json(app.admin_url("/internal/health")).await;
    (
        status.as_u16(),
        body["status"].as_str().unwrap_or("").to_owned(),
        started.elapsed(),
    )
}

fn count_ok(answers: &Mutex<Vec<Answer>>, since: Option<Instant>) -> usize {
    answers
        .lock()
        .unwrap()
        .iter()
        .filter(|a| a.status == 200 && since.is_none_or(|t| a.started >= t))
        .count()
}

struct Timeline {
    going_down: Instant,
    down_at: Instant,
    up_at: Instant,
    health_down: (u16, String, Duration),
    health_recovered_after: Duration,
}

async fn outage_scenario(backend: Backend, mode: DownMode) {
    let Some(server) = server_url(backend) else {
        return;
    };
    let proxy = Proxy::start(upstream_of(&server, backend), mode).await;
    // A silent database is the case only the operation timeout bounds: with a
    // long acquire timeout, a request on a frozen connection (its pre-use ping
    // included) can only be cut short by it.
    let acquire_ms = if mode == DownMode::GoSilent {
        10_000
    } else {
        ACQUIRE_MS
    };
    let answer_bound = Duration::from_millis(acquire_ms.min(OPERATION_MS) + MARGIN_MS);
    let proxy_addr = proxy.addr;
    let Some(app) = spawn_app_with(backend, |c| {
        c.database.url = through_proxy(&c.database.url, proxy_addr);
        c.database.acquire_timeout_ms = acquire_ms;
        c.database.operation_timeout_ms = OPERATION_MS;
    })
    .await
    else {
        return;
    };

    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let answers = Mutex::new(Vec::new());

    let driver = async {
        let warm = Instant::now();
        while count_ok(&answers, None) < 10 {
            assert!(
                warm.elapsed() < Duration::from_secs(10),
                "no steady stream of successful registrations before the outage"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }

        // Whatever ended before this saw a working database.
        let going_down = Instant::now();
        proxy.down().await;
        // Every proxied connection is closed and no new one gets through.
        let down_at = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let health_down = health(&app).await;
        tokio::time::sleep(OUTAGE.saturating_sub(down_at.elapsed())).await;

        // Taken before the switch: whatever ended before it saw no database.
        let up_at = Instant::now();
        proxy.up();

        let mut health_recovered_after = None;
        while up_at.elapsed() < Duration::from_secs(10) {
            let (status, state, _) = health(&app).await;
            if status == 200 && state == "ok" {
                health_recovered_after = Some(up_at.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let health_recovered_after =
            health_recovered_after.expect("/internal/health did not return to 200 ok within 10 s");

        let after = Instant::now();
        while after.elapsed() < AFTER_OUTAGE || count_ok(&answers, Some(after)) < 10 {
            assert!(
                after.elapsed() < Duration::from_secs(10),
                "registrations did not recover after the database came back"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, Ordering::SeqCst);
        Timeline {
            going_down,
            down_at,
            up_at,
            health_down,
            health_recovered_after,
        }
    };
    let workers = join_all((0..WORKERS).map(|_| worker(&app, &next, &stop, &answers)));
    let (t, _) = tokio::join!(driver, workers);
    let answers = answers.into_inner().unwrap();
    assert!(
        next.load(Ordering::SeqCst) < MAX_REQUESTS,
        "the request cap was reached before the scenario ended"
    );

    // Health during the outage: 503 unhealthy, quickly.
    let (h_status, h_state, h_latency) = &t.health_down;
    assert_eq!(
        (*h_status, h_state.as_str()),
        (503, "unhealthy"),
        "health during the outage"
    );
    assert!(
        *h_latency < answer_bound,
        "health took {h_latency:?} during the outage"
    );

    // Every answer is a 200 or a 503 database_unavailable, and comes quickly.
    for a in &answers {
        assert!(
            a.status == 200 || (a.status == 503 && a.detail == "database_unavailable"),
            "unexpected answer {} {:?} for {}",
            a.status,
            a.detail,
            a.login
        );
        assert!(
            a.latency() < answer_bound,
            "{} answered {} after {:?}",
            a.login,
            a.status,
            a.latency()
        );
    }
    let before: Vec<&Answer> = answers.iter().filter(|a| a.ended < t.going_down).collect();
    let during: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.started >= t.down_at && a.ended < t.up_at)
        .collect();
    let after: Vec<&Answer> = answers.iter().filter(|a| a.started >= t.up_at).collect();
    for a in &before {
        assert_eq!(a.status, 200, "{} before the outage: {}", a.login, a.detail);
    }
    assert!(
        during.len() >= 5,
        "only {} requests fell inside the outage",
        during.len()
    );
    for a in &during {
        assert_eq!(
            (a.status, a.detail.as_str()),
            (503, "database_unavailable"),
            "{} during the outage",
            a.login
        );
    }
    for a in &after {
        assert_eq!(
            a.status,
            200,
            "{} sent {:?} after the database came back: {}",
            a.login,
            a.started - t.up_at,
            a.detail
        );
    }

    // Pending rows (a lost confirm or a commit whose answer was lost) settle
    // once they are older than the grace.
    app.eventually(
        "the reconciler settles every pending row",
        Duration::from_secs(15),
        || async { app.db.accounts().count_by_state().await.unwrap().1 == 0 },
    )
    .await;

    // Exactly the accounts that were answered 200, in both stores.
    let ok: BTreeSet<String> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| a.login.to_lowercase())
        .collect();
    let in_db = app.db_logins().await;
    let (synced, _) = app.db.accounts().count_by_state().await.unwrap();
    assert_eq!(synced as usize, ok.len(), "accounts in the database");
    assert_eq!(in_db, ok, "the database holds exactly the 200 answers");
    for login in &ok {
        assert!(
            app.mock.contains(login),
            "{login} missing on the game server"
        );
    }
    assert_eq!(app.mock.account_count(), ok.len());
    assert_stores_agree(&app).await;

    let metrics = app.metrics_text().await;
    let settled: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("gamegate_reconciler_settled_total{"))
        .collect();

    let unavailable = answers.iter().filter(|a| a.status == 503).count();
    let worst_during = during.iter().map(|a| a.latency()).max().unwrap_or_default();
    let worst_overall = answers
        .iter()
        .map(|a| a.latency())
        .max()
        .unwrap_or_default();
    let first_ok_after = answers
        .iter()
        .filter(|a| a.status == 200 && a.started >= t.down_at)
        .map(|a| a.ended.saturating_duration_since(t.up_at))
        .min()
        .unwrap_or_default();
    eprintln!(
        "db_faults {backend:?} {mode:?}: {} requests, {} x 200, {unavailable} x 503 \
         ({} inside the outage, {} straddling it); worst latency inside the outage {worst_during:?}, \
         overall {worst_overall:?}; health during outage {h_status} {h_state} in {h_latency:?}; \
         health ok {:?} after up; first 200 {first_ok_after:?} after up; \
         {} connections piped; reconciler {settled:?}",
        answers.len(),
        ok.len(),
        during.len(),
        answers.len() - before.len() - during.len() - after.len(),
        t.health_recovered_after,
        proxy.piped.load(Ordering::SeqCst),
    );

    app.stop().await;
    drop(proxy);
}

//! The web pages in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, started here on a free port) against `gamegate all`
//! started in-process.
//!
//! - The demo registration page: fills the form, sees the success message,
//!   then the `login_taken` message for a taken login, and saves a
//!   screenshot (target/browser-screenshots/register.png).
//! - The admin dashboard over a synthetic battle history and real
//!   registrations: every chart and table drawn with the numbers the API
//!   gives, a planted cheater in the flagged table, and a screenshot
//!   (target/browser-screenshots/dashboard.png; docs/dashboard-screenshot.png
//!   is a copy); over an empty history, every chart says there is no data;
//!   over synthetic battles (the demo history), a notice says so.
//!
//! - Behind operator tokens (`admin.tokens`): refused without credentials,
//!   drawn when opened with Basic credentials (the token as the password),
//!   the page's own requests authenticated by the browser.
//!
//! Needs chromium and chromium-driver (`.ci/run` installs them). Without them
//! the test is skipped with a notice — except under `CI`, where it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use gamegate::Config;
use tokio::process::{Child, Command};

mod support;
use support::tools::{free_port, required, which};

const API_KEY: &str = "browser-suite-key-0123456789abcdef";
const TAKEN_RU: &str = "Этот логин уже занят. Выберите другой.";
const REGISTERED_RU: &str = "Регистрация успешна!";

/// Chromium and chromedriver, or `None` (with a notice) outside CI.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let install = "apt-get install -y chromium chromium-driver";
    let chromium = which(&["chromium", "chromium-browser", "google-chrome"]);
    let chromium = required(chromium, "chromium", install)?;
    let driver = required(which(&["chromedriver"]), "chromedriver", install)?;
    Some((chromium, driver))
}

/// chromedriver on a free loopback port, once it answers `/status`.
async fn start_chromedriver(driver: &Path) -> (Child, String) {
    let port = free_port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = http.get(format!("{url}/status")).send().await
            && r.status().is_success()
        {
            return (child, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not answer on {url} within 20 s");
}

/// `gamegate all` on random ports with the demo page on (its default), a
/// fresh SQLite database and the embedded mock game server; `tweak` adjusts
/// the configuration.
async fn start_app(dir: &Path, tweak: impl FnOnce(&mut Config)) -> support::Started {
    let mut c = support::local_config();
    assert!(c.http.demo_site, "the demo page is on by default");
    c.edge.api_keys = vec![API_KEY.into()];
    support::sqlite_in(&mut c, dir);
    tweak(&mut c);
    support::start(c).await
}

/// A headless Chromium session of this window size.
async fn chromium_session(chromium: &Path, driver_url: &str, window: &str) -> fantoccini::Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", format!("--window-size={window}")],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(driver_url)
        .await
        .expect("a Chromium session starts")
}

/// Saves a PNG screenshot as target/browser-screenshots/NAME.
fn save_screenshot(png: &[u8], name: &str) {
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside target/")
        .join("browser-screenshots");
    std::fs::create_dir_all(&target).unwrap();
    let file = target.join(name);
    std::fs::write(&file, png).unwrap();
    eprintln!("screenshot: {}", file.display());
}

/// Types one registration into the form and submits it.
async fn submit(
    client: &fantoccini::Client,
    login: &str,
    telegram_id: &str,
) -> Result<(), fantoccini::error::CmdError> {
    for (id, value) in [
        ("login", login),
        ("password", "secret12"),
        ("telegram_id", telegram_id),
    ] {
        let input = client.find(Locator::Id(id)).await?;
        input.clear().await?;
        input.send_keys(value).await?;
    }
    client
        .find(Locator::Id("gender"))
        .await?
        .select_by_value("1")
        .await?;
    client.find(Locator::Id("submit")).await?.click().await
}

/// The result box once it shows the answer with this `detail`.
async fn result_text(
    client: &fantoccini::Client,
    detail: &str,
) -> Result<String, fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(&format!("#result[data-detail=\"{detail}\"]")))
        .await?
        .text()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_registers_and_shows_login_taken_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path(), |_| {}).await;
    let (addr, shutdown) = (app.public(), app.shutdown);
    let (mut chromedriver, driver_url) = start_chromedriver(&driver).await;
    let client = chromium_session(&chromium, &driver_url, "720,1100").await;

    let outcome = tokio::time::timeout(Duration::from_secs(120), async {
        client.goto(&format!("http://{addr}/")).await?;
        // The status box is filled from GET /api/server/status.
        client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::XPath(
                "//dl[@id='status-values']/dt[text()='server_status']",
            ))
            .await?;
        let source = client.source().await?;
        assert!(!source.contains(API_KEY), "the key reached the browser");

        submit(&client, "Browser_01", "123456789").await?;
        let text = result_text(&client, "ok").await?;
        assert_eq!(text, REGISTERED_RU);

        // The same login in another case: taken (logins are case-insensitive).
        submit(&client, "browser_01", "987654321").await?;
        let text = result_text(&client, "login_taken").await?;
        assert_eq!(text, TAKEN_RU);

        save_screenshot(&client.screenshot().await?, "register.png");
        Ok::<_, fantoccini::error::CmdError>(())
    })
    .await;

    // Close the session before judging, so a failure leaves no browser behind.
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    shutdown.cancel();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the browser test did not finish within 120 s"),
    }
    eprintln!("browser test took {:?}", started.elapsed());
}

const INGEST_TOKEN: &str = "browser-ingest-token-0123456789";
const DAY: i64 = 86_400;

/// A synthetic history (with planted cheaters) moved into the last 28 days,
/// so the dashboard's default 30-day window holds all of it; the order and
/// the outcomes stay as generated. Returns the battles and the cheaters.
fn recent_history() -> (Vec<gamegate_analytics::Battle>, Vec<String>) {
    use gamegate_analytics::synth::{self, SynthConfig};
    let (mut battles, truth) = synth::generate(&SynthConfig {
        players: 120,
        battles: 3_000,
        seed: 11,
        cheater_fraction: 0.03,
        ..SynthConfig::default()
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let first = battles.first().unwrap().started_at;
    let span = (battles.last().unwrap().started_at - first).max(1) as f64;
    let start = now - 28 * DAY;
    for b in &mut battles {
        b.started_at = start + ((b.started_at - first) as f64 / span * (27 * DAY) as f64) as i64;
    }
    (battles, truth.cheaters.into_iter().collect())
}

/// What the page shows, read out of the DOM.
#[derive(Debug)]
struct Drawn {
    /// chart id → (data-state, the data-value of every drawn bar, data-total)
    charts: std::collections::BTreeMap<&'static str, (String, Vec<i64>, i64)>,
    leaderboard: Vec<String>,
    flagged: Vec<String>,
    flagged_reasons: Vec<usize>,
}

async fn texts(
    client: &fantoccini::Client,
    css: &str,
) -> Result<Vec<String>, fantoccini::error::CmdError> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await? {
        out.push(e.text().await?);
    }
    Ok(out)
}

async fn read_dashboard(client: &fantoccini::Client) -> Result<Drawn, fantoccini::error::CmdError> {
    let mut charts = std::collections::BTreeMap::new();
    for id in ["chart-registrations", "chart-battles", "chart-ratings"] {
        let chart = client.find(Locator::Id(id)).await?;
        let state = chart.attr("data-state").await?.unwrap_or_default();
        let total = chart
            .attr("data-total")
            .await?
            .map_or(-1, |t| t.parse().unwrap());
        let mut values = Vec::new();
        for bar in chart.find_all(Locator::Css("svg rect.bar")).await? {
            values.push(bar.attr("data-value").await?.unwrap().parse().unwrap());
        }
        charts.insert(id, (state, values, total));
    }
    let mut flagged_reasons = Vec::new();
    for row in client.find_all(Locator::Css("#flagged tbody tr")).await? {
        flagged_reasons.push(row.find_all(Locator::Css("li")).await?.len());
    }
    Ok(Drawn {
        charts,
        leaderboard: texts(client, "#leaderboard tbody td.login").await?,
        flagged: texts(client, "#flagged tbody td.login").await?,
        flagged_reasons,
    })
}

async fn api_json(http: &reqwest::Client, url: String) -> serde_json::Value {
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_draws_every_chart_with_the_apis_data_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path(), |c| {
        // This test brings its own history, spread over recent days.
        c.analytics.seed_demo_history = false;
        c.analytics.ingest_tokens = vec![INGEST_TOKEN.into()];
        c.analytics.anomalies_refresh_secs = 1;
        c.edge.register_per_minute = 1_000;
        c.edge.register_burst = 100;
    })
    .await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let admin = |path: &str| format!("http://{}{path}", app.admin());

    // Battles through the ingestion endpoint, as a game server sends them.
    let (battles, cheaters) = recent_history();
    for batch in battles.chunks(1_000) {
        let r = http
            .post(admin("/stats/battles"))
            .bearer_auth(INGEST_TOKEN)
            .json(batch)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    // Registrations through the public API, then some moved to earlier days
    // (the API stamps them now) so the chart has a history.
    for i in 0..8i64 {
        let r = http
            .post(format!("http://{}/api/register", app.public()))
            .header("x-api-key", API_KEY)
            .json(&support::player(&format!("Dash_{i}"), 500_000 + i))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        if i % 3 != 0 {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE telegram_players SET created_at = created_at - {} WHERE login_norm = 'dash_{i}'",
                i * DAY
            )))
            .execute(app.db.pool())
            .await
            .unwrap();
        }
    }
    // The anomaly pass over every battle, before the page asks for it.
    let waited = Instant::now();
    loop {
        let r = http.get(admin("/ml/anomalies")).send().await.unwrap();
        if r.status() == 200 {
            let body: serde_json::Value = r.json().await.unwrap();
            if body["battles_analysed"] == battles.len() {
                break;
            }
        }
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "no anomaly pass over the history"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let (mut chromedriver, driver_url) = start_chromedriver(&driver).await;
    let client = chromium_session(&chromium, &driver_url, "1280,1350").await;
    let outcome = tokio::time::timeout(Duration::from_secs(120), async {
        client.goto(&admin("/admin/dashboard")).await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let drawn = read_dashboard(&client).await?;
        let png = client.screenshot().await?;
        Ok::<_, fantoccini::error::CmdError>((drawn, png))
    })
    .await;
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    let (drawn, png) = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the dashboard test did not finish within 120 s"),
    };
    save_screenshot(&png, "dashboard.png");

    // The same figures straight from the API the page used.
    let registrations = api_json(&http, admin("/stats/registrations?since=30d&by=day")).await;
    let summary = api_json(&http, admin("/stats/summary?days=30")).await;
    let histogram = api_json(&http, admin("/stats/ratings/histogram?bins=20")).await;
    let leaderboard = api_json(&http, admin("/stats/leaderboard?mode=pvp&limit=20")).await;
    let anomalies = api_json(&http, admin("/ml/anomalies?limit=50")).await;
    app.shutdown.cancel();

    let nonzero = |values: &[i64]| values.iter().filter(|v| **v > 0).count();
    let (state, bars, total) = &drawn.charts["chart-registrations"];
    assert_eq!(state, "ready", "{drawn:?}");
    assert_eq!(registrations["total"], 8);
    assert_eq!(*total, 8);
    assert_eq!(bars.iter().sum::<i64>(), 8);
    assert_eq!(
        nonzero(bars),
        registrations["buckets"].as_array().unwrap().len()
    );
    assert!(
        nonzero(bars) >= 5,
        "registrations on several days: {bars:?}"
    );

    let (state, bars, total) = &drawn.charts["chart-battles"];
    assert_eq!(state, "ready", "{drawn:?}");
    assert_eq!(summary["battles"], battles.len());
    assert_eq!(*total as usize, battles.len());
    assert_eq!(bars.iter().sum::<i64>() as usize, battles.len());
    assert_eq!(nonzero(bars), summary["per_day"].as_array().unwrap().len());
    assert!(nonzero(bars) >= 25, "battles on most of 28 days: {bars:?}");
    let per_day: Vec<i64> = summary["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["battles"].as_i64().unwrap())
        .collect();
    let drawn_days: Vec<i64> = bars.iter().copied().filter(|v| *v > 0).collect();
    assert_eq!(drawn_days, per_day, "one bar per day, in order");

    let (state, bars, total) = &drawn.charts["chart-ratings"];
    assert_eq!(state, "ready", "{drawn:?}");
    let bins: Vec<i64> = histogram["bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["players"].as_i64().unwrap())
        .collect();
    assert_eq!(bins.len(), 20);
    assert_eq!(*bars, bins);
    assert_eq!(*total, histogram["players"].as_i64().unwrap());
    assert!(*total >= 100, "most of the 120 players are rated: {total}");

    let board: Vec<&str> = leaderboard["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap())
        .collect();
    assert_eq!(board.len(), 20);
    assert_eq!(drawn.leaderboard, board);

    let flagged: Vec<&str> = anomalies["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap())
        .collect();
    assert!(!flagged.is_empty(), "{anomalies}");
    assert_eq!(drawn.flagged, flagged);
    assert!(
        drawn.flagged_reasons.iter().all(|n| *n >= 1),
        "each row gives its reasons"
    );
    assert!(
        cheaters.iter().any(|c| drawn.flagged.contains(c)),
        "a planted cheater ({cheaters:?}) is in the flagged table ({:?})",
        drawn.flagged
    );
    eprintln!("dashboard test took {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_says_no_data_on_an_empty_history_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path(), |c| c.analytics.seed_demo_history = false).await;
    let (mut chromedriver, driver_url) = start_chromedriver(&driver).await;
    let client = chromium_session(&chromium, &driver_url, "1280,1000").await;
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        client
            .goto(&format!("http://{}/admin/dashboard", app.admin()))
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let mut states = Vec::new();
        for id in [
            "chart-registrations",
            "chart-battles",
            "chart-ratings",
            "leaderboard",
            "flagged",
        ] {
            let element = client.find(Locator::Id(id)).await?;
            states.push((id, element.attr("data-state").await?, element.text().await?));
        }
        let bars = client.find_all(Locator::Css("rect.bar")).await?.len();
        let notice = synthetic_notice(&client).await?;
        Ok::<_, fantoccini::error::CmdError>((states, bars, notice))
    })
    .await;
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    app.shutdown.cancel();
    let (states, bars, notice) = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the dashboard test did not finish within 60 s"),
    };
    // Every endpoint answered (no "error" state), with nothing to draw.
    for (id, state, text) in &states {
        assert_eq!(state.as_deref(), Some("empty"), "{id}: {text}");
        assert!(text.starts_with("No "), "{id}: {text}");
    }
    assert_eq!(bars, 0);
    assert_eq!(
        notice,
        (Some("0".to_owned()), true, String::new()),
        "no synthetic battles, no notice"
    );
}

/// The dashboard's notice of synthetic battles: its `data-synthetic` count,
/// whether it is hidden, and its text.
async fn synthetic_notice(
    client: &fantoccini::Client,
) -> Result<(Option<String>, bool, String), fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#synthetic[data-synthetic]"))
        .await?;
    let notice = client.find(Locator::Id("synthetic")).await?;
    Ok((
        notice.attr("data-synthetic").await?,
        notice.attr("hidden").await?.is_some(),
        notice.text().await?,
    ))
}

/// Over synthetic battles (the demo history of `gamegate all`: negative
/// ids), the dashboard says so — how many of how many, and the command that
/// removes them — so an operator never takes them for players.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_says_when_it_shows_synthetic_battles_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The demo's generator, smaller than `gamegate all`'s 5,000 battles.
    let analytics = format!("sqlite://{}", dir.path().join("analytics.db").display());
    let db = gamegate_store::Database::connect(&analytics, &Default::default())
        .await
        .unwrap();
    db.migrate(gamegate_store::MigrationSet::Analytics)
        .await
        .unwrap();
    assert!(
        gamegate::app::battle_import::seed_if_empty(&db, 40, 300)
            .await
            .unwrap()
    );
    db.close().await;
    let app = start_app(dir.path(), |c| c.analytics.seed_demo_history = false).await;
    let (mut chromedriver, driver_url) = start_chromedriver(&driver).await;
    let client = chromium_session(&chromium, &driver_url, "1280,1000").await;
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        client
            .goto(&format!("http://{}/admin/dashboard", app.admin()))
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        synthetic_notice(&client).await
    })
    .await;
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    app.shutdown.cancel();
    let (count, hidden, text) = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the dashboard test did not finish within 60 s"),
    };
    assert_eq!(count.as_deref(), Some("300"));
    assert!(!hidden, "the notice is shown: {text}");
    assert_eq!(
        text,
        "Synthetic demo data: 300 of the 300 battles shown are generated, not played. \
         Remove them with: gamegate battles purge-demo"
    );
}

const ADMIN_TOKEN: &str = "browser-operator-token-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_behind_an_admin_token_opens_with_basic_credentials_in_chromium() {
    let Some((chromium, driver)) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let app = start_app(dir.path(), |c| {
        c.analytics.seed_demo_history = false;
        c.admin.tokens = vec![ADMIN_TOKEN.into()];
    })
    .await;
    let (mut chromedriver, driver_url) = start_chromedriver(&driver).await;
    let client = chromium_session(&chromium, &driver_url, "1280,1000").await;
    let outcome = tokio::time::timeout(Duration::from_secs(60), async {
        // Without credentials: the challenge, not the page.
        client
            .goto(&format!("http://{}/admin/dashboard", app.admin()))
            .await?;
        let refused = client.source().await?;
        let scripts = client.find_all(Locator::Css("script")).await?.len();
        // With the token as the Basic password (any user name): the page,
        // whose script and JSON requests the browser authenticates itself.
        client
            .goto(&format!(
                "http://operator:{ADMIN_TOKEN}@{}/admin/dashboard",
                app.admin()
            ))
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let mut states = Vec::new();
        for id in [
            "chart-registrations",
            "chart-battles",
            "chart-ratings",
            "leaderboard",
            "flagged",
        ] {
            let element = client.find(Locator::Id(id)).await?;
            states.push((id, element.attr("data-state").await?, element.text().await?));
        }
        Ok::<_, fantoccini::error::CmdError>((refused, scripts, states))
    })
    .await;
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    app.shutdown.cancel();
    let (refused, scripts, states) = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the dashboard test did not finish within 60 s"),
    };
    // Headless Chromium cancels the login dialog: an empty document.
    assert!(!refused.contains("dashboard"), "{refused}");
    assert_eq!(
        scripts, 0,
        "no dashboard script without credentials: {refused}"
    );
    // Every guarded endpoint the page reads answered it (no "error" state).
    for (id, state, text) in &states {
        assert_eq!(state.as_deref(), Some("empty"), "{id}: {text}");
    }
}

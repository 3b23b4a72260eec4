//! The web pages in a real browser: headless Chromium driven over WebDriver
//! (chromedriver, started here on a free port) against `gamegate all`
//! started in-process.
//!
//! - The demo registration page: fills the form, sees the success message,
//!   then the `login_taken` message for a taken login, and saves a
//!   screenshot (target/browser-screenshots/register.png).
//! - The admin dashboard over a synthetic battle history and real
//!   registrations: every chart (Chart.js, read through its instances) and
//!   table drawn with the numbers the API gives, regular date labels, axis
//!   titles, integer count ticks, a tooltip, the window stated on every card
//!   and panel and one selector for it, a planted cheater in the flagged
//!   table, and a screenshot (target/browser-screenshots/dashboard.png;
//!   with `GAMEGATE_DOCS_SCREENSHOTS=1` also docs/dashboard-screenshot.png);
//!   over an empty history, every chart says there is no data;
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
    let now = gamegate_store::unix_now();
    let first = battles.first().unwrap().started_at;
    let span = (battles.last().unwrap().started_at - first).max(1) as f64;
    let start = now - 28 * DAY;
    for b in &mut battles {
        b.started_at = start + ((b.started_at - first) as f64 / span * (27 * DAY) as f64) as i64;
    }
    (battles, truth.cheaters.into_iter().collect())
}

/// Every chart as drawn, read from its Chart.js instance
/// (`Chart.getChart(canvas)`): per chart id, its box's `data-state`, the
/// category keys (`chart.data.labels`), the data, the value each drawn bar
/// stands for (its top pixel mapped back through the y scale), the x ticks
/// that carry a label (index, label), the y ticks (value, label) and the
/// axis titles.
const READ_CHARTS: &str = r#"
const out = {};
for (const id of ['chart-registrations', 'chart-battles', 'chart-ratings']) {
  const box = document.getElementById(id);
  const canvas = box.querySelector('canvas');
  const chart = canvas ? Chart.getChart(canvas) : undefined;
  const c = { state: box.dataset.state };
  if (chart) {
    const x = chart.scales.x, y = chart.scales.y;
    c.keys = chart.data.labels;
    c.values = chart.data.datasets[0].data;
    c.drawn = chart.getDatasetMeta(0).data.map((bar) => y.getValueForPixel(bar.y));
    c.x_ticks = x.ticks.filter((t) => t.label !== null && t.label !== undefined && t.label !== '')
      .map((t) => [t.value, String(t.label)]);
    c.y_ticks = y.ticks.map((t) => [t.value, String(t.label)]);
    c.x_title = x.options.title.display ? x.options.title.text : '';
    c.y_title = y.options.title.display ? y.options.title.text : '';
  }
  out[id] = c;
}
return out;
"#;

/// The page's text around its figures: each card's and each panel's stated
/// window, each panel's API link, the visible text and the count of CSP
/// violations the page saw.
const READ_PAGE: &str = r#"
return {
  cards: [...document.querySelectorAll('#totals .card')].map((c) =>
    [c.id, c.querySelector('.value').textContent, c.querySelector('.window').textContent]),
  panels: [...document.querySelectorAll('main .panel')].map((p) =>
    [p.querySelector('h2').textContent, p.querySelector('.window').textContent,
     p.querySelector('a.api').getAttribute('href'), p.querySelector('a.api').textContent]),
  text: document.body.innerText,
  csp_violations: document.body.dataset.cspViolations,
};
"#;

/// Moves the mouse (a `mousemove` on the canvas) over bar `index` of chart
/// `id`, where Chart.js's own hover handling opens its tooltip.
const HOVER: &str = r#"
const [id, index] = arguments;
const canvas = document.querySelector(`#${id} canvas`);
const bar = Chart.getChart(canvas).getDatasetMeta(0).data[index];
const rect = canvas.getBoundingClientRect();
canvas.dispatchEvent(new MouseEvent('mousemove', {
  clientX: rect.left + bar.x, clientY: rect.top + bar.y + 2, bubbles: true,
}));
"#;

/// The tooltip of chart `id`: shown or not, its data index, title and lines.
const TOOLTIP: &str = r#"
const tip = Chart.getChart(document.querySelector(`#${arguments[0]} canvas`)).tooltip;
// Before the first hover is handled, the tooltip has no dataPoints yet.
const points = tip.dataPoints || [];
return {
  shown: tip.opacity > 0 && points.length > 0,
  index: points.length > 0 ? points[0].dataIndex : null,
  title: tip.title || [],
  lines: (tip.body || []).flatMap((b) => b.lines),
};
"#;

/// One chart as drawn (see [`READ_CHARTS`]).
#[derive(Debug, serde::Deserialize)]
struct Chart {
    state: String,
    #[serde(default)]
    keys: Vec<String>,
    #[serde(default)]
    values: Vec<i64>,
    #[serde(default)]
    drawn: Vec<f64>,
    #[serde(default)]
    x_ticks: Vec<(usize, String)>,
    #[serde(default)]
    y_ticks: Vec<(f64, String)>,
    #[serde(default)]
    x_title: String,
    #[serde(default)]
    y_title: String,
}

impl Chart {
    /// Checks what every chart must be: ready, one drawn bar per key at the
    /// height of its value, a labelled x axis with more than two labels at
    /// a regular step ending on the last key, integer count ticks and both
    /// axis titles.
    fn check_drawn(&self, id: &str) {
        assert_eq!(self.state, "ready", "{id}: {self:?}");
        assert_eq!(self.values.len(), self.keys.len(), "{id}");
        assert_eq!(self.drawn.len(), self.values.len(), "{id}: one bar per key");
        for (i, (drawn, value)) in self.drawn.iter().zip(&self.values).enumerate() {
            assert!(
                (drawn - *value as f64).abs() < 0.5,
                "{id}: bar {i} drawn at {drawn}, its value is {value}"
            );
        }
        assert!(self.x_ticks.len() > 2, "{id}: x labels {:?}", self.x_ticks);
        let at: Vec<usize> = self.x_ticks.iter().map(|(i, _)| *i).collect();
        let step = at[1] - at[0];
        assert!(
            at.windows(2).all(|w| w[1] - w[0] == step),
            "{id}: x labels at a regular step: {at:?}"
        );
        assert_eq!(
            *at.last().unwrap(),
            self.keys.len() - 1,
            "{id}: last key labelled"
        );
        assert!(self.y_ticks.len() >= 2, "{id}: {:?}", self.y_ticks);
        for (value, label) in &self.y_ticks {
            assert!(
                value.fract() == 0.0 && !label.contains('.'),
                "{id}: a count axis has integer ticks only: {:?}",
                self.y_ticks
            );
        }
        assert!(
            !self.x_title.is_empty() && !self.y_title.is_empty(),
            "{id}: axis titles"
        );
    }

    /// A daily chart over `days` days from `since` (unix seconds, a UTC day
    /// start): its keys are those days in order, its x labels those days'
    /// dates ("Nov 3").
    fn check_days(&self, id: &str, since: i64, days: usize) {
        let expected: Vec<String> = (0..days as i64)
            .map(|i| iso_date(since + i * DAY))
            .collect();
        assert_eq!(self.keys, expected, "{id}: one bar per day of the window");
        for (i, label) in &self.x_ticks {
            assert_eq!(
                *label,
                short_date(&self.keys[*i]),
                "{id}: label of {}",
                self.keys[*i]
            );
        }
        assert_eq!(self.x_title, "day (UTC)", "{id}");
    }
}

/// `YYYY-MM-DD` of a unix time (UTC), by the civil-from-days algorithm.
fn iso_date(unix: i64) -> String {
    let z = unix.div_euclid(DAY) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// "Nov 3" for "2026-11-03".
fn short_date(iso: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month: usize = iso[5..7].parse().unwrap();
    let day: u32 = iso[8..10].parse().unwrap();
    format!("{} {day}", MONTHS[month - 1])
}

/// What the page shows, read out of the DOM and the charts.
#[derive(Debug)]
struct Drawn {
    charts: std::collections::BTreeMap<String, Chart>,
    page: Page,
    leaderboard: Vec<String>,
    flagged: Vec<String>,
    flagged_reasons: Vec<usize>,
}

/// See [`READ_PAGE`].
#[derive(Debug, serde::Deserialize)]
struct Page {
    /// (id, value, stated window)
    cards: Vec<(String, String, String)>,
    /// (title, stated window, API link, its text)
    panels: Vec<(String, String, String, String)>,
    text: String,
    csp_violations: String,
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
    let charts = serde_json::from_value(client.execute(READ_CHARTS, vec![]).await?).unwrap();
    let page = serde_json::from_value(client.execute(READ_PAGE, vec![]).await?).unwrap();
    let mut flagged_reasons = Vec::new();
    for row in client.find_all(Locator::Css("#flagged tbody tr")).await? {
        flagged_reasons.push(row.find_all(Locator::Css("li")).await?.len());
    }
    Ok(Drawn {
        charts,
        page,
        leaderboard: texts(client, "#leaderboard tbody td.login").await?,
        flagged: texts(client, "#flagged tbody td.login").await?,
        flagged_reasons,
    })
}

/// Hovers bar `index` of chart `id` and returns its tooltip once Chart.js
/// has drawn it (it handles pointer events on the next animation frame).
async fn hover(
    client: &fantoccini::Client,
    id: &str,
    index: usize,
) -> Result<serde_json::Value, fantoccini::error::CmdError> {
    client.execute(HOVER, vec![id.into(), index.into()]).await?;
    let waited = Instant::now();
    loop {
        let tip = client.execute(TOOLTIP, vec![id.into()]).await?;
        if tip["shown"] == true || waited.elapsed() > Duration::from_secs(10) {
            return Ok(tip);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The stated windows: the registration and battle figures over the chosen
/// days, the rest over all time; every panel links its JSON as "API" and no
/// endpoint address is shown as text.
fn check_windows(page: &Page, days: usize) {
    let last = format!("last {days} days");
    let cards: Vec<(&str, &str)> = page
        .cards
        .iter()
        .map(|(id, _, window)| (id.as_str(), window.as_str()))
        .collect();
    assert_eq!(
        cards,
        [
            ("card-registrations", last.as_str()),
            ("card-battles", last.as_str()),
            ("card-active", last.as_str()),
            ("card-rated", "all time"),
            ("card-flagged", "all time"),
        ]
    );
    let windows: Vec<&str> = page.panels.iter().map(|p| p.1.as_str()).collect();
    assert_eq!(
        windows,
        [
            last.as_str(),
            last.as_str(),
            "all time",
            "all time",
            "all time"
        ]
    );
    assert!(
        page.panels.iter().all(|p| p.3 == "API"),
        "{:?}",
        page.panels
    );
    for raw in ["/stats/", "/ml/", "GET /"] {
        assert!(
            !page.text.contains(raw),
            "{raw} shown as text:\n{}",
            page.text
        );
    }
    assert_eq!(page.csp_violations, "0", "the page broke its CSP");
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
        // Dash_7 a minute before the 7-day window's first day: inside
        // `since=7d` (now − 7 days) unless this runs in the last minute of
        // a UTC day, but outside the window the page draws.
        let created_at = if i == 7 {
            Some(format!(
                "{}",
                gamegate_store::unix_now() / DAY * DAY - 6 * DAY - 60
            ))
        } else if i % 3 != 0 {
            Some(format!("created_at - {}", i * DAY))
        } else {
            None
        };
        if let Some(created_at) = created_at {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE telegram_players SET created_at = {created_at} WHERE login_norm = 'dash_{i}'"
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
    let client = chromium_session(&chromium, &driver_url, "1280,1400").await;
    let outcome = tokio::time::timeout(Duration::from_secs(120), async {
        client.goto(&admin("/admin/dashboard")).await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-loaded='true']"))
            .await?;
        let drawn = read_dashboard(&client).await?;
        // The busiest day of the battles chart, hovered: its tooltip (in
        // the screenshot too).
        let busiest = drawn.charts["chart-battles"]
            .values
            .iter()
            .enumerate()
            .max_by_key(|(_, v)| **v)
            .map_or(0, |(i, _)| i);
        let tooltip = hover(&client, "chart-battles", busiest).await?;
        let png = client.screenshot().await?;
        // The window selector: 7 days, for every daily panel and card.
        client
            .find(Locator::Id("window"))
            .await?
            .select_by_value("7")
            .await?;
        client
            .wait()
            .at_most(Duration::from_secs(30))
            .for_element(Locator::Css("body[data-days='7'][data-loaded='true']"))
            .await?;
        let week = read_dashboard(&client).await?;
        Ok::<_, fantoccini::error::CmdError>((drawn, busiest, tooltip, png, week))
    })
    .await;
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    let (drawn, busiest, tooltip, png, week) = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the dashboard test did not finish within 120 s"),
    };
    save_screenshot(&png, "dashboard.png");
    if std::env::var_os("GAMEGATE_DOCS_SCREENSHOTS").is_some() {
        let docs =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/dashboard-screenshot.png");
        std::fs::write(&docs, &png).unwrap();
        eprintln!("screenshot: {}", docs.display());
    }

    // The same figures straight from the API the page used; each panel's
    // "API" link is that address.
    let paths = [
        "/stats/registrations?since=30d&by=day",
        "/stats/summary?days=30",
        "/stats/ratings/histogram?bins=20",
        "/stats/leaderboard?mode=pvp&limit=20",
        "/ml/anomalies?limit=50",
    ];
    let links: Vec<&str> = drawn.page.panels.iter().map(|p| p.2.as_str()).collect();
    assert_eq!(links, paths);
    let registrations = api_json(&http, admin(paths[0])).await;
    let summary = api_json(&http, admin(paths[1])).await;
    let histogram = api_json(&http, admin(paths[2])).await;
    let leaderboard = api_json(&http, admin(paths[3])).await;
    let anomalies = api_json(&http, admin(paths[4])).await;
    let registrations_7 = api_json(&http, admin("/stats/registrations?since=7d&by=day")).await;
    let summary_7 = api_json(&http, admin("/stats/summary?days=7")).await;
    app.shutdown.cancel();

    for (id, chart) in drawn.charts.iter().chain(&week.charts) {
        chart.check_drawn(id);
    }
    check_windows(&drawn.page, 30);
    check_windows(&week.page, 7);

    // Registrations and battles per day, over the same 30 days.
    let since = summary["since"].as_i64().unwrap();
    assert_eq!(since % DAY, 0, "a UTC day start");
    let chart = &drawn.charts["chart-registrations"];
    chart.check_days("chart-registrations", since, 30);
    assert_eq!(chart.y_title, "registrations");
    assert_eq!(registrations["total"], 8);
    assert_eq!(
        chart.values,
        per_day(&registrations, "start", "count", since, 30)
    );
    assert_eq!(chart.values.iter().sum::<i64>(), 8);
    let nonzero = |values: &[i64]| values.iter().filter(|v| **v > 0).count();
    assert!(
        nonzero(&chart.values) >= 5,
        "registrations on several days: {chart:?}"
    );

    let chart = &drawn.charts["chart-battles"];
    chart.check_days("chart-battles", since, 30);
    assert_eq!(chart.y_title, "battles");
    assert_eq!(summary["battles"], battles.len());
    assert_eq!(
        chart.values,
        per_day(&summary, "day_start", "battles", since, 30)
    );
    assert_eq!(chart.values.iter().sum::<i64>() as usize, battles.len());
    assert!(
        nonzero(&chart.values) >= 25,
        "battles on most of 28 days: {chart:?}"
    );

    // The hovered bar's tooltip: its day and its count.
    assert_eq!(tooltip["shown"], true, "{tooltip}");
    assert_eq!(tooltip["index"], busiest, "{tooltip}");
    assert_eq!(
        tooltip["title"][0],
        format!("{} (UTC)", chart.keys[busiest])
    );
    assert_eq!(
        tooltip["lines"][0],
        format!("battles: {}", chart.values[busiest])
    );

    let chart = &drawn.charts["chart-ratings"];
    let bins: Vec<i64> = column(&histogram, "bins", "players", |v| v.as_i64());
    assert_eq!(bins.len(), 20);
    assert_eq!(chart.values, bins);
    let edges: Vec<f64> = column(&histogram, "bins", "from", |v| v.as_f64());
    for (i, label) in &chart.x_ticks {
        assert_eq!(
            label.parse::<f64>().unwrap(),
            (edges[*i] * 10.0).round() / 10.0
        );
    }
    assert_eq!(chart.y_title, "players");
    assert!(chart.x_title.contains("rating"), "{}", chart.x_title);
    let players = histogram["players"].as_i64().unwrap();
    assert_eq!(chart.values.iter().sum::<i64>(), players);
    assert!(
        players >= 100,
        "most of the 120 players are rated: {players}"
    );

    // The cards: the charts' totals and the API's.
    let cards: Vec<&str> = drawn.page.cards.iter().map(|c| c.1.as_str()).collect();
    let expected = [
        "8".to_owned(),
        summary["battles"].to_string(),
        summary["active_players"].to_string(),
        players.to_string(),
        anomalies["flagged"].to_string(),
    ];
    assert_eq!(cards, expected);

    // The 7-day window: both daily charts over the summary's 7 days; the
    // registration a minute before it, which `since=7d` answers, falls out.
    let since_7 = summary_7["since"].as_i64().unwrap();
    assert_eq!(since_7, since + 23 * DAY);
    let before: Vec<&serde_json::Value> = registrations_7["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["start"].as_i64().unwrap() < since_7)
        .collect();
    assert_eq!(before.len(), 1, "{registrations_7}");
    assert_eq!(before[0]["count"], 1);
    let chart = &week.charts["chart-registrations"];
    chart.check_days("chart-registrations", since_7, 7);
    assert_eq!(
        chart.values,
        per_day(&registrations_7, "start", "count", since_7, 7)
    );
    assert_eq!(chart.values.iter().sum::<i64>(), 7);
    assert_eq!(week.page.cards[0].1, "7");
    let chart = &week.charts["chart-battles"];
    chart.check_days("chart-battles", since_7, 7);
    assert_eq!(
        chart.values,
        per_day(&summary_7, "day_start", "battles", since_7, 7)
    );
    assert_eq!(week.page.cards[1].1, summary_7["battles"].to_string());
    assert_eq!(week.charts["chart-ratings"].values, bins, "all time");

    let board: Vec<&str> = column(&leaderboard, "players", "login", |v| v.as_str());
    assert_eq!(board.len(), 20);
    assert_eq!(drawn.leaderboard, board);

    let flagged: Vec<&str> = column(&anomalies, "players", "login", |v| v.as_str());
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

/// Field `field` of every item of the array `list` of an API answer, each
/// read by `read` (which must succeed).
fn column<'a, T>(
    answer: &'a serde_json::Value,
    list: &str,
    field: &str,
    read: impl Fn(&'a serde_json::Value) -> Option<T>,
) -> Vec<T> {
    answer[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| read(&item[field]).unwrap_or_else(|| panic!("{list}[].{field}: {item}")))
        .collect()
}

/// The API's per-day figures (the items of `buckets` or `per_day`, whose
/// field `day` is a UTC day start and `value` the count) laid over the
/// `days` days from `since`: the value of each day, 0 for a day the answer
/// leaves out; items outside the window are not counted.
fn per_day(
    answer: &serde_json::Value,
    day: &str,
    value: &str,
    since: i64,
    days: usize,
) -> Vec<i64> {
    let list = answer["buckets"]
        .as_array()
        .or(answer["per_day"].as_array())
        .unwrap();
    let mut out = vec![0; days];
    for item in list {
        let offset = (item[day].as_i64().unwrap() - since).div_euclid(DAY);
        if (0..days as i64).contains(&offset) {
            out[offset as usize] = item[value].as_i64().unwrap();
        }
    }
    out
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
        let charts = client.find_all(Locator::Css("canvas")).await?.len();
        let notice = synthetic_notice(&client).await?;
        Ok::<_, fantoccini::error::CmdError>((states, charts, notice))
    })
    .await;
    let _ = client.close().await;
    let _ = chromedriver.kill().await;
    app.shutdown.cancel();
    let (states, charts, notice) = match outcome {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => panic!("WebDriver command failed: {e}"),
        Err(_) => panic!("the dashboard test did not finish within 60 s"),
    };
    // Every endpoint answered (no "error" state), with nothing to draw.
    for (id, state, text) in &states {
        assert_eq!(state.as_deref(), Some("empty"), "{id}: {text}");
        assert!(text.starts_with("No "), "{id}: {text}");
    }
    assert_eq!(charts, 0, "no chart drawn");
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

//! The demo registration page in a real browser: headless Chromium driven
//! over WebDriver (chromedriver, started here on a free port) against
//! `gamegate all` started in-process with the demo page on. Fills the form,
//! sees the success message, then the `login_taken` message for a taken
//! login, and saves a screenshot (target/browser-screenshots/register.png).
//!
//! Needs chromium and chromium-driver (`.ci/run` installs them). Without them
//! the test is skipped with a notice — except under `CI`, where it fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use gamegate::Config;
use gamegate::startup::Application;
use tokio::process::{Child, Command};

#[path = "support/tools.rs"]
mod tools;
use tools::{free_port, which};

const API_KEY: &str = "browser-suite-key-0123456789abcdef";
const TAKEN_RU: &str = "Этот логин уже занят. Выберите другой.";
const REGISTERED_RU: &str = "Регистрация успешна!";

/// Chromium and chromedriver, or `None` (with a notice) outside CI.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = which(&["chromium", "chromium-browser", "google-chrome"]);
    let driver = which(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => Some((chromium, driver)),
        _ if std::env::var_os("CI").is_some() => panic!(
            "chromium or chromedriver is not installed, but CI must run the browser test \
             (apt-get install -y chromium chromium-driver; see .ci/run)"
        ),
        _ => {
            eprintln!(
                "SKIPPED: chromium not installed (apt-get install -y chromium chromium-driver)"
            );
            None
        }
    }
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
/// fresh SQLite database and the embedded mock game server.
async fn start_app(dir: &Path) -> (SocketAddr, tokio_util::sync::CancellationToken) {
    let mut c = Config::default();
    c.http.public_addr = "127.0.0.1:0".parse().unwrap();
    c.http.admin_addr = "127.0.0.1:0".parse().unwrap();
    assert!(c.http.demo_site, "the demo page is on by default");
    c.game_server.addr = "127.0.0.1:0".into();
    c.game_server.embedded_mock = true;
    c.password_hash.memory_kib = 1024;
    c.password_hash.iterations = 1;
    c.log.level = "warn".into();
    c.log.access_log = "off".into();
    c.edge.api_keys = vec![API_KEY.into()];
    c.database.url = format!("sqlite://{}", dir.join("gamegate.db").display());
    c.analytics.url = format!("sqlite://{}", dir.join("analytics.db").display());
    let app = Application::build(c).await.expect("application builds");
    let addr = app.public_addr();
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run_until_stopped());
    (addr, shutdown)
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
    let (addr, shutdown) = start_app(dir.path()).await;
    let (mut chromedriver, driver_url) = start_chromedriver(&driver).await;

    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=720,1100"],
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver_url)
        .await
        .expect("a Chromium session starts");

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

        let png = client.screenshot().await?;
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("CARGO_TARGET_TMPDIR is inside target/")
            .join("browser-screenshots");
        std::fs::create_dir_all(&target).unwrap();
        let file = target.join("register.png");
        std::fs::write(&file, &png).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        eprintln!("screenshot: {}", file.display());
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

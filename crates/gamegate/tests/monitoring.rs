//! Monitoring as an operator loads it: `gamegate render prometheus-rules`
//! checked by the real `promtool check rules` and unit-tested by `promtool
//! test rules` (the tests rendered with `--tests`, for the default and for
//! other thresholds), and `gamegate render grafana-dashboard`, whose every
//! query — and every alert expression — must name a metric a running
//! gamegate exports on `/metrics`.
//!
//! promtool comes from Debian's `prometheus` package (`.ci/run` installs
//! it). Without it the promtool tests are skipped with a notice — except
//! under `CI`, where they fail.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use gamegate::Config;
use gamegate_gameserver::Behaviour;
use reqwest::StatusCode;
use serde_json::Value;

mod support;
use support::binary;
use support::tools::{required, which};
const API_KEY: &str = "monitoring-suite-key-0123456789";

fn promtool() -> Option<PathBuf> {
    required(
        which(&["promtool"]),
        "promtool",
        "apt-get install -y prometheus",
    )
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`, which must succeed: its stdout and stderr.
fn ok(cmd: &mut Command) -> String {
    text(&binary::ok(cmd))
}

/// `gamegate --config CONFIG render ARGS…` through the real binary.
fn gamegate(config: &Path, args: &[&str]) -> Command {
    let mut cmd = binary::with_config(config, &["render"]);
    cmd.args(args);
    cmd
}

fn write_config(dir: &Path, monitoring: &str) -> PathBuf {
    let path = dir.join("gamegate.toml");
    std::fs::write(&path, format!("[monitoring]\n{monitoring}")).unwrap();
    path
}

/// Renders rules and tests into `dir` for this `[monitoring]` section.
fn render_rules(dir: &Path, monitoring: &str) -> (PathBuf, PathBuf) {
    let config = write_config(dir, monitoring);
    let (rules, tests) = (
        dir.join("gamegate-rules.yml"),
        dir.join("gamegate-rules.test.yml"),
    );
    let said = ok(gamegate(&config, &["prometheus-rules", "--out"])
        .arg(&rules)
        .arg("--tests")
        .arg(&tests));
    assert!(said.contains("promtool check rules"), "{said}");
    (rules, tests)
}

fn check_and_test(promtool: &Path, rules: &Path, tests: &Path) {
    let checked = ok(Command::new(promtool).args(["check", "rules"]).arg(rules));
    assert!(checked.contains("SUCCESS: 8 rules found"), "{checked}");
    let tested = ok(Command::new(promtool).args(["test", "rules"]).arg(tests));
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn rendered_rules_pass_promtool_check_and_their_unit_tests() {
    let Some(promtool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (rules, tests) = render_rules(dir.path(), "");
    check_and_test(&promtool, &rules, &tests);
    // Every alert of the file has a test group.
    let tests_yaml: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&tests).unwrap()).unwrap();
    let tested: BTreeSet<&str> = tests_yaml["tests"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|t| t["alert_rule_test"].as_sequence().unwrap())
        .map(|c| c["alertname"].as_str().unwrap())
        .collect();
    let rules_yaml: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    let alerts: BTreeSet<&str> = rules_yaml["groups"][0]["rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap())
        .collect();
    assert_eq!(tested, alerts);
}

#[test]
fn other_thresholds_pass_their_own_unit_tests() {
    let Some(promtool) = promtool() else { return };
    for monitoring in [
        "job = \"gg-prod\"\nregistration_error_ratio = 0.125\nhttp_5xx_ratio = 0.02\n\
         pending_registrations = 250\ncertificate_expiry_days = 21\nbans_per_10m = 7\n",
        "registration_error_ratio = 0.5\nhttp_5xx_ratio = 0.9\npending_registrations = 1\n\
         certificate_expiry_days = 1\nbans_per_10m = 1\n",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (rules, tests) = render_rules(dir.path(), monitoring);
        let text = std::fs::read_to_string(&rules).unwrap();
        if monitoring.contains("gg-prod") {
            assert!(text.contains("up{job=\"gg-prod\"} == 0"), "{text}");
            assert!(text.contains("> 250"), "{text}");
            assert!(text.contains("< 21 * 86400"), "{text}");
        }
        check_and_test(&promtool, &rules, &tests);
    }
}

/// The unit tests are not vacuous: run against rules with other thresholds,
/// they fail, naming the alerts whose behaviour changed.
#[test]
fn unit_tests_fail_against_rules_with_other_thresholds() {
    let Some(promtool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (rules, tests) = render_rules(dir.path(), "");
    let other = tempfile::tempdir().unwrap();
    let (other_rules, _) = render_rules(
        other.path(),
        "pending_registrations = 5000\nbans_per_10m = 5000\n",
    );
    std::fs::copy(&other_rules, &rules).unwrap();
    let out = run(Command::new(&promtool).args(["test", "rules"]).arg(&tests));
    let said = text(&out);
    assert!(!out.status.success(), "passed against other rules:\n{said}");
    for alert in ["GamegatePendingRegistrationsGrowing", "GamegateBanSpike"] {
        assert!(said.contains(alert), "{alert} not reported:\n{said}");
    }
    assert!(!said.contains("GamegateDatabaseDown"), "{said}");
}

/// The tests file in another directory names the rules by absolute path.
#[test]
fn tests_in_another_directory_find_the_rules() {
    let Some(promtool) = promtool() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "bans_per_10m = 3\n");
    let rules = dir.path().join("rules").join("gamegate.yml");
    std::fs::create_dir_all(rules.parent().unwrap()).unwrap();
    let tests_dir = dir.path().join("tests");
    std::fs::create_dir_all(&tests_dir).unwrap();
    let tests = tests_dir.join("gamegate.test.yml");
    ok(gamegate(&config, &["prometheus-rules", "--out"])
        .arg(&rules)
        .arg("--tests")
        .arg(&tests));
    assert!(
        std::fs::read_to_string(&tests)
            .unwrap()
            .contains(&rules.display().to_string())
    );
    check_and_test(&promtool, &rules, &tests);
}

#[test]
fn printing_to_stdout_and_refusing_tests_without_a_rules_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "http_5xx_ratio = 0.3\n");
    let yaml = ok(&mut gamegate(&config, &["prometheus-rules", "--out", "-"]));
    let doc: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    assert_eq!(doc["groups"][0]["rules"].as_sequence().unwrap().len(), 8);
    assert!(yaml.contains(") > 0.3"), "{yaml}");
    let out = run(&mut gamegate(
        &config,
        &["prometheus-rules", "--out", "-", "--tests", "t.yml"],
    ));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--tests needs the rules in a file"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("t.yml").exists());

    let json_text = ok(&mut gamegate(&config, &["grafana-dashboard", "--out", "-"]));
    let dashboard: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(dashboard, gamegate::commands::render::grafana::dashboard());
    let file = dir.path().join("dash.json");
    let said = ok(gamegate(&config, &["grafana-dashboard", "--out"]).arg(&file));
    assert!(said.contains("import it in Grafana"), "{said}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), json_text);
}

// ---- the metrics the rules and the dashboard name, against a live /metrics ----

/// A self-signed certificate for `localhost` expiring `days` from now
/// (whole seconds, as X.509 stores it); returns its PEMs and expiry.
fn certificate(days: i64) -> (String, String, i64) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    params.not_before = now - time::Duration::days(1);
    let not_after = now + time::Duration::days(days);
    params.not_after = not_after;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem(), not_after.unix_timestamp())
}

async fn start(dir: &Path, cert: &Path, key: &Path) -> support::Started {
    let mut c = support::local_config();
    support::sqlite_in(&mut c, dir);
    c.http.tls_cert_file = cert.display().to_string();
    c.http.tls_key_file = key.display().to_string();
    c.http.tls_reload_interval_ms = 100;
    support::quick_timeouts(&mut c);
    c.analytics.seed_demo_history = false;
    // The game server's polls, which keep gamegate_game_server_up.
    c.status.refresh_interval_ms = 200;
    c.edge.api_keys = vec![API_KEY.into()];
    support::start(c).await
}

/// A scrape: sample values by series (`name{labels}`), and the declared
/// families with their types.
struct Scrape {
    samples: Vec<(String, String, f64)>,
    families: Vec<(String, String)>,
}

impl Scrape {
    fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut families = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                families.push((name.to_owned(), kind.to_owned()));
            } else if !line.starts_with('#') && !line.is_empty() {
                let (series, value) = line.rsplit_once(' ').unwrap();
                let name = series.split('{').next().unwrap();
                let value = value
                    .parse()
                    .unwrap_or_else(|_| panic!("value of {line:?}"));
                samples.push((name.to_owned(), series.to_owned(), value));
            }
        }
        Self { samples, families }
    }

    /// The value of the one sample of `name` whose series contains `labels`.
    fn value(&self, name: &str, labels: &str) -> Option<f64> {
        let found: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, series, _)| n == name && series.contains(labels))
            .map(|(_, _, v)| *v)
            .collect();
        assert!(found.len() <= 1, "{name} {labels}: {found:?}");
        found.first().copied()
    }

    fn has_sample(&self, name: &str) -> bool {
        self.samples.iter().any(|(n, _, _)| n == name)
    }

    /// Declared with a `# TYPE` line whose type writes samples of this name
    /// (counter → `_total`, histogram → `_bucket`/`_sum`/`_count`).
    fn declares(&self, name: &str) -> bool {
        self.families.iter().any(|(family, kind)| {
            let suffixes: &[&str] = match kind.as_str() {
                "counter" => &["_total"],
                "histogram" => &["_bucket", "_sum", "_count"],
                _ => &[""],
            };
            suffixes.iter().any(|s| format!("{family}{s}") == name)
        })
    }
}

async fn scrape(http: &reqwest::Client, admin: SocketAddr) -> Scrape {
    let res = http
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    Scrape::parse(&res.text().await.unwrap())
}

/// Scrapes until `check` holds (15 s at most).
async fn scrape_until(
    http: &reqwest::Client,
    admin: SocketAddr,
    what: &str,
    check: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = scrape(http, admin).await;
        if check(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every `gamegate_…` metric name in a PromQL expression.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("gamegate_") {
        let boundary = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'));
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(tail.len());
        if boundary {
            names.push(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    names
}

#[test]
fn metric_names_are_found_in_promql() {
    assert_eq!(
        metric_names(
            r#"histogram_quantile(0.95, sum by (le) (rate(gamegate_x_bucket{job=~"$job"}[5m]))) / gamegate_y"#
        ),
        ["gamegate_x_bucket", "gamegate_y"]
    );
    assert_eq!(
        metric_names("not_gamegate_x + gamegate_z:rate5m"),
        ["gamegate_z:rate5m"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_and_alert_names_an_exported_metric() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (
        dir.path().join("fullchain.pem"),
        dir.path().join("privkey.pem"),
    );
    let (cert_pem, key_pem, not_after) = certificate(30);
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, &key_pem).unwrap();
    let app = start(dir.path(), &cert, &key).await;
    let mock = app.mock.clone().expect("embedded mock");
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
        .resolve("localhost", app.public())
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", app.public().port());
    let register = |login: &str| {
        https
            .post(format!("{base}/api/register"))
            .header("X-API-Key", API_KEY)
            .json(&support::player(login, 4242))
            .send()
    };
    let plain = reqwest::Client::new();

    // A registration and a status read, over the TLS listener.
    assert_eq!(register("Hero_01").await.unwrap().status(), StatusCode::OK);
    let status = https
        .get(format!("{base}/api/server/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);

    let s = scrape_until(&plain, app.admin(), "a reconciler pass", |s| {
        s.has_sample("gamegate_registrations_pending")
    })
    .await;
    assert_eq!(s.value("gamegate_game_server_up", ""), Some(1.0));
    assert_eq!(
        s.value("gamegate_database_up", "database=\"accounts\""),
        Some(1.0)
    );
    assert_eq!(
        s.value("gamegate_database_up", "database=\"analytics\""),
        Some(1.0)
    );
    assert_eq!(s.value("gamegate_registrations_pending", ""), Some(0.0));
    assert_eq!(
        s.value("gamegate_tls_certificate_expiry_timestamp_seconds", ""),
        Some(not_after as f64)
    );
    assert_eq!(
        s.value("gamegate_registrations_total", "outcome=\"ok\""),
        Some(1.0)
    );

    // The game server loses an answer, then stops answering: the
    // registration stays pending, the backlog and the ping show it.
    mock.set_behaviour(Behaviour::DropAfterRead).await;
    assert_eq!(
        register("Hero_02").await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    mock.set_behaviour(Behaviour::Refuse).await;
    scrape_until(
        &plain,
        app.admin(),
        "one pending registration, the game server down",
        |s| {
            s.value("gamegate_registrations_pending", "") == Some(1.0)
                && s.value("gamegate_game_server_up", "") == Some(0.0)
        },
    )
    .await;
    // Back: the reconciler settles it and the backlog empties.
    mock.set_behaviour(Behaviour::Normal).await;
    scrape_until(
        &plain,
        app.admin(),
        "an empty backlog, the game server up",
        |s| {
            s.value("gamegate_registrations_pending", "") == Some(0.0)
                && s.value("gamegate_reconciler_settled_total", "result=\"removed\"") == Some(1.0)
                && s.value("gamegate_game_server_up", "") == Some(1.0)
        },
    )
    .await;

    // A renewed certificate is published once gamegate reloads it.
    let (cert_pem2, key_pem2, not_after2) = certificate(90);
    std::fs::write(dir.path().join("privkey.new"), key_pem2).unwrap();
    std::fs::write(dir.path().join("fullchain.new"), cert_pem2).unwrap();
    std::fs::rename(dir.path().join("privkey.new"), &key).unwrap();
    std::fs::rename(dir.path().join("fullchain.new"), &cert).unwrap();
    let s = scrape_until(
        &plain,
        app.admin(),
        "the renewed certificate's expiry",
        |s| {
            s.value("gamegate_tls_certificate_expiry_timestamp_seconds", "")
                == Some(not_after2 as f64)
        },
    )
    .await;

    // Every metric named by a panel or an alert is in this scrape. Families
    // that only have samples after an event this scenario does not cause
    // (no Telegram gate is configured) must at least be declared.
    let event_only = ["gamegate_telegram_calls_total"];
    let dashboard = gamegate::commands::render::grafana::dashboard();
    let rules: serde_norway::Value = serde_norway::from_str(
        &gamegate::commands::render::prometheus::render(&Config::default()).unwrap(),
    )
    .unwrap();
    let mut queries: Vec<(String, String)> =
        gamegate::commands::render::grafana::queries(&dashboard)
            .into_iter()
            .map(|q| ("dashboard".to_owned(), q))
            .collect();
    for rule in rules["groups"][0]["rules"].as_sequence().unwrap() {
        queries.push((
            rule["alert"].as_str().unwrap().to_owned(),
            rule["expr"].as_str().unwrap().to_owned(),
        ));
    }
    let mut named = BTreeSet::new();
    for (source, expr) in &queries {
        for name in metric_names(expr) {
            let found =
                s.has_sample(&name) || (event_only.contains(&name.as_str()) && s.declares(&name));
            assert!(
                found,
                "{source} names {name}, which /metrics does not export:\n{expr}"
            );
            named.insert(name);
        }
    }
    // The panels and alerts use the new metrics, and the check saw them.
    for name in [
        "gamegate_game_server_up",
        "gamegate_database_up",
        "gamegate_registrations_pending",
        "gamegate_tls_certificate_expiry_timestamp_seconds",
        "gamegate_http_request_duration_seconds_bucket",
        "gamegate_game_server_call_duration_seconds_bucket",
        "gamegate_reconciler_settled_total",
        "gamegate_jail_bans_issued_total",
    ] {
        assert!(named.contains(name), "{name} is in no query");
    }
    // A name /metrics does not have is caught.
    assert!(!s.has_sample("gamegate_http_requests") && !s.declares("gamegate_http_requests"));
    app.shutdown.cancel();
}

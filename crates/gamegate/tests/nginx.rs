//! The shipped nginx config and fail2ban filter against the real programs:
//! `gamegate render nginx|fail2ban` (the real binary) → a real nginx on
//! loopback with a self-signed certificate → a real `gamegate all` upstream;
//! then `fail2ban-regex` over the access log nginx wrote; and sslyze grading
//! both TLS endpoints (gamegate's own and nginx) against Mozilla's profile.
//!
//! Needs nginx, fail2ban, openssl and sslyze (`.ci/run` installs them).
//! Without them the suite is skipped with a notice — except under `CI`,
//! where it fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{LOCATION, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

mod support;
use support::binary::{self, Process, ok};
use support::tools::{free_port, required, which};
use support::{Answer, player};
const KEY: &str = "nginx-suite-key-0123456789";
/// Has the two regex metacharacters a key may carry (`+`, `.`).
const KEY2: &str = "Second+Key/0123.456789abc=";
const ORIGIN: &str = "https://site.example";
const REGISTER_BURST: u32 = 3;
const STATUS_BURST: u32 = 3;
const STATS_BURST: u32 = 3;
/// The sslyze the suite is written against (`.ci/run` installs it).
const SSLYZE_INSTALL: &str = "pip install sslyze==6.3.1";
/// Two years: Mozilla's HSTS recommendation, which SSL Labs grades A+.
const HSTS_MIN_AGE: u64 = 63_072_000;

struct Tools {
    nginx: PathBuf,
    fail2ban_regex: PathBuf,
    fail2ban_client: PathBuf,
    openssl: PathBuf,
}

/// The tools, or `None` (with a notice) when one is missing outside CI.
fn tools() -> Option<Tools> {
    let found = |name: &str| {
        required(
            which(&[name]),
            name,
            "apt-get install -y nginx fail2ban openssl",
        )
    };
    Some(Tools {
        nginx: found("nginx")?,
        fail2ban_regex: found("fail2ban-regex")?,
        fail2ban_client: found("fail2ban-client")?,
        openssl: found("openssl")?,
    })
}

/// A self-signed certificate for `localhost`, by the openssl CLI (already
/// needed for the TLS-version checks; no certificate crate to build).
fn certificate(t: &Tools, dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    ok(StdCommand::new(&t.openssl)
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    (cert, key)
}

/// nginx's main file: everything that is not the site, inside the temp dir.
fn main_conf(dir: &Path, site: &Path) -> PathBuf {
    let d = dir.display();
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "user root;\nworker_processes 1;\nevents {{ worker_connections 128; }}\nhttp {{\n\
             \x20   client_body_temp_path {d}/tmp_body;\n    proxy_temp_path {d}/tmp_proxy;\n\
             \x20   fastcgi_temp_path {d}/tmp_fastcgi;\n    uwsgi_temp_path {d}/tmp_uwsgi;\n\
             \x20   scgi_temp_path {d}/tmp_scgi;\n    include {};\n}}\n",
            site.display()
        ),
    )
    .unwrap();
    conf
}

fn nginx_args(cmd: &mut StdCommand, dir: &Path, conf: &Path, daemon: bool) {
    cmd.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(conf)
        .arg("-g")
        .arg(format!(
            "{}pid {}/nginx.pid; error_log stderr;",
            if daemon { "" } else { "daemon off; " },
            dir.display()
        ));
}

fn nginx_t(t: &Tools, dir: &Path, conf: &Path) {
    let mut cmd = StdCommand::new(&t.nginx);
    cmd.arg("-t");
    nginx_args(&mut cmd, dir, conf, true);
    ok(&mut cmd);
}

/// `gamegate render …` through the real binary; returns stdout and stderr.
fn render(args: &[&str], config: &Path) -> (String, String) {
    let out = ok(binary::command()
        .args(["render"])
        .args(args)
        .arg("--config")
        .arg(config));
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs `fail2ban-regex` with the filter rendered into `dir/fail2ban` over
/// `log`: the number of matched lines, and the whole report.
fn fail2ban_matches(t: &Tools, log: &Path, dir: &Path) -> (usize, String) {
    let out = ok(StdCommand::new(&t.fail2ban_regex)
        .arg(log)
        .arg(dir.join("fail2ban/filter.d/gamegate.conf")));
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    let matched = report
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix("Lines: ")?;
            let before = rest.split(" matched").next()?;
            before.rsplit(' ').next()?.parse::<usize>().ok()
        })
        .unwrap_or_else(|| panic!("no `Lines:` in fail2ban-regex output:\n{report}"));
    (matched, report)
}

/// Stops nginx (master and worker) when the test ends, even on a panic.
struct Nginx(std::process::Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not kill(): the master takes its worker down with it.
        let _ = StdCommand::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

/// `gamegate all` on random ports; its own limits raised so the limits seen
/// are nginx's, and nginx (127.0.0.1) trusted for the client address.
async fn start_gamegate(dir: &Path, extra_env: &[(&str, &str)]) -> (Process, SocketAddr) {
    let mut cmd = binary::command();
    cmd.arg("all")
        .envs(binary::local_env(dir))
        .env("GAMEGATE_EDGE__API_KEYS", format!("{KEY},{KEY2}"))
        .env("GAMEGATE_EDGE__TRUSTED_PROXIES", "127.0.0.1")
        .env("GAMEGATE_EDGE__REGISTER_PER_MINUTE", "100000")
        .env("GAMEGATE_EDGE__REGISTER_BURST", "10000")
        .env("GAMEGATE_EDGE__STATUS_PER_MINUTE", "100000")
        .env("GAMEGATE_EDGE__STATUS_BURST", "10000")
        // Later settings win: a test's own values replace the ones above.
        .envs(extra_env.iter().copied())
        .stderr(Stdio::inherit());
    let mut process = Process::spawn(&mut cmd);
    let addr = process.banner(binary::BANNER_WITHIN).await.addr("public");
    (process, addr)
}

async fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nginx did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends through nginx and counts the answers fail2ban must see: 403 and 429
/// on /api/.
struct Client {
    http: reqwest::Client,
    base: String,
    api_failures: usize,
}

impl Client {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> Answer {
        let req = req.build().unwrap();
        let on_api = req.url().path().starts_with("/api/");
        let r = self.http.execute(req).await.expect("nginx answers");
        let answer = Answer::read(r).await;
        if on_api && matches!(answer.status.as_u16(), 403 | 429) {
            self.api_failures += 1;
        }
        answer
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base))
    }

    async fn register(&mut self, key: Option<&str>, login: &str) -> Answer {
        let mut req = self
            .req(Method::POST, "/api/register")
            .json(&player(login, 4242));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        self.send(req).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_in_front_enforces_the_edge_policy_and_fail2ban_reads_its_log() {
    let Some(t) = tools() else { return };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key) = certificate(&t, dir);
    let (mut gamegate, upstream) = start_gamegate(dir, &[]).await;
    let (https_port, http_port) = (free_port(), free_port());

    // The operator's file: render reads the same config gamegate reads.
    let config = dir.join("gamegate.toml");
    let d = dir.display();
    std::fs::write(
        &config,
        format!(
            r#"language = "en"
[http]
body_limit_bytes = 4096
[edge]
api_keys = ["{KEY}", "{KEY2}"]
cors_allowed_origins = ["{ORIGIN}"]
register_per_minute = 10
register_burst = {REGISTER_BURST}
status_per_minute = 60
status_burst = {STATUS_BURST}
stats_per_minute = 60
stats_burst = {STATS_BURST}
[nginx]
server_name = "localhost"
listen_https = ["127.0.0.1:{https_port}"]
listen_http = ["127.0.0.1:{http_port}"]
tls_certificate = "{cert}"
tls_certificate_key = "{key}"
register_upstreams = ["{upstream}"]
status_upstreams = ["{upstream}"]
stats_upstreams = ["{upstream}"]
access_log = "{d}/access.log"
error_log = "{d}/error.log"
acme_webroot = "{d}/acme"
"#,
            cert = cert.display(),
            key = key.display(),
        ),
    )
    .unwrap();
    let site = dir.join("gamegate-site.conf");
    let (stdout, stderr) = render(&["nginx", "--out", site.to_str().unwrap()], &config);
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains(KEY) && !text.contains(KEY2),
            "a key leaked: {text}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&site).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the site file holds keys");
    }
    render(
        &["fail2ban", "--out", dir.join("fail2ban").to_str().unwrap()],
        &config,
    );

    let conf = main_conf(dir, &site);
    nginx_t(&t, dir, &conf);
    let mut cmd = StdCommand::new(&t.nginx);
    nginx_args(&mut cmd, dir, &conf, false);
    let _nginx = Nginx(cmd.spawn().expect("nginx starts"));
    wait_for_port(https_port).await;
    wait_for_port(http_port).await;

    let localhost: SocketAddr = ([127, 0, 0, 1], https_port).into();
    let mut c = Client {
        http: reqwest::Client::builder()
            // Self-signed: the handshake itself is what is tested here.
            .danger_accept_invalid_certs(true)
            .resolve("localhost", localhost)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: format!("https://localhost:{https_port}"),
        api_failures: 0,
    };

    // The edge's own health.
    let r = c.send(c.req(Method::GET, "/health")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({"status": "ok"}));

    // Key missing, wrong (case matters), right — the rate limit counts all three.
    // The user agent tries to fake a 200 in the log line; nginx writes its
    // quotes as \x22, so fail2ban still counts this 403 (checked below).
    c.send(
        c.req(Method::POST, "/api/register")
            .header("user-agent", "curl/8.0\" 200 0 \"-\" \"x")
            .json(&player("No_Key", 4242)),
    )
    .await
    .assert_error(403, "invalid_api_key");
    c.register(Some(&KEY.to_uppercase()), "Wrong_Key")
        .await
        .assert_error(403, "invalid_api_key");
    let r = c.register(Some(KEY2), "Hero_01").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["login"], json!("Hero_01"));
    let db = gamegate_store::Database::connect(
        &format!("sqlite://{}", dir.join("accounts.db").display()),
        &Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(db.accounts().count_for_telegram(4242).await.unwrap(), 1);

    // Register limit: 10/min with burst 3 admits 4 at once; three are spent.
    let mut limited = None;
    for i in 0..REGISTER_BURST + 3 {
        let r = c.register(Some(KEY), &format!("Hero_1{i}")).await;
        if r.status == 429 {
            limited = Some((i, r));
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let (admitted, r) = limited.expect("nginx limits /api/register");
    // One more fits the burst; a second only if the test took over 6 s.
    assert!(admitted <= 2, "{admitted} more admitted after the burst");
    r.assert_error(429, "rate_limited");
    assert_eq!(r.header(RETRY_AFTER.as_str()), Some("6"), "60 s / 10");

    // A forged X-Forwarded-For from an untrusted peer changes nothing.
    let spoofed = c
        .send(
            c.req(Method::POST, "/api/register")
                .header("x-api-key", KEY)
                .header("x-forwarded-for", "198.51.100.7")
                .header("x-real-ip", "198.51.100.8")
                .json(&player("Spoofer", 4242)),
        )
        .await;
    spoofed.assert_error(429, "rate_limited");

    // CORS: the allowed origin, once (the upstream's own header is hidden).
    let r = c
        .send(
            c.req(Method::GET, "/api/server/status")
                .header("origin", ORIGIN),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let allow: Vec<_> = r
        .headers
        .get_all("access-control-allow-origin")
        .iter()
        .collect();
    assert_eq!(allow, [ORIGIN], "exactly one allow-origin");
    let r = c
        .send(
            c.req(Method::GET, "/api/server/status")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.cors_headers().is_empty(), "{:?}", r.cors_headers());

    // Status limit: 60/min with burst 3; two of the four are spent.
    let mut limited = None;
    // A token comes back every second, so allow a few more tries.
    for _ in 0..STATUS_BURST + 8 {
        let r = c
            .send(
                c.req(Method::GET, "/api/server/status")
                    .header("origin", ORIGIN),
            )
            .await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = limited.expect("nginx limits /api/server/status");
    r.assert_error(429, "rate_limited");
    assert_eq!(r.header("retry-after"), Some("1"));
    // The site's script can read the error and the wait.
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));

    // Preflight: answered by nginx, without key, rate limit or upstream.
    let preflight = |c: &Client, origin: &str| {
        c.req(Method::OPTIONS, "/api/register")
            .header("origin", origin.to_owned())
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type,x-api-key")
    };
    let r = c.send(preflight(&c, ORIGIN)).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(
        r.header("access-control-allow-methods")
            .unwrap()
            .contains("POST")
    );
    assert!(
        r.header("access-control-allow-headers")
            .unwrap()
            .to_ascii_lowercase()
            .contains("x-api-key")
    );
    let r = c.send(preflight(&c, "https://evil.example")).await;
    assert_eq!(r.status, 204);
    assert!(r.cors_headers().is_empty(), "{:?}", r.cors_headers());

    // nginx's own errors are the contract's JSON, never HTML.
    c.send(c.req(Method::GET, "/nope.html"))
        .await
        .assert_error(404, "not_found");
    c.send(c.req(Method::GET, "/api/nope"))
        .await
        .assert_error(404, "not_found");
    c.send(
        c.req(Method::POST, "/api/register")
            .header("x-api-key", KEY)
            .header("content-type", "application/json")
            .body(vec![b' '; 8192]),
    )
    .await
    .assert_error(413, "payload_too_large");

    // The public statistics: answered through nginx with their own limit
    // (60/min, burst 3: four at once), GET only; the private routes of the
    // statistics service and the operator's routes never leave nginx.
    let mut codes = Vec::new();
    for _ in 0..STATS_BURST + 8 {
        let r = c.send(c.req(Method::GET, "/stats/leaderboard")).await;
        if r.status == 429 {
            r.assert_error(429, "rate_limited");
            assert_eq!(r.header("retry-after"), Some("1"), "60 s / 60");
            codes.push(429);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.json().is_object(), "{}", r.body);
        codes.push(200);
    }
    assert_eq!(
        codes.last(),
        Some(&429),
        "nginx limits /stats/leaderboard: {codes:?}"
    );
    assert!(codes.len() >= 5, "four at once: {codes:?}");
    // Their own zone: the status budget was spent above, the stats one now;
    // /ml/predict has a third.
    let r = c
        .send(c.req(Method::GET, "/ml/predict?login=Hero_01"))
        .await;
    assert_ne!(r.status, 429, "{}", r.body);
    assert_ne!(r.status, 404, "{}", r.body);
    c.send(c.req(Method::POST, "/stats/leaderboard"))
        .await
        .assert_error(405, "method_not_allowed");
    let battle = json!({"battle_id": 9_000_001, "players": []});
    for (method, path) in [
        (Method::POST, "/stats/battles"),
        (Method::GET, "/stats/registrations"),
        (Method::GET, "/stats/top-telegram"),
        (Method::GET, "/ml/anomalies"),
        (Method::GET, "/admin/dashboard"),
        (Method::GET, "/metrics"),
        (Method::GET, "/internal/health"),
        (
            Method::GET,
            "/stats/players/a%2F..%2F..%2Fadmin%2Fdashboard",
        ),
    ] {
        let r = c
            .send(
                c.req(method.clone(), path)
                    .header("authorization", "Bearer gamegate-dev-token")
                    .json(&battle),
            )
            .await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        r.assert_error(404, "not_found");
        assert_eq!(
            r.header("strict-transport-security"),
            Some("max-age=63072000"),
            "{path}"
        );
    }

    // Paths nginx normalises into a public route are refused too: nginx
    // would pass them on as written. Sent raw (an HTTP client resolves the
    // dot segments itself).
    for path in [
        "/admin/../stats/leaderboard",
        "/stats/players/x/../../../admin/dashboard",
        "/metrics/../stats/summary",
        "/ml/predict/../../stats/summary",
    ] {
        let out = StdCommand::new(&t.openssl)
            .args([
                "s_client",
                "-quiet",
                "-connect",
                &format!("127.0.0.1:{https_port}"),
            ])
            .args(["-servername", "localhost"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                write!(
                    child.stdin.take().unwrap(),
                    "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                )?;
                child.wait_with_output()
            })
            .unwrap();
        let answer = String::from_utf8_lossy(&out.stdout);
        assert!(answer.starts_with("HTTP/1.1 404 "), "{path}: {answer}");
        assert!(
            answer.contains(r#""detail":"not_found""#),
            "{path}: {answer}"
        );
    }

    // Plain HTTP redirects to the TLS port, to the configured name: a JSON
    // 308, as gamegate's own redirect listener (a POST stays a POST).
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (method, path) in [
        (Method::GET, "/api/server/status"),
        (Method::POST, "/api/register?x=1"),
    ] {
        let r = plain
            .request(method, format!("http://127.0.0.1:{http_port}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            r.headers()[LOCATION],
            format!("https://localhost:{https_port}{path}").as_str()
        );
        assert_eq!(r.headers()["content-type"], "application/json");
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"ok": false, "redirect": format!("https://localhost:{https_port}")})
        );
    }
    // certbot's challenge is still served from the webroot over plain HTTP.
    std::fs::create_dir_all(dir.join("acme/.well-known/acme-challenge")).unwrap();
    std::fs::write(
        dir.join("acme/.well-known/acme-challenge/token-1"),
        "token-1.thumbprint",
    )
    .unwrap();
    let r = plain
        .get(format!(
            "http://127.0.0.1:{http_port}/.well-known/acme-challenge/token-1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "token-1.thumbprint");

    // TLS 1.2 and 1.3 only. SECLEVEL=0 lets the client offer TLS 1.1, so the
    // refusal is the server's.
    let s_client = |args: &[&str]| {
        StdCommand::new(&t.openssl)
            .args(["s_client", "-connect", &format!("127.0.0.1:{https_port}")])
            .args(["-servername", "localhost"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    };
    assert!(
        !s_client(&["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]),
        "TLS 1.1 accepted"
    );
    assert!(s_client(&["-tls1_2"]), "TLS 1.2 refused");
    assert!(s_client(&["-tls1_3"]), "TLS 1.3 refused");

    // Upstream down: the contract's JSON with nginx's 502.
    gamegate.kill();
    let mut down = None;
    for _ in 0..5 {
        // One status request per second is admitted again.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let r = c.send(c.req(Method::GET, "/api/server/status")).await;
        if r.status != 429 {
            down = Some(r);
            break;
        }
    }
    let r = down.expect("a status request gets through the limit");
    r.assert_error(502, "internal_error");

    // fail2ban reads the same log: exactly the 403s and 429s on /api/.
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    assert!(
        log.contains("\"POST /api/register HTTP/1.1\" 200 "),
        "{log}"
    );
    assert!(
        log.contains(r#""curl/8.0\x22 200 0 \x22-\x22 \x22x""#),
        "{log}"
    );
    let (matched, _) = fail2ban_matches(&t, &dir.join("access.log"), dir);
    assert_eq!(
        matched, c.api_failures,
        "fail2ban matched {matched} lines, {} 403/429 answers on /api/ were caused:\n{log}",
        c.api_failures
    );
    // 2 × 403, register 429, spoofed 429, status 429 at least.
    assert!(c.api_failures >= 5);

    // The jail parses with the distribution's actions (a copy of /etc/fail2ban).
    let f2b = dir.join("etc-fail2ban");
    ok(StdCommand::new("cp")
        .arg("-r")
        .arg("/etc/fail2ban")
        .arg(&f2b));
    let _ = std::fs::remove_file(f2b.join("jail.d/defaults-debian.conf"));
    for f in ["filter.d/gamegate.conf", "jail.d/gamegate.conf"] {
        std::fs::copy(dir.join("fail2ban").join(f), f2b.join(f)).unwrap();
    }
    ok(StdCommand::new(&t.fail2ban_client)
        .arg("-c")
        .arg(&f2b)
        .arg("-t"));

    eprintln!("nginx suite: {:.1} s", started.elapsed().as_secs_f64());
}

/// The account routes beside /api/register through the rendered nginx: the
/// register upstream with its key check, each route only with its method,
/// the `{login}` passed on percent-encoded (a Cyrillic login arrives), and a
/// wrong current password counted by the fail2ban filter like a bad key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_routes_the_account_routes_to_the_registration_service() {
    let Some(t) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key) = certificate(&t, dir);
    let (_gamegate, upstream) = start_gamegate(
        dir,
        &[(
            "GAMEGATE_REGISTRATION__LOGIN_CHARSET",
            "A-Za-z0-9_\u{410}-\u{44f}\u{401}\u{451}",
        )],
    )
    .await;
    let https_port = free_port();
    let config = dir.join("gamegate.toml");
    let d = dir.display();
    std::fs::write(
        &config,
        format!(
            r#"language = "en"
[edge]
api_keys = ["{KEY}"]
register_burst = 50
[nginx]
server_name = "localhost"
listen_https = ["127.0.0.1:{https_port}"]
listen_http = []
tls_certificate = "{cert}"
tls_certificate_key = "{key}"
register_upstreams = ["{upstream}"]
status_upstreams = ["{upstream}"]
stats_upstreams = ["{upstream}"]
access_log = "{d}/access.log"
error_log = "{d}/error.log"
acme_webroot = "{d}/acme"
"#,
            cert = cert.display(),
            key = key.display(),
        ),
    )
    .unwrap();
    let site = dir.join("gamegate-site.conf");
    render(&["nginx", "--out", site.to_str().unwrap()], &config);
    render(
        &["fail2ban", "--out", dir.join("fail2ban").to_str().unwrap()],
        &config,
    );
    let conf = main_conf(dir, &site);
    nginx_t(&t, dir, &conf);
    let mut cmd = StdCommand::new(&t.nginx);
    nginx_args(&mut cmd, dir, &conf, false);
    let _nginx = Nginx(cmd.spawn().expect("nginx starts"));
    wait_for_port(https_port).await;
    let mut c = Client {
        http: reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .resolve("localhost", ([127, 0, 0, 1], https_port).into())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: format!("https://localhost:{https_port}"),
        api_failures: 0,
    };

    let hero = "Hero_01";
    // reqwest sends the path percent-encoded: /api/accounts/%D0%93%D0%B5…
    let cyr = "Герой_1";
    for login in [hero, cyr] {
        let r = c.register(Some(KEY), login).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }

    // Each route with its own method only; other paths under it are nginx's 404.
    for (path, allow) in [
        (format!("/api/accounts/{hero}"), "DELETE"),
        (format!("/api/accounts/{hero}/password"), "POST"),
    ] {
        let r = c
            .send(c.req(Method::GET, &path).header("x-api-key", KEY))
            .await;
        r.assert_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some(allow));
    }
    let r = c
        .send(
            c.req(Method::POST, &format!("/api/accounts/{hero}"))
                .header("x-api-key", KEY),
        )
        .await;
    r.assert_error(405, "method_not_allowed");
    for path in [
        format!("/api/accounts/{hero}/other"),
        format!("/api/accounts/{hero}/password/x"),
        "/api/accounts/".to_owned(),
        format!("//api/accounts/{hero}"),
    ] {
        c.send(c.req(Method::DELETE, &path).header("x-api-key", KEY))
            .await
            .assert_error(404, "not_found");
    }

    // The key is checked as on /api/register.
    c.send(c.req(Method::DELETE, &format!("/api/accounts/{hero}")))
        .await
        .assert_error(403, "invalid_api_key");
    let password = |old: &str| json!({"old_password": old, "new_password": "n3w-secret"});
    let change = |c: &Client, login: &str, old: &str| {
        c.req(Method::POST, &format!("/api/accounts/{login}/password"))
            .header("x-api-key", KEY)
            .json(&password(old))
    };
    c.send(change(&c, hero, "not-the-password"))
        .await
        .assert_error(403, "wrong_password");
    let r = c.send(change(&c, hero, "secret12")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["login"], hero);

    // The Cyrillic login reaches the upstream as the client encoded it.
    let r = c.send(change(&c, cyr, "secret12")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["login"], cyr);
    for login in [hero, cyr] {
        let path = format!("/api/accounts/{login}");
        let r = c
            .send(c.req(Method::DELETE, &path).header("x-api-key", KEY))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["login"], login);
        c.send(c.req(Method::DELETE, &path).header("x-api-key", KEY))
            .await
            .assert_error(404, "account_not_found");
    }

    // fail2ban counts the wrong password as it counts the missing key.
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    assert!(
        log.contains(&format!(
            "\"POST /api/accounts/{hero}/password HTTP/1.1\" 403 "
        )),
        "{log}"
    );
    let (matched, report) = fail2ban_matches(&t, &dir.join("access.log"), dir);
    assert_eq!(c.api_failures, 2);
    assert_eq!(matched, c.api_failures, "{report}\n{log}");
}

/// fail2ban-regex counts the failures in gamegate's own access log
/// (`gamegate all` without nginx) with the same rendered filter.
#[tokio::test]
async fn the_fail2ban_filter_reads_gamegate_s_own_access_log() {
    let Some(t) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let log = dir.join("gamegate-access.log");
    let (mut gamegate, addr) = start_gamegate(
        dir,
        &[
            ("GAMEGATE_LOG__ACCESS_LOG", log.to_str().unwrap()),
            ("GAMEGATE_EDGE__REGISTER_PER_MINUTE", "1"),
            ("GAMEGATE_EDGE__REGISTER_BURST", "4"),
            ("GAMEGATE_EDGE__TRUSTED_PROXIES", ""),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("http://{addr}/api/register");
    let mut codes = Vec::new();
    for (i, key) in [
        KEY,
        "wrong-key-0123456789",
        KEY,
        "wrong-key-0123456789",
        KEY,
        KEY,
        KEY,
    ]
    .into_iter()
    .enumerate()
    {
        let r = http
            .post(&url)
            .header("x-api-key", key)
            .json(&player(&format!("F2b_{i:02}"), 4242))
            .send()
            .await
            .unwrap();
        codes.push(r.status().as_u16());
    }
    let status = http
        .get(format!("http://{addr}/api/server/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    assert_eq!(
        codes,
        [200, 403, 200, 403, 429, 429, 429],
        "burst 4, then limited"
    );
    let failures = codes.iter().filter(|c| matches!(c, 403 | 429)).count();

    // SIGTERM: a graceful stop flushes the log.
    gamegate.terminate(Duration::from_secs(30)).await;

    let config = dir.join("gamegate.toml");
    std::fs::write(&config, "[nginx]\nserver_name = \"localhost\"\n").unwrap();
    render(
        &["fail2ban", "--out", dir.join("fail2ban").to_str().unwrap()],
        &config,
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), codes.len() + 1, "{text}");
    let (matched, report) = fail2ban_matches(&t, &log, dir);
    assert_eq!(matched, failures, "{report}\n{text}");
}

/// Variants a production config uses and the main test does not: trusted
/// proxies (real_ip), CORS `*`, no plain-HTTP server, the default ports.
#[test]
fn other_rendered_variants_pass_nginx_t() {
    let Some(t) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key) = certificate(&t, dir);
    let d = dir.display();
    let config = dir.join("gamegate.toml");
    std::fs::write(
        &config,
        format!(
            r#"[edge]
api_keys = ["{KEY}"]
trusted_proxies = ["10.8.0.0/24", "127.0.0.1", "::1"]
cors_allowed_origins = ["*"]
status_per_minute = 0
[nginx]
listen_https = ["127.0.0.1:{port}"]
listen_http = []
tls_certificate = "{cert}"
tls_certificate_key = "{key}"
register_upstreams = ["10.8.0.2:1010", "10.8.0.3:1010"]
access_log = "{d}/access.log"
error_log = "{d}/error.log"
"#,
            port = free_port(),
            cert = cert.display(),
            key = key.display(),
        ),
    )
    .unwrap();
    let site = dir.join("site.conf");
    render(&["nginx", "--out", site.to_str().unwrap()], &config);
    let text = std::fs::read_to_string(&site).unwrap();
    assert!(text.contains("set_real_ip_from 10.8.0.0/24;"), "{text}");
    nginx_t(&t, dir, &main_conf(dir, &site));

    // `--out -` prints the file, and warns on stderr that it holds keys.
    let (stdout, stderr) = render(&["nginx", "--out", "-"], &config);
    assert!(stdout.contains("map $http_x_api_key"));
    assert!(stderr.contains("contains the API keys"), "{stderr}");
}

/// The rendered nginx counts clients as the in-process edge does: the
/// addresses of one IPv6 /64 share a budget, IPv4 addresses do not, and a
/// site's request with a valid key is counted by the player it names in
/// `X-Player-IP` — who is also the address in the access log — while a
/// wrong key naming a player is counted by its own address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_keys_ipv6_clients_by_their_64_and_site_players_by_their_address() {
    let Some(t) = tools() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (cert, key) = certificate(&t, dir);
    let (_gamegate, upstream) = start_gamegate(dir, &[]).await;
    let https_port = free_port();
    let config = dir.join("gamegate.toml");
    let d = dir.display();
    // The test client (127.0.0.1) is a trusted proxy, so its X-Forwarded-For
    // plays the clients of the internet, IPv6 ones included.
    std::fs::write(
        &config,
        format!(
            r#"[edge]
api_keys = ["{KEY}"]
trusted_proxies = ["127.0.0.1"]
register_per_minute = 1
register_burst = 2
status_per_minute = 1
status_burst = 3
[nginx]
server_name = "localhost"
listen_https = ["127.0.0.1:{https_port}"]
listen_http = []
tls_certificate = "{cert}"
tls_certificate_key = "{key}"
register_upstreams = ["{upstream}"]
status_upstreams = ["{upstream}"]
access_log = "{d}/access.log"
error_log = "{d}/error.log"
"#,
            cert = cert.display(),
            key = key.display(),
        ),
    )
    .unwrap();
    let site = dir.join("site.conf");
    render(&["nginx", "--out", site.to_str().unwrap()], &config);
    let conf = main_conf(dir, &site);
    nginx_t(&t, dir, &conf);
    let mut cmd = StdCommand::new(&t.nginx);
    nginx_args(&mut cmd, dir, &conf, false);
    let _nginx = Nginx(cmd.spawn().expect("nginx starts"));
    wait_for_port(https_port).await;
    let mut c = Client {
        http: reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .resolve("localhost", ([127, 0, 0, 1], https_port).into())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap(),
        base: format!("https://localhost:{https_port}"),
        api_failures: 0,
    };

    // 30 addresses of one /64: one budget (burst 3 → 4 at once), then 429.
    let mut codes = Vec::new();
    for i in 1..=30 {
        let r = c
            .send(
                c.req(Method::GET, "/api/server/status")
                    .header("x-forwarded-for", format!("2001:db8:1:2:{i:x}::{i:x}")),
            )
            .await;
        codes.push(r.status.as_u16());
    }
    assert_eq!(codes[..4], [200; 4], "{codes:?}");
    assert!(codes[4..].iter().all(|&s| s == 429), "{codes:?}");
    // The next /64, and 30 addresses of one IPv4 /24, each have their own.
    let r = c
        .send(
            c.req(Method::GET, "/api/server/status")
                .header("x-forwarded-for", "2001:db8:1:3::1"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for i in 1..=30 {
        let r = c
            .send(
                c.req(Method::GET, "/api/server/status")
                    .header("x-forwarded-for", format!("203.0.113.{i}")),
            )
            .await;
        assert_eq!(r.status, 200, "203.0.113.{i}: {}", r.body);
    }

    // A site (one address) speaking for 5 players: each has the burst of 3.
    let site = "192.0.2.10";
    let mut n = 0;
    let mut register = async |c: &mut Client, key: &str, player_ip: &str| {
        n += 1;
        c.send(
            c.req(Method::POST, "/api/register")
                .header("x-forwarded-for", site)
                .header("x-api-key", key)
                .header("x-player-ip", player_ip)
                .json(&player(&format!("Ngx_{n:03}"), 5000 + n)),
        )
        .await
    };
    for round in 0..3 {
        for i in 1..=5 {
            let r = register(&mut c, KEY, &format!("198.51.100.{i}")).await;
            assert_eq!(r.status, 200, "player {i}, round {round}: {}", r.body);
        }
    }
    register(&mut c, KEY, "198.51.100.1")
        .await
        .assert_error(429, "rate_limited");
    // Players of one IPv6 /64, named in RFC 5952 form, share one budget.
    let mut codes = Vec::new();
    for i in 1..=5 {
        codes.push(
            register(&mut c, KEY, &format!("2001:db8:7:7:{i:x}::1"))
                .await
                .status
                .as_u16(),
        );
    }
    assert_eq!(codes, [200, 200, 200, 429, 429]);
    let codes: Vec<u16> = {
        let mut v = Vec::new();
        for i in 1..=4 {
            v.push(
                register(&mut c, KEY, &format!("2001:db8:8::{i:x}"))
                    .await
                    .status
                    .as_u16(),
            );
        }
        v
    };
    assert_eq!(codes, [200, 200, 200, 429], "a /64 written with ::");
    // A wrong key naming new players: counted by its own address (the site's
    // here), whose register budget is still whole — 3 × 403, then 429.
    let mut codes = Vec::new();
    for i in 1..=5 {
        codes.push(
            register(
                &mut c,
                "wrong-key-0123456789",
                &format!("198.51.100.{}", 50 + i),
            )
            .await
            .status
            .as_u16(),
        );
    }
    assert_eq!(codes, [403, 403, 403, 429, 429]);

    // The access log names the players, not the site.
    drop(_nginx);
    let log = std::fs::read_to_string(dir.join("access.log")).unwrap();
    for player in [
        "198.51.100.1 - - [",
        "2001:db8:7:7:1::1 - - [",
        "2001:db8:8::1 - - [",
    ] {
        assert!(log.contains(player), "{player:?} missing:\n{log}");
    }
    let site_lines = log.lines().filter(|l| l.starts_with("192.0.2.10 ")).count();
    assert_eq!(
        site_lines, 5,
        "only the wrong-key requests are the site's:\n{log}"
    );
}

/// A test CA and a 1-day certificate for `localhost` (and 127.0.0.1) it
/// signed, by the openssl CLI: (CA, certificate, key). sslyze is given the
/// CA (`--certinfo_ca_file`), so the certificate checks of Mozilla's
/// profile run too instead of failing on an untrusted self-signed one.
fn ca_signed_certificate(t: &Tools, dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (ca, ca_key) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    let (cert, key, csr) = (
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("cert.csr"),
    );
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    ok(StdCommand::new(&t.openssl)
        .args(["req", "-x509", "-nodes", "-days", "2"])
        .args(ec)
        .args(["-subj", "/CN=gamegate test CA"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(&ca_key)
        .arg("-out")
        .arg(&ca));
    ok(StdCommand::new(&t.openssl)
        .args(["req", "-new", "-nodes"])
        .args(ec)
        .args(["-subj", "/CN=localhost"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr));
    let ext = dir.join("cert.ext");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n\
         authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n",
    )
    .unwrap();
    ok(StdCommand::new(&t.openssl)
        .args(["x509", "-req", "-days", "1", "-set_serial", "2"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(&ca)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-extfile")
        .arg(&ext)
        .arg("-out")
        .arg(&cert));
    (ca, cert, key)
}

/// `sslyze --mozilla_config=intermediate` against `localhost:port`: its
/// verdict must be "compliant" (exit status 0). That covers the protocol
/// versions, the cipher suites of TLS 1.2 and 1.3, the key-exchange groups,
/// the ECDH sizes, the certificate (key type, signature, lifetime, the chain
/// to the test CA) and the known vulnerabilities. sslyze 6 leaves HSTS out of
/// its verdict, so the header it read (`--http_headers`) is checked here:
/// `max-age` at least two years. Not checked here: OCSP stapling (the test CA
/// runs no responder) and trust by public CAs.
fn sslyze_intermediate(sslyze: &Path, ca: &Path, port: u16, dir: &Path, name: &str) {
    let json_out = dir.join(format!("sslyze-{name}.json"));
    let out = StdCommand::new(sslyze)
        .args(["--mozilla_config=intermediate", "--http_headers"])
        .arg(format!("--certinfo_ca_file={}", ca.display()))
        .arg(format!("--json_out={}", json_out.display()))
        .arg(format!("localhost:{port}{{127.0.0.1}}"))
        .output()
        .expect("sslyze runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(&format!("localhost:{port}: OK - Compliant.")),
        "{name}: not compliant with Mozilla's intermediate profile ({}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&json_out).unwrap()).unwrap();
    let scan = &report["server_scan_results"][0]["scan_result"];
    let hsts = &scan["http_headers"]["result"]["strict_transport_security_header"];
    let max_age = hsts["max_age"].as_u64();
    assert!(
        max_age.is_some_and(|age| age >= HSTS_MIN_AGE),
        "{name}: HSTS {hsts}"
    );
    let curves: Vec<&str> = scan["elliptic_curves"]["result"]["supported_curves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(curves, ["X25519", "secp256r1", "secp384r1"], "{name}");
    let summary: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.contains("Supported curves:") || l.contains("Max Age:") || l.contains("Compliant")
        })
        .map(str::trim)
        .collect();
    eprintln!("sslyze {name}: {summary:?}");
}

/// Offers h2 in ALPN (the client asks for h2 and HTTP/1.1).
fn offers_h2(t: &Tools, port: u16) -> bool {
    let out = StdCommand::new(&t.openssl)
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", "localhost", "-alpn", "h2,http/1.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("ALPN protocol: h2")
}

/// Both TLS endpoints — gamegate's own listener (`gamegate all` with TLS) and
/// the rendered nginx in front of a gamegate — pass sslyze's check against
/// Mozilla's intermediate profile, send HSTS of at least two years and
/// `nosniff`, and offer HTTP/2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_tls_endpoints_pass_sslyze_against_mozilla_intermediate() {
    let Some(t) = tools() else { return };
    let Some(sslyze) = required(which(&["sslyze"]), "sslyze", SSLYZE_INSTALL) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let (ca, cert, key) = ca_signed_certificate(&t, dir);

    // (a) gamegate's own TLS listener.
    let tls_dir = dir.join("tls");
    std::fs::create_dir(&tls_dir).unwrap();
    let (_tls_gamegate, tls_addr) = start_gamegate(
        &tls_dir,
        &[
            ("GAMEGATE_HTTP__TLS_CERT_FILE", cert.to_str().unwrap()),
            ("GAMEGATE_HTTP__TLS_KEY_FILE", key.to_str().unwrap()),
        ],
    )
    .await;

    // (b) the rendered nginx in front of a plain gamegate.
    let (_gamegate, upstream) = start_gamegate(dir, &[]).await;
    let https_port = free_port();
    let config = dir.join("gamegate.toml");
    let d = dir.display();
    std::fs::write(
        &config,
        format!(
            r#"[edge]
api_keys = ["{KEY}"]
[nginx]
server_name = "localhost"
listen_https = ["127.0.0.1:{https_port}"]
listen_http = []
tls_certificate = "{cert}"
tls_certificate_key = "{key}"
ocsp_stapling = "on"
tls_trusted_certificate = "{ca}"
register_upstreams = ["{upstream}"]
status_upstreams = ["{upstream}"]
stats_upstreams = ["{upstream}"]
access_log = "{d}/access.log"
error_log = "{d}/error.log"
"#,
            cert = cert.display(),
            key = key.display(),
            ca = ca.display(),
        ),
    )
    .unwrap();
    let site = dir.join("site.conf");
    render(&["nginx", "--out", site.to_str().unwrap()], &config);
    let text = std::fs::read_to_string(&site).unwrap();
    assert!(text.contains("ssl_stapling on;"), "{text}");
    let conf = main_conf(dir, &site);
    nginx_t(&t, dir, &conf);
    let mut cmd = StdCommand::new(&t.nginx);
    nginx_args(&mut cmd, dir, &conf, false);
    let _nginx = Nginx(cmd.spawn().expect("nginx starts"));
    wait_for_port(https_port).await;

    let ca_cert = reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .add_root_certificate(ca_cert)
        .resolve("localhost", ([127, 0, 0, 1], https_port).into())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for (name, port, path) in [
        ("gamegate", tls_addr.port(), "/api/server/status"),
        ("nginx", https_port, "/api/server/status"),
        ("nginx", https_port, "/nope"),
    ] {
        // The certificate verifies against the test CA: the handshake the
        // scan grades is a real one.
        let r = http
            .get(format!("https://localhost:{port}{path}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            r.status() == 200 || path == "/nope",
            "{name}: {}",
            r.status()
        );
        let hsts = r.headers()["strict-transport-security"].to_str().unwrap();
        let age: u64 = hsts
            .strip_prefix("max-age=")
            .and_then(|a| a.split(';').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{name}: {hsts}"));
        assert!(age >= HSTS_MIN_AGE, "{name}: {hsts}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{name}");
        assert!(offers_h2(&t, port), "{name} does not offer h2");
    }

    sslyze_intermediate(&sslyze, &ca, tls_addr.port(), dir, "gamegate");
    sslyze_intermediate(&sslyze, &ca, https_port, dir, "nginx");
}

//! The listeners themselves: TLS with certificate reloads, the HTTP→HTTPS
//! redirect, slow-client protection and the access log, over real sockets.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::support::{Backend, TEST_API_KEY, player, spawn_app_with, start, test_config};
use gamegate::config::networks;

struct TestCert {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

fn new_cert() -> TestCert {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    TestCert {
        cert_pem: certified.cert.pem(),
        key_pem: certified.key_pair.serialize_pem(),
        der: certified.cert.der().clone(),
    }
}

/// Replaces a file in one step, as certbot's symlink switch does.
fn replace(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::File::create(&tmp)
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    std::fs::rename(tmp, path).unwrap();
}

fn tls_client(trusted: &[&TestCert]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots.add(cert.der.clone()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn connect_tls(connector: &TlsConnector, addr: SocketAddr) -> TlsStream<TcpStream> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("TLS handshake")
}

fn served_cert(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0].clone()
}

/// One HTTP/1.1 request on an open connection; the status and body.
async fn request<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, path: &str) -> (u16, String) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed mid-response");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                let status = text[9..12].parse().unwrap();
                return (status, text[end + 4..end + 4 + length].to_owned());
            }
        }
    }
}

#[tokio::test]
async fn tls_serves_the_api_and_picks_up_a_renewed_certificate_without_dropping_connections() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (
        certs.path().join("fullchain.pem"),
        certs.path().join("privkey.pem"),
    );
    let (first, renewed) = (new_cert(), new_cert());
    replace(&cert_file, &first.cert_pem);
    replace(&key_file, &first.key_pem);
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.http.tls_cert_file = cert_file.display().to_string();
        c.http.tls_key_file = key_file.display().to_string();
        c.http.tls_reload_interval_ms = 50;
    })
    .await
    .unwrap();
    let client = tls_client(&[&first, &renewed]);

    let mut open = connect_tls(&client, app.addr).await;
    assert_eq!(served_cert(&open), first.der);
    let (status, body) = request(&mut open, "/api/server/status").await;
    assert_eq!(status, 200, "{body}");

    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::get(app.url("/api/server/status")).await;
    assert!(
        plain.is_err(),
        "plain HTTP must not be served on the TLS port"
    );

    // A renewal in progress (a broken pair) keeps the current certificate.
    replace(
        &cert_file,
        "-----BEGIN CERTIFICATE-----\nnot a certificate\n",
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        served_cert(&connect_tls(&client, app.addr).await),
        first.der
    );

    // The renewed pair is served to new connections…
    replace(&key_file, &renewed.key_pem);
    replace(&cert_file, &renewed.cert_pem);
    let started = Instant::now();
    loop {
        if served_cert(&connect_tls(&client, app.addr).await) == renewed.der {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "renewed certificate not picked up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // …while the connection opened before it keeps working.
    let (status, _) = request(&mut open, "/api/server/status").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn the_redirect_listener_sends_plain_http_to_https() {
    let certs = tempfile::tempdir().unwrap();
    let cert = new_cert();
    replace(&certs.path().join("c.pem"), &cert.cert_pem);
    replace(&certs.path().join("k.pem"), &cert.key_pem);
    let db = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.database.url = format!("sqlite://{}", db.path().join("gamegate.db").display());
    config.analytics.url = format!("sqlite://{}", db.path().join("analytics.db").display());
    config.http.tls_cert_file = certs.path().join("c.pem").display().to_string();
    config.http.tls_key_file = certs.path().join("k.pem").display().to_string();
    config.http.redirect_http_addr = "127.0.0.1:0".into();
    let app = start(config).await;
    let https = app.public();
    let http = app.addr("redirect");

    let no_follow = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_follow
        .post(format!("http://{http}/api/register?x=1"))
        .header("host", format!("api.example.com:{}", http.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308, "308 keeps POST a POST");
    assert_eq!(
        response.headers()["location"],
        format!("https://api.example.com:{}/api/register?x=1", https.port()).as_str()
    );
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_disconnected() {
    let app = spawn_app_with(Backend::Sqlite, |c| c.http.header_read_timeout_ms = 300)
        .await
        .unwrap();

    // Part of a request, then nothing: closed after the header timeout.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /api/server/status HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "a trickling client must be disconnected");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );

    // A connection that never sends anything is closed too.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "an idle new connection must be closed");

    // A normal client is unaffected.
    let mut normal = TcpStream::connect(app.addr).await.unwrap();
    assert_eq!(request(&mut normal, "/api/server/status").await.0, 200);
    app.stop().await;
}

/// `203.0.113.7 - - [25/Nov/2026:08:40:00 +0000] "POST /api/register HTTP/1.1" 403 95 "-" "curl/8.0" 0.003`
fn parse_line(line: &str) -> (String, String, String, u16) {
    let mut parts = line.splitn(2, " - - [");
    let ip = parts.next().unwrap().to_owned();
    let rest = parts.next().expect("nginx-like line");
    let (_time, rest) = rest.split_once("] \"").unwrap();
    let (request, rest) = rest.split_once("\" ").unwrap();
    let mut request = request.split(' ');
    let method = request.next().unwrap().to_owned();
    let path = request.next().unwrap().to_owned();
    let status = rest.split(' ').next().unwrap().parse().unwrap();
    (ip, method, path, status)
}

#[tokio::test]
async fn the_access_log_has_one_line_per_request_and_no_secrets() {
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("access.log");
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.log.access_log = log_file.display().to_string();
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
    })
    .await
    .unwrap();
    let secret_password = "Sup3rSecretPassw0rd";
    let mut body = player("Logged_01", 5);
    body["password"] = secret_password.into();
    assert_eq!(app.register(body).await.0, 200);
    let wrong_key = "wrong-key-that-must-not-be-logged";
    let refused = app
        .http
        .post(app.url("/api/register?token=query-secret"))
        .header("x-api-key", wrong_key)
        .header("user-agent", "evil\"agent\t\u{e9} forged")
        .json(&player("Logged_02", 5))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let forwarded = app
        .http
        .get(app.url("/api/server/status"))
        .header("x-forwarded-for", "198.51.100.23")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 200);

    // Rotation: logrotate moves the file and sends SIGHUP; lines then go to
    // a new file at the configured path.
    let rotated = logs.path().join("access.log.1");
    app.eventually("three lines written", Duration::from_secs(5), || async {
        std::fs::read_to_string(&log_file).is_ok_and(|t| t.lines().count() == 3)
    })
    .await;
    std::fs::rename(&log_file, &rotated).unwrap();
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    app.eventually(
        "log reopened after SIGHUP",
        Duration::from_secs(5),
        || async {
            let _ = app.http.get(app.url("/health")).send().await;
            log_file.exists()
        },
    )
    .await;
    app.stop().await;

    let old = std::fs::read_to_string(&rotated).unwrap();
    let lines: Vec<_> = old.lines().collect();
    // Lines between the move and the SIGHUP still land in the moved file.
    assert!(
        lines.len() >= 3 && lines[3..].iter().all(|l| l.contains("/health")),
        "{old}"
    );
    assert_eq!(
        parse_line(lines[0]),
        (
            "127.0.0.1".into(),
            "POST".into(),
            "/api/register".into(),
            200
        )
    );
    assert_eq!(
        parse_line(lines[1]),
        (
            "127.0.0.1".into(),
            "POST".into(),
            "/api/register".into(),
            403
        )
    );
    assert!(
        lines[1].contains("\"evil\\x22agent\\x09\\xC3\\xA9 forged\""),
        "{}",
        lines[1]
    );
    assert_eq!(
        parse_line(lines[2]).0,
        "198.51.100.23",
        "the client behind a trusted proxy"
    );
    for secret in [secret_password, wrong_key, TEST_API_KEY, "query-secret"] {
        assert!(
            !old.contains(secret),
            "the access log leaks {secret:?}:\n{old}"
        );
    }
    let new = std::fs::read_to_string(&log_file).unwrap();
    assert!(
        new.lines()
            .all(|l| l.contains("\"GET /health HTTP/1.1\" 200")),
        "{new}"
    );
}

/// Over TLS every answer carries HSTS (two years) and `nosniff`, and the
/// banner shows `https://` with a curl line that verifies the certificate by
/// its own name, resolved to this listener.
#[tokio::test]
async fn tls_answers_carry_hsts_and_the_banner_says_https() {
    let certs = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (
        certs.path().join("fullchain.pem"),
        certs.path().join("privkey.pem"),
    );
    let cert = new_cert();
    replace(&cert_file, &cert.cert_pem);
    replace(&key_file, &cert.key_pem);
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.database.url = format!("sqlite://{}", dir.path().join("g.db").display());
    config.analytics.url = format!("sqlite://{}", dir.path().join("a.db").display());
    config.http.tls_cert_file = cert_file.display().to_string();
    config.http.tls_key_file = key_file.display().to_string();
    let app = start(config).await;
    let addr = app.public();
    let banner = app.banner.clone();

    assert!(
        banner.contains(&format!("public    https://{addr}")),
        "{banner}"
    );
    assert!(
        banner.contains("admin     http://"),
        "the admin listener has no TLS: {banner}"
    );
    let resolve = format!("--resolve localhost:{}:127.0.0.1", addr.port());
    assert!(
        banner.contains(&format!(
            "curl -s {resolve} https://localhost:{}/api/server/status",
            addr.port()
        )),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("--cacert {}", cert_file.display())),
        "{banner}"
    );
    // The status line works as printed, with the --cacert the note names
    // (the test's certificate is no public CA's): curl verifies the name.
    let curl = banner
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("curl -s") && l.ends_with("/api/server/status"))
        .unwrap_or_else(|| panic!("no status curl line: {banner}"));
    let out = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{curl} --cacert '{}'", cert_file.display()))
        .output()
        .await
        .expect("curl runs (apt-get install -y curl)");
    assert!(out.status.success(), "{curl}: {out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["server_status"].is_number(), "{status}");

    let client = tls_client(&[&cert]);
    for path in ["/api/server/status", "/no/such/path", "/health"] {
        let mut stream = connect_tls(&client, addr).await;
        let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(
            text.contains("\r\nstrict-transport-security: max-age=63072000\r\n"),
            "{path}: {text}"
        );
        assert!(
            text.contains("\r\nx-content-type-options: nosniff\r\n"),
            "{path}: {text}"
        );
    }
    app.stop().await;
}

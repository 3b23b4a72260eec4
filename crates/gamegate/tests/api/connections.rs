//! Connections against an attacker: caps per client address and in total,
//! idle HTTP/1 and HTTP/2 connections closed, stalled bodies cut, requests
//! the HTTP library refuses answered in JSON and counted — and the real
//! binary, limited to 1,024 descriptors, still answering other clients while
//! one address holds 1,100 connections.

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::binary::{self, Process};
use crate::support::{Backend, TEST_API_KEY, player, spawn_app_with};
use gamegate_domain::ErrorCode;

/// A TCP connection from a chosen loopback address (127.0.0.0/8 is all
/// local on Linux), so a test can be "another client".
async fn connect_from(local: &str, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(format!("{local}:0").parse().unwrap())?;
    socket.connect(to).await
}

/// An HTTP answer read from a raw socket until the server closes it.
struct Raw {
    status: u16,
    headers: String,
    body: String,
}

fn parse_raw(bytes: &[u8]) -> Raw {
    let text = String::from_utf8_lossy(bytes).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
    Raw {
        status: head[9..12].parse().unwrap(),
        headers: head.to_ascii_lowercase(),
        body: body.to_owned(),
    }
}

/// Sends `request` on a fresh connection and reads until the server closes.
async fn send_raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the server closes a connection after refusing {:?} (got {:?})",
            String::from_utf8_lossy(&request[..request.len().min(80)]),
            String::from_utf8_lossy(&answer)
        )
    });
    parse_raw(&answer)
}

/// The value of a Prometheus sample with exactly these labels (0 if absent).
fn sample(metrics: &str, name_and_labels: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name_and_labels)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Every kind of request hyper refuses before a route sees it, with the
/// status it is answered with.
fn malformed_requests() -> Vec<(&'static str, Vec<u8>, u16)> {
    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let huge_header = format!("X-Big: {}\r\n", "a".repeat(200 * 1024));
    vec![
        (
            "bare LF in a header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\nb\r\n\r\n".to_vec(),
            400,
        ),
        (
            "control byte in a header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "NUL in a header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n".to_vec(),
            400,
        ),
        (
            "folded header (obs-fold)",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\r\n folded\r\n\r\n".to_vec(),
            400,
        ),
        (
            "garbage request line",
            b"\x16\x03\x01\x02\x00 hello there\r\n\r\n".to_vec(),
            400,
        ),
        (
            "request line without a version",
            b"GARBAGE\r\n\r\n".to_vec(),
            400,
        ),
        (
            "too many headers",
            format!("GET /health HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(),
            431,
        ),
        (
            "a header over the head limit",
            format!("GET /health HTTP/1.1\r\nHost: x\r\n{huge_header}\r\n").into_bytes(),
            431,
        ),
    ]
}

#[tokio::test]
async fn each_malformed_request_gets_json_one_access_log_line_and_a_metric() {
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("access.log");
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.log.access_log = log_file.display().to_string();
        c.language = gamegate_domain::Lang::En;
    })
    .await
    .unwrap();
    let kinds = malformed_requests();
    let mut body_bytes = 0;
    for (kind, request, status) in &kinds {
        let answer = send_raw(app.addr, request).await;
        body_bytes = answer.body.len();
        assert_eq!(answer.status, *status, "{kind}: {}", answer.headers);
        assert!(
            answer.headers.contains("content-type: application/json"),
            "{kind}: {}",
            answer.headers
        );
        let body: Value = serde_json::from_str(&answer.body)
            .unwrap_or_else(|e| panic!("{kind}: {e}: {:?}", answer.body));
        assert_eq!(
            body,
            serde_json::json!({"ok": false, "detail": "bad_request", "message": "Malformed HTTP request."}),
            "{kind}"
        );
        assert!(
            answer
                .headers
                .contains(&format!("content-length: {}", answer.body.len())),
            "{kind}: {}",
            answer.headers
        );
    }
    // A well-formed request on the same listener is unaffected.
    let ok = send_raw(
        app.addr,
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(ok.status, 200);

    let metrics = app.metrics_text().await;
    let count = |status: u16| {
        sample(
            &metrics,
            &format!(
                "gamegate_http_malformed_requests_total{{listener=\"public\",status=\"{status}\"}}"
            ),
        )
    };
    let expected = |status: u16| kinds.iter().filter(|k| k.2 == status).count() as f64;
    assert_eq!(count(400), expected(400), "{metrics}");
    assert_eq!(count(431), expected(431), "{metrics}");

    // One line per refused request, the well-formed one's, the metrics'.
    let started = Instant::now();
    let text = loop {
        let text = std::fs::read_to_string(&log_file).unwrap_or_default();
        if text.contains("/metrics") || started.elapsed() > Duration::from_secs(5) {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), kinds.len() + 2, "{text}");
    for (line, (kind, _, status)) in lines.iter().zip(&kinds) {
        assert!(line.starts_with("127.0.0.1 - - ["), "{kind}: {line}");
        assert!(
            line.contains(&format!("] \"-\" {status} {body_bytes} \"-\" \"-\" ")),
            "{kind}: {line}"
        );
    }
    assert!(
        lines[kinds.len()].contains("\"GET /health HTTP/1.1\" 200"),
        "{text}"
    );
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_count_toward_the_jail_when_configured() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.ban_on = vec![ErrorCode::InvalidApiKey, ErrorCode::BadRequest];
        c.edge.ban_threshold = 4;
        // The test client is on loopback, which the jail ignores by default.
        c.edge.ban_ignore.clear();
    })
    .await
    .unwrap();
    let client = app.addr;
    for _ in 0..4 {
        assert_eq!(send_raw(client, b"GARBAGE\r\n\r\n").await.status, 400);
    }
    // Over the threshold: banned on every public route.
    let banned = send_raw(
        client,
        b"GET /api/server/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(banned.status, 403, "{}", banned.body);
    assert!(banned.body.contains("\"banned\""), "{}", banned.body);
    app.stop().await;

    // Not counted by default.
    let app = spawn_app_with(Backend::Sqlite, |c| c.edge.ban_threshold = 2)
        .await
        .unwrap();
    for _ in 0..4 {
        assert_eq!(send_raw(app.addr, b"GARBAGE\r\n\r\n").await.status, 400);
    }
    let status = app.http.get(app.url("/api/server/status")).send().await;
    assert_eq!(status.unwrap().status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_cut_on_every_route_that_reads_one() {
    let token = "ingest-token-for-the-stalled-body-test";
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.http.body_read_timeout_ms = 300;
        c.analytics.ingest_tokens = vec![token.into()];
    })
    .await
    .unwrap();
    for (addr, head) in [
        (
            app.admin_addr,
            format!(
                "POST /stats/battles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            ),
        ),
        (
            app.addr,
            "POST /demo/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                .to_owned(),
        ),
        (
            app.addr,
            format!(
                "POST /api/register HTTP/1.1\r\nHost: x\r\nX-API-Key: {TEST_API_KEY}\r\nContent-Type: application/json\r\n"
            ),
        ),
    ] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!("{head}Content-Length: 200\r\n\r\n{{\"login\":");
        stream.write_all(request.as_bytes()).await.unwrap();
        let started = Instant::now();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("a stalled body is cut")
            .unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
            "{head}: cut after {waited:?}"
        );
        let answer = parse_raw(&answer);
        assert_eq!(answer.status, 503, "{head}");
        assert!(
            answer.body.contains("\"request_timeout\""),
            "{}",
            answer.body
        );
        assert!(
            answer.headers.contains("connection: close"),
            "{}",
            answer.headers
        );
    }
    // A body that arrives in pieces, in time, is read.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    let body = serde_json::to_string(&player("Slow_Body", 77)).unwrap();
    let (first, rest) = body.split_at(10);
    let head = format!(
        "POST /api/register HTTP/1.1\r\nHost: x\r\nX-API-Key: {TEST_API_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    assert_eq!(parse_raw(&answer).status, 200);
    app.stop().await;
}

/// An h2c connection the client keeps open: its sender, and the task
/// driving it (it ends when the server closes the connection).
struct H2c {
    _send: hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    driver: tokio::task::JoinHandle<()>,
}

/// Opens an h2c connection and makes one request on it; the status and the
/// connection, which then sends nothing more.
async fn h2c_request(stream: TcpStream, path: &str) -> Result<(u16, H2c), hyper::Error> {
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = hyper::Request::get(format!("http://localhost{path}"))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await?;
    Ok((
        response.status().as_u16(),
        H2c {
            _send: send,
            driver,
        },
    ))
}

#[tokio::test]
async fn idle_http1_and_h2c_connections_are_closed_and_h2c_is_off_by_default() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.http.http2_cleartext = true;
        c.http.idle_timeout_ms = 400;
    })
    .await
    .unwrap();

    // h2c: one request, then silence; closed after the idle timeout.
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (status, h2c) = h2c_request(stream, "/health").await.unwrap();
    assert_eq!(status, 200);
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), h2c.driver)
        .await
        .expect("an h2c connection with no stream is closed")
        .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "closed after {waited:?}"
    );

    // HTTP/1 keep-alive: one request, then silence; closed the same way.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 1024];
    let n = stream.read(&mut first).await.unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    let started = Instant::now();
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .expect("an idle keep-alive connection is closed")
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    app.stop().await;

    // Off by default: the plain listener speaks HTTP/1 only.
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let stream = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        h2c_request(stream, "/health").await.is_err(),
        "h2c must be off unless http.http2_cleartext is set"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_total_cap_refuses_connections_and_the_admin_listener_keeps_its_own() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.http.max_connections = 12;
        c.http.max_connections_per_ip = 1_000;
    })
    .await
    .unwrap();
    let mut held = Vec::new();
    for i in 0..20 {
        let local = format!("127.0.0.{}", 10 + i);
        held.push(connect_from(&local, app.addr).await.unwrap());
    }
    let (open, refused) = count_open(&mut held).await;
    assert_eq!((open, refused), (12, 8));
    let health = app.http.get(app.admin_url("/internal/health")).send().await;
    assert_eq!(health.unwrap().status(), 200);
    let metrics = app.metrics_text().await;
    assert_eq!(
        sample(
            &metrics,
            "gamegate_connections_refused_total{listener=\"public\",reason=\"total\"}"
        ),
        8.0,
        "{metrics}"
    );
    // Closing frees places.
    held.clear();
    app.eventually("places freed", Duration::from_secs(5), || async {
        app.http
            .get(app.url("/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    app.stop().await;
}

/// How many of `streams` the server keeps open and how many it closed
/// (EOF or reset), given a moment to close the refused ones.
async fn count_open(streams: &mut [TcpStream]) -> (usize, usize) {
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (mut open, mut closed) = (0, 0);
    for s in streams.iter_mut() {
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(1), s.read(&mut byte)).await {
            Err(_) => open += 1,
            Ok(_) => closed += 1,
        }
    }
    (open, closed)
}

/// `gamegate all` as a child process whose soft and hard `RLIMIT_NOFILE`
/// are 1,024 (its stderr collected); its public and admin addresses from the banner.
async fn start_limited(dir: &std::path::Path) -> (Process, SocketAddr, SocketAddr) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 1024 && exec \"$0\" all")
        .arg(binary::BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(binary::local_env(dir))
        .env("GAMEGATE_ANALYTICS__SEED_DEMO_HISTORY", "false")
        .env("GAMEGATE_HTTP__HTTP2_CLEARTEXT", "true")
        .env("GAMEGATE_HTTP__HEADER_READ_TIMEOUT_MS", "30000")
        // Long enough that the whole flood is open before the first of it
        // idles out, even on a busy CI machine (else freed places would
        // admit more than the cap).
        .env("GAMEGATE_HTTP__IDLE_TIMEOUT_MS", "10000")
        .env("GAMEGATE_HTTP__BODY_READ_TIMEOUT_MS", "500")
        .env("GAMEGATE_EDGE__API_KEYS", TEST_API_KEY);
    let mut process = Process::spawn_capturing_stderr(&mut cmd);
    let banner = process.banner(binary::BANNER_WITHIN).await;
    // The connection budget the binary computed from its limit.
    let conns = banner.line("conns").unwrap_or_default();
    assert!(
        conns.contains("1024 descriptors"),
        "the child does not run at 1,024 descriptors: {conns}"
    );
    (process, banner.addr("public"), banner.addr("admin"))
}

/// What another client (its own loopback address) gets while the flood
/// holds its connections: `/health` and `/internal/health` within 100 ms, a
/// registration within 1 s (each on a fresh connection).
async fn another_client_is_served(local: &str, public: SocketAddr, admin: SocketAddr, login: &str) {
    let client = reqwest::Client::builder()
        .local_address(local.parse::<IpAddr>().unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    for url in [
        format!("http://{public}/health"),
        format!("http://{admin}/internal/health"),
    ] {
        let started = Instant::now();
        let response = client.get(&url).send().await.unwrap();
        let took = started.elapsed();
        assert_eq!(response.status(), 200, "{url}");
        assert!(took < Duration::from_millis(100), "{url} took {took:?}");
    }
    let started = Instant::now();
    let response = client
        .post(format!("http://{public}/api/register"))
        .header("x-api-key", TEST_API_KEY)
        .json(&player(login, 4242))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    let status = response.status();
    assert_eq!(status, 200, "{}", response.text().await.unwrap());
    assert!(took < Duration::from_secs(1), "registration took {took:?}");
}

#[tokio::test]
async fn one_address_cannot_exhaust_a_process_limited_to_1024_descriptors() {
    let dir = tempfile::tempdir().unwrap();
    let test_started = Instant::now();
    let (process, public, admin) = start_limited(dir.path()).await;
    let per_ip = 64; // http.max_connections_per_ip's default

    // 1,100 HTTP/1 connections from 127.0.0.1 that send nothing.
    let mut idle = Vec::with_capacity(1_100);
    for _ in 0..1_100 {
        idle.push(TcpStream::connect(public).await.unwrap());
    }
    let (open, refused) = count_open(&mut idle).await;
    assert_eq!(open, per_ip, "open beyond the cap ({refused} refused)");
    another_client_is_served("127.0.0.2", public, admin, "Other_One").await;
    drop(idle);

    // 1,100 h2c connections from 127.0.0.1, each one request and then silence.
    tokio::time::sleep(Duration::from_millis(200)).await; // the closes are seen
    let mut served = Vec::new();
    let mut refused = 0;
    for _ in 0..11 {
        // A hundred at a time: quick, without overflowing the listen backlog.
        let batch = (0..100).map(|_| async move {
            let stream = TcpStream::connect(public).await.unwrap();
            h2c_request(stream, "/health").await
        });
        for outcome in futures_util::future::join_all(batch).await {
            match outcome {
                Ok((200, h2c)) => served.push(h2c),
                Ok((status, _)) => panic!("h2c request answered {status}"),
                Err(_) => refused += 1,
            }
        }
    }
    assert_eq!(served.len(), per_ip, "{refused} refused");
    another_client_is_served("127.0.0.3", public, admin, "Other_Two").await;

    // Closed after the idle timeout (10 s), though the client stays silent.
    let started = Instant::now();
    for h2c in served {
        tokio::time::timeout(Duration::from_secs(15), h2c.driver)
            .await
            .expect("the h2c connection is closed after the idle timeout")
            .unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(15));

    // The refusals are counted.
    let metrics = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let per_ip_refused = sample(
        &metrics,
        "gamegate_connections_refused_total{listener=\"public\",reason=\"per_ip\"}",
    );
    // Both floods' refusals; a connection the client closed while it still
    // waited in the listen backlog may take a freed place instead (at most
    // one per place).
    let floor = 2 * (1_100 - per_ip) - per_ip;
    assert!(per_ip_refused >= floor as f64, "{metrics}");
    // …and logged as a summary at most every 10 s, not once per connection.
    let summaries = process
        .stderr()
        .iter()
        .filter(|l| l.contains("client connections refused"))
        .count();
    let most = 1 + test_started.elapsed().as_secs() / 10;
    assert!(
        (1..=most as usize).contains(&summaries),
        "{summaries} refusal lines for {per_ip_refused} refusals"
    );

    // A stalled demo body is cut (http.body_read_timeout_ms = 500).
    let mut stalled = connect_from("127.0.0.2", public).await.unwrap();
    stalled
        .write_all(
            b"POST /demo/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"lo",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), stalled.read_to_end(&mut answer))
        .await
        .expect("the stalled demo body is cut")
        .unwrap();
    assert_eq!(parse_raw(&answer).status, 503);
}

#[tokio::test]
async fn http2_is_offered_over_tls_through_alpn_with_h2c_off() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let certs = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (certs.path().join("c.pem"), certs.path().join("k.pem"));
    std::fs::write(&cert_file, certified.cert.pem()).unwrap();
    std::fs::write(&key_file, certified.key_pair.serialize_pem()).unwrap();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.http.tls_cert_file = cert_file.display().to_string();
        c.http.tls_key_file = key_file.display().to_string();
        c.http.idle_timeout_ms = 400;
    })
    .await
    .unwrap();
    assert!(!app.config.http.http2_cleartext);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = TcpStream::connect(app.addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .unwrap();
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = hyper::Request::get("https://localhost/health")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    // Idle with no stream: closed, over TLS too.
    tokio::time::timeout(Duration::from_secs(5), driver)
        .await
        .expect("an idle h2 connection over TLS is closed")
        .unwrap();
    drop(send);
    app.stop().await;
}

#[tokio::test]
async fn a_connection_whose_responses_never_move_is_dropped() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.http.http2_cleartext = true;
        c.http.request_timeout_ms = 600;
        c.database.operation_timeout_ms = 300;
        c.http.body_read_timeout_ms = 100;
        c.http.idle_timeout_ms = 100;
    })
    .await
    .unwrap();
    // An HTTP/2 client that opens no window for the response body: the
    // stream stays open and no request ever ends.
    let stream = TcpStream::connect(app.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(0)
        .handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = hyper::Request::get("http://localhost/openapi.json")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), driver)
        .await
        .expect("a stuck connection is dropped")
        .unwrap();
    let waited = started.elapsed();
    // stuck after request + body-read + idle timeouts (0.8 s)
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(4),
        "dropped after {waited:?}"
    );
    drop((send, response));
    app.stop().await;
}

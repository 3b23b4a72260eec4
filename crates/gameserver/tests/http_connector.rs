//! The HTTP connector over real sockets on 127.0.0.1: every row of the
//! definite/lost table (docs/GAME_SERVER.md, "HTTP connector") against a
//! scripted raw HTTP/1.1 server, the signature checked by an independent
//! implementation (the `hmac` crate here, not the connector's module), the
//! bounded pool, the one retry with its idempotency key, and the round trip
//! against the mock receiver.
//!
//! The scripted server is a plain TCP loop rather than axum or hyper: it must
//! close a connection after reading a request, cut a body half-way, or stay
//! silent, which a server framework does not let a handler do.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gamegate_gameserver::http::signature::SIGNATURE_HEADER;
use gamegate_gameserver::{
    CallError, FailureKind, GameServer, HttpBehaviour, HttpGameServer, HttpGameServerConfig,
    HttpMockServer, RegisterError, ServerCode,
};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "test-signing-secret-0123456789";

fn config(url: String, pool_size: usize, call_timeout: Duration) -> HttpGameServerConfig {
    HttpGameServerConfig {
        url,
        signing_secret: SECRET.into(),
        pool_size,
        connect_timeout: Duration::from_millis(500),
        call_timeout,
        rules: Default::default(),
        ca_pem: None,
    }
}

fn connector(url: String) -> HttpGameServer {
    HttpGameServer::new(config(url, 4, Duration::from_millis(800))).unwrap()
}

/// What the scripted server does with one request.
#[derive(Clone, Debug)]
enum Act {
    /// Answer with this status and body.
    Answer(u16, &'static str),
    /// Close the connection without answering.
    Close,
    /// Send the head and part of the body, then close.
    CutBody(u16),
    /// Say nothing, keep the connection open.
    Silence,
}

/// One request as the scripted server read it.
#[derive(Clone, Debug)]
struct Seen {
    connection: usize,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 server (keep-alive) that plays `script` in order, the last
/// act repeated, and records every request.
struct Scripted {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<Mutex<usize>>,
}

async fn scripted(script: Vec<Act>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(Mutex::new(0));
    let script = Arc::new(Mutex::new((script, 0usize)));
    let (record, count) = (seen.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let id = {
                let mut n = count.lock().unwrap();
                *n += 1;
                *n
            };
            tokio::spawn(serve_scripted(stream, id, script.clone(), record.clone()));
        }
    });
    Scripted {
        addr,
        seen,
        connections,
    }
}

async fn serve_scripted(
    mut stream: TcpStream,
    connection: usize,
    script: Arc<Mutex<(Vec<Act>, usize)>>,
    seen: Arc<Mutex<Vec<Seen>>>,
) {
    let mut buf = Vec::new();
    loop {
        // The head.
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let path = lines.next().unwrap().split(' ').nth(1).unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().unwrap());
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_end..head_end + length].to_vec();
        buf.drain(..head_end + length);
        seen.lock().unwrap().push(Seen {
            connection,
            path,
            headers,
            body,
        });
        let act = {
            let mut s = script.lock().unwrap();
            let act = s.0[s.1.min(s.0.len() - 1)].clone();
            s.1 += 1;
            act
        };
        match act {
            Act::Answer(status, body) => {
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if stream.write_all(answer.as_bytes()).await.is_err() {
                    return;
                }
            }
            Act::Close => return,
            Act::CutBody(status) => {
                let answer =
                    format!("HTTP/1.1 {status} X\r\ncontent-length: 100\r\n\r\n{{\"account_id\"");
                let _ = stream.write_all(answer.as_bytes()).await;
                return;
            }
            Act::Silence => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return;
            }
        }
    }
}

/// The signature recomputed with the `hmac` crate from the header's `t`,
/// the path's last segment and the body as received.
fn assert_signed(seen: &Seen) {
    let header = seen.header(SIGNATURE_HEADER).expect("signature header");
    let (t, v1) = header.split_once(",v1=").expect("t=…,v1=…");
    let t: u64 = t.strip_prefix("t=").unwrap().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(t.abs_diff(now) <= 5, "timestamp {t} is now");
    let op = seen.path.rsplit('/').next().unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.{op}.").as_bytes());
    mac.update(&seen.body);
    assert_eq!(v1, hex::encode(mac.finalize().into_bytes()), "{seen:?}");
}

async fn register_once(script: Vec<Act>) -> (Result<u64, RegisterError>, Vec<Seen>) {
    let server = scripted(script).await;
    let result = connector(format!("http://{}/game/", server.addr))
        .register("Hero_01", "secret12", 1)
        .await;
    let seen = server.seen.lock().unwrap().clone();
    (result, seen)
}

fn unavailable(result: Result<u64, RegisterError>) -> CallError {
    match result {
        Err(RegisterError::Call(e @ CallError::Unavailable(_))) => e,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn ambiguous(result: Result<u64, RegisterError>) -> CallError {
    match result {
        Err(RegisterError::Call(e @ CallError::Ambiguous(_))) => e,
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

#[tokio::test]
async fn a_register_is_a_signed_post_with_an_idempotency_key() {
    let (result, seen) = register_once(vec![Act::Answer(200, r#"{"account_id":1042}"#)]).await;
    assert_eq!(result.unwrap(), 1042);
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.path, "/game/register");
    assert_signed(request);
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["login"], "Hero_01");
    assert_eq!(body["password"], "secret12");
    assert_eq!(body["gender"], 1);
    assert_eq!(body["request_id"].as_str().unwrap().len(), 32);
    assert_eq!(request.header("idempotency-key").unwrap().len(), 32);
    assert_eq!(request.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn definite_answers_are_unavailable_and_not_retried() {
    for (status, body, kind) in [
        (
            500,
            r#"{"error":"internal"}"#,
            FailureKind::Server(ServerCode::Internal),
        ),
        (
            503,
            r#"{"error":"busy"}"#,
            FailureKind::Server(ServerCode::Internal),
        ),
        (401, r#"{"error":"unauthorized"}"#, FailureKind::AuthRefused),
        (403, "forbidden", FailureKind::AuthRefused),
        (
            400,
            r#"{"error":"invalid"}"#,
            FailureKind::Server(ServerCode::Invalid),
        ),
        (404, "", FailureKind::Server(ServerCode::Unknown)),
        (429, "", FailureKind::Server(ServerCode::Unknown)),
    ] {
        let (result, seen) = register_once(vec![Act::Answer(status, body)]).await;
        let e = unavailable(result);
        assert_eq!(e.kind(), kind, "{status}: {e}");
        assert_eq!(seen.len(), 1, "{status}: not retried");
    }
    let (result, _) = register_once(vec![Act::Answer(409, r#"{"error":"login_taken"}"#)]).await;
    assert!(
        matches!(result, Err(RegisterError::LoginTaken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn lost_answers_are_ambiguous() {
    for (status, body) in [
        (502, "<html>Bad Gateway</html>"),
        (504, ""),
        (500, "<html>oops</html>"),
        (409, r#"{"error":"replayed"}"#),
        (200, "not json"),
        (200, r#"{"id":5}"#),
        (201, r#"{"account_id":5}"#),
        (302, ""),
    ] {
        let (result, seen) = register_once(vec![Act::Answer(status, body)]).await;
        let e = ambiguous(result);
        assert_eq!(seen.len(), 1, "{status} {body}: not retried: {e}");
    }
}

#[tokio::test]
async fn a_broken_exchange_is_retried_once_with_the_same_key() {
    // Closed after reading, then answered: the retry decides.
    let (result, seen) =
        register_once(vec![Act::Close, Act::Answer(200, r#"{"account_id":7}"#)]).await;
    assert_eq!(result.unwrap(), 7);
    assert_eq!(seen.len(), 2);
    let key = |s: &Seen| s.header("idempotency-key").unwrap().to_owned();
    assert_eq!(key(&seen[0]), key(&seen[1]), "one key for the attempt");
    assert_ne!(
        seen[0].header(SIGNATURE_HEADER),
        seen[1].header(SIGNATURE_HEADER),
        "each delivery signed anew (a new request id)"
    );
    seen.iter().for_each(assert_signed);
    assert_ne!(
        seen[0].connection, seen[1].connection,
        "on a new connection"
    );

    // Broken twice: lost.
    let (result, seen) = register_once(vec![Act::Close]).await;
    assert_eq!(ambiguous(result).kind(), FailureKind::Connection);
    assert_eq!(seen.len(), 2);
    // A body cut half-way is broken too.
    let (result, seen) = register_once(vec![Act::CutBody(200)]).await;
    assert_eq!(ambiguous(result).kind(), FailureKind::Connection);
    assert_eq!(seen.len(), 2);
    // The retry answered login_taken: maybe by the first attempt's own
    // account, so lost, not "taken".
    let (result, _) = register_once(vec![
        Act::Close,
        Act::Answer(409, r#"{"error":"login_taken"}"#),
    ])
    .await;
    ambiguous(result);
}

#[tokio::test]
async fn silence_after_the_request_is_an_ambiguous_timeout_within_the_call_bound() {
    let started = Instant::now();
    let (result, seen) = register_once(vec![Act::Silence]).await;
    assert_eq!(ambiguous(result).kind(), FailureKind::Timeout);
    assert_eq!(seen.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn no_connection_is_unavailable() {
    // Refused: a port nothing listens on any more.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed = listener.local_addr().unwrap();
    drop(listener);
    let e = unavailable(
        connector(format!("http://{closed}"))
            .register("Hero_01", "secret12", 0)
            .await,
    );
    assert_eq!(e.kind(), FailureKind::Connection, "{e}");
    assert!(e.to_string().contains("cannot connect"), "{e}");
    // A name that cannot resolve (RFC 6761 reserves .invalid).
    let e = unavailable(
        connector("http://gamegate-test.invalid".into())
            .register("Hero_01", "secret12", 0)
            .await,
    );
    assert!(
        matches!(e.kind(), FailureKind::Connection | FailureKind::Timeout),
        "{e}"
    );
    assert!(!e.to_string().contains("secret12"));
}

#[tokio::test]
async fn the_pool_bounds_calls_in_flight_and_reuses_connections() {
    let silent = scripted(vec![Act::Silence]).await;
    let server = Arc::new(
        HttpGameServer::new(config(
            format!("http://{}", silent.addr),
            2,
            Duration::from_millis(400),
        ))
        .unwrap(),
    );
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move { server.exists("Hero_01").await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.await.unwrap().unwrap_err());
    }
    let waited = outcomes
        .iter()
        .filter(|e| matches!(e, CallError::Unavailable(f) if f.kind == FailureKind::Timeout))
        .count();
    assert_eq!(waited, 1, "{outcomes:?}");
    assert_eq!(
        *silent.connections.lock().unwrap(),
        2,
        "two slots, two connections"
    );

    let keep_alive = scripted(vec![Act::Answer(200, r#"{"exists":false}"#)]).await;
    let server = connector(format!("http://{}", keep_alive.addr));
    for _ in 0..10 {
        assert!(!server.exists("Hero_01").await.unwrap());
    }
    assert_eq!(
        *keep_alive.connections.lock().unwrap(),
        1,
        "one connection reused"
    );
    keep_alive
        .seen
        .lock()
        .unwrap()
        .iter()
        .for_each(assert_signed);
}

#[tokio::test]
async fn round_trip_against_the_mock_receiver() {
    let shutdown = CancellationToken::new();
    let mock = HttpMockServer::start(
        "127.0.0.1:0".parse().unwrap(),
        SECRET.into(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let game = connector(mock.url());
    game.ping().await.unwrap();
    let id = game.register("Hero_01", "secret12", 0).await.unwrap();
    assert_eq!(mock.account_id("hero_01"), Some(id));
    assert!(matches!(
        game.register("HERO_01", "secret12", 1).await,
        Err(RegisterError::LoginTaken)
    ));
    assert!(game.exists("hERO_01").await.unwrap());
    game.set_password("Hero_01", "another1").await.unwrap();
    let e = game.set_password("Nobody", "another1").await.unwrap_err();
    assert!(matches!(e, CallError::Unavailable(_)), "{e}");
    game.delete("Hero_01").await.unwrap();
    assert!(!game.exists("Hero_01").await.unwrap());
    game.delete("Hero_01").await.unwrap();
    mock.set_online(42);
    assert_eq!(game.online().await.unwrap(), 42);

    // A wrong secret is refused, definitely.
    let mut wrong = config(mock.url(), 1, Duration::from_secs(1));
    wrong.signing_secret = "another-secret-0123456789".into();
    let e = HttpGameServer::new(wrong)
        .unwrap()
        .ping()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Unavailable(f) if f.kind == FailureKind::AuthRefused),
        "{e}"
    );

    // Executed, then the connection dropped: the retry carries the same key
    // and gets the first answer; one account.
    mock.set_every(vec![(mock.requests() + 1, HttpBehaviour::DropAfterExecute)]);
    let id = game.register("Hero_02", "secret12", 0).await.unwrap();
    mock.set_every(Vec::new());
    assert_eq!(mock.account_id("Hero_02"), Some(id));
    let created = mock
        .journal()
        .iter()
        .filter(|e| matches!(e, gamegate_gameserver::StateEntry::Created { login, .. } if login == "Hero_02"))
        .count();
    assert_eq!(created, 1);

    // Refused while the receiver does not listen, served again after.
    mock.set_behaviour(HttpBehaviour::Refuse).await;
    let e = game.ping().await.unwrap_err();
    assert!(matches!(e, CallError::Unavailable(_)), "{e}");
    mock.set_behaviour(HttpBehaviour::Normal).await;
    game.ping().await.unwrap();
    shutdown.cancel();
}

#[tokio::test]
async fn the_mock_refuses_replays_stale_and_unsigned_requests() {
    use gamegate_gameserver::http::signature::header_value;
    let shutdown = CancellationToken::new();
    let mock = HttpMockServer::start(
        "127.0.0.1:0".parse().unwrap(),
        SECRET.into(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = r#"{"request_id":"r1","login":"Hero_09"}"#;
    let send = |signature: Option<String>, path: &str| {
        let mut request = http
            .post(format!("{}/{path}", mock.url()))
            .body(body.to_owned());
        if let Some(s) = signature {
            request = request.header(SIGNATURE_HEADER, s);
        }
        request.send()
    };
    let signed = header_value(SECRET.as_bytes(), now, "exists", body.as_bytes());
    let first = send(Some(signed.clone()), "exists").await.unwrap();
    assert_eq!(first.status(), 200);
    let again = send(Some(signed.clone()), "exists").await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(again.text().await.unwrap(), r#"{"error":"replayed"}"#);
    // Signed for `exists`, sent to `delete`.
    assert_eq!(send(Some(signed), "delete").await.unwrap().status(), 401);
    let stale = header_value(SECRET.as_bytes(), now - 301, "exists", body.as_bytes());
    assert_eq!(send(Some(stale), "exists").await.unwrap().status(), 401);
    assert_eq!(send(None, "exists").await.unwrap().status(), 401);
    assert_eq!(send(None, "nowhere").await.unwrap().status(), 404);
    shutdown.cancel();
}

#[tokio::test]
async fn a_definite_failure_of_the_retry_leaves_the_call_lost() {
    // The first attempt broke off (it may have run); the retry is refused
    // by the receiver as `internal`: that says nothing of the first one.
    let (result, seen) = register_once(vec![
        Act::Close,
        Act::Answer(500, r#"{"error":"internal"}"#),
    ])
    .await;
    let e = ambiguous(result);
    assert!(e.to_string().contains("on the retry"), "{e}");
    assert_eq!(seen.len(), 2);
}

/// A CA, and a certificate for `localhost` it signed: (CA PEM, cert PEM, key PEM).
fn private_ca() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gamegate test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    (ca.pem(), cert.pem(), key.serialize_pem())
}

/// TLS in front of `upstream` with `cert`/`key`; returns the TLS port.
async fn tls_front(upstream: SocketAddr, cert: &str, key: &str) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut plain = TcpStream::connect(upstream).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn https_with_a_private_ca_needs_its_certificate() {
    let shutdown = CancellationToken::new();
    let mock = HttpMockServer::start(
        "127.0.0.1:0".parse().unwrap(),
        SECRET.into(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let (ca, cert, key) = private_ca();
    let port = tls_front(mock.local_addr(), &cert, &key).await;
    let url = format!("https://localhost:{port}");

    // Not among the built-in roots: the handshake fails, nothing was sent.
    let untrusted = connector(url.clone());
    let e = untrusted
        .register("Hero_01", "secret12", 0)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, RegisterError::Call(CallError::Unavailable(f)) if f.kind == FailureKind::Connection),
        "{e}"
    );
    assert_eq!(mock.requests(), 0);

    let mut trusting = config(url, 2, Duration::from_secs(2));
    trusting.ca_pem = Some(ca.into_bytes());
    let game = HttpGameServer::new(trusting).unwrap();
    game.ping().await.unwrap();
    let id = game.register("Hero_01", "secret12", 0).await.unwrap();
    assert_eq!(mock.account_id("Hero_01"), Some(id));
    shutdown.cancel();
}

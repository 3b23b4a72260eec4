//! Client <-> mock game server over real sockets on 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gamegate_gameserver::protocol::MAX_LINE_BYTES;
use gamegate_gameserver::{
    Behaviour, CallError, FailureKind, GameServer, MockGameServer, MockHandle, RegisterError,
    ServerCode, TcpGameServer, TcpGameServerConfig,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-token-Zq9";
/// Generous bound for "this must not hang" waits.
const PATIENCE: Duration = Duration::from_secs(5);

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start_mock() -> (MockHandle, CancellationToken) {
    let shutdown = CancellationToken::new();
    let handle = MockGameServer::start(any_port(), TOKEN.into(), shutdown.clone())
        .await
        .unwrap();
    (handle, shutdown)
}

fn config(addr: SocketAddr, pool_size: usize, call_timeout: Duration) -> TcpGameServerConfig {
    TcpGameServerConfig {
        addr: addr.to_string(),
        auth_token: TOKEN.into(),
        pool_size,
        connect_timeout: Duration::from_secs(2),
        call_timeout,
        ..TcpGameServerConfig::default()
    }
}

fn client(addr: SocketAddr) -> TcpGameServer {
    TcpGameServer::new(config(addr, 4, Duration::from_secs(3)))
}

async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < give_up, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn assert_unavailable(err: &CallError) -> &str {
    match err {
        CallError::Unavailable(failure) => failure.detail(),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

fn assert_ambiguous(err: &CallError) -> &str {
    match err {
        CallError::Ambiguous(failure) => failure.detail(),
        other => panic!("expected Ambiguous, got {other:?}"),
    }
}

fn register_call_error(result: Result<u64, RegisterError>) -> CallError {
    match result {
        Err(RegisterError::Call(err)) => err,
        other => panic!("expected a call error, got {other:?}"),
    }
}

/// A raw protocol connection for poking the server directly.
struct Raw {
    stream: BufReader<TcpStream>,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: BufReader::new(TcpStream::connect(addr).await.unwrap()),
        }
    }

    async fn send(&mut self, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.stream.get_mut().write_all(&bytes).await.unwrap();
    }

    /// The next reply, or `None` if the server closed the connection.
    async fn recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        let n = tokio::time::timeout(PATIENCE, self.stream.read_line(&mut line))
            .await
            .expect("no reply from the server")
            .unwrap_or(0); // a reset counts as closed
        (n > 0).then(|| serde_json::from_str(&line).unwrap())
    }

    async fn call(&mut self, line: &str) -> Value {
        self.send(line).await;
        self.recv().await.expect("connection closed unexpectedly")
    }

    async fn auth(&mut self) {
        let reply = self
            .call(&json!({"id": 1, "cmd": "auth", "token": TOKEN}).to_string())
            .await;
        // The mock announces its protocol version and commands.
        assert_eq!(
            reply,
            json!({"id": 1, "ok": true, "version": 1,
                   "capabilities": ["register", "exists", "delete", "set_password", "ping", "online"]})
        );
    }

    async fn assert_closed(&mut self) {
        assert_eq!(self.recv().await, None, "connection should be closed");
    }
}

#[tokio::test]
async fn register_exists_delete_ping_online() {
    let (mock, _shutdown) = start_mock().await;
    let client = client(mock.local_addr());

    client.ping().await.unwrap();
    let id = client.register("Hero_01", "secret12", 0).await.unwrap();
    assert_eq!(id, 1001);
    assert!(mock.contains("hero_01"));
    assert_eq!(mock.logins(), vec!["Hero_01".to_string()]);
    assert_eq!(mock.account_id("HERO_01"), Some(1001));

    assert!(client.exists("Hero_01").await.unwrap());
    assert!(client.exists("HERO_01").await.unwrap(), "case-insensitive");
    assert!(!client.exists("Villain").await.unwrap());

    let id2 = client.register("Villain", "secret34", 1).await.unwrap();
    assert_eq!(id2, 1002);
    assert_eq!(mock.account_count(), 2);

    // One pooled connection so far (sequential calls).
    assert_eq!(client.online().await.unwrap(), 1);
    let mut raw = Raw::connect(mock.local_addr()).await;
    raw.auth().await;
    assert_eq!(client.online().await.unwrap(), 2);
    drop(raw);
    wait_until("the raw connection is gone", || mock.online() == 1).await;
    assert_eq!(client.online().await.unwrap(), 1);

    client.delete("hero_01").await.unwrap();
    assert!(!mock.contains("Hero_01"));
    assert!(!client.exists("Hero_01").await.unwrap());
    // Deleting a missing login is fine (idempotent).
    client.delete("hero_01").await.unwrap();
    assert_eq!(mock.logins(), vec!["Villain".to_string()]);
    assert_eq!(mock.register_calls(), 2);
}

#[tokio::test]
async fn duplicate_login_is_taken_case_insensitively() {
    let (mock, _shutdown) = start_mock().await;
    let client = client(mock.local_addr());

    client.register("Hero_01", "secret12", 0).await.unwrap();
    for login in ["Hero_01", "hero_01", "HERO_01"] {
        let result = client.register(login, "other-pw", 1).await;
        assert!(
            matches!(result, Err(RegisterError::LoginTaken)),
            "{login}: {result:?}"
        );
    }
    assert_eq!(mock.account_count(), 1);
    assert_eq!(mock.logins(), vec!["Hero_01".to_string()]);
    assert_eq!(mock.register_calls(), 4);
    // `login_taken` is a normal answer: the connection stays pooled.
    assert_eq!(mock.accepted_connections(), 1);
}

#[tokio::test]
async fn wrong_token_is_unavailable_and_not_leaked() {
    let (mock, _shutdown) = start_mock().await;
    let mut cfg = config(mock.local_addr(), 2, Duration::from_secs(3));
    cfg.auth_token = "WRONG-token-77".into();
    let client = TcpGameServer::new(cfg);

    let err = client.ping().await.unwrap_err();
    let reason = assert_unavailable(&err);
    assert!(reason.contains("unauthorized"), "{reason}");
    assert_eq!(err.kind(), FailureKind::AuthRefused, "{err}");
    assert!(!err.to_string().contains("WRONG-token-77"), "{err}");

    let err = register_call_error(client.register("Hero_01", "secret12", 0).await);
    assert_unavailable(&err);
    assert!(!err.to_string().contains("secret12"), "{err}");
    assert_eq!(mock.register_calls(), 0);
    assert_eq!(mock.account_count(), 0);
}

#[tokio::test]
async fn commands_before_auth_are_unauthorized() {
    let (mock, _shutdown) = start_mock().await;
    let mut raw = Raw::connect(mock.local_addr()).await;

    let reply = raw.call(r#"{"id":7,"cmd":"ping"}"#).await;
    assert_eq!(
        reply,
        json!({"id": 7, "ok": false, "error": "unauthorized"})
    );
    let reply = raw
        .call(r#"{"id":8,"cmd":"register","login":"Hero_01","password":"secret12","gender":0}"#)
        .await;
    assert_eq!(
        reply,
        json!({"id": 8, "ok": false, "error": "unauthorized"})
    );
    assert_eq!(mock.account_count(), 0);
    assert_eq!(mock.register_calls(), 0);

    let reply = raw
        .call(r#"{"id":9,"cmd":"auth","token":"not-the-token"}"#)
        .await;
    assert_eq!(
        reply,
        json!({"id": 9, "ok": false, "error": "unauthorized"})
    );
    let reply = raw.call(r#"{"id":10,"cmd":"online"}"#).await;
    assert_eq!(reply["error"], "unauthorized");
    assert_eq!(mock.online(), 0);

    raw.auth().await;
    let reply = raw.call(r#"{"id":11,"cmd":"online"}"#).await;
    assert_eq!(reply, json!({"id": 11, "ok": true, "online": 1}));
    let reply = raw
        .call(r#"{"id":12,"cmd":"register","login":"Hero_01","password":"secret12","gender":0}"#)
        .await;
    assert_eq!(reply, json!({"id": 12, "ok": true, "account_id": 1001}));
    let reply = raw
        .call(r#"{"id":13,"cmd":"exists","login":"HERO_01"}"#)
        .await;
    assert_eq!(reply, json!({"id": 13, "ok": true, "exists": true}));
}

#[tokio::test]
async fn oversized_line_gets_invalid_then_close() {
    let (mock, _shutdown) = start_mock().await;
    let mut raw = Raw::connect(mock.local_addr()).await;
    raw.auth().await;

    // A line of exactly MAX_LINE_BYTES is accepted.
    let base = r#"{"id":3,"cmd":"ping"}"#;
    let at_limit = format!("{base}{}", " ".repeat(MAX_LINE_BYTES - base.len()));
    assert_eq!(raw.call(&at_limit).await, json!({"id": 3, "ok": true}));

    // One byte more is not, even though it carries a readable id.
    let over = format!("{at_limit} ");
    raw.send(&over).await;
    let reply = raw.recv().await.expect("an invalid reply before closing");
    assert_eq!(reply, json!({"id": 0, "ok": false, "error": "invalid"}));
    raw.assert_closed().await;

    // Much larger garbage without any newline is cut off as well.
    let mut raw = Raw::connect(mock.local_addr()).await;
    raw.auth().await;
    raw.stream
        .get_mut()
        .write_all(&vec![b'x'; 64 * 1024])
        .await
        .unwrap();
    assert_eq!(
        raw.recv().await,
        Some(json!({"id": 0, "ok": false, "error": "invalid"}))
    );
    raw.assert_closed().await;
}

#[tokio::test]
async fn malformed_lines_get_invalid_then_close() {
    let (mock, _shutdown) = start_mock().await;
    for (line, id) in [
        ("this is not json", 0),
        (r#"{"id":5,"cmd":"explode"}"#, 5),
        (r#"{"id":6,"cmd":"register","login":"x"}"#, 6),
        (r#"{"cmd":"ping"}"#, 0),
    ] {
        // Before and after auth alike.
        for authenticate in [false, true] {
            let mut raw = Raw::connect(mock.local_addr()).await;
            if authenticate {
                raw.auth().await;
            }
            raw.send(line).await;
            assert_eq!(
                raw.recv().await,
                Some(json!({"id": id, "ok": false, "error": "invalid"})),
                "{line}"
            );
            raw.assert_closed().await;
        }
    }
    assert_eq!(mock.register_calls(), 0);
}

#[tokio::test]
async fn refuse_is_unavailable_quickly_and_normal_rebinds_same_address() {
    let (mock, _shutdown) = start_mock().await;
    let addr = mock.local_addr();
    let call_timeout = Duration::from_secs(3);
    let client = TcpGameServer::new(config(addr, 2, call_timeout));
    client.register("Hero_01", "secret12", 0).await.unwrap();

    let mut raw = Raw::connect(addr).await;
    raw.auth().await;

    mock.set_behaviour(Behaviour::Refuse).await;
    raw.assert_closed().await;
    assert!(TcpStream::connect(addr).await.is_err(), "must refuse");

    // The pooled connection was closed by the server: the client must notice
    // it without sending (so the failure is Unavailable, not Ambiguous).
    let started = Instant::now();
    let err = register_call_error(client.register("Hero_02", "secret12", 0).await);
    assert_unavailable(&err);
    assert!(
        started.elapsed() < call_timeout / 3,
        "took {:?}",
        started.elapsed()
    );
    assert_unavailable(&client.ping().await.unwrap_err());
    assert_eq!(mock.register_calls(), 1);

    mock.set_behaviour(Behaviour::Normal).await;
    assert_eq!(mock.local_addr(), addr);
    assert_eq!(
        client.register("Hero_02", "secret12", 0).await.unwrap(),
        1002
    );
    assert!(client.exists("hero_02").await.unwrap());
    assert_eq!(mock.account_count(), 2);
}

#[tokio::test]
async fn delay_past_call_timeout_is_ambiguous_and_account_appears_later() {
    let (mock, _shutdown) = start_mock().await;
    let delay = Duration::from_millis(400);
    let call_timeout = Duration::from_millis(150);
    let client = TcpGameServer::new(config(mock.local_addr(), 2, call_timeout));
    client.ping().await.unwrap(); // connection ready, so the timeout hits the reply

    mock.set_behaviour(Behaviour::Delay(delay)).await;
    let started = Instant::now();
    let err = register_call_error(client.register("Slowpoke", "secret12", 0).await);
    let elapsed = started.elapsed();
    assert_ambiguous(&err);
    assert!(elapsed >= call_timeout && elapsed < delay, "{elapsed:?}");
    assert!(!mock.contains("Slowpoke"), "created before the delay ended");

    wait_until("the delayed account exists", || mock.contains("Slowpoke")).await;
    assert!(started.elapsed() >= delay);

    mock.set_behaviour(Behaviour::Normal).await;
    assert!(matches!(
        client.register("slowpoke", "secret12", 0).await,
        Err(RegisterError::LoginTaken)
    ));
    // The timed-out connection was discarded, not reused.
    assert_eq!(mock.accepted_connections(), 2);
}

#[tokio::test]
async fn delay_within_call_timeout_succeeds() {
    let (mock, _shutdown) = start_mock().await;
    let client = TcpGameServer::new(config(mock.local_addr(), 2, Duration::from_secs(3)));
    mock.set_behaviour(Behaviour::Delay(Duration::from_millis(50)))
        .await;
    let started = Instant::now();
    assert_eq!(client.register("Patient", "pw", 1).await.unwrap(), 1001);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn drop_after_read_is_ambiguous_and_creates_nothing() {
    let (mock, _shutdown) = start_mock().await;
    let client = client(mock.local_addr());
    mock.set_behaviour(Behaviour::DropAfterRead).await;

    let err = register_call_error(client.register("Hero_01", "secret12", 0).await);
    let reason = assert_ambiguous(&err);
    assert!(!reason.contains("secret12"));
    assert_eq!(mock.register_calls(), 1);
    assert_eq!(mock.account_count(), 0);

    // Other commands are unaffected; so is register once back to normal.
    assert!(!client.exists("Hero_01").await.unwrap());
    mock.set_behaviour(Behaviour::Normal).await;
    assert_eq!(
        client.register("Hero_01", "secret12", 0).await.unwrap(),
        1001
    );
}

#[tokio::test]
async fn internal_error_is_unavailable_and_creates_nothing() {
    let (mock, _shutdown) = start_mock().await;
    let client = client(mock.local_addr());
    mock.set_behaviour(Behaviour::InternalError).await;

    let err = register_call_error(client.register("Hero_01", "secret12", 0).await);
    let reason = assert_unavailable(&err);
    assert!(reason.contains("internal"), "{reason}");
    assert_eq!(
        err.kind(),
        FailureKind::Server(ServerCode::Internal),
        "{err}"
    );
    assert_eq!(mock.register_calls(), 1);
    assert_eq!(mock.account_count(), 0);
    client.ping().await.unwrap();

    mock.set_behaviour(Behaviour::Normal).await;
    assert_eq!(
        client.register("Hero_01", "secret12", 0).await.unwrap(),
        1001
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_server_does_not_break_the_next_call() {
    let (mock, shutdown) = start_mock().await;
    let addr = mock.local_addr();
    let client = TcpGameServer::new(config(addr, 2, Duration::from_secs(3)));
    client.register("Hero_01", "secret12", 0).await.unwrap();

    let mut raw = Raw::connect(addr).await;
    raw.auth().await;
    shutdown.cancel();
    tokio::time::timeout(PATIENCE, mock.stopped())
        .await
        .expect("mock did not stop");
    raw.assert_closed().await;
    assert!(TcpStream::connect(addr).await.is_err());

    let (restarted, _shutdown2) = {
        let shutdown = CancellationToken::new();
        let handle = MockGameServer::start(addr, TOKEN.into(), shutdown.clone())
            .await
            .unwrap();
        (handle, shutdown)
    };
    assert_eq!(restarted.local_addr(), addr);

    // The pooled connection is stale; the next call must still succeed.
    assert_eq!(
        client.register("Hero_02", "secret12", 0).await.unwrap(),
        1001
    );
    assert!(client.exists("hero_02").await.unwrap());
    assert!(!client.exists("hero_01").await.unwrap(), "fresh mock state");
    assert_eq!(restarted.accepted_connections(), 1);
}

#[tokio::test]
async fn sequential_calls_reuse_one_pooled_connection() {
    let (mock, _shutdown) = start_mock().await;
    let pool_size = 4;
    let client = TcpGameServer::new(config(mock.local_addr(), pool_size, Duration::from_secs(3)));
    for i in 0..20 {
        match i % 4 {
            0 => client.ping().await.unwrap(),
            1 => {
                client
                    .register(&format!("player{i}"), "secret12", 0)
                    .await
                    .unwrap();
            }
            2 => assert!(client.exists(&format!("player{}", i - 1)).await.unwrap()),
            _ => assert_eq!(client.online().await.unwrap(), 1),
        }
    }
    let accepted = mock.accepted_connections();
    assert!(accepted <= pool_size as u64, "{accepted}");
    assert_eq!(accepted, 1, "sequential calls need a single connection");
    assert_eq!(mock.online(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_never_exceed_pool_size() {
    let (mock, _shutdown) = start_mock().await;
    let pool_size = 3;
    let client = std::sync::Arc::new(TcpGameServer::new(config(
        mock.local_addr(),
        pool_size,
        Duration::from_secs(5),
    )));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.register(&format!("p{i}"), "pw", 0).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap());
    }
    ids.sort_unstable();
    assert_eq!(ids, (1001..1021).collect::<Vec<_>>());
    assert_eq!(mock.account_count(), 20);
    let accepted = mock.accepted_connections();
    assert!((1..=pool_size as u64).contains(&accepted), "{accepted}");
}

#[tokio::test]
async fn cancelled_call_does_not_return_its_connection_to_the_pool() {
    let (mock, _shutdown) = start_mock().await;
    let client = TcpGameServer::new(config(mock.local_addr(), 1, Duration::from_secs(3)));
    client.ping().await.unwrap();
    mock.set_behaviour(Behaviour::Delay(Duration::from_millis(200)))
        .await;

    // The caller gives up (drops the future) while the request is in flight.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(30),
        client.register("Cancelled", "pw", 0),
    )
    .await;
    assert!(gave_up.is_err());

    // The late reply must not be read as the answer to the next request.
    assert!(!client.exists("Nobody").await.unwrap());
    assert!(client.ping().await.is_ok());
    assert_eq!(mock.accepted_connections(), 2);
    wait_until("the delayed account exists", || mock.contains("Cancelled")).await;
    wait_until("the old connection is closed", || mock.online() == 1).await;
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let addr = {
        let listener = TcpListener::bind(any_port()).await.unwrap();
        listener.local_addr().unwrap()
    };
    let client = TcpGameServer::new(config(addr, 2, Duration::from_secs(3)));
    let started = Instant::now();
    let err = client.ping().await.unwrap_err();
    assert_unavailable(&err);
    assert_eq!(err.kind(), FailureKind::Connection, "{err}");
    assert_unavailable(&register_call_error(client.register("a", "b", 0).await));
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// A hand-written server: answers auth correctly (as a server of before
/// versions were announced), then replies to the next request with whatever
/// `reply` makes of its id.
async fn fake_server(reply: fn(u64) -> Vec<u8>) -> SocketAddr {
    fake_server_with_auth(
        |id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes(),
        reply,
    )
    .await
    .0
}

/// Every command a fake server received, in order.
type Received = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`fake_server`] whose `auth` reply is `auth`'s; also records the `cmd`
/// of every request it receives.
async fn fake_server_with_auth(
    auth: fn(u64) -> Vec<u8>,
    reply: fn(u64) -> Vec<u8>,
) -> (SocketAddr, Received) {
    let listener = TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Received::default();
    let record = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let record = record.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut line = String::new();
                let mut first = true;
                while stream.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let request: Value = serde_json::from_str(&line).unwrap();
                    let id = request["id"].as_u64().unwrap();
                    record
                        .lock()
                        .unwrap()
                        .push(request["cmd"].as_str().unwrap_or_default().to_owned());
                    let out = if first { auth(id) } else { reply(id) };
                    first = false;
                    if stream.get_mut().write_all(&out).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    (addr, received)
}

#[tokio::test]
async fn mismatched_reply_id_is_ambiguous() {
    let addr = fake_server(|id| format!("{{\"id\":{},\"ok\":true}}\n", id + 1).into_bytes()).await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    let err = client.ping().await.unwrap_err();
    let reason = assert_ambiguous(&err).to_string();
    assert!(reason.contains("does not match"), "{reason}");
    assert_eq!(err.kind(), FailureKind::Protocol);
}

#[tokio::test]
async fn oversized_or_garbled_reply_is_ambiguous() {
    let addr = fake_server(|_| {
        let mut out = vec![b' '; MAX_LINE_BYTES + 10];
        out.push(b'\n');
        out
    })
    .await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    let reason = assert_ambiguous(&client.ping().await.unwrap_err()).to_string();
    assert!(reason.contains("too long"), "{reason}");

    let addr = fake_server(|_| b"not json\n".to_vec()).await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    assert_ambiguous(&client.ping().await.unwrap_err());

    // A successful reply lacking its payload is not trusted either.
    let addr = fake_server(|id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes()).await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    client.ping().await.unwrap();
    assert_ambiguous(&register_call_error(client.register("a", "b", 0).await));
}

#[tokio::test]
async fn silent_server_is_bounded_by_timeouts() {
    // Accepts connections but never says anything.
    let listener = TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let held = std::sync::Arc::new(tokio::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut sink = [0u8; 256];
            let _ = stream.read(&mut sink).await;
            keep.lock().await.push(stream);
        }
    });

    // Overall call timeout.
    let call_timeout = Duration::from_millis(150);
    let client = TcpGameServer::new(config(addr, 1, call_timeout));
    let started = Instant::now();
    let err = client.ping().await.unwrap_err();
    let reason = assert_unavailable(&err).to_string();
    assert_eq!(err.kind(), FailureKind::Timeout, "{err}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= call_timeout && elapsed < call_timeout * 4,
        "{elapsed:?}"
    );
    assert!(reason.contains("timed out"), "{reason}");

    // The connect timeout also bounds the auth exchange.
    let mut cfg = config(addr, 1, Duration::from_secs(3));
    cfg.connect_timeout = Duration::from_millis(100);
    let client = TcpGameServer::new(cfg);
    let started = Instant::now();
    let reason = assert_unavailable(&client.ping().await.unwrap_err()).to_string();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(reason.contains("auth"), "{reason}");
}

#[tokio::test]
async fn shutdown_stops_listener_and_connections() {
    let (mock, shutdown) = start_mock().await;
    let addr = mock.local_addr();
    let mut raw = Raw::connect(addr).await;
    raw.auth().await;
    assert_eq!(mock.online(), 1);

    shutdown.cancel();
    tokio::time::timeout(PATIENCE, mock.stopped())
        .await
        .expect("mock did not stop");
    raw.assert_closed().await;
    assert!(TcpStream::connect(addr).await.is_err());
    assert_eq!(mock.online(), 0);

    // Changing behaviour after shutdown does not listen again.
    mock.set_behaviour(Behaviour::Refuse).await;
    mock.set_behaviour(Behaviour::Normal).await;
    assert!(TcpStream::connect(addr).await.is_err());
}

/// With a state file the accounts outlive the process (the soak test kills
/// and restarts the mock): a restarted mock knows them, keeps numbering
/// after the last id, and the journal lists every change in order.
#[tokio::test]
async fn a_mock_with_a_state_file_keeps_its_accounts_across_a_restart() {
    let state = std::env::temp_dir().join(format!("gg-mock-state-{:016x}", rand_suffix()));
    let start = |addr: SocketAddr| {
        let state = state.clone();
        async move {
            let shutdown = CancellationToken::new();
            let mock = MockGameServer::start_with_state(
                addr,
                TOKEN.into(),
                Some(&state),
                shutdown.clone(),
            )
            .await
            .unwrap();
            (mock, shutdown)
        }
    };
    let (mock, shutdown) = start(any_port()).await;
    let addr = mock.local_addr();
    let client = TcpGameServer::new(config(addr, 1, PATIENCE));
    let first = client.register("Keep_Me", "secret12", 0).await.unwrap();
    client.register("Drop_Me", "secret12", 1).await.unwrap();
    client.delete("drop_me").await.unwrap();
    shutdown.cancel();
    mock.stopped().await;

    let (mock, shutdown) = start(addr).await;
    assert!(mock.contains("keep_me"));
    assert!(!mock.contains("Drop_Me"));
    let client = TcpGameServer::new(config(addr, 1, PATIENCE));
    assert!(matches!(
        client.register("KEEP_ME", "secret12", 0).await,
        Err(RegisterError::LoginTaken)
    ));
    let next = client
        .register("After_Restart", "secret12", 0)
        .await
        .unwrap();
    assert_eq!(
        next,
        first + 2,
        "ids continue after the last one handed out"
    );
    shutdown.cancel();
    mock.stopped().await;

    let journal = gamegate_gameserver::read_state(&state).unwrap();
    use gamegate_gameserver::StateEntry::{Created, Deleted};
    assert_eq!(
        journal,
        vec![
            Created {
                login: "Keep_Me".into(),
                id: first
            },
            Created {
                login: "Drop_Me".into(),
                id: first + 1
            },
            Deleted {
                login: "drop_me".into()
            },
            Created {
                login: "After_Restart".into(),
                id: next
            },
        ]
    );
    std::fs::remove_file(&state).unwrap();
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::process::id())
}

#[tokio::test]
async fn set_password_changes_an_existing_account_and_answers_not_found_otherwise() {
    let (mock, _shutdown) = start_mock().await;
    let client = client(mock.local_addr());
    assert!(client.capabilities().operations.set_password);
    client.register("Hero_01", "secret12", 0).await.unwrap();
    assert_eq!(mock.password_changes("hero_01"), Some(0));

    client.set_password("HERO_01", "n3w-Pass-77").await.unwrap();
    assert_eq!(
        mock.password_changes("Hero_01"),
        Some(1),
        "case-insensitive"
    );

    let err = client
        .set_password("Nobody", "n3w-Pass-77")
        .await
        .unwrap_err();
    let reason = assert_unavailable(&err).to_string();
    assert_eq!(
        err.kind(),
        FailureKind::Server(ServerCode::NotFound),
        "{err}"
    );
    assert!(reason.contains("not_found"), "{reason}");
    assert!(!err.to_string().contains("n3w-Pass-77"), "{err}");
    assert_eq!(mock.password_changes("Nobody"), None);
    // `not_found` is a normal answer: the connection stays pooled.
    client.ping().await.unwrap();
    assert_eq!(mock.accepted_connections(), 1);
}

#[tokio::test]
async fn set_password_is_journaled_without_the_password() {
    let dir = std::env::temp_dir().join(format!("gg-setpw-{}", rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("state.jsonl");
    let shutdown = CancellationToken::new();
    let mock =
        MockGameServer::start_with_state(any_port(), TOKEN.into(), Some(&state), shutdown.clone())
            .await
            .unwrap();
    let client = client(mock.local_addr());
    client.register("Hero_01", "secret12", 0).await.unwrap();
    client
        .set_password("hero_01", "JOURNAL-pw-9")
        .await
        .unwrap();
    shutdown.cancel();
    mock.stopped().await;

    let text = std::fs::read_to_string(&state).unwrap();
    assert!(
        !text.contains("JOURNAL-pw-9") && !text.contains("secret12"),
        "{text}"
    );
    assert_eq!(
        gamegate_gameserver::read_state(&state).unwrap().last(),
        Some(&gamegate_gameserver::StateEntry::PasswordSet {
            login: "hero_01".into()
        })
    );
    let shutdown = CancellationToken::new();
    let again =
        MockGameServer::start_with_state(any_port(), TOKEN.into(), Some(&state), shutdown.clone())
            .await
            .unwrap();
    assert_eq!(again.password_changes("Hero_01"), Some(1));
    shutdown.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn the_client_records_what_the_server_announced() {
    let (mock, _shutdown) = start_mock().await;
    let client = client(mock.local_addr());
    assert_eq!(
        client.link_facts(),
        None,
        "nothing before the first connection"
    );
    client.ping().await.unwrap();
    let facts = client.link_facts().unwrap();
    assert_eq!(facts.tls, None);
    assert_eq!(facts.version, Some(1));
    assert_eq!(
        facts.capabilities.as_deref().unwrap(),
        gamegate_gameserver::mock::MOCK_CAPABILITIES
    );
    let summary = client.link_summary().unwrap();
    assert_eq!(summary, "plain TCP · protocol 1");
}

#[tokio::test]
async fn a_server_without_a_version_is_version_1() {
    // The auth reply of a server written before versions: no field at all.
    let addr = fake_server(|id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes()).await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    client.ping().await.unwrap();
    let facts = client.link_facts().unwrap();
    assert_eq!((facts.version, facts.capabilities), (None, None));
    assert_eq!(
        client.link_summary().unwrap(),
        "plain TCP · protocol 1 assumed (none announced)"
    );
}

#[tokio::test]
async fn a_server_announcing_another_version_is_refused_before_any_command() {
    let (addr, received) = fake_server_with_auth(
        |id| format!("{{\"id\":{id},\"ok\":true,\"version\":2}}\n").into_bytes(),
        |id| format!("{{\"id\":{id},\"ok\":true,\"account_id\":7}}\n").into_bytes(),
    )
    .await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    let err = client.ping().await.unwrap_err();
    let reason = assert_unavailable(&err).to_string();
    assert_eq!(err.kind(), FailureKind::Incompatible, "{err}");
    assert!(reason.contains("protocol version 2"), "{reason}");
    let hint = err.failure().hint().unwrap();
    assert!(hint.contains("docs/GAME_SERVER.md"), "{hint}");
    let err = register_call_error(client.register("Hero_01", "secret12", 0).await);
    assert_eq!(err.kind(), FailureKind::Incompatible);
    assert_unavailable(&err);
    // Only `auth` ever reached it, on each attempt.
    let cmds = received.lock().unwrap().clone();
    assert!(
        !cmds.is_empty() && cmds.iter().all(|c| c == "auth"),
        "{cmds:?}"
    );
}

#[tokio::test]
async fn a_command_the_server_does_not_announce_is_not_sent() {
    let (addr, received) = fake_server_with_auth(
        |id| {
            format!(
                "{{\"id\":{id},\"ok\":true,\"version\":1,\"capabilities\":[\"register\",\"exists\",\"ping\"]}}\n"
            )
            .into_bytes()
        },
        |id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes(),
    )
    .await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    client.ping().await.unwrap();
    assert_eq!(
        client.link_summary().unwrap(),
        "plain TCP · protocol 1 (does not announce delete, set_password, online)"
    );
    let err = client
        .set_password("Hero_01", "n3w-Pass-77")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), FailureKind::Unsupported, "{err}");
    assert_unavailable(&err);
    client.ping().await.unwrap();
    assert_eq!(
        received.lock().unwrap().clone(),
        vec!["auth", "ping", "ping"],
        "set_password never went out, and the connection was kept"
    );
}

#[tokio::test]
async fn a_server_that_does_not_announce_ping_answers_ping_by_authenticating() {
    let (addr, received) = fake_server_with_auth(
        |id| {
            format!(
                "{{\"id\":{id},\"ok\":true,\"version\":1,\"capabilities\":[\"register\",\"exists\",\"delete\"]}}\n"
            )
            .into_bytes()
        },
        |id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes(),
    )
    .await;
    let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
    client
        .ping()
        .await
        .expect("an authenticated connection is alive");
    client.ping().await.unwrap();
    assert_eq!(
        received.lock().unwrap().clone(),
        vec!["auth"],
        "ping itself never went out"
    );
    // `online` is not announced either: unsupported, not down.
    assert_eq!(
        client.online().await.unwrap_err().kind(),
        FailureKind::Unsupported
    );
}

#[tokio::test]
async fn a_server_that_announces_commands_without_register_is_refused() {
    for announced in [r#"[]"#, r#"["exists","ping"]"#, r#"["ping","x-unknown"]"#] {
        let addr = {
            // One fake per list: the auth reply is a function pointer, so
            // each list is spelled out.
            match announced {
                "[]" => fake_server_with_auth(
                    |id| format!("{{\"id\":{id},\"ok\":true,\"capabilities\":[]}}\n").into_bytes(),
                    |id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes(),
                )
                .await
                .0,
                r#"["exists","ping"]"# => fake_server_with_auth(
                    |id| {
                        format!("{{\"id\":{id},\"ok\":true,\"capabilities\":[\"exists\",\"ping\"]}}\n")
                            .into_bytes()
                    },
                    |id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes(),
                )
                .await
                .0,
                _ => fake_server_with_auth(
                    |id| {
                        format!(
                            "{{\"id\":{id},\"ok\":true,\"capabilities\":[\"ping\",\"x-unknown\"]}}\n"
                        )
                        .into_bytes()
                    },
                    |id| format!("{{\"id\":{id},\"ok\":true}}\n").into_bytes(),
                )
                .await
                .0,
            }
        };
        let client = TcpGameServer::new(config(addr, 1, Duration::from_secs(3)));
        let err = client.ping().await.unwrap_err();
        assert_eq!(err.kind(), FailureKind::Incompatible, "{announced}: {err}");
        assert_unavailable(&err);
        let text = err.to_string();
        assert!(text.contains("without `register`"), "{text}");
        assert!(
            !text.contains("x-unknown"),
            "server text is not echoed: {text}"
        );
    }
}

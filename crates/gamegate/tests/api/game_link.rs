//! The link to the game server (docs/GAME_SERVER.md, "TLS on the link",
//! "Protocol versions"): gamegate against the TLS mock, a plain-text mock
//! and hand-written servers over real sockets, with certificates rcgen makes
//! per test. A server gamegate must not trust, or whose protocol version it
//! does not speak, stops the start with what to change and fails `doctor`
//! (the real binary); a trusted one registers; on the wire, with TLS on,
//! neither the password nor the token is ever readable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gamegate::Config;
use gamegate::config::GameServerTlsConfig;
use gamegate::startup::Application;
use gamegate_gameserver::tls::server_config;
use gamegate_gameserver::{Fingerprint, MockGameServer, MockHandle};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::support::binary;
use crate::support::{TEST_API_KEY, player, sqlite_in, start, test_config};

/// The token of these tests: distinctive, so the wire can be searched for it.
const TOKEN: &str = "link-token-Zr82xqV7";

/// A CA made for one test, its PEM written to `dir`.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
    pem_file: PathBuf,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem_file = dir.join(format!("{}.pem", name.replace(' ', "-")));
        std::fs::write(&pem_file, cert.pem()).unwrap();
        Self {
            cert,
            key,
            pem_file,
        }
    }

    /// A certificate this CA signs for `names`, written to `dir` as
    /// `{tag}.pem` and `{tag}.key`.
    fn issue(&self, dir: &Path, tag: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let leaf = Leaf {
            cert: dir.join(format!("{tag}.pem")),
            key: dir.join(format!("{tag}.key")),
            der: cert.der().to_vec(),
        };
        std::fs::write(&leaf.cert, cert.pem()).unwrap();
        std::fs::write(&leaf.key, key.serialize_pem()).unwrap();
        leaf
    }
}

struct Leaf {
    cert: PathBuf,
    key: PathBuf,
    der: Vec<u8>,
}

/// The game's CA, the game server's certificate (for 127.0.0.1 and
/// localhost) and someone else's CA.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
    server: Leaf,
    other_ca: Ca,
}

fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new(dir.path(), "game CA");
    let server = ca.issue(
        dir.path(),
        "gameserver",
        &["127.0.0.1", "localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let other_ca = Ca::new(dir.path(), "other CA");
    Pki {
        dir,
        ca,
        server,
        other_ca,
    }
}

/// The TLS mock with `server`'s certificate; with `client_ca`, it requires
/// a client certificate that CA signed.
async fn tls_mock(server: &Leaf, client_ca: Option<&Ca>) -> (MockHandle, CancellationToken) {
    let read = |p: &Path| std::fs::read(p).unwrap();
    let client_ca = client_ca.map(|ca| read(&ca.pem_file));
    let tls = server_config(
        &read(&server.cert),
        &read(&server.key),
        client_ca.as_deref(),
    )
    .unwrap();
    let stop = CancellationToken::new();
    let mock = MockGameServer::start_tls(
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        tls,
        stop.clone(),
    )
    .await
    .unwrap();
    (mock, stop)
}

async fn plain_mock() -> (MockHandle, CancellationToken) {
    let stop = CancellationToken::new();
    let mock = MockGameServer::start("127.0.0.1:0".parse().unwrap(), TOKEN.into(), stop.clone())
        .await
        .unwrap();
    (mock, stop)
}

/// The API suite's configuration on SQLite in `dir`, talking to the game
/// server at `game` (no embedded mock) with `tls`.
fn config(dir: &Path, game: SocketAddr, tls: GameServerTlsConfig) -> Config {
    let mut c = test_config();
    sqlite_in(&mut c, dir);
    c.game_server.embedded_mock = false;
    c.game_server.addr = game.to_string();
    c.game_server.auth_token = TOKEN.into();
    c.game_server.tls = tls;
    c
}

fn with_ca(ca: &Ca) -> GameServerTlsConfig {
    GameServerTlsConfig {
        enabled: true,
        ca_file: ca.pem_file.display().to_string(),
        ..Default::default()
    }
}

fn pinned(der: &[u8]) -> GameServerTlsConfig {
    GameServerTlsConfig {
        enabled: true,
        fingerprint_sha256: Fingerprint::of(der).to_string(),
        ..Default::default()
    }
}

/// The start's error; panics when the application builds.
async fn start_error(config: Config) -> String {
    match Application::build(config).await {
        Ok(_) => panic!("the application started against a server it must refuse"),
        Err(e) => format!("{e:#}"),
    }
}

/// `gamegate doctor --json` (the real binary) on `config`: its
/// `game_server` check.
fn doctor_game_server(config: &Config, dir: &Path) -> Value {
    let path = dir.join("doctor.toml");
    std::fs::write(&path, toml::to_string(config).unwrap()).unwrap();
    let out = binary::with_config(&path, &["doctor", "--json"])
        .output()
        .expect("runs gamegate doctor");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "doctor --json printed no JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let check = json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "game_server")
        .unwrap()
        .clone();
    if check["outcome"] == "fail" {
        assert_eq!(out.status.code(), Some(1), "doctor exits 1 on a ✗");
    }
    check
}

/// The check failed with `reason` in its reason and `fix` in its fix.
#[track_caller]
fn assert_doctor_fails(check: &Value, reason: &str, fix: &str) {
    assert_eq!(check["outcome"], "fail", "{check}");
    assert!(
        check["reason"].as_str().unwrap().contains(reason),
        "{check}"
    );
    assert!(check["fix"].as_str().unwrap().contains(fix), "{check}");
    assert!(!check.to_string().contains(TOKEN), "{check}");
}

async fn register(public: SocketAddr, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("http://{public}/api/register"))
        .header("x-api-key", TEST_API_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A TCP forwarder that records every byte in each direction.
struct Recorder {
    addr: SocketAddr,
    /// gamegate → game server.
    up: Arc<Mutex<Vec<u8>>>,
    /// game server → gamegate.
    down: Arc<Mutex<Vec<u8>>>,
}

impl Recorder {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, down) = (Arc::default(), Arc::default());
        let (up_log, down_log) = (Arc::clone(&up), Arc::clone(&down));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pump(client_read, server_write, Arc::clone(&up_log)));
                tokio::spawn(pump(server_read, client_write, Arc::clone(&down_log)));
            }
        });
        Self { addr, up, down }
    }

    /// Whether `needle` crossed in either direction.
    fn saw(&self, needle: &str) -> bool {
        [&self.up, &self.down].iter().any(|log| {
            log.lock()
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
        })
    }

    fn bytes(&self) -> (usize, usize) {
        (
            self.up.lock().unwrap().len(),
            self.down.lock().unwrap().len(),
        )
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    log: Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                log.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown().await;
}

/// Registers `login` with a distinctive password through a recorder in
/// front of the game server, over TLS or not; returns the recorder.
async fn register_on_the_wire(tls: bool, login: &str, password: &str) -> Recorder {
    let pki = pki();
    let (mock, _stop) = match tls {
        true => tls_mock(&pki.server, None).await,
        false => plain_mock().await,
    };
    let wire = Recorder::start(mock.local_addr()).await;
    // The recorder's address is 127.0.0.1: the default server name, which
    // the certificate carries.
    let settings = match tls {
        true => with_ca(&pki.ca),
        false => GameServerTlsConfig::default(),
    };
    let app = start(config(pki.dir.path(), wire.addr, settings)).await;
    let link = app
        .banner
        .lines()
        .find(|l| l.trim_start().starts_with("game "))
        .unwrap();
    match tls {
        true => assert!(
            link.contains("TLS 1.3, server certificate verified"),
            "{link}"
        ),
        false => assert!(link.contains("plain TCP · protocol 1"), "{link}"),
    }
    let mut body = player(login, 4242);
    body["password"] = json!(password);
    let (status, answer) = register(app.public(), body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(mock.contains(login));
    app.stop().await;
    wire
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_a_registration_works_and_no_secret_crosses_the_wire_in_clear() {
    let password = "Wire-Pw-8472qz";
    let wire = register_on_the_wire(true, "Wire_Hero", password).await;
    let (up, down) = wire.bytes();
    assert!(
        up > 100 && down > 100,
        "traffic went through: {up} / {down} bytes"
    );
    for secret in [password, TOKEN, "Wire_Hero", "\"cmd\""] {
        assert!(!wire.saw(secret), "{secret:?} crossed the link in clear");
    }

    // The control: without TLS the same recorder sees them all.
    let wire = register_on_the_wire(false, "Plain_Hero", password).await;
    for secret in [password, TOKEN, "Plain_Hero", "\"cmd\""] {
        assert!(wire.saw(secret), "the recorder missed {secret:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_stops_the_start_and_fails_doctor() {
    let pki = pki();
    let (mock, _stop) = tls_mock(&pki.server, None).await;
    let c = config(pki.dir.path(), mock.local_addr(), with_ca(&pki.other_ca));
    let err = start_error(c.clone()).await;
    assert!(
        err.contains("not signed by the CA in game_server.tls.ca_file")
            && err.contains("fix: put the CA that signed the game server's certificate"),
        "{err}"
    );
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!((mock.online(), mock.register_calls()), (0, 0));
    let check = doctor_game_server(&c, pki.dir.path());
    assert_doctor_fails(&check, "not signed by the CA", "game_server.tls.ca_file");

    // The right CA: the same server is trusted, and doctor says how.
    let c = config(pki.dir.path(), mock.local_addr(), with_ca(&pki.ca));
    let check = doctor_game_server(&c, pki.dir.path());
    assert_eq!(check["outcome"], "pass", "{check}");
    let reason = check["reason"].as_str().unwrap();
    assert!(
        reason.contains("TLS 1.3, server certificate verified against the CA file · protocol 1"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_stops_the_start_and_the_right_pin_registers() {
    let pki = pki();
    let (mock, _stop) = tls_mock(&pki.server, None).await;
    let wrong = pki.ca.issue(
        pki.dir.path(),
        "replaced",
        &["127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let c = config(pki.dir.path(), mock.local_addr(), pinned(&wrong.der));
    let err = start_error(c.clone()).await;
    let presented = Fingerprint::of(&pki.server.der).to_string();
    assert!(
        err.contains(&format!(
            "has SHA-256 fingerprint {presented}, not the pinned"
        )),
        "{err}"
    );
    assert!(err.contains("fingerprint_sha256"), "{err}");
    let check = doctor_game_server(&c, pki.dir.path());
    assert_doctor_fails(
        &check,
        "not the pinned",
        "game_server.tls.fingerprint_sha256",
    );

    // The right pin, written as the operator copies it from openssl (colons).
    let c = config(pki.dir.path(), mock.local_addr(), pinned(&pki.server.der));
    let check = doctor_game_server(&c, pki.dir.path());
    assert_eq!(check["outcome"], "pass", "{check}");
    assert!(
        check["reason"]
            .as_str()
            .unwrap()
            .contains("server certificate pinned"),
        "{check}"
    );
    let app = start(c).await;
    let (status, body) = register(app.public(), player("Pinned_Hero", 7)).await;
    assert_eq!(status, 200, "{body}");
    assert!(mock.contains("pinned_hero"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_text_server_is_refused_when_tls_is_configured() {
    let pki = pki();
    let (mock, _stop) = plain_mock().await;
    let c = config(pki.dir.path(), mock.local_addr(), with_ca(&pki.ca));
    let err = start_error(c.clone()).await;
    assert!(err.contains("speaks plain text on this port"), "{err}");
    // It never heard the token: no connection was ever authenticated.
    assert_eq!((mock.online(), mock.register_calls()), (0, 0));
    let check = doctor_game_server(&c, pki.dir.path());
    assert_doctor_fails(&check, "TLS refused", "game_server.tls.enabled = false");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_from_the_configuration() {
    let pki = pki();
    let clients = Ca::new(pki.dir.path(), "gamegate clients CA");
    let (mock, _stop) = tls_mock(&pki.server, Some(&clients)).await;
    let err = start_error(config(pki.dir.path(), mock.local_addr(), with_ca(&pki.ca))).await;
    assert!(
        err.contains("refused our client certificate") && err.contains("client_cert"),
        "{err}"
    );
    let ours = clients.issue(
        pki.dir.path(),
        "gamegate",
        &["gamegate"],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let tls = GameServerTlsConfig {
        client_cert: ours.cert.display().to_string(),
        client_key: ours.key.display().to_string(),
        ..with_ca(&pki.ca)
    };
    let app = start(config(pki.dir.path(), mock.local_addr(), tls)).await;
    let (status, body) = register(app.public(), player("Mutual_Hero", 8)).await;
    assert_eq!(status, 200, "{body}");
    assert!(mock.contains("mutual_hero"));
    app.stop().await;
}

/// A game server written by hand: answers `auth` with `auth_reply` (its id
/// filled in), `register` with a new account id, anything else `ok`.
async fn hand_written_server(auth_reply: Value) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let auth_reply = auth_reply.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut line = String::new();
                while stream.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let request: Value = serde_json::from_str(&line).unwrap();
                    let id = request["id"].clone();
                    let mut reply = match request["cmd"].as_str() {
                        Some("auth") => auth_reply.clone(),
                        Some("register") => json!({"ok": true, "account_id": 5001}),
                        Some("exists") => json!({"ok": true, "exists": false}),
                        _ => json!({"ok": true}),
                    };
                    reply["id"] = id;
                    let mut out = reply.to_string().into_bytes();
                    out.push(b'\n');
                    if stream.get_mut().write_all(&out).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_announcing_version_2_stops_the_start_and_one_announcing_none_works() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = hand_written_server(json!({"ok": true, "version": 2})).await;
    let c = config(dir.path(), v2, GameServerTlsConfig::default());
    let err = start_error(c.clone()).await;
    assert!(
        err.contains("announces protocol version 2")
            && err.contains("speaks version 1 only")
            && err.contains("docs/GAME_SERVER.md"),
        "{err}"
    );
    let check = doctor_game_server(&c, dir.path());
    assert_doctor_fails(&check, "protocol version refused", "docs/GAME_SERVER.md");

    // The real binary: `serve register` exits 1 and says why.
    let out = binary::command()
        .args(["serve", "register"])
        .envs(binary::local_env(dir.path()))
        .env("GAMEGATE_SERVICES__REGISTER_ADDR", "127.0.0.1:0")
        .env("GAMEGATE_EDGE__API_KEYS", TEST_API_KEY)
        .env("GAMEGATE_GAME_SERVER__ADDR", v2.to_string())
        .env("GAMEGATE_GAME_SERVER__AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("announces protocol version 2") && stderr.contains("docs/GAME_SERVER.md"),
        "{stderr}"
    );

    // A server from before versions were announced: version 1, it works.
    let old = hand_written_server(json!({"ok": true})).await;
    let app = start(config(dir.path(), old, GameServerTlsConfig::default())).await;
    assert!(
        app.banner
            .contains("plain TCP · protocol 1 assumed (none announced)"),
        "{}",
        app.banner
    );
    let (status, body) = register(app.public(), player("Old_Server_Hero", 9)).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;

    // Unreachable at start: the process starts anyway (lazily connected).
    let down = crate::support::tools::free_port();
    let c = config(
        dir.path(),
        format!("127.0.0.1:{down}").parse().unwrap(),
        GameServerTlsConfig::default(),
    );
    start(c).await.stop().await;
}

//! The v1 link over TLS, client against the TLS mock over real sockets on
//! 127.0.0.1: trust by CA or by pin, every refusal with its reason and fix,
//! plain-text servers refused before the token goes out, mutual TLS.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gamegate_gameserver::tls::server_config;
use gamegate_gameserver::{
    CallError, ClientIdentity, FailureKind, Fingerprint, GameServer, LinkTls, MockGameServer,
    MockHandle, TcpGameServer, TcpGameServerConfig,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "tls-test-token-Qx4";

/// A certificate authority made for one test.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Self { cert, key }
    }

    fn pem(&self) -> Vec<u8> {
        self.cert.pem().into_bytes()
    }

    /// A certificate for `names` (DNS names or IP addresses) this CA signs,
    /// for a server or a client.
    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> Leaf {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            chain_pem: cert.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
            der: cert.der().to_vec(),
        }
    }

    fn server(&self) -> Leaf {
        self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }
}

struct Leaf {
    chain_pem: Vec<u8>,
    key_pem: Vec<u8>,
    der: Vec<u8>,
}

impl Leaf {
    fn identity(&self) -> ClientIdentity {
        ClientIdentity::from_pem(&self.chain_pem, &self.key_pem).unwrap()
    }
}

async fn tls_mock(leaf: &Leaf, client_ca: Option<&Ca>) -> (MockHandle, CancellationToken) {
    let client_ca = client_ca.map(Ca::pem);
    let tls = server_config(&leaf.chain_pem, &leaf.key_pem, client_ca.as_deref()).unwrap();
    let shutdown = CancellationToken::new();
    let mock = MockGameServer::start_tls(
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        tls,
        shutdown.clone(),
    )
    .await
    .unwrap();
    (mock, shutdown)
}

fn client(addr: SocketAddr, tls: LinkTls) -> TcpGameServer {
    TcpGameServer::new(TcpGameServerConfig {
        addr: addr.to_string(),
        auth_token: TOKEN.into(),
        pool_size: 2,
        connect_timeout: Duration::from_millis(500),
        call_timeout: Duration::from_secs(3),
        tls: Some(tls),
        ..TcpGameServerConfig::default()
    })
}

/// The call failed as TLS, certainly not done, without the token; returns
/// its detail and hint.
#[track_caller]
fn assert_tls_refused(err: &CallError) -> (String, String) {
    assert!(matches!(err, CallError::Unavailable(_)), "{err:?}");
    assert_eq!(err.kind(), FailureKind::Tls, "{err}");
    assert!(!format!("{err:?}").contains(TOKEN));
    let failure = err.failure();
    (
        failure.detail().to_owned(),
        failure
            .hint()
            .expect("a TLS failure says what to fix")
            .to_owned(),
    )
}

#[tokio::test]
async fn a_server_certificate_signed_by_the_configured_ca_is_trusted() {
    let ca = Ca::new("game CA");
    let (mock, _stop) = tls_mock(&ca.server(), None).await;
    for name in ["localhost", "127.0.0.1"] {
        let game = client(
            mock.local_addr(),
            LinkTls::with_ca(&ca.pem(), name, None).unwrap(),
        );
        game.ping().await.unwrap();
        let facts = game.link_facts().unwrap();
        let tls = facts.tls.unwrap();
        assert!(
            tls.starts_with("TLS 1.3") && tls.contains("CA file"),
            "{tls}"
        );
        assert_eq!(facts.version, Some(1));
    }
    let game = client(
        mock.local_addr(),
        LinkTls::with_ca(&ca.pem(), "localhost", None).unwrap(),
    );
    assert_eq!(game.register("Hero_01", "secret12", 0).await.unwrap(), 1001);
    assert!(game.exists("hero_01").await.unwrap());
    game.set_password("Hero_01", "n3w-secret").await.unwrap();
    assert_eq!(mock.password_changes("hero_01"), Some(1));
    assert_eq!(mock.account_count(), 1);
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_before_anything_is_sent() {
    let ca = Ca::new("game CA");
    let other = Ca::new("someone else's CA");
    let (mock, _stop) = tls_mock(&ca.server(), None).await;
    let game = client(
        mock.local_addr(),
        LinkTls::with_ca(&other.pem(), "localhost", None).unwrap(),
    );
    let (detail, hint) = assert_tls_refused(&game.ping().await.unwrap_err());
    assert!(detail.contains("not signed by the CA"), "{detail}");
    assert!(hint.contains("game_server.tls.ca_file"), "{hint}");
    let err = match game.register("Hero_01", "secret12", 0).await {
        Err(gamegate_gameserver::RegisterError::Call(err)) => err,
        other => panic!("{other:?}"),
    };
    assert_tls_refused(&err);
    assert_eq!((mock.register_calls(), mock.online()), (0, 0));
}

#[tokio::test]
async fn a_certificate_for_another_name_is_refused() {
    let ca = Ca::new("game CA");
    let (mock, _stop) = tls_mock(&ca.server(), None).await;
    let game = client(
        mock.local_addr(),
        LinkTls::with_ca(&ca.pem(), "game.internal", None).unwrap(),
    );
    let (detail, hint) = assert_tls_refused(&game.ping().await.unwrap_err());
    assert!(
        detail.contains("not valid for game.internal") && detail.contains("localhost"),
        "{detail}"
    );
    assert!(hint.contains("server_name"), "{hint}");
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_and_any_other_refused() {
    let ca = Ca::new("game CA");
    let leaf = ca.server();
    let (mock, _stop) = tls_mock(&leaf, None).await;
    // The pin is the identity: no CA, and the name is not checked.
    let pin = Fingerprint::of(&leaf.der);
    assert_eq!(Fingerprint::of_pem(&leaf.chain_pem).unwrap(), pin);
    let game = client(
        mock.local_addr(),
        LinkTls::pinned(pin, "whatever.test", None).unwrap(),
    );
    game.register("Hero_01", "secret12", 0).await.unwrap();
    let tls = game.link_facts().unwrap().tls.unwrap();
    let short: String = pin.to_string().chars().take(11).collect();
    assert_eq!(
        tls,
        format!("TLS 1.3, server certificate pinned (SHA-256 {short}…)")
    );

    let wrong = Fingerprint::of(&ca.server().der);
    let game = client(
        mock.local_addr(),
        LinkTls::pinned(wrong, "localhost", None).unwrap(),
    );
    let (detail, hint) = assert_tls_refused(&game.ping().await.unwrap_err());
    assert!(
        detail.contains(&pin.to_string()) && detail.contains(&wrong.to_string()),
        "the presented and the pinned fingerprints: {detail}"
    );
    assert!(hint.contains("fingerprint_sha256"), "{hint}");
    assert_eq!(mock.account_count(), 1);
}

#[tokio::test]
async fn a_plain_text_server_is_refused_and_never_hears_the_token() {
    // The plain mock: it answers the ClientHello as a bad line, or waits
    // for a line end that never comes; either way no TLS.
    let shutdown = CancellationToken::new();
    let plain = MockGameServer::start(
        "127.0.0.1:0".parse().unwrap(),
        TOKEN.into(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let ca = Ca::new("game CA");
    let game = client(
        plain.local_addr(),
        LinkTls::with_ca(&ca.pem(), "localhost", None).unwrap(),
    );
    let (_, hint) = assert_tls_refused(&game.ping().await.unwrap_err());
    assert!(hint.contains("plain text"), "{hint}");
    assert_eq!((plain.online(), plain.register_calls()), (0, 0));

    // A server that records what it hears and never answers: the handshake
    // is bounded by the connect timeout, and the token never went out.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let record = heard.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buf).await {
                    record.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
    });
    let game = client(
        addr,
        LinkTls::with_ca(&ca.pem(), "localhost", None).unwrap(),
    );
    let started = Instant::now();
    let (detail, hint) = assert_tls_refused(&game.ping().await.unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(2), "bounded");
    assert!(
        detail.contains("no TLS handshake within 500 ms"),
        "{detail}"
    );
    assert!(hint.contains("connect_timeout_ms"), "{hint}");
    let heard = heard.lock().unwrap().clone();
    assert!(!heard.is_empty(), "the ClientHello was heard");
    assert!(
        !heard.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()),
        "the token never crosses before the handshake"
    );
}

#[tokio::test]
async fn a_plain_client_of_a_tls_server_is_told_about_tls() {
    let ca = Ca::new("game CA");
    let (mock, _stop) = tls_mock(&ca.server(), None).await;
    let game = TcpGameServer::new(TcpGameServerConfig {
        addr: mock.local_addr().to_string(),
        auth_token: TOKEN.into(),
        ..TcpGameServerConfig::default()
    });
    let err = game.ping().await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Connection, "{err}");
    let hint = err.failure().hint().unwrap_or_default();
    assert!(hint.contains("[game_server.tls]"), "{err:?}");
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_the_server_trusts() {
    let ca = Ca::new("game CA");
    let clients = Ca::new("gamegate clients CA");
    let (mock, _stop) = tls_mock(&ca.server(), Some(&clients)).await;
    let with = |identity| {
        client(
            mock.local_addr(),
            LinkTls::with_ca(&ca.pem(), "localhost", identity).unwrap(),
        )
    };

    let (detail, hint) = assert_tls_refused(&with(None).ping().await.unwrap_err());
    assert!(detail.contains("client certificate"), "{detail}");
    assert!(hint.contains("game_server.tls.client_cert"), "{hint}");

    let stranger = Ca::new("stranger").issue(&["gamegate"], ExtendedKeyUsagePurpose::ClientAuth);
    let (detail, _) =
        assert_tls_refused(&with(Some(stranger.identity())).ping().await.unwrap_err());
    assert!(detail.contains("client certificate"), "{detail}");

    let ours = clients.issue(&["gamegate"], ExtendedKeyUsagePurpose::ClientAuth);
    let game = with(Some(ours.identity()));
    game.register("Hero_01", "secret12", 0).await.unwrap();
    assert!(mock.contains("hero_01"));
    assert_eq!(mock.register_calls(), 1);
}

//! The definite/lost table ([`judge`]) row by row, and the configuration's
//! checks. The same rows over real sockets: tests/http_connector.rs.

use super::*;

fn failed(j: Judged) -> CallError {
    match j {
        Judged::Failed(e) => e,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn is_unavailable(j: Judged) -> bool {
    matches!(failed(j), CallError::Unavailable(_))
}

#[test]
fn a_404_not_found_of_set_password_is_the_traits_not_found() {
    let body = wire::error_body(wire::ERR_NOT_FOUND);
    let e = failed(judge(Endpoint::SetPassword, 404, Some(&body), false));
    assert!(matches!(e, CallError::Unavailable(_)), "{e}");
    assert_eq!(e.kind(), FailureKind::Server(ServerCode::NotFound));
    // Another endpoint's 404 (an unknown path) is no missing account.
    let e = failed(judge(Endpoint::Delete, 404, Some(&body), false));
    assert_eq!(e.kind(), FailureKind::Server(ServerCode::Unknown));
}

#[test]
fn statuses_map_to_the_documented_classes() {
    use Endpoint::*;
    let code = |c: &str| wire::error_body(c);
    assert!(matches!(
        judge(Register, 200, Some(b"{}"), false),
        Judged::Success
    ));
    assert!(matches!(
        judge(Register, 409, Some(&code("login_taken")), false),
        Judged::LoginTaken
    ));
    // Definite: every 4xx, and the receiver's own 5xx codes.
    for (status, body) in [
        (400, code("invalid")),
        (401, code("unauthorized")),
        (403, b"<html>forbidden</html>".to_vec()),
        (404, code("not_found")),
        (405, Vec::new()),
        (408, Vec::new()),
        (413, b"too large".to_vec()),
        (415, Vec::new()),
        (422, code("invalid")),
        (429, Vec::new()),
        (409, code("something_else")),
        (500, code("internal")),
        (503, code("busy")),
    ] {
        assert!(
            is_unavailable(judge(Register, status, Some(&body), false)),
            "{status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Lost: the receiver may have acted.
    for (status, body) in [
        (500, Some(b"<html>Internal Server Error</html>".to_vec())),
        (500, Some(code("oops"))),
        (500, None),
        (502, Some(b"<html>Bad Gateway</html>".to_vec())),
        (503, Some(Vec::new())),
        (504, Some(code("internal_error"))),
        (409, Some(code("replayed"))),
        (409, None),
        (201, Some(br#"{"account_id":1}"#.to_vec())),
        (204, None),
        (301, Some(Vec::new())),
        (307, Some(Vec::new())),
        (101, None),
    ] {
        let e = failed(judge(Register, status, body.as_deref(), false));
        assert!(matches!(e, CallError::Ambiguous(_)), "{status}: {e}");
    }
    // login_taken on a retry: the first attempt may have taken it.
    let e = failed(judge(Register, 409, Some(&code("login_taken")), true));
    assert!(matches!(e, CallError::Ambiguous(_)), "{e}");
}

#[test]
fn kinds_and_reasons_are_useful_and_echo_no_server_text() {
    use Endpoint::*;
    let e = failed(judge(
        Ping,
        401,
        Some(&wire::error_body("unauthorized")),
        false,
    ));
    assert_eq!(e.kind(), FailureKind::AuthRefused);
    assert!(e.to_string().contains("signature"), "{e}");
    let e = failed(judge(Exists, 400, None, false));
    assert_eq!(e.kind(), FailureKind::Server(ServerCode::Invalid));
    let e = failed(judge(
        Exists,
        500,
        Some(&wire::error_body("internal")),
        false,
    ));
    assert_eq!(e.kind(), FailureKind::Server(ServerCode::Internal));
    let leaked = br#"{"error":"password secret12 rejected"}"#;
    let e = failed(judge(Register, 500, Some(leaked), false));
    assert!(!e.to_string().contains("secret12"), "{e}");
    assert!(e.to_string().contains("unknown error code"), "{e}");
}

#[test]
fn base_urls_are_checked() {
    for ok in [
        "https://game.example/gamegate",
        "http://127.0.0.1:8090",
        "http://[::1]:8090/",
    ] {
        assert!(parse_base_url(ok).is_ok(), "{ok}");
    }
    for (bad, says) in [
        ("game.example", "not a URL"),
        ("ftp://game.example", "https://"),
        ("https://user:pw@game.example", "user name or password"),
        ("https://game.example/?k=v", "no query"),
        ("https://game.example/#x", "no query"),
    ] {
        let err = parse_base_url(bad).unwrap_err();
        assert!(err.contains(says), "{bad}: {err}");
        assert!(!err.contains("pw@"), "{err}");
    }
}

#[tokio::test]
async fn new_does_no_io_and_debug_hides_the_secret() {
    let config = HttpGameServerConfig {
        url: "http://127.0.0.1:1/base/".into(),
        signing_secret: "SIGNING-secret-abc".into(),
        pool_size: 0,
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(2),
        rules: GameAccountRules::default(),
        ca_pem: None,
    };
    assert!(!format!("{config:?}").contains("SIGNING-secret-abc"));
    let server = HttpGameServer::new(config).unwrap();
    let dbg = format!("{server:?}");
    assert!(!dbg.contains("SIGNING-secret-abc"), "{dbg}");
    assert_eq!(server.url(), "http://127.0.0.1:1/base");
    assert_eq!(server.pool_size, 1);
    assert_eq!(server.capabilities().connector, "http");
    assert_eq!(server.capabilities().operations, Operations::ALL);
}

#[test]
fn a_ca_file_must_hold_a_certificate() {
    let config = |pem: &[u8]| HttpGameServerConfig {
        url: "https://game.example".into(),
        signing_secret: "s".into(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(1),
        rules: GameAccountRules::default(),
        ca_pem: Some(pem.to_vec()),
    };
    for pem in [&b""[..], b"not a certificate"] {
        let err = HttpGameServer::new(config(pem)).unwrap_err();
        assert!(matches!(err, HttpSetupError::Ca(_)), "{err}");
    }
}

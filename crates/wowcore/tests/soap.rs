//! The SOAP connectors against a fake worldserver that parses the envelope
//! and answers as gSOAP does: successes, the cores' faults, refused
//! credentials, and lost answers — each classified as the saga needs.

mod support;

use std::time::Duration;

use gamegate_gameserver::{
    CallError, ExistsSupport, FailureKind, GameAccountRules, GameServer, RegisterError,
};
use gamegate_wowcore::{
    AuthDb, Core, FakeConfig, FakeMode, FakeWorldserver, SoapGameServer, SoapSettings, srp6,
};
use serde_json::json;
use support::{ScratchAuthDb, hex, python};

const USER: &str = "gamegate";
const PASSWORD: &str = "soap-Secret9";

async fn fake(core: Core, auth_db: Option<AuthDb>) -> FakeWorldserver {
    FakeWorldserver::start(FakeConfig {
        core,
        user: USER.into(),
        password: PASSWORD.into(),
        low_level_user: Some("lowgm".into()),
        auth_db,
    })
    .await
    .unwrap()
}

fn settings(url: String, user: &str, password: &str, timeout_ms: u64) -> SoapSettings {
    SoapSettings {
        url,
        user: user.into(),
        password: password.to_owned().into(),
        connect_timeout: Duration::from_millis(300),
        call_timeout: Duration::from_millis(timeout_ms),
        max_in_flight: 1,
    }
}

fn connector(core: Core, server: &FakeWorldserver, auth_db: Option<AuthDb>) -> SoapGameServer {
    SoapGameServer::new(
        core,
        settings(server.url(), USER, PASSWORD, 1_000),
        auth_db,
        &GameAccountRules::default(),
    )
    .unwrap()
}

fn is_unavailable(result: Result<u64, RegisterError>) -> bool {
    matches!(result, Err(RegisterError::Call(CallError::Unavailable(_))))
}

fn is_ambiguous(result: Result<u64, RegisterError>) -> bool {
    matches!(result, Err(RegisterError::Call(CallError::Ambiguous(_))))
}

async fn creates_and_refuses_like_the_worldserver(core: Core) {
    let server = fake(core, None).await;
    let soap = connector(core, &server, None);
    assert_eq!(
        soap.capabilities().operations.exists,
        ExistsSupport::Unsupported
    );
    assert!(!soap.capabilities().operations.online);

    assert_eq!(
        soap.register("Hero", "secret12", 0).await.unwrap(),
        0,
        "no id without a read"
    );
    assert_eq!(server.memory_accounts(), ["HERO"]);
    // The worldserver computed the verifier from the command's text.
    let (salt, verifier) = server.memory_logon("hero").unwrap();
    assert_eq!(
        python(&[
            json!({"op": "verifier", "user": "hero", "password": "secret12", "salt": hex(&salt)})
        ]),
        [hex(&verifier)]
    );
    assert!(matches!(
        soap.register("hERO", "other123", 0).await,
        Err(RegisterError::LoginTaken)
    ));
    // Too long for the core (past validation): a definite refusal.
    let long = "n".repeat(core.login_max_chars() + 1);
    assert!(is_unavailable(soap.register(&long, "secret12", 0).await));
    assert!(is_unavailable(
        soap.register("Short", &"p".repeat(17), 0).await
    ));
    // What the command cannot carry never leaves gamegate.
    let before = server.requests();
    for (login, password) in [
        ("Spa ce", "secret12"),
        ("Quote", "it's-mine"),
        ("at@home", "secret12"),
    ] {
        assert!(
            is_unavailable(soap.register(login, password, 0).await),
            "{login}"
        );
    }
    assert_eq!(server.requests(), before, "nothing sent");

    soap.ping().await.unwrap();
    soap.set_password("hero", "n3w-pass").await.unwrap();
    let (salt, verifier) = server.memory_logon("HERO").unwrap();
    assert_eq!(
        python(&[
            json!({"op": "handshake", "user": "hero", "password": "n3w-pass", "salt": hex(&salt), "verifier": hex(&verifier)})
        ]),
        ["ok"]
    );
    soap.delete("Hero").await.unwrap();
    soap.delete("Hero").await.unwrap();
    assert!(server.memory_accounts().is_empty());
    let err = soap.exists("Hero").await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::Unsupported);
}

async fn credentials_urn_and_transport_failures(core: Core) {
    let server = fake(core, None).await;
    let wrong = SoapGameServer::new(
        core,
        settings(server.url(), USER, "wrong-password", 1_000),
        None,
        &GameAccountRules::default(),
    )
    .unwrap();
    let err = wrong.register("Hero", "secret12", 0).await.unwrap_err();
    let RegisterError::Call(err @ CallError::Unavailable(_)) = err else {
        panic!("401 is definite: {err}");
    };
    assert_eq!(err.kind(), FailureKind::AuthRefused);
    assert!(!err.to_string().contains("wrong-password"), "{err}");
    let low = SoapGameServer::new(
        core,
        settings(server.url(), "LowGM", "whatever", 1_000),
        None,
        &GameAccountRules::default(),
    )
    .unwrap();
    let err = low.ping().await.unwrap_err();
    assert_eq!(err.kind(), FailureKind::AuthRefused);
    assert!(err.to_string().contains("403"), "{err}");

    // The other core's URN: gSOAP answers a fault, nothing ran.
    let other = match core {
        Core::AzerothCore => Core::TrinityCore,
        Core::TrinityCore => Core::AzerothCore,
    };
    let mismatched = connector(other, &server, None);
    assert!(is_unavailable(
        mismatched.register("Hero", "secret12", 0).await
    ));
    assert_eq!(server.commands_run(), 0);

    // Nothing listening: never sent.
    let closed = SoapGameServer::new(
        core,
        settings("http://127.0.0.1:1/".into(), USER, PASSWORD, 500),
        None,
        &GameAccountRules::default(),
    )
    .unwrap();
    assert!(is_unavailable(closed.register("Hero", "secret12", 0).await));

    // Sent, then no usable answer: lost, whether or not the command ran.
    let soap = SoapGameServer::new(
        core,
        settings(server.url(), USER, PASSWORD, 400),
        None,
        &GameAccountRules::default(),
    )
    .unwrap();
    let before = server.requests();
    for (i, mode) in [
        FakeMode::SlowReply(Duration::from_millis(800)),
        FakeMode::DropBeforeRun,
        FakeMode::DropAfterRun,
        FakeMode::Garbage,
    ]
    .into_iter()
    .enumerate()
    {
        server.set_script(vec![mode]);
        let result = soap
            .register(&format!("Lost{i}"), "pw-Never-Shown", 0)
            .await;
        // The command (it holds the password) is in no error, nor the answer.
        let shown = format!(
            "{result:?} {}",
            result
                .as_ref()
                .map_or_else(|e| e.to_string(), |_| String::new())
        );
        assert!(
            !shown.contains("pw-Never-Shown") && !shown.contains("account create"),
            "{shown}"
        );
        assert!(is_ambiguous(result), "{mode:?}");
        // The fake serves one connection at a time: a reply held past the
        // client's timeout delays the next request, which must still get
        // its own mode, not the next one's.
        let taken = before + i as u64 + 1;
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while server.requests() < taken {
            assert!(
                std::time::Instant::now() < deadline,
                "request {i} never read"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // A fault without running: definite.
    server.set_script(vec![FakeMode::Fault]);
    assert!(is_unavailable(
        soap.register("Faulted", "secret12", 0).await
    ));
    server.set_script(vec![FakeMode::Normal]);
    let mut created = server.memory_accounts();
    created.sort();
    // SlowReply, DropAfterRun and Garbage ran the command; DropBeforeRun did not.
    assert_eq!(created, ["LOST0", "LOST2", "LOST3"]);
}

async fn with_an_auth_database_exists_is_exact_and_successes_confirmed(core: Core) {
    let Some(db) = ScratchAuthDb::create(core).await else {
        return;
    };
    let auth = || AuthDb::connect_lazy(&db.settings(2)).unwrap();
    let server = fake(core, Some(auth())).await;
    let soap = connector(core, &server, Some(auth()));
    assert_eq!(soap.capabilities().operations.exists, ExistsSupport::Exact);
    let id = soap.register("Hero", "secret12", 0).await.unwrap();
    let (stored_id,): (u32,) = sqlx::query_as("SELECT id FROM account WHERE username = 'HERO'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(
        id,
        u64::from(stored_id),
        "the id read back from the auth database"
    );
    assert!(soap.exists("hero").await.unwrap());
    assert!(!soap.exists("villain").await.unwrap());
    assert_eq!(soap.online().await.unwrap(), 0);
    let (salt, verifier) = db.logon("HERO").await.unwrap();
    assert_eq!(
        python(&[
            json!({"op": "handshake", "user": "Hero", "password": "secret12", "salt": hex(&salt), "verifier": hex(&verifier)})
        ]),
        ["ok"]
    );
    assert_eq!(
        srp6::verifier("Hero", "secret12", &salt.try_into().unwrap()).to_vec(),
        verifier
    );
    soap.delete("HERO").await.unwrap();
    assert!(!soap.exists("hero").await.unwrap());
}

macro_rules! on_both_cores {
    ($($name:ident),* $(,)?) => {
        mod azerothcore {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(gamegate_wowcore::Core::AzerothCore).await } )*
        }
        mod trinitycore {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
               async fn $name() { super::$name(gamegate_wowcore::Core::TrinityCore).await } )*
        }
    };
}

on_both_cores!(
    creates_and_refuses_like_the_worldserver,
    credentials_urn_and_transport_failures,
    with_an_auth_database_exists_is_exact_and_successes_confirmed,
);

//! The auth-database connectors against the cores' `account` table on the
//! CI MariaDB: the stored verifier equals an independent Python SRP6, a real
//! client's handshake succeeds with the right password only, the unique key
//! decides duplicates, and each operation's failures are classified.

mod support;

use std::sync::Arc;
use std::time::Duration;

use gamegate_gameserver::{CallError, ExistsSupport, GameAccountRules, GameServer, RegisterError};
use gamegate_wowcore::{AuthDb, AuthDbGameServer, AuthDbSettings, Core, srp6};
use serde_json::json;
use support::{ScratchAuthDb, hex, python};

async fn connector(core: Core, pool_size: u32) -> Option<(ScratchAuthDb, AuthDbGameServer)> {
    let db = ScratchAuthDb::create(core).await?;
    let server =
        AuthDbGameServer::new(core, &db.settings(pool_size), &GameAccountRules::default()).unwrap();
    Some((db, server))
}

/// Credentials for `core`: lower case, mixed case, symbols, and the longest
/// login and password the core accepts.
fn credentials(core: Core) -> Vec<(String, String)> {
    vec![
        ("hero".into(), "secret12".into()),
        ("MiXeD_Case9".into(), "PassWord!x".into()),
        ("sym#$%&()*+,-./".into(), "p@ss:W0rd~{}|".into()),
        (
            "L".repeat(core.login_max_chars()),
            "p".repeat(core.password_max_chars()),
        ),
    ]
}

async fn stored_verifiers_equal_pythons(core: Core) {
    let Some((db, server)) = connector(core, 4).await else {
        return;
    };
    let creds = credentials(core);
    for (login, password) in &creds {
        server.register(login, password, 0).await.unwrap();
    }
    let mut cases = Vec::new();
    let mut stored = Vec::new();
    for (login, password) in &creds {
        let (salt, verifier) = db
            .logon(&srp6::upper_latin(login))
            .await
            .expect("the row holds the upper-cased username");
        assert_eq!((salt.len(), verifier.len()), (32, 32));
        cases.push(
            json!({"op": "verifier", "user": login, "password": password, "salt": hex(&salt)}),
        );
        stored.push(hex(&verifier));
    }
    assert_eq!(
        python(&cases),
        stored,
        "verifiers as an independent SRP6 computes them"
    );
    let usernames: Vec<String> = db.rows().await.into_iter().map(|r| r.0).collect();
    let upper: Vec<String> = creds.iter().map(|(l, _)| l.to_ascii_uppercase()).collect();
    assert_eq!(usernames, upper, "usernames stored upper-cased");
}

async fn zero_bytes_at_either_end_survive(core: Core) {
    let Some(db) = ScratchAuthDb::create(core).await else {
        return;
    };
    let auth = AuthDb::connect_lazy(&db.settings(2)).unwrap();
    // Salts with a zero first and last byte whose verifier also starts (then
    // ends) with a zero byte: a byte-order or trimming bug shows here.
    let find = |want_first: bool| {
        (0u32..)
            .map(|i| {
                let mut salt = [0u8; 32];
                salt[1..5].copy_from_slice(&i.to_le_bytes());
                salt[5..31].fill(0xA5);
                (salt, srp6::verifier("zero", "bytes123", &salt))
            })
            .find(|(_, v)| if want_first { v[0] == 0 } else { v[31] == 0 })
            .unwrap()
    };
    let mut cases = Vec::new();
    let mut expected = Vec::new();
    for (name, (salt, verifier)) in [("ZEROLOW", find(true)), ("ZEROHIGH", find(false))] {
        assert_eq!((salt[0], salt[31]), (0, 0));
        auth.insert_account(name, &salt, &verifier).await.unwrap();
        let (stored_salt, stored_verifier) = db.logon(name).await.unwrap();
        assert_eq!(stored_salt, salt, "binary(32) keeps the salt's zero bytes");
        assert_eq!(stored_verifier, verifier, "and the verifier's");
        cases.push(json!({"op": "verifier", "user": "zero", "password": "bytes123", "salt": hex(&stored_salt)}));
        expected.push(hex(&stored_verifier));
    }
    assert_eq!(python(&cases), expected);
}

async fn a_client_logs_in_with_the_right_password_only(core: Core) {
    let Some((db, server)) = connector(core, 2).await else {
        return;
    };
    server.register("Player1", "hunter2!", 1).await.unwrap();
    let (salt, verifier) = db.logon("PLAYER1").await.unwrap();
    let case = |user: &str, password: &str| json!({"op": "handshake", "user": user, "password": password, "salt": hex(&salt), "verifier": hex(&verifier)});
    let answers = python(&[
        case("PLAYER1", "HUNTER2!"),
        case("player1", "hunter2!"),
        case("PLAYER1", "hunter3!"),
        case("PLAYER1", "hunter2"),
    ]);
    assert_eq!(answers, ["ok", "ok", "refused", "refused"]);

    // A new password: a new salt and verifier; the old password stops working.
    server.set_password("PLAYER1", "n3w-pass").await.unwrap();
    let (salt2, verifier2) = db.logon("PLAYER1").await.unwrap();
    assert_ne!(salt2, salt);
    let case2 = |password: &str| json!({"op": "handshake", "user": "Player1", "password": password, "salt": hex(&salt2), "verifier": hex(&verifier2)});
    assert_eq!(
        python(&[case2("n3w-pass"), case2("hunter2!")]),
        ["ok", "refused"]
    );
    let err = server
        .set_password("nobody", "whatever1")
        .await
        .unwrap_err();
    assert!(matches!(err, CallError::Unavailable(_)), "{err}");
}

async fn fifty_parallel_registrations_of_one_login_make_one_row(core: Core) {
    let Some((db, server)) = connector(core, 16).await else {
        return;
    };
    let server = Arc::new(server);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let server = Arc::clone(&server);
            // Every spelling a different case of one login.
            let login: String = "duplicate"
                .chars()
                .enumerate()
                .map(|(j, c)| {
                    if (i >> (j % 6)) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            tokio::spawn(async move { server.register(&login, "secret12", 0).await })
        })
        .collect();
    let mut created = 0;
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(RegisterError::LoginTaken) => taken += 1,
            Err(other) => panic!("unexpected failure: {other}"),
        }
    }
    assert_eq!((created, taken), (1, 49));
    assert_eq!(db.rows().await.len(), 1, "exactly one row");
}

async fn exists_delete_ping_and_online(core: Core) {
    let Some((db, server)) = connector(core, 2).await else {
        return;
    };
    assert_eq!(
        server.capabilities().operations.exists,
        ExistsSupport::Exact
    );
    assert_eq!(
        server.capabilities().rules.login_max_chars,
        Some(core.login_max_chars())
    );
    assert!(!server.exists("Hero").await.unwrap());
    let id = server.register("Hero", "secret12", 0).await.unwrap();
    assert!(id > 0);
    for spelling in ["Hero", "HERO", "hero", "hErO"] {
        assert!(server.exists(spelling).await.unwrap(), "{spelling}");
    }
    assert!(!server.exists("Hero2").await.unwrap());
    // A row another tool wrote in lower case is still found: the collation.
    sqlx::query("INSERT INTO account (username, salt, verifier) VALUES ('lowtool', ?, ?)")
        .bind(vec![1u8; 32])
        .bind(vec![2u8; 32])
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(server.exists("LOWTOOL").await.unwrap());
    assert!(matches!(
        server.register("LowTool", "secret12", 0).await,
        Err(RegisterError::LoginTaken)
    ));

    server.ping().await.unwrap();
    assert_eq!(server.online().await.unwrap(), 0);
    sqlx::query("UPDATE account SET online = 1 WHERE username = 'HERO'")
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(server.online().await.unwrap(), 1);

    server.delete("hero").await.unwrap();
    assert!(!server.exists("Hero").await.unwrap());
    server.delete("hero").await.unwrap();
    assert_eq!(
        db.rows().await.len(),
        1,
        "only the other tool's row is left"
    );

    // Refused before the database: what the core could never log in with.
    for (login, password) in [
        ("héro", "secret12"),
        ("spa ce", "secret12"),
        ("ok", "pass word"),
    ] {
        let err = server.register(login, password, 0).await.unwrap_err();
        assert!(
            matches!(err, RegisterError::Call(CallError::Unavailable(_))),
            "{login}: {err}"
        );
    }
    let too_long = "x".repeat(core.login_max_chars() + 1);
    assert!(server.register(&too_long, "secret12", 0).await.is_err());
}

async fn an_unreachable_database_is_a_definite_failure(core: Core) {
    // Nothing listens on port 1: the INSERT was never sent.
    let settings = AuthDbSettings {
        url: "mysql://gamegate:pw-never-shown@127.0.0.1:1/acore_auth"
            .to_owned()
            .into(),
        pool_size: 1,
        acquire_timeout: Duration::from_millis(300),
        call_timeout: Duration::from_millis(500),
        expansion: 2,
    };
    let server = AuthDbGameServer::new(core, &settings, &GameAccountRules::default()).unwrap();
    let err = server.register("Hero", "secret12", 0).await.unwrap_err();
    assert!(
        matches!(err, RegisterError::Call(CallError::Unavailable(_))),
        "{err}"
    );
    assert!(!err.to_string().contains("pw-never-shown"), "{err}");
    let err = server.exists("Hero").await.unwrap_err();
    assert!(
        matches!(err, CallError::Unavailable(_)),
        "never false on an error: {err}"
    );
    assert!(server.ping().await.is_err());
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
    stored_verifiers_equal_pythons,
    zero_bytes_at_either_end_survive,
    a_client_logs_in_with_the_right_password_only,
    fifty_parallel_registrations_of_one_login_make_one_row,
    exists_delete_ping_and_online,
    an_unreachable_database_is_a_definite_failure,
);

//! Registration end to end, and the invariants under concurrency.

use std::collections::BTreeSet;

use futures_util::future::join_all;
use serde_json::json;

use crate::support::{Backend, TestApp, assert_error, player, spawn_app, spawn_app_with};

crate::on_every_backend!(
    a_registration_lands_in_the_database_and_on_the_game_server,
    the_sixth_account_for_one_telegram_id_is_refused,
    logins_are_unique_case_insensitively,
    fifty_parallel_registrations_for_one_telegram_id_create_exactly_five,
    fifty_parallel_registrations_of_one_login_create_exactly_one,
    fifty_parallel_distinct_registrations_all_succeed,
    canonically_equivalent_logins_are_one_account,
);

/// Both stores hold the same accounts, all confirmed: no orphan anywhere.
pub async fn assert_stores_agree(app: &TestApp) {
    let (synced, pending) = app.db.accounts().count_by_state().await.unwrap();
    assert_eq!(pending, 0, "no reservation may stay pending");
    let in_db = app.db_logins().await;
    let in_game: BTreeSet<String> = app
        .mock
        .logins()
        .into_iter()
        .map(|l| l.to_lowercase())
        .collect();
    assert_eq!(
        in_db, in_game,
        "database and game server must hold the same accounts"
    );
    assert_eq!(synced as usize, in_db.len());
}

async fn a_registration_lands_in_the_database_and_on_the_game_server(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (status, body) = app
        .register(json!({
            "login": "Hero_01", "password": "secret12", "gender": 0, "telegram_id": 123456789
        }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"ok": true, "message": "Регистрация успешна!", "login": "Hero_01"})
    );

    let row = app
        .db
        .accounts()
        .find("hero_01")
        .await
        .unwrap()
        .expect("row exists");
    assert_eq!(row.login, "Hero_01");
    assert_eq!(row.state, "synced");
    assert_eq!(row.telegram_id, 123456789);
    assert_eq!(
        row.game_account_id,
        app.mock.account_id("Hero_01").map(|id| id as i64)
    );
    assert!(app.mock.contains("Hero_01"));

    // The password is stored only as an Argon2id hash.
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM players")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(gamegate::app::hashing::PasswordHasher::verify(
        "secret12", &hash
    ));
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn the_sixth_account_for_one_telegram_id_is_refused(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    for i in 0..5 {
        let (status, body) = app
            .register(player(&format!("alt_{i}"), 7_000_000_001))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = app.register(player("alt_5", 7_000_000_001)).await;
    assert_error(status, &body, 403, "limit_exceeded");
    // The limit is checked before the login: a taken login on a full id is still a limit.
    let (status, body) = app.register(player("alt_0", 7_000_000_001)).await;
    assert_error(status, &body, 403, "limit_exceeded");
    // Another id is unaffected.
    let (status, _) = app.register(player("other", 42)).await;
    assert_eq!(status, 200);
    assert_eq!(
        app.db
            .accounts()
            .count_for_telegram(7_000_000_001)
            .await
            .unwrap(),
        5
    );
    assert!(!app.mock.contains("alt_5"));
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn logins_are_unique_case_insensitively(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Hero", 1)).await.0, 200);
    for taken in ["Hero", "hero", "HERO", "hErO"] {
        let (status, body) = app.register(player(taken, 2)).await;
        assert_error(status, &body, 409, "login_taken");
    }
    assert_eq!(app.db.accounts().count_for_telegram(2).await.unwrap(), 0);
    assert_eq!(app.mock.account_count(), 1);
    app.stop().await;
}

async fn fifty_parallel_registrations_for_one_telegram_id_create_exactly_five(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let requests = (0..50).map(|i| {
        // Mixed-case logins: uniqueness and the limit must both hold.
        let login = if i % 2 == 0 {
            format!("Racer_{i}")
        } else {
            format!("racer_{i}")
        };
        let app = &app;
        async move { app.register(player(&login, 555)).await }
    });
    let results = join_all(requests).await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_error(*status, body, 403, "limit_exceeded");
    }
    assert_eq!(ok, 5);
    assert_eq!(app.db.accounts().count_for_telegram(555).await.unwrap(), 5);
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn fifty_parallel_registrations_of_one_login_create_exactly_one(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let requests = (0..50).map(|i| {
        let login = match i % 3 {
            0 => "Duelist",
            1 => "duelist",
            _ => "DUELIST",
        };
        let app = &app;
        async move { app.register(player(login, 1000 + i)).await }
    });
    let results = join_all(requests).await;
    assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1);
    for (status, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_error(*status, body, 409, "login_taken");
    }
    assert_eq!(app.db.accounts().logins().await.unwrap().len(), 1);
    assert_stores_agree(&app).await;
    app.stop().await;
}

/// On SQLite this is the SQLITE_BUSY check: 50 writers at once must queue,
/// not fail.
async fn fifty_parallel_distinct_registrations_all_succeed(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let requests = (0..50).map(|i| {
        let app = &app;
        async move { app.register(player(&format!("crowd_{i}"), 2000 + i)).await }
    });
    let results = join_all(requests).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
    }
    assert_eq!(app.mock.account_count(), 50);
    assert_stores_agree(&app).await;
    app.stop().await;
}

/// With a charset that admits accents, `\u00e9lan` (one code point) and
/// `e\u0301lan` (e + combining acute) look identical: they are one login. The
/// login is stored and sent to the game server in NFC.
async fn canonically_equivalent_logins_are_one_account(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.registration.login_charset =
            gamegate_domain::RegistrationRules::with_login_charset("A-Za-z0-9_\u{e9}\u{c9}")
                .unwrap();
    })
    .await
    else {
        return;
    };
    let (status, body) = app.register(player("\u{e9}lan", 1)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["login"], "\u{e9}lan");
    for same in ["e\u{301}lan", "\u{c9}LAN", "E\u{301}lan", "\u{e9}LAN"] {
        let (status, body) = app.register(player(same, 2)).await;
        assert_error(status, &body, 409, "login_taken");
    }
    // Written decomposed first: stored, answered and sent in NFC, and the
    // precomposed spelling is then taken.
    let (status, body) = app.register(player("Cafe\u{301}_01", 3)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["login"], "Caf\u{e9}_01");
    let (status, body) = app.register(player("caf\u{e9}_01", 4)).await;
    assert_error(status, &body, 409, "login_taken");
    // Without the accent, another login.
    assert_eq!(app.register(player("elan", 5)).await.0, 200);

    let mut stored = app.db.accounts().logins().await.unwrap();
    stored.sort();
    assert_eq!(stored, ["Caf\u{e9}_01", "elan", "\u{e9}lan"]);
    let mut in_game = app.mock.logins();
    in_game.sort();
    assert_eq!(in_game, ["Caf\u{e9}_01", "elan", "\u{e9}lan"]);
    let row = app
        .db
        .accounts()
        .find("E\u{301}LAN")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.login.as_str(), row.telegram_id), ("\u{e9}lan", 1));
    assert_stores_agree(&app).await;
    app.stop().await;
}

//! The registration saga under game-server faults: nothing half-created.

use std::time::Duration;

use gamegate_gameserver::{Behaviour, GameServer, TcpGameServer, TcpGameServerConfig};

use crate::register::assert_stores_agree;
use crate::support::{Backend, assert_error, player, spawn_app};

crate::on_every_backend!(
    a_login_taken_on_the_game_server_is_409_and_leaves_no_row,
    a_refusing_game_server_is_503_and_leaves_nothing,
    an_internal_error_on_the_game_server_is_503_and_leaves_nothing,
    a_late_game_server_answer_is_settled_as_synced_by_the_reconciler,
    a_dropped_connection_is_settled_by_removal,
    registration_recovers_when_the_game_server_comes_back,
);

const SETTLE: Duration = Duration::from_secs(10);

async fn a_login_taken_on_the_game_server_is_409_and_leaves_no_row(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Someone created the account on the game server directly.
    let direct = TcpGameServer::new(TcpGameServerConfig {
        addr: app.mock.local_addr().to_string(),
        auth_token: app.config.game_server.auth_token.clone(),
        pool_size: 1,
        connect_timeout: Duration::from_secs(1),
        call_timeout: Duration::from_secs(1),
        ..TcpGameServerConfig::default()
    });
    direct.register("Ingame", "whatever1", 1).await.unwrap();

    let (status, body) = app.register(player("ingame", 9)).await;
    assert_error(status, &body, 409, "login_taken");
    assert!(app.db.accounts().find("ingame").await.unwrap().is_none());
    assert_eq!(app.db.accounts().count_for_telegram(9).await.unwrap(), 0);
    app.stop().await;
}

async fn a_refusing_game_server_is_503_and_leaves_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.mock.set_behaviour(Behaviour::Refuse).await;
    let (status, body) = app.register(player("Refused", 10)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    assert!(
        app.db.accounts().find("Refused").await.unwrap().is_none(),
        "reservation removed at once"
    );
    app.mock.set_behaviour(Behaviour::Normal).await;
    assert!(!app.mock.contains("Refused"));
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn an_internal_error_on_the_game_server_is_503_and_leaves_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.mock.set_behaviour(Behaviour::InternalError).await;
    let (status, body) = app.register(player("Broken", 11)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    assert!(app.db.accounts().find("Broken").await.unwrap().is_none());
    assert_eq!(app.mock.register_calls(), 1);
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn a_late_game_server_answer_is_settled_as_synced_by_the_reconciler(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    // Longer than call_timeout (400 ms), shorter than the grace (1 s).
    app.mock
        .set_behaviour(Behaviour::Delay(Duration::from_millis(700)))
        .await;
    let (status, body) = app.register(player("Slowpoke", 12)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    let row = app
        .db
        .accounts()
        .find("Slowpoke")
        .await
        .unwrap()
        .expect("kept as pending");
    assert_eq!(row.state, "pending");

    app.eventually("the reconciler confirms the account", SETTLE, || async {
        app.db
            .accounts()
            .find("Slowpoke")
            .await
            .unwrap()
            .is_some_and(|r| r.state == "synced")
    })
    .await;
    assert!(app.mock.contains("Slowpoke"));
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn a_dropped_connection_is_settled_by_removal(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.mock.set_behaviour(Behaviour::DropAfterRead).await;
    let (status, body) = app.register(player("Dropped", 13)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    app.mock.set_behaviour(Behaviour::Normal).await;

    app.eventually("the reconciler removes the reservation", SETTLE, || async {
        app.db.accounts().find("Dropped").await.unwrap().is_none()
    })
    .await;
    assert!(!app.mock.contains("Dropped"));
    assert_eq!(
        app.db.accounts().count_for_telegram(13).await.unwrap(),
        0,
        "the slot is free again"
    );
    // And the player can now register for real.
    let (status, _) = app.register(player("Dropped", 13)).await;
    assert_eq!(status, 200);
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn registration_recovers_when_the_game_server_comes_back(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Before", 14)).await.0, 200);
    app.mock.set_behaviour(Behaviour::Refuse).await;
    let (status, body) = app.register(player("During", 14)).await;
    assert_error(status, &body, 503, "game_server_unavailable");
    let (status, health) = app.get_json(app.admin_url("/internal/health")).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "degraded");
    app.mock.set_behaviour(Behaviour::Normal).await;
    // Pooled connections to the old listener are stale; the first call after
    // the restart must still succeed.
    assert_eq!(app.register(player("After", 14)).await.0, 200);
    assert_stores_agree(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_registration_finish() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    app.mock
        .set_behaviour(Behaviour::Delay(Duration::from_millis(250)))
        .await;
    let request = app.register(player("Inflight", 15));
    let stop_soon = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        app.shutdown.cancel();
    };
    let ((status, body), ()) = tokio::join!(request, stop_soon);
    assert_eq!(status, 200, "{body}");
    assert!(app.mock.contains("Inflight"));
    // New connections are refused once it has stopped.
    let addr = app.addr;
    let db = app.db.clone();
    app.running.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let _ = db;
}

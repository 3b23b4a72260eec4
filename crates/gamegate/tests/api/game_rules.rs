//! The game server's account rules flow into validation, and a connector
//! without an exact `exists` is never settled by guessing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gamegate::app::metrics::Metrics;
use gamegate::app::reconciler::{Pass, Reconciler};
use gamegate_domain::{AccountLimit, normalise_login};
use gamegate_gameserver::{
    CallError, Capabilities, ExistsSupport, GameServer, Operations, RegisterError,
};
use gamegate_store::NewAccount;
use serde_json::json;

use crate::support::{Backend, assert_error, spawn_app_with};

crate::on_every_backend!(
    a_password_longer_than_the_game_allows_is_422_and_creates_nothing,
    the_games_charsets_and_login_length_narrow_validation,
    pending_rows_stay_pending_when_the_connector_cannot_answer_exists,
    pending_rows_stay_pending_when_the_server_does_not_announce_exists,
);

async fn a_password_longer_than_the_game_allows_is_422_and_creates_nothing(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.game_server.rules.password_max_chars = Some(16);
    })
    .await
    else {
        return;
    };
    let seventeen = "a".repeat(17);
    let (status, body) = app
        .register(
            json!({"login": "Longpass", "password": seventeen, "gender": 0, "telegram_id": 41}),
        )
        .await;
    assert_error(status, &body, 422, "validation_error");
    assert_eq!(body["errors"][0]["field"], "password", "{body}");
    assert_eq!(body["errors"][0]["code"], "too_long", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("16"),
        "the message names the game's limit: {message}"
    );
    assert!(app.db.accounts().find("Longpass").await.unwrap().is_none());
    assert_eq!(app.mock.account_count(), 0, "nothing on the game server");
    assert_eq!(
        app.mock.register_calls(),
        0,
        "the game server was not asked"
    );

    // Sixteen is what the game allows: registered on both sides.
    let sixteen = "b".repeat(16);
    let (status, body) = app
        .register(json!({"login": "Longpass", "password": sixteen, "gender": 0, "telegram_id": 41}))
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert!(app.mock.contains("Longpass"));
    app.stop().await;
}

async fn the_games_charsets_and_login_length_narrow_validation(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.game_server.rules.login_max_chars = Some(8);
        c.game_server.rules.login_charset = Some("A-Za-z0-9".into());
        c.game_server.rules.password_charset = Some(r"\x21-\x7E".into());
    })
    .await
    else {
        return;
    };
    let cases = [
        // (login, password, field, code)
        ("Ninechars", "secret12", "login", "too_long"),
        ("under_sc", "secret12", "login", "charset"),
        ("Spacey", "pass word", "password", "charset"),
        ("Cyrpass", "пароль123", "password", "charset"),
    ];
    for (i, (login, password, field, code)) in cases.into_iter().enumerate() {
        let (status, body) = app
            .register(
                json!({"login": login, "password": password, "gender": 1, "telegram_id": 50 + i}),
            )
            .await;
        assert_error(status, &body, 422, "validation_error");
        assert_eq!(body["errors"][0]["field"], field, "{login}: {body}");
        assert_eq!(body["errors"][0]["code"], code, "{login}: {body}");
    }
    assert_eq!(
        app.mock.register_calls(),
        0,
        "the game server was never asked"
    );
    assert!(app.db_logins().await.is_empty());
    let (status, body) = app
        .register(
            json!({"login": "Eight888", "password": "p@ss!Word", "gender": 1, "telegram_id": 60}),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{body}");
    app.stop().await;
}

/// The mock behind a connector that declares `exists` unsupported; counts the
/// `exists` calls that reach it.
struct NoExactExists {
    inner: Arc<dyn GameServer>,
    capabilities: Capabilities,
    exists_calls: AtomicU64,
    /// Answer `exists` as a server that does not announce it: unsupported.
    unannounced: bool,
}

#[async_trait::async_trait]
impl GameServer for NoExactExists {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    async fn register(&self, l: &str, p: &str, g: u8) -> Result<u64, RegisterError> {
        self.inner.register(l, p, g).await
    }
    async fn exists(&self, login: &str) -> Result<bool, CallError> {
        self.exists_calls.fetch_add(1, Ordering::SeqCst);
        if self.unannounced {
            return Err(gamegate_gameserver::client::unsupported("exists"));
        }
        self.inner.exists(login).await
    }
    async fn delete(&self, login: &str) -> Result<(), CallError> {
        self.inner.delete(login).await
    }
    async fn ping(&self) -> Result<(), CallError> {
        self.inner.ping().await
    }
    async fn online(&self) -> Result<u64, CallError> {
        self.inner.online().await
    }
}

async fn pending_rows_stay_pending_when_the_connector_cannot_answer_exists(backend: Backend) {
    unsettleable(backend, ExistsSupport::Unsupported, false, 0).await;
}

async fn pending_rows_stay_pending_when_the_server_does_not_announce_exists(backend: Backend) {
    unsettleable(backend, ExistsSupport::Exact, true, 1).await;
}

/// A lost registration and a reconciler pass through a connector whose
/// `exists` is `declared` and, at run time, `unannounced` or not: the row
/// stays pending, counted unsettleable; `exists` is asked `asked` times.
async fn unsettleable(backend: Backend, declared: ExistsSupport, unannounced: bool, asked: u64) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    // A reservation whose answer was lost: pending, older than any grace.
    let login_norm = normalise_login("Lostanswer");
    app.db
        .accounts()
        .reserve(
            &NewAccount {
                login: "Lostanswer",
                login_norm: &login_norm,
                password_hash: "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
                gender: 0,
                telegram_id: 77,
                telegram_username: None,
            },
            AccountLimit::DEFAULT,
        )
        .await
        .unwrap();
    let inner =
        gamegate::app::connector::build(&app.config, app.mock.local_addr().to_string()).unwrap();
    let game = Arc::new(NoExactExists {
        capabilities: Capabilities {
            connector: "test-no-exists",
            operations: Operations {
                exists: declared,
                ..Operations::ALL
            },
            rules: Default::default(),
        },
        inner,
        exists_calls: AtomicU64::new(0),
        unannounced,
    });
    let metrics = Arc::new(Metrics::new());
    let reconciler = Reconciler {
        db: app.db.clone(),
        game: game.clone(),
        metrics: metrics.clone(),
        interval: Duration::from_secs(60),
        // Zero grace: the row above is due now (whole-second stamps aside).
        grace: Duration::ZERO,
        batch_size: 100,
        erasure: gamegate::app::lifecycle::Erasure {
            keep: gamegate::config::ErasureKeep::Nothing,
            key: String::new().into(),
        },
    };
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let pass = reconciler.pass().await.unwrap();
    assert_eq!(
        pass,
        Pass {
            synced: 0,
            removed: 0,
            deferred: 1,
            deleted: 0,
        }
    );
    assert_eq!(game.exists_calls.load(Ordering::SeqCst), asked);
    let row = app.db.accounts().find("Lostanswer").await.unwrap().unwrap();
    assert_eq!(row.state, "pending", "the login stays reserved");
    let text = metrics.render();
    assert!(
        text.contains(r#"gamegate_reconciler_settled_total{result="unsettleable"} 1"#),
        "{text}"
    );
    app.stop().await;
}

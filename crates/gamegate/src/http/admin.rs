//! The admin listener: health details and metrics, for operators only
//! (`/metrics` behind the operator tokens when `admin.tokens` is set).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gamegate_gameserver::GameServer;
use gamegate_store::Database;
use serde_json::json;

use super::{AdminAuth, Common};
use crate::app::metrics::{DatabaseLabels, Unlabelled};
use crate::app::status_cache::StatusCache;
use gamegate_store::unix_now;

/// What a service's health and metrics report on.
#[derive(Clone)]
pub struct AdminState {
    pub common: Common,
    /// Which service this is (`all`, `register`, `status`, `stats`).
    pub service: &'static str,
    /// Every database the service needs, by role (`accounts`, `analytics`).
    pub databases: Vec<(&'static str, Database)>,
    /// The game server, for services that call it.
    pub game: Option<Arc<dyn GameServer>>,
    pub status: Option<StatusCache>,
}

/// `GET /internal/health` (always open: health checks carry no token) and
/// `GET /metrics` (behind `auth`, the operator tokens, when configured).
pub fn admin_routes(state: AdminState, auth: &AdminAuth) -> Router {
    Router::new()
        .route("/internal/health", get(internal_health))
        .merge(auth.protect(Router::new().route("/metrics", get(metrics))))
        .with_state(state)
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

async fn timed<F: std::future::Future<Output = bool>>(check: F) -> (bool, f64) {
    let started = Instant::now();
    let ok = tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or(false);
    (ok, started.elapsed().as_secs_f64() * 1000.0)
}

/// `ok` when everything answers; `degraded` when only the game server does
/// not (status still works, registrations fail); `unhealthy` (503) when a
/// database does not.
async fn internal_health(State(state): State<AdminState>) -> Response {
    let mut databases = serde_json::Map::new();
    let mut all_db_ok = true;
    for (role, db) in &state.databases {
        let (ok, ms) = timed(async { db.ping().await.is_ok() }).await;
        all_db_ok &= ok;
        databases.insert(
            (*role).to_owned(),
            json!({"ok": ok, "backend": db.backend().name(), "latency_ms": ms}),
        );
    }
    let mut body = json!({
        "service": state.service,
        "version": env!("CARGO_PKG_VERSION"),
        "databases": databases,
    });
    let mut game_ok = true;
    if let Some(game) = &state.game {
        let (ok, ms) = timed(async { game.ping().await.is_ok() }).await;
        game_ok = ok;
        body["game_server"] = json!({"ok": ok, "latency_ms": ms});
    }
    if let Some(status) = &state.status {
        body["status_cache_age_seconds"] = json!(unix_now() - status.current().1);
    }
    body["status"] = json!(match (all_db_ok, game_ok) {
        (true, true) => "ok",
        (true, false) => "degraded",
        (false, _) => "unhealthy",
    });
    let code = if all_db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

/// The exposition, after asking each database and the game server whether
/// they answer (`gamegate_database_up`, `gamegate_game_server_up`): one ping
/// each, concurrently, bounded like the health check's.
async fn metrics(State(state): State<AdminState>) -> Response {
    let m = &state.common.metrics;
    let databases = async {
        let mut up = Vec::with_capacity(state.databases.len());
        for (role, db) in &state.databases {
            up.push((*role, timed(async { db.ping().await.is_ok() }).await.0));
        }
        up
    };
    let game = async {
        match &state.game {
            Some(game) => Some(timed(async { game.ping().await.is_ok() }).await.0),
            None => None,
        }
    };
    let (databases_up, game_up) = tokio::join!(databases, game);
    for (role, up) in databases_up {
        m.database_up
            .get_or_create(&DatabaseLabels { database: role })
            .set(i64::from(up));
    }
    if let Some(up) = game_up {
        m.game_server_up
            .get_or_create(&Unlabelled)
            .set(i64::from(up));
    }
    for (role, db) in &state.databases {
        let (size, idle) = db.pool_stats();
        let labels = DatabaseLabels { database: role };
        m.db_pool_size.get_or_create(&labels).set(i64::from(size));
        m.db_pool_idle.get_or_create(&labels).set(idle as i64);
    }
    if let Some(status) = &state.status {
        m.status_cache_age_seconds
            .set(unix_now() - status.current().1);
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

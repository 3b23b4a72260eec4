//! The admin listener: health (liveness, readiness, details), metrics and
//! the status constants, for operators and their tooling (`/metrics` behind
//! the operator tokens when `admin.tokens` is set, `PUT /admin/constants/…`
//! always behind them).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use gamegate_gameserver::GameServer;
use gamegate_store::Database;
use serde_json::json;

use super::{AdminAuth, Common};
use crate::app::game_monitor::GameMonitor;
use crate::app::metrics::DatabaseLabels;
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
    /// The game server's polls, in every process that talks to it (`all`,
    /// `register`, `status`).
    pub monitor: Option<GameMonitor>,
    /// What the process cannot work without, for readiness: database roles
    /// of `databases` (`accounts`, `analytics`) and `game_server`.
    pub needs: &'static [&'static str],
}

impl axum::extract::FromRef<AdminState> for Common {
    fn from_ref(state: &AdminState) -> Common {
        state.common.clone()
    }
}

/// The health routes (always open: health checks carry no token), `GET
/// /metrics` (behind `auth`, the operator tokens, when configured) and `PUT
/// /admin/constants/{name}` (behind them always: with none configured, it
/// refuses every request).
pub fn admin_routes(state: AdminState, auth: &AdminAuth) -> Router {
    if !auth.is_on() {
        tracing::info!(
            "admin.tokens is empty: PUT /admin/constants/{{name}} refuses every request"
        );
    }
    Router::new()
        .route("/internal/health", get(internal_health))
        .route("/internal/health/live", get(live))
        .route("/internal/health/ready", get(ready))
        .merge(auth.protect(Router::new().route("/metrics", get(metrics))))
        .merge(auth.require(Router::new().route(
            "/admin/constants/{name}",
            put(super::constants::put_constant),
        )))
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

/// `GET /internal/health/live`: 200 while the process serves requests;
/// asks nothing else (a restart would not bring a database back).
async fn live(State(state): State<AdminState>) -> Response {
    let body =
        json!({"status": "live", "service": state.service, "version": env!("CARGO_PKG_VERSION")});
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// `GET /internal/health/ready`: 200 when everything the process needs
/// answers, 503 naming what does not (`down`). The databases it needs are
/// pinged (concurrently, 2 s at most each); the game server's state is its
/// last poll's, so a readiness check never calls the game server.
async fn ready(State(state): State<AdminState>) -> Response {
    let pings = state
        .databases
        .iter()
        .filter(|(role, _)| state.needs.contains(role))
        .map(|(role, db)| async move { (*role, timed(async { db.ping().await.is_ok() }).await.0) });
    let mut down: Vec<&'static str> = futures_util::future::join_all(pings)
        .await
        .into_iter()
        .filter_map(|(role, ok)| (!ok).then_some(role))
        .collect();
    let game_down = state.monitor.as_ref().is_some_and(|m| !m.current().is_up());
    if state.needs.contains(&"game_server") && game_down {
        down.push("game_server");
    }
    let (code, status) = match down.is_empty() {
        true => (StatusCode::OK, "ready"),
        false => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
    };
    let body = json!({"status": status, "service": state.service, "down": down});
    (code, axum::Json(body)).into_response()
}

/// The exposition, after asking each database whether it answers
/// (`gamegate_database_up`: one ping each, concurrently, bounded like the
/// health check's). `gamegate_game_server_up` is kept by the game server's
/// polls (status.refresh_interval_ms), not asked here.
async fn metrics(State(state): State<AdminState>) -> Response {
    let m = &state.common.metrics;
    let pings = state
        .databases
        .iter()
        .map(|(role, db)| async move { (*role, timed(async { db.ping().await.is_ok() }).await.0) });
    for (role, up) in futures_util::future::join_all(pings).await {
        m.database_up
            .get_or_create(&DatabaseLabels { database: role })
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

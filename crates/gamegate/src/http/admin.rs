//! The admin listener: health details and metrics, for operators only.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use gamegate_gameserver::GameServer;
use gamegate_store::Database;
use serde_json::json;

use super::public::{method_not_allowed, not_found};
use super::{Common, middleware};
use crate::registration::unix_now;
use crate::status_cache::StatusCache;

#[derive(Clone)]
pub struct AdminState {
    pub common: Common,
    pub db: Database,
    pub game: Arc<dyn GameServer>,
    pub status: StatusCache,
}

impl FromRef<AdminState> for Common {
    fn from_ref(state: &AdminState) -> Common {
        state.common.clone()
    }
}

pub fn admin_router(state: AdminState) -> Router {
    let common = state.common.clone();
    let router = Router::new()
        .route("/internal/health", get(internal_health))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    middleware::apply(router, common)
}

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `ok` when everything answers, `degraded` when the game server does not
/// (status still works, registrations fail), `unhealthy` (503) when the
/// database does not.
async fn internal_health(State(state): State<AdminState>) -> Response {
    let started = Instant::now();
    let db = tokio::time::timeout(CHECK_TIMEOUT, state.db.ping()).await;
    let db_ms = started.elapsed().as_secs_f64() * 1000.0;
    let db_ok = matches!(db, Ok(Ok(())));

    let started = Instant::now();
    let game = tokio::time::timeout(CHECK_TIMEOUT, state.game.ping()).await;
    let game_ms = started.elapsed().as_secs_f64() * 1000.0;
    let game_ok = matches!(game, Ok(Ok(())));

    let (_, read_at) = state.status.current();
    let status = match (db_ok, game_ok) {
        (true, true) => "ok",
        (true, false) => "degraded",
        (false, _) => "unhealthy",
    };
    let code = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "database": {"ok": db_ok, "backend": state.db.backend().name(), "latency_ms": db_ms},
        "game_server": {"ok": game_ok, "latency_ms": game_ms},
        "status_cache_age_seconds": unix_now() - read_at,
    });
    (code, axum::Json(body)).into_response()
}

async fn metrics(State(state): State<AdminState>) -> Response {
    let m = &state.common.metrics;
    let (size, idle) = state.db.pool_stats();
    m.db_pool_size.set(i64::from(size));
    m.db_pool_idle.set(idle as i64);
    m.status_cache_age_seconds
        .set(unix_now() - state.status.current().1);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        m.render(),
    )
        .into_response()
}

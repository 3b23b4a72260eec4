//! The public listener: what the site (through the edge) calls.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gamegate_domain::validate_register;
use serde::Serialize;

use super::extract::JsonObject;
use super::{ApiError, Common, middleware};
use crate::registration::Registrar;
use crate::status_cache::StatusCache;

#[derive(Clone)]
struct RegisterState {
    common: Common,
    registrar: Registrar,
}

impl axum::extract::FromRef<RegisterState> for Common {
    fn from_ref(state: &RegisterState) -> Common {
        state.common.clone()
    }
}

/// `POST /api/register`, bounded by the backstop timeout.
pub fn register_routes(common: Common, registrar: Registrar) -> Router {
    Router::new()
        .route(
            "/api/register",
            post(register).route_layer(axum::middleware::from_fn_with_state(
                common.clone(),
                middleware::backstop_timeout,
            )),
        )
        .with_state(RegisterState { common, registrar })
}

/// The status answer on each of `paths` (`/api/server/status` at the edge,
/// `/server/status` on the split status service, as in the seed).
pub fn status_routes(status: StatusCache, paths: &[&str]) -> Router {
    paths
        .iter()
        .fold(Router::new(), |router, path| {
            router.route(path, get(server_status))
        })
        .with_state(status)
}

/// The edge's liveness answer.
pub fn edge_routes() -> Router {
    Router::new().route("/health", get(health))
}

/// The success answer; `ok` first, as the seed's site reads it.
#[derive(Serialize)]
struct Registered {
    ok: bool,
    message: &'static str,
    login: String,
}

async fn register(
    State(state): State<RegisterState>,
    JsonObject { object: body, .. }: JsonObject,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let request = validate_register(&body, &state.common.rules, lang).map_err(|errors| {
        state
            .common
            .metrics
            .registration(crate::metrics::Outcome::invalid);
        ApiError::validation(errors, lang)
    })?;
    let login = request.login.clone();
    match state.registrar.register(request).await {
        Ok(()) => Ok(Json(Registered {
            ok: true,
            message: lang.pick("Регистрация успешна!", "Registration successful!"),
            login,
        })
        .into_response()),
        // Logged once, with its cause, when the answer is made.
        Err(e) => Err(ApiError::new(e.code(), lang).with_cause(e)),
    }
}

async fn server_status(State(status): State<StatusCache>) -> Response {
    let (body, _) = status.current();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

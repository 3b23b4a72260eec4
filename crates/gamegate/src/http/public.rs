//! The public listener: what the site (through the edge) calls.

use axum::extract::{FromRef, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gamegate_domain::{ErrorCode, validate_register};
use serde::Serialize;

use super::extract::JsonObject;
use super::{ApiError, Common, middleware};
use crate::registration::Registrar;
use crate::status_cache::StatusCache;

#[derive(Clone)]
pub struct PublicState {
    pub common: Common,
    pub registrar: Registrar,
    pub status: StatusCache,
}

impl FromRef<PublicState> for Common {
    fn from_ref(state: &PublicState) -> Common {
        state.common.clone()
    }
}

pub fn public_router(state: PublicState) -> Router {
    let common = state.common.clone();
    let router = Router::new()
        .route(
            "/api/register",
            post(register).route_layer(axum::middleware::from_fn_with_state(
                common.clone(),
                middleware::backstop_timeout,
            )),
        )
        .route("/api/server/status", get(server_status))
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    middleware::apply(router, common)
}

/// The success answer; `ok` first, as the seed's site reads it.
#[derive(Serialize)]
struct Registered {
    ok: bool,
    message: &'static str,
    login: String,
}

async fn register(
    State(state): State<PublicState>,
    JsonObject(body): JsonObject,
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
        Err(e) => {
            if e.code() == ErrorCode::InternalError {
                tracing::error!(error = %e, "registration failed");
            }
            Err(ApiError::new(e.code(), lang))
        }
    }
}

async fn server_status(State(state): State<PublicState>) -> Response {
    let (body, _) = state.status.current();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn health() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

pub(super) async fn not_found(State(common): State<Common>) -> ApiError {
    ApiError::new(ErrorCode::NotFound, common.lang)
}

pub(super) async fn method_not_allowed(State(common): State<Common>) -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, common.lang)
}

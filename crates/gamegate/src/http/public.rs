//! The public listener: what the site (through the edge) calls.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gamegate_domain::{ServerStatus, validate_register};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::extract::JsonObject;
use super::openapi::{ErrorBody, RegisterBody};
use super::{ApiError, Common, middleware};
use crate::app::lifecycle::AccountLifecycle;
use crate::app::registration::Registrar;
use crate::app::status_cache::StatusCache;

#[derive(Clone)]
pub(super) struct RegisterState {
    pub(super) common: Common,
    registrar: Registrar,
    pub(super) lifecycle: AccountLifecycle,
}

impl axum::extract::FromRef<RegisterState> for Common {
    fn from_ref(state: &RegisterState) -> Common {
        state.common.clone()
    }
}

// Each route set below is built from its `OpenApiRouter`: the path is the
// one of the handler's `#[utoipa::path]`, and [`openapi`] takes the document
// from the same builders, so the two cannot disagree.

fn register_api() -> OpenApiRouter<RegisterState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(super::accounts::delete_account))
        .routes(routes!(super::accounts::change_password))
}

fn status_api() -> OpenApiRouter<StatusCache> {
    OpenApiRouter::new().routes(routes!(server_status))
}

fn edge_api() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(health))
}

/// The OpenAPI operations of this file's routes (registration, status,
/// health) and the schemas they name.
pub(super) fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = register_api().into_openapi();
    doc.merge(status_api().into_openapi());
    doc.merge(edge_api().into_openapi());
    doc
}

/// `POST /api/register` and the account routes (`DELETE
/// /api/accounts/{login}`, `POST /api/accounts/{login}/password`), bounded by
/// the backstop timeout.
pub fn register_routes(
    common: Common,
    registrar: Registrar,
    lifecycle: AccountLifecycle,
) -> Router {
    let (router, _) = register_api().split_for_parts();
    router
        .route_layer(axum::middleware::from_fn_with_state(
            common.clone(),
            middleware::backstop_timeout,
        ))
        .with_state(RegisterState {
            common,
            registrar,
            lifecycle,
        })
}

/// The status answer at `/api/server/status` and at each of `aliases`
/// (`/server/status` on the split status service, as in the seed; not in
/// the document).
pub fn status_routes(status: StatusCache, aliases: &[&str]) -> Router {
    let (router, _) = status_api().split_for_parts();
    aliases
        .iter()
        .fold(router, |router, path| {
            router.route(path, get(server_status))
        })
        .with_state(status)
}

/// The edge's liveness answer.
pub fn edge_routes() -> Router {
    edge_api().split_for_parts().0
}

/// The success answer.
// `ok` first, as the seed's site reads it. The doc comment above is the
// schema's description in the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub(super) struct Registered {
    #[schema(example = true)]
    ok: bool,
    #[schema(example = "Регистрация успешна!")]
    message: &'static str,
    #[schema(example = "Hero_01")]
    login: String,
}

// The edge's liveness answer, `{"status":"ok"}`. No doc comment: it would
// become the schema's description in the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub(super) struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/register",
    tag = "registration",
    request_body(content = RegisterBody, content_type = "application/json"),
    params(("X-Player-IP" = Option<String>, Header,
        description = "The player's address (one IPv4 or IPv6 address) when the site's server calls for a player: with a valid key, rate limits, the ban jail and the access log count that player instead of the site (docs/EDGE.md). Ignored without a valid key.",
        example = "203.0.113.7")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Account created in the database and on the game server", body = Registered),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 403, description = "`invalid_api_key`, `banned` (with Retry-After), `limit_exceeded`, `not_in_telegram_group`, `telegram_auth_invalid`", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `banned`: seconds left of the ban"))),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 405, description = "`method_not_allowed`", body = ErrorBody),
        (status = 409, description = "`login_taken`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_error` with `errors`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`game_server_unavailable`, `database_unavailable`, `telegram_unavailable`, `request_timeout`", body = ErrorBody),
    )
)]
async fn register(
    State(state): State<RegisterState>,
    JsonObject { object: body, .. }: JsonObject,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let request = validate_register(&body, &state.common.rules, lang).map_err(|errors| {
        state
            .common
            .metrics
            .registration(crate::app::metrics::Outcome::invalid);
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

#[utoipa::path(
    get,
    path = "/api/server/status",
    tag = "status",
    responses(
        (status = 200, description = "Server status, rates and client status", body = ServerStatus),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
    )
)]
async fn server_status(State(status): State<StatusCache>) -> Response {
    let (body, _) = status.current();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[utoipa::path(
    get,
    path = "/health",
    tag = "status",
    responses(
        (status = 200, description = "The public listener is up", body = Health),
        (status = 403, description = "`banned`", body = ErrorBody),
    )
)]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

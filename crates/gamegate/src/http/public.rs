//! The public listener: what the site (through the edge) calls.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gamegate_domain::idempotency::{
    IDEMPOTENCY_KEY_HEADER, fingerprint, parse_idempotency_key, scope_of_site_key,
};
use gamegate_domain::{ErrorBody, ErrorCode, Lang, ServerStatus, validate_register};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::edge::API_KEY_HEADER;
use super::extract::JsonObject;
use super::openapi::{ErrorBody as ErrorSchema, RegisterBody};
use super::{ApiError, Common, middleware};
use crate::app::idempotency::{Idempotency, Keyed, KeyedRequest, Render};
use crate::app::lifecycle::AccountLifecycle;
use crate::app::registration::Registrar;
use crate::app::status_cache::StatusCache;

#[derive(Clone)]
pub(super) struct RegisterState {
    pub(super) common: Common,
    registrar: Registrar,
    idempotency: Idempotency,
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
    idempotency: Idempotency,
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
            idempotency,
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

impl Registered {
    fn new(lang: Lang, login: String) -> Self {
        Self {
            ok: true,
            message: lang.pick("Регистрация успешна!", "Registration successful!"),
            login,
        }
    }
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
        example = "203.0.113.7"),
        ("Idempotency-Key" = Option<String>, Header,
        description = "Makes retries safe (draft-ietf-httpapi-idempotency-key-header): an sf-string (a bare token is accepted too) of 1–255 printable ASCII characters, unique per registration attempt of the site. A retry with the same key and body within `registration.idempotency_window_secs` (default 24 h) gets the first answer — a 200 also when the first answer was a lost-answer 503 and the reconciler has since confirmed the account (docs/API.md#idempotency-key).",
        example = "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"",
        pattern = r#"^(?:[A-Za-z0-9._~:+/=-]{1,255}|"[!#-\[\]-~]{1,255}")$"#)),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Account created in the database and on the game server", body = Registered),
        (status = 400, description = "`invalid_json`, `invalid_idempotency_key`", body = ErrorSchema),
        (status = 403, description = "`invalid_api_key`, `banned` (with Retry-After), `limit_exceeded`, `not_in_telegram_group`, `telegram_auth_invalid`", body = ErrorSchema,
            headers(("Retry-After" = Option<u64>, description = "with `banned`: seconds left of the ban"))),
        (status = 404, description = "`not_found`", body = ErrorSchema),
        (status = 405, description = "`method_not_allowed`", body = ErrorSchema),
        (status = 409, description = "`login_taken`; `request_in_progress` (with Retry-After) while the first request with the same `Idempotency-Key` runs", body = ErrorSchema,
            headers(("Retry-After" = Option<u64>, description = "with `request_in_progress`: seconds to wait before retrying with the same key"))),
        (status = 413, description = "`payload_too_large`", body = ErrorSchema),
        (status = 415, description = "`unsupported_media_type`", body = ErrorSchema),
        (status = 422, description = "`validation_error` with `errors`; `idempotency_key_reused` (the `Idempotency-Key` was used for a different body)", body = ErrorSchema),
        (status = 429, description = "`rate_limited`", body = ErrorSchema,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 500, description = "`internal_error`", body = ErrorSchema),
        (status = 503, description = "`game_server_unavailable`, `database_unavailable`, `telegram_unavailable`, `request_timeout`", body = ErrorSchema),
    )
)]
async fn register(
    State(state): State<RegisterState>,
    headers: HeaderMap,
    JsonObject { object: body, .. }: JsonObject,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let key = parse_idempotency_key(
        headers
            .get_all(IDEMPOTENCY_KEY_HEADER)
            .iter()
            .map(|v| v.as_bytes()),
    )
    .map_err(|_| ApiError::new(ErrorCode::InvalidIdempotencyKey, lang))?;
    let request = validate_register(&body, &state.common.rules, lang).map_err(|errors| {
        state
            .common
            .metrics
            .registration(crate::app::metrics::Outcome::invalid);
        ApiError::validation(errors, lang)
    })?;
    let login = request.login.clone();
    // A key belongs to the site whose API key came with it; without one (an
    // edge upstream that does not forward it) the key is not used.
    let site_key = headers.get(API_KEY_HEADER).map(|v| v.as_bytes());
    let result = match (key, site_key) {
        (Some(key), Some(site_key)) => {
            let keyed = KeyedRequest {
                key,
                scope: scope_of_site_key(site_key),
                fingerprint: fingerprint(site_key, &request),
            };
            let for_render = login.clone();
            let render: Render =
                Arc::new(move |result| registration_answer(result, lang, &for_render));
            match state
                .idempotency
                .register(&state.registrar, keyed, request, render)
                .await
            {
                Ok(Keyed::Ran(result)) => result,
                Ok(Keyed::Replayed { status, body }) => return Ok(replayed(status, body)),
                Ok(Keyed::InProgress) => {
                    let mut error = ApiError::new(ErrorCode::RequestInProgress, lang);
                    error.retry_after_secs = Some(1);
                    return Err(error);
                }
                Ok(Keyed::Reused) => {
                    return Err(ApiError::new(ErrorCode::IdempotencyKeyReused, lang));
                }
                Err(e) => Err(e),
            }
        }
        _ => state.registrar.register(request).await,
    };
    match result {
        Ok(()) => Ok(Json(Registered::new(lang, login)).into_response()),
        // Logged once, with its cause, when the answer is made.
        Err(e) => Err(ApiError::new(e.code(), lang).with_cause(e)),
    }
}

/// The answer of a registration's result, as stored for a retry with the
/// same `Idempotency-Key`: the bytes a fresh answer would have.
fn registration_answer(result: Result<(), ErrorCode>, lang: Lang, login: &str) -> (u16, Vec<u8>) {
    match result {
        Ok(()) => (
            200,
            serde_json::to_vec(&Registered::new(lang, login.to_owned()))
                .expect("the success answer serialises"),
        ),
        Err(code) => (code.http_status(), ErrorBody::new(code, lang).to_json()),
    }
}

/// A stored answer, sent again.
fn replayed(status: u16, body: Vec<u8>) -> Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

#[utoipa::path(
    get,
    path = "/api/server/status",
    tag = "status",
    responses(
        (status = 200, description = "Server status, rates and client status", body = ServerStatus),
        (status = 403, description = "`banned`", body = ErrorSchema),
        (status = 429, description = "`rate_limited`", body = ErrorSchema,
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
        (status = 403, description = "`banned`", body = ErrorSchema),
    )
)]
async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

//! The account routes beside `POST /api/register`, behind the same site key:
//! `DELETE /api/accounts/{login}` and `POST /api/accounts/{login}/password`
//! (docs/API.md, "Accounts"). Thin: the sagas are in `app::lifecycle`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use gamegate_domain::{ErrorCode, validate_password_change};
use serde::Serialize;
use utoipa::ToSchema;

use super::extract::JsonObject;
use super::openapi::{ErrorBody, PasswordChangeBody};
use super::public::RegisterState;
use super::{ApiError, edge::Client};

/// The longest `{login}` looked up: longer cannot be a login (16
/// characters of at most 4 bytes each).
const MAX_LOGIN_BYTES: usize = 64;

/// The success answer of an account route.
// The doc comment above is the schema's description in the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub(super) struct AccountChanged {
    #[schema(example = true)]
    ok: bool,
    #[schema(example = "Аккаунт удалён.")]
    message: &'static str,
    /// The login as it was stored.
    #[schema(example = "Hero_01")]
    login: String,
}

/// Who the audit names for a request: `api:key<N>` for the N-th of
/// `edge.api_keys` (from 1), `api:upstream` when an edge in front checked it.
fn actor(client: Option<Extension<Client>>) -> String {
    match client.and_then(|Extension(c)| c.site_key) {
        Some(i) => format!("api:key{}", i + 1),
        None => "api:upstream".into(),
    }
}

/// The `{login}` of the path, or 404: a path that does not decode, or is
/// longer than any login, names no account.
fn login_of(
    state: &RegisterState,
    path: Result<Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    let lang = state.common.lang;
    match path {
        Ok(Path(login)) if !login.is_empty() && login.len() <= MAX_LOGIN_BYTES => Ok(login),
        _ => Err(ApiError::new(ErrorCode::AccountNotFound, lang)),
    }
}

fn answer(state: &RegisterState, login: String, ru: &'static str, en: &'static str) -> Response {
    Json(AccountChanged {
        ok: true,
        message: state.common.lang.pick(ru, en),
        login,
    })
    .into_response()
}

#[utoipa::path(
    delete,
    path = "/api/accounts/{login}",
    tag = "accounts",
    params(
        ("login" = String, Path, description = "The account's login, in any case: looked up case-insensitively (NFC before case folding)", example = "Hero_01"),
        ("X-Player-IP" = Option<String>, Header,
            description = "The player's address when the site's server calls for a player (as for `/api/register`)",
            example = "203.0.113.7")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Deleted from the game server and the database; the Telegram id's slot is free", body = AccountChanged),
        (status = 403, description = "`invalid_api_key`, `banned` (with Retry-After)", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `banned`: seconds left of the ban"))),
        (status = 404, description = "`account_not_found`", body = ErrorBody),
        (status = 405, description = "`method_not_allowed`", body = ErrorBody),
        (status = 409, description = "`account_busy`: being registered or deleted", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 501, description = "`not_supported`: the connector cannot delete; nothing changed", body = ErrorBody),
        (status = 503, description = "`game_server_unavailable` (refused: nothing changed; answer lost: the reconciler finishes the deletion), `database_unavailable`, `request_timeout`", body = ErrorBody),
    )
)]
pub(super) async fn delete_account(
    State(state): State<RegisterState>,
    client: Option<Extension<Client>>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let login = login_of(&state, path)?;
    let lang = state.common.lang;
    match state.lifecycle.delete(&login, &actor(client)).await {
        Ok(login) => Ok(answer(&state, login, "Аккаунт удалён.", "Account deleted.")),
        Err(e) => Err(ApiError::new(e.code(), lang).with_cause(e)),
    }
}

#[utoipa::path(
    post,
    path = "/api/accounts/{login}/password",
    tag = "accounts",
    request_body(content = PasswordChangeBody, content_type = "application/json"),
    params(
        ("login" = String, Path, description = "The account's login, in any case: looked up case-insensitively (NFC before case folding)", example = "Hero_01"),
        ("X-Player-IP" = Option<String>, Header,
            description = "The player's address when the site's server calls for a player: a `wrong_password` counts against it in the ban jail",
            example = "203.0.113.7")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "The game server and the database have the new password", body = AccountChanged),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 403, description = "`wrong_password` (nothing changed), `invalid_api_key`, `banned` (with Retry-After)", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `banned`: seconds left of the ban"))),
        (status = 404, description = "`account_not_found`", body = ErrorBody),
        (status = 405, description = "`method_not_allowed`", body = ErrorBody),
        (status = 409, description = "`account_busy`: being registered, deleted, or another change is under way", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_error` with `errors`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 501, description = "`not_supported`: the connector cannot change passwords; nothing changed", body = ErrorBody),
        (status = 503, description = "`game_server_unavailable`, `database_unavailable`, `request_timeout`", body = ErrorBody),
    )
)]
pub(super) async fn change_password(
    State(state): State<RegisterState>,
    client: Option<Extension<Client>>,
    path: Result<Path<String>, PathRejection>,
    JsonObject { object: body, .. }: JsonObject,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let change = validate_password_change(&body, &state.common.rules, lang)
        .map_err(|errors| ApiError::validation(errors, lang))?;
    let login = login_of(&state, path)?;
    match state
        .lifecycle
        .change_password(&login, change, &actor(client))
        .await
    {
        Ok(login) => Ok(answer(
            &state,
            login,
            "Пароль изменён.",
            "Password changed.",
        )),
        Err(e) => Err(ApiError::new(e.code(), lang).with_cause(e)),
    }
}

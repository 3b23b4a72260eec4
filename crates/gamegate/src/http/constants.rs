//! `PUT /admin/constants/{name}` with `{"value": <number>}`: an operator sets
//! one constant of the status answer without SQL (the API twin of
//! `gamegate status set`). Behind the operator token always
//! ([`super::AdminAuth::require`]); the name and value follow the domain's
//! rules ([`ConstantName`]). The row is written in the accounts database, so
//! every process that serves the status shows it within
//! `status.refresh_interval_ms`, this one at once.

use axum::Json;
use axum::extract::{Path, State};
use gamegate_domain::{ConstantName, ErrorCode, validate_constant_body};
use serde::Serialize;

use super::ApiError;
use super::admin::AdminState;
use super::extract::JsonObject;

/// The answer of a change: the row as written.
#[derive(Debug, Serialize)]
pub(super) struct ConstantSet {
    ok: bool,
    /// The row's name (`rate_exp`).
    name: String,
    /// The value stored.
    value: f64,
}

/// `404 unknown_constant` for a name that is not a status constant, `422
/// validation_error` for a body that is not `{"value": <number within the
/// constant's rule>}`, `503 database_unavailable` when the write fails for
/// want of the database; `200` with the row otherwise.
pub(super) async fn put_constant(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    JsonObject { object, .. }: JsonObject,
) -> Result<Json<ConstantSet>, ApiError> {
    let lang = state.common.lang;
    let constant = ConstantName::parse(&name)
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownConstant, lang))?;
    let value = validate_constant_body(&constant, &object, lang)
        .map_err(|errors| ApiError::validation(errors, lang))?;
    let (_, accounts) = state
        .databases
        .iter()
        .find(|(role, _)| *role == "accounts")
        .ok_or_else(|| ApiError::new(ErrorCode::InternalError, lang))?;
    let name = constant.row_name();
    accounts.constants().set(&name, value).await.map_err(|e| {
        let code = match e.is_unavailable() {
            true => ErrorCode::DatabaseUnavailable,
            false => ErrorCode::InternalError,
        };
        // Logged once, with its cause, when the answer is made.
        ApiError::new(code, lang).with_cause(anyhow::Error::new(e).context("writing a constant"))
    })?;
    tracing::info!(constant = %name, value, "status constant set through the admin API");
    if let Some(status) = &state.status {
        status.refresh_soon();
    }
    Ok(Json(ConstantSet {
        ok: true,
        name,
        value,
    }))
}

//! The statistics service (issue 6): battle ingestion, player statistics,
//! the leaderboard and activity summaries over the analytics database, and
//! the accounts database's admin reports as an API. Thin handlers: parse and
//! bound the input (`super::query::Params`), call the store, answer with
//! the typed bodies of [`body`].
//!
//! - [`public`]: players, leaderboard, summary and prediction — the routes of
//!   the OpenAPI document, each handler carrying its `#[utoipa::path]`;
//! - [`admin`]: the accounts reports and the anomaly list (admin listener);
//! - [`ingest`]: `POST /stats/battles` (ingest token).

pub mod admin;
pub mod body;
pub mod ingest;
pub mod public;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use gamegate_domain::{ErrorCode, Lang, RegistrationRules};
use gamegate_store::{Database, StoreError};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, Common, middleware};
use crate::app::anomaly_cache::AnomalyCache;
use crate::http::edge::ApiKeys;

/// Most entries a leaderboard or top-telegram answer lists.
pub const MAX_LIMIT: u64 = 100;
/// Longest summary window, in days.
pub const MAX_SUMMARY_DAYS: u64 = 366;

/// What `POST /stats/battles` accepts.
pub struct IngestPolicy {
    tokens: ApiKeys,
    max_batch: usize,
    body_limit: usize,
    /// `analytics.require_registered_players`.
    require_registered: bool,
}

impl IngestPolicy {
    pub fn from_config(config: &crate::Config) -> Self {
        IngestPolicy {
            tokens: ApiKeys::new(crate::config::expose_all(&config.analytics.ingest_tokens)),
            max_batch: config.analytics.ingest_max_batch,
            body_limit: config.analytics.ingest_body_limit_bytes,
            require_registered: config.analytics.require_registered_players,
        }
    }
}

#[derive(Clone)]
pub struct StatsState {
    pub common: Common,
    pub analytics: Database,
    /// For the registration reports; `None` where the process has no
    /// accounts database.
    pub accounts: Option<Database>,
    pub ingest: Arc<IngestPolicy>,
    pub anomalies: Arc<AnomalyCache>,
}

impl FromRef<StatsState> for Common {
    fn from_ref(state: &StatsState) -> Common {
        state.common.clone()
    }
}

fn bounded(router: Router<StatsState>, state: &StatsState) -> Router {
    router
        .route_layer(axum::middleware::from_fn_with_state(
            state.common.clone(),
            middleware::backstop_timeout,
        ))
        .with_state(state.clone())
}

// The public route sets are built from `OpenApiRouter`s: each path is the
// one of its handler's `#[utoipa::path]`, and [`public_openapi`] takes the
// document from the same builders.

fn public_stats_api() -> OpenApiRouter<StatsState> {
    OpenApiRouter::new()
        .routes(routes!(public::player))
        .routes(routes!(public::leaderboard))
        .routes(routes!(public::summary))
}

fn predict_api() -> OpenApiRouter<StatsState> {
    OpenApiRouter::new().routes(routes!(public::predict))
}

/// The OpenAPI operations of the public statistics routes and the schemas
/// of their answers.
pub(in crate::http) fn public_openapi() -> utoipa::openapi::OpenApi {
    let mut doc = public_stats_api().into_openapi();
    doc.merge(predict_api().into_openapi());
    doc
}

/// Player statistics, the leaderboard and the activity summary: fine for a
/// public listener.
pub fn public_stats_routes(state: StatsState) -> Router {
    bounded(public_stats_api().split_for_parts().0, &state)
}

/// `GET /ml/predict`: public like the statistics, with a limit of its own.
pub fn predict_routes(state: StatsState) -> Router {
    bounded(predict_api().split_for_parts().0, &state)
}

/// `POST /stats/battles`: internal, token-protected.
pub fn ingest_routes(state: StatsState) -> Router {
    bounded(
        Router::new().route("/stats/battles", post(ingest::ingest)),
        &state,
    )
}

/// Registrations and Telegram ids from the accounts database: admin
/// information.
pub fn admin_stats_routes(state: StatsState) -> Router {
    bounded(
        Router::new()
            .route("/stats/registrations", get(admin::registrations))
            .route("/stats/top-telegram", get(admin::top_telegram))
            .route("/ml/anomalies", get(admin::anomalies)),
        &state,
    )
}

pub(super) fn store_error(e: StoreError, lang: Lang) -> ApiError {
    let code = if e.is_unavailable() {
        ErrorCode::DatabaseUnavailable
    } else {
        ErrorCode::InternalError
    };
    // Logged once, with its cause, when the answer is made.
    ApiError::new(code, lang).with_cause(anyhow::Error::new(e).context("statistics query"))
}

/// A public statistics query that failed: past `analytics.query_timeout_ms`
/// (the public routes' database handle carries it as its operation timeout)
/// it is `503 request_timeout` with `Retry-After`, so a client knows to back
/// off rather than retry at once; otherwise as [`store_error`].
fn query_error(e: StoreError, lang: Lang) -> ApiError {
    match e {
        e @ StoreError::TimedOut(_) => {
            let mut error = ApiError::new(ErrorCode::RequestTimeout, lang).with_cause(
                anyhow::Error::new(e).context("statistics query cut at analytics.query_timeout_ms"),
            );
            error.retry_after_secs = Some(QUERY_RETRY_AFTER_SECS);
            error
        }
        e => store_error(e, lang),
    }
}

/// `Retry-After` of a statistics query cut by its timeout.
const QUERY_RETRY_AFTER_SECS: u64 = 5;

/// The registration's login rule (lengths, charset, NFC), the one battle
/// ingestion applies too; lookups then match case-insensitively.
fn is_login(rules: &RegistrationRules, login: &str) -> bool {
    rules.check_login(login).is_ok()
}

//! The HTTP layer: thin handlers that parse, call the domain and the
//! registration saga, and map every failure to one JSON error shape.

pub mod access_log;
mod accounts;
mod admin;
pub mod admin_auth;
pub mod connections;
mod constants;
pub mod dashboard;
pub mod demo;
pub mod edge;
mod error;
mod extract;
pub mod front;
pub(crate) mod middleware;
pub mod openapi;
mod public;
mod query;
pub mod server;
pub mod stats;
pub mod tls;

use std::sync::Arc;

use axum::Router;
use gamegate_domain::{ErrorCode, Lang, RegistrationRules};

pub use admin::{AdminState, admin_routes};
pub use admin_auth::AdminAuth;
pub use error::ApiError;
pub use public::{edge_routes, register_routes, status_routes};

use crate::app::metrics::Metrics;

/// What every handler may need to build an answer.
#[derive(Clone)]
pub struct Common {
    pub lang: Lang,
    pub metrics: Arc<Metrics>,
    pub rules: Arc<RegistrationRules>,
    pub body_limit: usize,
    pub request_timeout: std::time::Duration,
    /// A request body must have arrived within this (`http.body_read_timeout_ms`).
    pub body_read_timeout: std::time::Duration,
}

/// Completes a listener's router from route sets: JSON answers for unknown
/// paths and wrong methods (set after every route is in, so each route gets
/// its `Allow` header), then the one per-route layer ([`front::RouteLayer`])
/// that hands the route template to the listener's front for its metrics.
/// Serve it behind a [`front::Front`] with `common`, which measures the
/// requests, contains panics and bounds body reads.
pub fn finish(routes: Router, common: Common) -> Router {
    finish_guarded(routes, common, None)
}

/// [`finish`] with the edge's route checks (the ban jail, the limit of
/// unknown paths) in the per-route layer, around every route and the
/// fallbacks, inside the front's request metrics and panic containment so
/// their refusals are counted and contained like any other answer.
pub fn finish_guarded(
    routes: Router,
    common: Common,
    checks: Option<crate::http::edge::RouteChecks>,
) -> Router {
    let lang = common.lang;
    routes
        .fallback(move || async move { ApiError::new(ErrorCode::NotFound, lang) })
        .method_not_allowed_fallback(move || async move {
            ApiError::new(ErrorCode::MethodNotAllowed, lang)
        })
        .layer(front::RouteLayer::new(checks))
}

//! The HTTP layer: thin handlers that parse, call the domain and the
//! registration saga, and map every failure to one JSON error shape.

pub mod access_log;
mod admin;
pub mod admin_auth;
pub mod connections;
pub mod dashboard;
pub mod demo;
pub mod edge;
mod error;
mod extract;
pub(crate) mod middleware;
pub mod openapi;
mod public;
mod query;
pub mod server;
pub mod stats;

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
/// its `Allow` header), then the shared layers.
pub fn finish(routes: Router, common: Common) -> Router {
    finish_guarded(routes, common, |router| router)
}

/// [`finish`] with `guard` (the ban jail) wrapped around every route and the
/// fallbacks, inside the request metrics and panic containment so its
/// refusals are counted and contained like any other answer.
pub fn finish_guarded(
    routes: Router,
    common: Common,
    guard: impl FnOnce(Router) -> Router,
) -> Router {
    let lang = common.lang;
    let router = routes
        .fallback(move || async move { ApiError::new(ErrorCode::NotFound, lang) })
        .method_not_allowed_fallback(move || async move {
            ApiError::new(ErrorCode::MethodNotAllowed, lang)
        });
    middleware::apply(guard(router), common)
}

//! Layers every listener shares: request metrics, a timeout backstop and
//! panic containment, each answering in the contract's JSON shape.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use gamegate_domain::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;

use super::{ApiError, Common};
use crate::metrics::{HttpLabels, RouteLabels};

/// Wraps a router: panics are caught outermost, then every request is
/// measured and bounded by the backstop timeout.
pub fn apply(router: Router, common: Common) -> Router {
    router
        .layer(middleware::from_fn_with_state(common, track))
        .layer(CatchPanicLayer::custom(panic_response))
}

fn panic_response(_: Box<dyn std::any::Any + Send>) -> Response {
    tracing::error!("a handler panicked");
    // The configured language is not reachable here; the contract's default is used.
    ApiError::new(ErrorCode::InternalError, Default::default()).into_response()
}

async fn track(State(common): State<Common>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Route templates, not raw paths, so label cardinality stays bounded.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let method = req.method().as_str().to_owned();
    let response = match tokio::time::timeout(common.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::RequestTimeout, common.lang).into_response(),
    };
    common
        .metrics
        .http_requests
        .get_or_create(&HttpLabels {
            route: route.clone(),
            method,
            status: response.status().as_u16(),
        })
        .inc();
    common
        .metrics
        .http_duration
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

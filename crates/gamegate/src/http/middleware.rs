//! Layers every listener shares: request metrics and panic containment, plus
//! a timeout backstop for routes that wait on other systems; each answers in
//! the contract's JSON shape.

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use gamegate_domain::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;

use super::{ApiError, Common};
use crate::metrics::{HttpLabels, Route, RouteLabels};

/// Wraps a router: panics are caught outermost, then every request is measured.
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

/// Bounds a route that waits on the database or the game server. Not used on
/// routes served from memory: a timer per request is measurable at 100k req/s.
pub async fn backstop_timeout(State(common): State<Common>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(common.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::RequestTimeout, common.lang).into_response(),
    }
}

fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        // Arbitrary methods must not grow the label set without bound.
        _ => "other",
    }
}

async fn track(State(common): State<Common>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    // Route templates, not raw paths, so label cardinality stays bounded.
    let route = Route(req.extensions().get::<MatchedPath>().cloned());
    let method = method_label(req.method());
    let response = next.run(req).await;
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

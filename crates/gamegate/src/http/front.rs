//! The front of a listener: one service around its router that applies
//! the policy every request gets, in one pass and without cloning the
//! routed service — the access log, CORS, panic containment, request
//! metrics, the body deadline, and (public listener of `gamegate all`)
//! who the client is. What depends on the route matched runs after
//! routing in one per-route layer ([`RouteLayer`]): the jail, the limit of
//! unknown paths, and the route template the metrics are labelled with;
//! a route set's own limit or key check is its [`crate::http::edge::Guarded`] layer.
//!
//! Outermost first, as docs/EDGE.md lists them: access log → CORS →
//! panic containment → metrics → body deadline → client → (routing) →
//! jail → unknown-path limit → route limit → site key budget → API key →
//! handler. (The client is resolved first of all, so the access log logs
//! the one the edge judged; a CORS preflight is answered without one.)

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use tower::{Layer, Service};

use super::Common;
use super::access_log::AccessLog;
use super::middleware;
use crate::app::metrics::Route;
use crate::http::edge::{Cors, Edge, RouteChecks};

/// What a listener's [`Front`] is made of.
#[derive(Default)]
pub struct FrontParts {
    /// The routes, finished by [`super::finish`] or [`super::finish_guarded`].
    pub router: Router,
    /// Request metrics, panic containment and the body deadline: every
    /// listener but the plain-HTTP redirect.
    pub common: Option<Common>,
    /// One line per request, whatever the outcome.
    pub access_log: Option<AccessLog>,
    /// Who the client is, resolved once before routing (public listener of
    /// `gamegate all`).
    pub edge: Option<Edge>,
    /// The public listener of `gamegate all`.
    pub cors: Option<Cors>,
    /// `Strict-Transport-Security` and `nosniff` on every answer (TLS listeners).
    pub hsts: bool,
}

/// The service a connection calls for each request: cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct Front(Arc<FrontParts>);

impl From<FrontParts> for Front {
    fn from(parts: FrontParts) -> Self {
        Front(Arc::new(parts))
    }
}

/// The route template a request matched (`None`: a fallback), handed by
/// [`RouteLayer`] to the front's metrics in the response.
#[derive(Clone)]
struct RouteTag(Option<MatchedPath>);

impl Front {
    /// Answers `req`.
    pub async fn call(self, mut req: Request) -> Response {
        let p = &*self.0;
        let started = Instant::now();
        let preflight = p.cors.is_some() && Cors::is_preflight(req.method());
        // Who the client is, once: the limits, the jail and the access log
        // all judge this one (a preflight is answered before anyone judges).
        let client = match &p.edge {
            Some(edge) if !preflight => Some(edge.identify(&mut req)),
            _ => None,
        };
        // The client the edge judged, when it resolved one: a player a valid
        // site key named is logged as that player, so a fail2ban reading this
        // log bans the player's address, never the site's.
        let entry = p
            .access_log
            .as_ref()
            .map(|log| log.begin(&req, client.map(|c| c.ip)));
        let origin = match &p.cors {
            Some(_) => req.headers().get(header::ORIGIN).cloned(),
            None => None,
        };
        let mut response = match &p.cors {
            // Preflights are answered here, before anything else runs.
            Some(cors) if preflight => cors.preflight(origin.as_ref()),
            _ => {
                let mut response = match contained(self.measured(req)).await {
                    Ok(response) => response,
                    Err(()) => middleware::panic_response(),
                };
                if let Some(cors) = &p.cors {
                    cors.apply(origin.as_ref(), response.headers_mut());
                }
                response
            }
        };
        if p.hsts {
            let headers = response.headers_mut();
            headers
                .entry(header::STRICT_TRANSPORT_SECURITY)
                .or_insert(HeaderValue::from_static(super::server::HSTS));
            headers
                .entry(header::X_CONTENT_TYPE_OPTIONS)
                .or_insert(HeaderValue::from_static("nosniff"));
        }
        if let (Some(log), Some(entry)) = (&p.access_log, entry) {
            log.finish(entry, &response, started);
        }
        response
    }

    /// The routed answer, measured, its body under its deadline.
    async fn measured(&self, req: Request) -> Response {
        let p = &*self.0;
        let Some(common) = &p.common else {
            return routed(&p.router, req).await;
        };
        let started = Instant::now();
        let method = middleware::method_label(req.method());
        let (req, expired) = middleware::body_deadline(req, common);
        let mut response = routed(&p.router, req).await;
        let route = response
            .extensions_mut()
            .remove::<RouteTag>()
            .and_then(|tag| tag.0);
        if expired.is_some_and(|e| e.load(Ordering::Relaxed)) {
            response = middleware::body_timed_out(common);
        }
        middleware::record(
            common,
            Route(route),
            method,
            response.status().as_u16(),
            started,
        );
        response
    }
}

async fn routed(router: &Router, req: Request) -> Response {
    match router.clone().call(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `fut`'s output, or `Err` when polling it panicked (the panic is
/// contained: the process and the connection go on).
async fn contained<F: Future<Output = Response>>(fut: F) -> Result<Response, ()> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(Poll::Ready(response)) => Poll::Ready(Ok(response)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    })
    .await
}

/// The one layer every route (and the fallbacks) of a listener gets:
/// the route template for the metrics and, with an edge, its
/// [`RouteChecks`] (the jail, the limit of unknown paths).
#[derive(Clone)]
pub struct RouteLayer {
    checks: Option<RouteChecks>,
}

impl RouteLayer {
    pub fn new(checks: Option<RouteChecks>) -> Self {
        Self { checks }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = Routed<S>;

    fn layer(&self, inner: S) -> Routed<S> {
        Routed {
            checks: self.checks.clone(),
            inner,
        }
    }
}

/// A route under [`RouteLayer`].
#[derive(Clone)]
pub struct Routed<S> {
    checks: Option<RouteChecks>,
    inner: S,
}

impl<S> Service<Request> for Routed<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let matched = req.extensions().get::<MatchedPath>().cloned();
        // The service polled ready is the one called; a clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let checks = self.checks.clone();
        Box::pin(async move {
            let mut response = match checks {
                None => inner.call(req).await?,
                Some(checks) => {
                    checks
                        .run(req, matched.is_some(), |req| async move {
                            match inner.call(req).await {
                                Ok(response) => response,
                                Err(never) => match never {},
                            }
                        })
                        .await
                }
            };
            response.extensions_mut().insert(RouteTag(matched));
            Ok(response)
        })
    }
}

//! The edge's checks on routed requests, as plain tower services: a
//! route set's own check ([`Guarded`]: a rate limit, a site key's budget,
//! the API key) and what the one per-route layer of a listener runs around
//! every route ([`RouteChecks`]: the ban jail, the limit of unknown paths).
//!
//! Before, each of these was an axum `from_fn` middleware: every one boxed
//! and cloned the service it wraps on every request, and their number grew
//! with the policy (docs/BENCHMARKS.md, "The edge").

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use gamegate_domain::{ErrorCode, Lang};
use tower::{Layer, Service};

use super::jail::Jail;
use super::limiter::{Limiter, SiteLimits};
use super::{Client, Edge, SiteKeyLimited};
use crate::http::ApiError;

/// What one [`Guarded`] route set checks.
#[derive(Clone)]
pub(super) enum Check {
    /// Per client (GCRA): `429 rate_limited` past it.
    Limit(Arc<Limiter>),
    /// Per site key, all its players together: `429`, not counted by the
    /// jail against the player named.
    Site(Arc<SiteLimits>),
    /// A valid `X-API-Key`: `403 invalid_api_key` without.
    Key,
}

/// Puts a route set behind one [`Check`] (`Router::route_layer`).
#[derive(Clone)]
pub(super) struct GuardLayer {
    pub(super) edge: Edge,
    pub(super) check: Check,
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded {
            edge: self.edge.clone(),
            check: self.check.clone(),
            inner,
        }
    }
}

/// A route behind one `Check`; the [`Client`] is the one the front
/// resolved (or resolved here when no front did).
#[derive(Clone)]
pub struct Guarded<S> {
    edge: Edge,
    check: Check,
    inner: S,
}

impl<S> Service<Request> for Guarded<S>
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

    fn call(&mut self, mut req: Request) -> Self::Future {
        // The service polled ready is the one called; a clone stays behind.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let edge = self.edge.clone();
        let check = self.check.clone();
        Box::pin(async move {
            let client = edge.client(&mut req);
            match refusal(&edge, &check, &client).await {
                Some(response) => Ok(response),
                None => inner.call(req).await,
            }
        })
    }
}

/// The answer of `check` when it refuses `client`.
async fn refusal(edge: &Edge, check: &Check, client: &Client) -> Option<Response> {
    match check {
        Check::Limit(limiter) => match limiter.check(client.key.0).await {
            Ok(()) => None,
            Err(retry_after) => Some(limited(edge.lang, limiter.burst, retry_after)),
        },
        // The one call site of the site keys' budgets.
        Check::Site(limits) => match limits.check(client.site_key).await {
            Ok(()) => None,
            Err(retry_after) => {
                tracing::warn!(
                    key = client.site_key.map_or(0, |i| i + 1),
                    "a site key is over edge.site_key_per_minute: a busy site or a leaked key"
                );
                let mut response = limited(edge.lang, limits.burst, retry_after);
                response.extensions_mut().insert(SiteKeyLimited);
                Some(response)
            }
        },
        // The key was compared (in constant time) once, when the request's
        // `Client` was resolved: its `site_key` is the answer.
        Check::Key => client
            .site_key
            .is_none()
            .then(|| ApiError::new(ErrorCode::InvalidApiKey, edge.lang).into_response()),
    }
}

/// `429 rate_limited` with `Retry-After` and the `RateLimit-*` headers.
pub(super) fn limited(lang: Lang, burst: u32, retry_after: u64) -> Response {
    use axum::http::HeaderValue;
    let mut error = ApiError::new(ErrorCode::RateLimited, lang);
    error.retry_after_secs = Some(retry_after);
    let mut response = error.into_response();
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(burst));
    headers.insert("ratelimit-remaining", HeaderValue::from(0u32));
    headers.insert("ratelimit-reset", HeaderValue::from(retry_after));
    response
}

/// The edge's part of a listener's per-route layer
/// ([`crate::http::finish_guarded`]): the ban jail around every route and
/// the fallbacks, and inside it the limit of unknown paths.
#[derive(Clone)]
pub struct RouteChecks {
    pub(super) edge: Edge,
    pub(super) jail: Option<Arc<Jail>>,
    pub(super) unknown: Option<Arc<Limiter>>,
}

impl RouteChecks {
    /// Runs `next` for `req` unless the jail refuses its client (`403
    /// banned`) or — for a request that matched no route (`matched` false)
    /// — the limit of unknown paths does (`429`); the answer is then
    /// counted by the jail when it is one of `edge.ban_on` (a site key's
    /// aggregate limit excepted: the player it named did nothing wrong).
    pub async fn run<F, Fut>(&self, mut req: Request, matched: bool, next: F) -> Response
    where
        F: FnOnce(Request) -> Fut,
        Fut: Future<Output = Response>,
    {
        let client = self.edge.client(&mut req);
        if let Some(jail) = &self.jail
            && let Some(retry_after) = jail.remaining_ban_secs(client.ip)
        {
            jail.metrics.jail_refused.inc();
            let mut error = ApiError::new(ErrorCode::Banned, jail.lang);
            error.retry_after_secs = Some(retry_after);
            return error.into_response();
        }
        let response = match &self.unknown {
            Some(limiter) if !matched => match limiter.check(client.key.0).await {
                Ok(()) => next(req).await,
                Err(retry_after) => limited(self.edge.lang, limiter.burst, retry_after),
            },
            _ => next(req).await,
        };
        if let Some(jail) = &self.jail
            && let Some(&code) = response.extensions().get::<ErrorCode>()
            && jail.counts(code)
            && response.extensions().get::<SiteKeyLimited>().is_none()
        {
            jail.record_failure(&client, code);
        }
        response
    }
}

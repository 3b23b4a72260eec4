//! What every listener's front ([`super::front::Front`]) applies — request
//! metrics, panic containment, a deadline on reading request bodies — plus
//! a timeout backstop for routes that wait on other systems; each answers
//! in the contract's JSON shape.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use gamegate_domain::ErrorCode;

use super::{ApiError, Common};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::histogram::Histogram;

use crate::app::metrics::{HttpLabels, Metrics, Route, RouteLabels};

/// The answer to a request whose handler panicked (the front contains
/// the panic: the process and the connection go on).
pub(crate) fn panic_response() -> Response {
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

/// A request body must arrive within `http.body_read_timeout_ms` of the
/// request's head, however the route reads it: past that, the body fails
/// and the answer is [`body_timed_out`]. Returns the request with its body
/// under the deadline, and the flag set when it expired; no timer for a
/// request without a body, nor for one whose body is already in.
pub(crate) fn body_deadline(req: Request, common: &Common) -> (Request, Option<Arc<AtomicBool>>) {
    if req.body().is_end_stream() {
        return (req, None);
    }
    let expired = Arc::new(AtomicBool::new(false));
    let deadline = tokio::time::Instant::now() + common.body_read_timeout;
    let req = req.map(|body| {
        Body::new(DeadlineBody {
            body,
            deadline,
            timer: None,
            expired: expired.clone(),
        })
    });
    (req, Some(expired))
}

/// `503 request_timeout` with `Connection: close` (a stalled upload holds
/// no connection): the answer once a body's deadline has passed.
pub(crate) fn body_timed_out(common: &Common) -> Response {
    let mut response = ApiError::new(ErrorCode::RequestTimeout, common.lang).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails once its deadline has passed.
struct DeadlineBody {
    body: Body,
    deadline: tokio::time::Instant,
    /// Armed the first time the body has nothing ready.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    expired: Arc<AtomicBool>,
}

/// The error a body past its deadline ends with.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Pending => {
                let deadline = this.deadline;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                this.expired.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
            }
            ready => ready,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

pub(crate) fn method_label(method: &axum::http::Method) -> &'static str {
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

/// Counts one answered request and its duration, by route template (not
/// raw path, so label cardinality stays bounded).
///
/// The two metrics of a (route, method, status) are looked up in their
/// families once per thread and then kept ([`Handles`]): a family lookup
/// takes the family's lock and hashes the labels, twice per request.
pub(crate) fn record(
    common: &Common,
    route: Route,
    method: &'static str,
    status: u16,
    started: Instant,
) {
    let seconds = started.elapsed().as_secs_f64();
    HANDLES.with_borrow_mut(|handles| {
        let metrics = &common.metrics;
        let found = handles.iter().position(|h| {
            Arc::ptr_eq(&h.metrics, metrics)
                && h.status == status
                && std::ptr::eq(h.method, method)
                && h.route.same_as(&route)
        });
        let h = match found {
            Some(i) => &handles[i],
            None => {
                if handles.len() >= HANDLES_PER_THREAD {
                    handles.remove(0);
                }
                handles.push(Handles {
                    requests: metrics
                        .http_requests
                        .get_or_create(&HttpLabels {
                            route: route.clone(),
                            method,
                            status,
                        })
                        .clone(),
                    duration: metrics
                        .http_duration
                        .get_or_create(&RouteLabels {
                            route: route.clone(),
                        })
                        .clone(),
                    metrics: metrics.clone(),
                    route,
                    method,
                    status,
                });
                &handles[handles.len() - 1]
            }
        };
        h.requests.inc();
        h.duration.observe(seconds);
    });
}

/// The metrics of one (route, method, status), as found in their families.
/// Holds the `Metrics` (and the route's template) it was found in, so a
/// pointer compared against is never one reused by another.
struct Handles {
    metrics: Arc<Metrics>,
    route: Route,
    method: &'static str,
    status: u16,
    requests: Counter,
    duration: Histogram,
}

/// A thread answers a handful of distinct (route, method, status) at a time.
const HANDLES_PER_THREAD: usize = 32;

thread_local! {
    static HANDLES: std::cell::RefCell<Vec<Handles>> = const { std::cell::RefCell::new(Vec::new()) };
}

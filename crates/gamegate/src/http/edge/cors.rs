//! CORS of the public listener of `gamegate all`, computed once.
//!
//! The answers are those tower-http's `CorsLayer` gave with this
//! configuration (allowed origins from `edge.cors_allowed_origins`,
//! methods `GET, POST`, headers `content-type, x-api-key`, max age 600 s),
//! followed by the edge's own rule that a refused origin sees no
//! `Access-Control-*` header at all. Applied by the listener's front
//! ([`crate::http::front::Front`]), so no layer is cloned per request.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::response::Response;

/// The preflight answer's constant headers.
const ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET,POST");
const ALLOW_HEADERS: HeaderValue = HeaderValue::from_static("content-type,x-api-key");
const MAX_AGE: HeaderValue = HeaderValue::from_static("600");
/// On every answer: it depends on these request headers.
const VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// The CORS policy of one listener.
#[derive(Clone, Debug)]
pub struct Cors {
    /// `*` among the origins: every origin is allowed (`Access-Control-Allow-Origin: *`).
    any: bool,
    /// The allowed origins, exactly as a browser sends them.
    allowed: Vec<HeaderValue>,
}

impl Cors {
    /// From `edge.cors_allowed_origins`; a value that is no valid header
    /// value can match no request and is left out.
    pub fn new(origins: &[String]) -> Self {
        Self {
            any: origins.iter().any(|o| o == "*"),
            allowed: origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect(),
        }
    }

    /// Whether a request with `method` is a preflight, answered by
    /// [`Cors::preflight`] without reaching any route (every `OPTIONS`
    /// request, as tower-http treats them).
    pub fn is_preflight(method: &Method) -> bool {
        *method == Method::OPTIONS
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`,
    /// and whether the origin is refused (it then gets no CORS header).
    fn allow_origin(&self, origin: Option<&HeaderValue>) -> (Option<HeaderValue>, bool) {
        if self.any {
            return (Some(HeaderValue::from_static("*")), false);
        }
        match origin {
            Some(o) if self.allowed.contains(o) => (Some(o.clone()), false),
            Some(_) => (None, true),
            None => (None, false),
        }
    }

    /// `200` with an empty body: `Vary`, and for an allowed origin (or a
    /// request naming none) the methods, headers and max age.
    pub fn preflight(&self, origin: Option<&HeaderValue>) -> Response {
        let (allow, refused) = self.allow_origin(origin);
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(header::VARY, VARY);
        if !refused {
            if let Some(allow) = allow {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            }
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS);
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS);
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
        }
        response
    }

    /// The CORS headers of an answer to a request from `origin` (not a
    /// preflight): `Vary` appended to the route's own, the allowed origin;
    /// for a refused origin every `Access-Control-*` header removed.
    pub fn apply(&self, origin: Option<&HeaderValue>, headers: &mut HeaderMap) {
        let (allow, refused) = self.allow_origin(origin);
        headers.append(header::VARY, VARY);
        if let Some(allow) = allow {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        }
        if refused {
            let names: Vec<HeaderName> = headers
                .keys()
                .filter(|n| n.as_str().starts_with("access-control-"))
                .cloned()
                .collect();
            for n in names {
                headers.remove(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &'static str) -> Option<HeaderValue> {
        Some(HeaderValue::from_static(s))
    }

    #[test]
    fn an_allowed_origin_gets_the_preflight_answer_and_a_refused_one_nothing() {
        let cors = Cors::new(&["https://game.example".into()]);
        let ok = cors.preflight(origin("https://game.example").as_ref());
        let h = ok.headers();
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://game.example"
        );
        assert_eq!(h[header::ACCESS_CONTROL_ALLOW_METHODS], "GET,POST");
        assert_eq!(
            h[header::ACCESS_CONTROL_ALLOW_HEADERS],
            "content-type,x-api-key"
        );
        assert_eq!(h[header::ACCESS_CONTROL_MAX_AGE], "600");
        let refused = cors.preflight(origin("https://evil.example").as_ref());
        assert!(
            refused
                .headers()
                .keys()
                .all(|n| !n.as_str().starts_with("access-control-")),
            "{:?}",
            refused.headers()
        );
        assert_eq!(refused.headers()[header::VARY], VARY);

        let mut headers = HeaderMap::new();
        headers.insert(header::VARY, HeaderValue::from_static("accept"));
        cors.apply(origin("https://game.example").as_ref(), &mut headers);
        assert_eq!(headers.get_all(header::VARY).iter().count(), 2);
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "https://game.example"
        );
        let mut headers = HeaderMap::new();
        cors.apply(origin("https://evil.example").as_ref(), &mut headers);
        assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
        let mut headers = HeaderMap::new();
        Cors::new(&["*".into()]).apply(None, &mut headers);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }
}

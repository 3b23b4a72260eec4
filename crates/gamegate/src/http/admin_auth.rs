//! Operator authentication (`admin.tokens`, docs/CONFIGURATION.md#admin):
//! the operator routes — the dashboard and its files, the accounts reports,
//! `/ml/anomalies`, `/stats/ratings/histogram` and `/metrics` — want one of
//! the configured tokens, as `Authorization: Bearer <token>` (Prometheus,
//! curl) or as the password of HTTP Basic with any user name (a browser,
//! which asks for it after the `WWW-Authenticate` challenge and then resends
//! it with the dashboard's own requests). Tokens are compared in constant
//! time. With no token configured the routes are open, as before: the
//! admin listener is then expected on loopback (`gamegate doctor` checks).
//! The routes that change something (`PUT /admin/constants/{name}`) are the
//! exception: they want a token always, and with none configured they refuse
//! every request ([`AdminAuth::require`]).
//!
//! Never guarded: `/internal/health` (health checks), the public statistics
//! and `POST /stats/battles`, which has its own ingest token.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use gamegate_domain::{ErrorCode, Lang};

use super::ApiError;
use crate::http::edge::ApiKeys;

/// The challenge of a refused request: browsers show their login dialog.
pub const CHALLENGE: &str = "Basic realm=\"gamegate admin\", charset=\"UTF-8\"";

/// The longest `Authorization` value looked at; a longer one is refused
/// without being decoded (a token of `admin.tokens` is far shorter).
const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// The operator check of one process (`admin.tokens`; none configured: the
/// check accepts no token).
#[derive(Clone)]
pub struct AdminAuth {
    guard: Arc<Guard>,
}

struct Guard {
    /// Empty when `admin.tokens` is: then no token is accepted.
    tokens: ApiKeys,
    lang: Lang,
    /// `admin.tokens` is not empty.
    on: bool,
}

impl AdminAuth {
    /// The check for these tokens (`admin.tokens`); none: [`AdminAuth::protect`]
    /// lets every request pass and [`AdminAuth::require`] none.
    pub fn new(tokens: &[String], lang: Lang) -> Self {
        Self {
            guard: Arc::new(Guard {
                tokens: ApiKeys::new(tokens.to_vec()),
                lang,
                on: !tokens.is_empty(),
            }),
        }
    }

    /// Whether a token is configured (and so required by [`AdminAuth::protect`]).
    pub fn is_on(&self) -> bool {
        self.guard.on
    }

    /// Requires a token on every route of `routes` (unknown paths stay
    /// `404 not_found`); unchanged when no token is configured.
    pub fn protect<S: Clone + Send + Sync + 'static>(&self, routes: Router<S>) -> Router<S> {
        match self.guard.on {
            true => self.require(routes),
            false => routes,
        }
    }

    /// Requires a token on every route of `routes` even when none is
    /// configured (then every request is refused `401 unauthorized`): for the
    /// routes that change what the game shows.
    pub fn require<S: Clone + Send + Sync + 'static>(&self, routes: Router<S>) -> Router<S> {
        routes.route_layer(middleware::from_fn_with_state(self.guard.clone(), check))
    }
}

async fn check(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let accepted = presented(req.headers().get(header::AUTHORIZATION))
        .is_some_and(|token| guard.tokens.accepts(&token));
    if accepted {
        return next.run(req).await;
    }
    let mut response = ApiError::new(ErrorCode::Unauthorized, guard.lang).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(CHALLENGE),
    );
    response
}

/// The token an `Authorization` value presents: the credentials of
/// `Bearer`, or the password of `Basic` (RFC 7617: base64 of
/// `user:password`, split at the first colon). Schemes match
/// case-insensitively; anything else presents none.
fn presented(value: Option<&HeaderValue>) -> Option<Vec<u8>> {
    let value = value?.as_bytes();
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return None;
    }
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, rest) = (&value[..space], value[space + 1..].trim_ascii());
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Some(rest.to_vec());
    }
    if scheme.eq_ignore_ascii_case(b"basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(value: &str) -> Option<String> {
        presented(Some(&HeaderValue::from_str(value).unwrap()))
            .map(|t| String::from_utf8(t).unwrap())
    }

    fn basic(user_password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(user_password)
        )
    }

    #[test]
    fn bearer_and_basic_present_their_token_and_other_values_none() {
        assert_eq!(token("Bearer abc-123").as_deref(), Some("abc-123"));
        assert_eq!(token("bearer abc-123").as_deref(), Some("abc-123"));
        assert_eq!(
            token(&basic("operator:s3cret:with:colons")).as_deref(),
            Some("s3cret:with:colons")
        );
        assert_eq!(
            token(&basic(":only-a-password")).as_deref(),
            Some("only-a-password")
        );
        assert_eq!(token(&basic("no-colon-at-all")), None);
        assert_eq!(token("Basic !!!not-base64!!!"), None);
        assert_eq!(token("Digest username=\"x\""), None);
        assert_eq!(token("Bearer"), None, "no credentials");
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES));
        assert_eq!(token(&long), None);
        assert_eq!(presented(None), None);
    }
}

//! The example registration page of `gamegate all` (`http.demo_site`,
//! docs/SITE.md): a form at `/`, its script and style, and the server-side
//! forwarder `POST /demo/register` that adds the API key — the pattern every
//! real site must follow, so the key never reaches a browser.
//!
//! The forwarder calls this process's own public listener over loopback HTTP
//! rather than the registration code directly: that way a demo registration
//! passes the very edge a site's request passes — the ban jail, the register
//! rate limit, the key check, the access log and the metrics — and cannot
//! become a key-less way around them. Like a real site it names the browser's
//! address in `X-Player-IP`, so each browser has its own limits and jail
//! record, and loopback (the forwarder's own address) is never the one judged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router, extract::FromRef};
use gamegate_domain::ErrorCode;
use gamegate_domain::idempotency::IDEMPOTENCY_KEY_HEADER;

use super::extract::JsonObject;
use super::{ApiError, Common};
use crate::http::edge::{API_KEY_HEADER, Client, PLAYER_IP_HEADER};

const PAGE_TEMPLATE: &str = include_str!("demo/index.html");
const SCRIPT: &str = include_str!("demo/app.js");
const STYLE: &str = include_str!("demo/style.css");

/// Only files from this origin, and no inline script or style: the page has
/// none, and a script injected through a message could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; \
     base-uri 'none'; frame-ancestors 'none'";

/// The most of the upstream answer the forwarder reads: error bodies are a
/// few hundred bytes, even with every field failing.
const MAX_UPSTREAM_BODY: usize = 64 * 1024;

/// Where the forwarder sends registrations, and with which key.
pub struct Forwarder {
    register_url: String,
    /// `None` when `edge.keys_checked_upstream` (no key is checked here).
    /// Never logged: the type has no `Debug`.
    api_key: Option<HeaderValue>,
    client: reqwest::Client,
}

impl Forwarder {
    /// A forwarder to the public listener bound at `public`. An unspecified
    /// bind address (`0.0.0.0`, `::`) is reached over loopback.
    pub fn new(
        public: SocketAddr,
        api_key: Option<&str>,
        request_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let ip = match public.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let mut api_key = api_key
            .map(HeaderValue::from_str)
            .transpose()
            .map_err(|_| anyhow::anyhow!("the API key is not a valid header value"))?;
        if let Some(key) = &mut api_key {
            key.set_sensitive(true);
        }
        Ok(Self {
            register_url: format!("http://{}/api/register", SocketAddr::new(ip, public.port())),
            api_key,
            client: reqwest::Client::builder()
                // The upstream answers 503 request_timeout by itself at
                // `request_timeout`; this only catches a listener that hangs.
                .timeout(request_timeout + Duration::from_secs(2))
                .connect_timeout(Duration::from_secs(2))
                // Only loopback: no proxy from the environment may see the key.
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }
}

#[derive(Clone)]
struct DemoState {
    common: Common,
    forwarder: Arc<Forwarder>,
    page: Arc<str>,
}

impl FromRef<DemoState> for Common {
    fn from_ref(state: &DemoState) -> Common {
        state.common.clone()
    }
}

/// Text safe inside a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The page with the form hints of the configured rules filled in, so the
/// browser checks what the server checks.
pub fn render_page(common: &Common) -> String {
    let rules = &common.rules;
    PAGE_TEMPLATE
        .replace("{{LANG}}", common.lang.as_str())
        .replace("{{LOGIN_MIN}}", &rules.login_min_chars.to_string())
        .replace("{{LOGIN_MAX}}", &rules.login_max_chars.to_string())
        .replace(
            "{{LOGIN_PATTERN}}",
            &attribute(&format!("[{}]+", rules.login_charset())),
        )
        .replace("{{LOGIN_CHARSET}}", &attribute(rules.login_charset()))
        .replace("{{PASSWORD_MIN}}", &rules.password_min_chars.to_string())
        .replace("{{PASSWORD_MAX}}", &rules.password_max_chars.to_string())
}

/// `/`, `/demo/app.js`, `/demo/style.css` and `POST /demo/register`.
pub fn demo_routes(common: Common, forwarder: Forwarder) -> Router {
    let page: Arc<str> = render_page(&common).into();
    Router::new()
        .route("/", get(page_handler))
        .route("/demo/app.js", get(script))
        .route("/demo/style.css", get(style))
        .route("/demo/register", post(forward))
        .with_state(DemoState {
            common,
            forwarder: Arc::new(forwarder),
            page,
        })
}

fn static_file(content_type: &'static str, body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn page_handler(State(state): State<DemoState>) -> Response {
    static_file(
        "text/html; charset=utf-8",
        Bytes::copy_from_slice(state.page.as_bytes()),
    )
}

async fn script() -> Response {
    static_file(
        "text/javascript; charset=utf-8",
        Bytes::from_static(SCRIPT.as_bytes()),
    )
}

async fn style() -> Response {
    static_file(
        "text/css; charset=utf-8",
        Bytes::from_static(STYLE.as_bytes()),
    )
}

/// Reads at most `limit` bytes of an answer; `None` if it is longer.
async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > limit {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// `POST /demo/register`: the browser's JSON object (read within
/// `http.body_limit_bytes` by the same extractor as `/api/register`, so bad
/// input gets the same JSON errors) goes to `/api/register` with the key,
/// byte for byte (re-serialising would round numbers and merge repeated
/// keys), the browser's address (as the edge resolved it) in
/// `X-Player-IP`, and the page's `Idempotency-Key` (one per attempt) as it
/// came; the answer comes back unchanged, with its `Retry-After`.
async fn forward(
    State(state): State<DemoState>,
    client: Option<Extension<Client>>,
    headers: axum::http::HeaderMap,
    JsonObject { bytes: body, .. }: JsonObject,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let forwarder = &state.forwarder;
    let mut request = forwarder
        .client
        .post(&forwarder.register_url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    // Every value, unchanged: /api/register judges them (a repeated key is 400).
    for key in headers.get_all(IDEMPOTENCY_KEY_HEADER) {
        request = request.header(IDEMPOTENCY_KEY_HEADER, key.as_bytes());
    }
    if let Some(key) = &forwarder.api_key {
        request = request.header(HeaderName::from_static(API_KEY_HEADER), key.clone());
        if let Some(Extension(client)) = client {
            // An address's text is always a valid header value.
            if let Ok(ip) = HeaderValue::from_str(&client.ip.to_string()) {
                request = request.header(HeaderName::from_static(PLAYER_IP_HEADER), ip);
            }
        }
    }
    let response = request.send().await.map_err(|e| {
        let code = if e.is_timeout() {
            ErrorCode::RequestTimeout
        } else {
            ErrorCode::InternalError
        };
        // reqwest's message names the URL (our own address), never a header.
        ApiError::new(code, lang)
            .with_cause(anyhow::Error::new(e).context("demo page: forwarding to /api/register"))
    })?;
    let status = StatusCode::from_u16(response.status().as_u16())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let Some(answer) = read_bounded(response, MAX_UPSTREAM_BODY).await else {
        return Err(
            ApiError::new(ErrorCode::InternalError, lang).with_cause(anyhow::anyhow!(
                "demo page: the answer of /api/register was unreadable or too long"
            )),
        );
    };
    let mut response =
        (status, [(header::CONTENT_TYPE, "application/json")], answer).into_response();
    if let Some(retry_after) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry_after);
    }
    Ok(response)
}

//! The HTTP connector (`game_server.kind = "http"`): gamegate calls the
//! operator's receiver with signed JSON `POST`s (docs/GAME_SERVER.md, "HTTP
//! connector"), and maps every answer and every transport failure onto
//! [`CallError::Unavailable`] (certainly not done) or
//! [`CallError::Ambiguous`] (sent, answer lost) — [`judge`] is the table.
//!
//! - [`signature`]: `X-Gamegate-Signature: t=…,v1=HMAC-SHA-256(secret, "t.op.body")`.
//! - [`wire`]: endpoints, bodies, error codes.
//! - [`mock`]: an in-memory receiver with faults, for tests and benchmarks.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};
use url::Url;

mod judge;
pub mod mock;
pub mod signature;
pub mod wire;

use crate::capabilities::{Capabilities, GameAccountRules, Operations};
use crate::client::{CallError, Failure, FailureKind, GameServer, RegisterError, ServerCode};
pub use judge::{Judged, judge};
pub use mock::{HttpBehaviour, HttpMockHandle, HttpMockServer};
use wire::{
    DeletedAnswer, Endpoint, ExistsAnswer, IDEMPOTENCY_HEADER, MAX_BODY_BYTES, OnlineAnswer,
    PingAnswer, Registered, RequestBody, UpdatedAnswer,
};

/// The connector's name in configuration and in [`Capabilities::connector`].
pub const CONNECTOR: &str = "http";

/// How long an idle pooled connection is kept: below the keep-alive
/// timeouts of common servers (nginx 75 s, Apache 5–15 s are shorter only
/// when tuned), so the pool rarely reuses a connection the server is closing.
const POOL_IDLE: Duration = Duration::from_secs(20);

/// Configuration of [`HttpGameServer`]. `Debug` shows no secret.
#[derive(Clone, Debug)]
pub struct HttpGameServerConfig {
    /// The receiver's base URL (`https://game.example/gamegate`); endpoints
    /// are `{url}/register`, `{url}/exists`, …
    pub url: String,
    /// The shared secret of the request signature.
    pub signing_secret: SecretString,
    /// Calls in flight at most, and idle connections kept (0 is treated as 1).
    pub pool_size: usize,
    /// Bound on establishing a connection (DNS, TCP and TLS).
    pub connect_timeout: Duration,
    /// Bound on one whole call: waiting for a slot, connecting, sending,
    /// reading the answer, and the one retry.
    pub call_timeout: Duration,
    /// The game's account rules, as the operator declares them.
    pub rules: GameAccountRules,
    /// PEM certificates of CAs trusted besides the built-in Mozilla roots,
    /// for an `https://` receiver with a certificate of a private CA.
    pub ca_pem: Option<Vec<u8>>,
}

/// Why [`HttpGameServer::new`] cannot build a connector.
#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    /// The base URL is not usable ([`parse_base_url`] says why).
    #[error("{0}")]
    Url(String),
    /// The HTTP client could not be built (the TLS backend failed to start).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// [`HttpGameServerConfig::ca_pem`] holds no PEM certificate.
    #[error("no PEM certificate in the CA file: {0}")]
    Ca(String),
}

/// Parses a receiver's base URL: `http://` or `https://`, a host, no user
/// name or password (the signature is the credential, and a URL is printed),
/// no query and no fragment (endpoints are appended to the path).
pub fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{text:?} must start with https:// (or http://)"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{text:?} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL must not carry a user name or password: the request signature \
             authenticates gamegate"
                .to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{} must have no query (?…) or fragment (#…): endpoints are appended to its path",
            url.origin().ascii_serialization()
        ));
    }
    Ok(url)
}

/// [`GameServer`] over the HTTP API: a bounded pool of HTTP/1.1 keep-alive
/// connections (reqwest with rustls), every request signed, every call
/// bounded. Connects lazily.
pub struct HttpGameServer {
    http: reqwest::Client,
    /// The base URL without a trailing `/`.
    base: String,
    secret: SecretString,
    /// One permit per call in flight: at most `pool_size` connections.
    slots: Arc<Semaphore>,
    pool_size: usize,
    call_timeout: Duration,
    capabilities: Capabilities,
}

impl fmt::Debug for HttpGameServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpGameServer")
            .field("url", &self.base)
            .field("pool_size", &self.pool_size)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

/// A call's failure before its answer is judged, and whether one retry of it
/// is worth trying (the connection broke mid-exchange, time remains).
struct Attempt {
    error: CallError,
    retry: bool,
}

impl HttpGameServer {
    /// Builds the connector. Performs no I/O.
    ///
    /// # Errors
    /// The URL is not usable, or the TLS backend cannot start.
    pub fn new(config: HttpGameServerConfig) -> Result<Self, HttpSetupError> {
        let url = parse_base_url(&config.url).map_err(HttpSetupError::Url)?;
        let pool_size = config.pool_size.max(1);
        let mut builder = reqwest::Client::builder();
        if let Some(pem) = &config.ca_pem {
            let roots = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| HttpSetupError::Ca(e.to_string()))?;
            if roots.is_empty() {
                return Err(HttpSetupError::Ca("the file is empty".into()));
            }
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            .connect_timeout(config.connect_timeout.min(config.call_timeout))
            .pool_max_idle_per_host(pool_size)
            .pool_idle_timeout(POOL_IDLE)
            // A redirect would resend a signed request (and a password)
            // somewhere else; a 3xx is judged like any unexpected answer.
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .user_agent(concat!("gamegate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpSetupError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base: url.as_str().trim_end_matches('/').to_owned(),
            secret: config.signing_secret,
            slots: Arc::new(Semaphore::new(pool_size)),
            pool_size,
            call_timeout: config.call_timeout,
            capabilities: Capabilities {
                connector: CONNECTOR,
                operations: Operations::ALL,
                rules: config.rules,
            },
        })
    }

    /// The base URL requests go to (without a trailing `/`).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// One call: a slot, then up to two signed attempts within the call's
    /// deadline, the second only after a connection broke mid-exchange. The
    /// answer is judged by [`judge`]; `Ok` carries a 200's body.
    async fn call(
        &self,
        endpoint: Endpoint,
        fields: RequestBody,
        idempotency_key: Option<&str>,
    ) -> Result<Vec<u8>, RegisterError> {
        let op = endpoint.name();
        let deadline = Instant::now() + self.call_timeout;
        // A slot freed at the deadline itself leaves no time to send: the
        // call waited in vain, and nothing was sent.
        let permit = timeout_at(deadline, self.slots.acquire()).await;
        let Some(_permit) = permit
            .ok()
            .and_then(Result::ok)
            .filter(|_| Instant::now() < deadline)
        else {
            return Err(unavailable(
                FailureKind::Timeout,
                format!("{op}: no free connection within {:?}", self.call_timeout),
            )
            .into());
        };
        let mut retried = false;
        loop {
            // After a first attempt whose answer was lost, only an answer
            // that settles the registration counts: a definite failure of
            // the retry (refused, 500 internal, …) says nothing about the
            // first attempt, which may have run.
            let settle = |error: CallError| match error {
                CallError::Unavailable(f) if retried => CallError::Ambiguous(Failure::new(
                    f.kind,
                    format!("{f} (on the retry; the first attempt's answer was lost)"),
                )),
                other => other,
            };
            let attempt = timeout_at(deadline, self.attempt(endpoint, &fields, idempotency_key));
            let failure = match attempt.await {
                Err(_) => Attempt {
                    error: ambiguous(
                        FailureKind::Timeout,
                        format!("{op}: no answer within {:?}", self.call_timeout),
                    ),
                    retry: false,
                },
                Ok(Err(failure)) => failure,
                Ok(Ok((status, body))) => {
                    return match judge(endpoint, status, body.as_deref(), retried) {
                        Judged::Success => Ok(body.unwrap_or_default()),
                        Judged::LoginTaken => Err(RegisterError::LoginTaken),
                        Judged::Failed(error) => Err(settle(error).into()),
                    };
                }
            };
            if !failure.retry || retried || Instant::now() >= deadline {
                return Err(settle(failure.error).into());
            }
            tracing::debug!(op, reason = %failure.error, "retrying once with the same idempotency key");
            retried = true;
        }
    }

    /// Sends one signed request and reads the answer: the status, and the
    /// body when it could be read whole (at most [`MAX_BODY_BYTES`]).
    async fn attempt(
        &self,
        endpoint: Endpoint,
        fields: &RequestBody,
        idempotency_key: Option<&str>,
    ) -> Result<(u16, Option<Vec<u8>>), Attempt> {
        let op = endpoint.name();
        let body = serde_json::to_vec(&RequestBody {
            request_id: random_hex(),
            ..fields.clone()
        })
        .expect("a struct of strings and numbers serialises");
        let signature = signature::header_value(
            self.secret.expose_secret().as_bytes(),
            signature::clock_secs(),
            op,
            &body,
        );
        let mut request = self
            .http
            .post(format!("{}/{op}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(signature::SIGNATURE_HEADER, signature)
            .body(body);
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_HEADER, key);
        }
        let mut response = request.send().await.map_err(|e| self.send_failed(op, e))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() <= MAX_BODY_BYTES => {
                    body.extend_from_slice(&chunk);
                }
                Ok(Some(_)) => return Ok((status, None)),
                Ok(None) => return Ok((status, Some(body))),
                // The status came, the body broke off: a 4xx is still the
                // receiver's refusal; anything else may be retried.
                Err(_) if (400..500).contains(&status) => return Ok((status, None)),
                Err(e) => {
                    return Err(Attempt {
                        error: ambiguous(
                            FailureKind::Connection,
                            format!(
                                "{op}: HTTP {status}, then the body broke off: {}",
                                describe(e)
                            ),
                        ),
                        retry: true,
                    });
                }
            }
        }
    }

    /// A failure of `send`: no connection (certainly not sent) or a broken
    /// exchange (maybe executed; one retry).
    fn send_failed(&self, op: &str, error: reqwest::Error) -> Attempt {
        let at = &self.base;
        if error.is_connect() {
            let kind = if error.is_timeout() {
                FailureKind::Timeout
            } else {
                FailureKind::Connection
            };
            return Attempt {
                error: unavailable(
                    kind,
                    format!("{op}: cannot connect to {at}: {}", describe(error)),
                ),
                retry: false,
            };
        }
        Attempt {
            error: ambiguous(
                FailureKind::Connection,
                format!(
                    "{op}: the exchange with {at} broke off: {}",
                    describe(error)
                ),
            ),
            retry: true,
        }
    }

    async fn parsed<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        fields: RequestBody,
        idempotency_key: Option<&str>,
    ) -> Result<T, RegisterError> {
        let body = self.call(endpoint, fields, idempotency_key).await?;
        serde_json::from_slice(&body).map_err(|e| {
            ambiguous(
                FailureKind::Protocol,
                format!(
                    "{}: a 200 without the documented body: {}",
                    endpoint.name(),
                    format!("{:?} error", e.classify()).to_lowercase()
                ),
            )
            .into()
        })
    }

    async fn op<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        fields: RequestBody,
    ) -> Result<T, CallError> {
        self.parsed(endpoint, fields, None)
            .await
            .map_err(|e| match e {
                RegisterError::Call(e) => e,
                // Only `register` reads `login_taken`; on another endpoint
                // it is a 409 like any other (judged definite).
                RegisterError::LoginTaken => unavailable(
                    FailureKind::Server(ServerCode::Unknown),
                    format!("{}: HTTP 409 login_taken", endpoint.name()),
                ),
            })
    }
}

fn login_only(login: &str) -> RequestBody {
    RequestBody {
        login: Some(login.to_owned()),
        ..RequestBody::default()
    }
}

#[async_trait::async_trait]
impl GameServer for HttpGameServer {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn register(
        &self,
        login: &str,
        password: &str,
        gender: u8,
    ) -> Result<u64, RegisterError> {
        // One key per registration attempt, reused by its retry: the
        // receiver answers a repeated key with the first answer.
        let key = random_hex();
        let fields = RequestBody {
            login: Some(login.to_owned()),
            password: Some(password.to_owned()),
            gender: Some(gender),
            ..RequestBody::default()
        };
        let answer: Registered = self.parsed(Endpoint::Register, fields, Some(&key)).await?;
        Ok(answer.account_id)
    }

    async fn exists(&self, login: &str) -> Result<bool, CallError> {
        let answer: ExistsAnswer = self.op(Endpoint::Exists, login_only(login)).await?;
        Ok(answer.exists)
    }

    async fn delete(&self, login: &str) -> Result<(), CallError> {
        let _: DeletedAnswer = self.op(Endpoint::Delete, login_only(login)).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<(), CallError> {
        let answer: PingAnswer = self.op(Endpoint::Ping, RequestBody::default()).await?;
        if answer.ok {
            Ok(())
        } else {
            Err(unavailable(
                FailureKind::Protocol,
                "ping: the receiver answered ok:false",
            ))
        }
    }

    async fn online(&self) -> Result<u64, CallError> {
        let answer: OnlineAnswer = self.op(Endpoint::Online, RequestBody::default()).await?;
        Ok(answer.online)
    }

    async fn set_password(&self, login: &str, password: &str) -> Result<(), CallError> {
        let fields = RequestBody {
            password: Some(password.to_owned()),
            ..login_only(login)
        };
        let _: UpdatedAnswer = self.op(Endpoint::SetPassword, fields).await?;
        Ok(())
    }
}

/// A transport error's causes without its URL.
fn describe(error: reqwest::Error) -> String {
    let mut text = String::new();
    let error = error.without_url();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

/// 128 random bits as 32 hex digits: request ids and idempotency keys.
fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

fn unavailable(kind: FailureKind, detail: impl Into<String>) -> CallError {
    CallError::Unavailable(Failure::new(kind, detail))
}

fn ambiguous(kind: FailureKind, detail: impl Into<String>) -> CallError {
    CallError::Ambiguous(Failure::new(kind, detail))
}

#[cfg(test)]
mod tests;

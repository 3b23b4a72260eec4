//! Serving a router on a listener: plain HTTP or TLS (rustls), connection
//! caps per client address and in total, idle connections closed, slow-client
//! protection, requests the HTTP library refuses made visible, graceful
//! shutdown, and certificate reloads without dropping connections.
//!
//! The accept loop is our own, on hyper-util's HTTP/1 + HTTP/2 connection
//! (the one axum-server drives), so each accepted socket can be checked
//! against the caps ([`Gate`]) before anything is read from it, and each
//! connection's idleness is known: hyper closes neither an HTTP/2
//! connection that has no stream nor an idle keep-alive one by itself.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use axum_server::accept::{Accept, DefaultAcceptor};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use bytes::{Buf, Bytes};
use gamegate_domain::{ErrorCode, Lang};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use ipnet::IpNet;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod refused;

use refused::*;

pub use crate::http::tls::{CertificateFiles, HSTS, redirect_to_https};

use super::ApiError;
use super::access_log::AccessLog;
pub use super::connections::Gate;
use super::connections::{Admitted, Refusal};
use super::front::Front;
use crate::app::metrics::{MalformedLabels, Metrics};
use crate::http::edge::jail::Jail;

/// The most a request's head (request line and headers) may take; more is
/// answered `431`. nginx allows 32 KiB (`large_client_header_buffers`);
/// hyper's default (~400 KiB) would let each slow connection pin that much.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// After `accept` fails for want of descriptors, the loop waits this long
/// (the pending connection stays queued; retrying at once would spin).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// How connections are treated, the same on every listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request's headers (and a new connection's first request, and a TLS
    /// handshake) must arrive within this; a trickling client is disconnected.
    pub header_read_timeout: Duration,
    /// A connection with no request in progress (HTTP/1) or no open stream
    /// (HTTP/2) is closed after this.
    pub idle_timeout: Duration,
    /// A connection with requests in progress where none has started or
    /// ended for this long is stuck (a client that reads no response, an
    /// HTTP/2 stream it never opens its window for) and is closed like an
    /// idle one. Well past every request's own timeouts.
    pub stuck_timeout: Duration,
    /// On shutdown, how long in-flight requests may still run.
    pub drain: Duration,
    /// On shutdown, how long the listener still accepts and serves new
    /// connections before it closes (`http.shutdown_delay_ms`): a load
    /// balancer that has not yet taken this replica out still gets answers
    /// instead of connections reset in the listen backlog.
    pub shutdown_delay: Duration,
    /// HTTP/2 with prior knowledge on a listener without TLS.
    pub http2_cleartext: bool,
}

/// One listener's place in the process: its role (the metrics' `listener`
/// label), its connection budget, and where refused requests are reported.
#[derive(Clone)]
pub struct Listening {
    pub role: &'static str,
    pub gate: Arc<Gate>,
    pub refusals: RefusalReport,
}

/// Where a request the HTTP library refused is reported: a metric, an
/// access-log line, and a jail failure when `bad_request` is in
/// `edge.ban_on` (never for a trusted proxy: the client behind it is not
/// known for a request that did not parse).
#[derive(Clone)]
pub struct RefusalReport {
    pub lang: Lang,
    pub metrics: Arc<Metrics>,
    pub access_log: Option<AccessLog>,
    pub jail: Option<Arc<Jail>>,
    pub trusted: Arc<Vec<IpNet>>,
}

/// What every connection task of a listener shares.
struct Shared {
    builder: auto::Builder<TokioExecutor>,
    front: Front,
    limits: ConnectionLimits,
    listening: Listening,
    tls: Option<RustlsAcceptor<DefaultAcceptor>>,
    /// The JSON body answering a refused request.
    refused_body: Bytes,
    shutdown: CancellationToken,
}

/// Serves `front` until `shutdown` is cancelled; with `tls`, over TLS.
pub async fn serve(
    socket: TcpListener,
    front: Front,
    tls: Option<RustlsConfig>,
    limits: ConnectionLimits,
    listening: Listening,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    builder.http2().timer(TokioTimer::new());
    if tls.is_none() && !limits.http2_cleartext {
        builder = builder.http1_only();
    }
    let shared = Arc::new(Shared {
        builder,
        front,
        limits,
        refused_body: ApiError::new(ErrorCode::BadRequest, listening.refusals.lang)
            .body()
            .into(),
        listening,
        tls: tls.map(|config| {
            RustlsAcceptor::new(config).handshake_timeout(limits.header_read_timeout)
        }),
        // The connections' own signal, given once the listener has closed.
        shutdown: CancellationToken::new(),
    });
    let connections = TaskTracker::new();
    // After the shutdown signal: accepting until then, `shutdown_delay` on.
    let mut stop_at: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled(), if stop_at.is_none() => {
                if limits.shutdown_delay.is_zero() {
                    break;
                }
                stop_at = Some(Instant::now() + limits.shutdown_delay);
                continue;
            }
            _ = async {
                match stop_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            } => break,
            accepted = socket.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) if out_of_descriptors(&e) => {
                let l = &shared.listening;
                l.gate.refused(l.role, Refusal::Descriptors);
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
            // The peer gave up before its connection was accepted, and the like.
            Err(e) => {
                tracing::debug!(error = %e, "accept failed");
                continue;
            }
        };
        let l = &shared.listening;
        let Some(admitted) = l.gate.admit(l.role, peer.ip()) else {
            continue; // dropped: closed at once
        };
        connections.spawn(connection(shared.clone(), stream, peer, admitted));
    }
    drop(socket);
    // Now every connection is told: idle ones close at once, busy ones
    // within `drain` (then they are dropped).
    shared.shutdown.cancel();
    connections.close();
    let _ = tokio::time::timeout(limits.drain + Duration::from_secs(1), connections.wait()).await;
    Ok(())
}

/// `accept` failed for want of descriptors or buffers (EMFILE, ENFILE,
/// ENOBUFS, ENOMEM): the connection stays queued and would fail again at once.
#[cfg(unix)]
fn out_of_descriptors(e: &std::io::Error) -> bool {
    use rustix::io::Errno;
    Errno::from_io_error(e)
        .is_some_and(|n| [Errno::MFILE, Errno::NFILE, Errno::NOBUFS, Errno::NOMEM].contains(&n))
}

#[cfg(not(unix))]
fn out_of_descriptors(_: &std::io::Error) -> bool {
    false
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr, admitted: Admitted) {
    let _ = stream.set_nodelay(true);
    match &shared.tls {
        None => drive(&shared, stream, peer).await,
        Some(acceptor) => {
            let handshake = tokio::select! {
                _ = shared.shutdown.cancelled() => return,
                handshake = acceptor.accept(stream, ()) => handshake,
            };
            // A failed or timed-out handshake just closes the connection.
            if let Ok((tls, _)) = handshake {
                drive(&shared, tls, peer).await;
            }
        }
    }
    drop(admitted);
}

/// Runs one connection until it ends, is idle for too long, or the
/// listener shuts down; then reports a request hyper refused, if any.
async fn drive<IO>(shared: &Shared, io: IO, peer: SocketAddr)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = shared.limits;
    let activity = Arc::new(Activity::new());
    let refused = Arc::new(AtomicU16::new(0));
    let io = Watched {
        io,
        pending: None,
        refused: refused.clone(),
        body: shared.refused_body.clone(),
    };
    let service = ConnectionService {
        front: shared.front.clone(),
        peer,
        activity: activity.clone(),
    };
    let conn = shared.builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    // Set once the connection is told to close: by then it must be gone.
    let mut closing_until: Option<Instant> = None;
    // Requests starting and ending do not wake this task (a wake-up and a
    // timer re-armed twice per request cost the status route ~10%): the
    // timer is armed at most `granularity` ahead and the deadline computed
    // again when it fires. A request's start or end only ever moves the
    // deadline to at least `granularity` after the moment it happens
    // (`stuck_timeout` after a start, `idle_timeout` after an end), so the
    // connection is never closed late.
    let granularity = limits.idle_timeout.min(limits.stuck_timeout);
    let timer = tokio::time::sleep_until(Instant::now() + granularity);
    let mut timer = std::pin::pin!(timer);
    loop {
        let wake = match closing_until {
            Some(deadline) => deadline,
            None => match activity.idle_deadline(&limits) {
                Ok(deadline) => deadline.min(Instant::now() + granularity),
                Err(Expired::Idle) => {
                    tracing::debug!(client_ip = %peer.ip(), "idle connection closed");
                    conn.as_mut().graceful_shutdown();
                    closing_until = Some(Instant::now() + limits.drain);
                    continue;
                }
                Err(Expired::Stuck) => {
                    // Nothing in progress would finish: dropped at once.
                    tracing::debug!(client_ip = %peer.ip(), "stuck connection closed");
                    break;
                }
            },
        };
        timer.as_mut().reset(wake);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(client_ip = %peer.ip(), error = %e, "connection ended with an error");
                }
                break;
            }
            _ = timer.as_mut() => {
                if closing_until.is_some() {
                    break; // drain over: dropped
                }
            }
            _ = shared.shutdown.cancelled(), if closing_until.is_none() => {
                conn.as_mut().graceful_shutdown();
                closing_until = Some(Instant::now() + limits.drain);
            }
        }
    }
    let status = refused.load(Ordering::Relaxed);
    if status != 0 {
        report_refused(shared, peer, status, activity.started.elapsed());
    }
}

fn report_refused(shared: &Shared, peer: SocketAddr, status: u16, age: Duration) {
    let Listening { role, refusals, .. } = &shared.listening;
    let client = peer.ip().to_canonical();
    tracing::debug!(client_ip = %client, status, "malformed request refused");
    refusals
        .metrics
        .malformed_requests
        .get_or_create(&MalformedLabels {
            listener: role,
            status,
        })
        .inc();
    if let Some(log) = &refusals.access_log {
        log.log_unparsed(
            client,
            status,
            shared.refused_body.len() as u64,
            age.as_secs_f64(),
        );
    }
    if let Some(jail) = &refusals.jail
        && jail.counts(ErrorCode::BadRequest)
        && !refusals.trusted.iter().any(|net| net.contains(&client))
    {
        jail.record_failure_of_address(client, ErrorCode::BadRequest);
    }
}

/// Requests in progress on a connection and when the last one ended.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    /// Milliseconds from `started` to the end of the last request.
    last_done_ms: AtomicU64,
    /// Milliseconds from `started` to the last start or end of a request.
    last_change_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            last_done_ms: AtomicU64::new(0),
            last_change_ms: AtomicU64::new(0),
        }
    }

    /// Milliseconds since `started`, as the stamps are kept.
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// When to look again, or why the connection is to be closed: with no
    /// request yet, idle after `header_read_timeout` from the start;
    /// afterwards after `idle_timeout` from the end of the last request;
    /// with requests in progress, stuck after `stuck_timeout` from the last
    /// start or end of one.
    fn idle_deadline(&self, limits: &ConnectionLimits) -> Result<Instant, Expired> {
        let now = Instant::now();
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            let since = Duration::from_millis(self.last_change_ms.load(Ordering::SeqCst));
            let due = self.started + since + limits.stuck_timeout;
            return if due > now {
                Ok(due)
            } else {
                Err(Expired::Stuck)
            };
        }
        let timeout = match self.requests.load(Ordering::SeqCst) {
            0 => limits.header_read_timeout,
            _ => limits.idle_timeout,
        };
        let since = self.started + Duration::from_millis(self.last_done_ms.load(Ordering::SeqCst));
        let due = since + timeout;
        if due > now {
            Ok(due)
        } else {
            Err(Expired::Idle)
        }
    }
}

/// Why a connection's time is up.
enum Expired {
    /// Nothing in progress: closed gracefully (HTTP/2 gets a `GOAWAY`).
    Idle,
    /// Requests in progress that have not moved for `stuck_timeout`.
    Stuck,
}

/// One request of a connection in progress, until its response body is
/// sent (or dropped).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.requests.fetch_add(1, Ordering::SeqCst);
        activity
            .last_change_ms
            .store(activity.now_ms(), Ordering::SeqCst);
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        let ms = a.now_ms();
        a.last_done_ms.store(ms, Ordering::SeqCst);
        a.last_change_ms.store(ms, Ordering::SeqCst);
        a.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The front as one connection's hyper service: the peer address for
/// `ConnectInfo`, and each request tracked until its body is sent.
#[derive(Clone)]
struct ConnectionService {
    front: Front,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut req: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(self.activity.clone());
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let front = self.front.clone();
        Box::pin(async move {
            let response = front.call(req.map(Body::new)).await;
            Ok(response.map(|body| {
                Body::new(Tracked {
                    body,
                    _in_flight: in_flight,
                })
            }))
        })
    }
}

/// A response body that ends its request's [`InFlight`] when dropped.
struct Tracked {
    body: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_refusals_are_recognised_and_answers_of_routes_are_not() {
        let date = "date: Mon, 30 Nov 2026 09:00:00 GMT\r\n";
        for (status, reason) in [
            (400, "Bad Request"),
            (414, "URI Too Long"),
            (431, "Request Header Fields Too Large"),
        ] {
            let head = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: 0\r\n{date}\r\n");
            assert_eq!(refusal_status(head.as_bytes()), Some(status));
        }
        for head in [
            format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n{date}\r\n"
            ),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n{date}\r\n"),
            format!("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n{date}\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{date}\r\nbody"),
        ] {
            assert_eq!(refusal_status(head.as_bytes()), None, "{head}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn descriptor_exhaustion_is_told_from_other_accept_errors() {
        for errno in [24, 23] {
            assert!(out_of_descriptors(&std::io::Error::from_raw_os_error(
                errno
            )));
        }
        let aborted = std::io::Error::from(std::io::ErrorKind::ConnectionAborted);
        assert!(!out_of_descriptors(&aborted));
    }

    /// The `ServerConfig` axum-server builds for a TLS listener (rustls'
    /// ring provider with its defaults) offers exactly Mozilla's intermediate
    /// profile: TLS 1.2 and 1.3, ECDHE AEAD suites only, the groups X25519,
    /// P-256 and P-384, and h2 in ALPN. A provider with other defaults (a
    /// post-quantum hybrid group, a CBC suite) fails here before sslyze
    /// (tests/nginx.rs) has to find it.
    #[tokio::test]
    async fn the_tls_listener_offers_mozilla_intermediate_only() {
        use rustls::{CipherSuite, NamedGroup, ProtocolVersion};
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let tls = RustlsConfig::from_pem(
            cert.cert.pem().into_bytes(),
            cert.key_pair.serialize_pem().into_bytes(),
        )
        .await
        .unwrap();
        let config = tls.get_inner();
        let provider = config.crypto_provider();
        let groups: Vec<NamedGroup> = provider.kx_groups.iter().map(|g| g.name()).collect();
        assert_eq!(
            groups,
            [
                NamedGroup::X25519,
                NamedGroup::secp256r1,
                NamedGroup::secp384r1
            ]
        );
        let intermediate = [
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::TLS13_AES_256_GCM_SHA384,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ];
        for suite in &provider.cipher_suites {
            assert!(
                intermediate.contains(&suite.suite()),
                "{:?} is outside the profile",
                suite.suite()
            );
        }
        // rustls knows no version before 1.2; both are on.
        let versions: std::collections::BTreeSet<u16> = provider
            .cipher_suites
            .iter()
            .map(|s| u16::from(s.version().version))
            .collect();
        assert_eq!(
            versions,
            [ProtocolVersion::TLSv1_2, ProtocolVersion::TLSv1_3]
                .map(u16::from)
                .into()
        );
        assert_eq!(
            config.alpn_protocols,
            [b"h2".to_vec(), b"http/1.1".to_vec()]
        );
    }

    #[test]
    fn the_refusal_keeps_hyper_s_head_with_the_json_body() {
        let head =
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let out = with_json_body(head, b"{\"ok\":false}");
        assert_eq!(
            &out[..],
            &b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\ncontent-length: 12\r\ndate: x\r\n\r\n{\"ok\":false}"[..]
        );
    }
}

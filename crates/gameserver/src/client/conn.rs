//! One pooled connection of [`TcpGameServer`](super::TcpGameServer): TCP,
//! optionally TLS, authenticated and version-checked before first use; and
//! the pool's manager that creates and recycles them.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use deadpool::managed::{self, Metrics, RecycleError, RecycleResult};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

use super::error::{CallError, Failure, FailureKind, unavailable};
use super::sanitize_code;
use crate::framing::{LineRead, read_line};
use crate::protocol::{COMMANDS, Command, PROTOCOL_VERSION, Request, parse_reply_line};
use crate::tls::{self, LinkTls};

/// What the client learnt of its link when it last connected: transport
/// security and what the server announced in its `auth` reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    /// `None` over plain TCP; over TLS, the negotiated version and how the
    /// certificate was trusted, e.g. `TLS 1.3, server certificate pinned
    /// (SHA-256 AB:…)`.
    pub tls: Option<String>,
    /// The protocol version the server announced; `None` when it announced
    /// none (version 1 is assumed).
    pub version: Option<u64>,
    /// The commands the server announced; `None` when it announced none
    /// (all are assumed).
    pub capabilities: Option<Vec<String>>,
}

impl fmt::Display for LinkFacts {
    /// `TLS 1.3, server certificate verified against the CA file · protocol
    /// 1`, `plain TCP · protocol 1 assumed (none announced)`; commands the
    /// server leaves out of its capabilities are named (`… (does not
    /// announce set_password, online)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tls {
            Some(tls) => f.write_str(tls)?,
            None => f.write_str("plain TCP")?,
        }
        match self.version {
            Some(v) => write!(f, " · protocol {v}")?,
            None => write!(f, " · protocol {PROTOCOL_VERSION} assumed (none announced)")?,
        }
        if let Some(caps) = &self.capabilities {
            let missing: Vec<&str> = COMMANDS
                .iter()
                .copied()
                .filter(|c| !caps.iter().any(|have| have == c))
                .collect();
            if !missing.is_empty() {
                write!(f, " (does not announce {})", missing.join(", "))?;
            }
        }
        Ok(())
    }
}

/// The byte stream of one connection: plain TCP or TLS over TCP.
pub(crate) enum Link {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Link {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream {
        match self {
            Link::Plain(tcp) => tcp,
            Link::Tls(tls) => tls.get_ref().0,
        }
    }
}

impl AsyncRead for Link {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Link {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_flush(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Link::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Link::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// One authenticated connection.
pub(crate) struct Conn {
    pub(super) reader: BufReader<Link>,
    /// A request is (or was, if the call was cancelled) in flight.
    pub(super) busy: bool,
    /// The commands the server announced in its `auth` reply, if it did.
    pub(super) announced: Option<Vec<String>>,
}

pub(crate) struct ConnManager {
    pub(super) addr: String,
    pub(super) auth_token: SecretString,
    pub(super) connect_timeout: Duration,
    pub(super) next_id: Arc<AtomicU64>,
    pub(super) tls: Option<LinkTls>,
    /// What the newest connection learnt (for `doctor` and the banner).
    pub(super) last_link: Arc<Mutex<Option<LinkFacts>>>,
}

impl ConnManager {
    /// TCP connect, then the TLS handshake when configured: both within one
    /// `connect_timeout`. Nothing of the protocol is sent before.
    async fn open(&self) -> Result<(Link, Option<String>), CallError> {
        let addr = &self.addr;
        let deadline = Instant::now() + self.connect_timeout;
        let tcp = match timeout_at(deadline, TcpStream::connect(addr.as_str())).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                return Err(unavailable(
                    FailureKind::Connection,
                    format!("connect to {addr} failed: {err}"),
                ));
            }
            Err(_) => {
                return Err(unavailable(
                    FailureKind::Timeout,
                    format!(
                        "connect to {addr} timed out after {:?}",
                        self.connect_timeout
                    ),
                ));
            }
        };
        // Small request/response lines: do not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok((Link::Plain(tcp), None));
        };
        let handshake = tls.connector().connect(tls.server_name().clone(), tcp);
        let explained = match timeout_at(deadline, handshake).await {
            Ok(Ok(stream)) => {
                let version = match stream.get_ref().1.protocol_version() {
                    Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
                    Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
                    other => format!("TLS {other:?}"),
                };
                let facts = format!("{version}, {}", tls.trust());
                return Ok((Link::Tls(Box::new(stream)), Some(facts)));
            }
            Ok(Err(err)) => tls::explain(&err, tls).unwrap_or_else(|| tls::explain_closed(&err)),
            Err(_) => tls::explain_timeout(self.connect_timeout),
        };
        Err(CallError::Unavailable(
            Failure::new(
                FailureKind::Tls,
                format!("TLS with {addr}: {}", explained.detail),
            )
            .with_hint(explained.hint),
        ))
    }

    /// A read or write of the `auth` exchange failed: a TLS cause (the
    /// server refusing our client certificate after a TLS 1.3 handshake)
    /// is a TLS failure, anything else a connection failure.
    fn io_failure(&self, what: &str, err: &std::io::Error) -> CallError {
        let addr = &self.addr;
        match self.tls.as_ref().and_then(|tls| tls::explain(err, tls)) {
            Some(explained) => CallError::Unavailable(
                Failure::new(
                    FailureKind::Tls,
                    format!("TLS with {addr}: {}", explained.detail),
                )
                .with_hint(explained.hint),
            ),
            None => unavailable(
                FailureKind::Connection,
                format!("auth with {addr}: {what} failed: {err}"),
            ),
        }
    }

    async fn authenticate(&self, conn: &mut Conn) -> Result<Option<u64>, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = Request::new(
            id,
            Command::Auth {
                token: self.auth_token.expose_secret().to_owned(),
            },
        )
        .to_line();
        let addr = &self.addr;
        let sent = async {
            let stream = conn.reader.get_mut();
            stream.write_all(&line).await?;
            stream.flush().await
        };
        sent.await.map_err(|err| self.io_failure("write", &err))?;
        let mut buf = Vec::new();
        match read_line(&mut conn.reader, &mut buf).await {
            Ok(LineRead::Line) => {}
            Ok(_) => {
                let mut failure = Failure::new(
                    FailureKind::Connection,
                    format!("auth with {addr}: connection closed or reply too long"),
                );
                if self.tls.is_none() {
                    failure = failure.with_hint(
                        "if the game server expects TLS on this port, configure [game_server.tls]",
                    );
                }
                return Err(CallError::Unavailable(failure));
            }
            Err(err) => return Err(self.io_failure("read", &err)),
        }
        let reply = parse_reply_line(&buf).map_err(|err| {
            unavailable(
                FailureKind::Protocol,
                format!("auth with {addr}: bad reply: {err}"),
            )
        })?;
        if reply.id != id {
            return Err(unavailable(
                FailureKind::Protocol,
                format!(
                    "auth with {addr}: reply id {} does not match request id {id}",
                    reply.id
                ),
            ));
        }
        if !reply.ok {
            return Err(unavailable(
                FailureKind::AuthRefused,
                format!(
                    "auth with {addr} refused: `{}`",
                    sanitize_code(reply.error.as_deref().unwrap_or_default())
                ),
            ));
        }
        if let Some(version) = reply.version.filter(|v| *v != PROTOCOL_VERSION) {
            return Err(CallError::Unavailable(
                Failure::new(
                    FailureKind::Incompatible,
                    format!(
                        "the game server at {addr} announces protocol version {version}; this \
                         gamegate speaks version {PROTOCOL_VERSION} only"
                    ),
                )
                .with_hint(format!(
                    "run a gamegate release that speaks protocol version {version}, or configure \
                     the game server for version {PROTOCOL_VERSION} (docs/GAME_SERVER.md, \
                     \"Protocol versions\")"
                )),
            ));
        }
        // Every connector registers: a server that announces its commands
        // without `register` cannot be what gamegate talks to.
        if let Some(announced) = &reply.capabilities
            && !announced.iter().any(|c| c == "register")
        {
            return Err(CallError::Unavailable(
                Failure::new(
                    FailureKind::Incompatible,
                    format!(
                        "the game server at {addr} announces the commands [{}] without \
                         `register`",
                        announced
                            .iter()
                            .map(|c| sanitize_command(c))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .with_hint(
                    "point game_server.addr at the game server's registration port, or make it \
                     announce `register` (docs/GAME_SERVER.md, \"Protocol versions\")",
                ),
            ));
        }
        conn.announced = reply.capabilities;
        Ok(reply.version)
    }
}

/// A command name the server announced, as shown in a message: a name of
/// protocol v1, or `<unknown>` (the server's text is not echoed).
fn sanitize_command(name: &str) -> &str {
    match name {
        "register" | "exists" | "delete" | "set_password" | "ping" | "online" => name,
        _ => "<unknown>",
    }
}

impl managed::Manager for ConnManager {
    type Type = Conn;
    type Error = CallError;

    async fn create(&self) -> Result<Conn, CallError> {
        let addr = &self.addr;
        let (link, tls) = self.open().await?;
        let mut conn = Conn {
            reader: BufReader::new(link),
            busy: false,
            announced: None,
        };
        match timeout(self.connect_timeout, self.authenticate(&mut conn)).await {
            Ok(Ok(version)) => {
                tracing::debug!(addr = %addr, tls = tls.is_some(), "game server connection established");
                let facts = LinkFacts {
                    tls,
                    version,
                    capabilities: conn.announced.clone(),
                };
                *self
                    .last_link
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(facts);
                Ok(conn)
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(unavailable(
                FailureKind::Timeout,
                format!(
                    "auth with {addr} timed out after {:?}",
                    self.connect_timeout
                ),
            )),
        }
    }

    async fn recycle(&self, conn: &mut Conn, _metrics: &Metrics) -> RecycleResult<CallError> {
        if conn.busy {
            return Err(RecycleError::message("previous call did not complete"));
        }
        if !conn.reader.buffer().is_empty() {
            return Err(RecycleError::message("unexpected buffered data"));
        }
        // Over TLS any bytes on an idle socket (a close_notify, a key
        // update) count as unexpected: the connection is replaced.
        match peer_state(conn.reader.get_ref().tcp()) {
            PeerState::Idle => Ok(()),
            PeerState::Closed => {
                tracing::debug!(addr = %self.addr, "discarding game server connection closed by the peer");
                Err(RecycleError::message("connection closed by the server"))
            }
            PeerState::UnexpectedData => Err(RecycleError::message("unexpected data")),
            PeerState::Error(err) => Err(RecycleError::Message(
                format!("connection error: {err}").into(),
            )),
        }
    }
}

enum PeerState {
    Idle,
    Closed,
    UnexpectedData,
    Error(std::io::Error),
}

/// Checks, without a round trip, whether the server closed (or wrote to)
/// an idle connection.
///
/// Tokio's `try_read` trusts cached readiness and may report `WouldBlock`
/// for a socket whose FIN the reactor has not seen yet, so on Unix the
/// check peeks on a duplicate of the socket's descriptor, which always asks
/// the kernel. The duplicate shares the non-blocking file description.
fn peer_state(stream: &TcpStream) -> PeerState {
    let mut byte = [0u8; 1];
    #[cfg(unix)]
    let result = {
        use std::os::fd::AsFd;
        match stream.as_fd().try_clone_to_owned() {
            Ok(fd) => std::net::TcpStream::from(fd).peek(&mut byte),
            Err(_) => stream.try_read(&mut byte),
        }
    };
    #[cfg(not(unix))]
    let result = stream.try_read(&mut byte);
    match result {
        Ok(0) => PeerState::Closed,
        Ok(_) => PeerState::UnexpectedData,
        Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => PeerState::Idle,
        Err(err) => PeerState::Error(err),
    }
}

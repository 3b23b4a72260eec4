//! The game server client: the [`GameServer`] trait and its pooled TCP
//! implementation [`TcpGameServer`].

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool::managed::{Object, Pool, PoolError};
use secrecy::SecretString;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

mod conn;
mod error;

use conn::ConnManager;
pub use conn::LinkFacts;
pub use error::{CallError, Failure, FailureKind, RegisterError, ServerCode};
use error::{ambiguous, unavailable};

use crate::capabilities::{Capabilities, GameAccountRules, Operations};
use crate::framing::{LineRead, read_line};
use crate::protocol::{
    Command, ERR_INTERNAL, ERR_INVALID, ERR_LOGIN_TAKEN, ERR_NOT_FOUND, ERR_UNAUTHORIZED, Reply,
    Request, parse_reply_line,
};
use crate::tls::LinkTls;

/// Operations gamegate needs from the game server: one connector per kind of
/// server (`game_server.kind`), each declaring what it supports in
/// [`GameServer::capabilities`].
///
/// Every call is bounded by the connector's call timeout and fails as
/// [`CallError::Unavailable`] (certainly not done) or
/// [`CallError::Ambiguous`] (sent, answer lost): the distinction the
/// registration saga and the reconciler are built on (docs/GAME_SERVER.md).
#[async_trait::async_trait]
pub trait GameServer: Send + Sync + 'static {
    /// What this connector supports and the game's account rules; fixed for
    /// the connector's life.
    fn capabilities(&self) -> &Capabilities;
    /// Creates the account; returns the game's account id.
    async fn register(&self, login: &str, password: &str, gender: u8)
    -> Result<u64, RegisterError>;
    /// Whether the login exists (case-insensitively) on the game server.
    async fn exists(&self, login: &str) -> Result<bool, CallError>;
    /// Deletes the account (succeeds if it does not exist).
    async fn delete(&self, login: &str) -> Result<(), CallError>;
    /// Liveness check (includes connecting and authenticating if needed).
    async fn ping(&self) -> Result<(), CallError>;
    /// Number of players online.
    async fn online(&self) -> Result<u64, CallError>;
    /// Changes the account's password. No account with the login:
    /// [`CallError::Unavailable`] of kind
    /// [`FailureKind::Server`]`(`[`ServerCode::NotFound`]`)`. Connectors that
    /// cannot answer [`CallError::Unavailable`] of kind
    /// [`FailureKind::Unsupported`] without sending anything (the default).
    async fn set_password(&self, login: &str, password: &str) -> Result<(), CallError> {
        let _ = (login, password);
        Err(unsupported("set_password"))
    }
    /// One line on the link as last established — transport security and
    /// what the server announced — for `doctor` and the banner; `None`
    /// before the first connection, or for a connector that does not say
    /// (the default).
    fn link_summary(&self) -> Option<String> {
        None
    }
}

/// The answer of a connector to an operation it does not support: certainly
/// not done, nothing sent.
pub fn unsupported(op: &str) -> CallError {
    unavailable(
        FailureKind::Unsupported,
        format!("{op}: not supported by this connector"),
    )
}

/// Configuration of [`TcpGameServer`]. `Debug` shows no token and no key.
#[derive(Clone, Debug)]
pub struct TcpGameServerConfig {
    /// `host:port` of the game server.
    pub addr: String,
    /// Shared secret sent in the `auth` command.
    pub auth_token: SecretString,
    /// Maximum number of pooled connections (0 is treated as 1).
    pub pool_size: usize,
    /// Bound on the TCP connect plus the TLS handshake, and separately on
    /// the auth exchange, of a new connection.
    pub connect_timeout: Duration,
    /// Overall bound on one call, including waiting for a pool slot,
    /// connecting and authenticating.
    pub call_timeout: Duration,
    /// The game's account rules, as the operator declares them
    /// (`[game_server.rules]`): protocol v1 does not carry them.
    pub rules: GameAccountRules,
    /// TLS on the link (`[game_server.tls]`); `None`: plain TCP. With TLS,
    /// a server that does not complete the handshake is refused before
    /// anything (the token included) is sent.
    pub tls: Option<LinkTls>,
}

impl Default for TcpGameServerConfig {
    /// `127.0.0.1:5190` with an empty token, 8 connections, 1 s connect and
    /// 3 s call timeouts (gamegate's configuration defaults), no game rules,
    /// no TLS.
    fn default() -> Self {
        Self {
            addr: "127.0.0.1:5190".into(),
            auth_token: SecretString::from(String::new()),
            pool_size: 8,
            connect_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(3),
            rules: GameAccountRules::default(),
            tls: None,
        }
    }
}

/// [`GameServer`] over protocol v1 with a pool of authenticated TCP
/// connections. Connects lazily.
pub struct TcpGameServer {
    pool: Pool<ConnManager>,
    call_timeout: Duration,
    next_id: Arc<AtomicU64>,
    capabilities: Capabilities,
    last_link: Arc<Mutex<Option<LinkFacts>>>,
}

/// What protocol v1 supports: every operation, `exists` exact by the
/// protocol's contract (docs/GAME_SERVER.md). A server that announces
/// capabilities in its `auth` reply narrows them per connection.
pub const V1_OPERATIONS: Operations = Operations::ALL;

impl fmt::Debug for TcpGameServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("TcpGameServer")
            .field("addr", &self.pool.manager().addr)
            .field("tls", &self.pool.manager().tls)
            .field("pool_max_size", &status.max_size)
            .field("pool_size", &status.size)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

impl TcpGameServer {
    /// Builds the client. Performs no I/O.
    pub fn new(config: TcpGameServerConfig) -> Self {
        let next_id = Arc::new(AtomicU64::new(1));
        let last_link = Arc::new(Mutex::new(None));
        let manager = ConnManager {
            addr: config.addr,
            auth_token: config.auth_token,
            connect_timeout: config.connect_timeout,
            next_id: Arc::clone(&next_id),
            tls: config.tls,
            last_link: Arc::clone(&last_link),
        };
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(1))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            // Building only fails when timeouts are configured without a
            // runtime; we configure no pool timeouts and set the runtime.
            .expect("deadpool pool without timeouts always builds");
        Self {
            pool,
            call_timeout: config.call_timeout,
            next_id,
            capabilities: Capabilities {
                connector: "v1",
                operations: V1_OPERATIONS,
                rules: config.rules,
            },
            last_link,
        }
    }

    /// What the newest connection learnt: TLS, the announced version and
    /// capabilities; `None` before the first connection.
    pub fn link_facts(&self) -> Option<LinkFacts> {
        self.last_link
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The TLS this client connects with, if any.
    pub fn tls(&self) -> Option<&LinkTls> {
        self.pool.manager().tls.as_ref()
    }

    /// Sends one command and returns the server's reply (successful or an
    /// error reply), after checking its id. Connection-level failures are
    /// mapped to [`CallError`].
    async fn call(&self, command: Command) -> Result<Reply, CallError> {
        let op = command.name();
        let deadline = Instant::now() + self.call_timeout;

        // Phase 1: get an authenticated connection. Nothing sent yet.
        let mut conn = match timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(err)) => return Err(CallError::Unavailable(pool_error(op, err))),
            Err(_) => {
                return Err(unavailable(
                    FailureKind::Timeout,
                    format!(
                        "{op}: timed out after {:?} getting a connection",
                        self.call_timeout
                    ),
                ));
            }
        };

        // A server that announced its commands is never sent another one.
        if let Some(announced) = &conn.announced
            && !announced.iter().any(|c| c == op)
        {
            // An authenticated connection is the answer `ping` asks for.
            if op == "ping" {
                return Ok(Reply::ok(0));
            }
            return Err(unavailable(
                FailureKind::Unsupported,
                format!("{op}: the game server does not announce it in its capabilities"),
            ));
        }

        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let line = Request::new(id, command).to_line();
        // If this future is dropped from now on, `recycle` discards the
        // connection (a late reply would desynchronise it).
        conn.busy = true;

        // Phase 2: write. Unavailable only if not a single byte went out.
        let mut written = 0usize;
        let write = timeout_at(
            deadline,
            write_counting(conn.reader.get_mut(), &line, &mut written),
        )
        .await;
        let write_failure = match write {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some(Failure::new(
                FailureKind::Connection,
                format!("{op}: write failed: {err}"),
            )),
            Err(_) => Some(Failure::new(
                FailureKind::Timeout,
                format!("{op}: timed out writing the request"),
            )),
        };
        if let Some(failure) = write_failure {
            discard(conn);
            return Err(if written == 0 {
                CallError::Unavailable(failure)
            } else {
                CallError::Ambiguous(failure)
            });
        }

        // Phase 3: read the reply. Any failure is ambiguous.
        let mut buf = Vec::new();
        let read = timeout_at(deadline, read_line(&mut conn.reader, &mut buf)).await;
        let failure = match read {
            Err(_) => Some((
                FailureKind::Timeout,
                format!("{op}: no reply within {:?}", self.call_timeout),
            )),
            Ok(Err(err)) => Some((
                FailureKind::Connection,
                format!("{op}: connection failed awaiting reply: {err}"),
            )),
            Ok(Ok(LineRead::Eof | LineRead::Truncated)) => Some((
                FailureKind::Connection,
                format!("{op}: connection closed before the reply"),
            )),
            Ok(Ok(LineRead::TooLong)) => {
                Some((FailureKind::Protocol, format!("{op}: reply line too long")))
            }
            Ok(Ok(LineRead::Line)) => None,
        };
        if let Some((kind, reason)) = failure {
            discard(conn);
            return Err(ambiguous(kind, reason));
        }
        let reply = match parse_reply_line(&buf) {
            Ok(reply) => reply,
            Err(err) => {
                discard(conn);
                return Err(ambiguous(
                    FailureKind::Protocol,
                    format!("{op}: bad reply: {err}"),
                ));
            }
        };
        if reply.id != id {
            discard(conn);
            return Err(ambiguous(
                FailureKind::Protocol,
                format!("{op}: reply id {} does not match request id {id}", reply.id),
            ));
        }

        // The exchange is complete and in sync. Keep the connection unless
        // the server reported a problem (other than the business outcomes
        // `login_taken` and `not_found`).
        if reply.ok
            || matches!(
                reply.error.as_deref(),
                Some(ERR_LOGIN_TAKEN | ERR_NOT_FOUND)
            )
        {
            conn.busy = false;
        } else {
            discard(conn);
        }
        Ok(reply)
    }
}

#[async_trait::async_trait]
impl GameServer for TcpGameServer {
    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn register(
        &self,
        login: &str,
        password: &str,
        gender: u8,
    ) -> Result<u64, RegisterError> {
        let reply = self
            .call(Command::Register {
                login: login.to_owned(),
                password: password.to_owned(),
                gender,
            })
            .await?;
        if !reply.ok && reply.error.as_deref() == Some(ERR_LOGIN_TAKEN) {
            return Err(RegisterError::LoginTaken);
        }
        let reply = check_ok("register", reply)?;
        reply.account_id.ok_or_else(|| {
            ambiguous(FailureKind::Protocol, "register: reply without account_id").into()
        })
    }

    async fn exists(&self, login: &str) -> Result<bool, CallError> {
        let reply = self
            .call(Command::Exists {
                login: login.to_owned(),
            })
            .await?;
        check_ok("exists", reply)?
            .exists
            .ok_or_else(|| ambiguous(FailureKind::Protocol, "exists: reply without exists"))
    }

    async fn delete(&self, login: &str) -> Result<(), CallError> {
        let reply = self
            .call(Command::Delete {
                login: login.to_owned(),
            })
            .await?;
        check_ok("delete", reply).map(drop)
    }

    async fn ping(&self) -> Result<(), CallError> {
        let reply = self.call(Command::Ping).await?;
        check_ok("ping", reply).map(drop)
    }

    async fn online(&self) -> Result<u64, CallError> {
        let reply = self.call(Command::Online).await?;
        check_ok("online", reply)?
            .online
            .ok_or_else(|| ambiguous(FailureKind::Protocol, "online: reply without online"))
    }

    async fn set_password(&self, login: &str, password: &str) -> Result<(), CallError> {
        let reply = self
            .call(Command::SetPassword {
                login: login.to_owned(),
                password: password.to_owned(),
            })
            .await?;
        if !reply.ok && reply.error.as_deref() == Some(ERR_NOT_FOUND) {
            return Err(unavailable(
                FailureKind::Server(ServerCode::NotFound),
                "set_password: the game server holds no account with this login (`not_found`)",
            ));
        }
        check_ok("set_password", reply).map(drop)
    }

    fn link_summary(&self) -> Option<String> {
        self.link_facts().map(|facts| facts.to_string())
    }
}

/// Maps an error reply to `Unavailable` (the server answered, so it did not
/// execute the command).
fn check_ok(op: &str, reply: Reply) -> Result<Reply, CallError> {
    if reply.ok {
        return Ok(reply);
    }
    Err(match reply.error.as_deref() {
        Some(code) => unavailable(
            FailureKind::Server(ServerCode::from_wire(code)),
            format!("{op}: server answered error `{}`", sanitize_code(code)),
        ),
        // `ok:false` without a code is not a valid reply.
        None => ambiguous(
            FailureKind::Protocol,
            format!("{op}: error reply without an error code"),
        ),
    })
}

/// Only echo codes we know; anything else could be arbitrary server text.
fn sanitize_code(code: &str) -> &str {
    match code {
        ERR_UNAUTHORIZED | ERR_LOGIN_TAKEN | ERR_INVALID | ERR_INTERNAL | ERR_NOT_FOUND => code,
        _ => "<unknown code>",
    }
}

fn pool_error(op: &str, err: PoolError<CallError>) -> Failure {
    match err {
        PoolError::Backend(CallError::Unavailable(f) | CallError::Ambiguous(f)) => {
            let failure = Failure::new(f.kind, format!("{op}: {f}"));
            match f.hint() {
                Some(hint) => failure.with_hint(hint),
                None => failure,
            }
        }
        PoolError::Timeout(kind) => Failure::new(
            FailureKind::Timeout,
            format!("{op}: pool timeout ({kind:?})"),
        ),
        PoolError::Closed => Failure::new(
            FailureKind::Connection,
            format!("{op}: connection pool closed"),
        ),
        PoolError::NoRuntimeSpecified => Failure::new(
            FailureKind::Connection,
            format!("{op}: connection pool has no runtime"),
        ),
        PoolError::PostCreateHook(err) => Failure::new(
            FailureKind::Connection,
            format!("{op}: connection setup hook failed: {err}"),
        ),
    }
}

/// Removes the connection from the pool and closes it.
fn discard(conn: Object<ConnManager>) {
    drop(Object::take(conn));
}

/// `write_all` that records how many bytes were accepted so far, so that a
/// failure can be classified even if this future is cancelled.
async fn write_counting<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut data: &[u8],
    written: &mut usize,
) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = writer.write(data).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        *written += n;
        data = &data[n..];
    }
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TcpGameServerConfig {
        TcpGameServerConfig {
            addr: "127.0.0.1:1".into(),
            auth_token: "TOKEN-abc".into(),
            pool_size: 2,
            connect_timeout: Duration::from_secs(1),
            call_timeout: Duration::from_secs(2),
            ..TcpGameServerConfig::default()
        }
    }

    #[test]
    fn config_debug_masks_token() {
        let dbg = format!("{:?}", config());
        assert!(!dbg.contains("TOKEN-abc"), "{dbg}");
        assert!(
            dbg.contains("127.0.0.1:1") && dbg.contains("[REDACTED]"),
            "{dbg}"
        );
    }

    #[tokio::test]
    async fn new_does_no_io_and_debug_hides_token() {
        // Port 1 is not listening; `new` must still succeed.
        let client = TcpGameServer::new(config());
        let dbg = format!("{client:?}");
        assert!(!dbg.contains("TOKEN-abc"), "{dbg}");
        assert_eq!(client.pool.status().size, 0);
    }

    #[test]
    fn check_ok_maps_error_codes_to_unavailable() {
        let err = check_ok("ping", Reply::error(1, ERR_INTERNAL)).unwrap_err();
        assert!(
            matches!(&err, CallError::Unavailable(m) if m.detail().contains("internal")),
            "{err}"
        );
        assert_eq!(err.kind(), FailureKind::Server(ServerCode::Internal));
        let err = check_ok("ping", Reply::error(1, "secret12 leaked")).unwrap_err();
        assert_eq!(err.kind(), FailureKind::Server(ServerCode::Unknown));
        let err = check_ok("ping", Reply::error(1, "secret12 leaked")).unwrap_err();
        assert!(!err.to_string().contains("secret12"), "{err}");
        let err = check_ok(
            "ping",
            Reply {
                ok: false,
                ..Reply::ok(1)
            },
        )
        .unwrap_err();
        assert!(matches!(err, CallError::Ambiguous(_)));
    }

    #[tokio::test]
    async fn write_counting_counts() {
        let mut out = Vec::new();
        let mut written = 0;
        write_counting(&mut out, b"hello\n", &mut written)
            .await
            .unwrap();
        assert_eq!(written, 6);
        assert_eq!(out, b"hello\n");
    }
}

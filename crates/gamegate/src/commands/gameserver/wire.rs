//! Raw protocol v1: connections of the kit's own, lines written byte for
//! byte and replies read as they come. Not through the client, which would
//! hide what a server does wrong (it authenticates, numbers and discards on
//! the caller's behalf).
//!
//! Every connection comes from [`Dialer::connect`] as a boxed [`Stream`]:
//! with `game_server.tls.enabled`, the TCP stream is wrapped there in the
//! connector's own TLS (same CA or pin, server name, client certificate),
//! the handshake done before a byte of the protocol is sent — so the token
//! never crosses the wire in clear text — and nothing else changes.

use std::time::Duration;

use gamegate_gameserver::LinkTls;
use gamegate_gameserver::protocol::{Command, MAX_LINE_BYTES, Reply, Request, parse_reply_line};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

/// What the raw checks read and write: plain TCP, or TLS over TCP.
pub(super) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Opens raw connections to `game_server.addr`.
#[derive(Debug, Clone)]
pub(super) struct Dialer {
    addr: String,
    token: SecretString,
    tls: Option<LinkTls>,
    connect_timeout: Duration,
    step: Duration,
}

/// The fix for a TLS server the kit talks plain text to.
pub(super) const FIX_SPEAKS_TLS: &str = "the server speaks TLS: configure [game_server.tls] \
    (enabled = true, and ca_file or fingerprint_sha256)";

/// Why [`Dialer::connect`] got no connection: what happened and what to change.
#[derive(Debug, Clone)]
pub(super) struct NoConnection {
    /// What happened, naming the address (no secret).
    pub(super) reason: String,
    /// What to change.
    pub(super) fix: String,
}

impl Dialer {
    /// Connects to `addr` (and, with `tls`, makes the handshake) within
    /// `connect_timeout`; every later write or read on the connection is
    /// bounded by `step`. `token` is what `auth` sends.
    pub(super) fn new(
        addr: String,
        token: SecretString,
        tls: Option<LinkTls>,
        connect_timeout: Duration,
        step: Duration,
    ) -> Self {
        Self {
            addr,
            token,
            tls,
            connect_timeout,
            step,
        }
    }

    /// Whether connections use TLS (`game_server.tls.enabled`).
    pub(super) fn tls(&self) -> Option<&LinkTls> {
        self.tls.as_ref()
    }

    /// The address, for reasons.
    pub(super) fn addr(&self) -> &str {
        &self.addr
    }

    /// A new connection, not authenticated. Errs with a reason naming the
    /// address (refused, timed out).
    pub(super) async fn connect(&self) -> Result<Wire, String> {
        self.open().await.map_err(|e| e.reason)
    }

    /// A new connection, not authenticated: TCP, then the TLS handshake
    /// when configured, both within one `connect_timeout`. Errs saying what
    /// failed (refused, timed out, which TLS problem) and what to change.
    pub(super) async fn open(&self) -> Result<Wire, NoConnection> {
        let addr = &self.addr;
        let deadline = Instant::now() + self.connect_timeout;
        let fix = "start the game server, or correct game_server.addr (and the firewall)";
        let fail = |reason: String, fix: &str| NoConnection {
            reason,
            fix: fix.to_owned(),
        };
        let tcp = match timeout_at(deadline, TcpStream::connect(addr.as_str())).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return Err(fail(format!("cannot connect to {addr}: {e}"), fix)),
            Err(_) => {
                let ms = self.connect_timeout.as_millis();
                return Err(fail(
                    format!("no TCP connection to {addr} within {ms} ms"),
                    fix,
                ));
            }
        };
        let _ = tcp.set_nodelay(true);
        let io: Box<dyn Stream> = match &self.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let left = deadline.saturating_duration_since(Instant::now());
                match tls.handshake(tcp, left).await {
                    Ok(stream) => Box::new(stream),
                    Err(e) => {
                        return Err(fail(format!("TLS with {addr}: {}", e.detail), &e.hint));
                    }
                }
            }
        };
        Ok(Wire {
            io: BufReader::new(io),
            step: self.step,
        })
    }

    /// The `auth` line with the configured token (or `token`) and `id`.
    pub(super) fn auth_line(&self, id: u64, token: Option<&str>) -> Vec<u8> {
        let token = token.unwrap_or(self.token.expose_secret()).to_owned();
        Request::new(id, Command::Auth { token }).to_line()
    }

    /// A new connection that sent `auth` with the configured token and got
    /// `ok` back (its id is not checked here: `ids_echoed` does).
    pub(super) async fn authenticated(&self) -> Result<Wire, String> {
        let mut wire = self.connect().await?;
        match wire.call(&self.auth_line(random_id(), None)).await {
            Read::Reply(reply) if reply.ok => Ok(wire),
            other => Err(format!(
                "auth with the configured token: {}",
                other.describe()
            )),
        }
    }
}

/// What one read brought.
#[derive(Debug)]
pub(super) enum Read {
    /// A reply line that parses as protocol v1.
    Reply(Reply),
    /// A line that does not (or one longer than the limit).
    Garbled(String),
    /// The server closed the connection (or reset it).
    Closed(String),
    /// Nothing within the step's bound.
    TimedOut(Duration),
    /// A TLS record (an alert or a handshake, first byte 0x15 or 0x16):
    /// the server speaks TLS and the connection does not.
    Tls,
}

impl Read {
    /// In words for a reason: the reply as JSON (its error code cut short),
    /// or what happened instead.
    pub(super) fn describe(&self) -> String {
        match self {
            Read::Reply(reply) => {
                let mut shown = reply.clone();
                if let Some(code) = &mut shown.error
                    && code.chars().count() > 40
                {
                    *code = code.chars().take(40).collect::<String>() + "…";
                }
                format!(
                    "answered {}",
                    String::from_utf8_lossy(shown.to_line().trim_ascii_end())
                )
            }
            Read::Garbled(why) => format!("answered a line that is not a v1 reply ({why})"),
            Read::Closed(how) => format!("closed the connection{how}"),
            Read::TimedOut(after) => format!("sent nothing within {} ms", after.as_millis()),
            Read::Tls => "answered with a TLS record, not a v1 line: it speaks TLS".to_owned(),
        }
    }

    /// Whether this is an error reply with `code`.
    pub(super) fn is_error(&self, code: &str) -> bool {
        matches!(self, Read::Reply(r) if !r.ok && r.error.as_deref() == Some(code))
    }
}

/// One raw connection.
pub(super) struct Wire {
    io: BufReader<Box<dyn Stream>>,
    step: Duration,
}

impl Wire {
    /// Writes `bytes` (whole lines, or anything) within the step's bound.
    pub(super) async fn write(&mut self, bytes: &[u8]) -> Result<(), String> {
        let io = self.io.get_mut();
        match timeout(self.step, async {
            io.write_all(bytes).await?;
            io.flush().await
        })
        .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("write failed: {e}")),
            Err(_) => Err(format!(
                "write not accepted within {} ms",
                self.step.as_millis()
            )),
        }
    }

    /// Reads one line (at most [`MAX_LINE_BYTES`] + 1 bytes of it) within
    /// the step's bound.
    pub(super) async fn read(&mut self) -> Read {
        let mut buf = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 2;
        let read = timeout(
            self.step,
            (&mut self.io).take(limit).read_until(b'\n', &mut buf),
        )
        .await;
        if is_tls_record(&buf) {
            return Read::Tls;
        }
        match read {
            Err(_) if buf.is_empty() => Read::TimedOut(self.step),
            Err(_) => Read::Garbled("a partial line, then nothing".into()),
            Ok(Err(e)) => Read::Closed(format!(" ({e})")),
            Ok(Ok(0)) => Read::Closed(String::new()),
            Ok(Ok(_)) if buf.last() != Some(&b'\n') && buf.len() as u64 >= limit => {
                Read::Garbled(format!("longer than {MAX_LINE_BYTES} bytes"))
            }
            Ok(Ok(_)) if buf.last() != Some(&b'\n') => {
                Read::Closed(" in the middle of a line".into())
            }
            Ok(Ok(_)) => match parse_reply_line(&buf) {
                Ok(reply) => Read::Reply(reply),
                Err(e) => Read::Garbled(e.to_string()),
            },
        }
    }

    /// Writes `line` and reads the answer; a failed write reads as closed.
    pub(super) async fn call(&mut self, line: &[u8]) -> Read {
        match self.write(line).await {
            Ok(()) => self.read().await,
            Err(e) => Read::Closed(format!(" ({e})")),
        }
    }

    /// Whether the server closes the connection now (end of stream or a
    /// reset within the step's bound). Errs saying what came instead.
    pub(super) async fn expect_close(&mut self) -> Result<(), String> {
        let mut byte = [0u8; 1];
        match timeout(self.step, self.io.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => Ok(()),
            Ok(Ok(_)) => Err("kept the connection open and sent more".into()),
            Err(_) => Err(format!(
                "kept the connection open ({} ms after the reply)",
                self.step.as_millis()
            )),
        }
    }
}

/// Whether `bytes` start like a TLS record: an alert (0x15) or a handshake
/// (0x16), then a protocol version 3.x. A v1 reply starts with `{`.
pub(super) fn is_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [0x15 | 0x16, 0x03, ..])
}

/// A request id as gamegate could send it, above 2^32 to catch a server
/// that keeps ids in 32 bits, below 2^53 (JSON numbers some servers parse as
/// doubles).
pub(super) fn random_id() -> u64 {
    use rand::Rng;
    rand::thread_rng().gen_range(1u64 << 32..1u64 << 53)
}

/// `n` distinct [`random_id`]s.
pub(super) fn distinct_ids(n: usize) -> Vec<u64> {
    let mut ids = std::collections::BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let id = random_id();
        if ids.insert(id) {
            out.push(id);
        }
    }
    out
}

/// A `ping` request of exactly `len` bytes before its `\n`, padded with an
/// extra field (the protocol ignores unknown fields).
pub(super) fn padded_ping(id: u64, len: usize) -> Vec<u8> {
    let head = format!(r#"{{"id":{id},"cmd":"ping","pad":""#);
    let tail = "\"}";
    let pad = len.saturating_sub(head.len() + tail.len());
    let mut line = format!("{head}{}{tail}", "x".repeat(pad)).into_bytes();
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use gamegate_gameserver::protocol::parse_request_line;

    #[test]
    fn a_padded_ping_is_exactly_as_long_as_asked_and_still_a_ping() {
        let line = padded_ping(42, MAX_LINE_BYTES);
        assert_eq!(line.len(), MAX_LINE_BYTES + 1);
        let request = parse_request_line(&line).unwrap();
        assert_eq!((request.id, request.command.name()), (42, "ping"));
        let over = padded_ping(42, MAX_LINE_BYTES + 1);
        assert!(parse_request_line(&over).is_err(), "over the limit");
    }

    #[test]
    fn tls_records_are_told_from_reply_lines() {
        assert!(is_tls_record(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32]));
        assert!(is_tls_record(&[0x16, 0x03, 0x01]));
        assert!(!is_tls_record(br#"{"id":1,"ok":true}"#));
        assert!(!is_tls_record(&[0x15]));
    }

    #[test]
    fn ids_are_distinct_and_in_range() {
        let ids = distinct_ids(50);
        assert_eq!(
            ids.iter().collect::<std::collections::HashSet<_>>().len(),
            50
        );
        assert!(ids.iter().all(|id| (1 << 32..1 << 53).contains(id)));
    }
}

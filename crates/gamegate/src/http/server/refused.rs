//! Requests the HTTP library refuses (a head too large, a malformed request
//! line) answered with the contract's JSON body instead of hyper's empty
//! one: the connection's I/O is watched, and the refusal's status recorded
//! so it is counted, logged and reported to the jail.

use super::*;

/// The connection's socket, watching what hyper writes: hyper answers a
/// request it cannot parse itself, with an empty 400 (414, 431) and no
/// hook. That answer is recognised here and sent with the contract's JSON
/// body instead, and its status kept for the report.
pub(super) struct Watched<IO> {
    pub(super) io: IO,
    /// Bytes owed to the socket: the JSON answer, written before anything else.
    pub(super) pending: Option<Bytes>,
    pub(super) refused: Arc<AtomicU16>,
    pub(super) body: Bytes,
}

impl<IO: AsyncWrite + Unpin> Watched<IO> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        while let Some(pending) = &mut self.pending {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, pending))?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            pending.advance(n);
            if pending.is_empty() {
                self.pending = None;
            }
        }
        Poll::Ready(Ok(()))
    }

    /// When `head` is hyper's own answer to a request it refused, queues
    /// the JSON answer in its place; true when it did.
    fn replace_refusal(&mut self, head: &[u8]) -> bool {
        if self.refused.load(Ordering::Relaxed) != 0 {
            return false;
        }
        let Some(status) = refusal_status(head) else {
            return false;
        };
        self.pending = Some(with_json_body(head, &self.body));
        self.refused.store(status, Ordering::Relaxed);
        true
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if self.replace_refusal(buf) {
            // Taken whole; the replacement goes out now or on the next flush.
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        // hyper's refusal is a head alone, in one slice.
        if let [only] = bufs
            && self.replace_refusal(only)
        {
            if let Poll::Ready(Err(e)) = self.poll_pending(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(only.len()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The status of hyper's automatic answer to a request it could not parse
/// (`HTTP/1.1 400 Bad Request`, 414, 431: a head alone, `content-length: 0`,
/// no `content-type`), or `None` for anything else. Every answer of the
/// routes has a body and a `content-type`, so none is taken for it.
pub(super) fn refusal_status(head: &[u8]) -> Option<u16> {
    let rest = head
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| head.strip_prefix(b"HTTP/1.0 "))?;
    let status = match rest.get(..4)? {
        b"400 " => 400,
        b"414 " => 414,
        b"431 " => 431,
        _ => return None,
    };
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let lower = head.to_ascii_lowercase();
    let has = |needle: &[u8]| lower.windows(needle.len()).any(|w| w == needle);
    (has(b"\r\ncontent-length: 0\r\n") && !has(b"\r\ncontent-type:")).then_some(status)
}

/// hyper's head with a JSON body: its status line and headers (`date`
/// among them) kept, the length replaced.
pub(super) fn with_json_body(head: &[u8], body: &[u8]) -> Bytes {
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(head.len() + 64);
    for line in text.split_inclusive("\r\n") {
        if line.eq_ignore_ascii_case("content-length: 0\r\n") {
            out.push_str("content-type: application/json\r\n");
            out.push_str(&format!("content-length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
        }
    }
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes.into()
}

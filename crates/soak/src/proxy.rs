//! A TCP proxy the fault schedule controls (the idea of
//! crates/gamegate/tests/api/db_faults.rs): it passes bytes through, cuts
//! every connection and refuses new ones while down, or holds each reply
//! back while slow.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Bound on connecting to the upstream; past it the client is dropped.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bytes pass through both ways.
    Pass,
    /// Open connections are cut, new ones closed at once.
    Down,
    /// Each chunk from the upstream is delayed this long.
    Slow(Duration),
}

/// A TCP proxy on `127.0.0.1` in front of one upstream, switched between
/// [`Mode`]s by the fault schedule. Stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
    upstream: watch::Sender<SocketAddr>,
    accepted: Arc<AtomicU64>,
    stop: CancellationToken,
}

impl FaultProxy {
    /// Listens on an ephemeral port of `127.0.0.1` and forwards to `upstream`
    /// (connect bound: 2 s). Errs when the port cannot be bound.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (mode, _) = watch::channel(Mode::Pass);
        let (upstream, _) = watch::channel(upstream);
        let accepted = Arc::new(AtomicU64::new(0));
        let stop = CancellationToken::new();
        tokio::spawn(accept_loop(
            listener,
            mode.subscribe(),
            upstream.subscribe(),
            accepted.clone(),
            stop.clone(),
        ));
        Ok(Self {
            addr,
            mode,
            upstream,
            accepted,
            stop,
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches the mode; `Down` cuts every open connection at once.
    pub fn set_mode(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }

    /// Where new connections go (a restarted upstream may move).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        self.upstream.send_replace(upstream);
    }

    /// Connections accepted since start.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    mode: watch::Receiver<Mode>,
    upstream: watch::Receiver<SocketAddr>,
    accepted: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    loop {
        let client = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = client else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        accepted.fetch_add(1, Ordering::Relaxed);
        if *mode.borrow() == Mode::Down {
            continue; // dropped: the client sees the connection closed
        }
        let to = *upstream.borrow();
        tokio::spawn(pipe(client, to, mode.clone(), stop.child_token()));
    }
}

async fn pipe(
    client: TcpStream,
    upstream: SocketAddr,
    mut mode: watch::Receiver<Mode>,
    stop: CancellationToken,
) {
    let Ok(Ok(server)) = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(upstream)).await
    else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = tokio::io::copy(&mut client_read, &mut server_write);
    let replies_mode = mode.clone();
    let replies = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                return std::io::Result::Ok(());
            }
            let held = match *replies_mode.borrow() {
                Mode::Slow(delay) => Some(delay),
                _ => None,
            };
            if let Some(delay) = held {
                tokio::time::sleep(delay).await;
            }
            client_write.write_all(&buf[..n]).await?;
        }
    };
    let cut = async {
        let _ = mode.wait_for(|m| *m == Mode::Down).await;
    };
    // Whichever ends first closes both sides (the halves drop here).
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = cut => {}
        _ = requests => {}
        _ = replies => {}
    }
}

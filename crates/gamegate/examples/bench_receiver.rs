//! The HTTP connector's receiver for `bench/run.sh`: the in-memory mock
//! receiver of the gameserver crate (hyper, signatures checked, idempotency
//! keys honoured — the duties of a real receiver), so the register row of
//! `game_server.kind = "http"` measures gamegate and the connector, not a
//! slow receiver (the Python reference one hashes every password with
//! PBKDF2 on one interpreter lock).
//!
//! `bench_receiver [IP:PORT] [SECRET_FILE]`, defaults `127.0.0.1:18190` and
//! a built-in secret; runs until killed.

use gamegate_gameserver::HttpMockServer;
use tokio_util::sync::CancellationToken;

/// The secret `bench/run.sh` gives both sides when no file is named.
const BENCH_SECRET: &str = "bench-signing-secret-0123456789abcdef";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18190".into());
    let secret = match args.next() {
        Some(file) => std::fs::read_to_string(&file)
            .expect("the secret file is readable")
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        None => BENCH_SECRET.to_owned(),
    };
    let stop = CancellationToken::new();
    let receiver = HttpMockServer::start(addr.parse().expect("IP:PORT"), secret, stop.clone())
        .await
        .expect("bind");
    println!("HTTP receiver on {}", receiver.url());
    tokio::signal::ctrl_c().await.expect("signals");
    stop.cancel();
}

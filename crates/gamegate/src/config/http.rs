//! `[http]` (listeners, timeouts, connection caps) and `[services]` (the
//! split topology's listen addresses).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub public_addr: SocketAddr,
    /// Health details and metrics; keep it on loopback or a private network.
    pub admin_addr: SocketAddr,
    pub body_limit_bytes: usize,
    /// A backstop for a request that somehow outlives every inner timeout.
    pub request_timeout_ms: u64,
    /// A client must send a request's headers within this (slow-client
    /// protection: a connection that trickles bytes is closed).
    pub header_read_timeout_ms: u64,
    /// PEM certificate chain and private key; both set turns TLS on for the
    /// public listener (and the split service listeners). Empty: plain HTTP.
    pub tls_cert_file: String,
    pub tls_key_file: String,
    /// How often the certificate files are checked for a change (certbot
    /// renewals); a changed pair is loaded without dropping connections.
    pub tls_reload_interval_ms: u64,
    /// A plain-HTTP listener that redirects to HTTPS (e.g. `0.0.0.0:80`);
    /// empty: none. Only with TLS on.
    pub redirect_http_addr: String,
    /// The example registration page (docs/SITE.md) at `/` of the public
    /// listener of `gamegate all`, with TLS off: a dev aid, so on by default
    /// for the one-command start; the split services never serve it.
    pub demo_site: bool,
    // Connection caps and timeouts (docs/EDGE.md "Connections").
    /// Open connections at once on the public listeners (the API listener
    /// and the HTTP→HTTPS redirect together). 0: as many as the descriptor
    /// budget allows (the soft `RLIMIT_NOFILE`, raised to the hard limit at
    /// start, less `descriptor_reserve`, the database pools, the game-server
    /// client and `admin_max_connections`); a larger value is lowered to that.
    pub max_connections: u32,
    /// Open connections at once from one client address (an IPv6 client by
    /// its /64) on each listener; more are closed as soon as they are
    /// accepted. Trusted proxies (`edge.trusted_proxies`) count only toward
    /// the total: every client behind them shares their address.
    pub max_connections_per_ip: u32,
    /// Open connections at once on the admin listener, a budget of its own so
    /// a flood of the public port cannot lock the operator out.
    pub admin_max_connections: u32,
    /// A keep-alive connection with no request in progress (HTTP/1) or no
    /// open stream (HTTP/2) is closed after this.
    pub idle_timeout_ms: u64,
    /// A request body must have arrived completely within this from the end
    /// of its headers; a body still arriving gets `503 request_timeout` and
    /// the connection is closed. Every route that reads a body.
    pub body_read_timeout_ms: u64,
    /// HTTP/2 over plain TCP ("h2c", prior knowledge) on listeners without
    /// TLS. Off: such listeners speak HTTP/1 only. Over TLS, HTTP/2 is
    /// always offered through ALPN.
    pub http2_cleartext: bool,
    /// Descriptors kept free beyond the database pools and the game-server
    /// client (log files, the listeners, DNS, the Bot API, SQLite's journal
    /// files): connection caps are computed so these stay available.
    pub descriptor_reserve: u32,
    // Rolling restarts (docs/UPGRADING.md).
    /// On SIGTERM/Ctrl-C, how long the listeners still accept and serve new
    /// connections before they close and in-flight requests drain: time for
    /// a load balancer to take this replica out, so no connection is reset in
    /// the listen backlog. 0: close at once. At most 60 000.
    pub shutdown_delay_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_addr: ([127, 0, 0, 1], 8000).into(),
            admin_addr: ([127, 0, 0, 1], 9000).into(),
            body_limit_bytes: 16 * 1024,
            request_timeout_ms: 20_000,
            header_read_timeout_ms: 10_000,
            tls_cert_file: String::new(),
            tls_key_file: String::new(),
            tls_reload_interval_ms: 30_000,
            redirect_http_addr: String::new(),
            demo_site: true,
            max_connections: 0,
            max_connections_per_ip: 64,
            admin_max_connections: 32,
            idle_timeout_ms: 30_000,
            body_read_timeout_ms: 15_000,
            http2_cleartext: false,
            descriptor_reserve: 64,
            shutdown_delay_ms: 1_000,
        }
    }
}

/// Listen addresses of the split topology (`gamegate serve …`), the seed's
/// ports. Each service also answers `/internal/health` and `/metrics` there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    pub register_addr: SocketAddr,
    pub status_addr: SocketAddr,
    pub stats_addr: SocketAddr,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            register_addr: ([127, 0, 0, 1], 8080).into(),
            status_addr: ([127, 0, 0, 1], 8081).into(),
            stats_addr: ([127, 0, 0, 1], 8084).into(),
        }
    }
}

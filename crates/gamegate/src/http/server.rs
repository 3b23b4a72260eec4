//! Serving a router on a listener: plain HTTP or TLS (rustls), slow-client
//! protection, graceful shutdown, and certificate reloads without dropping
//! connections. axum-server does the connection handling; this module only
//! chooses its settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum_server::Handle;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How connections are treated, the same on every listener.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// A request's headers (and a new connection's first request) must
    /// arrive within this; a trickling client is disconnected.
    pub header_read_timeout: Duration,
    /// On shutdown, how long in-flight requests may still run.
    pub drain: Duration,
}

/// Serves `router` until `shutdown` is cancelled; with `tls`, over TLS.
pub async fn serve(
    socket: TcpListener,
    router: Router,
    tls: Option<RustlsConfig>,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let handle: Handle<SocketAddr> = Handle::new();
    let stopper = handle.clone();
    let watcher = tokio::spawn(async move {
        shutdown.cancelled().await;
        // Idle keep-alive connections close at once; running requests get `drain`.
        stopper.graceful_shutdown(Some(limits.drain));
    });
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut server = axum_server::Server::from_listener(socket)
        .handle(handle)
        .first_request_timeout(limits.header_read_timeout);
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_read_timeout);
    let result = match tls {
        None => server.serve(service).await,
        Some(tls) => {
            server
                .acceptor(RustlsAcceptor::new(tls).handshake_timeout(limits.header_read_timeout))
                .serve(service)
                .await
        }
    };
    watcher.abort();
    result
}

/// The certificate pair of a TLS listener, reloaded when the files change.
pub struct CertificateFiles {
    cert: PathBuf,
    key: PathBuf,
    pub config: RustlsConfig,
    /// Where the certificate's expiry date is published, if anywhere.
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
}

impl CertificateFiles {
    /// Loads the pair; a missing or unparsable file fails the start.
    pub async fn load(cert: &str, key: &str) -> anyhow::Result<Self> {
        let (cert, key) = (PathBuf::from(cert), PathBuf::from(key));
        let config = RustlsConfig::from_pem_file(&cert, &key)
            .await
            .with_context(|| {
                format!(
                    "cannot load the TLS certificate {} with key {}",
                    cert.display(),
                    key.display()
                )
            })?;
        Ok(Self {
            cert,
            key,
            config,
            metrics: None,
        })
    }

    /// Publishes the certificate's expiry date now and after every reload
    /// (`gamegate_tls_certificate_expiry_timestamp_seconds`).
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::metrics::Metrics>) -> Self {
        metrics.tls_certificate(&self.cert);
        self.metrics = Some(metrics);
        self
    }

    /// Checks the files every `interval` and loads a changed pair. A pair
    /// that does not load (certbot mid-write, a key that does not match) is
    /// logged and the current certificate kept; new connections get the new
    /// certificate, open ones keep theirs.
    pub async fn watch(self, interval: Duration, shutdown: CancellationToken) {
        let mut seen = stamp(&self.cert, &self.key);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let now = stamp(&self.cert, &self.key);
            if now == seen {
                continue;
            }
            // Remembered either way: a broken pair is reported once, and
            // retried when the files change again.
            seen = now;
            match self
                .config
                .reload_from_pem_file(&self.cert, &self.key)
                .await
            {
                Ok(()) => {
                    tracing::info!(cert = %self.cert.display(), "TLS certificate reloaded");
                    if let Some(metrics) = &self.metrics {
                        metrics.tls_certificate(&self.cert);
                    }
                }
                Err(e) => tracing::warn!(
                    cert = %self.cert.display(),
                    error = %e,
                    "TLS certificate changed but does not load; keeping the current one"
                ),
            }
        }
    }
}

/// What identifies a version of the files: modification time and size of
/// each (following symlinks, as certbot's `live/` links are).
fn stamp(cert: &Path, key: &Path) -> [Option<(SystemTime, u64)>; 2] {
    let of = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    [of(cert), of(key)]
}

/// A plain-HTTP router that sends every request to the same path on HTTPS
/// (308 keeps the method and body).
pub fn redirect_to_https(https_port: u16) -> Router {
    Router::new().fallback(move |req: Request| async move { redirect(&req, https_port) })
}

fn redirect(req: &Request, https_port: u16) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map(|a| a.host().to_owned());
    let Some(host) = host else {
        return (StatusCode::BAD_REQUEST, "a Host header is required\n").into_response();
    };
    let port = match https_port {
        443 => String::new(),
        p => format!(":{p}"),
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    match format!("https://{host}{port}{path}").parse::<Uri>() {
        Ok(location) => (
            StatusCode::PERMANENT_REDIRECT,
            [(header::LOCATION, location.to_string())],
        )
            .into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad request\n").into_response(),
    }
}

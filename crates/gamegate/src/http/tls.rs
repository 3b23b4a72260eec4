//! HTTPS around the listeners: the certificate pair, reloaded when its
//! files change (with its expiry published as a metric), the HSTS value, and
//! the plain-HTTP listener that redirects to HTTPS.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum_server::tls_rustls::RustlsConfig;
use tokio_util::sync::CancellationToken;

/// The certificate pair of a TLS listener, reloaded when the files change.
pub struct CertificateFiles {
    cert: PathBuf,
    key: PathBuf,
    pub config: RustlsConfig,
    /// Where the certificate's expiry date is published, if anywhere.
    metrics: Option<std::sync::Arc<crate::app::metrics::Metrics>>,
}

impl CertificateFiles {
    /// The certificate file (PEM chain) this listener serves.
    pub fn cert_path(&self) -> &Path {
        &self.cert
    }

    /// The first DNS name the certificate is for (subjectAltName, else the
    /// subject's CN), read from the file; `None` when it names none.
    pub fn first_name(&self) -> Option<String> {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let pem = std::fs::read(&self.cert).ok()?;
        let der = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
        let facts = crate::shared::certificate::CertFacts::parse(&der).ok()?;
        facts.names.into_iter().find(|n| !n.starts_with('*'))
    }

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
    pub fn with_metrics(mut self, metrics: std::sync::Arc<crate::app::metrics::Metrics>) -> Self {
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

pub use crate::shared::HSTS;

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

//! `gamegate healthcheck`: asks a local service for its liveness (`GET
//! /internal/health/live`), or with `--ready` its readiness (`GET
//! /internal/health/ready`), and exits 0 on 200, 1 otherwise. For Docker's
//! `HEALTHCHECK` and compose healthchecks, which can only run a program
//! inside the container (the slim image has no curl, and should not need
//! one). They ask liveness: a container is restarted (or reported unhealthy)
//! when the process stops serving, not when a database or the game server it
//! cannot bring back is down; routing around a replica whose dependencies are
//! down is the load balancer's job, through readiness (docs/API.md).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::Config;

/// Docker's default healthcheck timeout is 30 s; 3 s answers well before it
/// and still leaves the service's own 2 s database checks time to finish.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Which process is checked; each answers `/internal/health` on a different listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// `serve register`: services.register_addr.
    Register,
    /// `serve status`: services.status_addr.
    Status,
    /// `serve stats`: services.stats_addr.
    Stats,
    /// `gamegate all`: http.admin_addr (the public listener has no /internal/*).
    All,
}

/// Which answer the check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `/internal/health/live`: the process serves.
    Live,
    /// `/internal/health/ready`: and what it needs answers.
    Ready,
}

impl Probe {
    /// The path of the answer.
    pub fn path(self) -> &'static str {
        match self {
            Probe::Live => "/internal/health/live",
            Probe::Ready => "/internal/health/ready",
        }
    }
}

/// The URL the check asks when `--url` is not given, from the config.
pub fn default_url(config: &Config, target: Target, probe: Probe) -> anyhow::Result<String> {
    let addr = match target {
        Target::Register => config.services.register_addr,
        Target::Status => config.services.status_addr,
        Target::Stats => config.services.stats_addr,
        Target::All => config.http.admin_addr,
    };
    // The split services speak TLS on their listener when a certificate is
    // configured; its name is not "127.0.0.1", so a default URL cannot be
    // verified. Refused rather than checked without verification.
    if target != Target::All && !config.http.tls_cert_file.is_empty() {
        bail!(
            "the {target:?} listener speaks TLS (http.tls_cert_file is set); pass \
             --url https://NAME:{}{} with the certificate's name",
            addr.port(),
            probe.path()
        );
    }
    Ok(format!("http://{}{}", reachable(addr), probe.path()))
}

/// A listener bound to every address (`0.0.0.0`, `[::]`, as in a container)
/// is asked on loopback.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Ok when the answer is 200; the error says what was seen otherwise.
pub async fn run(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("--url {url:?} is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("--url {url:?} must be http:// or https://");
    }
    let client = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        // The health answer is local; a proxy from the environment must not
        // be asked instead.
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    let answer = client
        .get(parsed)
        .send()
        .await
        .with_context(|| format!("no answer from {url} within {} s", TIMEOUT.as_secs()))?;
    let status = answer.status();
    if status != reqwest::StatusCode::OK {
        bail!("{url} answered {status}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_urls_follow_each_listener_and_unspecified_means_loopback() {
        let mut c = Config::default();
        assert_eq!(
            default_url(&c, Target::Register, Probe::Live).unwrap(),
            "http://127.0.0.1:8080/internal/health/live"
        );
        assert_eq!(
            default_url(&c, Target::All, Probe::Ready).unwrap(),
            "http://127.0.0.1:9000/internal/health/ready"
        );
        c.services.status_addr = "0.0.0.0:9181".parse().unwrap();
        c.services.stats_addr = "[::]:9184".parse().unwrap();
        assert_eq!(
            default_url(&c, Target::Status, Probe::Live).unwrap(),
            "http://127.0.0.1:9181/internal/health/live"
        );
        assert_eq!(
            default_url(&c, Target::Stats, Probe::Ready).unwrap(),
            "http://[::1]:9184/internal/health/ready"
        );
        c.http.tls_cert_file = "/c.pem".into();
        c.http.tls_key_file = "/k.pem".into();
        let err = default_url(&c, Target::Register, Probe::Ready).unwrap_err();
        assert!(
            err.to_string()
                .contains("https://NAME:8080/internal/health/ready"),
            "{err}"
        );
        // The admin listener stays plain HTTP with TLS on.
        default_url(&c, Target::All, Probe::Live).unwrap();
    }

    #[tokio::test]
    async fn nothing_listening_is_a_failure_and_a_bad_scheme_is_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(
            run(&format!("http://127.0.0.1:{port}/internal/health"))
                .await
                .is_err()
        );
        assert!(run("ftp://127.0.0.1/x").await.is_err());
    }
}

//! `[nginx]`, `[deploy]`, `[backup]` and `[monitoring]`: read by the
//! renderers, `gamegate backup` and `gamegate doctor`.

use anyhow::bail;
use serde::{Deserialize, Serialize};

/// The public nginx in front (`gamegate render nginx`, docs/EDGE.md). Only the
/// renderer reads it; the edge policy itself (keys, limits, CORS, trusted
/// proxies) comes from `[edge]`, so both edges enforce one configuration.
/// Values are checked when rendering, where they are put into nginx syntax.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NginxConfig {
    pub server_name: String,
    /// `listen` of the TLS server: a port or `IP:PORT` (`[::]:443` for IPv6).
    pub listen_https: Vec<String>,
    /// `listen` of the server that redirects plain HTTP to HTTPS; empty: none.
    pub listen_http: Vec<String>,
    /// Empty: Let's Encrypt's `/etc/letsencrypt/live/<server_name>/fullchain.pem`.
    pub tls_certificate: String,
    /// Empty: Let's Encrypt's `/etc/letsencrypt/live/<server_name>/privkey.pem`.
    pub tls_certificate_key: String,
    /// `HOST:PORT` of the registration upstream; several for replicas. The
    /// seed's nginx reaches Traefik over WireGuard at 10.8.0.2:1010.
    pub register_upstreams: Vec<String>,
    /// `HOST:PORT` of the status upstream; several for replicas.
    pub status_upstreams: Vec<String>,
    /// In the `gamegate` log format, read by the fail2ban filter.
    pub access_log: String,
    pub error_log: String,
    /// Served at `/.well-known/acme-challenge/` on the HTTP server so certbot
    /// `--webroot` renewals work through the redirect.
    pub acme_webroot: String,
    // Statistics in the production topology, TLS graded (docs/EDGE.md#nginx-in-front).
    /// `HOST:PORT` of the statistics upstream (`serve stats`, or Traefik in
    /// front of it); nginx sends it only `GET /stats/players/{login}`,
    /// `/stats/leaderboard`, `/stats/summary` and `/ml/predict`.
    pub stats_upstreams: Vec<String>,
    /// OCSP stapling (`ssl_stapling`, `ssl_stapling_verify`): `"auto"` (on
    /// for Let's Encrypt's files, i.e. `tls_certificate` empty; off for a
    /// certificate of your own), `"on"` or `"off"`. nginx ignores it, with a
    /// warning, for a certificate that names no OCSP responder.
    pub ocsp_stapling: String,
    /// CA certificates nginx verifies OCSP answers with
    /// (`ssl_trusted_certificate`). Empty: Let's Encrypt's `chain.pem` when
    /// `tls_certificate` is empty, else `tls_certificate` itself (a full chain).
    pub tls_trusted_certificate: String,
}

impl Default for NginxConfig {
    fn default() -> Self {
        Self {
            server_name: "api.example.com".into(),
            listen_https: vec!["443".into(), "[::]:443".into()],
            listen_http: vec!["80".into(), "[::]:80".into()],
            tls_certificate: String::new(),
            tls_certificate_key: String::new(),
            register_upstreams: vec!["10.8.0.2:1010".into()],
            status_upstreams: vec!["10.8.0.2:1010".into()],
            access_log: "/var/log/nginx/gamegate-access.log".into(),
            error_log: "/var/log/nginx/gamegate-error.log".into(),
            acme_webroot: "/var/www/letsencrypt".into(),
            stats_upstreams: vec!["10.8.0.2:1010".into()],
            ocsp_stapling: "auto".into(),
            tls_trusted_certificate: String::new(),
        }
    }
}

/// The WG_CLIENT side of the seed's topology (`gamegate render compose|traefik|
/// systemd|logrotate|wireguard`, docs/PRODUCTION_SETUP.md). Only the renderers
/// read it; values are checked when rendering, where they enter file syntax.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeployConfig {
    /// The gamegate image the compose file runs (`docker build -t … .`).
    pub image: String,
    pub traefik_image: String,
    pub mariadb_image: String,
    pub postgres_image: String,
    /// Registration instances behind Traefik (the seed's `replicas: 3`).
    pub register_replicas: u32,
    /// Traefik's entrypoint port on the WG_CLIENT: nginx's upstream
    /// (`nginx.register_upstreams = ["10.8.0.2:1010"]`).
    pub traefik_port: u16,
    /// `deploy.resources.limits` of each gamegate container.
    pub service_cpus: String,
    pub service_memory: String,
    /// … of MariaDB and PostgreSQL.
    pub database_cpus: String,
    pub database_memory: String,
    /// Database and user names the compose databases are created with; the
    /// URLs in the secret files must name the same.
    pub mariadb_database: String,
    pub postgres_database: String,
    pub database_user: String,
    /// The compose network; the services trust it as their proxy (Traefik).
    pub compose_subnet: String,
    /// WireGuard: the HOST_SERVER's and the WG_CLIENT's tunnel addresses.
    pub wg_host_address: String,
    pub wg_client_address: String,
    /// Prefix length of the tunnel network (`10.8.0.0/24`).
    pub wg_prefix_len: u8,
    pub wg_listen_port: u16,
    /// The HOST_SERVER's public name or IP the WG_CLIENT dials; empty:
    /// `nginx.server_name` (the seed points it at the HOST_SERVER).
    pub wg_endpoint_host: String,
    /// systemd units (`gamegate render systemd`).
    pub binary_path: String,
    pub config_path: String,
    /// Secrets as `GAMEGATE_…` variables, mode 0600, read by systemd as root.
    pub environment_file: String,
    pub state_dir: String,
}

impl Default for DeployConfig {
    fn default() -> Self {
        Self {
            image: "gamegate:latest".into(),
            traefik_image: "traefik:v3.3".into(),
            mariadb_image: "mariadb:11".into(),
            postgres_image: "postgres:17".into(),
            register_replicas: 3,
            traefik_port: 1010,
            service_cpus: "1.0".into(),
            service_memory: "512M".into(),
            database_cpus: "2.0".into(),
            database_memory: "2G".into(),
            mariadb_database: "gamegate".into(),
            postgres_database: "gamegate_analytics".into(),
            database_user: "gamegate".into(),
            compose_subnet: "172.30.0.0/24".into(),
            wg_host_address: "10.8.0.1".into(),
            wg_client_address: "10.8.0.2".into(),
            wg_prefix_len: 24,
            wg_listen_port: 51820,
            wg_endpoint_host: String::new(),
            binary_path: "/usr/local/bin/gamegate".into(),
            config_path: "/etc/gamegate/gamegate.toml".into(),
            environment_file: "/etc/gamegate/gamegate.env".into(),
            state_dir: "/var/lib/gamegate".into(),
        }
    }
}

/// `gamegate backup` and the backup item of `gamegate doctor`
/// (docs/PRODUCTION_SETUP.md#backups).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Where `gamegate backup` (SQLite) and the documented mysqldump/pg_dump
    /// recipes write `gamegate-accounts-*` and `gamegate-analytics-*` files.
    /// Empty: backups are not configured (doctor says so).
    pub dir: String,
    /// Newest backups kept per database after each `gamegate backup`; 0 keeps all.
    pub keep: u32,
    /// `gamegate doctor` fails when the newest backup is older than this.
    pub max_age_hours: u64,
}

impl Default for BackupConfig {
    fn default() -> Self {
        Self {
            dir: String::new(),
            keep: 14,
            max_age_hours: 26,
        }
    }
}

/// Read only by `gamegate render prometheus-rules`: the alert thresholds
/// (docs/PRODUCTION_SETUP.md#monitoring). The `for:` durations are fixed in
/// the rules and documented there.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringConfig {
    /// The `job` label Prometheus gives the gamegate targets (its
    /// `scrape_configs` entry): `GamegateTargetDown` watches `up{job=…}`.
    pub job: String,
    /// `GamegateRegistrationErrorsHigh`: share of registrations, over 5
    /// minutes, that failed on gamegate's side (game server, database,
    /// Telegram unavailable, internal error), as a fraction in (0, 1].
    pub registration_error_ratio: f64,
    /// `GamegateHttp5xxHigh`: share of HTTP answers with a 5xx status over
    /// 5 minutes, as a fraction in (0, 1].
    pub http_5xx_ratio: f64,
    /// `GamegatePendingRegistrationsGrowing`: the reconciler's backlog
    /// (`gamegate_registrations_pending`) above this and not shrinking.
    pub pending_registrations: u32,
    /// `GamegateCertificateExpiring`: days before the certificate of
    /// gamegate's own TLS listener expires.
    pub certificate_expiry_days: u32,
    /// `GamegateBanSpike`: bans issued by one process within 10 minutes.
    pub bans_per_10m: u32,
}

impl Default for MonitoringConfig {
    fn default() -> Self {
        Self {
            job: "gamegate".into(),
            registration_error_ratio: 0.05,
            http_5xx_ratio: 0.05,
            pending_registrations: 10,
            certificate_expiry_days: 14,
            bans_per_10m: 20,
        }
    }
}

impl MonitoringConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let label_char = |c: char| c.is_ascii_alphanumeric() || "_.:/-".contains(c);
        if self.job.is_empty() || !self.job.chars().all(label_char) {
            bail!(
                "monitoring.job = {:?} must be a Prometheus job name (letters, digits, _ . : / -)",
                self.job
            );
        }
        for (key, ratio) in [
            ("registration_error_ratio", self.registration_error_ratio),
            ("http_5xx_ratio", self.http_5xx_ratio),
        ] {
            // 1 itself would be an alert that can never fire (`> 1`).
            if !(ratio > 0.0 && ratio < 1.0) {
                bail!(
                    "monitoring.{key} must be a fraction between 0 and 1 (exclusive), got {ratio}"
                );
            }
        }
        if self.pending_registrations == 0 || self.bans_per_10m == 0 {
            bail!("monitoring.pending_registrations and monitoring.bans_per_10m must be above 0");
        }
        if !(1..=365).contains(&self.certificate_expiry_days) {
            bail!(
                "monitoring.certificate_expiry_days must be between 1 and 365, got {}",
                self.certificate_expiry_days
            );
        }
        Ok(())
    }
}

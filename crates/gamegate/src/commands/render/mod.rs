//! `gamegate render …`: configuration for the software around gamegate,
//! generated from gamegate's own configuration so the two never drift apart
//! (docs/EDGE.md). Each target is a pure function `&Config → text`, unit-tested
//! here and exercised against the real program in `tests/nginx.rs`.

pub mod compose;
pub mod fail2ban;
pub mod grafana;
pub mod logrotate;
pub mod nginx;
pub mod prometheus;
pub mod systemd;
pub mod wireguard;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Config;

/// What `gamegate render` can write.
#[derive(Debug, Subcommand)]
pub enum RenderTarget {
    /// The public nginx site: TLS, API-key check, rate limits, CORS, JSON errors.
    /// The file holds the API keys: it is written mode 0600.
    Nginx {
        /// Where to write the site config; `-` prints it (with a warning: it holds the keys).
        #[arg(long, default_value = "gamegate-nginx.conf")]
        out: PathBuf,
    },
    /// A fail2ban filter and jail reading the access log (403/429 on /api/).
    Fail2ban {
        /// Directory that receives `filter.d/gamegate.conf` and `jail.d/gamegate.conf`
        /// (`/etc/fail2ban` to install directly).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// The WG_CLIENT's docker compose file: Traefik, register replicas, status,
    /// stats, the mock (profile `mock`), MariaDB, PostgreSQL; secrets as files.
    Compose {
        #[arg(long, default_value = "docker-compose.yml")]
        out: PathBuf,
    },
    /// Traefik's dynamic file (file provider): /api/register and the status paths.
    Traefik {
        #[arg(long, default_value = "traefik-dynamic.yml")]
        out: PathBuf,
    },
    /// systemd units gamegate-register|status|stats.service (without Docker), and
    /// gamegate-backup.service + .timer when backup.dir is set.
    Systemd {
        /// Directory for the units (`/etc/systemd/system` to install directly).
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// logrotate for log.access_log (SIGHUP to the services after rotating).
    Logrotate {
        #[arg(long, default_value = "gamegate-logrotate")]
        out: PathBuf,
    },
    /// wg0.conf for one end of the tunnel. Holds the private key: written mode 0600.
    Wireguard {
        #[arg(long, value_enum)]
        side: wireguard::Side,
        /// This end's private key, as `wg genkey` or `gamegate keygen wireguard` writes it.
        #[arg(long)]
        private_key_file: PathBuf,
        /// The other end's public key (base64).
        #[arg(long)]
        peer_public_key: String,
        #[arg(long, default_value = "wg0.conf")]
        out: PathBuf,
    },
    /// Prometheus alerting rules (game server down, registration errors, 5xx,
    /// pending registrations, database down, certificate expiry, ban spikes)
    /// with the thresholds of the `[monitoring]` section; check with `promtool check rules`.
    PrometheusRules {
        /// Where to write the rule file; `-` prints it.
        #[arg(long, default_value = "gamegate-rules.yml")]
        out: PathBuf,
        /// Also write unit tests of the rules for `promtool test rules FILE`.
        #[arg(long)]
        tests: Option<PathBuf>,
    },
    /// A Grafana dashboard (JSON, import with the Prometheus datasource).
    GrafanaDashboard {
        /// Where to write the dashboard; `-` prints it.
        #[arg(long, default_value = "gamegate-dashboard.json")]
        out: PathBuf,
    },
}

/// Renders one target and writes it; reports what was written on stdout,
/// never the content of a file that holds keys.
pub fn run(config: &Config, target: RenderTarget) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match target {
        RenderTarget::Nginx { out } => {
            let text = nginx::render(config)?;
            if out == Path::new("-") {
                eprintln!(
                    "gamegate: warning: the nginx config printed below contains the API keys \
                     (edge.api_keys); do not paste it anywhere public, store it mode 0600"
                );
                stdout.write_all(text.as_bytes())?;
                return Ok(());
            }
            write_file(&out, &text, 0o600)?;
            writeln!(
                stdout,
                "wrote {} (mode 0600: it contains {} API key(s)); check with `nginx -t`, apply with `nginx -s reload`",
                out.display(),
                config.edge.api_keys.len()
            )?;
        }
        RenderTarget::Fail2ban { out } => {
            let files = fail2ban::render(config)?;
            for (rel, text) in [
                ("filter.d/gamegate.conf", &files.filter),
                ("jail.d/gamegate.conf", &files.jail),
            ] {
                let path = out.join(rel);
                std::fs::create_dir_all(path.parent().expect("has a parent"))
                    .with_context(|| format!("cannot create {}", out.join(rel).display()))?;
                write_file(&path, text, 0o644)?;
                writeln!(stdout, "wrote {}", path.display())?;
            }
        }
        RenderTarget::Compose { out } => {
            write_file(&out, &compose::render_compose(config)?, 0o644)?;
            writeln!(
                stdout,
                "wrote {}; it reads secrets from ./secrets/{{{}}} beside it (create them mode 0600)",
                out.display(),
                compose::SECRETS.join(",")
            )?;
        }
        RenderTarget::Traefik { out } => {
            write_file(&out, &compose::render_traefik(config)?, 0o644)?;
            writeln!(stdout, "wrote {}", out.display())?;
        }
        RenderTarget::Systemd { out } => {
            std::fs::create_dir_all(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            for (name, text) in systemd::render(config)? {
                let path = out.join(name);
                write_file(&path, &text, 0o644)?;
                writeln!(stdout, "wrote {}", path.display())?;
            }
        }
        RenderTarget::Logrotate { out } => {
            write_file(&out, &logrotate::render(config)?, 0o644)?;
            writeln!(
                stdout,
                "wrote {}; check with `logrotate -d {}`",
                out.display(),
                out.display()
            )?;
        }
        RenderTarget::Wireguard {
            side,
            private_key_file,
            peer_public_key,
            out,
        } => {
            let text = std::fs::read_to_string(&private_key_file)
                .with_context(|| format!("cannot read {}", private_key_file.display()))?;
            let private = crate::shared::keys::WgKey::parse("--private-key-file", &text)?;
            let peer = crate::shared::keys::WgKey::parse("--peer-public-key", &peer_public_key)?;
            if peer == private.public() {
                bail!("--peer-public-key is this end's own public key; give the other end's");
            }
            let conf = wireguard::render(config, side, &private, &peer)?;
            write_file(&out, &conf, 0o600)?;
            writeln!(
                stdout,
                "wrote {} (mode 0600: it holds the private key); this end's public key: {}",
                out.display(),
                private.public().to_base64()
            )?;
        }
        RenderTarget::PrometheusRules { out, tests } => {
            let text = prometheus::render(config)?;
            if out == Path::new("-") {
                if tests.is_some() {
                    bail!("--tests needs the rules in a file (--out FILE): the tests load them");
                }
                stdout.write_all(text.as_bytes())?;
                return Ok(());
            }
            write_file(&out, &text, 0o644)?;
            writeln!(
                stdout,
                "wrote {}; check with `promtool check rules {}`, then add it to rule_files in prometheus.yml",
                out.display(),
                out.display()
            )?;
            if let Some(tests) = tests {
                let rules = rules_path_from(&tests, &out)?;
                write_file(&tests, &prometheus::render_tests(config, &rules)?, 0o644)?;
                writeln!(
                    stdout,
                    "wrote {}; run with `promtool test rules {}`",
                    tests.display(),
                    tests.display()
                )?;
            }
        }
        RenderTarget::GrafanaDashboard { out } => {
            let text = grafana::render();
            if out == Path::new("-") {
                stdout.write_all(text.as_bytes())?;
                return Ok(());
            }
            write_file(&out, &text, 0o644)?;
            writeln!(
                stdout,
                "wrote {}; import it in Grafana (Dashboards → New → Import) and pick the Prometheus datasource",
                out.display()
            )?;
        }
    }
    Ok(())
}

/// How the test file at `tests` names the rule file at `rules` in its
/// `rule_files:` (promtool resolves it from the test file's directory): the
/// bare name when both share a directory, else the absolute path.
fn rules_path_from(tests: &Path, rules: &Path) -> anyhow::Result<String> {
    let dir = |p: &Path| {
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty());
        std::path::absolute(parent.unwrap_or(Path::new(".")))
    };
    let name = rules
        .file_name()
        .with_context(|| format!("{} is not a file path", rules.display()))?;
    if dir(tests)? == dir(rules)? {
        return Ok(name.to_string_lossy().into_owned());
    }
    Ok(std::path::absolute(rules)?.to_string_lossy().into_owned())
}

/// Writes through a temporary file in the same directory and renames it, so
/// a reload never reads half a file; the mode is set on creation, so a file
/// with keys is never readable by others, not even for a moment.
pub(crate) use crate::shared::atomic_file::write as write_file;

/// Refuses a value that would change the meaning of the generated file
/// instead of escaping it: no quoting rule is shared by nginx and fail2ban,
/// and a refused value is easier to reason about than an escaped one.
fn check_chars(what: &str, value: &str, allowed: impl Fn(char) -> bool) -> anyhow::Result<()> {
    if value.is_empty() {
        bail!("{what} is empty");
    }
    if let Some(c) = value.chars().find(|&c| !allowed(c)) {
        bail!(
            "{what} = {value:?}: the character {c:?} is not allowed here \
             (it could change the meaning of the generated configuration)"
        );
    }
    Ok(())
}

/// A host name (`api.example.com`) or an IP literal (IPv6 in brackets).
fn check_host(what: &str, host: &str) -> anyhow::Result<()> {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6
            .parse::<std::net::Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| anyhow::anyhow!("{what}: {host:?} is not an IPv6 address"));
    }
    check_chars(what, host, |c| {
        c.is_ascii_alphanumeric() || c == '.' || c == '-'
    })?;
    if host.starts_with(['.', '-']) || host.len() > 253 {
        bail!("{what}: {host:?} is not a host name");
    }
    Ok(())
}

/// `HOST:PORT` with a host name or IP and a non-zero port.
fn check_host_port(what: &str, value: &str) -> anyhow::Result<u16> {
    let (host, port) = value
        .rsplit_once(':')
        .with_context(|| format!("{what}: {value:?} must be HOST:PORT"))?;
    check_host(what, host)?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => bail!("{what}: {value:?} has no valid port"),
    }
}

/// An absolute file path without whitespace or characters nginx or fail2ban
/// would interpret (`;`, quotes, `$`, braces, `%`, backslash).
fn check_path(what: &str, value: &str) -> anyhow::Result<()> {
    check_chars(what, value, |c| {
        c.is_ascii_alphanumeric() || "/._-+@:,".contains(c)
    })?;
    if !value.starts_with('/') {
        bail!("{what} = {value:?} must be an absolute path");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_checks_refuse_syntax_and_accept_names_and_ips() {
        for good in ["api.example.com", "localhost", "10.8.0.2", "[::1]"] {
            check_host("h", good).unwrap();
        }
        for bad in [
            "",
            "a;b",
            "a b",
            "a{",
            "\"x\"",
            "x'",
            "-x",
            "[nope]",
            "a\nb",
            "é.example",
        ] {
            assert!(check_host("h", bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(check_host_port("u", "10.8.0.2:1010").unwrap(), 1010);
        assert_eq!(check_host_port("u", "[::1]:8080").unwrap(), 8080);
        for bad in ["10.8.0.2", "x:0", "x:99999", "x;y:80", "x:80;"] {
            assert!(check_host_port("u", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn paths_must_be_absolute_and_plain() {
        check_path("p", "/var/log/nginx/gamegate-access.log").unwrap();
        for bad in [
            "relative.log",
            "/a b",
            "/a;b",
            "/a$b",
            "/a\"b",
            "/a{b}",
            "/a%b",
            "/a\\b",
        ] {
            assert!(check_path("p", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn private_files_are_created_0600_and_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("site.conf");
        std::fs::write(&path, "old").unwrap();
        write_file(&path, "new", 0o600).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

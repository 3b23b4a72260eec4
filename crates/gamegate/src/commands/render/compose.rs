//! The WG_CLIENT of the seed (`gamegate render compose|traefik`): a docker
//! compose file with Traefik, the register replicas, status, stats, the mock
//! game server (profile `mock`), MariaDB and PostgreSQL; and Traefik's
//! dynamic file that routes the public paths to them: registration, status,
//! and the public statistics reads (`GET` only) to `stats`.
//!
//! `stats` is also published on the WireGuard address (`{wg_client}:{stats
//! port}`), never through Traefik: the game server posts battles there
//! (`POST /stats/battles`, its ingest token), and the operator opens the
//! dashboard there (the admin token, `admin.tokens`).
//!
//! YAML is written as text, like the nginx site: every inserted value is
//! checked here first (names, images, numbers, addresses), and the strings
//! that reach the file can hold neither quotes, backslashes nor newlines, so
//! a double-quoted YAML scalar cannot be broken out of.

use std::fmt::Write as _;

use anyhow::{Context, bail};

use super::{check_chars, check_host_port};
use crate::config::Config;

/// Secrets the containers read from `/run/secrets/<name>`; compose takes each
/// from `./secrets/<name>` (mode 0600, never in the image or the YAML).
pub const SECRETS: &[&str] = &[
    "database_url",
    "analytics_url",
    "api_keys",
    "game_server_token",
    "telegram_bot_token",
    "admin_tokens",
    "ingest_tokens",
    "mariadb_password",
    "mariadb_root_password",
    "postgres_password",
];

/// Path of the mounted gamegate config inside the containers.
const CONFIG_IN_CONTAINER: &str = "/etc/gamegate/gamegate.toml";

/// Everything the two files insert, checked.
struct Deploy {
    image: String,
    traefik_image: String,
    mariadb_image: String,
    postgres_image: String,
    replicas: u32,
    traefik_port: u16,
    wg_client: std::net::IpAddr,
    wg_host: std::net::IpAddr,
    register_port: u16,
    status_port: u16,
    stats_port: u16,
    game_port: u16,
    service_cpus: String,
    service_memory: String,
    database_cpus: String,
    database_memory: String,
    mariadb_database: String,
    postgres_database: String,
    database_user: String,
    subnet: ipnet::IpNet,
}

impl Deploy {
    fn from_config(c: &Config) -> anyhow::Result<Self> {
        let d = &c.deploy;
        for (what, image) in [
            ("deploy.image", &d.image),
            ("deploy.traefik_image", &d.traefik_image),
            ("deploy.mariadb_image", &d.mariadb_image),
            ("deploy.postgres_image", &d.postgres_image),
        ] {
            check_image(what, image)?;
        }
        if !(1..=64).contains(&d.register_replicas) {
            bail!(
                "deploy.register_replicas must be between 1 and 64, got {}",
                d.register_replicas
            );
        }
        if d.traefik_port == 0 {
            bail!("deploy.traefik_port must be above 0");
        }
        for (what, v) in [
            ("deploy.service_cpus", &d.service_cpus),
            ("deploy.database_cpus", &d.database_cpus),
        ] {
            check_cpus(what, v)?;
        }
        for (what, v) in [
            ("deploy.service_memory", &d.service_memory),
            ("deploy.database_memory", &d.database_memory),
        ] {
            check_memory(what, v)?;
        }
        for (what, v) in [
            ("deploy.mariadb_database", &d.mariadb_database),
            ("deploy.postgres_database", &d.postgres_database),
            ("deploy.database_user", &d.database_user),
        ] {
            check_chars(what, v, |c| c.is_ascii_alphanumeric() || c == '_')?;
            if v.len() > 32 {
                bail!("{what} = {v:?} is longer than 32 characters");
            }
        }
        let subnet: ipnet::IpNet = d.compose_subnet.parse().map_err(|_| {
            anyhow::anyhow!("deploy.compose_subnet {:?} is not a CIDR", d.compose_subnet)
        })?;
        let game_port = check_host_port("game_server.addr", &c.game_server.addr)?;
        Ok(Self {
            image: d.image.clone(),
            traefik_image: d.traefik_image.clone(),
            mariadb_image: d.mariadb_image.clone(),
            postgres_image: d.postgres_image.clone(),
            replicas: d.register_replicas,
            traefik_port: d.traefik_port,
            wg_client: parse_ip("deploy.wg_client_address", &d.wg_client_address)?,
            wg_host: parse_ip("deploy.wg_host_address", &d.wg_host_address)?,
            register_port: c.services.register_addr.port(),
            status_port: c.services.status_addr.port(),
            stats_port: c.services.stats_addr.port(),
            game_port,
            service_cpus: d.service_cpus.clone(),
            service_memory: d.service_memory.clone(),
            database_cpus: d.database_cpus.clone(),
            database_memory: d.database_memory.clone(),
            mariadb_database: d.mariadb_database.clone(),
            postgres_database: d.postgres_database.clone(),
            database_user: d.database_user.clone(),
            subnet,
        })
    }
}

pub fn parse_ip(what: &str, v: &str) -> anyhow::Result<std::net::IpAddr> {
    v.parse()
        .map_err(|_| anyhow::anyhow!("{what} = {v:?} is not an IP address"))
}

/// `registry/name:tag` or `name@sha256:…`.
fn check_image(what: &str, v: &str) -> anyhow::Result<()> {
    check_chars(what, v, |c| {
        c.is_ascii_alphanumeric() || "._-/:@".contains(c)
    })?;
    if v.starts_with(['-', '.', '/', ':']) {
        bail!("{what} = {v:?} is not an image reference");
    }
    Ok(())
}

/// A positive decimal such as `1.0` or `0.5`.
fn check_cpus(what: &str, v: &str) -> anyhow::Result<()> {
    check_chars(what, v, |c| c.is_ascii_digit() || c == '.')?;
    match v.parse::<f64>() {
        Ok(n) if n > 0.0 => Ok(()),
        _ => bail!("{what} = {v:?} must be a positive number of CPUs like \"1.0\""),
    }
}

/// Bytes with an optional unit: `512M`, `2G`.
fn check_memory(what: &str, v: &str) -> anyhow::Result<()> {
    let digits = v.trim_end_matches(['k', 'K', 'm', 'M', 'g', 'G']);
    if digits.is_empty()
        || v.len() - digits.len() > 1
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || digits.bytes().all(|b| b == b'0')
    {
        bail!("{what} = {v:?} must be a size like \"512M\" or \"2G\"");
    }
    Ok(())
}

fn header(o: &mut String, what: &str) {
    let _ = writeln!(
        o,
        "# gamegate: generated by `gamegate render {what}` ({}).\n\
         # Re-render instead of editing. See docs/PRODUCTION_SETUP.md.",
        env!("CARGO_PKG_VERSION")
    );
}

/// Names of the register containers, also Traefik's servers.
fn register_names(n: u32) -> impl Iterator<Item = String> {
    (1..=n).map(|i| format!("register-{i}"))
}

/// Traefik's rule for the public statistics reads: `GET` (and `HEAD`) of
/// exactly these paths; `POST /stats/battles`, the reports and the
/// dashboard match no router (Traefik's 404).
pub const STATS_RULE: &str = "(Method(`GET`) || Method(`HEAD`)) && (PathPrefix(`/stats/players/`) \
     || Path(`/stats/leaderboard`) || Path(`/stats/summary`) || Path(`/ml/predict`))";

/// The registration service's paths: `/api/register` and the account
/// routes beside it, each of those with its one method (and the CORS
/// preflight); a GET of an account path matches no router (Traefik's 404).
/// The `{login}` is one path segment, passed on as the client sent it.
pub const REGISTER_RULE: &str = "Path(`/api/register`) \
     || ((Method(`DELETE`) || Method(`OPTIONS`)) && PathRegexp(`^/api/accounts/[^/]+$`)) \
     || ((Method(`POST`) || Method(`OPTIONS`)) && PathRegexp(`^/api/accounts/[^/]+/password$`))";

pub fn render_traefik(config: &Config) -> anyhow::Result<String> {
    let d = Deploy::from_config(config)?;
    let mut o = String::new();
    header(&mut o, "traefik");
    o.push_str(
        "# Traefik's dynamic configuration (file provider). Only the public paths are\n\
         # routed: registration and the account routes, status, and GET of the\n\
         # public statistics. Battle ingestion, the dashboard, the reports,\n\
         # /internal/* and /metrics answer Traefik's 404: they are reached on the\n\
         # private network only.\n\
         http:\n  routers:\n",
    );
    for (router, rule) in [
        ("gamegate-register", REGISTER_RULE),
        (
            "gamegate-status",
            "Path(`/server/status`) || Path(`/api/server/status`)",
        ),
        ("gamegate-stats", STATS_RULE),
    ] {
        let _ = writeln!(
            o,
            "    {router}:\n      entryPoints: [\"web\"]\n      rule: \"{rule}\"\n      service: {router}"
        );
    }
    o.push_str("  services:\n");
    let register: Vec<String> = register_names(d.replicas)
        .map(|n| format!("http://{n}:{}", d.register_port))
        .collect();
    let status = vec![format!("http://status:{}", d.status_port)];
    let stats = vec![format!("http://stats:{}", d.stats_port)];
    for (service, servers) in [
        ("gamegate-register", register),
        ("gamegate-status", status),
        ("gamegate-stats", stats),
    ] {
        let _ = writeln!(
            o,
            "    {service}:\n      loadBalancer:\n\
             \x20       # Readiness: a replica that cannot work (503: a database or the game\n\
             \x20       # server it needs is down) leaves the rotation until it answers 200.\n\
             \x20       healthCheck:\n          path: /internal/health/ready\n          interval: 10s\n          timeout: 3s\n\
             \x20       servers:"
        );
        for url in servers {
            let _ = writeln!(o, "          - url: \"{url}\"");
        }
    }
    Ok(o)
}

pub fn render_compose(config: &Config) -> anyhow::Result<String> {
    let d = Deploy::from_config(config)?;
    let mut o = String::new();
    header(&mut o, "compose");
    let _ = writeln!(
        o,
        "# The WG_CLIENT: Traefik on {wg}:{tp} (nginx's upstream over WireGuard) in front\n\
         # of register ×{n}, status and stats; MariaDB (accounts) and PostgreSQL\n\
         # (analytics). Secrets come from ./secrets/<name> files (mode 0600) as\n\
         # *_FILE variables, never from this file. Beside it: gamegate.toml (the\n\
         # config these files were rendered from) and traefik-dynamic.yml.\n\
         #   docker compose up -d                    # the mock: --profile mock\n\
         #   docker compose run --rm migrate         # optional, services migrate at start\n\
         name: gamegate\n",
        wg = d.wg_client,
        tp = d.traefik_port,
        n = d.replicas,
    );
    o.push_str("services:\n");

    // Traefik: the file provider, so no Docker socket is mounted into the
    // one container that faces the tunnel.
    let _ = writeln!(
        o,
        "  traefik:\n    image: \"{img}\"\n    restart: unless-stopped\n    command:\n\
         \x20     - \"--entrypoints.web.address=:{tp}\"\n\
         \x20     # Keep nginx's X-Forwarded-For (it names the client) only from the HOST_SERVER.\n\
         \x20     - \"--entrypoints.web.forwardedHeaders.trustedIPs={wgh}\"\n\
         \x20     - \"--providers.file.filename=/etc/traefik/dynamic.yml\"\n\
         \x20     - \"--providers.file.watch=true\"\n\
         \x20     - \"--ping=true\"\n\
         \x20   ports:\n\
         \x20     # Only on the WireGuard address: nothing is published on the public interface.\n\
         \x20     - \"{wg}:{tp}:{tp}\"\n\
         \x20   volumes:\n      - \"./traefik-dynamic.yml:/etc/traefik/dynamic.yml:ro\"\n\
         \x20   healthcheck:\n      test: [\"CMD\", \"traefik\", \"healthcheck\", \"--ping\"]\n\
         \x20     interval: 15s\n      timeout: 5s\n      retries: 3\n\
         \x20   depends_on: [{deps}]\n\
         \x20   networks: [gamegate]\n\
         \x20   deploy:\n      resources:\n        limits:\n          cpus: \"{cpus}\"\n          memory: \"{mem}\"",
        img = d.traefik_image,
        tp = d.traefik_port,
        wg = d.wg_client,
        wgh = d.wg_host,
        deps = register_names(d.replicas)
            .chain(["status".to_owned(), "stats".to_owned()])
            .collect::<Vec<_>>()
            .join(", "),
        cpus = d.service_cpus,
        mem = d.service_memory,
    );

    for name in register_names(d.replicas) {
        write_service(
            &mut o,
            &d,
            &name,
            "register",
            d.register_port,
            &[
                "database_url",
                "api_keys",
                "game_server_token",
                "telegram_bot_token",
                "admin_tokens",
            ],
            "mariadb",
            None,
        );
    }
    write_service(
        &mut o,
        &d,
        "status",
        "status",
        d.status_port,
        &["database_url", "admin_tokens"],
        "mariadb",
        None,
    );
    write_service(
        &mut o,
        &d,
        "stats",
        "stats",
        d.stats_port,
        // The accounts database too: /stats/registrations and /stats/top-telegram.
        &[
            "analytics_url",
            "database_url",
            "admin_tokens",
            "ingest_tokens",
        ],
        "postgres",
        // For the game server's battles and the operator's dashboard.
        Some(d.wg_client),
    );

    let _ = writeln!(
        o,
        "  # `docker compose run --rm migrate`: both databases' migrations, then exits.\n\
         \x20 migrate:\n    image: \"{img}\"\n    profiles: [tools]\n    restart: \"no\"\n\
         \x20   command: [\"migrate\"]\n{env}\
         \x20   volumes:\n      - \"./gamegate.toml:{CONFIG_IN_CONTAINER}:ro\"\n\
         \x20   secrets: [database_url, analytics_url]\n\
         \x20   depends_on:\n      mariadb:\n        condition: service_healthy\n      postgres:\n        condition: service_healthy\n\
         \x20   networks: [gamegate]",
        img = d.image,
        env = env_block(&d, None, &["database_url", "analytics_url"]),
    );

    // The mock has no HTTP listener, so no healthcheck; the services do not
    // depend on it, so the same file runs against the real game server.
    let _ = writeln!(
        o,
        "  # --profile mock: set game_server.addr = \"gameserver-mock:{gp}\" in gamegate.toml.\n\
         \x20 gameserver-mock:\n    image: \"{img}\"\n    profiles: [mock]\n    restart: unless-stopped\n\
         \x20   command: [\"gameserver-mock\", \"--listen\", \"0.0.0.0:{gp}\"]\n{env}\
         \x20   volumes:\n      - \"./gamegate.toml:{CONFIG_IN_CONTAINER}:ro\"\n\
         \x20   secrets: [game_server_token]\n    expose: [\"{gp}\"]\n    networks: [gamegate]\n\
         \x20   deploy:\n      resources:\n        limits:\n          cpus: \"{cpus}\"\n          memory: \"{mem}\"",
        img = d.image,
        gp = d.game_port,
        env = env_block(&d, None, &["game_server_token"]),
        cpus = d.service_cpus,
        mem = d.service_memory,
    );

    let _ = writeln!(
        o,
        "  mariadb:\n    image: \"{img}\"\n    restart: unless-stopped\n    environment:\n\
         \x20     MARIADB_DATABASE: \"{db}\"\n      MARIADB_USER: \"{user}\"\n\
         \x20     MARIADB_PASSWORD_FILE: /run/secrets/mariadb_password\n\
         \x20     MARIADB_ROOT_PASSWORD_FILE: /run/secrets/mariadb_root_password\n\
         \x20   secrets: [mariadb_password, mariadb_root_password]\n\
         \x20   volumes:\n      - \"mariadb-data:/var/lib/mysql\"\n\
         \x20   healthcheck:\n      test: [\"CMD\", \"healthcheck.sh\", \"--connect\", \"--innodb_initialized\"]\n\
         \x20     interval: 10s\n      timeout: 5s\n      retries: 5\n      start_period: 30s\n\
         \x20   networks: [gamegate]\n\
         \x20   deploy:\n      resources:\n        limits:\n          cpus: \"{cpus}\"\n          memory: \"{mem}\"",
        img = d.mariadb_image,
        db = d.mariadb_database,
        user = d.database_user,
        cpus = d.database_cpus,
        mem = d.database_memory,
    );
    let _ = writeln!(
        o,
        "  postgres:\n    image: \"{img}\"\n    restart: unless-stopped\n    environment:\n\
         \x20     POSTGRES_DB: \"{db}\"\n      POSTGRES_USER: \"{user}\"\n\
         \x20     POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password\n\
         \x20   secrets: [postgres_password]\n\
         \x20   volumes:\n      - \"postgres-data:/var/lib/postgresql/data\"\n\
         \x20   healthcheck:\n      test: [\"CMD\", \"pg_isready\", \"-U\", \"{user}\", \"-d\", \"{db}\"]\n\
         \x20     interval: 10s\n      timeout: 5s\n      retries: 5\n      start_period: 30s\n\
         \x20   networks: [gamegate]\n\
         \x20   deploy:\n      resources:\n        limits:\n          cpus: \"{cpus}\"\n          memory: \"{mem}\"",
        img = d.postgres_image,
        db = d.postgres_database,
        user = d.database_user,
        cpus = d.database_cpus,
        mem = d.database_memory,
    );

    let _ = writeln!(
        o,
        "networks:\n  gamegate:\n    ipam:\n      config:\n        - subnet: \"{}\"\n\
         volumes:\n  mariadb-data:\n  postgres-data:\nsecrets:",
        d.subnet
    );
    for s in SECRETS {
        let _ = writeln!(o, "  {s}:\n    file: \"./secrets/{s}\"");
    }
    Ok(o)
}

/// The environment of a gamegate container: the mounted config, the
/// secrets as `*_FILE`, and (for a service) its listener on every address.
fn env_block(d: &Deploy, listener: Option<(&str, u16)>, secrets: &[&str]) -> String {
    let mut e = String::from("    environment:\n");
    let _ = writeln!(e, "      GAMEGATE_CONFIG: \"{CONFIG_IN_CONTAINER}\"");
    for s in secrets {
        let var = match *s {
            "database_url" => "GAMEGATE_DATABASE__URL_FILE",
            "analytics_url" => "GAMEGATE_ANALYTICS__URL_FILE",
            "api_keys" => "GAMEGATE_EDGE__API_KEYS_FILE",
            "game_server_token" => "GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE",
            "telegram_bot_token" => "GAMEGATE_TELEGRAM__BOT_TOKEN_FILE",
            "admin_tokens" => "GAMEGATE_ADMIN__TOKENS_FILE",
            "ingest_tokens" => "GAMEGATE_ANALYTICS__INGEST_TOKENS_FILE",
            other => unreachable!("no variable for secret {other}"),
        };
        let _ = writeln!(e, "      {var}: \"/run/secrets/{s}\"");
    }
    if let Some((service, port)) = listener {
        let _ = writeln!(
            e,
            "      GAMEGATE_SERVICES__{}_ADDR: \"0.0.0.0:{port}\"",
            service.to_ascii_uppercase()
        );
        // Traefik's address is in the compose network; the HOST_SERVER's is
        // the hop before it in X-Forwarded-For.
        let _ = writeln!(
            e,
            "      GAMEGATE_EDGE__TRUSTED_PROXIES: \"{},{}\"",
            d.subnet, d.wg_host
        );
        // docker logs collects stdout; a file inside the container would
        // need its own rotation.
        e.push_str("      GAMEGATE_LOG__ACCESS_LOG: \"stdout\"\n");
    }
    e
}

/// One `serve …` container; `published`: the private address (WireGuard)
/// its port is also published on, beside Traefik.
#[allow(clippy::too_many_arguments)]
fn write_service(
    o: &mut String,
    d: &Deploy,
    name: &str,
    service: &str,
    port: u16,
    secrets: &[&str],
    database: &str,
    published: Option<std::net::IpAddr>,
) {
    let reach = match published {
        None => "\x20   # Reached through Traefik only: exposed on the compose network, not published.\n"
            .to_owned(),
        Some(ip) => {
            let ip = match ip {
                std::net::IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            };
            format!(
                "\x20   # Public reads through Traefik (GET only). Published on the WireGuard address\n\
                 \x20   # only, never on the public interface: the game server posts battles to\n\
                 \x20   # http://{ip}:{port}/stats/battles (or http://{name}:{port} on this network), the\n\
                 \x20   # operator opens http://{ip}:{port}/admin/dashboard with an admin token.\n\
                 \x20   ports:\n      - \"{ip}:{port}:{port}\"\n"
            )
        }
    };
    let _ = writeln!(
        o,
        "  {name}:\n    image: \"{img}\"\n    restart: unless-stopped\n\
         \x20   command: [\"serve\", \"{service}\"]\n{env}\
         \x20   volumes:\n      - \"./gamegate.toml:{CONFIG_IN_CONTAINER}:ro\"\n\
         \x20   secrets: [{secrets}]\n\
         {reach}\
         \x20   expose: [\"{port}\"]\n\
         \x20   # Liveness (GET /internal/health/live): unhealthy only when the process stops\n\
         \x20   # serving; a database or the game server down is readiness, Traefik's concern.\n\
         \x20   healthcheck:\n      test: [\"CMD\", \"gamegate\", \"healthcheck\", \"--service\", \"{service}\"]\n\
         \x20     interval: 15s\n      timeout: 5s\n      retries: 3\n      start_period: 20s\n\
         \x20   depends_on:\n      {database}:\n        condition: service_healthy\n\
         \x20   networks: [gamegate]\n\
         \x20   deploy:\n      resources:\n        limits:\n          cpus: \"{cpus}\"\n          memory: \"{mem}\"",
        img = d.image,
        env = env_block(d, Some((service, port)), secrets),
        secrets = secrets.join(", "),
        cpus = d.service_cpus,
        mem = d.service_memory,
    );
}

/// Used by the WireGuard renderer: the endpoint host the WG_CLIENT dials.
pub fn endpoint_host(config: &Config) -> anyhow::Result<String> {
    let host = if config.deploy.wg_endpoint_host.is_empty() {
        config.nginx.server_name.clone()
    } else {
        config.deploy.wg_endpoint_host.clone()
    };
    super::check_host("deploy.wg_endpoint_host", &host).context("the WireGuard endpoint")?;
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_give_three_replicas_behind_traefik_on_the_tunnel_address() {
        let c = Config::default();
        let compose = render_compose(&c).unwrap();
        for needle in [
            "\"10.8.0.2:1010:1010\"",
            "  register-3:\n",
            "command: [\"serve\", \"register\"]",
            "GAMEGATE_SERVICES__REGISTER_ADDR: \"0.0.0.0:8080\"",
            "GAMEGATE_SERVICES__STATUS_ADDR: \"0.0.0.0:8081\"",
            "GAMEGATE_SERVICES__STATS_ADDR: \"0.0.0.0:8084\"",
            "restart: unless-stopped",
            "profiles: [mock]",
        ] {
            assert!(compose.contains(needle), "missing {needle:?}");
        }
        assert!(!compose.contains("register-4"));
        let traefik = render_traefik(&c).unwrap();
        assert!(traefik.contains("- url: \"http://register-3:8080\""));
        assert!(traefik.contains("- url: \"http://status:8081\""));
        assert!(traefik.contains("- url: \"http://stats:8084\""));
        assert!(!traefik.contains("Path(`/internal"));
        assert!(!traefik.contains("/stats/battles") && !traefik.contains("/admin"));
        // The one prefix is the player statistics'.
        assert_eq!(traefik.matches("PathPrefix").count(), 1);
        assert!(traefik.contains("PathPrefix(`/stats/players/`)"));
        assert!(compose.contains("- \"10.8.0.2:8084:8084\""));
        assert_eq!(compose.matches("GAMEGATE_ADMIN__TOKENS_FILE").count(), 5);
        assert_eq!(
            compose
                .matches("GAMEGATE_ANALYTICS__INGEST_TOKENS_FILE")
                .count(),
            1,
            "the ingest token only where battles are posted"
        );
    }

    #[test]
    fn syntax_in_deploy_values_is_refused_not_injected() {
        type Set = fn(&mut Config);
        let cases: [(Set, &str); 8] = [
            (
                |c| c.deploy.image = "gg:1\"\n  privileged: true".into(),
                "deploy.image",
            ),
            (|c| c.deploy.image = "-x".into(), "deploy.image"),
            (
                |c| c.deploy.service_cpus = "1; rm".into(),
                "deploy.service_cpus",
            ),
            (
                |c| c.deploy.service_memory = "512MB".into(),
                "deploy.service_memory",
            ),
            (
                |c| c.deploy.database_user = "u\"x".into(),
                "deploy.database_user",
            ),
            (
                |c| c.deploy.compose_subnet = "172.30.0.0/99".into(),
                "deploy.compose_subnet",
            ),
            (
                |c| c.deploy.wg_client_address = "10.8.0.2\n".into(),
                "deploy.wg_client_address",
            ),
            (
                |c| c.deploy.register_replicas = 0,
                "deploy.register_replicas",
            ),
        ];
        for (set, needle) in cases {
            let mut c = Config::default();
            set(&mut c);
            let err = format!("{:#}", render_compose(&c).unwrap_err());
            assert!(err.contains(needle), "{needle}: {err}");
            assert!(render_traefik(&c).is_err());
        }
    }

    #[test]
    fn memory_and_cpu_formats() {
        for good in ["512M", "2G", "1024", "64k"] {
            check_memory("m", good).unwrap();
        }
        for bad in ["", "M", "0", "1.5G", "2GG", "-1M"] {
            assert!(check_memory("m", bad).is_err(), "{bad:?}");
        }
        check_cpus("c", "0.5").unwrap();
        assert!(check_cpus("c", "0").is_err());
        assert!(check_cpus("c", "1.2.3").is_err());
    }
}

//! `gamegate doctor`: the production checklist (docs/PRODUCTION_SETUP.md#checklist)
//! checked against one configuration. Each check is data — an id, an
//! outcome, the reason, the fix — produced by [`run`]; printing is separate
//! ([`Report::to_text`], [`Report::to_json`]), so tests assert on outcomes.
//!
//! Every network check has its own short bound; they run concurrently, so a
//! run takes about as long as the slowest check. No secret is ever part of a
//! reason: keys are counted, URLs are masked, the bot token is never shown.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gamegate_gameserver::{FailureKind, GameServer as _, TcpGameServer};
use gamegate_store::MigrationSet;
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::config::{Config, DEV_GAME_SERVER_TOKEN};
use crate::shared::backup_files::{self, Which};
use crate::shared::certificate::{CertFacts, CertProblem};
use crate::shared::operator_db::open_existing;

/// Bound on each network check (connect + the question asked).
pub const NETWORK_LIMIT: Duration = Duration::from_secs(5);
/// API keys shorter than this fail (a generated key has 44).
pub const MIN_KEY_CHARS: usize = 32;
/// … and keys whose estimated entropy is below this.
pub const MIN_KEY_BITS: f64 = 128.0;

/// The items of the checklist doctor can check.
///
/// `--skip` takes exactly the names the report prints ([`CheckId::name`],
/// snake_case), so a name copied from a report works on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum CheckId {
    Certificate,
    /// TLS on a listener that faces the internet (or a proxy in front).
    Tls,
    ApiKeys,
    Cors,
    RateLimits,
    TrustedProxies,
    /// The admin listener (metrics, dashboard, reports) and `serve stats`
    /// are on loopback, or behind `admin.tokens`.
    AdminListener,
    AccountsDatabase,
    AnalyticsDatabase,
    GameServer,
    /// `game_server.auth_token` is not the development default and is strong.
    GameServerToken,
    /// `game_server.embedded_mock` is off.
    EmbeddedMock,
    Telegram,
    Logging,
    Backup,
    /// `http.demo_site` is off.
    DemoSite,
    /// `analytics.seed_demo_history` is off.
    DemoHistory,
}

impl CheckId {
    pub const ALL: [CheckId; 17] = [
        CheckId::Certificate,
        CheckId::Tls,
        CheckId::ApiKeys,
        CheckId::Cors,
        CheckId::RateLimits,
        CheckId::TrustedProxies,
        CheckId::AdminListener,
        CheckId::AccountsDatabase,
        CheckId::AnalyticsDatabase,
        CheckId::GameServer,
        CheckId::GameServerToken,
        CheckId::EmbeddedMock,
        CheckId::Telegram,
        CheckId::Logging,
        CheckId::Backup,
        CheckId::DemoSite,
        CheckId::DemoHistory,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckId::Certificate => "certificate",
            CheckId::Tls => "tls",
            CheckId::AdminListener => "admin_listener",
            CheckId::GameServerToken => "game_server_token",
            CheckId::EmbeddedMock => "embedded_mock",
            CheckId::DemoSite => "demo_site",
            CheckId::DemoHistory => "demo_history",
            CheckId::ApiKeys => "api_keys",
            CheckId::Cors => "cors",
            CheckId::RateLimits => "rate_limits",
            CheckId::TrustedProxies => "trusted_proxies",
            CheckId::AccountsDatabase => "accounts_database",
            CheckId::AnalyticsDatabase => "analytics_database",
            CheckId::GameServer => "game_server",
            CheckId::Telegram => "telegram",
            CheckId::Logging => "logging",
            CheckId::Backup => "backup",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    NotApplicable,
}

impl Outcome {
    pub fn symbol(self) -> &'static str {
        match self {
            Outcome::Pass => "✓",
            Outcome::Fail => "✗",
            Outcome::NotApplicable => "–",
        }
    }
}

/// One checked item.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub id: CheckId,
    pub outcome: Outcome,
    pub reason: String,
    /// What to do; set when the check failed.
    pub fix: Option<String>,
    pub elapsed_ms: u64,
}

impl Check {
    fn pass(id: CheckId, reason: impl Into<String>) -> Self {
        Self {
            id,
            outcome: Outcome::Pass,
            reason: reason.into(),
            fix: None,
            elapsed_ms: 0,
        }
    }

    fn fail(id: CheckId, reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            id,
            outcome: Outcome::Fail,
            reason: reason.into(),
            fix: Some(fix.into()),
            elapsed_ms: 0,
        }
    }

    fn not_applicable(id: CheckId, reason: impl Into<String>) -> Self {
        Self {
            id,
            outcome: Outcome::NotApplicable,
            reason: reason.into(),
            fix: None,
            elapsed_ms: 0,
        }
    }
}

/// Every check of one run, in checklist order.
#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<Check>,
    pub elapsed: Duration,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed().is_empty()
    }

    pub fn failed(&self) -> Vec<CheckId> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.id)
            .collect()
    }

    pub fn get(&self, id: CheckId) -> &Check {
        self.checks
            .iter()
            .find(|c| c.id == id)
            .expect("every check is in the report")
    }

    fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    /// One line per check (`✓ name  reason`), a `fix:` line under each ✗.
    pub fn to_text(&self) -> String {
        let width = CheckId::ALL
            .iter()
            .map(|c| c.name().len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(&format!(
                "{} {:width$}  {}\n",
                c.outcome.symbol(),
                c.id.name(),
                c.reason
            ));
            if let Some(fix) = &c.fix {
                out.push_str(&format!("  {:width$}  fix: {fix}\n", ""));
            }
        }
        out.push_str(&format!(
            "{} passed, {} failed, {} not applicable ({} ms)\n",
            self.count(Outcome::Pass),
            self.count(Outcome::Fail),
            self.count(Outcome::NotApplicable),
            self.elapsed.as_millis()
        ));
        out
    }

    pub fn to_json(&self) -> Value {
        json!({
            "ok": self.ok(),
            "passed": self.count(Outcome::Pass),
            "failed": self.count(Outcome::Fail),
            "not_applicable": self.count(Outcome::NotApplicable),
            "elapsed_ms": self.elapsed.as_millis() as u64,
            "checks": self.checks,
        })
    }
}

/// Runs every check except those in `skip` (reported as not applicable).
pub async fn run(config: &Config, skip: &[CheckId]) -> Report {
    let started = Instant::now();
    let now = OffsetDateTime::now_utc();
    let skipped = |id: CheckId| skip.contains(&id);
    let (accounts, analytics, game, telegram) = tokio::join!(
        timed(skipped(CheckId::AccountsDatabase), || database(
            config,
            Which::Accounts
        )),
        timed(skipped(CheckId::AnalyticsDatabase), || database(
            config,
            Which::Analytics
        )),
        timed(skipped(CheckId::GameServer), || game_server(config)),
        timed(skipped(CheckId::Telegram), || telegram_bot(config)),
    );
    let mut checks = Vec::new();
    for id in CheckId::ALL {
        let check = match id {
            _ if skipped(id) => Check::not_applicable(id, "skipped (--skip)"),
            CheckId::Certificate => certificate(config, now),
            CheckId::Tls => tls(config),
            CheckId::AdminListener => admin_listener(config),
            CheckId::GameServerToken => game_server_token(config),
            CheckId::EmbeddedMock => embedded_mock(config),
            CheckId::DemoSite => demo_site(config),
            CheckId::DemoHistory => demo_history(config),
            CheckId::ApiKeys => api_keys(config),
            CheckId::Cors => cors(config),
            CheckId::RateLimits => rate_limits(config),
            CheckId::TrustedProxies => trusted_proxies(config),
            CheckId::AccountsDatabase => accounts.clone(),
            CheckId::AnalyticsDatabase => analytics.clone(),
            CheckId::GameServer => game.clone(),
            CheckId::Telegram => telegram.clone(),
            CheckId::Logging => logging(config),
            CheckId::Backup => backup_check(config),
        };
        checks.push(check);
    }
    Report {
        checks,
        elapsed: started.elapsed(),
    }
}

/// Runs a network check under [`NETWORK_LIMIT`] and records its duration;
/// a skipped one is not run at all.
async fn timed<F, Fut>(skip: bool, check: F) -> Check
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Check>,
{
    if skip {
        // Replaced by the runner's "skipped" entry.
        return Check::not_applicable(CheckId::Backup, "skipped");
    }
    let started = Instant::now();
    let mut check = check().await;
    check.elapsed_ms = started.elapsed().as_millis() as u64;
    check
}

// ---------------------------------------------------------------- certificate

/// The certificate and key files the configuration names: gamegate's own
/// (`http.tls_cert_file`) when it terminates TLS, else nginx's.
fn certificate_files(config: &Config) -> (PathBuf, PathBuf, &'static str) {
    if !config.http.tls_cert_file.is_empty() {
        return (
            config.http.tls_cert_file.clone().into(),
            config.http.tls_key_file.clone().into(),
            "http.tls_cert_file",
        );
    }
    let live = Path::new("/etc/letsencrypt/live").join(&config.nginx.server_name);
    let cert = match config.nginx.tls_certificate.as_str() {
        "" => live.join("fullchain.pem"),
        path => path.into(),
    };
    let key = match config.nginx.tls_certificate_key.as_str() {
        "" => live.join("privkey.pem"),
        path => path.into(),
    };
    (cert, key, "nginx.tls_certificate")
}

fn certificate(config: &Config, now: OffsetDateTime) -> Check {
    let id = CheckId::Certificate;
    let (cert_path, key_path, key_name) = certificate_files(config);
    let domain = config.nginx.server_name.as_str();
    let certbot = format!(
        "on the HOST_SERVER: certbot certonly --standalone -d {domain} (or set {key_name}); \
         on a host without the public certificate run doctor with --skip certificate"
    );
    let der = match first_certificate(&cert_path) {
        Ok(der) => der,
        Err(CertFileError::Missing) => {
            return Check::fail(
                id,
                format!("{} ({key_name}) does not exist", cert_path.display()),
                certbot,
            );
        }
        Err(CertFileError::Unreadable(e)) => {
            return Check::fail(
                id,
                format!("cannot read {}: {e}", cert_path.display()),
                "run doctor as a user that can read the certificate (e.g. root)",
            );
        }
        Err(CertFileError::NoPem) => {
            return Check::fail(
                id,
                format!("{} holds no PEM certificate", cert_path.display()),
                format!(
                    "{key_name} must name the PEM chain (fullchain.pem), leaf certificate first"
                ),
            );
        }
    };
    let facts = match CertFacts::parse(&der) {
        Ok(f) => f,
        Err(e) => {
            return Check::fail(
                id,
                format!(
                    "{} is not a parseable X.509 certificate: {e}",
                    cert_path.display()
                ),
                certbot,
            );
        }
    };
    if let Err(reason) = facts.judge(domain, now) {
        let fix = match reason {
            CertProblem::Name(_) => format!(
                "get a certificate for {domain} (certbot certonly -d {domain}), or correct nginx.server_name"
            ),
            CertProblem::Expiring(_) | CertProblem::NotYetValid(_) => {
                "renew it: certbot renew (and check `systemctl list-timers | grep certbot`); \
                 gamegate reloads a changed certificate by itself, nginx with `nginx -s reload`"
                    .into()
            }
        };
        return Check::fail(id, format!("{}: {reason}", cert_path.display()), fix);
    }
    if let Err(e) = private_key(&key_path) {
        return Check::fail(
            id,
            format!("private key {}: {e}", key_path.display()),
            "the key must be the PEM private key of this certificate (privkey.pem)",
        );
    }
    let days = (facts.not_after - now).whole_days();
    Check::pass(
        id,
        format!(
            "{}: for {domain}, valid until {} ({days} days left); key {} parses",
            cert_path.display(),
            facts.not_after.date(),
            key_path.display()
        ),
    )
}

enum CertFileError {
    Missing,
    Unreadable(std::io::Error),
    NoPem,
}

fn first_certificate(path: &Path) -> Result<Vec<u8>, CertFileError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject as _;
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CertFileError::Missing),
        Err(e) => return Err(CertFileError::Unreadable(e)),
    };
    CertificateDer::pem_slice_iter(&text)
        .next()
        .and_then(Result::ok)
        .map(|c| c.to_vec())
        .ok_or(CertFileError::NoPem)
}

fn private_key(path: &Path) -> Result<(), String> {
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject as _;
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map(|_| ())
        .map_err(|_| "no PEM private key in it".to_owned())
}

// -------------------------------------------------------------- edge policy

fn api_keys(config: &Config) -> Check {
    let id = CheckId::ApiKeys;
    let keys = crate::config::expose_all(&config.edge.api_keys);
    let generate = "generate one with `gamegate keygen api-key`, put it in edge.api_keys \
                    (GAMEGATE_EDGE__API_KEYS_FILE) and on the site's server";
    if keys.is_empty() {
        if config.edge.keys_checked_upstream {
            return Check::not_applicable(
                id,
                "no keys here: edge.keys_checked_upstream says the edge in front checks them \
                 (run doctor with the edge's configuration on that host)",
            );
        }
        return Check::fail(
            id,
            "edge.api_keys is empty: `serve register` refuses to start and `gamegate all` \
             makes up its own key",
            generate,
        );
    }
    let weak: Vec<String> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let bits = estimated_bits(key);
            (key.chars().count() < MIN_KEY_CHARS || bits < MIN_KEY_BITS).then(|| {
                format!(
                    "key {} of {}: {} characters, about {bits:.0} bits",
                    i + 1,
                    keys.len(),
                    key.chars().count()
                )
            })
        })
        .collect();
    if !weak.is_empty() {
        return Check::fail(
            id,
            format!(
                "weak API key ({}; need at least {MIN_KEY_CHARS} characters and \
                 {MIN_KEY_BITS:.0} bits)",
                weak.join("; ")
            ),
            format!("replace it: {generate}"),
        );
    }
    Check::pass(
        id,
        format!(
            "{} key(s), each at least {MIN_KEY_CHARS} characters and {MIN_KEY_BITS:.0} bits (estimated)",
            keys.len()
        ),
    )
}

/// Length × the Shannon entropy of the key's own characters: what the key
/// would carry if it were random over the symbols it uses. Repeats and small
/// alphabets (words, `aaaa…`, short hex) score low; 32 random bytes in
/// base64 score about 210.
pub fn estimated_bits(key: &str) -> f64 {
    let chars: Vec<char> = key.chars().collect();
    if chars.is_empty() {
        return 0.0;
    }
    let mut counts = std::collections::HashMap::new();
    for c in &chars {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let n = chars.len() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

fn cors(config: &Config) -> Check {
    let id = CheckId::Cors;
    let origins = &config.edge.cors_allowed_origins;
    if origins.iter().any(|o| o == "*") {
        return Check::fail(
            id,
            "edge.cors_allowed_origins contains \"*\": any web page may call the API from a browser",
            "list the site's origin only, e.g. edge.cors_allowed_origins = [\"https://game.example\"]",
        );
    }
    if origins.is_empty() {
        return Check::pass(
            id,
            "no origin allowed: browsers cannot call the API directly (the site calls it from its server)",
        );
    }
    Check::pass(id, format!("only {}", origins.join(", ")))
}

fn rate_limits(config: &Config) -> Check {
    let id = CheckId::RateLimits;
    let e = &config.edge;
    let off: Vec<&str> = [
        ("edge.register_per_minute", e.register_per_minute),
        ("edge.status_per_minute", e.status_per_minute),
    ]
    .into_iter()
    .filter(|(_, v)| *v == 0)
    .map(|(k, _)| k)
    .collect();
    if !off.is_empty() {
        return Check::fail(
            id,
            format!("{} = 0: no per-IP limit", off.join(" and ")),
            "set them (e.g. register_per_minute = 10, status_per_minute = 30)",
        );
    }
    Check::pass(
        id,
        format!(
            "per client IP: register {}/min (burst {}), status {}/min (burst {})",
            e.register_per_minute, e.register_burst, e.status_per_minute, e.status_burst
        ),
    )
}

/// Behind a proxy means: TLS is not gamegate's, so public requests reach it
/// through the TLS-terminating proxy (nginx, Traefik).
/// Networks as an operator writes them: a single address without `/32`.
fn show_nets(nets: &[ipnet::IpNet]) -> String {
    nets.iter()
        .map(|n| match n.prefix_len() == n.max_prefix_len() {
            true => n.addr().to_string(),
            false => n.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn trusted_proxies(config: &Config) -> Check {
    let id = CheckId::TrustedProxies;
    let behind_proxy = config.http.tls_cert_file.is_empty();
    let nets = &config.edge.trusted_proxies;
    if let Some(everyone) = nets.iter().find(|n| n.prefix_len() == 0) {
        return Check::fail(
            id,
            format!(
                "edge.trusted_proxies contains {everyone}: any client can forge its address \
                 with X-Forwarded-For and dodge limits and bans"
            ),
            "list only the proxies' own addresses",
        );
    }
    match (behind_proxy, nets.is_empty()) {
        (true, true) => Check::fail(
            id,
            "TLS ends in front of gamegate (http.tls_cert_file is empty), so requests come \
             through a proxy, but edge.trusted_proxies is empty: every client gets the proxy's \
             address and one client's limit or ban hits all",
            "set edge.trusted_proxies to the proxies, e.g. [\"10.8.0.1\", \"172.30.0.0/24\"] \
             (nginx over WireGuard, the compose network of Traefik)",
        ),
        (true, false) | (false, false) => Check::pass(
            id,
            format!("forwarded addresses believed only from {}", show_nets(nets)),
        ),
        (false, true) => Check::not_applicable(
            id,
            "gamegate terminates TLS itself (http.tls_cert_file): clients connect directly",
        ),
    }
}

// ------------------------------------------------- development defaults

/// Whether clients beyond this host can reach `addr`: not a loopback
/// address (the unspecified `0.0.0.0`/`::` binds every interface, so it can).
fn reachable_from_outside(addr: std::net::SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

fn tls(config: &Config) -> Check {
    let id = CheckId::Tls;
    let addr = config.http.public_addr;
    if !config.http.tls_cert_file.is_empty() {
        return Check::pass(
            id,
            format!("gamegate terminates TLS itself on {addr} (http.tls_cert_file)"),
        );
    }
    if !config.edge.trusted_proxies.is_empty() {
        return Check::pass(
            id,
            format!(
                "TLS ends at the proxies in front ({}); gamegate speaks plain HTTP to them only",
                show_nets(&config.edge.trusted_proxies)
            ),
        );
    }
    if reachable_from_outside(addr) {
        return Check::fail(
            id,
            format!(
                "http.public_addr {addr} is reachable from other hosts over plain HTTP: API keys \
                 and passwords would cross the network in clear text"
            ),
            "set http.tls_cert_file and http.tls_key_file, or put the rendered nginx in front \
             (gamegate render nginx) and list it in edge.trusted_proxies",
        );
    }
    Check::pass(id, format!("plain HTTP on loopback only ({addr})"))
}

/// The operator routes (`/metrics`, `/admin/dashboard`, the accounts
/// reports, `/ml/anomalies`) are on the admin listener of `gamegate all` and
/// on the listener of `serve stats`: either may face other hosts only with
/// `admin.tokens` set.
fn admin_listener(config: &Config) -> Check {
    let id = CheckId::AdminListener;
    let admin = config.http.admin_addr;
    let stats = config.services.stats_addr;
    let exposed: Vec<String> = [("http.admin_addr", admin), ("services.stats_addr", stats)]
        .into_iter()
        .filter(|(_, addr)| reachable_from_outside(*addr))
        .map(|(key, addr)| format!("{key} {addr}"))
        .collect();
    let tokens = config.admin.tokens.len();
    if tokens > 0 {
        let place = match exposed.is_empty() {
            true => format!("on loopback ({admin}, serve stats {stats})"),
            false => format!("reachable on {}", exposed.join(" and ")),
        };
        return Check::pass(
            id,
            format!("admin routes {place}, behind {tokens} operator token(s) (admin.tokens)"),
        );
    }
    if !exposed.is_empty() {
        return Check::fail(
            id,
            format!(
                "{} reachable from other hosts, and the admin routes (/metrics, \
                 /admin/dashboard, reports, /ml/anomalies) have no authentication \
                 (admin.tokens is empty)",
                match exposed.len() {
                    1 => format!("{} is", exposed[0]),
                    _ => format!("{} are", exposed.join(" and ")),
                }
            ),
            "set admin.tokens (GAMEGATE_ADMIN__TOKENS_FILE; make one with `gamegate keygen \
             api-key`), or bind to loopback (http.admin_addr = \"127.0.0.1:9000\") and reach it \
             through an SSH tunnel",
        );
    }
    Check::pass(
        id,
        format!("admin routes on loopback only ({admin}, serve stats {stats})"),
    )
}

fn game_server_token(config: &Config) -> Check {
    let id = CheckId::GameServerToken;
    let token = config.game_server.auth_token.expose_secret();
    let fix = "generate one with `gamegate keygen api-key`, set it on the game server and in \
               game_server.auth_token (GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE)";
    if token == DEV_GAME_SERVER_TOKEN {
        return Check::fail(
            id,
            "game_server.auth_token is the development default: anyone who read the docs can \
             create accounts on the game server",
            fix,
        );
    }
    let (chars, bits) = (token.chars().count(), estimated_bits(token));
    if chars < MIN_KEY_CHARS || bits < MIN_KEY_BITS {
        return Check::fail(
            id,
            format!(
                "weak game_server.auth_token ({chars} characters, about {bits:.0} bits; need at \
                 least {MIN_KEY_CHARS} characters and {MIN_KEY_BITS:.0} bits)"
            ),
            fix,
        );
    }
    Check::pass(
        id,
        format!("{chars} characters, about {bits:.0} bits (estimated)"),
    )
}

fn embedded_mock(config: &Config) -> Check {
    let id = CheckId::EmbeddedMock;
    if config.game_server.embedded_mock {
        return Check::fail(
            id,
            "game_server.embedded_mock is on: `gamegate all` creates accounts on its built-in \
             mock game server, not on the game",
            "set game_server.embedded_mock = false and game_server.addr to the game server's \
             registration port",
        );
    }
    Check::pass(
        id,
        format!(
            "accounts go to the game server at {}",
            config.game_server.addr
        ),
    )
}

fn demo_site(config: &Config) -> Check {
    let id = CheckId::DemoSite;
    if config.http.demo_site {
        return Check::fail(
            id,
            "http.demo_site is on: the example registration page is served at / and registers \
             with this process's own key",
            "set http.demo_site = false (the site registers players from its own server, docs/SITE.md)",
        );
    }
    Check::pass(id, "no example page")
}

fn demo_history(config: &Config) -> Check {
    let id = CheckId::DemoHistory;
    if config.analytics.seed_demo_history {
        return Check::fail(
            id,
            "analytics.seed_demo_history is on: an empty analytics database gets synthetic \
             battles and players",
            "set analytics.seed_demo_history = false",
        );
    }
    Check::pass(id, "no synthetic battle history")
}

// ------------------------------------------------------------------ network

async fn database(config: &Config, which: Which) -> Check {
    let (id, set) = match which {
        Which::Accounts => (CheckId::AccountsDatabase, MigrationSet::Accounts),
        Which::Analytics => (CheckId::AnalyticsDatabase, MigrationSet::Analytics),
    };
    let key = match which {
        Which::Accounts => "database.url",
        Which::Analytics => "analytics.url",
    };
    let url = which.url(config);
    let shown = gamegate_store::mask_url_password(url);
    let started = Instant::now();
    let db = match open_existing(url, Duration::from_secs(3)).await {
        Ok(db) => db,
        Err(e) => {
            return Check::fail(
                id,
                format!("cannot connect to {shown}: {e:#}"),
                format!("check {key} and that the database server runs and is reachable from here"),
            );
        }
    };
    let status = tokio::time::timeout(NETWORK_LIMIT, db.migration_status(set)).await;
    let latency = started.elapsed().as_millis();
    db.close().await;
    let status = match status {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Check::fail(
                id,
                format!("{shown}: cannot read the migration table: {e}"),
                format!("check the privileges of {key}'s user"),
            );
        }
        Err(_) => {
            return Check::fail(
                id,
                format!("{shown}: no answer within {} s", NETWORK_LIMIT.as_secs()),
                format!("check the database server of {key}"),
            );
        }
    };
    let migrate = "run `gamegate migrate` (each service also migrates at start)";
    if !status.table_exists {
        return Check::fail(
            id,
            format!("{shown} is reachable but not migrated (no version table)"),
            migrate,
        );
    }
    if let Some(v) = status.dirty {
        return Check::fail(
            id,
            format!("{shown}: migration {v} failed half-way"),
            "repair the schema by hand (docs/DATABASES.md), then `gamegate migrate`",
        );
    }
    if !status.unknown.is_empty() {
        return Check::fail(
            id,
            format!(
                "{shown} has migrations {:?} this gamegate does not know: a newer version migrated it",
                status.unknown
            ),
            "run the gamegate version that migrated it",
        );
    }
    if !status.changed.is_empty() {
        return Check::fail(
            id,
            format!(
                "{shown}: applied migrations {:?} differ from this gamegate's",
                status.changed
            ),
            "run the gamegate version that migrated it",
        );
    }
    if !status.pending.is_empty() {
        return Check::fail(
            id,
            format!(
                "{shown} is behind: migrations {:?} not applied (applied: {:?})",
                status.pending, status.applied
            ),
            migrate,
        );
    }
    let applied = match status.applied.as_slice() {
        [] => "no migrations yet, version table present".to_owned(),
        [only] => format!("migration {only} applied"),
        [first, .., last] => format!("migrations {first}–{last} applied"),
    };
    Check::pass(id, format!("{shown} answers in {latency} ms; {applied}"))
}

async fn game_server(config: &Config) -> Check {
    let id = CheckId::GameServer;
    let addr = config.game_server.addr.clone();
    let connect_limit =
        Duration::from_millis(config.game_server.connect_timeout_ms).min(NETWORK_LIMIT);
    let started = Instant::now();
    // First the bare TCP connect, so "down" and "refuses our token" get
    // their own reasons.
    match tokio::time::timeout(connect_limit, tokio::net::TcpStream::connect(addr.as_str())).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Check::fail(
                id,
                format!("{addr} is unreachable: {e}"),
                "start the game server, or correct game_server.addr",
            );
        }
        Err(_) => {
            return Check::fail(
                id,
                format!(
                    "{addr}: no TCP connection within {} ms",
                    connect_limit.as_millis()
                ),
                "start the game server, or correct game_server.addr (and the firewall)",
            );
        }
    }
    let mut client = config.game_server_client(addr.clone());
    client.pool_size = 1;
    client.connect_timeout = connect_limit;
    client.call_timeout = NETWORK_LIMIT;
    let server = TcpGameServer::new(client);
    match tokio::time::timeout(NETWORK_LIMIT, server.ping()).await {
        Ok(Ok(())) => Check::pass(
            id,
            format!(
                "{addr} answers, auth accepted ({} ms)",
                started.elapsed().as_millis()
            ),
        ),
        // The server refused the `auth` command (the TCP connect already
        // succeeded above, so this is not "connection refused").
        Ok(Err(e)) if e.kind() == FailureKind::AuthRefused => Check::fail(
            id,
            format!("{addr} is reachable but refused the auth: {e}"),
            "set game_server.auth_token (GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE) to the game server's token",
        ),
        Ok(Err(e)) => Check::fail(
            id,
            format!("{addr} is reachable but does not answer the protocol: {e}"),
            "check that game_server.addr is the game server's registration port",
        ),
        Err(_) => Check::fail(
            id,
            format!("{addr}: no answer within {} s", NETWORK_LIMIT.as_secs()),
            "check the game server",
        ),
    }
}

#[derive(serde::Deserialize)]
struct GetMe {
    ok: bool,
    result: Option<BotUser>,
    error_code: Option<u16>,
    description: Option<String>,
}

#[derive(serde::Deserialize)]
struct BotUser {
    id: i64,
    username: Option<String>,
}

async fn telegram_bot(config: &Config) -> Check {
    let id = CheckId::Telegram;
    let t = &config.telegram;
    if !t.bot_on() {
        return Check::not_applicable(
            id,
            "no bot: the membership gate and telegram_auth are off (telegram.bot_token is empty)",
        );
    }
    let limit = Duration::from_millis(t.call_timeout_ms).min(NETWORK_LIMIT);
    let fix_token =
        "set telegram.bot_token (GAMEGATE_TELEGRAM__BOT_TOKEN_FILE) to the token @BotFather gave";
    let api =
        match crate::app::telegram::BotApi::new(&t.api_base, t.bot_token.expose_secret(), limit) {
            Ok(api) => api,
            Err(e) => return Check::fail(id, format!("no HTTP client: {e:#}"), "report a bug"),
        };
    // The token is in the URL: neither is ever put in a reason.
    let (status, body) = match api.get("getMe").await {
        Ok(reply) => (reply.status, reply.body),
        Err(reason) => {
            return Check::fail(
                id,
                format!("getMe at {}: {reason}", t.api_base),
                "check telegram.api_base and that this host reaches it",
            );
        }
    };
    match serde_json::from_slice::<GetMe>(&body) {
        Ok(GetMe {
            ok: true,
            result: Some(bot),
            ..
        }) => {
            let gate = if t.membership_on() {
                format!("membership of {} checked", t.chat_id)
            } else {
                "no chat_id: membership not checked".to_owned()
            };
            Check::pass(
                id,
                format!(
                    "getMe: bot @{} (id {}) — the token is valid; {gate}",
                    bot.username.unwrap_or_default(),
                    bot.id
                ),
            )
        }
        Ok(GetMe {
            error_code,
            description,
            ..
        }) => Check::fail(
            id,
            format!(
                "the Bot API refused the token: {} {}",
                error_code.unwrap_or(status.as_u16()),
                description
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
            fix_token,
        ),
        Err(_) => Check::fail(
            id,
            format!(
                "getMe at {} answered HTTP {status} without a Bot API body",
                t.api_base
            ),
            "check telegram.api_base",
        ),
    }
}

// -------------------------------------------------------------------- files

fn logging(config: &Config) -> Check {
    let id = CheckId::Logging;
    match config.log.access_log.as_str() {
        "off" => Check::fail(
            id,
            "log.access_log = \"off\": requests are not recorded",
            "log.access_log = \"stdout\" (docker logs / journald) or a file path (logrotate: \
             gamegate render logrotate)",
        ),
        "stdout" => Check::pass(
            id,
            format!("access log on stdout, log.format = {}", config.log.format),
        ),
        path => {
            let dir = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty());
            match dir {
                Some(d) if !d.is_dir() => Check::fail(
                    id,
                    format!(
                        "log.access_log {path}: directory {} does not exist",
                        d.display()
                    ),
                    format!(
                        "create {} writable by the service (systemd: LogsDirectory)",
                        d.display()
                    ),
                ),
                _ => Check::pass(
                    id,
                    format!("access log to {path}, log.format = {}", config.log.format),
                ),
            }
        }
    }
}

fn backup_check(config: &Config) -> Check {
    let id = CheckId::Backup;
    let b = &config.backup;
    if b.dir.is_empty() {
        return Check::fail(
            id,
            "backup.dir is not set: no backups are configured",
            "set backup.dir and run `gamegate backup` daily (SQLite) or the mysqldump/pg_dump \
             recipes (docs/PRODUCTION_SETUP.md#backups)",
        );
    }
    let dir = Path::new(&b.dir);
    if !dir.is_dir() {
        return Check::fail(
            id,
            format!("backup.dir {} does not exist", dir.display()),
            format!("mkdir -m 0700 {} and run the first backup", dir.display()),
        );
    }
    if let Err(e) = probe_writable(dir) {
        return Check::fail(
            id,
            format!("backup.dir {} is not writable here: {e}", dir.display()),
            "make it writable by the user that runs the backups",
        );
    }
    let max_age = Duration::from_secs(b.max_age_hours * 3600);
    let mut found = Vec::new();
    for which in backup_files::databases(config) {
        match backup_files::newest(dir, which.prefix()) {
            Ok(Some((path, age))) if age <= max_age => found.push(format!(
                "{} {} h old ({})",
                which.name(),
                age.as_secs() / 3600,
                path.file_name().unwrap_or_default().to_string_lossy()
            )),
            Ok(Some((path, age))) => {
                return Check::fail(
                    id,
                    format!(
                        "the newest {} backup {} is {} h old (backup.max_age_hours = {})",
                        which.name(),
                        path.display(),
                        age.as_secs() / 3600,
                        b.max_age_hours
                    ),
                    "backups stopped: check the timer/cron job (`systemctl list-timers`, its journal)",
                );
            }
            Ok(None) => {
                return Check::fail(
                    id,
                    format!("no {}* backup in {} yet", which.prefix(), dir.display()),
                    "run `gamegate backup` (or the dump recipe) and schedule it daily",
                );
            }
            Err(e) => {
                return Check::fail(
                    id,
                    format!("cannot list {}: {e}", dir.display()),
                    "make backup.dir readable",
                );
            }
        }
    }
    Check::pass(id, format!("{}: {}", dir.display(), found.join(", ")))
}

/// Creates and removes a file: the only reliable answer (permissions, ACLs,
/// read-only mounts, root).
fn probe_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".gamegate-doctor-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    std::fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_strong_and_guessable_ones_are_not() {
        for _ in 0..100 {
            let k = crate::shared::keys::api_key();
            assert!(estimated_bits(&k) >= MIN_KEY_BITS, "{}", estimated_bits(&k));
        }
        assert!(estimated_bits("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa") < 1.0);
        assert!(estimated_bits("passwordpasswordpasswordpassword") < MIN_KEY_BITS);
        assert!(estimated_bits("0123456789abcdef") < MIN_KEY_BITS);
    }
}

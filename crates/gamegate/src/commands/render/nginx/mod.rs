//! The public nginx site (`gamegate render nginx`): the edge policy of
//! API.md §4 in nginx terms, from the same `[edge]` settings the in-process
//! edge uses. Plain `write!` into sections rather than a template engine: the
//! file is mostly fixed text, and every inserted value passes a check in this
//! module before it gets near nginx syntax.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use gamegate_domain::{ErrorBody, ErrorCode, Lang};
use secrecy::ExposeSecret;

mod maps;
mod servers;

use super::{check_chars, check_host, check_host_port, check_path};
use crate::config::Config;
// Strict-Transport-Security of the TLS server, as gamegate's own TLS listener sends.
use crate::shared::HSTS;

/// The access-log format shared with gamegate's own access log, so one
/// fail2ban filter reads both. Changing it breaks `filter.d/gamegate.conf`.
/// `$gamegate_log_client` is `$remote_addr`, or the player a request with a
/// valid key names: a fail2ban reading the log then bans that player, never
/// the site's server that speaks for every player.
pub const LOG_FORMAT: &str = r#"'$gamegate_log_client - - [$time_local] "$request_method $uri $server_protocol" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time'"#;

/// Headers a browser may send cross-origin; X-API-Key is why the site's
/// requests are preflighted at all.
const CORS_ALLOW_HEADERS: &str = "Content-Type, X-API-Key";
const CORS_ALLOW_METHODS: &str = "GET, POST, OPTIONS";
/// Lets the site's script read how long to wait after a 429.
const CORS_EXPOSE_HEADERS: &str = "Retry-After";
const CORS_MAX_AGE: &str = "600";

/// Mozilla's "intermediate" profile (ssl-config.mozilla.org, version 5.7)
/// without its two DHE suites: those need `ssl_dhparam`, and every client
/// that could use them also speaks ECDHE. TLS 1.3 suites are OpenSSL's
/// defaults, which are the profile's.
const CIPHERS: &str = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:\
ECDHE-RSA-CHACHA20-POLY1305";
/// The profile's key-exchange groups, in its order.
const ECDH_CURVES: &str = "X25519:prime256v1:secp384r1";

/// The public statistics routes nginx forwards, as the upstream must see
/// them: matched against the request line as the client sent it, since
/// nginx passes that on unchanged. Anything else under `/stats/`, `/ml/`,
/// `/admin/`, `/internal/` or `/metrics` never leaves nginx.
const STATS_REQUEST_URI: &str = r"^/stats/(leaderboard|summary|players/[^/?]+)(\?|$)";
const PREDICT_REQUEST_URI: &str = r"^/ml/predict(\?|$)";
/// The account routes beside `/api/register`, as the client sent them (the
/// `{login}` segment still percent-encoded, passed on unchanged), each with
/// the one method it answers.
const ACCOUNT_DELETE_REQUEST_URI: &str = r"^/api/accounts/[^/?]+(\?|$)";
const ACCOUNT_PASSWORD_REQUEST_URI: &str = r"^/api/accounts/[^/?]+/password(\?|$)";

/// Everything the renderer inserts, checked.
struct Site {
    lang: Lang,
    server_name: String,
    listen_https: Vec<String>,
    listen_http: Vec<String>,
    https_port: u16,
    certificate: String,
    certificate_key: String,
    register_upstreams: Vec<String>,
    status_upstreams: Vec<String>,
    stats_upstreams: Vec<String>,
    access_log: String,
    error_log: String,
    acme_webroot: String,
    keys: Vec<String>,
    trusted: Vec<String>,
    cors: Cors,
    register_limit: Option<(u32, u32)>,
    status_limit: Option<(u32, u32)>,
    /// `edge.stats_per_minute` / `edge.stats_burst`.
    stats_limit: Option<(u32, u32)>,
    /// `edge.predict_per_minute` / `edge.predict_burst`.
    predict_limit: Option<(u32, u32)>,
    /// `ssl_trusted_certificate` when OCSP stapling is on.
    ocsp_trusted: Option<String>,
    /// `edge.site_key_per_minute` / `edge.site_key_burst`.
    site_key_limit: Option<(u32, u32)>,
    /// `edge.ipv6_prefix`, a multiple of 16 here.
    ipv6_prefix: u8,
    body_limit: usize,
    read_timeout_secs: u64,
}

#[derive(Debug, PartialEq)]
enum Cors {
    /// No origin configured: no CORS headers at all.
    Off,
    /// `*` configured: any origin (dev).
    Any,
    /// Only these origins get CORS headers.
    Origins(Vec<String>),
}

pub fn render(config: &Config) -> anyhow::Result<String> {
    let site = Site::from_config(config)?;
    let mut out = String::new();
    site.write(&mut out).expect("writing to a String");
    Ok(out)
}

impl Site {
    fn from_config(config: &Config) -> anyhow::Result<Self> {
        let n = &config.nginx;
        let e = &config.edge;
        let server_name = n.server_name.trim().to_owned();
        check_host("nginx.server_name", server_name.trim_start_matches("*."))?;

        let listen_https = listen_list("nginx.listen_https", &n.listen_https)?;
        if listen_https.is_empty() {
            bail!("nginx.listen_https: at least one address is needed");
        }
        let https_port = port_of(&listen_https[0]);
        let listen_http = listen_list("nginx.listen_http", &n.listen_http)?;

        let lets_encrypt = |file: &str| format!("/etc/letsencrypt/live/{server_name}/{file}");
        let certificate = non_empty_or(&n.tls_certificate, || lets_encrypt("fullchain.pem"));
        let certificate_key = non_empty_or(&n.tls_certificate_key, || lets_encrypt("privkey.pem"));
        let own_certificate = !n.tls_certificate.trim().is_empty();
        let stapling = match n.ocsp_stapling.trim() {
            "auto" => !own_certificate,
            "on" => true,
            "off" => false,
            other => bail!("nginx.ocsp_stapling = {other:?}: use \"auto\", \"on\" or \"off\""),
        };
        let ocsp_trusted = stapling.then(|| {
            non_empty_or(&n.tls_trusted_certificate, || {
                if own_certificate {
                    certificate.clone()
                } else {
                    lets_encrypt("chain.pem")
                }
            })
        });
        if let Some(path) = &ocsp_trusted {
            check_path("nginx.tls_trusted_certificate", path)?;
        }
        for (what, path) in [
            ("nginx.tls_certificate", &certificate),
            ("nginx.tls_certificate_key", &certificate_key),
            ("nginx.access_log", &n.access_log),
            ("nginx.error_log", &n.error_log),
            ("nginx.acme_webroot", &n.acme_webroot),
        ] {
            check_path(what, path)?;
        }

        for (what, list) in [
            ("nginx.register_upstreams", &n.register_upstreams),
            ("nginx.status_upstreams", &n.status_upstreams),
            ("nginx.stats_upstreams", &n.stats_upstreams),
        ] {
            if list.is_empty() {
                bail!("{what}: at least one HOST:PORT is needed");
            }
            for u in list {
                check_host_port(what, u)?;
            }
        }

        if e.api_keys.is_empty() {
            bail!(
                "edge.api_keys is empty: nginx checks X-API-Key on /api/register and needs the keys \
                 (GAMEGATE_EDGE__API_KEYS=k1,k2 or GAMEGATE_EDGE__API_KEYS_FILE)"
            );
        }
        for (i, key) in e
            .api_keys
            .iter()
            .map(ExposeSecret::expose_secret)
            .enumerate()
        {
            // Never the key itself in the message. The set covers base64,
            // base64url and hex; anything else would need regex escaping in
            // the map below, and a refused key is safer than an escaped one.
            if !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.+/=".contains(c))
            {
                bail!(
                    "edge.api_keys: key #{} ({} characters) has a character nginx cannot match \
                     safely; use letters, digits and - _ . + / = (e.g. `openssl rand -base64 32`)",
                    i + 1,
                    key.len()
                );
            }
        }

        let cors = if e.cors_allowed_origins.iter().any(|o| o == "*") {
            Cors::Any
        } else if e.cors_allowed_origins.is_empty() {
            Cors::Off
        } else {
            for o in &e.cors_allowed_origins {
                check_origin(o)?;
            }
            Cors::Origins(e.cors_allowed_origins.clone())
        };

        // The zones key an IPv6 client by whole bytes of $binary_remote_addr
        // and a player's address by whole groups of its text.
        if !e.ipv6_prefix.is_multiple_of(16) {
            bail!(
                "edge.ipv6_prefix = {}: the rendered nginx keys IPv6 clients by whole 16-bit \
                 groups; use 32, 48, 64, 80, 96, 112 or 128",
                e.ipv6_prefix
            );
        }
        let limit = |per_minute: u32, burst: u32| (per_minute > 0).then_some((per_minute, burst));
        Ok(Self {
            lang: config.lang(),
            server_name,
            listen_https,
            listen_http,
            https_port,
            certificate,
            certificate_key,
            register_upstreams: n.register_upstreams.clone(),
            status_upstreams: n.status_upstreams.clone(),
            stats_upstreams: n.stats_upstreams.clone(),
            access_log: n.access_log.clone(),
            error_log: n.error_log.clone(),
            acme_webroot: n.acme_webroot.clone(),
            keys: crate::config::expose_all(&e.api_keys),
            // Parsed and printed back, so only a normalised CIDR reaches the file.
            trusted: e.trusted_proxies.iter().map(ToString::to_string).collect(),
            cors,
            register_limit: limit(e.register_per_minute, e.register_burst),
            status_limit: limit(e.status_per_minute, e.status_burst),
            stats_limit: limit(e.stats_per_minute, e.stats_burst),
            predict_limit: limit(e.predict_per_minute, e.predict_burst),
            ocsp_trusted,
            site_key_limit: limit(e.site_key_per_minute, e.site_key_burst),
            ipv6_prefix: e.ipv6_prefix,
            body_limit: config.http.body_limit_bytes,
            // Longer than the service's own backstop, so a slow registration
            // gets the service's JSON answer rather than nginx's 504.
            read_timeout_secs: config.http.request_timeout_ms.div_ceil(1000) + 5,
        })
    }

    fn write(&self, o: &mut String) -> std::fmt::Result {
        writeln!(
            o,
            "# gamegate public edge: generated by `gamegate render nginx` ({}).\n\
             # Re-render instead of editing. Contains the API keys (edge.api_keys):\n\
             # keep it mode 0600, owned by root. Goes inside nginx's http {{}} block\n\
             # (Debian: /etc/nginx/sites-enabled/). See docs/EDGE.md.\n",
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(o, "log_format gamegate {LOG_FORMAT};\n")?;
        self.write_key_map(o)?;
        self.write_client_maps(o)?;
        self.write_limits(o)?;
        self.write_cors_maps(o)?;
        for (name, servers) in [
            ("gamegate_register", &self.register_upstreams),
            ("gamegate_status", &self.status_upstreams),
            ("gamegate_stats", &self.stats_upstreams),
        ] {
            writeln!(o, "upstream {name} {{")?;
            for s in servers {
                writeln!(o, "    server {s};")?;
            }
            writeln!(o, "    keepalive 16;\n}}\n")?;
        }
        if !self.listen_http.is_empty() {
            self.write_redirect_server(o)?;
        }
        self.write_tls_server(o)
    }
}

/// The contract's error body for `code`, quoted for a single-quoted nginx
/// string. `$` would be read as a variable and cannot be escaped in nginx, so
/// it is refused (no message has one; a unit test checks every code).
fn json_body(code: ErrorCode, lang: Lang) -> anyhow::Result<String> {
    let body = String::from_utf8(ErrorBody::new(code, lang).to_json()).context("JSON is UTF-8")?;
    if body.contains('$') || body.contains('\n') {
        bail!(
            "the message of {} contains `$` or a newline; nginx cannot carry it",
            code.as_str()
        );
    }
    Ok(body.replace('\\', r"\\").replace('\'', r"\'"))
}

fn non_empty_or(value: &str, default: impl FnOnce() -> String) -> String {
    if value.trim().is_empty() {
        default()
    } else {
        value.trim().to_owned()
    }
}

/// `443` or `IP:443` / `[::]:443`, normalised.
pub(super) fn listen_list(what: &str, items: &[String]) -> anyhow::Result<Vec<String>> {
    items
        .iter()
        .map(|l| {
            let l = l.trim();
            if let Ok(port) = l.parse::<u16>()
                && port > 0
            {
                return Ok(port.to_string());
            }
            l.parse::<std::net::SocketAddr>()
                .ok()
                .filter(|a| a.port() > 0)
                .map(|a| a.to_string())
                .with_context(|| format!("{what}: {l:?} is not a port or IP:PORT"))
        })
        .collect()
}

pub(super) fn port_of(listen: &str) -> u16 {
    listen
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(443)
}

/// `https://site.example` or `http://host:port`: a scheme and a host, no
/// path, nothing nginx would read as syntax.
fn check_origin(origin: &str) -> anyhow::Result<()> {
    let what = "edge.cors_allowed_origins";
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .with_context(|| {
            format!("{what}: {origin:?} must be `*` or start with https:// or http://")
        })?;
    check_chars(what, rest, |c| {
        c.is_ascii_alphanumeric() || ".-:[]".contains(c)
    })?;
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !rest.ends_with(']') => {
            check_host(what, host)?;
            port.parse::<u16>()
                .map_err(|_| anyhow::anyhow!("{what}: {origin:?} has an invalid port"))?;
        }
        _ => check_host(what, rest)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "key-a-0123456789abcdef";
    const KEY_B: &str = "Key+B/0123456789abc.def=";

    fn config() -> Config {
        let mut c = Config::default();
        c.edge.api_keys = vec![KEY_A.into(), KEY_B.into()];
        c.edge.cors_allowed_origins = vec!["https://site.example".into()];
        c
    }

    fn err(c: &Config) -> String {
        format!("{:#}", render(c).unwrap_err())
    }

    #[test]
    fn defaults_follow_the_seed() {
        let text = render(&config()).unwrap();
        for needle in [
            "server 10.8.0.2:1010;",
            "listen 443 ssl http2;",
            "listen [::]:443 ssl http2;",
            "listen 80;",
            "server_name api.example.com;",
            "ssl_certificate /etc/letsencrypt/live/api.example.com/fullchain.pem;",
            "ssl_certificate_key /etc/letsencrypt/live/api.example.com/privkey.pem;",
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "rate=10r/m;",
            "rate=30r/m;",
            "limit_req zone=gamegate_register burst=5 nodelay;",
            "limit_req zone=gamegate_status burst=10 nodelay;",
            "limit_req_status 429;",
            "access_log /var/log/nginx/gamegate-access.log gamegate;",
            "client_max_body_size 16384;",
            "server_tokens off;",
            "return 308 https://api.example.com$request_uri;",
            "error_page 308 @gamegate_308;",
            r#"return 200 '{"ok":false,"redirect":"https://api.example.com"}';"#,
            "location ^~ /.well-known/acme-challenge/ {",
            "proxy_set_header X-Forwarded-For $remote_addr;",
            "proxy_set_header X-Real-IP $remote_addr;",
            "/api/register 6;",
            "/api/server/status 2;",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(text.contains(&format!("log_format gamegate {LOG_FORMAT};")));
        // Nothing trusted by default: no real_ip directives at all.
        assert!(!text.contains("set_real_ip_from"), "{text}");
        assert!(!text.contains("real_ip_header"), "{text}");
    }

    #[test]
    fn tls_follows_mozilla_intermediate_without_dhe() {
        let text = render(&config()).unwrap();
        for needle in [
            "ssl_protocols TLSv1.2 TLSv1.3;",
            "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:\
             ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:\
             ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;",
            "ssl_ecdh_curve X25519:prime256v1:secp384r1;",
            "ssl_prefer_server_ciphers off;",
            "ssl_session_tickets off;",
            "add_header Strict-Transport-Security \"max-age=63072000\" always;",
            "add_header X-Content-Type-Options \"nosniff\" always;",
            // Let's Encrypt's files by default: stapling on, verified with its chain.
            "ssl_stapling on;",
            "ssl_stapling_verify on;",
            "ssl_trusted_certificate /etc/letsencrypt/live/api.example.com/chain.pem;",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(!text.contains(":DHE-"), "{text}");
        assert!(!text.contains("max-age=31536000"), "{text}");

        // A certificate of one's own: off unless asked for, then verified
        // with that file (a full chain) or the configured CA file.
        let mut c = config();
        c.nginx.tls_certificate = "/etc/ssl/site/fullchain.pem".into();
        c.nginx.tls_certificate_key = "/etc/ssl/site/key.pem".into();
        assert!(!render(&c).unwrap().contains("ssl_stapling"));
        c.nginx.ocsp_stapling = "on".into();
        let text = render(&c).unwrap();
        assert!(text.contains("ssl_trusted_certificate /etc/ssl/site/fullchain.pem;"));
        c.nginx.tls_trusted_certificate = "/etc/ssl/site/ca.pem".into();
        assert!(
            render(&c)
                .unwrap()
                .contains("ssl_trusted_certificate /etc/ssl/site/ca.pem;")
        );
        c.nginx.ocsp_stapling = "off".into();
        c.nginx.tls_certificate = String::new();
        assert!(!render(&c).unwrap().contains("ssl_stapling"));
        c.nginx.ocsp_stapling = "yes".into();
        assert!(err(&c).contains("nginx.ocsp_stapling"), "{}", err(&c));
        c.nginx.ocsp_stapling = "on".into();
        c.nginx.tls_trusted_certificate = "/etc/ssl/ca.pem; ssl_stapling off".into();
        assert!(
            err(&c).contains("nginx.tls_trusted_certificate"),
            "{}",
            err(&c)
        );
    }

    #[test]
    fn only_the_public_statistics_reach_the_stats_upstream_with_their_own_limits() {
        let mut c = config();
        c.nginx.stats_upstreams = vec!["10.8.0.2:1011".into(), "10.8.0.3:1011".into()];
        let text = render(&c).unwrap();
        for needle in [
            "upstream gamegate_stats {\n    server 10.8.0.2:1011;\n    server 10.8.0.3:1011;",
            "limit_req_zone $gamegate_client zone=gamegate_stats:10m rate=60r/m;",
            "limit_req_zone $gamegate_client zone=gamegate_predict:10m rate=30r/m;",
            "location = /stats/leaderboard {",
            "location = /stats/summary {",
            "location ^~ /stats/players/ {",
            "location = /ml/predict {",
            "limit_req zone=gamegate_stats burst=20 nodelay;",
            "limit_req zone=gamegate_predict burst=10 nodelay;",
            "/stats/leaderboard 1;",
            "~^/stats/players/ 1;",
            "/ml/predict 2;",
            "add_header Allow $gamegate_allow always;",
            "location ^~ /api/accounts/ {",
            "\"~^/api/accounts/[^/?]+(\\?|$)\" DELETE;",
            "\"~^/api/accounts/[^/?]+/password(\\?|$)\" POST;",
            "~^/api/accounts/ 6;",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert_eq!(text.matches("proxy_pass http://gamegate_stats;").count(), 4);
        // /api/register and the account routes: the same zones, key and upstream.
        assert_eq!(
            text.matches("proxy_pass http://gamegate_register;").count(),
            2
        );
        assert_eq!(text.matches("auth_request /_gamegate/key;").count(), 2);
        assert_eq!(
            text.matches("limit_req zone=gamegate_register burst=5 nodelay;")
                .count(),
            2
        );
        for private in [
            "/stats/battles",
            "/stats/registrations",
            "/admin",
            "/metrics",
            "/internal",
        ] {
            assert!(!text.contains(private), "{private} routed:\n{text}");
        }
        c.edge.predict_per_minute = 0;
        assert!(!render(&c).unwrap().contains("zone=gamegate_predict"));
        c.nginx.stats_upstreams.clear();
        assert!(err(&c).contains("nginx.stats_upstreams"), "{}", err(&c));
    }

    #[test]
    fn zones_key_ipv6_clients_by_network_and_site_requests_by_the_named_player() {
        let text = render(&config()).unwrap();
        for needle in [
            "map $binary_remote_addr $gamegate_client {",
            "\"~(?s)^(.{8}).{8}$\" $1;",
            "limit_req_zone $gamegate_register_client zone=gamegate_register:10m rate=10r/m;",
            "limit_req_zone $gamegate_client zone=gamegate_status:10m rate=30r/m;",
            "map $gamegate_key_ok:$gamegate_player $gamegate_register_client {",
            "proxy_set_header X-Player-IP $http_x_player_ip;",
            "log_format gamegate '$gamegate_log_client - - [",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(!text.contains("zone=gamegate_site_key"), "off by default");

        let mut c = config();
        c.edge.ipv6_prefix = 48;
        c.edge.site_key_per_minute = 60;
        let text = render(&c).unwrap();
        assert!(text.contains("\"~(?s)^(.{6}).{10}$\" $1;"), "{text}");
        assert!(
            text.contains("(:[0-9a-fA-F]{1,4}){2})"),
            "three groups: {text}"
        );
        assert!(
            text.contains("limit_req zone=gamegate_site_key burst=100 nodelay;"),
            "{text}"
        );
        c.edge.ipv6_prefix = 128;
        assert!(!render(&c).unwrap().contains("(?s)"), "whole addresses");
        c.edge.ipv6_prefix = 56;
        assert!(err(&c).contains("whole 16-bit groups"), "{}", err(&c));
    }

    #[test]
    fn every_key_is_an_anchored_case_sensitive_map_entry() {
        let text = render(&config()).unwrap();
        assert!(text.contains("map $http_x_api_key $gamegate_key_ok {"));
        assert!(text.contains(&format!("\"~^{KEY_A}$\" 1;")), "{text}");
        assert!(
            text.contains(r#""~^Key\+B/0123456789abc\.def=$" 1;"#),
            "{text}"
        );
        // Case-insensitive (`~*`) or plain entries would accept other keys.
        assert!(!text.contains("\"~*"));
    }

    #[test]
    fn keys_nginx_cannot_match_safely_are_refused_without_being_shown() {
        for bad in [
            "quote\"inside-0123456789",
            "dollar$inside-0123456789",
            "semi;colon-0123456789",
        ] {
            let mut c = config();
            c.edge.api_keys = vec![KEY_A.into(), bad.into()];
            let e = err(&c);
            assert!(e.contains("key #2"), "{e}");
            assert!(!e.contains(bad), "the key leaked: {e}");
        }
        let mut c = config();
        c.edge.api_keys.clear();
        assert!(err(&c).contains("edge.api_keys is empty"));
    }

    #[test]
    fn syntax_in_config_values_is_refused_not_injected() {
        type Mutate = fn(&mut Config);
        let cases: [(&str, Mutate); 7] = [
            ("nginx.server_name", |c| {
                c.nginx.server_name = "api.example.com; include /etc/passwd".into()
            }),
            ("nginx.server_name", |c| c.nginx.server_name = "a{b".into()),
            ("nginx.server_name", |c| {
                c.nginx.server_name = "\"x\"".into()
            }),
            ("edge.cors_allowed_origins", |c| {
                c.edge.cors_allowed_origins = vec!["https://a.example\" 1; \"x".into()]
            }),
            ("edge.cors_allowed_origins", |c| {
                c.edge.cors_allowed_origins = vec!["https://a.example/path".into()]
            }),
            ("nginx.register_upstreams", |c| {
                c.nginx.register_upstreams = vec!["10.0.0.1:80; server evil:80".into()]
            }),
            ("nginx.access_log", |c| {
                c.nginx.access_log = "/var/log/x.log gamegate; root /".into()
            }),
        ];
        for (needle, mutate) in cases {
            let mut c = config();
            mutate(&mut c);
            let e = err(&c);
            assert!(e.contains(needle), "{needle}: {e}");
        }
    }

    #[test]
    fn cors_allow_list_wildcard_and_off() {
        let text = render(&config()).unwrap();
        assert!(text.contains("map $http_origin $gamegate_cors_origin {"));
        assert!(text.contains("\"https://site.example\" $http_origin;"));
        assert!(
            text.contains(
                "add_header Access-Control-Allow-Origin \"$gamegate_cors_origin\" always;"
            )
        );

        let mut c = config();
        c.edge.cors_allowed_origins = vec!["*".into()];
        let text = render(&c).unwrap();
        assert!(!text.contains("map $http_origin"), "{text}");
        assert!(text.contains("add_header Access-Control-Allow-Origin \"*\" always;"));

        c.edge.cors_allowed_origins.clear();
        let text = render(&c).unwrap();
        assert!(!text.contains("Access-Control-Allow-Origin \""), "{text}");
    }

    #[test]
    fn trusted_proxies_become_set_real_ip_from() {
        let mut c = config();
        c.edge.trusted_proxies = crate::config::networks(&["10.8.0.0/24", "192.0.2.1"]).unwrap();
        let text = render(&c).unwrap();
        assert!(text.contains("set_real_ip_from 10.8.0.0/24;"));
        assert!(text.contains("set_real_ip_from 192.0.2.1/32;"));
        assert!(text.contains("real_ip_header X-Forwarded-For;"));
        assert!(text.contains("real_ip_recursive on;"));
    }

    #[test]
    fn error_bodies_come_from_the_domain_table_in_the_configured_language() {
        let mut c = config();
        c.language = Lang::En;
        let text = render(&c).unwrap();
        let expected =
            String::from_utf8(ErrorBody::new(ErrorCode::RateLimited, Lang::En).to_json()).unwrap();
        assert!(
            text.contains(&format!("return 429 '{expected}';")),
            "{text}"
        );
        assert!(text.contains("add_header Retry-After $gamegate_retry_after always;"));
        assert!(text.contains("\"detail\":\"invalid_api_key\""));
        // Every code's message can be carried by nginx.
        for code in ErrorCode::ALL {
            for lang in [Lang::Ru, Lang::En] {
                json_body(code, lang).unwrap();
            }
        }
    }

    #[test]
    fn a_non_standard_https_port_is_kept_in_the_redirect_and_limits_can_be_off() {
        let mut c = config();
        c.nginx.listen_https = vec!["127.0.0.1:8443".into()];
        c.edge.status_per_minute = 0;
        let text = render(&c).unwrap();
        assert!(text.contains("return 308 https://api.example.com:8443$request_uri;"));
        assert!(text.contains(r#""redirect":"https://api.example.com:8443"}"#));
        assert!(!text.contains("zone=gamegate_status"), "{text}");
        assert!(text.contains("listen 127.0.0.1:8443 ssl http2;"));
        c.nginx.listen_https = vec!["443; evil".into()];
        assert!(err(&c).contains("nginx.listen_https"));
    }
}

//! The banner a process prints on start: where everything is, and a request
//! to try.

use std::net::SocketAddr;

use gamegate_store::Database;

use crate::http::edge::{Edge, Jail, KeySource};
use crate::http::server::CertificateFiles;

use super::Mode;

/// What the banner shows, gathered by `Application::build_mode`.
pub(super) struct Facts<'a> {
    pub mode: Mode,
    /// Role, bound address, served over TLS.
    pub listeners: Vec<(&'static str, SocketAddr, bool)>,
    pub demo_site: bool,
    /// The game server's address, whether it is the built-in mock, and its
    /// connector's capabilities in words ([`gamegate_gameserver::Capabilities::summary`]).
    pub game: Option<(String, bool, String)>,
    pub databases: &'a [(&'static str, Database)],
    pub edge: Option<&'a Edge>,
    pub admin_tokens: usize,
    pub connection_budget: &'a str,
    pub jail: Option<&'a Jail>,
    pub telegram: Option<String>,
    pub certificates: Option<&'a CertificateFiles>,
}

impl Facts<'_> {
    fn public_addr(&self) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(role, _, _)| *role == "public")
            .map(|(_, addr, _)| *addr)
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "gamegate {} — {}\n",
            env!("CARGO_PKG_VERSION"),
            self.mode.name()
        );
        for (role, addr, tls) in &self.listeners {
            let routes = match *role {
                "public" if self.demo_site => {
                    "POST /api/register · GET /api/server/status · GET /health · GET /stats/… · GET / (demo)"
                }
                "public" => {
                    "POST /api/register · GET /api/server/status · GET /health · GET /stats/…"
                }
                "admin" => {
                    "GET /internal/health · GET /metrics · POST /stats/battles · GET /stats/registrations · GET /admin/dashboard"
                }
                "register" => "POST /api/register · GET /internal/health · GET /metrics",
                "status" => "GET /server/status · GET /internal/health · GET /metrics",
                "stats" => {
                    "POST /stats/battles · GET /stats/… · GET /internal/health · GET /metrics"
                }
                _ => "GET /internal/health · GET /metrics",
            };
            let scheme = match *tls && self.certificates.is_some() {
                true => "https",
                false => "http",
            };
            out += &format!("  {role:<9} {scheme}://{addr}   {routes}\n");
        }
        if let Some((game, mock, connector)) = &self.game {
            let kind = if *mock { " (built-in mock)" } else { "" };
            out += &format!("  {:<9} {game}{kind} · connector {connector}\n", "game");
        }
        for (role, db) in self.databases {
            let role = if *role == "accounts" {
                "database"
            } else {
                role
            };
            out += &format!("  {role:<9} {}\n", db.display_url());
        }
        let key = self.edge.map(|edge| match edge.key_source() {
            KeySource::File(path) => {
                let key = edge.generated_key().unwrap_or_default();
                out += &format!(
                    "  {:<9} {key}   (generated, kept in {})\n",
                    "api key",
                    absolute(path).display()
                );
                format!("'X-API-Key: {key}'")
            }
            KeySource::Configured => {
                out += &format!("  {:<9} from edge.api_keys\n", "api key");
                "\"X-API-Key: $GAMEGATE_API_KEY\"".to_owned()
            }
            KeySource::Upstream => {
                out += &format!(
                    "  {:<9} checked upstream (edge.keys_checked_upstream)\n",
                    "api key"
                );
                String::new()
            }
        });
        if self.admin_tokens > 0 {
            out += &format!(
                "  {:<9} /metrics, /admin/dashboard and the reports want one of {} token(s) of \
                 admin.tokens (Bearer, or Basic with the token as password)\n",
                "operator", self.admin_tokens
            );
        }
        out += &format!("  {:<9} {}\n", "conns", self.connection_budget);
        if let Some(jail) = self.jail {
            out += &format!("  {:<9} {}\n", "ban jail", jail.describe());
            out += &running_bans(jail);
        }
        if let Some(telegram) = &self.telegram {
            out += &format!("  {:<9} {telegram}\n", "telegram");
        }
        let public = self.public_addr();
        if let (true, Some(public)) = (self.demo_site, public) {
            out += &format!(
                "  {:<9} http://{public}/   example registration page (http.demo_site; docs/SITE.md)\n",
                "demo",
            );
        }
        if let (Mode::All, Some(public)) = (self.mode, public) {
            out += &try_it(public, key.as_deref(), self.certificates);
        }
        out + "Ctrl-C stops it gracefully."
    }
}

/// The two requests of "Try it:", with the key header when there is one.
fn try_it(
    public: SocketAddr,
    key: Option<&str>,
    certificates: Option<&CertificateFiles>,
) -> String {
    let key_header = match key {
        Some("") | None => String::new(),
        Some(header) => format!(" -H {header}"),
    };
    // Over TLS: the certificate's own name, resolved to this listener,
    // so curl verifies the certificate as a client on the internet would.
    let (base, resolve, note) = match certificates {
        None => (format!("http://{public}"), String::new(), String::new()),
        Some(certs) => {
            let name = certs.first_name().unwrap_or_else(|| "localhost".into());
            let ip = match public.ip() {
                ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
                ip => ip.to_string(),
            };
            let port = public.port();
            (
                format!("https://{name}:{port}"),
                format!(" --resolve {name}:{port}:{ip}"),
                format!(
                    "  (a certificate no public CA signed: add --cacert {})\n",
                    absolute(certs.cert_path()).display()
                ),
            )
        }
    };
    format!(
        "Try it:\n  curl -s{resolve} -X POST {base}/api/register{key_header} -H 'Content-Type: application/json' \
         -d '{{\"login\":\"Hero_01\",\"password\":\"secret12\",\"gender\":0,\"telegram_id\":123456789}}'\n  \
         curl -s{resolve} {base}/api/server/status\n{note}"
    )
}

/// `path` as an absolute path (unchanged when the working directory cannot
/// be read): a relative one means nothing to a reader in another directory.
fn absolute(path: &std::path::Path) -> std::path::PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// The banner's lines on running bans: the longest few, and how to list and
/// lift them. Empty when none is running.
fn running_bans(jail: &Jail) -> String {
    const SHOWN: usize = 5;
    let count = jail.running_count();
    let bans = jail.running_bans(SHOWN);
    if bans.is_empty() {
        return String::new();
    }
    let now = gamegate_store::unix_now();
    let mut out = String::new();
    for (net, until) in &bans {
        let net = gamegate_store::bans::canonical_net(*net);
        out += &format!(
            "  {:<9} banned: {net} for {} more s\n",
            "",
            (until - now).max(1)
        );
    }
    if count > bans.len() {
        out += &format!("  {:<9} … and {} more\n", "", count - bans.len());
    }
    out += &format!(
        "  {:<9} list: gamegate ban list · lift: gamegate ban remove <address or network>\n",
        ""
    );
    out
}

//! Development defaults left on in production: plain HTTP, an open admin listener, the dev token, the mock, the demo page and history.

use super::*;

/// Whether clients beyond this host can reach `addr`: not a loopback
/// address (the unspecified `0.0.0.0`/`::` binds every interface, so it can).
pub(super) fn reachable_from_outside(addr: std::net::SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

pub(super) fn tls(config: &Config) -> Check {
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
pub(super) fn admin_listener(config: &Config) -> Check {
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

pub(super) fn game_server_token(config: &Config) -> Check {
    let id = CheckId::GameServerToken;
    // The credential of the connector in use: v1's auth token, or the HTTP
    // connector's signing secret.
    if config.game_server.kind.wow().map(|(_, via)| via) == Some(gamegate_wowcore::Via::AuthDb) {
        return Check::not_applicable(
            id,
            "the auth-database connector authenticates with the password in \
             game_server.auth_db.url (a database account with SELECT, INSERT, DELETE on \
             `account` only)",
        );
    }
    if let Some((core, gamegate_wowcore::Via::Soap)) = config.game_server.kind.wow() {
        // A game account's password: at most MAX_PASS_STR (16) characters,
        // so the longest one is the strongest there can be.
        let password = config.game_server.soap.password.expose_secret();
        let (chars, bits) = (password.chars().count(), estimated_bits(password));
        let max = core.password_max_chars();
        if chars < max || bits < 64.0 {
            return Check::fail(
                id,
                format!(
                    "weak game_server.soap.password ({chars} characters, about {bits:.0} bits) \
                     for a game-master account that can run any console command"
                ),
                format!(
                    "give the dedicated SOAP account a random password of {max} characters (the \
                     core's maximum) with `account set password` at the worldserver console, and \
                     set it in game_server.soap.password (GAMEGATE_GAME_SERVER__SOAP__PASSWORD_FILE)"
                ),
            );
        }
        return Check::pass(
            id,
            format!("SOAP password: {chars} characters, about {bits:.0} bits (estimated)"),
        );
    }
    let (key, token, fix) = match config.game_server.kind {
        ConnectorKind::V1
        | ConnectorKind::AzerothcoreDb
        | ConnectorKind::TrinitycoreDb
        | ConnectorKind::AzerothcoreSoap
        | ConnectorKind::TrinitycoreSoap => (
            "game_server.auth_token",
            config.game_server.auth_token.expose_secret(),
            "generate one with `gamegate keygen api-key`, set it on the game server and in \
             game_server.auth_token (GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE)",
        ),
        ConnectorKind::Http => (
            "game_server.http.signing_secret",
            config.game_server.http.signing_secret.expose_secret(),
            "generate one with `gamegate keygen api-key`, set it on the receiver and in \
             game_server.http.signing_secret (GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET_FILE)",
        ),
    };
    if token == DEV_GAME_SERVER_TOKEN {
        return Check::fail(
            id,
            format!(
                "{key} is the development default: anyone who read the docs can create \
                 accounts on the game server"
            ),
            fix,
        );
    }
    let (chars, bits) = (token.chars().count(), estimated_bits(token));
    if chars < MIN_KEY_CHARS || bits < MIN_KEY_BITS {
        return Check::fail(
            id,
            format!(
                "weak {key} ({chars} characters, about {bits:.0} bits; need at \
                 least {MIN_KEY_CHARS} characters and {MIN_KEY_BITS:.0} bits)"
            ),
            fix,
        );
    }
    let of = match config.game_server.kind {
        ConnectorKind::Http => "signing secret: ",
        _ => "",
    };
    Check::pass(
        id,
        format!("{of}{chars} characters, about {bits:.0} bits (estimated)"),
    )
}

pub(super) fn embedded_mock(config: &Config) -> Check {
    let id = CheckId::EmbeddedMock;
    if config.game_server.kind != ConnectorKind::V1 {
        return Check::not_applicable(
            id,
            format!(
                "the {} connector calls {}; the built-in mock (protocol v1) is never started",
                config.game_server.kind.name(),
                config.game_server_target()
            ),
        );
    }
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

pub(super) fn demo_site(config: &Config) -> Check {
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

pub(super) fn demo_history(config: &Config) -> Check {
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

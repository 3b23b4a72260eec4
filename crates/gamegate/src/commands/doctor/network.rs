//! What is reached over the network: the databases, the game server, the Telegram bot.

use super::*;

pub(super) async fn database(config: &Config, which: Which) -> Check {
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

pub(super) async fn game_server(config: &Config) -> Check {
    let id = CheckId::GameServer;
    let target = GameTarget::of(config);
    let connect_limit =
        Duration::from_millis(config.game_server.connect_timeout_ms).min(NETWORK_LIMIT);
    let started = Instant::now();
    // First the connector's own settings (TLS files, the URL), whatever the
    // network.
    let mut probe = config.clone();
    probe.game_server.pool_size = 1;
    probe.game_server.auth_db.pool_size = 1;
    probe.game_server.connect_timeout_ms = connect_limit.as_millis() as u64;
    probe.game_server.call_timeout_ms = NETWORK_LIMIT.as_millis() as u64;
    let server = match crate::app::connector::build(&probe, config.game_server.addr.clone()) {
        Ok(server) => server,
        Err(e) => {
            return Check::fail(
                id,
                format!(
                    "the {} connector cannot be built: {e:#}",
                    config.game_server.kind.name()
                ),
                "correct the [game_server] settings it names",
            );
        }
    };
    let http = config.game_server.kind == ConnectorKind::Http;
    // Then the bare TCP connect (for http: to the URL's host and port), so
    // "down" and "refuses our credential" get their own reasons.
    let shown = &target.shown;
    match tokio::time::timeout(connect_limit, tokio::net::TcpStream::connect(&target.tcp)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            return Check::fail(
                id,
                format!("{shown} is unreachable: {e}{}", target.note),
                format!("start the game server, or correct {}", target.key),
            );
        }
        Err(_) => {
            return Check::fail(
                id,
                format!(
                    "{shown}: no TCP connection within {} ms{}",
                    connect_limit.as_millis(),
                    target.note
                ),
                format!(
                    "start the game server, or correct {} (and the firewall)",
                    target.key
                ),
            );
        }
    }
    match tokio::time::timeout(NETWORK_LIMIT, server.ping()).await {
        Ok(Ok(())) => Check::pass(
            id,
            format!(
                "{shown} answers, {} accepted ({} ms) over {}; connector {}{}",
                if http { "signature" } else { "auth" },
                started.elapsed().as_millis(),
                server
                    .link_summary()
                    .unwrap_or_else(|| "an unreported link".to_owned()),
                server.capabilities().summary(),
                target.note
            ),
        ),
        // The server refused our credential (the TCP connect already
        // succeeded above, so this is not "connection refused").
        Ok(Err(e)) if e.kind() == FailureKind::AuthRefused && http => Check::fail(
            id,
            format!("{shown} is reachable but refused the request signature: {e}"),
            "set game_server.http.signing_secret (GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET_FILE) \
             to the receiver's secret, and check that both clocks are right (signatures older \
             than 5 minutes are refused)",
        ),
        Ok(Err(e)) if e.kind() == FailureKind::AuthRefused => Check::fail(
            id,
            format!("{shown} is reachable but refused the auth: {e}"),
            "set game_server.auth_token (GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE) to the game server's token",
        ),
        // TLS that cannot be established, a protocol version we do not
        // speak: the failure says what to change.
        Ok(Err(e)) if matches!(e.kind(), FailureKind::Tls | FailureKind::Incompatible) => {
            let what = match e.kind() {
                FailureKind::Tls => "TLS",
                _ => "protocol version",
            };
            // The detail without the operation and the address, said once.
            let detail = e.failure().detail();
            let detail = detail.strip_prefix("ping: ").unwrap_or(detail);
            let detail = detail
                .strip_prefix(&format!("TLS with {shown}: "))
                .unwrap_or(detail);
            Check::fail(
                id,
                format!("{shown} is reachable, {what} refused: {detail}"),
                e.failure()
                    .hint()
                    .unwrap_or("see docs/GAME_SERVER.md, \"TLS on the link\""),
            )
        }
        Ok(Err(e)) if http => Check::fail(
            id,
            format!(
                "{shown} is reachable but does not answer the HTTP connector's API: {e}{}",
                target.note
            ),
            "check that game_server.http.url is the receiver's base URL (POST {url}/ping must \
             answer 200 {\"ok\":true}; docs/GAME_SERVER.md#http-connector)",
        ),
        Ok(Err(e)) => Check::fail(
            id,
            format!("{shown} is reachable but does not answer the protocol: {e}"),
            e.failure()
                .hint()
                .unwrap_or("check that game_server.addr is the game server's registration port"),
        ),
        Err(_) => Check::fail(
            id,
            format!("{shown}: no answer within {} s", NETWORK_LIMIT.as_secs()),
            "check the game server",
        ),
    }
}

/// Where the game-server check connects, by connector.
struct GameTarget {
    /// How the reason names it: the address, or the URL.
    shown: String,
    /// `host:port` for the bare TCP connect.
    tcp: String,
    /// The key to correct.
    key: &'static str,
    /// Appended to the reason: a warning about a clear-text link, or nothing.
    note: String,
}

impl GameTarget {
    fn of(config: &Config) -> Self {
        if let Some((_, via)) = config.game_server.kind.wow() {
            return Self::wow(config, via);
        }
        if config.game_server.kind != ConnectorKind::Http {
            let addr = config.game_server.addr.clone();
            return Self {
                shown: addr.clone(),
                tcp: addr,
                key: "game_server.addr",
                note: String::new(),
            };
        }
        let shown = config.game_server_target();
        // The load checked the URL; a host and a port are always there.
        let url = url::Url::parse(&shown).ok();
        let host = url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let port = url
            .as_ref()
            .and_then(url::Url::port_or_known_default)
            .unwrap_or(443);
        let clear_text = url.as_ref().is_some_and(|u| u.scheme() == "http") && !is_loopback(&host);
        Self {
            tcp: format!("{host}:{port}"),
            shown,
            key: "game_server.http.url",
            note: if clear_text {
                format!(
                    "; warning: http:// to {host}, which is not this machine, sends every \
                     password in clear text — use https://, or make sure the route is a tunnel \
                     (WireGuard)"
                )
            } else {
                String::new()
            },
        }
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[derive(serde::Deserialize)]
pub(super) struct GetMe {
    ok: bool,
    result: Option<BotUser>,
    error_code: Option<u16>,
    description: Option<String>,
}

#[derive(serde::Deserialize)]
pub(super) struct BotUser {
    id: i64,
    username: Option<String>,
}

pub(super) async fn telegram_bot(config: &Config) -> Check {
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

impl GameTarget {
    /// The AzerothCore/TrinityCore kinds: the auth database (shown without
    /// user information) or the worldserver's SOAP URL, which is plain HTTP.
    fn wow(config: &Config, via: gamegate_wowcore::Via) -> Self {
        let game = &config.game_server;
        let (shown, key) = match via {
            gamegate_wowcore::Via::AuthDb => (
                gamegate_wowcore::authdb::redacted_url(secrecy::ExposeSecret::expose_secret(
                    &game.auth_db.url,
                )),
                "game_server.auth_db.url",
            ),
            gamegate_wowcore::Via::Soap => (game.soap.url.clone(), "game_server.soap.url"),
        };
        let url = url::Url::parse(&shown).ok();
        let host = url
            .as_ref()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let port = url.as_ref().and_then(|u| u.port()).unwrap_or(match via {
            gamegate_wowcore::Via::AuthDb => 3306,
            gamegate_wowcore::Via::Soap => 7878,
        });
        let clear_text = via == gamegate_wowcore::Via::Soap && !is_loopback(&host);
        Self {
            tcp: format!("{host}:{port}"),
            shown,
            key,
            note: if clear_text {
                format!(
                    "; warning: worldserver SOAP is plain HTTP and {host} is not this machine: \
                     every password crosses in clear text unless the route is a tunnel \
                     (WireGuard)"
                )
            } else {
                String::new()
            },
        }
    }
}

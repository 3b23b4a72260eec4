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
    let addr = config.game_server.target();
    let connect_limit =
        Duration::from_millis(config.game_server.connect_timeout_ms).min(NETWORK_LIMIT);
    let started = Instant::now();
    // First the connector's own settings (TLS files), whatever the network.
    let mut probe = config.clone();
    probe.game_server.pool_size = 1;
    probe.game_server.auth_db.pool_size = 1;
    probe.game_server.connect_timeout_ms = connect_limit.as_millis() as u64;
    probe.game_server.call_timeout_ms = NETWORK_LIMIT.as_millis() as u64;
    let server = match crate::app::connector::build(&probe, addr.clone()) {
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
    // Then the bare TCP connect, so "down" and "refuses our token" get
    // their own reasons (protocol v1; the AzerothCore/TrinityCore connectors
    // say which of theirs failed in the ping below).
    let bare = async {
        match config.game_server.kind.wow() {
            None => tokio::net::TcpStream::connect(addr.as_str())
                .await
                .map(drop),
            Some(_) => Ok(()),
        }
    };
    match tokio::time::timeout(connect_limit, bare).await {
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
    match tokio::time::timeout(NETWORK_LIMIT, server.ping()).await {
        Ok(Ok(())) => Check::pass(
            id,
            format!(
                "{addr} answers, auth accepted ({} ms) over {}; connector {}",
                started.elapsed().as_millis(),
                server
                    .link_summary()
                    .unwrap_or_else(|| "an unreported link".to_owned()),
                server.capabilities().summary()
            ),
        ),
        // The server refused the `auth` command (the TCP connect already
        // succeeded above, so this is not "connection refused").
        Ok(Err(e)) if e.kind() == FailureKind::AuthRefused => Check::fail(
            id,
            format!("{addr} is reachable but refused the auth: {e}"),
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
                .strip_prefix(&format!("TLS with {addr}: "))
                .unwrap_or(detail);
            Check::fail(
                id,
                format!("{addr} is reachable, {what} refused: {detail}"),
                e.failure()
                    .hint()
                    .unwrap_or("see docs/GAME_SERVER.md, \"TLS on the link\""),
            )
        }
        Ok(Err(e)) => Check::fail(
            id,
            format!("{addr} is reachable but does not answer the protocol: {e}"),
            e.failure()
                .hint()
                .unwrap_or("check that game_server.addr is the game server's registration port"),
        ),
        Err(_) => Check::fail(
            id,
            format!("{addr}: no answer within {} s", NETWORK_LIMIT.as_secs()),
            "check the game server",
        ),
    }
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

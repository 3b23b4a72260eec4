//! The protocol-level checks of v1 (docs/GAME_SERVER.md, "The conformance
//! kit"): authentication, ids, one connection for many requests,
//! pipelining, and the line rules, each on a raw connection of its own.

use gamegate_gameserver::protocol::{Command, MAX_LINE_BYTES, Request};
use serde_json::json;

use super::report::{Check, CheckId};
use super::runner::Runner;
use super::wire::{Dialer, FIX_SPEAKS_TLS, Read, distinct_ids, padded_ping, random_id};

/// How many requests `pipelined` writes in one burst.
pub(super) const PIPELINED: usize = 50;

/// The checks of this module, in run order: the head of [`CheckId::ALL`]
/// up to `invalid_request` (the connector checks follow).
pub(super) const IDS: &[CheckId] = CheckId::ALL.as_slice().split_at(WIRE_CHECKS).0;

/// How many of [`CheckId::ALL`] are wire checks.
pub(super) const WIRE_CHECKS: usize = 11;

const FIX_UNAUTHORIZED: &str = "answer every command but `auth` with \
    {\"id\":N,\"ok\":false,\"error\":\"unauthorized\"} until the connection has sent the right token";
const FIX_INVALID: &str = "answer a line that is not a valid request with \
    {\"id\":0,\"ok\":false,\"error\":\"invalid\"} (the request's id if it could be read), then close the connection";

/// A login no account has: `exists` must answer false for it.
fn unknown_login() -> String {
    format!("gg_check_unknown_{}", random_id() % 1_000_000_000)
}

fn exists_line(id: u64, login: &str) -> Vec<u8> {
    Request::new(
        id,
        Command::Exists {
            login: login.to_owned(),
        },
    )
    .to_line()
}

fn ping_line(id: u64) -> Vec<u8> {
    Request::new(id, Command::Ping).to_line()
}

/// Runs the wire checks in order. Returns why the connector checks cannot
/// run when a check they depend on failed (no connection, TLS, the token
/// refused, ids not echoed, one request per connection): the failed check
/// and its own reason, which the skipped checks repeat.
pub(super) async fn run(runner: &mut Runner, dialer: &Dialer) -> Option<String> {
    if !runner.run(CheckId::TcpConnect, tcp_connect(dialer)).await {
        let reason = runner.failure_of_last();
        for id in &IDS[1..] {
            runner.skip(*id, &reason);
        }
        return Some(reason);
    }
    runner
        .run(CheckId::AuthRequired, auth_required(dialer))
        .await;
    runner
        .run(CheckId::AuthWrongToken, auth_wrong_token(dialer))
        .await;
    let gates = [
        CheckId::AuthAccepted,
        CheckId::ConnectionKept,
        CheckId::IdsEchoed,
    ];
    for id in gates {
        let passed = match id {
            CheckId::AuthAccepted => runner.run(id, auth_accepted(dialer)).await,
            CheckId::ConnectionKept => runner.run(id, connection_kept(dialer)).await,
            _ => runner.run(id, ids_echoed(dialer)).await,
        };
        if !passed {
            let reason = runner.failure_of_last();
            for later in IDS.iter().skip_while(|&&c| c != id).skip(1) {
                runner.skip(*later, &reason);
            }
            return Some(reason);
        }
    }
    runner.run(CheckId::Pipelined, pipelined(dialer)).await;
    runner.run(CheckId::LineLimit, line_limit(dialer)).await;
    let oversized = padded_ping(random_id(), MAX_LINE_BYTES + 1);
    runner
        .run(
            CheckId::OversizedLine,
            refused(dialer, CheckId::OversizedLine, oversized, None),
        )
        .await;
    runner
        .run(
            CheckId::MalformedLine,
            refused(
                dialer,
                CheckId::MalformedLine,
                b"this line is not JSON\n".to_vec(),
                None,
            ),
        )
        .await;
    runner
        .run(CheckId::InvalidRequest, invalid_request(dialer))
        .await;
    None
}

/// The connection (and with TLS configured, the handshake). Over plain TCP,
/// a `ping` before `auth` (no token) tells a TLS server: it answers a TLS
/// alert, and the kit stops before the token is ever sent to it.
async fn tcp_connect(dialer: &Dialer) -> Check {
    let id = CheckId::TcpConnect;
    let started = std::time::Instant::now();
    let mut wire = match dialer.open().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e.reason, e.fix),
    };
    let ms = started.elapsed().as_millis();
    let addr = dialer.addr();
    if let Some(tls) = dialer.tls() {
        return Check::pass(
            id,
            format!("{addr} accepts TLS connections ({}; {ms} ms)", tls.trust()),
        );
    }
    match wire.call(&ping_line(random_id())).await {
        Read::Tls => Check::fail(
            id,
            format!(
                "{addr} answered a plain-text `ping` with a TLS record: it speaks TLS, and \
                 game_server.tls.enabled is false"
            ),
            FIX_SPEAKS_TLS,
        ),
        _ => Check::pass(id, format!("{addr} accepts TCP connections ({ms} ms)")),
    }
}

async fn auth_required(dialer: &Dialer) -> Check {
    let id = CheckId::AuthRequired;
    let mut wire = match dialer.connect().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "check that the server accepts connections"),
    };
    let read = wire.call(&exists_line(random_id(), &unknown_login())).await;
    match read {
        _ if read.is_error("unauthorized") => {
            Check::pass(id, "`exists` before `auth` is answered `unauthorized`")
        }
        Read::Reply(reply) if reply.ok => Check::fail(
            id,
            "`exists` before `auth` was answered ok: the server does not require auth, \
             so anyone who reaches its port can create and delete accounts",
            FIX_UNAUTHORIZED,
        ),
        Read::Closed(_) => Check::pass(
            id,
            "`exists` before `auth` closed the connection (the protocol asks for an \
             `unauthorized` reply; closing is as safe)",
        ),
        other => Check::fail(
            id,
            format!("`exists` before `auth`: the server {}", other.describe()),
            FIX_UNAUTHORIZED,
        ),
    }
}

async fn auth_wrong_token(dialer: &Dialer) -> Check {
    let id = CheckId::AuthWrongToken;
    let fix = "compare the token with the configured one (in constant time) and refuse any other \
               with `unauthorized`; keep the connection unauthenticated";
    let mut wire = match dialer.connect().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "check that the server accepts connections"),
    };
    let wrong = format!("gg-check-wrong-token-{}", random_id());
    let read = wire
        .call(&dialer.auth_line(random_id(), Some(&wrong)))
        .await;
    match read {
        _ if read.is_error("unauthorized") => {}
        Read::Closed(_) => {
            return Check::pass(id, "a wrong token closes the connection");
        }
        Read::Reply(reply) if reply.ok => {
            return Check::fail(id, "a wrong token was accepted", fix);
        }
        other => {
            return Check::fail(
                id,
                format!("`auth` with a wrong token: the server {}", other.describe()),
                fix,
            );
        }
    }
    let after = wire.call(&exists_line(random_id(), &unknown_login())).await;
    match after {
        _ if after.is_error("unauthorized") => Check::pass(
            id,
            "a wrong token is answered `unauthorized`, and the connection stays unauthenticated",
        ),
        Read::Closed(_) => Check::pass(
            id,
            "a wrong token is answered `unauthorized`, then the connection is closed",
        ),
        other => Check::fail(
            id,
            format!(
                "after a refused `auth`, `exists` on the same connection: the server {}",
                other.describe()
            ),
            fix,
        ),
    }
}

async fn auth_accepted(dialer: &Dialer) -> Check {
    let id = CheckId::AuthAccepted;
    let mut wire = match dialer.connect().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "check that the server accepts connections"),
    };
    match wire.call(&dialer.auth_line(random_id(), None)).await {
        Read::Reply(reply) if reply.ok => Check::pass(id, "the configured token is accepted"),
        read if read.is_error("unauthorized") => Check::fail(
            id,
            "the configured token was refused (`unauthorized`)",
            "set game_server.auth_token (GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE) to the game server's token",
        ),
        other => Check::fail(
            id,
            format!(
                "`auth` with the configured token: the server {}",
                other.describe()
            ),
            "answer `auth` with the right token {\"id\":N,\"ok\":true}",
        ),
    }
}

async fn ids_echoed(dialer: &Dialer) -> Check {
    let id = CheckId::IdsEchoed;
    let fix = "copy each request's `id` (an unsigned 64-bit integer) into its reply unchanged: \
               gamegate drops a reply whose id differs and counts the call as lost";
    let mut wire = match dialer.connect().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "check that the server accepts connections"),
    };
    let ids = distinct_ids(3);
    let lines = [
        ("auth", dialer.auth_line(ids[0], None)),
        ("ping", ping_line(ids[1])),
        ("exists", exists_line(ids[2], &unknown_login())),
    ];
    for ((cmd, line), &sent) in lines.iter().zip(&ids) {
        match wire.call(line).await {
            Read::Reply(reply) if reply.id == sent => {}
            Read::Reply(reply) => {
                return Check::fail(
                    id,
                    format!("`{cmd}` with id {sent} was answered with id {}", reply.id),
                    fix,
                );
            }
            other => {
                return Check::fail(
                    id,
                    format!("`{cmd}` with id {sent}: the server {}", other.describe()),
                    fix,
                );
            }
        }
    }
    Check::pass(
        id,
        "auth, ping and exists with ids above 2^32 answered with the same ids",
    )
}

async fn connection_kept(dialer: &Dialer) -> Check {
    let id = CheckId::ConnectionKept;
    let fix = "keep the connection open and read the next line after each reply: gamegate keeps \
               a pool of connections and sends request after request on each";
    let mut wire = match dialer.connect().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "check that the server accepts connections"),
    };
    let requests = 5;
    for n in 0..requests {
        let line = match n {
            0 => dialer.auth_line(random_id(), None),
            _ => ping_line(random_id()),
        };
        match wire.call(&line).await {
            Read::Reply(reply) if reply.ok => {}
            Read::Closed(how) => {
                return Check::fail(
                    id,
                    format!(
                        "the server closed the connection{how} after {n} request(s) \
                         (auth, then ping after ping)"
                    ),
                    fix,
                );
            }
            other => {
                return Check::fail(
                    id,
                    format!(
                        "request {} of {requests}: the server {}",
                        n + 1,
                        other.describe()
                    ),
                    fix,
                );
            }
        }
    }
    Check::pass(
        id,
        format!("{requests} requests one after another on one connection, all answered"),
    )
}

async fn pipelined(dialer: &Dialer) -> Check {
    let id = CheckId::Pipelined;
    let fix = "read one line at a time and answer each request before reading the next, in \
               order: requests may arrive together in one packet";
    let mut wire = match dialer.authenticated().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "see auth_accepted"),
    };
    let ids = distinct_ids(PIPELINED);
    let mut burst = Vec::new();
    for (n, &rid) in ids.iter().enumerate() {
        burst.extend(match n % 2 {
            0 => ping_line(rid),
            _ => exists_line(rid, &unknown_login()),
        });
    }
    if let Err(e) = wire.write(&burst).await {
        return Check::fail(id, format!("writing {PIPELINED} requests: {e}"), fix);
    }
    for (n, &sent) in ids.iter().enumerate() {
        let read = wire.read().await;
        let problem = match &read {
            Read::Reply(reply) if reply.id != sent => format!(
                "reply {} of {PIPELINED} has id {}, its request had id {sent} \
                 (answered out of order, or ids not echoed)",
                n + 1,
                reply.id
            ),
            Read::Reply(reply) if !reply.ok => {
                format!(
                    "request {} of {PIPELINED}: the server {}",
                    n + 1,
                    read.describe()
                )
            }
            Read::Reply(reply) if n % 2 == 1 && reply.exists != Some(false) => format!(
                "`exists` of an unknown login (request {} of {PIPELINED}) did not answer false: {}",
                n + 1,
                read.describe()
            ),
            Read::Reply(_) => continue,
            other => format!(
                "after {n} of {PIPELINED} replies the server {}",
                other.describe()
            ),
        };
        return Check::fail(id, problem, fix);
    }
    Check::pass(
        id,
        format!(
            "{PIPELINED} requests written at once (ping, exists) answered in order, ids echoed"
        ),
    )
}

async fn line_limit(dialer: &Dialer) -> Check {
    let id = CheckId::LineLimit;
    let mut wire = match dialer.authenticated().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "see auth_accepted"),
    };
    let rid = random_id();
    match wire.call(&padded_ping(rid, MAX_LINE_BYTES)).await {
        Read::Reply(reply) if reply.ok && reply.id == rid => Check::pass(
            id,
            format!("a request of exactly {MAX_LINE_BYTES} bytes is answered"),
        ),
        other => Check::fail(
            id,
            format!(
                "a request of exactly {MAX_LINE_BYTES} bytes (the limit; a `ping` with an extra \
                 field): the server {}",
                other.describe()
            ),
            "accept lines of up to 4096 bytes, not counting the line end, and ignore unknown fields",
        ),
    }
}

/// Sends `line` on an authenticated connection and expects `invalid` (with
/// `id` or 0) and the connection closed.
async fn refused(dialer: &Dialer, id: CheckId, line: Vec<u8>, request_id: Option<u64>) -> Check {
    let what = match id {
        CheckId::OversizedLine => format!("a line of {} bytes", line.len() - 1),
        CheckId::MalformedLine => "a line that is not JSON".to_owned(),
        _ => format!("`{}`", String::from_utf8_lossy(line.trim_ascii_end())),
    };
    let fix = match id {
        CheckId::OversizedLine => format!(
            "read at most {} bytes looking for the line end; {FIX_INVALID}",
            MAX_LINE_BYTES + 1
        ),
        _ => FIX_INVALID.to_owned(),
    };
    let mut wire = match dialer.authenticated().await {
        Ok(wire) => wire,
        Err(e) => return Check::fail(id, e, "see auth_accepted"),
    };
    let read = wire.call(&line).await;
    let reply_id = match &read {
        Read::Reply(reply) if read.is_error("invalid") => reply.id,
        other => {
            return Check::fail(id, format!("{what}: the server {}", other.describe()), fix);
        }
    };
    if reply_id != 0 && Some(reply_id) != request_id {
        return Check::fail(
            id,
            format!("{what}: answered `invalid` with id {reply_id}, not the request's id or 0"),
            fix,
        );
    }
    match wire.expect_close().await {
        Ok(()) => Check::pass(
            id,
            format!("{what} is answered `invalid` and the connection closed"),
        ),
        Err(e) => Check::fail(
            id,
            format!("{what} is answered `invalid`, but the server {e}"),
            "close the connection after `invalid`: the rest of a broken line cannot be trusted",
        ),
    }
}

async fn invalid_request(dialer: &Dialer) -> Check {
    let id = CheckId::InvalidRequest;
    let unknown = random_id();
    let missing = random_id();
    let cases = [
        (
            unknown,
            json!({"id": unknown, "cmd": "gg_check_no_such_command"}),
        ),
        (missing, json!({"id": missing, "cmd": "exists"})),
    ];
    for (rid, request) in cases {
        let mut line = request.to_string().into_bytes();
        line.push(b'\n');
        let check = refused(dialer, id, line, Some(rid)).await;
        if !check.passed() {
            return check;
        }
    }
    Check::pass(
        id,
        "an unknown command and `exists` without `login` are answered `invalid` \
         (with the request's id) and the connection closed",
    )
}

//! Who the edge judges a request as (docs/EDGE.md#the-site-as-a-consumer),
//! over real sockets: a site's server speaking for its players with a valid
//! key and `X-Player-IP`; requests without a valid key judged by their
//! socket peer; IPv6 clients counted and banned by their /64; loopback never
//! banned by default; the forwarding-header precedence behind a trusted proxy.

use std::net::IpAddr;
use std::time::Duration;

use gamegate::Config;
use gamegate::startup::Application;
use ipnet::IpNet;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::{Backend, TEST_API_KEY, TestApp, assert_error, player, spawn_app_with, start};
use gamegate::config::networks;
use gamegate_store::unix_now;

const WRONG_KEY: &str = "wrong-key-0123456789abcdef";

/// How a request presents itself.
#[derive(Clone, Copy, Default)]
struct As<'a> {
    key: Option<&'a str>,
    player: Option<&'a str>,
    forwarded_for: Option<&'a str>,
    real_ip: Option<&'a str>,
}

impl<'a> As<'a> {
    /// The site's server, with the key, naming `player`.
    fn site_for(player: &'a str) -> Self {
        Self {
            key: Some(TEST_API_KEY),
            player: Some(player),
            ..Self::default()
        }
    }

    /// A client behind the trusted proxy (the test's loopback peer).
    fn forwarded(address: &'a str) -> Self {
        Self {
            forwarded_for: Some(address),
            ..Self::default()
        }
    }
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    who: As<'_>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path));
    if let Some(key) = who.key {
        req = req.header("x-api-key", key);
    }
    if let Some(player) = who.player {
        req = req.header("x-player-ip", player);
    }
    if let Some(xff) = who.forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    if let Some(real_ip) = who.real_ip {
        req = req.header("x-real-ip", real_ip);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let response = req.send().await.expect("request sent");
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn register(
    app: &TestApp,
    who: As<'_>,
    login: &str,
    telegram_id: i64,
) -> (StatusCode, Value) {
    send(
        app,
        Method::POST,
        "/api/register",
        who,
        Some(player(login, telegram_id)),
    )
    .await
}

async fn status(app: &TestApp, who: As<'_>) -> StatusCode {
    send(app, Method::GET, "/api/server/status", who, None)
        .await
        .0
}

async fn health(app: &TestApp, who: As<'_>) -> StatusCode {
    send(app, Method::GET, "/health", who, None).await.0
}

fn net(s: &str) -> IpNet {
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .unwrap_or_else(|_| s.parse().unwrap())
}

async fn stored_bans(app: &TestApp) -> Vec<IpNet> {
    let mut nets: Vec<IpNet> = app
        .db
        .bans()
        .active(unix_now(), 1_000)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.net)
        .collect();
    nets.sort();
    nets
}

async fn wait_for_stored_bans(app: &TestApp, expected: &[IpNet]) {
    let mut expected = expected.to_vec();
    expected.sort();
    app.eventually("the bans are written", Duration::from_secs(10), || async {
        stored_bans(app).await == expected
    })
    .await;
}

/// The default jail (20 failures within 300 s), re-read every 100 ms, with
/// nothing ignored: the tests' site and proxy are 127.0.0.1, and that they
/// are not banned must come from the rules, not from the ignore list.
fn jail_ignoring_nothing(c: &mut Config) {
    c.edge.ban_sync_interval_ms = 100;
    c.edge.ban_ignore.clear();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_players_behind_one_site_have_their_own_limits_and_only_the_abuser_is_banned() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.register_per_minute = 1;
        c.edge.register_burst = 4;
    })
    .await
    .unwrap();
    let players: Vec<String> = (1..=50).map(|i| format!("198.51.100.{i}")).collect();

    // Each of the 50 players registers 3 times: within their own burst of 4,
    // far beyond what one shared bucket would admit (4).
    for round in 0..3 {
        for (i, address) in players.iter().enumerate() {
            let (status, body) = register(
                &app,
                As::site_for(address),
                &format!("P{i:02}_r{round}"),
                (i * 10 + round + 1) as i64,
            )
            .await;
            assert_eq!(status, 200, "{address}, round {round}: {body}");
        }
    }

    // One abusive player behind the same site: limited after their burst,
    // banned at the 20th refusal (rate_limited counts), refused since.
    let abuser = "203.0.113.66";
    let mut codes = Vec::new();
    for i in 0..30 {
        let (status, body) = register(
            &app,
            As::site_for(abuser),
            &format!("Abuse_{i:02}"),
            9_000 + i,
        )
        .await;
        codes.push((
            status.as_u16(),
            body["detail"].as_str().unwrap_or("").to_owned(),
        ));
    }
    let count = |status: u16, detail: &str| {
        codes
            .iter()
            .filter(|(s, d)| *s == status && d == detail)
            .count()
    };
    assert_eq!(count(200, ""), 4, "{codes:?}");
    assert_eq!(count(429, "rate_limited"), 20, "{codes:?}");
    assert_eq!(count(403, "banned"), 6, "{codes:?}");
    // Banned by their address, on every route, whoever carries them.
    assert_eq!(health(&app, As::site_for(abuser)).await, 403);
    assert_eq!(status(&app, As::site_for(abuser)).await, 403);

    // The others go on: each has one registration left.
    for (i, address) in players.iter().enumerate() {
        let (status, body) = register(
            &app,
            As::site_for(address),
            &format!("P{i:02}_r3"),
            (i * 10 + 4) as i64,
        )
        .await;
        assert_eq!(status, 200, "{address}: {body}");
    }
    // The site itself (its own requests, keyless or keyed) was never counted.
    assert_eq!(health(&app, As::default()).await, 200);
    let (status, body) = register(
        &app,
        As {
            key: Some(TEST_API_KEY),
            ..As::default()
        },
        "Site_Own",
        77,
    )
    .await;
    assert_eq!(status, 200, "the site's own budget is untouched: {body}");
    wait_for_stored_bans(&app, &[net(abuser)]).await;
    assert_eq!(app.db_logins().await.len(), 50 * 4 + 4 + 1);
    app.stop().await;
}

#[tokio::test]
async fn a_keyless_or_wrong_key_request_naming_a_player_is_judged_by_its_socket_peer() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.ban_threshold = 3;
        c.edge.status_per_minute = 1;
        c.edge.status_burst = 2;
    })
    .await
    .unwrap();

    // Keyless: naming a new player each time buys no fresh status budget.
    let keyless = |player| As {
        player: Some(player),
        ..As::default()
    };
    assert_eq!(status(&app, keyless("198.51.100.1")).await, 200);
    assert_eq!(status(&app, keyless("198.51.100.2")).await, 200);
    assert_eq!(status(&app, keyless("198.51.100.3")).await, 429);
    // ...while the site, with its key, speaks for a player with a budget of their own.
    assert_eq!(status(&app, As::site_for("198.51.100.4")).await, 200);

    // A wrong key naming players: the socket peer collects the failures
    // (the 429 above was the first) and is banned, not the players named.
    for named in ["198.51.100.5", "198.51.100.6"] {
        let (status, body) = register(
            &app,
            As {
                key: Some(WRONG_KEY),
                player: Some(named),
                ..As::default()
            },
            "Wrong_01",
            1,
        )
        .await;
        assert_error(status, &body, 403, "invalid_api_key");
    }
    assert_eq!(
        health(&app, As::default()).await,
        403,
        "127.0.0.1 is banned"
    );
    assert_eq!(health(&app, keyless("198.51.100.5")).await, 403);
    wait_for_stored_bans(&app, &[net("127.0.0.1")]).await;
    // A player a wrong key named was not framed.
    let (status, body) = register(&app, As::site_for("198.51.100.5"), "Framed_01", 2).await;
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_site_key_s_aggregate_limit_bounds_a_leaked_key_without_blaming_players() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.ban_threshold = 1;
        c.edge.site_key_per_minute = 1;
        c.edge.site_key_burst = 5;
    })
    .await
    .unwrap();
    for i in 1..=5 {
        let address = format!("192.0.2.{i}");
        let (status, body) = register(&app, As::site_for(&address), &format!("Leak_{i}"), i).await;
        assert_eq!(status, 200, "{body}");
    }
    // A sixth player: over the key's budget, whoever is named.
    let (status, body) = register(&app, As::site_for("192.0.2.6"), "Leak_6", 6).await;
    assert_error(status, &body, 429, "rate_limited");
    let (status, body) = register(&app, As::site_for("192.0.2.7"), "Leak_7", 7).await;
    assert_error(status, &body, 429, "rate_limited");
    // Not counted against the players (one failure would ban them here).
    assert_eq!(health(&app, As::site_for("192.0.2.6")).await, 200);
    assert_eq!(health(&app, As::site_for("192.0.2.7")).await, 200);
    assert!(stored_bans(&app).await.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn thirty_addresses_of_one_ipv6_64_share_one_budget() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.ban_enabled = false;
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
        c.edge.status_per_minute = 1;
        c.edge.status_burst = 3;
        c.edge.register_per_minute = 1;
        c.edge.register_burst = 2;
    })
    .await
    .unwrap();
    let mut codes = Vec::new();
    for i in 1..=30 {
        let address = format!("2001:db8:1:2::{i:x}");
        codes.push(status(&app, As::forwarded(&address)).await.as_u16());
    }
    assert_eq!(codes[..3], [200, 200, 200], "{codes:?}");
    assert!(codes[3..].iter().all(|&c| c == 429), "{codes:?}");
    // Another /64 of the same /48 has its own budget; so has each IPv4 address.
    assert_eq!(status(&app, As::forwarded("2001:db8:1:3::1")).await, 200);
    for i in 1..=30 {
        let address = format!("203.0.113.{i}");
        assert_eq!(
            status(&app, As::forwarded(&address)).await,
            200,
            "{address}"
        );
    }

    // Players a site names are counted by their /64 too.
    for (i, expected) in [(1, 200), (2, 200), (3, 429), (4, 429)] {
        let address = format!("2001:db8:7:7:{i:x}::1");
        let (status, body) = register(&app, As::site_for(&address), &format!("V6_{i}"), i).await;
        assert_eq!(status, expected, "{address}: {body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_configured_ipv6_prefix_widens_or_narrows_the_client() {
    for (prefix, shared) in [(56u8, true), (128, false)] {
        let app = spawn_app_with(Backend::Sqlite, |c| {
            c.edge.ban_enabled = false;
            c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
            c.edge.status_per_minute = 1;
            c.edge.status_burst = 1;
            c.edge.ipv6_prefix = prefix;
        })
        .await
        .unwrap();
        assert_eq!(status(&app, As::forwarded("2001:db8:1:200::1")).await, 200);
        // Another /64 of the same /56; another address of the same /64.
        let second = status(&app, As::forwarded("2001:db8:1:201::1")).await;
        let third = status(&app, As::forwarded("2001:db8:1:200::2")).await;
        if shared {
            assert_eq!(
                (second, third),
                (StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS),
                "/{prefix}"
            );
        } else {
            assert_eq!(
                (second, third),
                (StatusCode::OK, StatusCode::OK),
                "/{prefix}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn failures_spread_over_one_ipv6_64_ban_the_64() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
    })
    .await
    .unwrap();
    // 21 wrong keys from 21 addresses of 2001:db8:5:6::/64: the 20th bans.
    let mut codes = Vec::new();
    for i in 1..=21 {
        let address = format!("2001:db8:5:6:{i:x}::{i:x}");
        let (status, body) = register(
            &app,
            As {
                key: Some(WRONG_KEY),
                forwarded_for: Some(&address),
                ..As::default()
            },
            "Spread_01",
            1,
        )
        .await;
        codes.push((status.as_u16(), body["detail"].as_str().unwrap().to_owned()));
    }
    assert!(
        codes[..20]
            .iter()
            .all(|(s, d)| *s == 403 && d == "invalid_api_key"),
        "{codes:?}"
    );
    assert_eq!(codes[20], (403, "banned".to_owned()));
    // The whole /64 is banned, addresses never seen included; its neighbours are not.
    for address in ["2001:db8:5:6::1", "2001:db8:5:6:ffff:ffff:ffff:ffff"] {
        assert_eq!(health(&app, As::forwarded(address)).await, 403, "{address}");
    }
    for address in ["2001:db8:5:7::1", "2001:db8:5:5:ffff::1", "127.0.0.2"] {
        assert_eq!(health(&app, As::forwarded(address)).await, 200, "{address}");
    }
    assert_eq!(
        health(&app, As::default()).await,
        200,
        "the proxy is not banned"
    );
    wait_for_stored_bans(&app, &[net("2001:db8:5:6::/64")]).await;

    // The same failures from IPv4 addresses of one /24 ban nobody.
    for i in 1..=21 {
        let address = format!("198.51.100.{i}");
        let (status, _) = register(
            &app,
            As {
                key: Some(WRONG_KEY),
                forwarded_for: Some(&address),
                ..As::default()
            },
            "Spread_02",
            2,
        )
        .await;
        assert_eq!(status, 403);
    }
    assert_eq!(health(&app, As::forwarded("198.51.100.1")).await, 200);
    app.stop().await;
}

#[tokio::test]
async fn a_network_ban_from_the_database_reaches_the_running_process() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
    })
    .await
    .unwrap();
    let bans = app.db.bans();
    let until = unix_now() + 600;
    bans.upsert(net("2001:db8:9::/48"), until, "operator", unix_now())
        .await
        .unwrap();
    bans.upsert(net("198.51.100.0/24"), until, "operator", unix_now())
        .await
        .unwrap();
    app.eventually(
        "the network bans are read",
        Duration::from_secs(10),
        || async { health(&app, As::forwarded("2001:db8:9:abcd::1")).await == 403 },
    )
    .await;
    assert_eq!(health(&app, As::forwarded("198.51.100.77")).await, 403);
    assert_eq!(
        health(&app, As::site_for("198.51.100.78")).await,
        403,
        "a named player too"
    );
    assert_eq!(health(&app, As::forwarded("2001:db8:a::1")).await, 200);
    assert_eq!(health(&app, As::forwarded("198.51.101.1")).await, 200);

    assert!(bans.remove(net("198.51.100.0/24")).await.unwrap());
    app.eventually(
        "the lifted ban is read",
        Duration::from_secs(10),
        || async { health(&app, As::forwarded("198.51.100.77")).await == 200 },
    )
    .await;
    app.stop().await;
}

async fn post_demo(
    app: &TestApp,
    forwarded_for: Option<&str>,
    login: &str,
    telegram_id: i64,
) -> (StatusCode, Value) {
    send(
        app,
        Method::POST,
        "/demo/register",
        As {
            forwarded_for,
            ..As::default()
        },
        Some(player(login, telegram_id)),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_demo_registrations_from_one_visitor_never_ban_loopback_even_after_a_restart() {
    // The defaults: 10 per minute with a burst of 5, 20 failures ban for an
    // hour, loopback ignored.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        let defaults = Config::default().edge;
        c.edge.register_per_minute = defaults.register_per_minute;
        c.edge.register_burst = defaults.register_burst;
        c.edge.ban_sync_interval_ms = 100;
    })
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for i in 0..30 {
        statuses.push(
            post_demo(&app, None, &format!("Demo_{i:02}"), 100 + i)
                .await
                .0
                .as_u16(),
        );
    }
    // The burst of 5, and one more per 6 s the loop took.
    let admitted = statuses.iter().filter(|&&s| s == 200).count();
    assert!((5..=7).contains(&admitted), "{statuses:?}");
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 429),
        "never banned: {statuses:?}"
    );
    assert_eq!(health(&app, As::default()).await, 200);
    assert_eq!(status(&app, As::default()).await, 200);
    // A ban of loopback written earlier (say, by a version without the
    // ignore list) is not enforced either.
    app.db
        .bans()
        .upsert(net("127.0.0.1"), unix_now() + 3_600, "old", unix_now())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(health(&app, As::default()).await, 200);

    let (config, dir) = app.stop_keeping_data().await;
    let again = start(config).await;
    let addr = again.public();
    let response = reqwest::get(format!("http://{addr}/health")).await.unwrap();
    assert_eq!(
        response.status(),
        200,
        "loopback is not banned after a restart"
    );
    again.stop().await;
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_names_its_visitor_who_alone_is_limited_and_banned() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
        c.edge.register_per_minute = 1;
        c.edge.register_burst = 2;
        c.edge.ban_threshold = 5;
    })
    .await
    .unwrap();
    let visitor = Some("198.51.100.7");
    let mut statuses = Vec::new();
    for i in 0..9 {
        statuses.push(
            post_demo(&app, visitor, &format!("Visit_{i}"), 200 + i)
                .await
                .0
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [200, 200, 429, 429, 429, 429, 429, 403, 403],
        "two admitted, five refusals ban"
    );
    // Another visitor of the demo, and loopback (the forwarder), go on.
    let (status, body) = post_demo(&app, Some("198.51.100.8"), "Other_1", 300).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(health(&app, As::default()).await, 200);
    wait_for_stored_bans(&app, &[net("198.51.100.7")]).await;
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_x_real_ip_wins_over_the_client_s_own_x_forwarded_for() {
    // nginx with `proxy_set_header X-Real-IP $remote_addr;` alone passes the
    // client's X-Forwarded-For on untouched.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        jail_ignoring_nothing(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
        c.edge.ban_threshold = 3;
    })
    .await
    .unwrap();
    let forged = As {
        key: Some(WRONG_KEY),
        forwarded_for: Some("192.0.2.99"),
        real_ip: Some("198.51.100.20"),
        ..As::default()
    };
    for _ in 0..3 {
        let (status, body) = register(&app, forged, "Forged_1", 1).await;
        assert_error(status, &body, 403, "invalid_api_key");
    }
    assert_eq!(
        health(
            &app,
            As {
                real_ip: Some("198.51.100.20"),
                ..As::default()
            }
        )
        .await,
        403
    );
    assert_eq!(
        health(&app, As::forwarded("192.0.2.99")).await,
        200,
        "not framed"
    );
    wait_for_stored_bans(&app, &[net("198.51.100.20")]).await;
    app.stop().await;
}

#[tokio::test]
async fn the_banner_names_running_bans_and_how_to_lift_them() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let now = unix_now();
    for (banned, secs) in [("203.0.113.9", 600), ("2001:db8:4:4::/64", 300)] {
        app.db
            .bans()
            .upsert(net(banned), now + secs, "test", now)
            .await
            .unwrap();
    }
    let (config, dir) = app.stop_keeping_data().await;
    let again = Application::build(config).await.expect("restarts");
    let banner = again.banner();
    for needle in [
        "2 ban(s) running",
        "banned: 203.0.113.9 for ",
        "banned: 2001:db8:4:4::/64 for ",
        "gamegate ban list",
        "gamegate ban remove",
    ] {
        assert!(banner.contains(needle), "{needle:?} missing:\n{banner}");
    }
    drop(again);
    drop(dir);
}

#[tokio::test]
async fn the_access_log_names_the_player_a_valid_key_speaks_for() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("access.log");
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.log.access_log = log.display().to_string();
    })
    .await
    .unwrap();
    let (status, body) = register(&app, As::site_for("198.51.100.9"), "Logged_1", 1).await;
    assert_eq!(status, 200, "{body}");
    let wrong = As {
        key: Some(WRONG_KEY),
        player: Some("198.51.100.10"),
        ..As::default()
    };
    assert_eq!(register(&app, wrong, "Logged_2", 2).await.0, 403);
    app.eventually(
        "both lines are written",
        Duration::from_secs(10),
        || async { std::fs::read_to_string(&log).is_ok_and(|text| text.lines().count() >= 2) },
    )
    .await;
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("198.51.100.9 - - ["), "{text}");
    assert!(lines[0].contains("\" 200 "), "{text}");
    assert!(
        lines[1].starts_with("127.0.0.1 - - ["),
        "a wrong key is its peer: {text}"
    );
    assert!(!text.contains("198.51.100.10"), "{text}");
    app.stop().await;
}

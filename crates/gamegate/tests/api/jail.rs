//! The ban jail of `gamegate all` (API.md §4) over real sockets: failures of a
//! client IP within a window get it banned on every public route; bans are
//! persisted, restored at start and synchronised with the database; only the
//! trusted client IP counts, so spoofed headers neither escape nor frame.

use std::net::IpAddr;

use ipnet::IpNet;
use std::process::Output;
use std::time::Duration;

use gamegate::Config;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    Backend, TEST_API_KEY, TestApp, assert_error, binary, player, spawn_app_with, start,
};
use gamegate::config::networks;
use gamegate_domain::ErrorCode;
use gamegate_store::unix_now;

crate::on_every_backend!(
    bans_are_persisted_and_restored_after_a_restart,
    bans_added_or_lifted_in_the_database_reach_a_running_process,
);

const WRONG_KEY: &str = "wrong-key-0123456789abcdef";
const BAN_SECS: u64 = 600;

/// A jail that bans at the third failure within a minute, and re-reads the
/// table every 100 ms. Loopback — where every test client comes from — is
/// not ignored here (it is by default; see identity.rs).
fn small_jail(c: &mut Config) {
    c.edge.ban_ignore.clear();
    c.edge.ban_threshold = 3;
    c.edge.ban_window_secs = 60;
    c.edge.ban_secs = BAN_SECS;
    c.edge.ban_sync_interval_ms = 100;
}

/// An address (a /32 or /128) or a network.
fn net(s: &str) -> IpNet {
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .unwrap_or_else(|_| s.parse().unwrap())
}

async fn register_as(
    app: &TestApp,
    key: &str,
    forwarded_for: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .http
        .post(app.url("/api/register"))
        .header("x-api-key", key)
        .json(&body);
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("request sent")
}

async fn status_as(app: &TestApp, forwarded_for: Option<&str>) -> reqwest::Response {
    let mut req = app.http.get(app.url("/api/server/status"));
    if let Some(xff) = forwarded_for {
        req = req.header("x-forwarded-for", xff);
    }
    req.send().await.expect("request sent")
}

/// Asserts `403 banned` with a `Retry-After` within the ban time.
async fn assert_banned(response: reqwest::Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a banned answer carries Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=BAN_SECS).contains(&retry_after),
        "Retry-After {retry_after} is the remaining ban time"
    );
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_error(status, &body, 403, "banned");
}

async fn assert_invalid_key(response: reqwest::Response) {
    let status = response.status();
    let body: Value = response.json().await.expect("JSON body");
    assert_error(status, &body, 403, "invalid_api_key");
}

/// Three wrong keys from `forwarded_for` (or the socket peer).
async fn fail_three_times(app: &TestApp, forwarded_for: Option<&str>) {
    for _ in 0..3 {
        assert_invalid_key(register_as(app, WRONG_KEY, forwarded_for, player("Jail_01", 1)).await)
            .await;
    }
}

async fn stored_bans(app: &TestApp) -> Vec<IpNet> {
    let mut ips: Vec<IpNet> = app
        .db
        .bans()
        .active(unix_now(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|b| b.net)
        .collect();
    ips.sort();
    ips
}

async fn wait_for_stored_bans(app: &TestApp, expected: &[IpNet]) {
    app.eventually("the ban is written", Duration::from_secs(10), || async {
        stored_bans(app).await == expected
    })
    .await;
}

#[tokio::test]
async fn wrong_keys_get_the_client_banned_from_every_public_route() {
    let app = spawn_app_with(Backend::Sqlite, small_jail).await.unwrap();
    fail_three_times(&app, None).await;

    // Even the right key now gets `banned`, and so do status and health.
    assert_banned(register_as(&app, TEST_API_KEY, None, player("Jail_02", 2)).await).await;
    assert_banned(status_as(&app, None).await).await;
    assert_banned(app.http.get(app.url("/health")).send().await.unwrap()).await;
    assert_banned(app.http.get(app.url("/no/such/path")).send().await.unwrap()).await;
    assert!(app.db_logins().await.is_empty(), "nothing was registered");

    wait_for_stored_bans(&app, &[net("127.0.0.1")]).await;
    let stored = app.db.bans().get(net("127.0.0.1")).await.unwrap().unwrap();
    assert!(
        stored.reason.contains("invalid_api_key"),
        "{}",
        stored.reason
    );
    let left = stored.banned_until - unix_now();
    assert!(
        (BAN_SECS as i64 - 5..=BAN_SECS as i64).contains(&left),
        "{left}"
    );

    // The admin listener is not behind the jail; it reports it.
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains("gamegate_jail_bans_issued_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains("gamegate_jail_active_bans 1"), "{metrics}");
    assert!(
        metrics.contains("gamegate_jail_refused_requests_total 4"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_jailed_alone() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_jail(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1/32"]).unwrap();
    })
    .await
    .unwrap();
    fail_three_times(&app, Some("198.51.100.1")).await;
    assert_banned(status_as(&app, Some("198.51.100.1")).await).await;
    // The same address written as IPv4-mapped IPv6 is the same client.
    assert_banned(status_as(&app, Some("::ffff:198.51.100.1")).await).await;

    // Another client behind the same proxy, and the proxy itself, are not banned.
    assert_eq!(status_as(&app, Some("198.51.100.2")).await.status(), 200);
    assert_eq!(status_as(&app, None).await.status(), 200);
    let response = register_as(
        &app,
        TEST_API_KEY,
        Some("198.51.100.2"),
        player("Jail_03", 3),
    )
    .await;
    assert_eq!(response.status(), 200);

    // IPv6 clients behind the proxy, by their /64 (edge.ipv6_prefix).
    fail_three_times(&app, Some("2001:db8::7")).await;
    assert_banned(status_as(&app, Some("2001:db8:0:0:0:0:0:7")).await).await;
    assert_banned(status_as(&app, Some("2001:db8::8")).await).await;
    assert_eq!(status_as(&app, Some("2001:db8:0:1::7")).await.status(), 200);

    let mut expected = vec![net("198.51.100.1"), net("2001:db8::/64")];
    expected.sort();
    wait_for_stored_bans(&app, &expected).await;
    app.stop().await;
}

#[tokio::test]
async fn a_spoofed_forwarded_header_from_an_untrusted_peer_neither_escapes_nor_frames() {
    // No trusted proxy: the socket peer (127.0.0.1) is the client whatever
    // X-Forwarded-For says. 429s count as failures (the default ban_on).
    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_jail(c);
        c.edge.status_per_minute = 30;
        c.edge.status_burst = 2;
    })
    .await
    .unwrap();
    let mut statuses = Vec::new();
    for i in 0..6 {
        let xff = format!("198.51.100.{i}");
        let response = status_as(&app, Some(&xff)).await;
        statuses.push(response.status().as_u16());
        let body: Value = response.json().await.unwrap();
        if i == 5 {
            assert_eq!(body["detail"], "banned", "{body}");
        }
    }
    // A fresh address in the header bought neither a new rate budget nor a
    // fresh failure count.
    assert_eq!(statuses, [200, 200, 429, 429, 429, 403]);
    assert_banned(status_as(&app, Some("203.0.113.99")).await).await;
    let response = app
        .http
        .get(app.url("/api/server/status"))
        .header("x-real-ip", "203.0.113.98")
        .send()
        .await
        .unwrap();
    assert_banned(response).await;

    // Only the real peer is banned; none of the addresses it claimed.
    wait_for_stored_bans(&app, &[net("127.0.0.1")]).await;
    app.stop().await;
}

#[tokio::test]
async fn validation_errors_count_only_when_listed_in_ban_on() {
    let bad_body = serde_json::json!({"login": "x"});
    let app = spawn_app_with(Backend::Sqlite, small_jail).await.unwrap();
    for _ in 0..5 {
        let response = register_as(&app, TEST_API_KEY, None, bad_body.clone()).await;
        assert_eq!(response.status(), 422, "not counted by default");
    }
    assert_eq!(status_as(&app, None).await.status(), 200);
    assert!(stored_bans(&app).await.is_empty());
    app.stop().await;

    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_jail(c);
        c.edge.ban_on = vec![ErrorCode::ValidationError];
    })
    .await
    .unwrap();
    // Not listed any more: wrong keys are not counted.
    for _ in 0..4 {
        assert_invalid_key(register_as(&app, WRONG_KEY, None, player("Jail_04", 4)).await).await;
    }
    for _ in 0..3 {
        let response = register_as(&app, TEST_API_KEY, None, bad_body.clone()).await;
        assert_eq!(response.status(), 422);
    }
    assert_banned(status_as(&app, None).await).await;
    app.stop().await;
}

#[tokio::test]
async fn ipv6_peers_are_banned_by_their_network() {
    // The machine must have IPv6 loopback; CI does.
    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_jail(c);
        c.http.public_addr = "[::1]:0".parse().unwrap();
    })
    .await
    .unwrap();
    assert!(app.addr.is_ipv6());
    fail_three_times(&app, None).await;
    assert_banned(status_as(&app, None).await).await;
    wait_for_stored_bans(&app, &[net("::/64")]).await;
    assert_eq!(
        app.db
            .bans()
            .get(net("::1/64"))
            .await
            .unwrap()
            .map(|b| b.net),
        Some(net("::/64"))
    );
    app.stop().await;
}

#[tokio::test]
async fn with_the_jail_off_failures_are_only_failures() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_jail(c);
        c.edge.ban_enabled = false;
    })
    .await
    .unwrap();
    for _ in 0..6 {
        assert_invalid_key(register_as(&app, WRONG_KEY, None, player("Jail_05", 5)).await).await;
    }
    assert_eq!(status_as(&app, None).await.status(), 200);
    assert!(stored_bans(&app).await.is_empty());
    app.stop().await;
}

async fn bans_are_persisted_and_restored_after_a_restart(backend: Backend) {
    let Some(app) = spawn_app_with(backend, small_jail).await else {
        return;
    };
    fail_three_times(&app, None).await;
    assert_banned(status_as(&app, None).await).await;
    wait_for_stored_bans(&app, &[net("127.0.0.1")]).await;

    // A second process on the same database refuses the client from its
    // first request: the ban is read before it serves.
    let (config, dir) = app.stop_keeping_data().await;
    let again = start(config).await;
    let addr = again.public();
    let response = reqwest::get(format!("http://{addr}/api/server/status"))
        .await
        .unwrap();
    assert_banned(response).await;
    again.stop().await;
    drop(dir);
}

async fn bans_added_or_lifted_in_the_database_reach_a_running_process(backend: Backend) {
    let Some(app) = spawn_app_with(backend, small_jail).await else {
        return;
    };
    assert_eq!(status_as(&app, None).await.status(), 200);
    let me = net("127.0.0.1");
    let now = unix_now();
    // What `gamegate ban add` does, from outside the process.
    app.db
        .bans()
        .upsert(me, now + BAN_SECS as i64, "operator", now)
        .await
        .unwrap();
    app.eventually(
        "the ban reaches the process",
        Duration::from_secs(10),
        || async { status_as(&app, None).await.status() == StatusCode::FORBIDDEN },
    )
    .await;
    assert_banned(status_as(&app, None).await).await;

    // A shorter ban never shortens a running one (on every backend's SQL).
    app.db
        .bans()
        .upsert(me, now + 5, "shorter", now)
        .await
        .unwrap();
    let stored = app.db.bans().get(me).await.unwrap().unwrap();
    assert_eq!(
        (stored.banned_until, stored.reason.as_str()),
        (now + BAN_SECS as i64, "operator")
    );
    app.db
        .bans()
        .upsert(me, now + BAN_SECS as i64 + 60, "longer", now)
        .await
        .unwrap();
    let stored = app.db.bans().get(me).await.unwrap().unwrap();
    assert_eq!(
        (stored.banned_until, stored.reason.as_str()),
        (now + BAN_SECS as i64 + 60, "longer")
    );

    // What `gamegate ban remove` does.
    assert!(app.db.bans().remove(me).await.unwrap());
    app.eventually(
        "the lifted ban reaches the process",
        Duration::from_secs(10),
        || async { status_as(&app, None).await.status() == StatusCode::OK },
    )
    .await;
    app.stop().await;
}

/// `gamegate ban …` as a separate process: its output and exit code.
async fn ban_command(db_url: &str, args: &[&str]) -> Output {
    let mut cmd = binary::command();
    cmd.arg("ban").args(args);
    tokio::process::Command::from(cmd)
        .env("GAMEGATE_DATABASE__URL", db_url)
        .env("GAMEGATE_LOG__LEVEL", "warn")
        .output()
        .await
        .expect("the gamegate binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_ban_command_adds_lists_and_removes_bans_a_running_process_obeys() {
    let app = spawn_app_with(Backend::Sqlite, small_jail).await.unwrap();
    let db_url = app.config.database.url.clone();

    let out = ban_command(
        &db_url,
        &["add", "127.0.0.1", "--for", "1h", "--reason", "abuse"],
    )
    .await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).starts_with("banned 127.0.0.1 until "),
        "{out:?}"
    );
    app.eventually(
        "the CLI's ban reaches the process",
        Duration::from_secs(10),
        || async { status_as(&app, None).await.status() == StatusCode::FORBIDDEN },
    )
    .await;

    let out = ban_command(&db_url, &["add", "2001:DB8::1", "--for", "10m"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).starts_with("banned 2001:db8::1 until "),
        "{out:?}"
    );

    let out = ban_command(&db_url, &["list", "--json"]).await;
    assert!(out.status.success(), "{out:?}");
    let list: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["ip"], "127.0.0.1", "longest first: {list}");
    assert_eq!(rows[0]["reason"], "abuse");
    assert!(
        (3_590..=3_600).contains(&rows[0]["remaining_secs"].as_i64().unwrap()),
        "{list}"
    );
    assert_eq!(rows[1]["ip"], "2001:db8::1");
    assert_eq!(rows[1]["reason"], "added by an operator");

    let out = ban_command(&db_url, &["list"]).await;
    assert!(
        stdout(&out).lines().next().unwrap().starts_with("ip "),
        "{out:?}"
    );

    // A bad address: a clear error and a failing exit code, nothing written.
    for args in [["add", "not-an-ip"], ["remove", "10.0.0.0/33"]] {
        let out = ban_command(&db_url, &args).await;
        assert!(!out.status.success(), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("is not an IP address or network"),
            "{stderr}"
        );
    }

    let out = ban_command(&db_url, &["remove", "127.0.0.1"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout(&out).trim(), "lifted the ban of 127.0.0.1");
    let out = ban_command(&db_url, &["remove", "127.0.0.1"]).await;
    assert_eq!(stdout(&out).trim(), "127.0.0.1 was not banned");
    app.eventually(
        "the lifted ban reaches the process",
        Duration::from_secs(10),
        || async { status_as(&app, None).await.status() == StatusCode::OK },
    )
    .await;

    let out = ban_command(&db_url, &["remove", "2001:db8::1"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&ban_command(&db_url, &["list"]).await).trim(),
        "no bans"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_ban_command_bans_networks_a_running_process_obeys() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        small_jail(c);
        c.edge.trusted_proxies = networks(&["127.0.0.1"]).unwrap();
    })
    .await
    .unwrap();
    let db_url = app.config.database.url.clone();

    let out = ban_command(&db_url, &["add", "2001:DB8:1:2::5/64", "--for", "1h"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout(&out).starts_with("banned 2001:db8:1:2::/64 until "),
        "host bits cleared: {out:?}"
    );
    let out = ban_command(&db_url, &["add", "203.0.113.0/24", "--for", "10m"]).await;
    assert!(
        stdout(&out).starts_with("banned 203.0.113.0/24 until "),
        "{out:?}"
    );
    app.eventually(
        "the network bans reach the process",
        Duration::from_secs(10),
        || async { status_as(&app, Some("2001:db8:1:2:ffff::1")).await.status() == 403 },
    )
    .await;
    assert_banned(status_as(&app, Some("203.0.113.200")).await).await;
    assert_eq!(status_as(&app, Some("2001:db8:1:3::1")).await.status(), 200);
    assert_eq!(status_as(&app, Some("203.0.114.1")).await.status(), 200);

    let out = ban_command(&db_url, &["list", "--json"]).await;
    let list: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(list[0]["ip"], "2001:db8:1:2::/64", "{list}");
    assert_eq!(list[1]["ip"], "203.0.113.0/24", "{list}");

    // An address inside a banned network: the network to lift is named.
    let out = ban_command(&db_url, &["remove", "2001:db8:1:2::7"]).await;
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out).trim(),
        "2001:db8:1:2::7 has no ban of its own; it is covered by 2001:db8:1:2::/64 \
         (gamegate ban remove 2001:db8:1:2::/64)"
    );
    let out = ban_command(&db_url, &["remove", "2001:db8:1:2::/64"]).await;
    assert_eq!(stdout(&out).trim(), "lifted the ban of 2001:db8:1:2::/64");
    app.eventually(
        "the lifted network ban reaches the process",
        Duration::from_secs(10),
        || async { status_as(&app, Some("2001:db8:1:2:ffff::1")).await.status() == 200 },
    )
    .await;
    assert_banned(status_as(&app, Some("203.0.113.200")).await).await;
    app.stop().await;
}

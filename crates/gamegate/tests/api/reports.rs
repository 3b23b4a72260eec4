//! Admin reports (`Database::reports`, `gamegate report …`) against accounts
//! registered through the API, plus rows with chosen old timestamps.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use gamegate::commands::report::{self, BucketArg, ReportCommand};
use gamegate_store::reports::{Bucket, TopTelegram};
use serde_json::Value;

use crate::support::{Backend, TestApp, player, spawn_app, spawn_app_with};
use gamegate_store::unix_now;

crate::on_every_backend!(
    reports_count_what_was_registered_and_respect_the_window,
    reports_on_an_empty_database_are_empty,
    the_report_command_reads_the_configured_database,
);

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// Telegram id → accounts registered through the API. 111 and 333 tie, so
/// the id decides their order.
const REGISTERED: [(i64, usize); 4] = [(111, 3), (222, 1), (333, 3), (444, 2)];
const REGISTERED_TOTAL: i64 = 9;

/// Registers `REGISTERED` through `POST /api/register` (ids in parallel, each
/// id's accounts one after another) and returns the Unix seconds just before
/// and just after, which bound every `created_at` written.
async fn register_all(app: &TestApp) -> (i64, i64) {
    let before = unix_now();
    let per_id = REGISTERED.iter().map(|&(telegram_id, n)| async move {
        for i in 0..n {
            let (status, body) = app
                .register(player(&format!("p{telegram_id}_{i}"), telegram_id))
                .await;
            assert_eq!(status, 200, "{body}");
        }
    });
    join_all(per_id).await;
    (before, unix_now())
}

/// Inserts one account with a chosen `created_at`, bypassing the API. Plain
/// literals, no placeholders: the same text runs on every backend.
async fn insert_account(
    app: &TestApp,
    login: &str,
    telegram_id: i64,
    slot: i64,
    username: Option<&str>,
    state: &str,
    created_at: i64,
) {
    let player = format!(
        "INSERT INTO players (login, login_norm, password_hash, gender, state, created_at, updated_at) \
         VALUES ('{login}', '{login}', 'not-a-hash', 0, '{state}', {created_at}, {created_at})"
    );
    let username = username.map_or("NULL".to_owned(), |u| format!("'{u}'"));
    let link = format!(
        "INSERT INTO telegram_players (login_norm, telegram_id, slot, username, created_at) \
         VALUES ('{login}', {telegram_id}, {slot}, {username}, {created_at})"
    );
    for sql in [player, link] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(app.db.pool())
            .await
            .unwrap();
    }
}

fn top(telegram_id: i64, username: Option<&str>, accounts: i64) -> TopTelegram {
    TopTelegram {
        telegram_id,
        username: username.map(str::to_owned),
        accounts,
    }
}

/// Buckets from `from` onwards (the recent, API-registered ones).
fn recent(buckets: &BTreeMap<i64, i64>, from: i64) -> BTreeMap<i64, i64> {
    buckets.range(from..).map(|(k, v)| (*k, *v)).collect()
}

async fn reports_count_what_was_registered_and_respect_the_window(backend: Backend) {
    // Pending rows inserted below must stay pending: the reconciler only
    // settles rows older than the grace period, so make that longer than any
    // row of this test and the pass interval longer than the test.
    let Some(app) = spawn_app_with(backend, |c| {
        c.reconciler.interval_ms = 3_600_000;
        c.reconciler.grace_ms = 30 * 24 * 3_600_000;
    })
    .await
    else {
        return;
    };
    let reports = app.db.reports();
    let (before, after) = register_all(&app).await;

    // Top Telegram ids: most accounts first, ties by id; usernames are not
    // filled by the API, so NULL.
    assert_eq!(
        reports.top_telegram(10).await.unwrap(),
        vec![
            top(111, None, 3),
            top(333, None, 3),
            top(444, None, 2),
            top(222, None, 1),
        ]
    );
    assert_eq!(
        reports.top_telegram(2).await.unwrap(),
        vec![top(111, None, 3), top(333, None, 3)]
    );

    // Everything registered so far is recent and confirmed.
    let report = reports
        .registrations_since(before, Bucket::Hour)
        .await
        .unwrap();
    assert_eq!(report.since, before);
    assert_eq!(
        (report.total, report.synced, report.pending),
        (REGISTERED_TOTAL, REGISTERED_TOTAL, 0)
    );
    assert_eq!(report.buckets.values().sum::<i64>(), REGISTERED_TOTAL);
    for start in report.buckets.keys() {
        assert_eq!(start % HOUR, 0, "bucket {start} is not a whole hour");
        assert!(
            (Bucket::Hour.start_of(before)..=Bucket::Hour.start_of(after)).contains(start),
            "bucket {start} outside [{before}, {after}]"
        );
    }

    // Old rows at chosen times, at least a day before the registrations:
    // `base` is midnight UTC two days before today.
    let base = Bucket::Day.start_of(before) - 2 * DAY;
    insert_account(&app, "old_a", 900, 0, None, "synced", base + 10).await;
    insert_account(
        &app,
        "old_b",
        900,
        1,
        Some("amy"),
        "synced",
        base + HOUR - 1,
    )
    .await;
    insert_account(&app, "old_c", 900, 2, Some("zed"), "pending", base + HOUR).await;
    insert_account(&app, "old_d", 901, 0, None, "synced", base + DAY + 5).await;

    // The window excludes them: the recent report is unchanged.
    let again = reports
        .registrations_since(before, Bucket::Hour)
        .await
        .unwrap();
    assert_eq!(again, report, "old rows must not enter a recent window");

    // A window reaching back to `base` includes them, in their hours.
    let all = reports
        .registrations_since(base, Bucket::Hour)
        .await
        .unwrap();
    assert_eq!(
        (all.total, all.synced, all.pending),
        (REGISTERED_TOTAL + 4, REGISTERED_TOTAL + 3, 1)
    );
    let old: BTreeMap<i64, i64> = all
        .buckets
        .range(..Bucket::Hour.start_of(before))
        .map(|(k, v)| (*k, *v))
        .collect();
    assert_eq!(
        old,
        BTreeMap::from([(base, 2), (base + HOUR, 1), (base + DAY, 1)])
    );
    assert_eq!(
        recent(&all.buckets, Bucket::Hour.start_of(before)),
        report.buckets
    );

    // The same window by day.
    let by_day = reports
        .registrations_since(base, Bucket::Day)
        .await
        .unwrap();
    assert_eq!(by_day.total, REGISTERED_TOTAL + 4);
    let today = Bucket::Day.start_of(before);
    assert_eq!(
        by_day
            .buckets
            .range(..today)
            .map(|(k, v)| (*k, *v))
            .collect::<Vec<_>>(),
        vec![(base, 3), (base + DAY, 1)]
    );
    assert_eq!(
        recent(&by_day.buckets, today).values().sum::<i64>(),
        REGISTERED_TOTAL
    );
    assert!(
        recent(&by_day.buckets, today)
            .keys()
            .all(|d| (today..=Bucket::Day.start_of(after)).contains(d))
    );

    // `since` is inclusive, to the second.
    let from_b = reports
        .registrations_since(base + HOUR - 1, Bucket::Hour)
        .await
        .unwrap();
    assert_eq!(
        (from_b.total, from_b.synced, from_b.pending),
        (REGISTERED_TOTAL + 3, REGISTERED_TOTAL + 2, 1),
        "old_b (at since) and later count, old_a (before) does not"
    );
    assert_eq!(from_b.buckets.get(&base), Some(&1));
    let after_c = reports
        .registrations_since(base + HOUR + 1, Bucket::Hour)
        .await
        .unwrap();
    assert_eq!(
        (after_c.total, after_c.synced, after_c.pending),
        (REGISTERED_TOTAL + 1, REGISTERED_TOTAL + 1, 0)
    );

    // The top list counts the inserted links too, and MAX(username) shows
    // the one name of id 900 that sorts last.
    assert_eq!(
        reports.top_telegram(100).await.unwrap(),
        vec![
            top(111, None, 3),
            top(333, None, 3),
            top(900, Some("zed"), 3),
            top(444, None, 2),
            top(222, None, 1),
            top(901, None, 1),
        ]
    );
    // A limit beyond i64 must not panic in the binding.
    assert_eq!(reports.top_telegram(u64::MAX).await.unwrap().len(), 6);
    assert_eq!(reports.top_telegram(0).await.unwrap(), vec![]);
    app.stop().await;
}

async fn reports_on_an_empty_database_are_empty(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let report = app
        .db
        .reports()
        .registrations_since(0, Bucket::Day)
        .await
        .unwrap();
    assert_eq!((report.total, report.synced, report.pending), (0, 0, 0));
    assert!(report.buckets.is_empty());
    assert_eq!(app.db.reports().top_telegram(10).await.unwrap(), vec![]);
    app.stop().await;
}

/// `gamegate report …` end to end: its own connection to the configured
/// database, JSON for scripts and a table for people.
async fn the_report_command_reads_the_configured_database(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let (before, _) = register_all(&app).await;
    // Two days old: outside `--since 1h`.
    let old = Bucket::Day.start_of(before) - 2 * DAY + 7;
    insert_account(&app, "old_a", 333, 3, None, "synced", old).await;

    let text = report::run(
        &app.config,
        ReportCommand::TopTelegram {
            limit: 2,
            json: true,
        },
    )
    .await
    .unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        value,
        serde_json::json!([
            {"telegram_id": 333, "username": null, "accounts": 4},
            {"telegram_id": 111, "username": null, "accounts": 3},
        ])
    );

    let text = report::run(
        &app.config,
        ReportCommand::Registrations {
            since: "1h".into(),
            by: BucketArg::Hour,
            json: true,
        },
    )
    .await
    .unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["total"], REGISTERED_TOTAL, "{value}");
    assert_eq!(value["synced"], REGISTERED_TOTAL, "{value}");
    assert_eq!(value["pending"], 0, "{value}");
    assert_eq!(value["bucket"], "hour");
    let since = value["since"].as_i64().unwrap();
    assert!(
        (before - HOUR..=unix_now() - HOUR).contains(&since),
        "{value}"
    );
    let counted: i64 = value["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, REGISTERED_TOTAL, "{value}");

    // A week back by day reaches the old row.
    let text = report::run(
        &app.config,
        ReportCommand::Registrations {
            since: "7d".into(),
            by: BucketArg::Day,
            json: false,
        },
    )
    .await
    .unwrap();
    let day = gamegate::shared::timefmt::format_utc(Bucket::Day.start_of(old));
    assert!(text.contains("by day"), "{text}");
    assert!(
        text.contains(&format!(
            "total {}  synced {}  pending 0",
            REGISTERED_TOTAL + 1,
            REGISTERED_TOTAL + 1
        )),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with(&day) && l.ends_with(" 1")),
        "no row `{day} … 1` in:\n{text}"
    );
    app.stop().await;
}

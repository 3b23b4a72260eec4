//! `gamegate report …`: the monitoring queries of docs/DATABASES.md as admin
//! reports that run the same on SQLite, MySQL/MariaDB and PostgreSQL.
//!
//! Output is an aligned table for people, or JSON (`--json`) for scripts.
//! Times are UTC.

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use gamegate_store::MigrationSet;
use gamegate_store::accounts::PendingAccount;
use gamegate_store::reports::{Bucket, RegistrationsReport, TopTelegram};
use gamegate_store::unix_now;

use crate::app::report_view::{RegistrationsView, top_telegram_view};
use crate::shared::timefmt::{format_utc, parse_duration};

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ReportCommand {
    /// Registrations in a recent window: total, synced/pending, and per hour or day.
    Registrations {
        /// How far back: a whole number followed by s, m, h or d (90m, 1h, 24h, 7d).
        #[arg(long, default_value = "1h")]
        since: String,
        /// Bucket width of the per-period counts.
        #[arg(long, default_value = "hour")]
        by: BucketArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Registrations whose game-server answer was lost and that the
    /// reconciler has not settled yet (oldest first): what to check by hand
    /// when the connector cannot answer `exists` (docs/GAME_SERVER.md).
    Pending {
        /// How many rows to show.
        #[arg(long, default_value_t = 100)]
        limit: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Telegram ids with the most accounts.
    TopTelegram {
        /// How many ids to show.
        #[arg(long, default_value_t = 10)]
        limit: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BucketArg {
    Hour,
    Day,
}

impl From<BucketArg> for Bucket {
    fn from(arg: BucketArg) -> Self {
        match arg {
            BucketArg::Hour => Bucket::Hour,
            BucketArg::Day => Bucket::Day,
        }
    }
}

/// Bound on connecting to the database and on each statement of a report.
const OPERATOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Runs one report against `database.url` and returns the text to print.
pub async fn run(config: &crate::Config, cmd: ReportCommand) -> anyhow::Result<String> {
    // Check the arguments before connecting, so a typo fails fast.
    let window = match &cmd {
        ReportCommand::Registrations { since, .. } => {
            Some(parse_duration(since).with_context(|| format!("invalid --since {since:?}"))?)
        }
        ReportCommand::TopTelegram { .. } | ReportCommand::Pending { .. } => None,
    };
    // The server's database, never a new one; and a clear word when it has
    // not been migrated (the reports' tables would be missing).
    let db =
        crate::shared::operator_db::open_existing(&config.database.url, OPERATOR_TIMEOUT).await?;
    let status = db.migration_status(MigrationSet::Accounts).await?;
    if !status.table_exists || !status.pending.is_empty() {
        let shown = db.display_url().to_owned();
        db.close().await;
        anyhow::bail!(
            "the database {shown} is not migrated ({} migration(s) pending): run `gamegate \
             migrate` with the same configuration, or start the server once",
            status.pending.len()
        );
    }
    let result = async {
        match cmd {
            ReportCommand::Registrations { by, json, .. } => {
                let window = window.expect("parsed above");
                let since = unix_now().saturating_sub(window);
                let report = db.reports().registrations_since(since, by.into()).await?;
                Ok(if json {
                    registrations_json(&report)
                } else {
                    registrations_table(&report)
                })
            }
            ReportCommand::Pending { limit, json } => {
                // Every pending row, however young: `unix_now() + 1` is after
                // any second a row can carry.
                let rows = db.accounts().pending_before(unix_now() + 1, limit).await?;
                Ok(if json {
                    pending_json(&rows)
                } else {
                    pending_table(&rows)
                })
            }
            ReportCommand::TopTelegram { limit, json } => {
                let rows = db.reports().top_telegram(limit).await?;
                Ok(if json {
                    top_telegram_json(&rows)
                } else {
                    top_telegram_table(&rows)
                })
            }
        }
    }
    .await;
    db.close().await;
    result
}

/// Columns left-aligned (`false`) or right-aligned (`true`), two spaces apart.
fn table(headers: &[&str], right: &[bool], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let text = cells
            .zip(&widths)
            .zip(right)
            .map(|((cell, &w), &right)| {
                if right {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ");
        text.trim_end().to_owned()
    };
    let mut out = line(&mut headers.iter().copied());
    for row in rows {
        out.push('\n');
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

pub fn registrations_table(report: &RegistrationsReport) -> String {
    let mut out = format!(
        "registrations since {} UTC, by {}\ntotal {}  synced {}  pending {}\n",
        format_utc(report.since),
        report.bucket.name(),
        report.total,
        report.synced,
        report.pending,
    );
    if report.buckets.is_empty() {
        out.push_str("no registrations in this window");
        return out;
    }
    out.push('\n');
    let rows: Vec<Vec<String>> = report
        .buckets
        .iter()
        .map(|(start, count)| vec![format_utc(*start), count.to_string()])
        .collect();
    let first = format!("{} (UTC)", report.bucket.name());
    out.push_str(&table(&[&first, "registrations"], &[false, true], &rows));
    out
}

/// The `--json` text of a registrations report (the shape of
/// `GET /stats/registrations`).
pub fn registrations_json(report: &RegistrationsReport) -> String {
    serde_json::to_string(&RegistrationsView::from(report)).expect("the report serialises")
}

/// `report pending` as a table: login and reservation time (UTC).
pub fn pending_table(rows: &[PendingAccount]) -> String {
    if rows.is_empty() {
        return "no pending registrations".to_owned();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| vec![r.login.clone(), format_utc(r.created_at)])
        .collect();
    table(&["login", "reserved at (UTC)"], &[false, false], &rows)
}

/// `report pending --json`: `[{"login":…,"created_at":<Unix seconds>}, …]`.
pub fn pending_json(rows: &[PendingAccount]) -> String {
    let rows: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| serde_json::json!({"login": r.login, "created_at": r.created_at}))
        .collect();
    serde_json::Value::Array(rows).to_string()
}

pub fn top_telegram_table(rows: &[TopTelegram]) -> String {
    if rows.is_empty() {
        return "no telegram accounts".to_owned();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.telegram_id.to_string(),
                r.username.clone().unwrap_or_else(|| "-".to_owned()),
                r.accounts.to_string(),
            ]
        })
        .collect();
    table(
        &["telegram_id", "username", "accounts"],
        &[true, false, true],
        &rows,
    )
}

/// The `--json` text of the top-Telegram report (the shape of
/// `GET /stats/top-telegram`).
pub fn top_telegram_json(rows: &[TopTelegram]) -> String {
    serde_json::to_string(&top_telegram_view(rows)).expect("the report serialises")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use clap::Parser;
    use serde_json::Value;

    use super::*;

    fn sample_report() -> RegistrationsReport {
        RegistrationsReport {
            since: 1_700_000_000,
            bucket: Bucket::Hour,
            total: 1_012,
            synced: 1_010,
            pending: 2,
            buckets: BTreeMap::from([(1_699_999_200, 12), (1_700_006_400, 1_000)]),
        }
    }

    #[test]
    fn the_registrations_table_is_aligned() {
        let text = registrations_table(&sample_report());
        assert_eq!(
            text,
            "registrations since 2023-11-14 22:13 UTC, by hour\n\
             total 1012  synced 1010  pending 2\n\
             \n\
             hour (UTC)        registrations\n\
             2023-11-14 22:00             12\n\
             2023-11-15 00:00           1000"
        );
    }

    #[test]
    fn an_empty_window_says_so() {
        let mut report = sample_report();
        report.buckets.clear();
        (report.total, report.synced, report.pending) = (0, 0, 0);
        report.bucket = Bucket::Day;
        let text = registrations_table(&report);
        assert!(text.contains("by day"), "{text}");
        assert!(text.contains("total 0  synced 0  pending 0"), "{text}");
        assert!(text.ends_with("no registrations in this window"), "{text}");
    }

    #[test]
    fn registrations_json_has_every_number() {
        let value: Value = serde_json::from_str(&registrations_json(&sample_report())).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "since": 1_700_000_000,
                "since_utc": "2023-11-14 22:13",
                "bucket": "hour",
                "bucket_seconds": 3_600,
                "total": 1_012,
                "synced": 1_010,
                "pending": 2,
                "buckets": [
                    {"start": 1_699_999_200, "start_utc": "2023-11-14 22:00", "count": 12},
                    {"start": 1_700_006_400, "start_utc": "2023-11-15 00:00", "count": 1_000},
                ],
            })
        );
    }

    fn sample_top() -> Vec<TopTelegram> {
        vec![
            TopTelegram {
                telegram_id: 7_000_000_001,
                username: None,
                accounts: 5,
            },
            TopTelegram {
                telegram_id: 42,
                username: Some("hero_fan".into()),
                accounts: 12,
            },
        ]
    }

    #[test]
    fn the_top_telegram_table_is_aligned() {
        let expected = [
            "telegram_id  username  accounts",
            " 7000000001  -                5",
            "         42  hero_fan        12",
        ];
        assert_eq!(top_telegram_table(&sample_top()), expected.join("\n"));
        assert_eq!(top_telegram_table(&[]), "no telegram accounts");
    }

    #[test]
    fn top_telegram_json_keeps_null_usernames() {
        let value: Value = serde_json::from_str(&top_telegram_json(&sample_top())).unwrap();
        assert_eq!(
            value,
            serde_json::json!([
                {"telegram_id": 7_000_000_001_i64, "username": null, "accounts": 5},
                {"telegram_id": 42, "username": "hero_fan", "accounts": 12},
            ])
        );
        assert_eq!(top_telegram_json(&[]), "[]");
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        report: ReportCommand,
    }

    #[test]
    fn the_subcommands_parse_with_their_defaults() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("report").chain(args.iter().copied()))
                .map(|c| c.report)
        };
        assert_eq!(
            parse(&["registrations"]).unwrap(),
            ReportCommand::Registrations {
                since: "1h".into(),
                by: BucketArg::Hour,
                json: false
            }
        );
        assert_eq!(
            parse(&["registrations", "--since", "7d", "--by", "day", "--json"]).unwrap(),
            ReportCommand::Registrations {
                since: "7d".into(),
                by: BucketArg::Day,
                json: true
            }
        );
        assert_eq!(
            parse(&["top-telegram"]).unwrap(),
            ReportCommand::TopTelegram {
                limit: 10,
                json: false
            }
        );
        assert_eq!(
            parse(&["top-telegram", "--limit", "3", "--json"]).unwrap(),
            ReportCommand::TopTelegram {
                limit: 3,
                json: true
            }
        );
        assert!(parse(&["registrations", "--by", "week"]).is_err());
    }

    #[tokio::test]
    async fn a_bad_since_fails_before_connecting() {
        let mut config = crate::Config::default();
        // Nothing listens here; the error must come from the argument check.
        config.database.url = "postgres://nobody@127.0.0.1:1/none".into();
        let cmd = ReportCommand::Registrations {
            since: "1w".into(),
            by: BucketArg::Hour,
            json: false,
        };
        let err = format!("{:#}", run(&config, cmd).await.unwrap_err());
        assert!(err.starts_with("invalid --since \"1w\""), "{err}");
        assert!(err.contains("e.g. 90m, 1h, 24h, 7d"), "{err}");
    }
}

//! The admin reports as JSON: one shape for `gamegate report … --json` and
//! for `GET /stats/registrations` and `GET /stats/top-telegram` on the admin
//! listener, so the two cannot drift apart. Times are Unix seconds, each
//! with its `…_utc` text (`YYYY-MM-DD HH:MM`, UTC).

use gamegate_store::reports::{RegistrationsReport, TopTelegram};
use serde::Serialize;

use crate::shared::timefmt::format_utc;

/// Registrations in a recent window: totals and per-bucket counts.
#[derive(Debug, Serialize)]
pub struct RegistrationsView {
    /// The window's start, Unix seconds, inclusive.
    pub since: i64,
    /// `since` in UTC.
    pub since_utc: String,
    /// `hour` or `day`: the width of `buckets`.
    pub bucket: &'static str,
    /// The bucket width in seconds (3600 or 86400).
    pub bucket_seconds: i64,
    /// Every registration in the window: `synced + pending`.
    pub total: i64,
    /// Confirmed on the game server.
    pub synced: i64,
    /// Reserved, game-server outcome not yet known.
    pub pending: i64,
    /// Only buckets with registrations, ascending.
    pub buckets: Vec<BucketCount>,
}

/// Registrations in one bucket.
#[derive(Debug, Serialize)]
pub struct BucketCount {
    /// The bucket's start, Unix seconds (UTC).
    pub start: i64,
    /// `start` in UTC.
    pub start_utc: String,
    pub count: i64,
}

impl From<&RegistrationsReport> for RegistrationsView {
    fn from(report: &RegistrationsReport) -> Self {
        RegistrationsView {
            since: report.since,
            since_utc: format_utc(report.since),
            bucket: report.bucket.name(),
            bucket_seconds: report.bucket.seconds(),
            total: report.total,
            synced: report.synced,
            pending: report.pending,
            buckets: report
                .buckets
                .iter()
                .map(|(&start, &count)| BucketCount {
                    start,
                    start_utc: format_utc(start),
                    count,
                })
                .collect(),
        }
    }
}

/// One Telegram id of the top-accounts report.
#[derive(Debug, Serialize)]
pub struct TopTelegramView {
    pub telegram_id: i64,
    /// `null` unless some of the id's accounts has one.
    pub username: Option<String>,
    /// Accounts linked to the id.
    pub accounts: i64,
}

impl From<&TopTelegram> for TopTelegramView {
    fn from(row: &TopTelegram) -> Self {
        TopTelegramView {
            telegram_id: row.telegram_id,
            username: row.username.clone(),
            accounts: row.accounts,
        }
    }
}

/// The top-accounts report: ids with the most accounts first.
pub fn top_telegram_view(rows: &[TopTelegram]) -> Vec<TopTelegramView> {
    rows.iter().map(TopTelegramView::from).collect()
}

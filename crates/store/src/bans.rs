//! The `bans` table of the ban jail: client addresses refused until a time.
//!
//! Every gamegate process on a database reads it (at start and periodically)
//! and writes to it when it bans; `gamegate ban add|remove` edits it. One row
//! per address, keyed by [`canonical_ip`], so `::ffff:1.2.3.4` and `1.2.3.4`
//! are one ban.

use std::net::IpAddr;

use sea_query::{Expr, ExprTrait, Func, Iden, OnConflict, Order, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::StoreError;

#[derive(Iden)]
enum Bans_ {
    #[iden = "bans"]
    Table,
    Ip,
    BannedUntil,
    Reason,
    CreatedAt,
}

/// The schema's bound on `reason` (VARCHAR(200)); longer reasons are cut.
pub const MAX_REASON_CHARS: usize = 200;

/// One ban. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ban {
    pub ip: IpAddr,
    pub banned_until: i64,
    pub reason: String,
    pub created_at: i64,
}

/// The stored text of an address: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the
/// IPv4 address, IPv6 in its RFC 5952 form (compressed, lower case).
pub fn canonical_ip(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

fn bounded_reason(reason: &str) -> &str {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => &reason[..cut],
        None => reason,
    }
}

pub struct Bans<'a> {
    db: &'a Database,
}

impl<'a> Bans<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Bans `ip` until `banned_until`. An existing ban is only ever extended:
    /// two processes banning the same address (or an operator's longer ban)
    /// end with the later time, and the reason that goes with it.
    pub async fn upsert(
        &self,
        ip: IpAddr,
        banned_until: i64,
        reason: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let existing_until = || Expr::col((Bans_::Table, Bans_::BannedUntil));
        let reason = bounded_reason(reason);
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::insert()
                        .into_table(Bans_::Table)
                        .columns([
                            Bans_::Ip,
                            Bans_::BannedUntil,
                            Bans_::Reason,
                            Bans_::CreatedAt,
                        ])
                        .values_panic([
                            canonical_ip(ip).into(),
                            banned_until.into(),
                            reason.into(),
                            now.into(),
                        ])
                        .on_conflict(
                            OnConflict::column(Bans_::Ip)
                                // `reason` first: MySQL evaluates the assignments
                                // left to right, each seeing the ones before it,
                                // so it must still compare with the old time.
                                .value(
                                    Bans_::Reason,
                                    Expr::case(
                                        existing_until().lt(banned_until),
                                        Expr::val(reason),
                                    )
                                    .finally(Expr::col((Bans_::Table, Bans_::Reason))),
                                )
                                .value(
                                    Bans_::BannedUntil,
                                    // GREATEST, or MAX on SQLite: the builder knows.
                                    Func::greatest([existing_until(), Expr::val(banned_until)]),
                                )
                                .to_owned(),
                        ),
                );
                sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(())
            })
            .await
    }

    /// The stored ban of `ip`, running or not.
    pub async fn get(&self, ip: IpAddr) -> Result<Option<Ban>, StoreError> {
        let rows = self
            .db
            .bounded(async {
                let query = Query::select()
                    .columns([Bans_::BannedUntil, Bans_::Reason, Bans_::CreatedAt])
                    .from(Bans_::Table)
                    .and_where(Expr::col(Bans_::Ip).eq(canonical_ip(ip)))
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        Ok(Ban {
                            ip: ip.to_canonical(),
                            banned_until: r.try_get(0)?,
                            reason: r.try_get(1)?,
                            created_at: r.try_get(2)?,
                        })
                    })
                    .await
            })
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Lifts the ban of `ip`. `false` when there was none.
    pub async fn remove(&self, ip: IpAddr) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Bans_::Table)
                        .and_where(Expr::col(Bans_::Ip).eq(canonical_ip(ip))),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected() > 0)
            })
            .await
    }

    /// Bans still running at `now`, longest first, at most `limit`. A row
    /// whose `ip` is not an address (written by hand) is skipped with a
    /// warning rather than failing every reader.
    pub async fn active(&self, now: i64, limit: u64) -> Result<Vec<Ban>, StoreError> {
        let rows = self
            .db
            .bounded(async {
                let query = Query::select()
                    .columns([
                        Bans_::Ip,
                        Bans_::BannedUntil,
                        Bans_::Reason,
                        Bans_::CreatedAt,
                    ])
                    .from(Bans_::Table)
                    .and_where(Expr::col(Bans_::BannedUntil).gt(now))
                    .order_by(Bans_::BannedUntil, Order::Desc)
                    .order_by(Bans_::Ip, Order::Asc)
                    .limit(limit)
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        Ok((
                            r.try_get::<String, _>(0)?,
                            r.try_get::<i64, _>(1)?,
                            r.try_get::<String, _>(2)?,
                            r.try_get::<i64, _>(3)?,
                        ))
                    })
                    .await
            })
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(
                |(ip, banned_until, reason, created_at)| match ip.parse::<IpAddr>() {
                    Ok(addr) => Some(Ban {
                        ip: addr.to_canonical(),
                        banned_until,
                        reason,
                        created_at,
                    }),
                    Err(_) => {
                        tracing::warn!(ip = %ip, "bans: a row whose ip is not an address; ignored");
                        None
                    }
                },
            )
            .collect())
    }

    /// Deletes bans that ended at or before `now`; returns how many.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Bans_::Table)
                        .and_where(Expr::col(Bans_::BannedUntil).lte(now)),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MigrationSet, PoolSettings};

    async fn sqlite() -> (Database, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bans.db").display());
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        db.migrate(MigrationSet::Accounts).await.unwrap();
        (db, dir)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_have_one_text_form() {
        assert_eq!(canonical_ip(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(canonical_ip(ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
        assert_eq!(canonical_ip(ip("198.51.100.1")), "198.51.100.1");
    }

    #[test]
    fn reasons_are_cut_on_a_character_boundary() {
        let long = "я".repeat(MAX_REASON_CHARS + 5);
        assert_eq!(bounded_reason(&long).chars().count(), MAX_REASON_CHARS);
        assert_eq!(bounded_reason("short"), "short");
    }

    #[tokio::test]
    async fn a_ban_is_only_ever_extended_and_can_be_lifted() {
        let (db, _dir) = sqlite().await;
        let bans = db.bans();
        let a = ip("198.51.100.1");
        bans.upsert(a, 2_000, "first", 1_000).await.unwrap();
        // Shorter: ignored, reason kept.
        bans.upsert(ip("::ffff:198.51.100.1"), 1_500, "shorter", 1_100)
            .await
            .unwrap();
        let active = bans.active(1_000, 10).await.unwrap();
        assert_eq!(
            active,
            vec![Ban {
                ip: a,
                banned_until: 2_000,
                reason: "first".into(),
                created_at: 1_000
            }]
        );
        // Longer: extended with its reason.
        bans.upsert(a, 3_000, "longer", 1_200).await.unwrap();
        let active = bans.active(1_000, 10).await.unwrap();
        assert_eq!(
            (active[0].banned_until, active[0].reason.as_str()),
            (3_000, "longer")
        );

        assert_eq!(
            bans.get(ip("::ffff:198.51.100.1"))
                .await
                .unwrap()
                .map(|b| b.banned_until),
            Some(3_000)
        );
        assert!(bans.remove(a).await.unwrap());
        assert_eq!(bans.get(a).await.unwrap(), None);
        assert!(!bans.remove(a).await.unwrap(), "nothing left to lift");
        assert!(bans.active(1_000, 10).await.unwrap().is_empty());
        db.close().await;
    }

    #[tokio::test]
    async fn only_running_bans_are_listed_and_expired_ones_purged() {
        let (db, _dir) = sqlite().await;
        let bans = db.bans();
        bans.upsert(ip("2001:db8::1"), 100, "ended", 0)
            .await
            .unwrap();
        bans.upsert(ip("2001:db8::2"), 300, "running", 0)
            .await
            .unwrap();
        bans.upsert(ip("192.0.2.1"), 500, "longest", 0)
            .await
            .unwrap();
        let listed: Vec<IpAddr> = bans
            .active(100, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.ip)
            .collect();
        assert_eq!(listed, vec![ip("192.0.2.1"), ip("2001:db8::2")]);
        assert_eq!(bans.active(100, 1).await.unwrap().len(), 1, "bounded");
        assert_eq!(bans.purge_expired(300).await.unwrap(), 2);
        assert_eq!(bans.active(0, 10).await.unwrap().len(), 1);
        db.close().await;
    }
}

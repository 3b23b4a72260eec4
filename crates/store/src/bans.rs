//! The `bans` table of the ban jail: client addresses and networks refused
//! until a time.
//!
//! Every gamegate process on a database reads it (at start and periodically)
//! and writes to it when it bans; `gamegate ban add|remove` edits it. One row
//! per address or network, keyed by [`canonical_net`], so `::ffff:1.2.3.4`,
//! `1.2.3.4/32` and `1.2.3.4` are one ban, and `2001:db8:0:1::5/64` is
//! `2001:db8:0:1::/64`.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};

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
    /// The banned network, canonical ([`canonical_network`]): a single
    /// address is a /32 (IPv4) or /128 (IPv6).
    pub net: IpNet,
    /// End of the ban, Unix seconds (exclusive: the ban is over at this second).
    pub banned_until: i64,
    /// Why, for the operator (at most [`MAX_REASON_CHARS`] characters).
    pub reason: String,
    /// When the ban was first written, Unix seconds.
    pub created_at: i64,
}

/// The stored text of an address: IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the
/// IPv4 address, IPv6 in its RFC 5952 form (compressed, lower case).
pub fn canonical_ip(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// The widest IPv4 network a ban may cover (`/8`): a wider one bans a
/// large part of the internet, which no jail and no operator means to do.
pub const MIN_BAN_PREFIX_V4: u8 = 8;

/// The widest IPv6 network a ban may cover (`/16`).
pub const MIN_BAN_PREFIX_V6: u8 = 16;

/// Whether `net` (canonical, [`canonical_network`]) is narrow enough to be
/// banned: at least [`MIN_BAN_PREFIX_V4`] or [`MIN_BAN_PREFIX_V6`] bits.
pub fn is_bannable(net: &IpNet) -> bool {
    match net {
        IpNet::V4(v4) => v4.prefix_len() >= MIN_BAN_PREFIX_V4,
        IpNet::V6(v6) => v6.prefix_len() >= MIN_BAN_PREFIX_V6,
    }
}

/// One form per network: host bits cleared, an IPv4-mapped IPv6 network
/// (`::ffff:192.0.2.0/120`) as the IPv4 one (`192.0.2.0/24`).
pub fn canonical_network(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
    {
        let v4 = Ipv4Net::new(v4, v6.prefix_len() - 96).expect("at most 32 bits");
        return IpNet::V4(v4.trunc());
    }
    net.trunc()
}

/// The stored text of a network: a single address as the address alone
/// ([`canonical_ip`], as rows were written before networks could be banned),
/// a wider network as `address/prefix` of its [`canonical_network`].
pub fn canonical_net(net: IpNet) -> String {
    let net = canonical_network(net);
    if net.prefix_len() == net.max_prefix_len() {
        canonical_ip(net.addr())
    } else {
        net.to_string()
    }
}

/// Reads a stored `ip`: an address or `address/prefix`.
fn parse_net(text: &str) -> Option<IpNet> {
    let net = match text.parse::<IpAddr>() {
        Ok(ip) => IpNet::from(ip),
        Err(_) => text.parse::<IpNet>().ok()?,
    };
    Some(canonical_network(net))
}

fn bounded_reason(reason: &str) -> &str {
    match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => &reason[..cut],
        None => reason,
    }
}

/// The `bans` table of one database, from [`Database::bans`]: one row per
/// canonical network, keyed by its text ([`canonical_net`]). Every operation
/// runs within the pool's operation timeout and errs with
/// [`StoreError::TimedOut`], [`StoreError::Unavailable`] or
/// [`StoreError::Query`] like every store operation.
pub struct Bans<'a> {
    db: &'a Database,
}

impl Database {
    /// The IP bans ([`Bans`]).
    pub fn bans(&self) -> Bans<'_> {
        Bans::new(self)
    }
}

impl<'a> Bans<'a> {
    pub(crate) fn new(db: &'a Database) -> Self {
        Self { db }
    }

    /// Bans `net` until `banned_until`. An existing ban is only ever extended:
    /// two processes banning the same network (or an operator's longer ban)
    /// end with the later time, and the reason that goes with it.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn upsert(
        &self,
        net: IpNet,
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
                            canonical_net(net).into(),
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

    /// The stored ban of exactly `net` (not of a network containing it),
    /// running or not.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn get(&self, net: IpNet) -> Result<Option<Ban>, StoreError> {
        let rows = self
            .db
            .bounded(async {
                let query = Query::select()
                    .columns([Bans_::BannedUntil, Bans_::Reason, Bans_::CreatedAt])
                    .from(Bans_::Table)
                    .and_where(Expr::col(Bans_::Ip).eq(canonical_net(net)))
                    .take();
                self.db
                    .fetch_all(&query, |r| {
                        Ok(Ban {
                            net: canonical_network(net),
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

    /// Lifts the ban of exactly `net`. `false` when there was none.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn remove(&self, net: IpNet) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Bans_::Table)
                        .and_where(Expr::col(Bans_::Ip).eq(canonical_net(net))),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected() > 0)
            })
            .await
    }

    /// Bans still running at `now`, longest first, at most `limit`. A row
    /// whose `ip` is neither an address nor a network (written by hand) is
    /// skipped with a warning rather than failing every reader.
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
                |(ip, banned_until, reason, created_at)| match parse_net(&ip) {
                    Some(net) => Some(Ban {
                        net,
                        banned_until,
                        reason,
                        created_at,
                    }),
                    None => {
                        tracing::warn!(ip = %ip, "bans: a row whose ip is not an address or network; ignored");
                        None
                    }
                },
            )
            .collect())
    }

    /// Deletes bans that ended at or before `now`; returns how many.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
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

    #[test]
    fn no_ban_covers_more_than_a_slash_8_or_a_slash_16() {
        let net = |t: &str| canonical_network(t.parse().unwrap());
        for wide in [
            "0.0.0.0/0",
            "1.0.0.0/7",
            "::/0",
            "2000::/3",
            "2001::/15",
            "::ffff:0.0.0.0/96",
        ] {
            assert!(!is_bannable(&net(wide)), "{wide}");
        }
        for narrow in [
            "10.0.0.0/8",
            "203.0.113.7/32",
            "2001::/16",
            "2001:db8:1:2::/64",
        ] {
            assert!(is_bannable(&net(narrow)), "{narrow}");
        }
    }
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

    fn net(s: &str) -> IpNet {
        match s.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => s.parse().unwrap(),
        }
    }

    #[test]
    fn addresses_have_one_text_form() {
        assert_eq!(canonical_ip(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(canonical_ip(ip("2001:DB8:0:0:0:0:0:1")), "2001:db8::1");
        assert_eq!(canonical_ip(ip("198.51.100.1")), "198.51.100.1");
    }

    #[test]
    fn networks_have_one_text_form() {
        for (given, stored) in [
            ("192.0.2.7", "192.0.2.7"),
            ("192.0.2.7/32", "192.0.2.7"),
            ("::ffff:192.0.2.7", "192.0.2.7"),
            ("192.0.2.7/24", "192.0.2.0/24"),
            ("::ffff:192.0.2.7/120", "192.0.2.0/24"),
            ("2001:DB8:0:1::5/64", "2001:db8:0:1::/64"),
            ("2001:db8::1/128", "2001:db8::1"),
            ("0.0.0.0/0", "0.0.0.0/0"),
        ] {
            assert_eq!(canonical_net(net(given)), stored, "{given}");
            assert_eq!(
                parse_net(stored).map(canonical_net).as_deref(),
                Some(stored),
                "{stored} reads back"
            );
        }
        assert_eq!(parse_net("nope"), None);
        // The longest text fits the column (VARCHAR(45)).
        assert!(canonical_net(net("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124")).len() <= 45);
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
        let a = net("198.51.100.1");
        bans.upsert(a, 2_000, "first", 1_000).await.unwrap();
        // Shorter: ignored, reason kept.
        bans.upsert(net("::ffff:198.51.100.1"), 1_500, "shorter", 1_100)
            .await
            .unwrap();
        let active = bans.active(1_000, 10).await.unwrap();
        assert_eq!(
            active,
            vec![Ban {
                net: a,
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
            bans.get(net("::ffff:198.51.100.1"))
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
        bans.upsert(net("2001:db8::1"), 100, "ended", 0)
            .await
            .unwrap();
        bans.upsert(net("2001:db8::2"), 300, "running", 0)
            .await
            .unwrap();
        bans.upsert(net("192.0.2.1"), 500, "longest", 0)
            .await
            .unwrap();
        bans.upsert(net("2001:db8:0:7::9/64"), 400, "a network", 0)
            .await
            .unwrap();
        let listed: Vec<IpNet> = bans
            .active(100, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.net)
            .collect();
        assert_eq!(
            listed,
            vec![
                net("192.0.2.1"),
                net("2001:db8:0:7::/64"),
                net("2001:db8::2")
            ]
        );
        assert!(bans.remove(net("2001:db8:0:7::/64")).await.unwrap());
        assert_eq!(bans.active(100, 1).await.unwrap().len(), 1, "bounded");
        assert_eq!(bans.purge_expired(300).await.unwrap(), 2);
        assert_eq!(bans.active(0, 10).await.unwrap().len(), 1);
        db.close().await;
    }
}

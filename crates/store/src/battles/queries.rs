//! Reads of the battle log: pages of battles, counts, the demo purge, a
//! player's statistics, ratings, the leaderboard, the summary and the
//! rating histogram.

use super::*;

/// How many players' conservative ratings (mu − 3σ, the leaderboard's order)
/// fall in each of equal-width bins from the lowest to the highest.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingHistogram {
    /// Lower edge of the first bin; `None` when no player qualifies.
    pub min: Option<f64>,
    /// Upper edge of the last bin (the highest rating, inclusive).
    pub max: Option<f64>,
    /// Width of each bin, in rating points; `0.0` when no player qualifies.
    pub bin_width: f64,
    /// Players per bin, lowest first; empty when no player qualifies.
    pub counts: Vec<i64>,
    /// Players counted (those with enough PvP battles).
    pub players: i64,
}

impl BattleLog<'_> {
    /// The distribution of the conservative rating over players with at
    /// least `min_pvp_battles` PvP battles (ratings move only in PvP), in
    /// `bins` bins. Counted in the database — one `COUNT(CASE …)` per bin in a
    /// single scan, portable to every backend — so no rating leaves it. When
    /// every rating is equal, one unit-wide range holds them all.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn rating_histogram(
        &self,
        bins: usize,
        min_pvp_battles: u64,
    ) -> Result<RatingHistogram, StoreError> {
        let bins = bins.max(1);
        self.db
            .bounded(async {
                let qualifies =
                    || Expr::col(PlayerRatings::PvpBattles).gte(clamp_u64(min_pvp_battles));
                let query = Query::select()
                    .expr(Expr::col(PlayerRatings::Score).min())
                    .expr(Expr::col(PlayerRatings::Score).max())
                    .expr(Expr::col(PlayerRatings::Login).count())
                    .from(PlayerRatings::Table)
                    .and_where(qualifies())
                    .take();
                let range = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((
                            r.try_get::<Option<f64>, _>(0)?,
                            r.try_get::<Option<f64>, _>(1)?,
                            r.try_get::<i64, _>(2)?,
                        ))
                    })
                    .await?;
                let (Some(low), Some(high), players) =
                    range.first().copied().unwrap_or((None, None, 0))
                else {
                    return Ok(RatingHistogram {
                        min: None,
                        max: None,
                        bin_width: 0.0,
                        counts: Vec::new(),
                        players: 0,
                    });
                };
                let high = if high > low { high } else { low + 1.0 };
                let width = (high - low) / bins as f64;
                // Inner edges only: the first bin takes everything below the
                // second edge and the last everything from its own, so each
                // row lands in exactly one bin whatever the rounding.
                let edge = |i: usize| low + width * i as f64;
                let score = || Expr::col(PlayerRatings::Score);
                let mut query = Query::select();
                for i in 0..bins {
                    let mut condition = sea_query::Condition::all();
                    if i > 0 {
                        condition = condition.add(score().gte(edge(i)));
                    }
                    if i + 1 < bins {
                        condition = condition.add(score().lt(edge(i + 1)));
                    }
                    let in_bin: SimpleExpr = match i == 0 && bins == 1 {
                        true => Expr::val(1),
                        false => Expr::case(condition, 1).into(),
                    };
                    query.expr(in_bin.count());
                }
                query.from(PlayerRatings::Table).and_where(qualifies());
                let counts = self
                    .db
                    .fetch_all(&query, |r| {
                        (0..bins).map(|i| r.try_get::<i64, _>(i)).collect()
                    })
                    .await?;
                Ok(RatingHistogram {
                    min: Some(low),
                    max: Some(high),
                    bin_width: width,
                    counts: counts.into_iter().next().unwrap_or_default(),
                    players,
                })
            })
            .await
    }
}

impl<'a> BattleLog<'a> {
    /// Calls `visit` with every stored battle in (started_at, id) order, a
    /// page at a time (each page's queries within the operation timeout).
    /// Stops at the first failing page. Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn for_each_battle(&self, mut visit: impl FnMut(&Battle)) -> Result<(), StoreError> {
        let mut after: Option<(i64, i64)> = None;
        loop {
            let page = self.db.bounded(self.page_after(after)).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = Some((last.started_at, last.id));
            let full = page.len() as u64 == PAGE;
            for battle in &page {
                visit(battle);
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// The next page of stored battles (with their participants, in login
    /// order) in (started_at, id) order: the first page for `None`, else the
    /// battles after the key `(started_at, id)` of the last one read. Fewer
    /// than a full page (250) means the end. Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn page(&self, after: Option<(i64, i64)>) -> Result<Vec<Battle>, StoreError> {
        self.db.bounded(self.page_after(after)).await
    }

    /// Battles per [`BattleLog::page`].
    pub const PAGE: u64 = PAGE;

    pub(super) async fn page_after(
        &self,
        after: Option<(i64, i64)>,
    ) -> Result<Vec<Battle>, StoreError> {
        let mut query = Query::select();
        query
            .columns([
                Battles::Id,
                Battles::Mode,
                Battles::StartedAt,
                Battles::DurationSecs,
            ])
            .from(Battles::Table)
            .order_by(Battles::StartedAt, Order::Asc)
            .order_by(Battles::Id, Order::Asc)
            .limit(PAGE);
        if let Some((started_at, id)) = after {
            // Keyset pagination written so every backend walks the
            // (started_at, id) index in order: the leading range on
            // started_at bounds the scan. The plain `a > x OR (a = x AND
            // b > y)` made SQLite gather the rest of the table and sort it
            // for every page (quadratic: 1M battles took 198 s to rebuild).
            query.cond_where(
                Expr::col(Battles::StartedAt).gte(started_at).and(
                    Expr::col(Battles::StartedAt)
                        .gt(started_at)
                        .or(Expr::col(Battles::Id).gt(id)),
                ),
            );
        }
        let mut battles = self
            .db
            .fetch_all(&query, |r| {
                let mode: String = r.try_get(1)?;
                Ok(Battle {
                    id: r.try_get(0)?,
                    mode: Mode::parse(&mode).unwrap_or(Mode::Pve),
                    started_at: r.try_get(2)?,
                    duration_secs: u32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0),
                    participants: Vec::new(),
                })
            })
            .await?;
        let index: HashMap<i64, usize> =
            battles.iter().enumerate().map(|(i, b)| (b.id, i)).collect();
        let ids: Vec<i64> = battles.iter().map(|b| b.id).collect();
        for chunk in ids.chunks(IN_LIST) {
            let query = Query::select()
                .columns(PARTICIPANT_COLUMNS)
                .from(BattleParticipants::Table)
                .and_where(Expr::col(BattleParticipants::BattleId).is_in(chunk.iter().copied()))
                // The insertion order is not kept; login order makes a
                // battle's participant list (and so the team order the
                // rating update sees) the same on every read.
                .order_by(BattleParticipants::BattleId, Order::Asc)
                .order_by(BattleParticipants::Login, Order::Asc)
                .take();
            let rows = self
                .db
                .fetch_all(&query, |r| {
                    let n = |i: usize| r.try_get::<i64, _>(i);
                    Ok((
                        n(0)?,
                        Participant {
                            login: r.try_get(1)?,
                            team: u8::try_from(n(2)?).unwrap_or(0),
                            won: n(3)? != 0,
                            kills: u32::try_from(n(4)?).unwrap_or(0),
                            deaths: u32::try_from(n(5)?).unwrap_or(0),
                            damage_dealt: u64::try_from(n(6)?).unwrap_or(0),
                            damage_taken: u64::try_from(n(7)?).unwrap_or(0),
                            level: u16::try_from(n(8)?).unwrap_or(0),
                        },
                    ))
                })
                .await?;
            for (id, p) in rows {
                if let Some(&i) = index.get(&id) {
                    battles[i].participants.push(p);
                }
            }
        }
        Ok(battles)
    }

    /// How many stored battles are synthetic (ids below zero, see
    /// [`demo_id`]).
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn count_demo_battles(&self) -> Result<u64, StoreError> {
        self.count(Some(Expr::col(Battles::Id).lt(0))).await
    }

    /// Deletes every synthetic battle (ids below zero) and its participants
    /// in one transaction; returns how many battles went. The player rows
    /// still count them until [`BattleLog::rebuild`] runs.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn purge_demo(&self) -> Result<u64, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let (sql, values) = self.db.build(
            &Query::delete()
                .from_table(BattleParticipants::Table)
                .and_where(Expr::col(BattleParticipants::BattleId).lt(0))
                .to_owned(),
        );
        sqlx::query_with(sql, values).execute(&mut *tx).await?;
        let (sql, values) = self.db.build(
            &Query::delete()
                .from_table(Battles::Table)
                .and_where(Expr::col(Battles::Id).lt(0))
                .to_owned(),
        );
        let removed = sqlx::query_with(sql, values)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(removed)
    }

    /// How many battles are stored, real and synthetic.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn count_battles(&self) -> Result<u64, StoreError> {
        self.count(None).await
    }

    /// `COUNT(*)` of the battles matching `condition` (all when `None`).
    pub(super) async fn count(&self, condition: Option<SimpleExpr>) -> Result<u64, StoreError> {
        self.db
            .bounded(async {
                let mut query = Query::select()
                    .expr(Expr::col(Battles::Id).count())
                    .from(Battles::Table)
                    .take();
                if let Some(condition) = condition {
                    query.and_where(condition);
                }
                let n = self
                    .db
                    .fetch_all(&query, |r| r.try_get::<i64, _>(0))
                    .await?;
                Ok(Ord::max(n.first().copied().unwrap_or(0), 0) as u64)
            })
            .await
    }

    /// One player's row, found by any case (and any Unicode normal form) of
    /// the login; `None` when the login never appeared in a battle. Should two
    /// rows share the key (two ingestions racing with a new player's two
    /// spellings), the one with more battles answers.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn player(&self, login: &str) -> Result<Option<PlayerStats>, StoreError> {
        self.db
            .bounded(async {
                let query = player_select()
                    .and_where(Expr::col(PlayerRatings::LoginKey).eq(normalise_login(login)))
                    .order_by(PlayerRatings::Battles, Order::Desc)
                    .order_by(PlayerRatings::Login, Order::Asc)
                    .limit(1)
                    .take();
                let rows = self.db.fetch_all(&query, player_from_row).await?;
                Ok(rows.into_iter().next())
            })
            .await
    }

    /// The stored ratings of `logins`, keyed by each login's case-insensitive
    /// key ([`normalise_login`]); absent logins are left out.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn ratings(&self, logins: &[&str]) -> Result<HashMap<String, Rating>, StoreError> {
        let keys = sorted_keys(logins.iter().copied());
        self.db
            .bounded(async {
                let mut out = HashMap::new();
                for chunk in keys.chunks(IN_LIST) {
                    // Fewest battles first: where two rows share a key, the
                    // one with more battles is inserted last and answers.
                    let query = player_select()
                        .and_where(Expr::col(PlayerRatings::LoginKey).is_in(chunk.iter().cloned()))
                        .order_by(PlayerRatings::Battles, Order::Asc)
                        .order_by(PlayerRatings::Login, Order::Desc)
                        .take();
                    for s in self.db.fetch_all(&query, player_from_row).await? {
                        out.insert(normalise_login(&s.login), s.rating);
                    }
                }
                Ok(out)
            })
            .await
    }

    /// Players by conservative rating (mu − 3σ), best first, ties by login;
    /// only those with at least `min_battles` (and at least one) battles of
    /// `mode`.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn leaderboard(
        &self,
        mode: LeaderboardMode,
        limit: u64,
        min_battles: u64,
    ) -> Result<Vec<PlayerStats>, StoreError> {
        self.db
            .bounded(async {
                let min = clamp_u64(Ord::max(min_battles, 1));
                let filter: SimpleExpr = match mode {
                    LeaderboardMode::Pvp => Expr::col(PlayerRatings::PvpBattles).gte(min),
                    LeaderboardMode::All => Expr::col(PlayerRatings::Battles).gte(min),
                    LeaderboardMode::Pve => Expr::col(PlayerRatings::Battles)
                        .sub(Expr::col(PlayerRatings::PvpBattles))
                        .gte(min),
                };
                let query = player_select()
                    .and_where(filter)
                    .order_by(PlayerRatings::Score, Order::Desc)
                    .order_by(PlayerRatings::Login, Order::Asc)
                    .limit(Ord::min(limit, i64::MAX as u64))
                    .take();
                self.db.fetch_all(&query, player_from_row).await
            })
            .await
    }

    /// Battles and active players per UTC day from the start of the day
    /// holding `since` on, and totals over that window.
    /// Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn summary(&self, since: i64) -> Result<Summary, StoreError> {
        self.db
            .bounded(async {
                let since_day = since.div_euclid(DAY);
                let query = Query::select()
                    .column(Battles::Day)
                    .expr(Expr::col(Battles::Id).count())
                    .from(Battles::Table)
                    .and_where(Expr::col(Battles::Day).gte(since_day))
                    .group_by_col(Battles::Day)
                    .take();
                let per_day = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
                    })
                    .await?;
                let query = Query::select()
                    .column((Battles::Table, Battles::Day))
                    .expr(
                        Expr::col((BattleParticipants::Table, BattleParticipants::Login))
                            .count_distinct(),
                    )
                    .from(BattleParticipants::Table)
                    .inner_join(
                        Battles::Table,
                        Expr::col((Battles::Table, Battles::Id))
                            .equals((BattleParticipants::Table, BattleParticipants::BattleId)),
                    )
                    .and_where(Expr::col((Battles::Table, Battles::Day)).gte(since_day))
                    .group_by_col((Battles::Table, Battles::Day))
                    .take();
                let active = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
                    })
                    .await?;
                let query = Query::select()
                    .expr(Expr::col((BattleParticipants::Table, BattleParticipants::Login)).count())
                    .expr(
                        Expr::col((BattleParticipants::Table, BattleParticipants::Login))
                            .count_distinct(),
                    )
                    .from(BattleParticipants::Table)
                    .inner_join(
                        Battles::Table,
                        Expr::col((Battles::Table, Battles::Id))
                            .equals((BattleParticipants::Table, BattleParticipants::BattleId)),
                    )
                    .and_where(Expr::col((Battles::Table, Battles::Day)).gte(since_day))
                    .take();
                let totals = self
                    .db
                    .fetch_all(&query, |r| {
                        Ok((r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?))
                    })
                    .await?;
                let query = Query::select()
                    .expr(Expr::col(Battles::Id).count())
                    .from(Battles::Table)
                    .and_where(Expr::col(Battles::Day).gte(since_day))
                    .and_where(Expr::col(Battles::Mode).eq(Mode::Pvp.as_str()))
                    .take();
                let pvp = self
                    .db
                    .fetch_all(&query, |r| r.try_get::<i64, _>(0))
                    .await?;

                let mut days: BTreeMap<i64, DaySummary> = BTreeMap::new();
                for (day, battles) in per_day {
                    days.entry(day)
                        .or_insert(DaySummary {
                            day_start: day * DAY,
                            battles: 0,
                            active_players: 0,
                        })
                        .battles = battles;
                }
                for (day, players) in active {
                    if let Some(d) = days.get_mut(&day) {
                        d.active_players = players;
                    }
                }
                let (participants, active_players) = totals.first().copied().unwrap_or((0, 0));
                Ok(Summary {
                    since: since_day * DAY,
                    battles: days.values().map(|d| d.battles).sum(),
                    pvp_battles: pvp.first().copied().unwrap_or(0),
                    participants,
                    active_players,
                    days: days.into_values().collect(),
                })
            })
            .await
    }
}

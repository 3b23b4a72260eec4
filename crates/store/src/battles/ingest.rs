//! Ingestion (one transaction per batch, idempotent by battle id) and
//! `rebuild` of the per-player rows.

use sea_query::{DynIden, IntoIden, Value};

use super::bulk::OnExisting;
use super::*;

/// What `rebuild` recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    /// Stored battles replayed.
    pub battles: u64,
    /// `player_ratings` rows written.
    pub players: u64,
}

/// A batch half ingested by [`BattleLog::stage`]: its battles and
/// participants written in `tx`, still open; [`BattleLog::settle`] finishes
/// it.
pub(super) struct Staged {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    /// Per input position, as the answer of [`BattleLog::ingest`].
    outcome: Vec<Ingested>,
    /// The new battles in (started_at, id) order, each login spelled as its
    /// player's row (or the batch's first spelling, for a new player).
    new: Vec<Battle>,
    /// The players' rows, when `stage` read them under lock.
    locked: Option<HashMap<String, PlayerStats>>,
    now: i64,
}

/// `battle` with each participant's login replaced by the spelling its key
/// has in `spelling`; a key not there yet takes this battle's spelling.
pub(super) fn with_one_spelling(battle: &Battle, spelling: &mut HashMap<String, String>) -> Battle {
    let mut battle = battle.clone();
    for p in &mut battle.participants {
        let known = spelling
            .entry(normalise_login(&p.login))
            .or_insert_with(|| p.login.clone());
        if *known != p.login {
            p.login.clone_from(known);
        }
    }
    battle
}

/// A `player_ratings` row's columns, in [`player_values`] order.
fn player_columns() -> Vec<DynIden> {
    [PlayerRatings::Login, PlayerRatings::LoginKey]
        .into_iter()
        .chain(PLAYER_VALUE_COLUMNS)
        .map(IntoIden::into_iden)
        .collect()
}

/// One `player_ratings` row, in [`player_columns`] order.
fn player_values(s: &PlayerStats) -> Vec<Value> {
    vec![
        s.login.as_str().into(),
        normalise_login(&s.login).into(),
        s.rating.mu.into(),
        s.rating.sigma.into(),
        s.rating.conservative().into(),
        s.battles.into(),
        s.wins.into(),
        s.pvp_battles.into(),
        s.pvp_wins.into(),
        s.kills.into(),
        s.deaths.into(),
        s.damage_dealt.into(),
        s.damage_taken.into(),
        s.updated_at.into(),
    ]
}

/// Lock conflicts and deadlocks between concurrent batches: a fresh
/// transaction gets past them.
pub(super) fn is_retryable(err: &StoreError) -> bool {
    match err {
        StoreError::Unavailable(e) => database_error(e).is_some_and(is_transient),
        _ => false,
    }
}

impl Staged {
    /// Rolls the staged batch back.
    pub(super) async fn abandon(self) -> Result<(), StoreError> {
        Ok(self.tx.rollback().await?)
    }
}

impl<'a> BattleLog<'a> {
    /// An INSERT that skips rows whose key exists: `ON CONFLICT DO NOTHING`
    /// (SQLite, PostgreSQL), `INSERT IGNORE` on MySQL, where sea-query has no
    /// spelling for it (its `ON DUPLICATE KEY UPDATE k = k` polyfill counts
    /// skipped rows as affected, and ingestion needs the true count).
    pub(super) fn build_insert_ignore(
        &self,
        mut insert: InsertStatement,
    ) -> (sqlx::AssertSqlSafe<String>, sea_query_sqlx::SqlxValues) {
        if self.db.backend() == Backend::Mysql {
            let (sql, values) = self.db.build(&insert);
            let sql = sql.0.replacen("INSERT ", "INSERT IGNORE ", 1);
            return (sqlx::AssertSqlSafe(sql), values);
        }
        insert.on_conflict(OnConflict::column(Battles::Id).do_nothing().to_owned());
        self.db.build(&insert)
    }

    /// Stores a batch of (already validated) battles in one transaction and
    /// answers, per battle in input order, whether it was new. Players of the
    /// new battles get their totals and ratings updated; new battles are
    /// applied in (started_at, id) order.
    /// Retries a lock conflict or a concurrent writer up to 8 times, then errs
    /// with [`StoreError::Unavailable`]; otherwise errs like every operation:
    /// [`StoreError::TimedOut`] past the operation timeout,
    /// [`StoreError::Unavailable`] when unreachable, [`StoreError::Query`].
    pub async fn ingest(&self, battles: &[Battle]) -> Result<Vec<Ingested>, StoreError> {
        if battles.is_empty() {
            return Ok(Vec::new());
        }
        self.db
            .bounded(async {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match self.try_ingest(battles).await {
                        Ok(Attempt::Done(result)) => return Ok(result),
                        Ok(Attempt::Retry) if attempt < MAX_ATTEMPTS => {}
                        Err(e) if attempt < MAX_ATTEMPTS && is_retryable(&e) => {}
                        Ok(Attempt::Retry) => {
                            return Err(StoreError::Contended(
                                "too many concurrent ingestions of the same battles",
                            ));
                        }
                        Err(e) => return Err(e),
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(5 * u64::from(attempt)))
                        .await;
                }
            })
            .await
    }

    /// `player_ratings` rows through the bulk step.
    async fn write_players(
        &self,
        conn: &mut sqlx::AnyConnection,
        players: &[PlayerStats],
        on_existing: OnExisting,
    ) -> Result<u64, StoreError> {
        let rows: Vec<Vec<Value>> = players.iter().map(player_values).collect();
        let table = PlayerRatings::Table.into_iden();
        self.insert_rows(conn, table, &player_columns(), &rows, on_existing)
            .await
    }

    pub(super) async fn try_ingest(
        &self,
        battles: &[Battle],
    ) -> Result<Attempt<Vec<Ingested>>, StoreError> {
        match self.stage(battles, true).await? {
            Attempt::Done(staged) => self.settle(staged).await,
            Attempt::Retry => Ok(Attempt::Retry),
        }
    }

    /// The first half of an ingestion: opens the batch's transaction, finds
    /// which battles are new and writes them and their participants, each
    /// login with its player's one spelling. With `lock`, the players' rows
    /// are read and locked here too (one statement for both); without, they
    /// are read without a lock and [`BattleLog::settle`] locks them, so that
    /// this half can run while the previous batch's transaction is still
    /// open ([`super::IngestPipeline`]).
    pub(super) async fn stage(
        &self,
        battles: &[Battle],
        lock: bool,
    ) -> Result<Attempt<Staged>, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let now = unix_now();

        // Ids already stored.
        let ids: Vec<i64> = battles
            .iter()
            .map(|b| b.id)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut stored = BTreeSet::new();
        for chunk in ids.chunks(self.in_list()) {
            let (sql, values) = self.db.build(
                Query::select()
                    .column(Battles::Id)
                    .from(Battles::Table)
                    .and_where(self.is_in(Battles::Id, chunk.iter().copied())),
            );
            for row in sqlx::query_with(sql, values).fetch_all(&mut *tx).await? {
                stored.insert(row.try_get::<i64, _>(0)?);
            }
        }
        // Per input position; a repeated id in the batch is a duplicate of its
        // first occurrence.
        let mut seen = BTreeSet::new();
        let outcome: Vec<Ingested> = battles
            .iter()
            .map(|b| match !stored.contains(&b.id) && seen.insert(b.id) {
                true => Ingested::Inserted,
                false => Ingested::Duplicate,
            })
            .collect();
        let mut new: Vec<&Battle> = battles
            .iter()
            .zip(&outcome)
            .filter(|(_, o)| **o == Ingested::Inserted)
            .map(|(b, _)| b)
            .collect();
        new.sort_by_key(|b| (b.started_at, b.id));
        if new.is_empty() {
            return Ok(Attempt::Done(Staged {
                tx,
                outcome,
                new: Vec::new(),
                locked: Some(HashMap::new()),
                now,
            }));
        }

        // One spelling per player: a login whose key has a row is written with
        // that row's spelling, a new one with the first spelling of this batch
        // (in the order the battles are applied).
        let keys = sorted_keys(
            new.iter()
                .flat_map(|b| b.participants.iter().map(|p| p.login.as_str())),
        );
        let (mut spelling, locked) = match lock {
            true => {
                let rows = self.players_by_key(&mut tx, &keys, true).await?;
                let spelling = rows
                    .iter()
                    .map(|s| (normalise_login(&s.login), s.login.clone()))
                    .collect();
                let rows = rows.into_iter().map(|s| (s.login.clone(), s)).collect();
                (spelling, Some(rows))
            }
            false => (self.spellings(&mut tx, &keys).await?, None),
        };
        let new: Vec<Battle> = new
            .iter()
            .map(|b| with_one_spelling(b, &mut spelling))
            .collect();

        let battle_rows: Vec<Vec<Value>> = new
            .iter()
            .map(|b| {
                vec![
                    b.id.into(),
                    b.mode.as_str().into(),
                    b.started_at.into(),
                    b.started_at.div_euclid(DAY).into(),
                    i64::from(b.duration_secs).into(),
                    now.into(),
                ]
            })
            .collect();
        let columns = [
            Battles::Id,
            Battles::Mode,
            Battles::StartedAt,
            Battles::Day,
            Battles::DurationSecs,
            Battles::IngestedAt,
        ]
        .map(IntoIden::into_iden);
        let written = self
            .insert_rows(
                &mut tx,
                Battles::Table.into_iden(),
                &columns,
                &battle_rows,
                OnExisting::Skip,
            )
            .await?;
        if written != battle_rows.len() as u64 {
            // Another writer stored some of these since we looked: start
            // over, the next look sees them.
            tx.rollback().await?;
            return Ok(Attempt::Retry);
        }

        let participant_rows: Vec<Vec<Value>> = new
            .iter()
            .flat_map(|b| b.participants.iter().map(move |p| (b.id, p)))
            .map(|(id, p)| {
                vec![
                    id.into(),
                    p.login.as_str().into(),
                    i64::from(p.team).into(),
                    i64::from(p.won).into(),
                    i64::from(p.kills).into(),
                    i64::from(p.deaths).into(),
                    clamp_u64(p.damage_dealt).into(),
                    clamp_u64(p.damage_taken).into(),
                    i64::from(p.level).into(),
                ]
            })
            .collect();
        self.insert_rows(
            &mut tx,
            BattleParticipants::Table.into_iden(),
            &PARTICIPANT_COLUMNS.map(IntoIden::into_iden),
            &participant_rows,
            OnExisting::Fail,
        )
        .await?;
        Ok(Attempt::Done(Staged {
            tx,
            outcome,
            new,
            locked,
            now,
        }))
    }

    /// The players' rows of `keys` (one per key: the one with the most
    /// battles, should old data hold two spellings), read in key order and,
    /// with `lock`, locked `FOR UPDATE` (PostgreSQL, MySQL; SQLite's `BEGIN
    /// IMMEDIATE` already serialises writers), so concurrent batches wait for
    /// each other instead of deadlocking or losing updates.
    async fn players_by_key(
        &self,
        tx: &mut sqlx::AnyConnection,
        keys: &[String],
        lock: bool,
    ) -> Result<Vec<PlayerStats>, StoreError> {
        let mut players = Vec::with_capacity(keys.len());
        let mut last_key = None;
        for chunk in keys.chunks(self.in_list()) {
            let mut select = player_select();
            select
                .column(PlayerRatings::LoginKey)
                .and_where(self.is_in(PlayerRatings::LoginKey, chunk.iter().cloned()))
                .order_by(PlayerRatings::LoginKey, Order::Asc)
                .order_by(PlayerRatings::Battles, Order::Desc)
                .order_by(PlayerRatings::Login, Order::Asc);
            if lock {
                select.lock_exclusive();
            }
            let (sql, values) = self.db.build(&select);
            for row in sqlx::query_with(sql, values).fetch_all(&mut *tx).await? {
                let key: String = row.try_get(PLAYER_KEY_INDEX)?;
                if last_key.as_ref() != Some(&key) {
                    players.push(player_from_row(&row)?);
                    last_key = Some(key);
                }
            }
        }
        Ok(players)
    }

    /// The spelling of each of `keys` that has a row (the row with the most
    /// battles), read without a lock: `login_key` → `login`.
    async fn spellings(
        &self,
        tx: &mut sqlx::AnyConnection,
        keys: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut spelling = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(self.in_list()) {
            let (sql, values) = self.db.build(
                Query::select()
                    .columns([PlayerRatings::LoginKey, PlayerRatings::Login])
                    .from(PlayerRatings::Table)
                    .and_where(self.is_in(PlayerRatings::LoginKey, chunk.iter().cloned()))
                    .order_by(PlayerRatings::Battles, Order::Desc)
                    .order_by(PlayerRatings::Login, Order::Asc),
            );
            for row in sqlx::query_with(sql, values).fetch_all(&mut *tx).await? {
                spelling
                    .entry(row.try_get::<String, _>(0)?)
                    .or_insert(row.try_get::<String, _>(1)?);
            }
        }
        Ok(spelling)
    }

    /// The second half of an ingestion: locks the players' rows (unless
    /// [`BattleLog::stage`] did), applies the new battles to them in order,
    /// writes them and commits. [`Attempt::Retry`] (rolled back) when a
    /// concurrent batch created one of the players since the stage read:
    /// with another spelling than the one its battles were written with, or
    /// a row this batch was going to create.
    pub(super) async fn settle(
        &self,
        staged: Staged,
    ) -> Result<Attempt<Vec<Ingested>>, StoreError> {
        let Staged {
            mut tx,
            outcome,
            new,
            locked,
            now,
        } = staged;
        if new.is_empty() {
            tx.rollback().await?;
            return Ok(Attempt::Done(outcome));
        }
        // Every participant's login is its player's spelling (stage made it so).
        let logins: BTreeSet<&str> = new
            .iter()
            .flat_map(|b| b.participants.iter().map(|p| p.login.as_str()))
            .collect();
        let mut players = match locked {
            Some(players) => players,
            None => {
                // In key order (not the spellings'), as every other batch
                // locks them.
                let keys = sorted_keys(logins.iter().copied());
                let rows = self.players_by_key(&mut tx, &keys, true).await?;
                if rows.iter().any(|s| !logins.contains(s.login.as_str())) {
                    tx.rollback().await?;
                    return Ok(Attempt::Retry);
                }
                rows.into_iter().map(|s| (s.login.clone(), s)).collect()
            }
        };
        let stored_players: BTreeSet<String> = players.keys().cloned().collect();
        // Players seen for the first time start from a blank row.
        for login in &logins {
            if !players.contains_key(*login) {
                players.insert((*login).to_owned(), PlayerStats::new(login, now));
            }
        }
        let mut book =
            RatingBook::with_ratings(players.iter().map(|(l, s)| (l.clone(), s.rating)).collect());
        for battle in &new {
            for (login, rating) in book.apply(battle) {
                if let Some(stats) = players.get_mut(&login) {
                    stats.rating = rating;
                }
            }
            for p in &battle.participants {
                if let Some(stats) = players.get_mut(&p.login) {
                    stats.add(battle.mode, p);
                    stats.updated_at = now;
                }
            }
        }
        // Rows that were read are updated; new ones are inserted, and a
        // clash there means a concurrent batch created the player after our
        // read: start over, the next read locks its row.
        let (mut updated, mut created): (Vec<PlayerStats>, Vec<PlayerStats>) = players
            .into_values()
            .partition(|s| stored_players.contains(&s.login));
        updated.sort_by(|a, b| a.login.cmp(&b.login));
        created.sort_by(|a, b| a.login.cmp(&b.login));
        self.write_players(&mut tx, &updated, OnExisting::UpdatePlayer)
            .await?;
        match self
            .write_players(&mut tx, &created, OnExisting::Fail)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Query(e)) if is_unique_violation(&e) => {
                tx.rollback().await?;
                return Ok(Attempt::Retry);
            }
            Err(e) => return Err(e),
        }
        tx.commit().await?;
        Ok(Attempt::Done(outcome))
    }

    /// Recomputes every player row from the stored battles, in (started_at,
    /// id) order, and replaces `player_ratings` in one transaction. `progress`
    /// is called with (battles done, battles in total) after each page.
    /// Ingestion running meanwhile may be overwritten: run it while the game
    /// server's ingestion is paused, or run it again afterwards.
    /// Each page read is bounded by the operation timeout; the final write, which
    /// grows with the number of players, is not. Errs with [`StoreError::TimedOut`] past the operation timeout, [`StoreError::Unavailable`] when the database cannot be reached, [`StoreError::Query`] otherwise.
    pub async fn rebuild(
        &self,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<RebuildReport, StoreError> {
        let total = self.count_battles().await?;
        let now = unix_now();
        let mut book = RatingBook::new();
        let mut players: HashMap<String, PlayerStats> = HashMap::new();
        let mut done = 0u64;
        let mut spelling: HashMap<String, String> = HashMap::new();
        self.for_each_battle(|battle| {
            // Battles stored with another case of a player's login (before
            // ingestion kept one spelling) count for the same player.
            let battle = &with_one_spelling(battle, &mut spelling);
            book.apply(battle);
            for p in &battle.participants {
                players
                    .entry(p.login.clone())
                    .or_insert_with(|| PlayerStats::new(&p.login, now))
                    .add(battle.mode, p);
            }
            done += 1;
            if done.is_multiple_of(PAGE) {
                progress(done, total);
            }
        })
        .await?;
        progress(done, total);
        let mut rows: Vec<PlayerStats> = players
            .into_values()
            .map(|mut s| {
                s.rating = book.get(&s.login);
                s
            })
            .collect();
        rows.sort_by(|a, b| a.login.cmp(&b.login));

        let mut tx = self.db.begin_write().await?;
        let (sql, values) = self
            .db
            .build(&Query::delete().from_table(PlayerRatings::Table).to_owned());
        sqlx::query_with(sql, values).execute(&mut *tx).await?;
        self.write_players(&mut tx, &rows, OnExisting::Fail).await?;
        tx.commit().await?;
        Ok(RebuildReport {
            battles: done,
            players: rows.len() as u64,
        })
    }
}

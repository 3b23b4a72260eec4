//! The `idempotency_keys` table: the `Idempotency-Key`s of `POST
//! /api/register`, one row per (site scope, key).
//!
//! A request claims its key by inserting the row (state `running`); the
//! primary key makes the claim atomic, so of any number of parallel requests
//! with one key exactly one runs the registration. The winner then records
//! the answer (`done`, with status and body), marks a lost game-server answer
//! (`pending`: the account's fate is read again on a retry), or releases the
//! key (deletes the row) when nothing was decided. Rows expire with the
//! window and are purged by [`IdempotencyKeys::purge_expired`]; a claim also
//! drops an expired row of its own key first, so an old key is a new one.

use sea_query::{Expr, ExprTrait, Iden, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::{StoreError, is_unique_violation};

#[derive(Iden)]
enum Keys {
    #[iden = "idempotency_keys"]
    Table,
    Scope,
    IdemKey,
    Fingerprint,
    State,
    LoginNorm,
    TelegramId,
    Status,
    Body,
    CreatedAt,
    LockedUntil,
}

/// Where a key's first request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// The first request is running (until `locked_until`, after which its
    /// process is presumed gone).
    Running,
    /// The first request's game-server answer was lost: its account is
    /// pending until the reconciler settles it.
    Pending,
    /// The first request's answer is stored (`status`, `body`).
    Done,
}

impl KeyState {
    fn as_str(self) -> &'static str {
        match self {
            KeyState::Running => "running",
            KeyState::Pending => "pending",
            KeyState::Done => "done",
        }
    }

    fn parse(text: &str) -> Result<Self, sqlx::Error> {
        match text {
            "running" => Ok(KeyState::Running),
            "pending" => Ok(KeyState::Pending),
            "done" => Ok(KeyState::Done),
            other => Err(sqlx::Error::Decode(
                format!("unknown idempotency key state {other:?}").into(),
            )),
        }
    }
}

/// One stored key. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// Lowercase hex HMAC-SHA256 of the first request (64 characters).
    pub fingerprint: String,
    /// Where the first request stands.
    pub state: KeyState,
    /// The login key of the first request's account.
    pub login_norm: String,
    /// The first request's Telegram id.
    pub telegram_id: i64,
    /// The stored answer's HTTP status (with [`KeyState::Done`]).
    pub status: Option<u16>,
    /// The stored answer's JSON body (with [`KeyState::Done`]).
    pub body: Option<String>,
    /// When the key was first claimed.
    pub created_at: i64,
    /// Until when a `running` claim is held.
    pub locked_until: i64,
}

/// A key to claim. `scope` is 1–64 characters, `key` 1–255 (the schema's
/// bounds; the domain's parser guarantees them).
#[derive(Debug, Clone)]
pub struct NewKey<'a> {
    /// Whose key (the hex SHA-256 of the site's API key).
    pub scope: &'a str,
    /// The key as the site sent it (unescaped).
    pub key: &'a str,
    /// Lowercase hex fingerprint of the request.
    pub fingerprint: &'a str,
    /// The login key of the account the request registers.
    pub login_norm: &'a str,
    /// The request's Telegram id.
    pub telegram_id: i64,
}

/// What [`IdempotencyKeys::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free (or expired): this request owns it, `running`.
    Claimed,
    /// Another request has the key (within the window).
    Taken(KeyRecord),
}

/// The `idempotency_keys` table of one database, from
/// [`Database::idempotency`]. Every operation runs within the pool's
/// operation timeout and errs with [`StoreError::TimedOut`],
/// [`StoreError::Unavailable`] or [`StoreError::Query`] like every store
/// operation.
pub struct IdempotencyKeys<'a> {
    db: &'a Database,
}

impl Database {
    /// The idempotency keys of registrations ([`IdempotencyKeys`]).
    pub fn idempotency(&self) -> IdempotencyKeys<'_> {
        IdempotencyKeys { db: self }
    }
}

/// How often a claim is tried when the row it lost to vanished before it
/// could be read (released by its owner in between).
const CLAIM_ATTEMPTS: u32 = 3;

impl IdempotencyKeys<'_> {
    fn pk(scope: &str, key: &str) -> sea_query::Condition {
        sea_query::Cond::all()
            .add(Expr::col(Keys::Scope).eq(scope))
            .add(Expr::col(Keys::IdemKey).eq(key))
    }

    /// Claims `new` at `now`, held until `locked_until`: drops the key's row
    /// if it was created before `expired_before`, then inserts it as
    /// `running`. [`Claim::Taken`] with the row that holds the key when
    /// another request has it.
    pub async fn claim(
        &self,
        new: &NewKey<'_>,
        now: i64,
        locked_until: i64,
        expired_before: i64,
    ) -> Result<Claim, StoreError> {
        self.db
            .bounded(async {
                for _ in 0..CLAIM_ATTEMPTS {
                    let (sql, values) = self.db.build(
                        Query::delete()
                            .from_table(Keys::Table)
                            .cond_where(Self::pk(new.scope, new.key))
                            .and_where(Expr::col(Keys::CreatedAt).lt(expired_before)),
                    );
                    sqlx::query_with(sql, values)
                        .execute(self.db.pool())
                        .await?;
                    let (sql, values) = self.db.build(
                        Query::insert()
                            .into_table(Keys::Table)
                            .columns([
                                Keys::Scope,
                                Keys::IdemKey,
                                Keys::Fingerprint,
                                Keys::State,
                                Keys::LoginNorm,
                                Keys::TelegramId,
                                Keys::CreatedAt,
                                Keys::LockedUntil,
                            ])
                            .values_panic([
                                new.scope.into(),
                                new.key.into(),
                                new.fingerprint.into(),
                                KeyState::Running.as_str().into(),
                                new.login_norm.into(),
                                new.telegram_id.into(),
                                now.into(),
                                locked_until.into(),
                            ]),
                    );
                    match sqlx::query_with(sql, values).execute(self.db.pool()).await {
                        Ok(_) => return Ok(Claim::Claimed),
                        Err(e) if is_unique_violation(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                    if let Some(record) = self.get(new.scope, new.key).await? {
                        return Ok(Claim::Taken(record));
                    }
                }
                Err(StoreError::Contended(
                    "an idempotency key was claimed and released repeatedly",
                ))
            })
            .await
    }

    /// The row of `key` in `scope`, whatever its age.
    pub async fn get(&self, scope: &str, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        let query = Query::select()
            .columns([
                Keys::Fingerprint,
                Keys::State,
                Keys::LoginNorm,
                Keys::TelegramId,
                Keys::Status,
                Keys::Body,
                Keys::CreatedAt,
                Keys::LockedUntil,
            ])
            .from(Keys::Table)
            .cond_where(Self::pk(scope, key))
            .take();
        let rows = self
            .db
            .bounded(self.db.fetch_all(&query, |r| {
                let state: String = r.try_get(1)?;
                let status: Option<i64> = r.try_get(4)?;
                Ok(KeyRecord {
                    fingerprint: r.try_get(0)?,
                    state: KeyState::parse(&state)?,
                    login_norm: r.try_get(2)?,
                    telegram_id: r.try_get(3)?,
                    status: status.and_then(|s| u16::try_from(s).ok()),
                    body: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    locked_until: r.try_get(7)?,
                })
            }))
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Stores the answer of the key's request (`done`). `false` when the row
    /// is gone (expired and purged meanwhile).
    pub async fn finish(
        &self,
        scope: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<bool, StoreError> {
        self.update(
            scope,
            key,
            vec![
                (Keys::State, KeyState::Done.as_str().into()),
                (Keys::Status, i64::from(status).into()),
                (Keys::Body, body.into()),
            ],
            None,
        )
        .await
    }

    /// Marks the key's request as waiting on a pending account (`pending`).
    pub async fn mark_pending(&self, scope: &str, key: &str) -> Result<bool, StoreError> {
        self.update(
            scope,
            key,
            vec![(Keys::State, KeyState::Pending.as_str().into())],
            None,
        )
        .await
    }

    /// Takes over a `running` claim whose holder's time ran out
    /// (`locked_until` before `now`), holding it until `locked_until`.
    /// `true` for exactly one of any number of callers.
    pub async fn take_over(
        &self,
        scope: &str,
        key: &str,
        now: i64,
        locked_until: i64,
    ) -> Result<bool, StoreError> {
        self.update(
            scope,
            key,
            vec![(Keys::LockedUntil, locked_until.into())],
            Some(now),
        )
        .await
    }

    async fn update(
        &self,
        scope: &str,
        key: &str,
        values: Vec<(Keys, sea_query::Expr)>,
        expired_lock_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let mut query = Query::update();
        query
            .table(Keys::Table)
            .values(values)
            .cond_where(Self::pk(scope, key));
        if let Some(now) = expired_lock_at {
            query
                .and_where(Expr::col(Keys::State).eq(KeyState::Running.as_str()))
                .and_where(Expr::col(Keys::LockedUntil).lt(now));
        }
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(&query);
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            })
            .await
    }

    /// Releases a key whose request decided nothing (the row is deleted, so
    /// a retry runs afresh). Only a `running` row is touched.
    pub async fn release(&self, scope: &str, key: &str) -> Result<bool, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Keys::Table)
                        .cond_where(Self::pk(scope, key))
                        .and_where(Expr::col(Keys::State).eq(KeyState::Running.as_str())),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected() == 1)
            })
            .await
    }

    /// Deletes every key created before `created_before` (index
    /// `created_at`); returns how many.
    pub async fn purge_expired(&self, created_before: i64) -> Result<u64, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::delete()
                        .from_table(Keys::Table)
                        .and_where(Expr::col(Keys::CreatedAt).lt(created_before)),
                );
                let done = sqlx::query_with(sql, values)
                    .execute(self.db.pool())
                    .await?;
                Ok(done.rows_affected())
            })
            .await
    }

    /// How many keys are stored (metrics and tests).
    pub async fn count(&self) -> Result<i64, StoreError> {
        self.db
            .bounded(async {
                let (sql, values) = self.db.build(
                    Query::select()
                        .expr(Expr::col(Keys::CreatedAt).count())
                        .from(Keys::Table),
                );
                let row = sqlx::query_with(sql, values)
                    .fetch_one(self.db.pool())
                    .await?;
                Ok(row.try_get::<i64, _>(0)?)
            })
            .await
    }
}

/// Deletes every key whose first request registered `login_norm` (the
/// account is being erased: a key row holds its login, Telegram id and
/// answer), on `conn`. A retry of such a key afterwards runs as new.
pub(crate) async fn forget(
    db: &Database,
    conn: &mut sqlx::AnyConnection,
    login_norm: &str,
) -> Result<(), StoreError> {
    let (sql, values) = db.build(
        Query::delete()
            .from_table(Keys::Table)
            .and_where(Expr::col(Keys::LoginNorm).eq(login_norm)),
    );
    sqlx::query_with(sql, values).execute(&mut *conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MigrationSet, PoolSettings};

    async fn database(dir: &tempfile::TempDir) -> Database {
        let url = format!("sqlite://{}", dir.path().join("accounts.db").display());
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .unwrap();
        db.migrate(MigrationSet::Accounts).await.unwrap();
        db
    }

    const KEY: NewKey<'static> = NewKey {
        scope: "site",
        key: "k-1",
        fingerprint: "f1",
        login_norm: "hero",
        telegram_id: 7,
    };

    /// A key is claimed once; the row then answers for it, a running claim
    /// is taken over once its lock ran out, only a running row is released,
    /// and an expired row gives way to a new claim.
    #[tokio::test]
    async fn a_key_is_claimed_once_and_its_row_decides() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let keys = db.idempotency();
        assert_eq!(keys.claim(&KEY, 100, 160, 0).await.unwrap(), Claim::Claimed);
        let Claim::Taken(row) = keys.claim(&KEY, 101, 161, 0).await.unwrap() else {
            panic!("a second claim must find the first");
        };
        assert_eq!(
            (row.state, row.fingerprint.as_str(), row.locked_until),
            (KeyState::Running, "f1", 160)
        );
        // Another site's key of the same text is another key.
        let other = NewKey {
            scope: "other-site",
            ..KEY
        };
        assert_eq!(
            keys.claim(&other, 101, 161, 0).await.unwrap(),
            Claim::Claimed
        );

        assert!(
            !keys.take_over("site", "k-1", 150, 210).await.unwrap(),
            "lock held"
        );
        assert!(keys.take_over("site", "k-1", 161, 221).await.unwrap());
        assert!(
            !keys.take_over("site", "k-1", 161, 221).await.unwrap(),
            "once"
        );

        assert!(keys.finish("site", "k-1", 200, "{}").await.unwrap());
        assert!(
            !keys.release("site", "k-1").await.unwrap(),
            "a done row stays"
        );
        let row = keys.get("site", "k-1").await.unwrap().unwrap();
        assert_eq!(
            (row.state, row.status, row.body.as_deref()),
            (KeyState::Done, Some(200), Some("{}"))
        );
        assert!(keys.release("other-site", "k-1").await.unwrap());
        assert_eq!(keys.get("other-site", "k-1").await.unwrap(), None);

        // Created at 100: expired for a claim that drops rows before 101.
        let renewed = NewKey {
            fingerprint: "f2",
            ..KEY
        };
        assert!(matches!(
            keys.claim(&renewed, 200, 260, 100).await.unwrap(),
            Claim::Taken(_)
        ));
        assert_eq!(
            keys.claim(&renewed, 200, 260, 101).await.unwrap(),
            Claim::Claimed
        );
        assert_eq!(keys.purge_expired(200).await.unwrap(), 0);
        assert_eq!(keys.purge_expired(201).await.unwrap(), 1);
        assert_eq!(keys.count().await.unwrap(), 0);
    }
}

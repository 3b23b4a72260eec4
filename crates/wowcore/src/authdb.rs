//! The auth database of AzerothCore/TrinityCore (`acore_auth` / `auth` on
//! MariaDB or MySQL): its own bounded pool, every statement bounded in time,
//! and each failure classified as definite ([`CallError::Unavailable`]) or
//! lost ([`CallError::Ambiguous`]).
//!
//! Least privileges: `SELECT, INSERT, DELETE ON <auth>.account` (plus
//! `UPDATE (salt, verifier)` only for `set_password`); docs/GAME_SERVER.md.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use gamegate_gameserver::{CallError, Failure, FailureKind, RegisterError, ServerCode};
use secrecy::{ExposeSecret, SecretString};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, MySql, MySqlConnection};
use tokio::time::{Instant, timeout_at};

use crate::srp6::{Salt, Verifier};

/// How to reach the auth database. `Debug` hides the URL's password.
#[derive(Clone)]
pub struct AuthDbSettings {
    /// `mysql://USER:PASS@HOST:3306/acore_auth` (a secret: it holds a password).
    pub url: SecretString,
    /// Most connections of the pool (0 is treated as 1).
    pub pool_size: u32,
    /// Bound on getting a connection: waiting for a free one, or connecting.
    pub acquire_timeout: Duration,
    /// Bound on a whole operation, the wait for a connection included.
    pub call_timeout: Duration,
    /// `account.expansion` of a new account (2 = Wrath of the Lich King, the
    /// cores' default: AzerothCore writes its `Expansion` setting,
    /// TrinityCore leaves the column's default 2).
    pub expansion: u8,
}

impl fmt::Debug for AuthDbSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthDbSettings")
            .field("url", &redacted_url(self.url.expose_secret()))
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("expansion", &self.expansion)
            .finish()
    }
}

/// The URL's host, port and database, without user information or query:
/// what logs and errors may show.
pub fn redacted_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    format!("mysql://{rest}")
}

/// A pool to the auth database and the statements gamegate runs there.
#[derive(Clone)]
pub struct AuthDb {
    pool: MySqlPool,
    call_timeout: Duration,
    expansion: u8,
    shown: String,
}

impl fmt::Debug for AuthDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthDb")
            .field("url", &self.shown)
            .field("pool_size", &self.pool.size())
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

/// What a write had done when it failed.
enum Step {
    /// Failed before the statement was handed to the connection: nothing ran.
    Before(sqlx::Error),
    /// The server answered the statement with an error: it did not apply
    /// (InnoDB statements are atomic; the transaction is never committed).
    Refused(sqlx::Error),
    /// Failed after the statement (or its COMMIT) was sent: may have applied.
    After(sqlx::Error),
}

const INSERT_ACCOUNT: &str = "INSERT INTO account (username, salt, verifier, email, reg_mail, \
     joindate, expansion) VALUES (?, ?, ?, '', '', NOW(), ?)";

impl AuthDb {
    /// Builds the pool without connecting (connections open on first use).
    ///
    /// # Errors
    /// A URL that is not a `mysql://` (or `mariadb://`) URL; the message
    /// does not repeat it (it holds a password).
    pub fn connect_lazy(settings: &AuthDbSettings) -> Result<Self, String> {
        let options = Self::settings_check(settings)?;
        let shown = redacted_url(settings.url.expose_secret());
        let pool = MySqlPoolOptions::new()
            .max_connections(settings.pool_size.max(1))
            .min_connections(0)
            .acquire_timeout(settings.acquire_timeout.min(settings.call_timeout))
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect_lazy_with(options);
        Ok(Self {
            pool,
            call_timeout: settings.call_timeout,
            expansion: settings.expansion,
            shown,
        })
    }

    /// Parses the URL as [`AuthDb::connect_lazy`] will, without building
    /// anything (for configuration checks).
    ///
    /// # Errors
    /// As [`AuthDb::connect_lazy`].
    pub fn settings_check(settings: &AuthDbSettings) -> Result<MySqlConnectOptions, String> {
        let url = settings.url.expose_secret();
        let shown = redacted_url(url);
        let url = url
            .strip_prefix("mariadb://")
            .map_or_else(|| url.to_owned(), |rest| format!("mysql://{rest}"));
        if !url.starts_with("mysql://") {
            return Err(format!(
                "the auth database URL must start with mysql:// (or mariadb://), got {}",
                url.split("://").next().unwrap_or("nothing")
            ));
        }
        MySqlConnectOptions::from_str(&url)
            .map_err(|_| format!("the auth database URL {shown} cannot be parsed"))
    }

    /// Host, port and database of the URL (no user information).
    pub fn shown_url(&self) -> &str {
        &self.shown
    }

    async fn acquire(
        &self,
        op: &str,
        deadline: Instant,
    ) -> Result<PoolConnection<MySql>, CallError> {
        match timeout_at(deadline, self.pool.acquire()).await {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => Err(unavailable(
                FailureKind::Timeout,
                format!(
                    "{op}: no auth-database connection within {:?}",
                    self.call_timeout
                ),
            )),
            Ok(Err(err)) => Err(unavailable(
                FailureKind::Connection,
                format!("{op}: auth database {}: {}", self.shown, describe(&err)),
            )),
        }
    }

    /// Inserts a new `account` row in its own transaction and returns its
    /// `id`. `username` must already be upper-cased; `joindate` is the
    /// database's `NOW()`, `email`/`reg_mail` are empty, `expansion` is the
    /// configured one, every other column keeps its default.
    ///
    /// # Errors
    /// [`RegisterError::LoginTaken`] on the unique key `idx_username`;
    /// [`CallError::Unavailable`] when the INSERT was not sent, or was
    /// answered with an error; [`CallError::Ambiguous`] when the connection
    /// failed or the deadline passed after the INSERT was sent (the COMMIT
    /// may have applied).
    pub async fn insert_account(
        &self,
        username: &str,
        salt: &Salt,
        verifier: &Verifier,
    ) -> Result<u64, RegisterError> {
        let deadline = Instant::now() + self.call_timeout;
        let mut conn = self.acquire("register", deadline).await?;
        let mut sent = false;
        let result = timeout_at(
            deadline,
            insert(
                &mut conn,
                username,
                salt,
                verifier,
                self.expansion,
                &mut sent,
            ),
        )
        .await;
        match result {
            Ok(Ok(id)) => Ok(id),
            // The dropped transaction queued its ROLLBACK, which the
            // connection sends before its next statement: it stays pooled.
            Ok(Err(Step::Refused(err))) if is_unique_violation(&err) => {
                Err(RegisterError::LoginTaken)
            }
            failed => {
                conn.close_on_drop();
                Err(self
                    .classify("register", failed.map(|r| r.map(drop)), sent)
                    .into())
            }
        }
    }

    /// Turns a failed write into a [`CallError`]: see [`Step`].
    fn classify(
        &self,
        op: &str,
        failed: Result<Result<(), Step>, tokio::time::error::Elapsed>,
        sent: bool,
    ) -> CallError {
        let (definite, kind, detail) = match failed {
            Ok(Ok(())) => unreachable!("classify is only called on failures"),
            Err(_) => (
                !sent,
                FailureKind::Timeout,
                format!("no answer within {:?}", self.call_timeout),
            ),
            Ok(Err(Step::Before(err))) => (true, FailureKind::Connection, describe(&err)),
            Ok(Err(Step::Refused(err))) => (
                true,
                FailureKind::Server(ServerCode::Internal),
                describe(&err),
            ),
            Ok(Err(Step::After(err))) => (false, FailureKind::Connection, describe(&err)),
        };
        let failure = Failure::new(
            kind,
            format!("{op}: auth database {}: {detail}", self.shown),
        );
        if definite {
            CallError::Unavailable(failure)
        } else {
            CallError::Ambiguous(failure)
        }
    }

    /// The `id` of the account whose `username` equals `username` under the
    /// column's collation (the cores' `GetId`), or `None`. Never `None` on
    /// an error: every failure is an `Err`.
    ///
    /// # Errors
    /// [`CallError::Unavailable`] when the database cannot answer in time.
    pub async fn account_id(&self, username: &str) -> Result<Option<u64>, CallError> {
        let deadline = Instant::now() + self.call_timeout;
        let mut conn = self.acquire("exists", deadline).await?;
        let query = sqlx::query_scalar::<_, u32>("SELECT id FROM account WHERE username = ?")
            .bind(username)
            .fetch_optional(&mut *conn);
        match timeout_at(deadline, query).await {
            Ok(Ok(id)) => Ok(id.map(u64::from)),
            failed => {
                conn.close_on_drop();
                Err(self.read_failure("exists", failed.map(|r| r.map(drop))))
            }
        }
    }

    fn read_failure(
        &self,
        op: &str,
        failed: Result<Result<(), sqlx::Error>, tokio::time::error::Elapsed>,
    ) -> CallError {
        let detail = match failed {
            Err(_) => format!("no answer within {:?}", self.call_timeout),
            Ok(Err(err)) => describe(&err),
            Ok(Ok(())) => unreachable!("read_failure is only called on failures"),
        };
        unavailable(
            FailureKind::Connection,
            format!("{op}: auth database {}: {detail}", self.shown),
        )
    }

    /// Deletes the account row of `username` (no error when there is none).
    /// A fresh account created by gamegate has no other row keyed on its id
    /// (no `realmcharacters`, `account_access`, bans or mutes).
    ///
    /// # Errors
    /// As [`AuthDb::insert_account`]: definite before the DELETE was sent or
    /// when it was refused, lost after.
    pub async fn delete_account(&self, username: &str) -> Result<(), CallError> {
        self.write_one(
            "delete",
            sqlx::query("DELETE FROM account WHERE username = ?").bind(username.to_owned()),
        )
        .await
        .map(drop)
    }

    /// Replaces the salt and verifier of `username`'s account; `false` when
    /// there is no such account.
    ///
    /// # Errors
    /// As [`AuthDb::delete_account`].
    pub async fn set_logon(
        &self,
        username: &str,
        salt: &Salt,
        verifier: &Verifier,
    ) -> Result<bool, CallError> {
        self.write_one(
            "set_password",
            sqlx::query("UPDATE account SET salt = ?, verifier = ? WHERE username = ?")
                .bind(salt.to_vec())
                .bind(verifier.to_vec())
                .bind(username.to_owned()),
        )
        .await
        .map(|rows| rows > 0)
    }

    /// One statement in its own transaction; the number of rows it changed.
    async fn write_one(
        &self,
        op: &str,
        query: sqlx::query::Query<'static, MySql, sqlx::mysql::MySqlArguments>,
    ) -> Result<u64, CallError> {
        let deadline = Instant::now() + self.call_timeout;
        let mut conn = self.acquire(op, deadline).await?;
        let mut sent = false;
        let run = async {
            let mut tx = conn.begin().await.map_err(Step::Before)?;
            sent = true;
            let done = query.execute(&mut *tx).await.map_err(refused_or_after)?;
            tx.commit().await.map_err(Step::After)?;
            Ok::<u64, Step>(done.rows_affected())
        };
        let result = timeout_at(deadline, run).await;
        match result {
            Ok(Ok(rows)) => Ok(rows),
            failed => {
                conn.close_on_drop();
                Err(self.classify(op, failed.map(|r| r.map(drop)), sent))
            }
        }
    }

    /// `SELECT 1` through the pool.
    ///
    /// # Errors
    /// [`CallError::Unavailable`] when the database does not answer in time.
    pub async fn ping(&self) -> Result<(), CallError> {
        let deadline = Instant::now() + self.call_timeout;
        let mut conn = self.acquire("ping", deadline).await?;
        let query = sqlx::query("SELECT 1").execute(&mut *conn);
        match timeout_at(deadline, query).await {
            Ok(Ok(_)) => Ok(()),
            failed => {
                conn.close_on_drop();
                Err(self.read_failure("ping", failed.map(|r| r.map(drop))))
            }
        }
    }

    /// Accounts marked online: `account.online` is set non-zero by the
    /// worldserver at login (AzerothCore writes the realm id, TrinityCore 1)
    /// and reset at logout.
    ///
    /// # Errors
    /// As [`AuthDb::ping`].
    pub async fn online(&self) -> Result<u64, CallError> {
        let deadline = Instant::now() + self.call_timeout;
        let mut conn = self.acquire("online", deadline).await?;
        let query = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM account WHERE online <> 0")
            .fetch_one(&mut *conn);
        match timeout_at(deadline, query).await {
            Ok(Ok(n)) => Ok(u64::try_from(n).unwrap_or_default()),
            failed => {
                conn.close_on_drop();
                Err(self.read_failure("online", failed.map(|r| r.map(drop))))
            }
        }
    }

    /// Closes the pool (waits for connections in use to come back).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

async fn insert(
    conn: &mut MySqlConnection,
    username: &str,
    salt: &Salt,
    verifier: &Verifier,
    expansion: u8,
    sent: &mut bool,
) -> Result<u64, Step> {
    let mut tx = conn.begin().await.map_err(Step::Before)?;
    *sent = true;
    let done = sqlx::query(INSERT_ACCOUNT)
        .bind(username)
        .bind(&salt[..])
        .bind(&verifier[..])
        .bind(expansion)
        .execute(&mut *tx)
        .await
        .map_err(refused_or_after)?;
    tx.commit().await.map_err(Step::After)?;
    Ok(done.last_insert_id())
}

/// An error answer to a statement is definite; anything else happened on a
/// connection that had sent it.
fn refused_or_after(err: sqlx::Error) -> Step {
    if err.as_database_error().is_some() {
        Step::Refused(err)
    } else {
        Step::After(err)
    }
}

fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// The error without values: the server's code for a database error (its
/// message can quote the row), the kind of I/O error otherwise.
fn describe(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Database(db) => {
            format!("error {}", db.code().as_deref().unwrap_or("without a code"))
        }
        sqlx::Error::Io(io) => format!("connection failed ({})", io.kind()),
        sqlx::Error::PoolTimedOut => "no connection in time".to_owned(),
        sqlx::Error::PoolClosed => "pool closed".to_owned(),
        sqlx::Error::Tls(_) => "TLS failed".to_owned(),
        sqlx::Error::Protocol(_) => "unexpected data from the server".to_owned(),
        other => format!("{other}"),
    }
}

fn unavailable(kind: FailureKind, detail: String) -> CallError {
    CallError::Unavailable(Failure::new(kind, detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_user_information() {
        assert_eq!(
            redacted_url("mysql://gamegate:s3cret@db.example:3306/acore_auth?ssl-mode=DISABLED"),
            "mysql://db.example:3306/acore_auth"
        );
        assert_eq!(redacted_url("mysql://h/auth"), "mysql://h/auth");
    }

    #[tokio::test]
    async fn lazy_pool_and_debug_without_password() {
        let settings = AuthDbSettings {
            url: "mysql://gg:hunter22@127.0.0.1:1/acore_auth".into(),
            pool_size: 2,
            acquire_timeout: Duration::from_millis(200),
            call_timeout: Duration::from_millis(300),
            expansion: 2,
        };
        assert!(!format!("{settings:?}").contains("hunter22"));
        let db = AuthDb::connect_lazy(&settings).unwrap();
        assert!(!format!("{db:?}").contains("hunter22"));
        let err = db.account_id("HERO").await.unwrap_err();
        assert!(matches!(err, CallError::Unavailable(_)), "{err}");
        assert!(!err.to_string().contains("hunter22"), "{err}");
        let bad = AuthDbSettings {
            url: "postgres://gg:hunter22@h/db".into(),
            ..settings
        };
        let err = AuthDb::connect_lazy(&bad).unwrap_err();
        assert!(!err.contains("hunter22"), "{err}");
    }
}

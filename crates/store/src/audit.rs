//! The account audit (`account_audit`): one row per deletion, password
//! change and Telegram move — who (`cli:<user>`, `api:key<N>`,
//! `reconciler`), what, which login, when, and how it ended. Never a
//! password, hash or key. Rows are written in the transaction of the change
//! they record; erasing an account clears the login from every
//! row about it.

use sea_query::{Expr, ExprTrait, Order, Query};
use sqlx::Row;

use crate::db::Database;
use crate::error::StoreError;
use crate::tables::AccountAudit;

/// What was done to the account (`account_audit.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// `delete`: the account was deleted (or its deletion refused).
    Delete,
    /// `password_change`.
    PasswordChange,
    /// `move_telegram`: the account moved to another Telegram id.
    MoveTelegram,
}

impl AuditAction {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::Delete => "delete",
            AuditAction::PasswordChange => "password_change",
            AuditAction::MoveTelegram => "move_telegram",
        }
    }
}

/// How it ended (`account_audit.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// `done`: both stores changed.
    Done,
    /// `refused`: the game server refused definitively; nothing changed.
    Refused,
    /// `not_supported`: the connector cannot do it; nothing changed.
    NotSupported,
    /// `answer_lost`: sent, the answer lost; the account stays marked
    /// (a deletion is finished by the reconciler, a password change by the
    /// next one).
    AnswerLost,
}

impl AuditOutcome {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Done => "done",
            AuditOutcome::Refused => "refused",
            AuditOutcome::NotSupported => "not_supported",
            AuditOutcome::AnswerLost => "answer_lost",
        }
    }
}

/// One audit row to write.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    /// Who: `cli:<user>`, `api:key<N>` (the N-th of `edge.api_keys`, from 1)
    /// or `reconciler`; 1–64 characters (longer is cut).
    pub actor: &'a str,
    /// What.
    pub action: AuditAction,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The login as stored (NFC); `None` for an erased account.
    pub login: Option<&'a str>,
    /// Its case-insensitive key; `None` for an erased account.
    pub login_norm: Option<&'a str>,
    /// A keyed hash of the erased account's Telegram id, when
    /// `accounts.erasure_keep = "telegram_hash"`.
    pub telegram_hash: Option<&'a str>,
}

/// One audit row as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Ascending with time.
    pub id: i64,
    /// When, Unix seconds.
    pub at: i64,
    /// Who (see [`AuditEntry::actor`]).
    pub actor: String,
    /// [`AuditAction::as_str`].
    pub action: String,
    /// [`AuditOutcome::as_str`].
    pub outcome: String,
    /// The login; `None` once the account was erased.
    pub login: Option<String>,
    /// See [`AuditEntry::telegram_hash`].
    pub telegram_hash: Option<String>,
}

/// The audit of one database, from [`Database::audit`]. Every operation
/// runs within the operation timeout and errs as [`crate::Accounts`]' do.
pub struct Audit<'a> {
    db: &'a Database,
}

impl Database {
    /// The account audit ([`Audit`]).
    pub fn audit(&self) -> Audit<'_> {
        Audit { db: self }
    }
}

impl Audit<'_> {
    /// Writes one row on its own (a refusal or a lost answer: nothing else
    /// changed). Errs as every store operation.
    pub async fn record(&self, entry: &AuditEntry<'_>) -> Result<(), StoreError> {
        self.db
            .bounded(async {
                let mut conn = self.db.pool().acquire().await?;
                insert(self.db, &mut conn, entry, crate::unix_now()).await
            })
            .await
    }

    /// The newest rows first, at most `limit`; only those of `login`
    /// (case-insensitively) when given. Errs as every store operation.
    pub async fn list(&self, login: Option<&str>, limit: u64) -> Result<Vec<AuditRow>, StoreError> {
        self.db
            .bounded(async {
                let mut query = Query::select();
                query
                    .columns([
                        AccountAudit::Id,
                        AccountAudit::At,
                        AccountAudit::Actor,
                        AccountAudit::Action,
                        AccountAudit::Outcome,
                        AccountAudit::Login,
                        AccountAudit::TelegramHash,
                    ])
                    .from(AccountAudit::Table)
                    .order_by(AccountAudit::Id, Order::Desc)
                    .limit(limit);
                if let Some(login) = login {
                    let key = gamegate_domain::normalise_login(login);
                    query.and_where(Expr::col(AccountAudit::LoginNorm).eq(key));
                }
                self.db
                    .fetch_all(&query, |r| {
                        Ok(AuditRow {
                            id: r.try_get(0)?,
                            at: r.try_get(1)?,
                            actor: r.try_get(2)?,
                            action: r.try_get(3)?,
                            outcome: r.try_get(4)?,
                            login: r.try_get(5)?,
                            telegram_hash: r.try_get(6)?,
                        })
                    })
                    .await
            })
            .await
    }
}

/// Inserts `entry` on `conn` (a transaction's connection, so the row
/// commits with the change it records).
pub(crate) async fn insert(
    db: &Database,
    conn: &mut sqlx::AnyConnection,
    entry: &AuditEntry<'_>,
    now: i64,
) -> Result<(), StoreError> {
    let actor: String = entry.actor.chars().take(64).collect();
    let actor = if actor.is_empty() {
        "unknown".into()
    } else {
        actor
    };
    let (sql, values) = db.build(
        Query::insert()
            .into_table(AccountAudit::Table)
            .columns([
                AccountAudit::At,
                AccountAudit::Actor,
                AccountAudit::Action,
                AccountAudit::Outcome,
                AccountAudit::Login,
                AccountAudit::LoginNorm,
                AccountAudit::TelegramHash,
            ])
            .values_panic([
                now.into(),
                actor.into(),
                entry.action.as_str().into(),
                entry.outcome.as_str().into(),
                entry.login.map(str::to_owned).into(),
                entry.login_norm.map(str::to_owned).into(),
                entry.telegram_hash.map(str::to_owned).into(),
            ]),
    );
    sqlx::query_with(sql, values).execute(&mut *conn).await?;
    Ok(())
}

/// Clears the login from every row about `login_norm` (the account is being
/// erased), on `conn`.
pub(crate) async fn forget(
    db: &Database,
    conn: &mut sqlx::AnyConnection,
    login_norm: &str,
) -> Result<(), StoreError> {
    let none: Option<String> = None;
    let (sql, values) = db.build(
        Query::update()
            .table(AccountAudit::Table)
            .values([
                (AccountAudit::Login, none.clone().into()),
                (AccountAudit::LoginNorm, none.into()),
            ])
            .and_where(Expr::col(AccountAudit::LoginNorm).eq(login_norm)),
    );
    sqlx::query_with(sql, values).execute(&mut *conn).await?;
    Ok(())
}

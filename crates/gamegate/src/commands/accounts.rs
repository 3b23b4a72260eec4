//! `gamegate accounts show|list|delete|move-telegram|audit`: an operator's
//! view of the accounts database and the changes a player cannot make
//! through the site. `delete` is the same saga as `DELETE
//! /api/accounts/{login}` (the game server's `delete` through the
//! configured connector, then the rows); every change writes an audit row
//! naming `cli:<user>` (`$USER`, else `$LOGNAME`). Never prints a password
//! hash.

use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use gamegate_store::{
    AccountDetails, AuditAction, AuditEntry, AuditOutcome, AuditRow, Database, MigrationSet,
    MoveError, unix_now,
};
use serde_json::{Value, json};

use crate::app::hashing::PasswordHasher;
use crate::app::lifecycle::{AccountLifecycle, Erasure, LifecycleError};
use crate::app::metrics::Metrics;
use crate::shared::timefmt::format_utc;

/// Bound on connecting to the database and on each statement of a command.
const OPERATOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `accounts audit` shows at most this many rows unless `--limit` says.
const AUDIT_DEFAULT_LIMIT: u64 = 100;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AccountsCommand {
    /// One account: its state, owner, slot and any change under way.
    Show {
        /// The login, in any case.
        login: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The accounts of one Telegram id, by slot.
    List {
        /// The owner's Telegram user id.
        #[arg(long = "telegram-id", value_name = "ID")]
        telegram_id: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Deletes the account from the game server, then from the database
    /// (its Telegram slot is free again); as DELETE /api/accounts/{login}.
    Delete {
        /// The login, in any case.
        login: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Moves the account to another Telegram id, within that id's account
    /// limit (registration.account_limit).
    MoveTelegram {
        /// The login, in any case.
        login: String,
        /// The new owner's Telegram user id.
        #[arg(long, value_name = "ID")]
        to: i64,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Who deleted, changed the password of or moved which account, when:
    /// newest first.
    Audit {
        /// Only the rows of this login (erased accounts have none).
        #[arg(long)]
        login: Option<String>,
        /// At most this many rows.
        #[arg(long, default_value_t = AUDIT_DEFAULT_LIMIT)]
        limit: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Who the audit names: `cli:<user>`.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    let user: String = user.chars().filter(|c| !c.is_control()).take(59).collect();
    match user.is_empty() {
        true => "cli:unknown".into(),
        false => format!("cli:{user}"),
    }
}

/// Runs one command against `database.url` (and, for `delete`, the game
/// server) and returns the text to print.
pub async fn run(config: &crate::Config, cmd: AccountsCommand) -> anyhow::Result<String> {
    if let AccountsCommand::MoveTelegram { to, .. }
    | AccountsCommand::List {
        telegram_id: to, ..
    } = &cmd
        && *to < 1
    {
        bail!("a Telegram id is a positive integer, got {to}");
    }
    let db =
        crate::shared::operator_db::open_existing(&config.database.url, OPERATOR_TIMEOUT).await?;
    let result = async {
        // The lifecycle columns and the audit may be new to this database.
        db.migrate(MigrationSet::Accounts)
            .await
            .with_context(|| format!("cannot migrate {}", db.display_url()))?;
        match cmd {
            AccountsCommand::Show { login, json } => {
                let account = db
                    .accounts()
                    .details(&login)
                    .await?
                    .with_context(|| format!("no account has the login {login:?}"))?;
                Ok(match json {
                    true => account_json(&account).to_string(),
                    false => account_text(&account),
                })
            }
            AccountsCommand::List { telegram_id, json } => {
                let accounts = db.accounts().for_telegram(telegram_id).await?;
                Ok(match json {
                    true => Value::Array(accounts.iter().map(account_json).collect()).to_string(),
                    false => accounts_table(telegram_id, &accounts, config.account_limit().get()),
                })
            }
            AccountsCommand::Delete { login, json } => delete(config, &db, &login, json).await,
            AccountsCommand::MoveTelegram { login, to, json } => {
                move_telegram(config, &db, &login, to, json).await
            }
            AccountsCommand::Audit { login, limit, json } => {
                let rows = db.audit().list(login.as_deref(), limit).await?;
                Ok(match json {
                    true => Value::Array(rows.iter().map(audit_json).collect()).to_string(),
                    false => audit_table(&rows),
                })
            }
        }
    }
    .await;
    db.close().await;
    result
}

async fn delete(
    config: &crate::Config,
    db: &Database,
    login: &str,
    json: bool,
) -> anyhow::Result<String> {
    let game = crate::app::connector::build(config, config.game_server.addr.clone())?;
    let lifecycle = AccountLifecycle {
        db: db.clone(),
        game,
        hasher: PasswordHasher::new(&config.password_hash)?,
        metrics: Arc::new(Metrics::new()),
        erasure: Erasure {
            keep: config.registration.erasure_keep,
            key: config.registration.erasure_key.clone(),
        },
        grace: config.reconciler_grace(),
        tasks: tokio_util::task::TaskTracker::new(),
    };
    match lifecycle.delete(login, &actor()).await {
        Ok(login) => Ok(match json {
            true => json!({"ok": true, "login": login, "deleted": true}).to_string(),
            false => format!(
                "deleted {login} from the game server and the database; its Telegram slot is free"
            ),
        }),
        Err(e) => Err(anyhow::anyhow!(match e {
            LifecycleError::NotFound => format!("no account has the login {login:?}"),
            LifecycleError::Busy => format!(
                "{login} is being registered or deleted (a lost game-server answer the reconciler \
                 settles within reconciler.grace_ms); try again later"
            ),
            LifecycleError::NotSupported(op) => format!(
                "the game server's connector (game_server.kind = \"{}\") cannot {op} accounts: \
                 delete it on the game server by hand; nothing was changed",
                config.game_server.kind.name()
            ),
            LifecycleError::GameServerUnavailable(ref call)
                if call.kind() == gamegate_gameserver::FailureKind::Timeout
                    || matches!(call, gamegate_gameserver::CallError::Ambiguous(_)) =>
                format!(
                    "the game server's answer was lost ({e}); {login} stays marked for deletion and \
                 the running service's reconciler finishes it"
                ),
            other => format!("{login} was not deleted: {other}"),
        })),
    }
}

async fn move_telegram(
    config: &crate::Config,
    db: &Database,
    login: &str,
    to: i64,
    json: bool,
) -> anyhow::Result<String> {
    let account = db
        .accounts()
        .details(login)
        .await?
        .with_context(|| format!("no account has the login {login:?}"))?;
    let actor = actor();
    let entry = AuditEntry {
        actor: &actor,
        action: AuditAction::MoveTelegram,
        outcome: AuditOutcome::Done,
        login: Some(&account.login),
        login_norm: Some(&account.login_norm),
        telegram_hash: None,
    };
    let limit = config.account_limit();
    match db
        .accounts()
        .move_telegram(login, to, limit, &entry, unix_now())
        .await
    {
        Ok(()) => Ok(match json {
            true => {
                json!({"ok": true, "login": account.login, "from": account.telegram_id, "to": to})
                    .to_string()
            }
            false => format!(
                "moved {} from Telegram id {} to {to}",
                account.login, account.telegram_id
            ),
        }),
        Err(MoveError::LimitExceeded(n)) => bail!(
            "Telegram id {to} already has {n} accounts (registration.account_limit = {n}): \
             delete or move one of them first (gamegate accounts list --telegram-id {to})"
        ),
        Err(MoveError::SameOwner) => bail!("{} already belongs to Telegram id {to}", account.login),
        Err(MoveError::NotFound) => bail!("no account has the login {login:?}"),
        Err(MoveError::Busy) => bail!(
            "{} is being registered or deleted; try again once that is settled",
            account.login
        ),
        Err(MoveError::Store(e)) => Err(e.into()),
    }
}

fn mark_text(account: &AccountDetails) -> Option<String> {
    account
        .mark
        .map(|m| format!("{} since {} UTC", m.operation.as_str(), format_utc(m.at)))
}

fn account_json(account: &AccountDetails) -> Value {
    json!({
        "login": account.login,
        "state": account.state,
        "operation": account.mark.map(|m| m.operation.as_str()),
        "operation_at": account.mark.map(|m| m.at),
        "telegram_id": account.telegram_id,
        "telegram_username": account.telegram_username,
        "slot": account.slot,
        "game_account_id": account.game_account_id,
        "created_at": account.created_at,
    })
}

fn account_text(account: &AccountDetails) -> String {
    let mut lines = vec![
        format!("login:            {}", account.login),
        format!("state:            {}", account.state),
        format!(
            "operation:        {}",
            mark_text(account).unwrap_or_else(|| "none".into())
        ),
        format!("telegram id:      {}", account.telegram_id),
        format!(
            "telegram user:    {}",
            account
                .telegram_username
                .as_deref()
                .map_or("unknown".into(), |u| format!("@{u}"))
        ),
        format!("slot:             {}", account.slot),
        format!(
            "game account id:  {}",
            account
                .game_account_id
                .map_or("unknown".into(), |id| id.to_string())
        ),
    ];
    lines.push(format!(
        "registered:       {} UTC",
        format_utc(account.created_at)
    ));
    lines.join("\n")
}

fn accounts_table(telegram_id: i64, accounts: &[AccountDetails], limit: u32) -> String {
    let mut out = format!(
        "Telegram id {telegram_id}: {} of {limit} accounts\n",
        accounts.len()
    );
    if accounts.is_empty() {
        return out.trim_end().to_owned();
    }
    out.push_str(&format!(
        "{:<4}  {:<16}  {:<7}  {}\n",
        "SLOT", "LOGIN", "STATE", "OPERATION"
    ));
    for a in accounts {
        out.push_str(&format!(
            "{:<4}  {:<16}  {:<7}  {}\n",
            a.slot,
            a.login,
            a.state,
            mark_text(a).unwrap_or_else(|| "-".into())
        ));
    }
    out.trim_end().to_owned()
}

fn audit_json(row: &AuditRow) -> Value {
    json!({
        "id": row.id,
        "at": row.at,
        "actor": row.actor,
        "action": row.action,
        "outcome": row.outcome,
        "login": row.login,
        "telegram_hash": row.telegram_hash,
    })
}

fn audit_table(rows: &[AuditRow]) -> String {
    if rows.is_empty() {
        return "no audit rows".into();
    }
    let mut out = format!(
        "{:<20}  {:<24}  {:<15}  {:<13}  {}\n",
        "WHEN (UTC)", "WHO", "WHAT", "OUTCOME", "LOGIN"
    );
    for r in rows {
        out.push_str(&format!(
            "{:<20}  {:<24}  {:<15}  {:<13}  {}\n",
            format_utc(r.at),
            r.actor,
            r.action,
            r.outcome,
            r.login.as_deref().unwrap_or("(erased)")
        ));
    }
    out.trim_end().to_owned()
}

//! Backups restore to the same accounts. Accounts are registered through the
//! real HTTP API; the backup is taken while the app runs and registrations
//! continue; a fresh app started on the restored database has the same
//! logins, Telegram ids and password hashes, and doctor's database check
//! passes on it. SQLite is copied by `gamegate backup`; MariaDB/PostgreSQL by
//! the dump recipe it prints, restored with the documented command
//! (docs/PRODUCTION_SETUP.md#backups).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use gamegate::commands::backup::{BackupArgs, Outcome as BackupOutcome};
use gamegate::commands::doctor::{self, CheckId, Outcome};
use reqwest::StatusCode;

use crate::doctor::run_recipe;
use crate::support::{Backend, TEST_API_KEY, fresh_database, player, spawn_app_with};

/// login → (password hash, telegram id, state), read with portable SQL.
async fn accounts(pool: &sqlx::AnyPool) -> BTreeMap<String, (String, i64, String)> {
    let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
        "SELECT p.login, p.password_hash, t.telegram_id, p.state FROM players p \
         JOIN telegram_players t ON t.login_norm = p.login_norm",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(login, hash, tg, state)| (login, (hash, tg, state)))
        .collect()
}

async fn pool(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap()
}

/// Registers `player(prefix + i, telegram_base + i)` for i in 0..n; returns
/// the logins answered 200.
async fn register_many(
    http: &reqwest::Client,
    base: &str,
    prefix: &str,
    telegram_base: i64,
    n: usize,
) -> Vec<String> {
    let mut ok = Vec::new();
    for i in 0..n {
        let login = format!("{prefix}{i:03}");
        let response = http
            .post(format!("{base}/api/register"))
            .header("x-api-key", TEST_API_KEY)
            .json(&player(&login, telegram_base + i as i64))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            ok.push(login);
        }
    }
    ok
}

/// The documented restore commands (docs/PRODUCTION_SETUP.md#backups).
fn restore(backend: Backend, dump: &Path, url: &str) {
    let u = url::Url::parse(url).unwrap();
    let (host, user, db) = (
        u.host_str().unwrap(),
        u.username(),
        u.path().trim_start_matches('/'),
    );
    let command = match backend {
        Backend::Mysql => format!(
            "gunzip -c {} | MYSQL_PWD='' mysql --host={host} --port={} --user={user} {db}",
            dump.display(),
            u.port().unwrap_or(3306)
        ),
        Backend::Postgres => format!(
            "PGPASSWORD='' pg_restore --no-owner --exit-on-error --host={host} --port={} \
             --username={user} --dbname={db} {}",
            u.port().unwrap_or(5432),
            dump.display()
        ),
        Backend::Sqlite => unreachable!("SQLite backups are database files"),
    };
    run_recipe(&command);
}

fn only_file(dir: &Path, prefix: &str) -> PathBuf {
    let found = gamegate::commands::backup::backups(dir, prefix).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    found.into_iter().next().unwrap()
}

async fn a_backup_taken_during_registrations_restores_the_same_accounts(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let base = format!("http://{}", app.addr);
    let before = register_many(&app.http, &base, "early", 1_000, 40).await;
    assert_eq!(before.len(), 40);

    // Registrations keep coming while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (http, base, stop) = (app.http.clone(), base.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) && i < 500 {
                register_many(&http, &base, &format!("l{i:03}x"), 5_000 + i, 1).await;
                i += 1;
            }
            i
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = app.config.clone();
    config.backup.dir = dir.path().join("backups").display().to_string();
    let outcomes = gamegate::commands::backup::run(
        &config,
        &BackupArgs {
            out: None,
            analytics_out: None,
        },
    )
    .await
    .unwrap();
    let backup_dir = PathBuf::from(&config.backup.dir);
    for (_, outcome) in &outcomes {
        if let BackupOutcome::Recipe(command) = outcome {
            run_recipe(command);
        }
    }
    stop.store(true, Ordering::SeqCst);
    let during = writer.await.unwrap();
    assert!(during > 0, "registrations ran during the backup");

    // Backups hold password hashes: private files on every backend (the
    // dump recipes run under umask 077), and no temporary file is left behind.
    for entry in std::fs::read_dir(&backup_dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with('.'), "left behind: {name}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                entry.metadata().unwrap().permissions().mode() & 0o777,
                0o600,
                "{name} on {backend:?}"
            );
        }
    }

    let original = accounts(app.db.pool()).await;
    let (restored_config, _data) = app.stop_keeping_data().await;
    let restored_url = match backend {
        Backend::Sqlite => format!(
            "sqlite://{}",
            only_file(&backup_dir, "gamegate-accounts-").display()
        ),
        _ => {
            let url = fresh_database(backend, &dir).await.unwrap();
            restore(backend, &only_file(&backup_dir, "gamegate-accounts-"), &url);
            url
        }
    };

    // A fresh app on the restored database.
    let restored = spawn_app_with(backend, |c| {
        c.database.url = restored_url.clone();
        c.analytics.url = restored_config.analytics.url.clone();
    })
    .await
    .unwrap();
    let copy = accounts(restored.db.pool()).await;
    // Everything registered before the backup started is there, exactly.
    for login in &before {
        assert_eq!(copy.get(login), original.get(login), "{login}");
    }
    // What arrived during the backup is there or not, but never different:
    // a consistent snapshot, not a mix. A registration caught between its
    // reservation and the game server's answer is `pending` in the copy (the
    // reconciler settles it after a restore), `synced` in the original.
    for (login, (hash, telegram_id, state)) in &copy {
        let (o_hash, o_telegram_id, o_state) = original
            .get(login)
            .unwrap_or_else(|| panic!("{login} is not in the original"));
        assert_eq!((hash, telegram_id), (o_hash, o_telegram_id), "{login}");
        assert!(
            state == o_state || state == "pending",
            "{login}: {state} vs {o_state}"
        );
    }
    assert!(copy.len() >= before.len() && copy.len() <= original.len());
    // The restored app knows them: the same login is taken, the hash verifies
    // nothing new was generated (it is the stored one, compared above).
    let (status, body) = restored.register(player("early000", 5)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // doctor's database check passes on the restored database.
    let mut check_config = restored.config.clone();
    check_config.database.url = restored_url;
    let report = doctor::run(&check_config, &[]).await;
    assert_eq!(
        report.get(CheckId::AccountsDatabase).outcome,
        Outcome::Pass,
        "{}",
        report.to_text()
    );
    restored.stop().await;
}

crate::on_every_backend!(a_backup_taken_during_registrations_restores_the_same_accounts);

#[tokio::test]
async fn out_files_retention_and_server_backends_explained() {
    let app = spawn_app_with(Backend::Sqlite, |_| {}).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = app.config.clone();

    // --out: exactly the file named, accounts only.
    let out = dir.path().join("before-upgrade.db");
    let outcomes = gamegate::commands::backup::run(
        &config,
        &BackupArgs {
            out: Some(out.clone()),
            analytics_out: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(outcomes.len(), 1);
    assert!(out.is_file());
    let restored = pool(&format!("sqlite://{}?mode=ro", out.display())).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM constants")
        .fetch_one(&restored)
        .await
        .unwrap();
    assert_eq!(n, 5, "the copy is a whole database");
    // An existing temporary name or target never yields a half file: a
    // second copy to the same name replaces it whole.
    gamegate::commands::backup::run(
        &config,
        &BackupArgs {
            out: Some(out.clone()),
            analytics_out: None,
        },
    )
    .await
    .unwrap();

    // backup.keep: only the newest N per database stay.
    config.backup.dir = dir.path().join("b").display().to_string();
    config.backup.keep = 2;
    for _ in 0..4 {
        gamegate::commands::backup::run(
            &config,
            &BackupArgs {
                out: None,
                analytics_out: None,
            },
        )
        .await
        .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let b = Path::new(&config.backup.dir);
    assert_eq!(
        gamegate::commands::backup::backups(b, "gamegate-accounts-")
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        gamegate::commands::backup::backups(b, "gamegate-analytics-")
            .unwrap()
            .len(),
        2
    );

    // A server database is not pretended to be backed up: the recipe, masked.
    config.database.url = "mysql://game:hunter2secret@db.internal:3306/game".into();
    let outcomes = gamegate::commands::backup::run(
        &config,
        &BackupArgs {
            out: None,
            analytics_out: None,
        },
    )
    .await
    .unwrap();
    let (text, all_copied) = gamegate::commands::backup::describe(&outcomes, &config);
    assert!(!all_copied);
    assert!(text.contains("NOT backed up"), "{text}");
    assert!(text.contains("mysqldump --single-transaction"), "{text}");
    assert!(!text.contains("hunter2secret"), "{text}");
    app.stop().await;
}

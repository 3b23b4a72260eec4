//! After registration: deleting an account and changing its password over
//! the real API, with the registration's guarantees — a 200 means both
//! stores agree, a definite refusal changes nothing, a lost answer is
//! settled by the reconciler — and an audit row for each.

use std::time::Duration;

use gamegate::app::hashing::PasswordHasher;
use gamegate_gameserver::Behaviour;
use gamegate_store::Operation;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::register::assert_stores_agree;
use crate::support::{
    Backend, TEST_API_KEY, TestApp, assert_error, player, spawn_app, spawn_app_with,
};

crate::on_every_backend!(
    a_deleted_account_leaves_both_stores_and_frees_its_telegram_slot,
    a_game_server_refusing_a_deletion_changes_nothing,
    a_lost_deletion_answer_is_finished_by_the_reconciler,
    a_password_change_reaches_the_game_server_and_the_database,
    a_wrong_old_password_is_403_and_changes_nothing,
    a_lost_password_answer_keeps_the_mark_until_the_next_change,
    parallel_changes_checked_against_one_hash_change_it_once,
    a_deletion_erases_the_idempotency_keys_of_its_registration,
);

const SETTLE: Duration = Duration::from_secs(10);
const ERASURE_KEY: &str = "erasure-key-for-tests-0123";

impl TestApp {
    pub async fn delete_account(&self, login: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .delete(self.url(&format!("/api/accounts/{login}")))
            .header("x-api-key", TEST_API_KEY)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }

    pub async fn change_password(&self, login: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(&format!("/api/accounts/{login}/password")))
            .header("x-api-key", TEST_API_KEY)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status();
        (status, response.json().await.expect("JSON body"))
    }
}

fn change(old: &str, new: &str) -> Value {
    json!({"old_password": old, "new_password": new})
}

/// The audit rows as `(actor, action, outcome, login)`, newest first.
async fn audit(
    app: &TestApp,
    login: Option<&str>,
) -> Vec<(String, String, String, Option<String>)> {
    app.db
        .audit()
        .list(login, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.actor, r.action, r.outcome, r.login))
        .collect()
}

async fn a_deleted_account_leaves_both_stores_and_frees_its_telegram_slot(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.registration.erasure_keep = gamegate::config::ErasureKeep::TelegramHash;
        c.registration.erasure_key = ERASURE_KEY.to_owned().into();
    })
    .await
    else {
        return;
    };
    let telegram_id = 4_200_000_001;
    for i in 1..=5 {
        assert_eq!(
            app.register(player(&format!("Slot_{i}"), telegram_id))
                .await
                .0,
            200
        );
    }
    let (status, body) = app.register(player("Slot_6", telegram_id)).await;
    assert_error(status, &body, 403, "limit_exceeded");

    // Looked up case-insensitively; the answer names the stored login.
    let (status, body) = app.delete_account("SLOT_3").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["ok"], true);
    assert_eq!(body["login"], "Slot_3");
    assert!(!app.mock.contains("Slot_3"));
    assert!(app.db.accounts().find("Slot_3").await.unwrap().is_none());
    assert_eq!(
        app.db
            .accounts()
            .count_for_telegram(telegram_id)
            .await
            .unwrap(),
        4
    );
    assert_stores_agree(&app).await;

    // The slot is free: the Telegram id registers a fifth account again.
    assert_eq!(app.register(player("Slot_6", telegram_id)).await.0, 200);
    let (status, body) = app.register(player("Slot_7", telegram_id)).await;
    assert_error(status, &body, 403, "limit_exceeded");

    // Gone is gone: a second deletion is 404, as is a login never seen.
    let (status, body) = app.delete_account("Slot_3").await;
    assert_error(status, &body, 404, "account_not_found");
    let (status, body) = app.delete_account("Nobody_here").await;
    assert_error(status, &body, 404, "account_not_found");

    // The audit says who deleted an account, but not which: erased, it
    // keeps only the keyed hash of the Telegram id.
    let rows = app.db.audit().list(None, 10).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(
        (
            row.actor.as_str(),
            row.action.as_str(),
            row.outcome.as_str()
        ),
        ("api:key1", "delete", "done")
    );
    assert_eq!(row.login, None);
    let hash = row
        .telegram_hash
        .as_deref()
        .expect("erasure_keep = telegram_hash");
    assert_eq!(hash.len(), 64);
    assert!(!hash.contains(&telegram_id.to_string()));
    assert!(
        audit(&app, Some("Slot_3")).await.is_empty(),
        "no row names the login"
    );
    app.stop().await;
}

async fn a_game_server_refusing_a_deletion_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Keeper", 4_200_000_002)).await.0, 200);
    app.mock.set_behaviour(Behaviour::InternalError).await;
    let (status, body) = app.delete_account("keeper").await;
    assert_error(status, &body, 503, "game_server_unavailable");
    app.mock.set_behaviour(Behaviour::Normal).await;
    assert!(app.mock.contains("Keeper"));
    let account = app.db.accounts().details("Keeper").await.unwrap().unwrap();
    assert_eq!(account.mark, None, "the mark was taken back");
    assert_eq!(account.state, "synced");
    assert_stores_agree(&app).await;
    assert_eq!(
        audit(&app, Some("Keeper")).await,
        [(
            "api:key1".into(),
            "delete".into(),
            "refused".into(),
            Some("Keeper".into())
        )]
    );
    // And nothing stands in the way of a later deletion.
    assert_eq!(app.delete_account("Keeper").await.0, 200);
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn a_lost_deletion_answer_is_finished_by_the_reconciler(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(
        app.register(player("Late_gone", 4_200_000_003)).await.0,
        200
    );
    assert_eq!(
        app.register(player("Never_read", 4_200_000_003)).await.0,
        200
    );

    // The game server deletes, but answers after the call timeout (400 ms):
    // the reconciler finds it gone and erases the rows.
    app.mock
        .set_behaviour(Behaviour::Delay(Duration::from_millis(700)))
        .await;
    let (status, body) = app.delete_account("Late_gone").await;
    assert_error(status, &body, 503, "game_server_unavailable");
    let marked = app
        .db
        .accounts()
        .details("Late_gone")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(marked.mark.map(|m| m.operation), Some(Operation::Deleting));
    // Marked, it cannot be changed meanwhile.
    let (status, body) = app
        .change_password("Late_gone", change("secret12", "n3w-secret"))
        .await;
    assert_error(status, &body, 409, "account_busy");

    // The game server reads the line and drops the connection: the account
    // is still there, and the reconciler sends the deletion again.
    app.mock.set_behaviour(Behaviour::DropAfterRead).await;
    let (status, body) = app.delete_account("Never_read").await;
    assert_error(status, &body, 503, "game_server_unavailable");
    assert!(app.mock.contains("Never_read"));
    app.mock.set_behaviour(Behaviour::Normal).await;

    app.eventually("the reconciler finishes both deletions", SETTLE, || async {
        app.db
            .accounts()
            .count_for_telegram(4_200_000_003)
            .await
            .unwrap()
            == 0
    })
    .await;
    assert!(!app.mock.contains("Late_gone") && !app.mock.contains("Never_read"));
    assert_stores_agree(&app).await;
    let rows = audit(&app, None).await;
    let finished: Vec<_> = rows
        .iter()
        .filter(|r| r.0 == "reconciler")
        .map(|r| (r.1.as_str(), r.2.as_str(), r.3.clone()))
        .collect();
    assert_eq!(
        finished,
        [("delete", "done", None), ("delete", "done", None)],
        "{rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.3.is_none()),
        "erased logins leave the audit: {rows:?}"
    );
    app.stop().await;
}

async fn a_password_change_reaches_the_game_server_and_the_database(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Changer", 4_200_000_004)).await.0, 200);
    assert_eq!(app.mock.password_matches("Changer", "secret12"), Some(true));

    let (status, body) = app
        .change_password("CHANGER", change("secret12", "n3w-secret"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["login"], "Changer");
    assert_eq!(
        app.mock.password_matches("Changer", "n3w-secret"),
        Some(true)
    );
    assert_eq!(
        app.mock.password_matches("Changer", "secret12"),
        Some(false)
    );
    let account = app.db.accounts().details("Changer").await.unwrap().unwrap();
    assert!(PasswordHasher::verify("n3w-secret", &account.password_hash));
    assert!(!PasswordHasher::verify("secret12", &account.password_hash));
    assert_eq!(account.mark, None);

    // The old password no longer changes anything; the new one does.
    let (status, body) = app
        .change_password("Changer", change("secret12", "other-pass"))
        .await;
    assert_error(status, &body, 403, "wrong_password");
    let (status, _) = app
        .change_password("Changer", change("n3w-secret", "third-pass"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.mock.password_matches("Changer", "third-pass"),
        Some(true)
    );
    assert_eq!(
        audit(&app, Some("changer")).await,
        [
            (
                "api:key1".into(),
                "password_change".into(),
                "done".into(),
                Some("Changer".into())
            ),
            (
                "api:key1".into(),
                "password_change".into(),
                "refused".into(),
                Some("Changer".into())
            ),
            (
                "api:key1".into(),
                "password_change".into(),
                "done".into(),
                Some("Changer".into())
            ),
        ]
    );
    assert_stores_agree(&app).await;
    app.stop().await;
}

async fn a_wrong_old_password_is_403_and_changes_nothing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Guarded", 4_200_000_005)).await.0, 200);
    let before = app.db.accounts().details("Guarded").await.unwrap().unwrap();

    let (status, body) = app
        .change_password("Guarded", change("not-it-at-all", "n3w-secret"))
        .await;
    assert_error(status, &body, 403, "wrong_password");
    // The new password breaks the registration's rules: 422, before any check.
    let (status, body) = app
        .change_password("Guarded", change("secret12", "short"))
        .await;
    assert_error(status, &body, 422, "validation_error");
    assert_eq!(body["errors"][0]["field"], "new_password");
    assert_eq!(body["errors"][0]["code"], "too_short");
    let (status, body) = app
        .change_password("Nobody_here", change("secret12", "n3w-secret"))
        .await;
    assert_error(status, &body, 404, "account_not_found");

    assert_eq!(app.mock.password_matches("Guarded", "secret12"), Some(true));
    assert_eq!(app.mock.password_changes("Guarded"), Some(0));
    let after = app.db.accounts().details("Guarded").await.unwrap().unwrap();
    assert_eq!(after.password_hash, before.password_hash);
    assert_eq!(after.mark, None);
    assert_eq!(
        audit(&app, Some("Guarded")).await,
        [(
            "api:key1".into(),
            "password_change".into(),
            "refused".into(),
            Some("Guarded".into())
        )]
    );
    app.stop().await;
}

async fn a_lost_password_answer_keeps_the_mark_until_the_next_change(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Unsure", 4_200_000_006)).await.0, 200);
    app.mock.set_behaviour(Behaviour::DropAfterRead).await;
    let (status, body) = app
        .change_password("Unsure", change("secret12", "n3w-secret"))
        .await;
    assert_error(status, &body, 503, "game_server_unavailable");
    app.mock.set_behaviour(Behaviour::Normal).await;
    let marked = app.db.accounts().details("Unsure").await.unwrap().unwrap();
    assert_eq!(marked.mark.map(|m| m.operation), Some(Operation::Password));
    // Within the grace the mark is the lost call's: another change waits.
    let (status, body) = app
        .change_password("Unsure", change("secret12", "n3w-secret"))
        .await;
    assert_error(status, &body, 409, "account_busy");
    // Past the grace (1 s in tests) the player's retry settles both stores.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let (status, body) = app
        .change_password("Unsure", change("secret12", "n3w-secret"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        app.mock.password_matches("Unsure", "n3w-secret"),
        Some(true)
    );
    let account = app.db.accounts().details("Unsure").await.unwrap().unwrap();
    assert!(PasswordHasher::verify("n3w-secret", &account.password_hash));
    assert_eq!(account.mark, None);
    let outcomes: Vec<_> = audit(&app, Some("Unsure"))
        .await
        .into_iter()
        .map(|r| r.2)
        .collect();
    assert_eq!(outcomes, ["done", "answer_lost"]);
    app.stop().await;
}

/// `gamegate accounts …` as an operator runs it: the real binary on the
/// server's configuration, against the running app's database and mock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_show_list_move_delete_and_audit() {
    use crate::support::binary;
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    for (login, telegram_id) in [("Mover", 4_300_000_001), ("Gone_soon", 4_300_000_001)] {
        assert_eq!(app.register(player(login, telegram_id)).await.0, 200);
    }
    for i in 1..=5 {
        assert_eq!(
            app.register(player(&format!("Full_{i}"), 4_300_000_002))
                .await
                .0,
            200
        );
    }
    let mut config = app.config.clone();
    config.game_server.addr = app.mock.local_addr().to_string();
    let path = app.dir.path().join("operator.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    let run = |args: &[&str]| {
        binary::with_config(&path, args)
            .env("USER", "tester")
            .env("GAMEGATE_LOG__LEVEL", "warn")
            .output()
            .unwrap()
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    // Over the target's limit: refused, with the limit and what to do.
    let out = run(&["accounts", "move-telegram", "mover", "--to", "4300000002"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("already has 5 accounts")
            && stderr.contains("accounts list --telegram-id 4300000002"),
        "{stderr}"
    );
    assert_eq!(
        app.db
            .accounts()
            .details("Mover")
            .await
            .unwrap()
            .unwrap()
            .telegram_id,
        4_300_000_001
    );

    let out = binary::ok_stdout(
        binary::with_config(
            &path,
            &[
                "accounts",
                "move-telegram",
                "MOVER",
                "--to",
                "4300000003",
                "--json",
            ],
        )
        .env("USER", "tester"),
    );
    let moved: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        moved,
        json!({"ok": true, "login": "Mover", "from": 4_300_000_001i64, "to": 4_300_000_003i64})
    );
    assert_eq!(
        app.db
            .accounts()
            .count_for_telegram(4_300_000_001)
            .await
            .unwrap(),
        1
    );

    let shown: Value = serde_json::from_str(&binary::ok_stdout(&mut binary::with_config(
        &path,
        &["accounts", "show", "mover", "--json"],
    )))
    .unwrap();
    assert_eq!(
        (
            shown["login"].as_str(),
            shown["telegram_id"].as_i64(),
            shown["state"].as_str()
        ),
        (Some("Mover"), Some(4_300_000_003), Some("synced"))
    );
    let listed = binary::ok_stdout(&mut binary::with_config(
        &path,
        &["accounts", "list", "--telegram-id", "4300000003"],
    ));
    assert!(
        listed.contains("1 of 5 accounts") && listed.contains("Mover"),
        "{listed}"
    );

    let out = binary::ok_stdout(
        binary::with_config(&path, &["accounts", "delete", "gone_soon"]).env("USER", "tester"),
    );
    assert!(out.contains("deleted Gone_soon"), "{out}");
    assert!(!app.mock.contains("Gone_soon"));
    assert!(
        app.db
            .accounts()
            .details("Gone_soon")
            .await
            .unwrap()
            .is_none()
    );
    let out = run(&["accounts", "delete", "gone_soon"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no account has the login"),
        "{out:?}"
    );

    let audit_json = binary::ok_stdout(&mut binary::with_config(
        &path,
        &["accounts", "audit", "--json"],
    ));
    let rows: Vec<Value> = serde_json::from_str(&audit_json).unwrap();
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["login"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("cli:tester", "delete", "done", None),
            ("cli:tester", "move_telegram", "done", Some("Mover"))
        ]
    );
    let table = binary::ok_stdout(&mut binary::with_config(
        &path,
        &["accounts", "audit", "--login", "Mover"],
    ));
    assert!(
        table.contains("cli:tester")
            && table.contains("move_telegram")
            && !table.contains("delete"),
        "{table}"
    );
    for shown in [&audit_json, &table, &listed] {
        assert!(
            !shown.contains("$argon2") && !shown.contains("secret12"),
            "{shown}"
        );
    }
    app.stop().await;
}

/// The service's whole log (debug) while accounts are changed, deleted and
/// refused: no password and no hash in any line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_or_hash_reaches_the_log() {
    use crate::support::binary;
    let dir = tempfile::tempdir().unwrap();
    let mut process = binary::Process::spawn_capturing_stderr(
        binary::command()
            .envs(binary::local_env(dir.path()))
            .env("GAMEGATE_EDGE__API_KEYS", TEST_API_KEY)
            .env("GAMEGATE_LOG__LEVEL", "debug")
            .env("GAMEGATE_LOG__ACCESS_LOG", "stdout")
            .arg("all"),
    );
    let banner = process.banner(binary::BANNER_WITHIN).await;
    let base = banner.url("public");
    let http = reqwest::Client::new();
    let send = |req: reqwest::RequestBuilder| async move {
        req.header("x-api-key", TEST_API_KEY)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    let register = |login: &str| json!({"login": login, "password": "Reg1stered-pw", "gender": 1, "telegram_id": 4_400_000_001i64});
    assert_eq!(
        send(
            http.post(format!("{base}/api/register"))
                .json(&register("Logged_one"))
        )
        .await,
        200
    );
    assert_eq!(
        send(
            http.post(format!("{base}/api/register"))
                .json(&register("Logged_two"))
        )
        .await,
        200
    );
    let password = |old: &str, new: &str| json!({"old_password": old, "new_password": new});
    let url = format!("{base}/api/accounts/Logged_one/password");
    assert_eq!(
        send(
            http.post(&url)
                .json(&password("Wr0ng-guess-pw", "N3w-chosen-pw"))
        )
        .await,
        403
    );
    assert_eq!(
        send(
            http.post(&url)
                .json(&password("Reg1stered-pw", "N3w-chosen-pw"))
        )
        .await,
        200
    );
    assert_eq!(
        send(http.delete(format!("{base}/api/accounts/Logged_two"))).await,
        200
    );
    process.terminate(Duration::from_secs(10)).await;
    let mut log = process.stdout();
    log.extend(process.stderr());
    let log = log.join("\n");
    assert!(
        log.contains("account deleted") && log.contains("password changed"),
        "{log}"
    );
    for secret in [
        "Reg1stered-pw",
        "Wr0ng-guess-pw",
        "N3w-chosen-pw",
        "$argon2",
        TEST_API_KEY,
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

/// A wrong current password is a failure of the player's address in the ban
/// jail, as a wrong key is of the site's: guessing passwords gets banned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_get_the_player_banned() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.ban_threshold = 3;
    })
    .await
    .unwrap();
    assert_eq!(app.register(player("Target", 4_500_000_001)).await.0, 200);
    let guess = |n: u32| {
        app.http
            .post(app.url("/api/accounts/Target/password"))
            .header("x-api-key", TEST_API_KEY)
            .header("x-player-ip", "203.0.113.77")
            .json(&change(&format!("guess-{n}"), "n3w-secret"))
            .send()
    };
    for n in 0..3 {
        assert_eq!(guess(n).await.unwrap().status(), 403);
    }
    let answer = guess(3).await.unwrap();
    let retry_after = answer.headers().get("retry-after").cloned();
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["detail"], "banned", "{body}");
    assert!(retry_after.is_some());
    // Another player of the same site is not affected.
    let (status, _) = app
        .change_password("Target", change("secret12", "n3w-secret"))
        .await;
    assert_eq!(status, 200);
    app.stop().await;
}

/// A connector that can register but neither delete nor change passwords.
struct RegisterOnly {
    capabilities: gamegate_gameserver::Capabilities,
    inner: std::sync::Arc<dyn gamegate_gameserver::GameServer>,
}

#[async_trait::async_trait]
impl gamegate_gameserver::GameServer for RegisterOnly {
    fn capabilities(&self) -> &gamegate_gameserver::Capabilities {
        &self.capabilities
    }
    async fn register(
        &self,
        l: &str,
        p: &str,
        g: u8,
    ) -> Result<u64, gamegate_gameserver::RegisterError> {
        self.inner.register(l, p, g).await
    }
    async fn exists(&self, login: &str) -> Result<bool, gamegate_gameserver::CallError> {
        self.inner.exists(login).await
    }
    async fn delete(&self, _: &str) -> Result<(), gamegate_gameserver::CallError> {
        Err(gamegate_gameserver::client::unsupported("delete"))
    }
    async fn ping(&self) -> Result<(), gamegate_gameserver::CallError> {
        self.inner.ping().await
    }
    async fn online(&self) -> Result<u64, gamegate_gameserver::CallError> {
        self.inner.online().await
    }
}

/// Through a connector without `delete` / `set_password`: `not_supported`,
/// before anything is marked or sent; both stores unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_without_delete_or_set_password_refuses_clearly() {
    use gamegate::app::lifecycle::{AccountLifecycle, Erasure, LifecycleError};
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    assert_eq!(app.register(player("Stays", 4_600_000_001)).await.0, 200);
    let inner =
        gamegate::app::connector::build(&app.config, app.mock.local_addr().to_string()).unwrap();
    let game = std::sync::Arc::new(RegisterOnly {
        capabilities: gamegate_gameserver::Capabilities {
            connector: "test-register-only",
            operations: gamegate_gameserver::Operations {
                delete: false,
                set_password: false,
                ..gamegate_gameserver::Operations::ALL
            },
            rules: Default::default(),
        },
        inner,
    });
    let lifecycle = AccountLifecycle {
        db: app.db.clone(),
        game,
        hasher: PasswordHasher::new(&app.config.password_hash).unwrap(),
        metrics: std::sync::Arc::new(gamegate::app::metrics::Metrics::new()),
        erasure: Erasure {
            keep: gamegate::config::ErasureKeep::Nothing,
            key: String::new().into(),
        },
        grace: Duration::from_secs(1),
        tasks: tokio_util::task::TaskTracker::new(),
    };
    let err = lifecycle.delete("Stays", "cli:tester").await.unwrap_err();
    assert!(
        matches!(err, LifecycleError::NotSupported("delete")),
        "{err}"
    );
    assert_eq!(err.code().as_str(), "not_supported");
    assert_eq!(err.code().http_status(), 501);
    let change = gamegate_domain::validate_password_change(
        &gamegate_domain::ObjectText::from_map(
            change("secret12", "n3w-secret").as_object().unwrap(),
        ),
        &Default::default(),
        gamegate_domain::Lang::En,
    )
    .unwrap();
    let err = lifecycle
        .change_password("Stays", change, "cli:tester")
        .await
        .unwrap_err();
    assert!(
        matches!(err, LifecycleError::NotSupported("set_password")),
        "{err}"
    );
    assert!(app.mock.contains("Stays"));
    let account = app.db.accounts().details("Stays").await.unwrap().unwrap();
    assert_eq!(account.mark, None);
    assert_eq!(app.mock.password_matches("Stays", "secret12"), Some(true));
    app.stop().await;
}

/// 20 changes sent at once with the same old password: each checks it
/// against the hash it read, but only one may hold the account with that
/// hash — the others see it replaced (409, then 403 on a retry), so the
/// password that wins is the one both stores have.
async fn parallel_changes_checked_against_one_hash_change_it_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    assert_eq!(app.register(player("Racer", 4_200_000_020)).await.0, 200);
    let answers = futures_util::future::join_all((0..20).map(|i| {
        let app = &app;
        async move {
            let new = format!("new-pass-{i:02}");
            let (status, body) = app.change_password("Racer", change("secret12", &new)).await;
            (status, body, new)
        }
    }))
    .await;
    let won: Vec<&String> = answers
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .map(|(_, _, new)| new)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    for (status, body, _) in &answers {
        if *status != 200 {
            let code = body["detail"].as_str().unwrap_or_default();
            assert!(
                matches!(code, "account_busy" | "wrong_password"),
                "{status} {body}"
            );
        }
    }
    let winner = won[0];
    assert_eq!(app.mock.password_matches("Racer", winner), Some(true));
    assert_eq!(app.mock.password_matches("Racer", "secret12"), Some(false));
    let account = app.db.accounts().details("Racer").await.unwrap().unwrap();
    assert!(PasswordHasher::verify(winner, &account.password_hash));
    assert_eq!(account.mark, None);
    // The old password is refused from now on.
    let (status, body) = app
        .change_password("Racer", change("secret12", "late-pass"))
        .await;
    assert_error(status, &body, 403, "wrong_password");
}

/// An erasure also removes the `Idempotency-Key` row of the registration
/// (it holds the login, the Telegram id and the answer); a replay of the key
/// then runs as a new registration.
async fn a_deletion_erases_the_idempotency_keys_of_its_registration(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let body = player("EraseMe", 4_200_000_021);
    let register = || {
        app.http
            .post(app.url("/api/register"))
            .header("x-api-key", TEST_API_KEY)
            .header("idempotency-key", "\"erase-me-1\"")
            .json(&body)
            .send()
    };
    assert_eq!(register().await.unwrap().status(), 200);
    assert_eq!(app.db.idempotency().count().await.unwrap(), 1);
    let (status, answer) = app.delete_account("eraseme").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(app.db.idempotency().count().await.unwrap(), 0);
    // Not a replay of the erased account's 200: registered again, as new.
    assert_eq!(register().await.unwrap().status(), 200);
    assert!(
        app.db
            .accounts()
            .details("EraseMe")
            .await
            .unwrap()
            .is_some()
    );
}

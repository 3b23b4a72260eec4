//! The registration saga as a state machine, checked by proptest: random
//! sequences of registrations (logins that collide case-insensitively, two
//! Telegram ids so the 5-account limit is reached) against a game server that
//! behaves normally, refuses, fails, drops the connection after reading the
//! command, or answers too late. After every step the answer must be the one
//! a simple model predicts and, once the reconciler has settled, the database
//! and the game server must hold exactly the model's accounts.
//!
//! One real app (SQLite, embedded mock) per generated sequence; the per-backend
//! behaviour of each transition is covered by saga.rs on all three backends.

use std::collections::BTreeMap;
use std::time::Duration;

use gamegate_gameserver::Behaviour;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::register::assert_stores_agree;
use crate::support::{Backend, TestApp, player, spawn_app};

const LOGINS: [&str; 5] = ["Hero_a", "hero_A", "Hero_b", "Hero_c", "Hero_d"];
const TELEGRAM_IDS: [i64; 2] = [7001, 7002];
/// Longer than the test config's call timeout (400 ms), shorter than the
/// reconciler's grace (1 s): the client gives up, the game server still creates.
const LATE: Duration = Duration::from_millis(700);
const SETTLE: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Copy)]
enum GameServerMood {
    Normal,
    Refusing,
    Failing,
    DroppingAfterRead,
    Late,
}

impl GameServerMood {
    fn behaviour(self) -> Behaviour {
        match self {
            GameServerMood::Normal => Behaviour::Normal,
            GameServerMood::Refusing => Behaviour::Refuse,
            GameServerMood::Failing => Behaviour::InternalError,
            GameServerMood::DroppingAfterRead => Behaviour::DropAfterRead,
            GameServerMood::Late => Behaviour::Delay(LATE),
        }
    }
}

fn mood() -> impl Strategy<Value = GameServerMood> {
    prop_oneof![
        3 => Just(GameServerMood::Normal),
        1 => Just(GameServerMood::Refusing),
        1 => Just(GameServerMood::Failing),
        1 => Just(GameServerMood::DroppingAfterRead),
        1 => Just(GameServerMood::Late),
    ]
}

fn step() -> impl Strategy<Value = (GameServerMood, usize, usize)> {
    (mood(), 0..LOGINS.len(), 0..TELEGRAM_IDS.len())
}

/// What the model says one registration answers: `None` for 200, else
/// (status, detail code).
fn predicted(
    accounts: &BTreeMap<String, i64>,
    mood: GameServerMood,
    login: &str,
    telegram_id: i64,
) -> Option<(u16, &'static str)> {
    let of_this_id = accounts.values().filter(|t| **t == telegram_id).count();
    if of_this_id >= 5 {
        return Some((409, "limit_exceeded"));
    }
    if accounts.contains_key(&login.to_lowercase()) {
        return Some((409, "login_taken"));
    }
    match mood {
        GameServerMood::Normal => None,
        _ => Some((503, "game_server_unavailable")),
    }
}

async fn run_sequence(app: &TestApp, steps: &[(GameServerMood, usize, usize)]) {
    // login (lower-cased) → telegram id: the accounts that exist for certain.
    let mut accounts: BTreeMap<String, i64> = BTreeMap::new();
    for (n, &(mood, login, telegram)) in steps.iter().enumerate() {
        let (login, telegram_id) = (LOGINS[login], TELEGRAM_IDS[telegram]);
        let expected = predicted(&accounts, mood, login, telegram_id);
        app.mock.set_behaviour(mood.behaviour()).await;
        let (status, body) = app.register(player(login, telegram_id)).await;
        let answered = match status.as_u16() {
            200 => None,
            s => Some((s, body["detail"].as_str().unwrap_or("?").to_owned())),
        };
        assert_eq!(
            answered,
            expected.map(|(s, d)| (s, d.to_owned())),
            "step {n}: {mood:?} {login} {telegram_id}: {body}"
        );
        // The reservation stands when a game server may have acted on it
        // (late answer) and is gone otherwise; the reconciler decides which.
        let created = matches!(
            (expected, mood),
            (None, _) | (Some((503, _)), GameServerMood::Late)
        );
        if created {
            accounts.insert(login.to_lowercase(), telegram_id);
        }
        app.mock.set_behaviour(Behaviour::Normal).await;
        app.eventually(
            "the reconciler settles every reservation",
            SETTLE,
            || async { app.db.accounts().count_by_state().await.unwrap().1 == 0 },
        )
        .await;
        assert_stores_agree(app).await;
        let in_db = app.db_logins().await;
        assert_eq!(
            in_db,
            accounts.keys().cloned().collect(),
            "step {n}: the stores hold exactly the model's accounts"
        );
        for id in TELEGRAM_IDS {
            let expected = accounts.values().filter(|t| **t == id).count() as i64;
            assert_eq!(
                app.db.accounts().count_for_telegram(id).await.unwrap(),
                expected,
                "step {n}: accounts of telegram id {id}"
            );
        }
    }
}

#[test]
fn random_registration_sequences_under_game_server_faults_follow_the_model() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Each case starts a real app and may wait for the reconciler (~2 s per
    // late or dropped answer), so the case count is small; PROPTEST_CASES
    // raises it for a longer run.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(step(), 1..9), |steps| {
            runtime.block_on(async {
                let app = spawn_app(Backend::Sqlite)
                    .await
                    .expect("SQLite is always available");
                run_sequence(&app, &steps).await;
                app.stop().await;
            });
            Ok(())
        })
        .unwrap();
}

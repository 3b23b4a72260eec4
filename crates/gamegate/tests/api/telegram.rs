//! The Telegram gate against a fake Bot API over real HTTP: membership
//! statuses, caching (counted, not assumed), Bot API faults under both fail
//! policies, and `telegram_auth` proofs built per Telegram's algorithms.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use gamegate::Config;
use gamegate_domain::telegram::{sign_init_data, sign_login_widget};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::support::{Backend, TestApp, assert_error, binary, player, spawn_app_with};
use gamegate::config::FailPolicy;

pub const BOT_TOKEN: &str = "7000001:AAH-fake-bot-token-for-tests_xyz";
const CHAT: &str = "-1001234567890";

/// How the fake answers `getChatMember` for one user.
#[derive(Clone, Copy)]
pub enum Member {
    Status(&'static str),
    Restricted { is_member: bool },
    UserNotFound,
    ParticipantIdInvalid,
}

/// What the fake Bot API does with every call.
#[derive(Clone, Copy)]
pub enum Mode {
    Normal,
    TooManyRequests { retry_after: u64 },
    InternalError,
    Hang,
}

struct FakeState {
    users: HashMap<i64, Member>,
    mode: Mutex<Mode>,
    calls: AtomicU64,
}

/// A Bot API on a random port that knows one bot, one chat and a table of users.
pub struct FakeBotApi {
    pub addr: SocketAddr,
    state: Arc<FakeState>,
}

impl FakeBotApi {
    pub async fn start(users: &[(i64, Member)]) -> Self {
        let state = Arc::new(FakeState {
            users: users.iter().copied().collect(),
            mode: Mutex::new(Mode::Normal),
            calls: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .route("/{bot}/getChatMember", axum::routing::post(get_chat_member))
            .route("/{bot}/getMe", axum::routing::get(get_me))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, state }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub async fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().await = mode;
    }
}

fn bot_error(status: StatusCode, description: &str, extra: Value) -> Response {
    let mut body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    (status, Json(body)).into_response()
}

async fn get_chat_member(
    State(state): State<Arc<FakeState>>,
    Path(bot): Path<String>,
    Json(request): Json<Value>,
) -> Response {
    state.calls.fetch_add(1, Ordering::SeqCst);
    if bot != format!("bot{BOT_TOKEN}") {
        return bot_error(StatusCode::UNAUTHORIZED, "Unauthorized", json!({}));
    }
    match *state.mode.lock().await {
        Mode::Normal => {}
        Mode::TooManyRequests { retry_after } => {
            return bot_error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Too Many Requests: retry after {retry_after}"),
                json!({"parameters": {"retry_after": retry_after}}),
            );
        }
        Mode::InternalError => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "<html>oops</html>").into_response();
        }
        Mode::Hang => std::future::pending::<()>().await,
    }
    if request["chat_id"] != json!(CHAT.parse::<i64>().unwrap()) {
        return bot_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: chat not found",
            json!({}),
        );
    }
    let user_id = request["user_id"].as_i64().unwrap_or_default();
    let user = json!({"id": user_id, "is_bot": false, "first_name": "Test"});
    match state.users.get(&user_id) {
        Some(Member::Status(status)) => {
            Json(json!({"ok": true, "result": {"status": status, "user": user}})).into_response()
        }
        Some(Member::Restricted { is_member }) => Json(json!({"ok": true, "result": {
            "status": "restricted", "user": user, "is_member": is_member,
            "can_send_messages": false, "until_date": 0}}))
        .into_response(),
        Some(Member::ParticipantIdInvalid) => bot_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: PARTICIPANT_ID_INVALID",
            json!({}),
        ),
        Some(Member::UserNotFound) | None => bot_error(
            StatusCode::BAD_REQUEST,
            "Bad Request: user not found",
            json!({}),
        ),
    }
}

/// `getMe` (what `gamegate doctor` asks): the bot itself for the one known token.
async fn get_me(State(state): State<Arc<FakeState>>, Path(bot): Path<String>) -> Response {
    state.calls.fetch_add(1, Ordering::SeqCst);
    if bot != format!("bot{BOT_TOKEN}") {
        return bot_error(StatusCode::UNAUTHORIZED, "Unauthorized", json!({}));
    }
    if let Mode::Hang = *state.mode.lock().await {
        std::future::pending::<()>().await;
    }
    Json(json!({"ok": true, "result": {"id": 7000001, "is_bot": true,
        "first_name": "Gate", "username": "gamegate_test_bot"}}))
    .into_response()
}

pub fn gate_on(c: &mut Config, fake: &FakeBotApi) {
    c.telegram.bot_token = BOT_TOKEN.into();
    c.telegram.chat_id = CHAT.into();
    c.telegram.api_base = fake.base();
    c.telegram.call_timeout_ms = 300;
}

async fn register_as(app: &TestApp, login: &str, telegram_id: i64) -> (StatusCode, Value) {
    app.register(player(login, telegram_id)).await
}

#[tokio::test]
async fn each_member_status_is_allowed_or_refused() {
    let allowed = [
        (101, Member::Status("creator")),
        (102, Member::Status("administrator")),
        (103, Member::Status("member")),
        (104, Member::Restricted { is_member: true }),
    ];
    let refused = [
        (201, Member::Restricted { is_member: false }),
        (202, Member::Status("left")),
        (203, Member::Status("kicked")),
        (204, Member::UserNotFound),
        (205, Member::ParticipantIdInvalid),
    ];
    let fake = FakeBotApi::start(&[allowed.as_slice(), refused.as_slice()].concat()).await;
    let app = spawn_app_with(Backend::Sqlite, |c| gate_on(c, &fake))
        .await
        .unwrap();

    for (id, _) in allowed {
        let (status, body) = register_as(&app, &format!("Member_{id}"), id).await;
        assert_eq!(status, 200, "{id}: {body}");
    }
    for (id, _) in refused {
        let (status, body) = register_as(&app, &format!("Outsider_{id}"), id).await;
        assert_error(status, &body, 403, "not_in_telegram_group");
    }
    // An id the group never saw.
    let (status, body) = register_as(&app, "Stranger_1", 999).await;
    assert_error(status, &body, 403, "not_in_telegram_group");
    assert_eq!(
        app.db_logins().await.len(),
        allowed.len(),
        "refused registrations store nothing"
    );
    assert_eq!(app.mock.account_count(), allowed.len());
    app.stop().await;
}

#[tokio::test]
async fn answers_are_cached_and_a_burst_makes_one_call() {
    let fake = FakeBotApi::start(&[
        (301, Member::Status("member")),
        (302, Member::Status("left")),
    ])
    .await;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        gate_on(c, &fake);
        c.telegram.member_cache_secs = 600;
        c.telegram.non_member_cache_secs = 1;
    })
    .await
    .unwrap();

    // Five registrations at once for one member: one Bot API call.
    let burst: Vec<_> = (0..5)
        .map(|i| {
            let app = &app;
            async move { register_as(app, &format!("Burst_{i}"), 301).await.0 }
        })
        .collect();
    let statuses = futures_util::future::join_all(burst).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(fake.calls(), 1, "one call for a burst of five");

    // A non-member: cached briefly, then asked again.
    for i in 0..3 {
        let (status, body) = register_as(&app, &format!("Left_{i}"), 302).await;
        assert_error(status, &body, 403, "not_in_telegram_group");
    }
    assert_eq!(fake.calls(), 2, "non-member answer reused");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let (status, _) = register_as(&app, "Left_9", 302).await;
    assert_eq!(status, 403);
    assert_eq!(
        fake.calls(),
        3,
        "non-member answer expired after non_member_cache_secs"
    );

    // The member answer is still cached (limit reached, but no new call).
    let (status, body) = register_as(&app, "Burst_9", 301).await;
    assert_error(status, &body, 403, "limit_exceeded");
    assert_eq!(fake.calls(), 3);
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"gamegate_telegram_calls_total{result="member"} 1"#),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test]
async fn bot_api_faults_refuse_when_closed_and_let_through_when_open() {
    for fail_open in [false, true] {
        let fake = FakeBotApi::start(&[]).await;
        let app = spawn_app_with(Backend::Sqlite, |c| {
            gate_on(c, &fake);
            c.telegram.fail_policy = if fail_open {
                FailPolicy::Open
            } else {
                FailPolicy::Closed
            };
        })
        .await
        .unwrap();
        for (i, mode) in [
            Mode::InternalError,
            Mode::Hang,
            Mode::TooManyRequests { retry_after: 30 },
        ]
        .into_iter()
        .enumerate()
        {
            fake.set_mode(mode).await;
            let started = Instant::now();
            let (status, body) = register_as(&app, &format!("Fault_{i}"), 400 + i as i64).await;
            let took = started.elapsed();
            assert!(
                took < Duration::from_secs(3),
                "bounded by call_timeout_ms: {took:?}"
            );
            if fail_open {
                assert_eq!(status, 200, "fail open lets it through: {body}");
            } else {
                assert_error(status, &body, 503, "telegram_unavailable");
            }
        }
        // After a 429 with retry_after, Telegram is left alone until then.
        let calls = fake.calls();
        fake.set_mode(Mode::Normal).await;
        let (status, _) = register_as(&app, "Fault_9", 499).await;
        assert_eq!(status, if fail_open { 200 } else { 503 });
        assert_eq!(
            fake.calls(),
            calls,
            "retry_after honoured: no call during flood control"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn telegram_auth_proves_the_id_and_stores_the_username() {
    let fake = FakeBotApi::start(&[
        (42, Member::Status("member")),
        (43, Member::Status("member")),
    ])
    .await;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        gate_on(c, &fake);
        c.telegram.require_auth = true;
        c.telegram.auth_max_age_secs = 3_600;
    })
    .await
    .unwrap();
    let now = gamegate_store::unix_now();
    let widget = |id: i64, auth_date: i64, token: &str| {
        let fields = json!({"id": id, "first_name": "Ivan", "username": "ivan_hero", "auth_date": auth_date});
        Value::Object(sign_login_widget(fields.as_object().unwrap(), token))
    };
    let with_auth = |login: &str, id: i64, auth: Value| {
        let mut body = player(login, id);
        body["telegram_auth"] = auth;
        body
    };

    let refusals = [
        ("missing", player("Auth_0", 42)),
        (
            "forged",
            with_auth("Auth_1", 42, widget(42, now, "999:another-bot-token")),
        ),
        (
            "old",
            with_auth("Auth_2", 42, widget(42, now - 7_200, BOT_TOKEN)),
        ),
        (
            "someone else's",
            with_auth("Auth_3", 42, widget(43, now, BOT_TOKEN)),
        ),
        ("altered", {
            let mut auth = widget(42, now, BOT_TOKEN);
            auth["username"] = "admin".into();
            with_auth("Auth_4", 42, auth)
        }),
    ];
    for (what, body) in refusals {
        let (status, answer) = app.register(body).await;
        assert_eq!(status, 403, "{what}: {answer}");
        assert_eq!(answer["detail"], "telegram_auth_invalid", "{what}");
    }
    assert!(app.db_logins().await.is_empty());

    let (status, body) = app
        .register(with_auth("Widget_1", 42, widget(42, now - 60, BOT_TOKEN)))
        .await;
    assert_eq!(status, 200, "{body}");
    let user = json!({"id": 43, "first_name": "Olga", "username": "olga_app"}).to_string();
    let init_data = sign_init_data(
        &[
            ("query_id", "AAHdF6IQAAAAAN0XohDhrOrc"),
            ("user", &user),
            ("auth_date", &now.to_string()),
        ],
        BOT_TOKEN,
    );
    let (status, body) = app
        .register(with_auth("MiniApp_1", 43, json!({"init_data": init_data})))
        .await;
    assert_eq!(status, 200, "{body}");

    let mut usernames: Vec<_> = app
        .db
        .reports()
        .top_telegram(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.telegram_id, r.username))
        .collect();
    usernames.sort();
    assert_eq!(
        usernames,
        [
            (42, Some("ivan_hero".to_owned())),
            (43, Some("olga_app".to_owned()))
        ]
    );
    app.stop().await;
}

/// The token is in every Bot API URL; no log line of a real process, at
/// debug level, through member answers, refusals and every fault, may show it.
#[tokio::test]
async fn no_log_line_contains_the_bot_token() {
    let fake = FakeBotApi::start(&[(501, Member::Status("member"))]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = binary::command();
    cmd.arg("all")
        .envs(binary::local_env(dir.path()))
        // Debug logging (RUST_LOG) is the point: no configured level.
        .env_remove("GAMEGATE_LOG__LEVEL")
        .env("RUST_LOG", "debug")
        .env("GAMEGATE_LOG__ACCESS_LOG", "stdout")
        .env("GAMEGATE_EDGE__API_KEYS", crate::support::TEST_API_KEY)
        .env("GAMEGATE_TELEGRAM__BOT_TOKEN", BOT_TOKEN)
        .env("GAMEGATE_TELEGRAM__CHAT_ID", CHAT)
        .env("GAMEGATE_TELEGRAM__API_BASE", fake.base())
        .env("GAMEGATE_TELEGRAM__CALL_TIMEOUT_MS", "300")
        .env("GAMEGATE_TELEGRAM__NON_MEMBER_CACHE_SECS", "0");
    let mut process = binary::Process::spawn_capturing_stderr(&mut cmd);
    let base = process.banner(binary::BANNER_WITHIN).await.url("public");

    let http = reqwest::Client::new();
    let post = |login: &'static str, id: i64| {
        http.post(format!("{base}/api/register"))
            .header("x-api-key", crate::support::TEST_API_KEY)
            .json(&player(login, id))
            .send()
    };
    assert_eq!(post("Logs_1", 501).await.unwrap().status(), 200);
    assert_eq!(post("Logs_2", 502).await.unwrap().status(), 403);
    for mode in [
        Mode::InternalError,
        Mode::Hang,
        Mode::TooManyRequests { retry_after: 1 },
    ] {
        fake.set_mode(mode).await;
        assert_eq!(post("Logs_3", 503).await.unwrap().status(), 503);
    }
    process.terminate(Duration::from_secs(30)).await;
    let lines: Vec<String> = [process.stdout(), process.stderr()].concat();
    assert!(lines.len() > 10, "debug logging produced output: {lines:?}");
    let secret = BOT_TOKEN.split(':').nth(1).unwrap();
    let leaks: Vec<_> = lines.iter().filter(|l| l.contains(secret)).collect();
    assert!(
        leaks.is_empty(),
        "the bot token leaked into logs: {leaks:#?}"
    );
}

//! The statistics service (issue 6) end to end: battle ingestion over HTTP
//! and from a JSONL file, player statistics against values computed by hand,
//! the leaderboard, rebuilds, predictions and anomalies — with the analytics
//! tables in the backend under test.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use gamegate::app::battle_import;
use gamegate::commands::battles;
use gamegate_analytics::synth::{self, SynthConfig};
use gamegate_analytics::{Battle, Rating, RatingBook};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Backend, TestApp, assert_error, spawn_app_with};
use gamegate_store::{Ingested, unix_now};

crate::on_every_backend!(
    ingestion_is_idempotent_by_battle_id,
    a_batch_answers_per_item_and_stores_the_valid_ones,
    ingestion_needs_a_valid_bearer_token,
    player_statistics_match_the_hand_computed_fixture,
    the_leaderboard_orders_by_conservative_rating_and_filters,
    the_import_command_skips_invalid_lines_and_reports_them,
    a_rebuild_gives_the_ratings_ingestion_computed,
    bad_query_parameters_are_json_validation_errors,
    the_registration_reports_read_the_accounts_database,
    predictions_favour_the_stronger_team,
    planted_cheaters_are_flagged,
    players_are_found_by_any_case_of_their_login,
    logins_the_registration_accepts_are_accepted_by_statistics,
    the_evaluate_command_reads_the_stored_battles,
    players_say_whether_they_have_an_account,
    battles_of_unregistered_players_are_refused_when_required,
    an_export_imports_into_a_fresh_database_as_it_was,
    a_pipelined_import_equals_batch_after_batch_ingestion,
    an_import_racing_http_ingestion_stores_each_battle_once,
);

const TOKEN: &str = "ingest-token-0123456789abcdef";

async fn spawn_stats(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |c| {
        // The analytics tables beside the accounts ones, on the backend under
        // test (each set has its own migration table).
        c.analytics.url = c.database.url.clone();
        c.analytics.ingest_tokens = vec![TOKEN.into()];
        c.analytics.anomalies_refresh_secs = 1;
        c.analytics.max_connections = 4;
    })
    .await
}

async fn post_battles(app: &TestApp, body: &Value, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = app.http.post(app.admin_url("/stats/battles")).json(body);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

async fn ingest(app: &TestApp, battles: &[Value]) -> Value {
    let (status, body) = post_battles(app, &json!(battles), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    body
}

fn statuses(body: &Value) -> Vec<(i64, String)> {
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap_or(-1),
                r["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// login, team, won, kills, deaths, damage dealt, damage taken, level
type Row = (&'static str, u8, bool, u32, u32, u64, u64, u16);

fn battle(id: i64, mode: &str, started_at: i64, rows: &[Row]) -> Value {
    let participants: Vec<Value> = rows
        .iter()
        .map(|&(login, team, won, kills, deaths, dealt, taken, level)| {
            json!({"login": login, "team": team, "won": won, "kills": kills, "deaths": deaths,
                   "damage_dealt": dealt, "damage_taken": taken, "level": level})
        })
        .collect();
    json!({"id": id, "mode": mode, "started_at": started_at, "duration_secs": 300,
           "participants": participants})
}

/// Three battles of four players, in time order (hours ago: 3, 2, 1).
/// Totals by hand:
///
/// | login | battles | wins | pvp b/w | kills | deaths | dealt | taken |
/// |-------|---------|------|---------|-------|--------|-------|-------|
/// | alice | 3       | 2    | 2 / 1   | 11    | 3      | 4200  | 1400  |
/// | bob   | 2       | 2    | 1 / 1   | 5     | 3      | 1300  | 900   |
/// | carol | 2       | 1    | 2 / 1   | 6     | 4      | 2100  | 1100  |
/// | dave  | 2       | 1    | 1 / 0   | 1     | 8      | 500   | 2700  |
fn fixture(now: i64) -> Vec<Value> {
    vec![
        battle(
            101,
            "pvp",
            now - 3 * 3600,
            &[
                ("alice", 1, true, 5, 1, 1000, 300, 10),
                ("bob_2", 1, true, 3, 2, 800, 500, 12),
                ("carol", 2, false, 2, 4, 600, 900, 11),
                ("dave_", 2, false, 1, 3, 400, 700, 9),
            ],
        ),
        battle(
            102,
            "pvp",
            now - 2 * 3600,
            &[
                ("alice", 1, false, 0, 2, 200, 1000, 10),
                ("carol", 2, true, 4, 0, 1500, 200, 11),
            ],
        ),
        battle(
            103,
            "pve",
            now - 3600,
            &[
                ("alice", 1, true, 6, 0, 3000, 100, 10),
                ("bob_2", 1, true, 2, 1, 500, 400, 12),
                ("dave_", 1, true, 0, 5, 100, 2000, 9),
            ],
        ),
    ]
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The ratings the model gives the fixture's two PvP battles.
fn fixture_ratings(now: i64) -> RatingBook {
    let mut book = RatingBook::new();
    for value in fixture(now) {
        book.apply(&serde_json::from_value::<Battle>(value).unwrap());
    }
    book
}

async fn player(app: &TestApp, login: &str) -> (StatusCode, Value) {
    app.get_json(app.url(&format!("/stats/players/{login}")))
        .await
}

async fn ingestion_is_idempotent_by_battle_id(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let now = unix_now();
    let first = ingest(&app, &fixture(now)).await;
    assert_eq!(
        statuses(&first),
        vec![
            (101, "inserted".into()),
            (102, "inserted".into()),
            (103, "inserted".into())
        ]
    );
    assert_eq!(first["inserted"], 3);
    let (_, alice_before) = player(&app, "alice").await;
    let (_, summary_before) = app.get_json(app.url("/stats/summary?days=2")).await;

    let again = ingest(&app, &fixture(now)).await;
    assert_eq!(
        statuses(&again),
        vec![
            (101, "duplicate".into()),
            (102, "duplicate".into()),
            (103, "duplicate".into())
        ]
    );
    assert_eq!(
        (again["inserted"].as_i64(), again["duplicate"].as_i64()),
        (Some(0), Some(3))
    );
    // Nothing counted twice, ratings not moved again.
    let (_, alice_after) = player(&app, "alice").await;
    assert_eq!(alice_before, alice_after);
    assert_eq!(alice_after["battles"], 3);
    let (_, summary_after) = app.get_json(app.url("/stats/summary?days=2")).await;
    assert_eq!(summary_before, summary_after);
    assert_eq!(app.db.battles().count_battles().await.unwrap(), 3);
    app.stop().await;
}

async fn a_batch_answers_per_item_and_stores_the_valid_ones(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let now = unix_now();
    let good = battle(
        1,
        "pvp",
        now - 60,
        &[
            ("alice", 1, true, 1, 0, 10, 5, 3),
            ("bob_2", 2, false, 0, 1, 5, 10, 3),
        ],
    );
    // Both teams won: refused by the battle rules.
    let both_won = battle(
        2,
        "pvp",
        now - 60,
        &[
            ("alice", 1, true, 1, 0, 10, 5, 3),
            ("bob_2", 2, true, 0, 1, 5, 10, 3),
        ],
    );
    let missing_mode = json!({"id": 3, "started_at": now, "duration_secs": 1, "participants": []});
    let not_an_object = json!("battle");
    let body = json!([good, both_won, missing_mode, good, not_an_object]);
    let (status, answer) = post_battles(&app, &body, Some(TOKEN)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        statuses(&answer),
        vec![
            (1, "inserted".into()),
            (2, "invalid".into()),
            (3, "invalid".into()),
            (1, "duplicate".into()),
            (-1, "invalid".into()),
        ]
    );
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results[1]["error"], "invalid_outcome");
    assert_eq!(results[2]["error"], "invalid_battle");
    assert!(
        results[2]["message"].as_str().unwrap().contains("mode"),
        "{answer}"
    );
    assert_eq!(answer["ok"], false);
    assert_eq!(
        (
            answer["inserted"].as_i64(),
            answer["duplicate"].as_i64(),
            answer["invalid"].as_i64()
        ),
        (Some(1), Some(1), Some(3))
    );
    assert_eq!(app.db.battles().count_battles().await.unwrap(), 1);

    // Request-level problems are ordinary error answers.
    let (status, answer) = post_battles(&app, &json!({"id": 1}), Some(TOKEN)).await;
    assert_error(status, &answer, 400, "invalid_json");
    let too_many: Vec<Value> = (0..1_001).map(|_| json!({})).collect();
    let (status, answer) = post_battles(&app, &json!(too_many), Some(TOKEN)).await;
    assert_error(status, &answer, 422, "validation_error");
    assert_eq!(answer["errors"][0]["field"], "battles");
    app.stop().await;
}

async fn ingestion_needs_a_valid_bearer_token(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let body = json!(fixture(unix_now()));
    for token in [
        None,
        Some("wrong-token"),
        Some(""),
        Some(&TOKEN[..TOKEN.len() - 1]),
    ] {
        let (status, answer) = post_battles(&app, &body, token).await;
        assert_error(status, &answer, 403, "invalid_api_key");
    }
    // The X-API-Key of the registration edge is not an ingestion token.
    let response = app
        .http
        .post(app.admin_url("/stats/battles"))
        .header("x-api-key", TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(app.db.battles().count_battles().await.unwrap(), 0);
    // Not on the public listener at all.
    let response = app
        .http
        .post(app.url("/stats/battles"))
        .header("authorization", format!("Bearer {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(response.status().as_u16(), 404 | 405),
        "{}",
        response.status()
    );
    app.stop().await;
}

async fn player_statistics_match_the_hand_computed_fixture(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let now = unix_now();
    ingest(&app, &fixture(now)).await;
    let ratings = fixture_ratings(now);
    // (login, battles, wins, pvp battles, pvp wins, kills, deaths, dealt, taken)
    let expected = [
        ("alice", 3, 2, 2, 1, 11, 3, 4200, 1400),
        ("bob_2", 2, 2, 1, 1, 5, 3, 1300, 900),
        ("carol", 2, 1, 2, 1, 6, 4, 2100, 1100),
        ("dave_", 2, 1, 1, 0, 1, 8, 500, 2700),
    ];
    for (login, battles, wins, pvp, pvp_wins, kills, deaths, dealt, taken) in expected {
        let (status, p) = player(&app, login).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["login"], login);
        assert_eq!(p["battles"], battles, "{p}");
        assert_eq!(p["wins"], wins, "{p}");
        assert_eq!(p["pvp_battles"], pvp, "{p}");
        assert_eq!(p["pvp_wins"], pvp_wins, "{p}");
        assert_eq!(p["kills"], kills, "{p}");
        assert_eq!(p["deaths"], deaths, "{p}");
        assert_eq!(p["damage_dealt"], dealt, "{p}");
        assert_eq!(p["damage_taken"], taken, "{p}");
        let f = |k: &str| p[k].as_f64().unwrap();
        assert!(
            close(f("win_rate"), f64::from(wins) / f64::from(battles)),
            "{p}"
        );
        assert!(close(f("kd"), f64::from(kills) / f64::from(deaths)), "{p}");
        assert!(
            close(
                f("damage_per_battle"),
                f64::from(dealt) / f64::from(battles)
            ),
            "{p}"
        );
        let r = ratings.get(login);
        assert!(
            close(p["rating"]["mu"].as_f64().unwrap(), r.mu),
            "{p} vs {r:?}"
        );
        assert!(
            close(p["rating"]["sigma"].as_f64().unwrap(), r.sigma),
            "{p} vs {r:?}"
        );
        assert!(close(
            p["rating"]["conservative"].as_f64().unwrap(),
            r.conservative()
        ));
    }
    // By hand: alice's values above are 2/3 win rate, 11/3 K/D, 1400 damage per battle.
    let (_, alice) = player(&app, "alice").await;
    assert!(close(alice["damage_per_battle"].as_f64().unwrap(), 1400.0));
    // One PvP win, one loss, from 25: alice ends where the model puts her,
    // bob (one win) above the default, dave (one loss) below it.
    assert!(ratings.get("bob_2").mu > 25.0 && ratings.get("dave_").mu < 25.0);

    let (status, body) = player(&app, "nobody").await;
    assert_error(status, &body, 404, "not_found");

    // 3 battles (2 PvP), 4 + 2 + 3 = 9 participations, 4 distinct players.
    let (status, s) = app.get_json(app.url("/stats/summary?days=2")).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["battles"], 3, "{s}");
    assert_eq!(s["pvp_battles"], 2, "{s}");
    assert_eq!(s["participants"], 9, "{s}");
    assert_eq!(s["active_players"], 4, "{s}");
    // Per day: the fixture's hours ago fall on one or two UTC days.
    let mut per_day: BTreeMap<i64, (i64, Vec<&str>)> = BTreeMap::new();
    for (hours_ago, logins) in [
        (3, vec!["alice", "bob_2", "carol", "dave_"]),
        (2, vec!["alice", "carol"]),
        (1, vec!["alice", "bob_2", "dave_"]),
    ] {
        let day = (now - hours_ago * 3600).div_euclid(86_400) * 86_400;
        let entry = per_day.entry(day).or_default();
        entry.0 += 1;
        entry.1.extend(logins);
    }
    let expected_days: Vec<Value> = per_day
        .into_iter()
        .map(|(day, (battles, mut logins))| {
            logins.sort_unstable();
            logins.dedup();
            json!({"day_start": day, "battles": battles, "active_players": logins.len()})
        })
        .collect();
    let got_days: Vec<Value> = s["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| json!({"day_start": d["day_start"], "battles": d["battles"], "active_players": d["active_players"]}))
        .collect();
    assert_eq!(got_days, expected_days, "{s}");
    app.stop().await;
}

async fn the_leaderboard_orders_by_conservative_rating_and_filters(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let now = unix_now();
    ingest(&app, &fixture(now)).await;
    let ratings = fixture_ratings(now);
    let logins = |body: &Value| -> Vec<String> {
        body["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["login"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_rating = |mut players: Vec<&str>| -> Vec<String> {
        players.sort_by(|a, b| {
            ratings
                .get(b)
                .conservative()
                .total_cmp(&ratings.get(a).conservative())
                .then(a.cmp(b))
        });
        players.into_iter().map(str::to_owned).collect()
    };

    let (status, all) = app.get_json(app.url("/stats/leaderboard?mode=all")).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(
        logins(&all),
        by_rating(vec!["alice", "bob_2", "carol", "dave_"])
    );
    let scores: Vec<f64> = all["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rating"]["conservative"].as_f64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{all}");
    assert_eq!(all["players"][0]["rank"], 1);

    // PvP is the default mode; two PvP battles: alice and carol only.
    let (_, pvp) = app
        .get_json(app.url("/stats/leaderboard?min_battles=2"))
        .await;
    assert_eq!(logins(&pvp), by_rating(vec!["alice", "carol"]));
    assert_eq!(pvp["players"][0]["battles"], 2);
    // PvE: the three who played battle 103, each one PvE battle, one win.
    let (_, pve) = app.get_json(app.url("/stats/leaderboard?mode=pve")).await;
    assert_eq!(logins(&pve), by_rating(vec!["alice", "bob_2", "dave_"]));
    assert!(
        pve["players"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["battles"] == 1 && p["wins"] == 1)
    );
    let (_, three) = app
        .get_json(app.url("/stats/leaderboard?mode=all&min_battles=3"))
        .await;
    assert_eq!(logins(&three), vec!["alice"]);
    let (_, top1) = app
        .get_json(app.url("/stats/leaderboard?mode=all&limit=1"))
        .await;
    assert_eq!(
        logins(&top1),
        by_rating(vec!["alice", "bob_2", "carol", "dave_"])[..1]
    );
    app.stop().await;
}

async fn the_import_command_skips_invalid_lines_and_reports_them(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let now = unix_now();
    let lines: Vec<String> = fixture(now).iter().map(Value::to_string).collect();
    let text = format!(
        "{}\nnot json\n\n{}\n{{\"id\": 7}}\n{}\n{}\n",
        lines[0], lines[1], lines[2], lines[0]
    );
    let path = app.dir.path().join("battles.jsonl");
    std::fs::write(&path, text).unwrap();
    // Rejected lines fail the command (after the valid ones are in) …
    let error = battles::import(&app.config, &path, 2, false)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("3 inserted (9 participants), 1 duplicate, 2 invalid lines")
            && error.contains("2 line(s) rejected")
            && error.contains("--allow-partial"),
        "{error}"
    );
    // … the duplicate is named by its id …
    let first_id = fixture(now)[0]["id"].as_i64().unwrap();
    assert!(
        error.contains(&format!("already stored (skipped), by id: {first_id}\n")),
        "{error}"
    );
    // … and a partial import is accepted when asked for: everything is a
    // duplicate now, the invalid lines are still counted.
    let summary = battles::import(&app.config, &path, 2, true).await.unwrap();
    assert!(
        summary.contains("0 inserted (0 participants), 4 duplicate, 2 invalid lines"),
        "{summary}"
    );
    let (_, alice) = player(&app, "alice").await;
    assert_eq!(alice["battles"], 3);
    // The same ratings as over HTTP: one path through the store.
    assert!(close(
        alice["rating"]["mu"].as_f64().unwrap(),
        fixture_ratings(now).get("alice").mu
    ));
    app.stop().await;
}

fn synthetic(players: usize, battles: usize, cheater_fraction: f64) -> (Vec<Battle>, synth::Truth) {
    synth::generate(&SynthConfig {
        players,
        battles,
        seed: 7,
        cheater_fraction,
        // Recent, so the summary window covers it.
        start_at: unix_now() - 86_400,
        ..SynthConfig::default()
    })
}

async fn stored_players(app: &TestApp) -> HashMap<String, (Rating, i64, i64)> {
    let (_, board) = app
        .get_json(app.url("/stats/leaderboard?mode=all&limit=100&min_battles=0"))
        .await;
    board["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["login"].as_str().unwrap().to_owned(),
                (
                    Rating {
                        mu: p["rating"]["mu"].as_f64().unwrap(),
                        sigma: p["rating"]["sigma"].as_f64().unwrap(),
                    },
                    p["battles"].as_i64().unwrap(),
                    p["wins"].as_i64().unwrap(),
                ),
            )
        })
        .collect()
}

async fn a_rebuild_gives_the_ratings_ingestion_computed(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let (battles, _) = synthetic(60, 600, 0.0);
    // In time order, in batches over HTTP.
    for chunk in battles.chunks(250) {
        let values: Vec<Value> = chunk
            .iter()
            .map(|b| serde_json::to_value(b).unwrap())
            .collect();
        let body = ingest(&app, &values).await;
        assert_eq!(body["inserted"].as_u64(), Some(chunk.len() as u64));
    }
    let incremental = stored_players(&app).await;
    assert_eq!(incremental.len(), 60);
    let mut book = RatingBook::new();
    battles.iter().for_each(|b| {
        book.apply(b);
    });
    for (login, (rating, _, _)) in &incremental {
        assert!(close(rating.mu, book.get(login).mu), "{login}");
    }

    let text = battles::rebuild(&app.config).await.unwrap();
    assert!(text.contains("60 players from 600 battles"), "{text}");
    let rebuilt = stored_players(&app).await;
    assert_eq!(rebuilt.len(), incremental.len());
    for (login, (rating, battles, wins)) in &incremental {
        let (r, b, w) = &rebuilt[login];
        assert!(
            close(rating.mu, r.mu) && close(rating.sigma, r.sigma),
            "{login}: {rating:?} vs {r:?}"
        );
        assert_eq!((battles, wins), (b, w), "{login}");
    }
    app.stop().await;
}

async fn bad_query_parameters_are_json_validation_errors(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let public = [
        ("/stats/leaderboard?limit=0", "limit"),
        ("/stats/leaderboard?limit=101", "limit"),
        ("/stats/leaderboard?limit=ten", "limit"),
        ("/stats/leaderboard?mode=ranked", "mode"),
        ("/stats/leaderboard?min_battles=-1", "min_battles"),
        ("/stats/leaderboard?order=asc", "order"),
        ("/stats/leaderboard?limit=5&limit=6", "limit"),
        ("/stats/summary?days=0", "days"),
        ("/stats/summary?days=9999", "days"),
        ("/stats/players/no-dash", "login"),
        ("/stats/players/ab", "login"),
        ("/ml/predict?team_a=alice", "team_b"),
        ("/ml/predict?team_a=al&team_b=bob_2", "team_a"),
    ];
    // A prediction names at most 32 logins a side (docs/EDGE.md, Rows).
    let team = |n: usize| {
        (1..=n)
            .map(|i| format!("p_{i:03}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let too_many = format!("/ml/predict?team_a=bob_2&team_b={}", team(33));
    let public = public.into_iter().chain([(too_many.as_str(), "team_b")]);
    for (path, field) in public {
        let (status, body) = app.get_json(app.url(path)).await;
        assert_error(status, &body, 422, "validation_error");
        assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
    }
    let (status, body) = app
        .get_json(app.url(&format!("/ml/predict?team_a=bob_2&team_b={}", team(32))))
        .await;
    assert_eq!(status, 200, "32 logins a side are answered: {body}");
    // Well-formed though odd (the OpenAPI schema cannot forbid it): the same
    // login on both sides is an even match, not a validation error.
    let (status, body) = app
        .get_json(app.url("/ml/predict?team_a=alice&team_b=alice"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        (body["p_team_a_wins"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{body}"
    );
    let admin = [
        ("/stats/registrations?since=1w", "since"),
        ("/stats/registrations?since=400d", "since"),
        ("/stats/registrations?by=week", "by"),
        ("/stats/top-telegram?limit=1000", "limit"),
        ("/ml/anomalies?min_battles=x", "min_battles"),
    ];
    for (path, field) in admin {
        let (status, body) = app.get_json(app.admin_url(path)).await;
        assert_error(status, &body, 422, "validation_error");
        assert_eq!(body["errors"][0]["field"], field, "{path}: {body}");
    }
    app.stop().await;
}

async fn the_registration_reports_read_the_accounts_database(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    for (i, telegram_id) in [(0, 5), (1, 5), (2, 9)] {
        let (status, body) = app
            .register(crate::support::player(&format!("reg_{i}"), telegram_id))
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = app
        .get_json(app.admin_url("/stats/registrations?since=1h&by=day"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 3, "{body}");
    assert_eq!(body["bucket"], "day");
    let (status, body) = app
        .get_json(app.admin_url("/stats/top-telegram?limit=1"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([{"telegram_id": 5, "username": null, "accounts": 2}])
    );
    // Admin information: not on the public listener.
    let (status, _) = app.get_json(app.url("/stats/top-telegram")).await;
    assert_eq!(status, 404);
    app.stop().await;
}

async fn predictions_favour_the_stronger_team(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let (battles, truth) = synthetic(80, 3_000, 0.0);
    let mut report = battle_import::ImportReport::default();
    battle_import::ingest_all(&app.db, battles, 1_000, &mut report, |_| {})
        .await
        .unwrap();
    assert_eq!(report.inserted, 3_000);
    // The truly strongest and weakest two.
    let mut by_skill: Vec<(&String, &f64)> = truth.skill.iter().collect();
    by_skill.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let strong = format!("{},{}", by_skill[0].0, by_skill[1].0);
    let weak = format!("{},{}", by_skill[78].0, by_skill[79].0);
    let (status, body) = app
        .get_json(app.url(&format!("/ml/predict?team_a={strong}&team_b={weak}")))
        .await;
    assert_eq!(status, 200, "{body}");
    let p = body["p_team_a_wins"].as_f64().unwrap();
    assert!(p > 0.5, "{body}");
    assert_eq!(body["unknown_logins"], json!([]));
    let (_, reversed) = app
        .get_json(app.url(&format!("/ml/predict?team_a={weak}&team_b={strong}")))
        .await;
    assert!(
        close(reversed["p_team_a_wins"].as_f64().unwrap(), 1.0 - p),
        "{reversed}"
    );
    // A login never seen plays at the default rating, and is named.
    let (_, unknown) = app
        .get_json(app.url(&format!(
            "/ml/predict?team_a={}&team_b=newcomer",
            by_skill[0].0
        )))
        .await;
    assert_eq!(unknown["unknown_logins"], json!(["newcomer"]));
    assert!(
        unknown["p_team_a_wins"].as_f64().unwrap() > 0.5,
        "{unknown}"
    );
    app.stop().await;
}

async fn planted_cheaters_are_flagged(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    // The analytics crate's stated set, smaller: 200 players, 5% planted.
    let (battles, truth) = synthetic(200, 12_000, 0.05);
    let expected = battles.len() as u64;
    let mut report = battle_import::ImportReport::default();
    battle_import::ingest_all(&app.db, battles, 1_000, &mut report, |_| {})
        .await
        .unwrap();
    // The cache refreshes every second in this configuration.
    let started = std::time::Instant::now();
    let answer = loop {
        let (status, body) = app
            .get_json(app.admin_url("/ml/anomalies?min_battles=30&limit=1000"))
            .await;
        if status == 200 && body["battles_analysed"].as_u64() == Some(expected) {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "no anomaly pass over every battle: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let flagged: Vec<&str> = answer["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap())
        .collect();
    let found = flagged
        .iter()
        .filter(|l| truth.cheaters.contains(**l))
        .count();
    let false_positives = flagged.len() - found;
    let recall = found as f64 / truth.cheaters.len() as f64;
    let honest = truth.skill.len() - truth.cheaters.len();
    assert_eq!(truth.cheaters.len(), 10);
    assert!(recall >= 0.7, "recall {recall}: {answer}");
    assert!(
        false_positives as f64 / honest as f64 <= 0.02,
        "{false_positives} false positives: {answer}"
    );
    let first = &answer["players"][0];
    assert!(first["score"].as_f64().unwrap() > 0.0 && first["reasons"][0]["sentence"].is_string());
    // Every reason carries its evidence, above the configured floors.
    assert_eq!(
        (&answer["min_battles"], &answer["min_expected"]),
        (&json!(30), &json!(5.0))
    );
    for reason in answer["players"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["reasons"].as_array().unwrap())
    {
        assert!(reason["battles"].as_u64().unwrap() >= 30, "{reason}");
        assert!(reason["p_value"].as_f64().unwrap() <= answer["alpha"].as_f64().unwrap());
        let ids = reason["battle_ids"].as_array().unwrap();
        assert!((1..=5).contains(&ids.len()), "{reason}");
        let sentence = reason["sentence"].as_str().unwrap();
        assert!(!sentence.contains(" 0.0 "), "{reason}");
        // The text names the same evidence battles as the JSON.
        let listed: Vec<String> = ids.iter().map(Value::to_string).collect();
        assert!(
            sentence.ends_with(&format!(" battles {}", listed.join(", "))),
            "{reason}"
        );
    }
    // A query can raise the battle floor, not lower it below the configured one.
    let (_, low) = app
        .get_json(app.admin_url("/ml/anomalies?min_battles=1"))
        .await;
    assert_eq!(low["min_battles"], 30, "{low}");
    app.stop().await;
}

async fn the_evaluate_command_reads_the_stored_battles(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let (battles, _) = synthetic(60, 800, 0.0);
    let mut report = battle_import::ImportReport::default();
    battle_import::ingest_all(&app.db, battles.clone(), 500, &mut report, |_| {})
        .await
        .unwrap();
    let text = gamegate::commands::ml::ml_evaluate_db(&app.config, 0.25)
        .await
        .unwrap();
    // The same numbers as the in-memory evaluation of the same battles: the
    // database is read in battle order and each battle predicted before it
    // is applied.
    let e = gamegate_analytics::evaluate(&battles, 0.25, None);
    assert_eq!((e.train, e.test), (600, 200));
    assert!(
        text.contains(&format!(
            "trained on 600 battles, tested on 200 ({} PvP predicted), holdout 0.25",
            e.model.n
        )),
        "{text}"
    );
    let model_line = format!(
        "{:<22} {:>9.4} {:>9.4} {:>9.4}",
        "model (Kalman)", e.model.log_loss, e.model.brier, e.model.accuracy
    );
    assert!(text.contains(&model_line), "{text}\nwanted {model_line}");
    assert!(
        text.contains("baseline (50%)") && !text.contains("ceiling"),
        "{text}"
    );
    assert!(e.model.log_loss < std::f64::consts::LN_2, "{e:?}");
    // Holdouts outside (0, 1) are refused.
    let error = gamegate::commands::ml::ml_evaluate_db(&app.config, 1.0)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("--holdout"), "{error}");
    app.stop().await;
}

/// A URL path segment for a login (`%`-encoded UTF-8).
fn path_login(login: &str) -> String {
    login
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `/stats/players/AAA` finds `aaa`: the lookup uses the registration's
/// case-insensitive login key, and a player written in two cases is one.
async fn players_are_found_by_any_case_of_their_login(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let now = unix_now();
    ingest(
        &app,
        &[battle(
            201,
            "pvp",
            now - 7200,
            &[
                ("aaa", 1, true, 3, 1, 500, 100, 5),
                ("Bob_7", 2, false, 1, 3, 100, 500, 5),
            ],
        )],
    )
    .await;
    for asked in ["aaa", "AAA", "aAa"] {
        let (status, body) = player(&app, asked).await;
        assert_eq!(status, 200, "{asked}: {body}");
        assert_eq!(body["login"], "aaa", "{asked}");
        assert_eq!(body["battles"], 1);
    }
    let (status, body) = player(&app, "bob_7").await;
    assert_eq!((status.as_u16(), &body["login"]), (200, &json!("Bob_7")));
    // The game server writes the same players in other cases: one row each,
    // under the spelling seen first.
    ingest(
        &app,
        &[battle(
            202,
            "pvp",
            now - 3600,
            &[
                ("AAA", 1, false, 0, 2, 50, 300, 5),
                ("BOB_7", 2, true, 2, 0, 300, 50, 5),
            ],
        )],
    )
    .await;
    let (status, body) = player(&app, "Aaa").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["login"],
            &body["battles"],
            &body["wins"],
            &body["kills"]
        ),
        (&json!("aaa"), &json!(2), &json!(1), &json!(3))
    );
    let (_, board) = app.get_json(app.url("/stats/leaderboard?mode=all")).await;
    let mut listed: Vec<&str> = board["players"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["login"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, ["Bob_7", "aaa"], "{board}");
    // Predictions look ratings up the same way.
    let (status, body) = app
        .get_json(app.url("/ml/predict?team_a=AAA&team_b=bob_7"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["unknown_logins"], json!([]), "{body}");
    // A rebuild keeps one row per player and the same lookups.
    let text = battles::rebuild(&app.config).await.unwrap();
    assert!(text.contains("2 players from 2 battles"), "{text}");
    let (status, body) = player(&app, "AAA").await;
    assert_eq!((status.as_u16(), &body["battles"]), (200, &json!(2)));
    let (status, body) = player(&app, "ccc").await;
    assert_error(status, &body, 404, "not_found");
    app.stop().await;
}

/// With a Cyrillic (and accented) login charset, a login the registration
/// accepts is accepted by battle ingestion and by `/stats/players/{login}`,
/// in any case and either Unicode spelling; the default charset refuses it
/// everywhere alike.
async fn logins_the_registration_accepts_are_accepted_by_statistics(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |c| {
        c.analytics.url = c.database.url.clone();
        c.analytics.ingest_tokens = vec![TOKEN.into()];
        c.registration.login_charset = gamegate_domain::RegistrationRules::with_login_charset(
            "A-Za-z0-9_\u{410}-\u{44f}\u{401}\u{451}\u{e9}\u{c9}",
        )
        .unwrap();
    })
    .await
    else {
        return;
    };
    // The registration takes it…
    let (status, body) = app
        .register(crate::support::player("\u{416}\u{443}\u{43a}_01", 77))
        .await;
    assert_eq!(status, 200, "{body}");
    // …and so do battles, the decomposed é included.
    let now = unix_now();
    let body = ingest(
        &app,
        &[battle(
            301,
            "pvp",
            now - 600,
            &[
                ("\u{416}\u{443}\u{43a}_01", 1, true, 4, 0, 900, 100, 3),
                ("e\u{301}lan", 2, false, 0, 4, 100, 900, 3),
            ],
        )],
    )
    .await;
    assert_eq!(body["inserted"], 1, "{body}");
    for asked in [
        "\u{416}\u{443}\u{43a}_01",
        "\u{436}\u{443}\u{43a}_01",
        "\u{416}\u{423}\u{41a}_01",
    ] {
        let (status, body) = player(&app, &path_login(asked)).await;
        assert_eq!(status, 200, "{asked}: {body}");
        assert_eq!(body["login"], "\u{416}\u{443}\u{43a}_01");
    }
    for asked in ["\u{e9}lan", "e\u{301}lan", "\u{c9}LAN"] {
        let (status, body) = player(&app, &path_login(asked)).await;
        assert_eq!(status, 200, "{asked}: {body}");
        // Stored in NFC, as registration stores logins.
        assert_eq!(body["login"], "\u{e9}lan");
    }
    // Still the rule: too long, or outside the charset.
    let body = ingest(
        &app,
        &[battle(
            302,
            "pve",
            now - 300,
            &[("\u{416}\u{416}-\u{416}", 1, true, 0, 0, 0, 0, 1)],
        )],
    )
    .await;
    assert_eq!(body["results"][0]["error"], "invalid_login", "{body}");
    let (status, body) = player(&app, &path_login(&"\u{416}".repeat(17))).await;
    assert_error(status, &body, 422, "validation_error");
    app.stop().await;

    // The default charset: Cyrillic is refused by ingestion and lookups alike.
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let body = ingest(
        &app,
        &[battle(
            303,
            "pve",
            now - 300,
            &[("\u{416}\u{443}\u{43a}_01", 1, true, 0, 0, 0, 0, 1)],
        )],
    )
    .await;
    assert_eq!(body["results"][0]["error"], "invalid_login", "{body}");
    let (status, body) = player(&app, &path_login("\u{416}\u{443}\u{43a}_01")).await;
    assert_error(status, &body, 422, "validation_error");
    assert_eq!(body["errors"][0]["field"], "login");
    app.stop().await;
}

/// `gamegate all`'s synthetic history lives apart from real battles: real
/// ids 1–3 import beside it, the dashboard says how much is synthetic, and
/// `battles purge-demo` removes exactly it (and its players).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_history_is_apart_from_real_battles_and_can_be_purged() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.analytics.seed_demo_history = true;
        c.analytics.anomalies_refresh_secs = 1;
    })
    .await
    .unwrap();
    let logins = |body: &Value| -> Vec<String> {
        let mut all: Vec<String> = body["players"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["login"].as_str().unwrap().to_owned())
            .collect();
        all.sort();
        all
    };
    let history = || async {
        app.get_json(app.admin_url("/admin/dashboard/history.json"))
            .await
            .1
    };
    app.eventually(
        "the demo history is seeded",
        Duration::from_secs(60),
        || async { history().await["battles"] == 5_000 },
    )
    .await;
    assert_eq!(history().await["synthetic_battles"], 5_000);

    // Real battles 1–3 (as a game server numbers them): all inserted.
    let now = unix_now();
    let real: Vec<String> = fixture(now)
        .into_iter()
        .enumerate()
        .map(|(i, mut b)| {
            b["id"] = json!(i + 1);
            b.to_string()
        })
        .collect();
    let path = app.dir.path().join("real.jsonl");
    std::fs::write(&path, real.join("\n")).unwrap();
    let summary = battles::import(&app.config, &path, 1_000, false)
        .await
        .unwrap();
    assert!(summary.contains(": 3 inserted ("), "{summary}");
    assert!(summary.contains(", 0 duplicate,"), "{summary}");
    assert_eq!(
        history().await,
        json!({"battles": 5_003, "synthetic_battles": 5_000})
    );
    let (_, board) = app
        .get_json(app.url("/stats/leaderboard?mode=all&limit=100"))
        .await;
    assert!(
        logins(&board).iter().any(|l| l.starts_with("player_")),
        "the demo players are on the board before the purge"
    );

    let text = battles::purge_demo(&app.config).await.unwrap();
    assert!(
        text.starts_with("removed 5000 synthetic battles from "),
        "{text}"
    );
    assert!(text.ends_with("from 3 battles"), "{text}");
    assert_eq!(
        history().await,
        json!({"battles": 3, "synthetic_battles": 0})
    );
    let (_, board) = app
        .get_json(app.url("/stats/leaderboard?mode=all&limit=100"))
        .await;
    assert_eq!(
        logins(&board),
        vec!["alice", "bob_2", "carol", "dave_"],
        "only the real players are left"
    );
    // A second purge has nothing to do.
    let text = battles::purge_demo(&app.config).await.unwrap();
    assert!(text.starts_with("removed 0 synthetic battles"), "{text}");
    app.stop().await;
}

/// `/stats/players/{login}` says whether an account has the login, asked in
/// any case — also when the battles live in another database than the
/// accounts (here a SQLite file beside the backend under test).
async fn players_say_whether_they_have_an_account(backend: Backend) {
    for separate in [false, true] {
        let Some(app) = spawn_app_with(backend, |c| {
            if !separate {
                c.analytics.url = c.database.url.clone();
            }
            c.analytics.ingest_tokens = vec![TOKEN.into()];
        })
        .await
        else {
            return;
        };
        let (status, body) = app.register(crate::support::player("Reg_Hero", 501)).await;
        assert_eq!(status, 200, "{body}");
        let now = unix_now();
        let body = ingest(
            &app,
            &[battle(
                401,
                "pvp",
                now - 600,
                &[
                    ("reg_hero", 1, true, 2, 0, 500, 100, 4),
                    ("Stranger", 2, false, 0, 2, 100, 500, 4),
                ],
            )],
        )
        .await;
        assert_eq!(body["inserted"], 1, "{body}");
        for asked in ["reg_hero", "REG_HERO", "Reg_Hero"] {
            let (status, body) = player(&app, asked).await;
            assert_eq!(status, 200, "{asked}: {body}");
            assert_eq!(
                (&body["login"], &body["registered"]),
                (&json!("reg_hero"), &json!(true)),
                "{asked} (separate databases: {separate})"
            );
        }
        for asked in ["Stranger", "sTRANGER"] {
            let (status, body) = player(&app, asked).await;
            assert_eq!(status, 200, "{asked}: {body}");
            assert_eq!(body["registered"], false, "{asked}: {body}");
        }
        app.stop().await;
    }
}

/// `analytics.require_registered_players`: off, battles of anyone are
/// stored; on, a battle naming a login with no account is `invalid` with
/// `unknown_player` (HTTP) or a rejected line (`battles import`), and the
/// others of the batch are stored.
async fn battles_of_unregistered_players_are_refused_when_required(backend: Backend) {
    let now = unix_now();
    let known = battle(
        411,
        "pvp",
        now - 900,
        &[
            ("MEMBER_A", 1, true, 1, 0, 300, 50, 2),
            ("member_b", 2, false, 0, 1, 50, 300, 2),
        ],
    );
    let mixed = battle(
        412,
        "pvp",
        now - 800,
        &[
            ("member_a", 1, false, 0, 1, 40, 200, 2),
            ("Ghost_1", 2, true, 1, 0, 200, 40, 2),
        ],
    );
    for required in [false, true] {
        let Some(app) = spawn_app_with(backend, |c| {
            c.analytics.url = c.database.url.clone();
            c.analytics.ingest_tokens = vec![TOKEN.into()];
            c.analytics.require_registered_players = required;
        })
        .await
        else {
            return;
        };
        for (login, telegram) in [("member_a", 601), ("Member_B", 602)] {
            let (status, body) = app.register(crate::support::player(login, telegram)).await;
            assert_eq!(status, 200, "{body}");
        }
        let body = ingest(&app, &[known.clone(), mixed.clone()]).await;
        let (status, ghost) = player(&app, "ghost_1").await;
        if !required {
            assert_eq!(
                statuses(&body),
                [(411, "inserted".into()), (412, "inserted".into())]
            );
            assert_eq!(
                (status.as_u16(), &ghost["registered"]),
                (200, &json!(false))
            );
            app.stop().await;
            continue;
        }
        assert_eq!(
            statuses(&body),
            [(411, "inserted".into()), (412, "invalid".into())],
            "{body}"
        );
        assert_eq!(body["ok"], false);
        assert_eq!(body["results"][1]["error"], "unknown_player", "{body}");
        let message = body["results"][1]["message"].as_str().unwrap();
        assert!(
            message.contains("Ghost_1") && !message.contains("member_a"),
            "{message}"
        );
        assert_error(status, &ghost, 404, "not_found");
        let (_, a) = player(&app, "member_a").await;
        assert_eq!((&a["battles"], &a["registered"]), (&json!(1), &json!(true)));

        // The import command applies the same rule, line by line.
        let path = app.dir.path().join("battles.jsonl");
        let mut later = known.clone();
        later["id"] = json!(413);
        std::fs::write(&path, format!("{mixed}\n{later}\n")).unwrap();
        let error = battles::import(&app.config, &path, 10, false)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("1 inserted (2 participants), 0 duplicate, 1 invalid lines"),
            "{error}"
        );
        let (_, a) = player(&app, "MEMBER_A").await;
        assert_eq!(a["battles"], 2);
        app.stop().await;
    }
}

/// `battles export` of the app's analytics database: the battles parsed
/// back, and the text.
async fn exported(app: &TestApp) -> (Vec<Battle>, String) {
    let mut out = Vec::new();
    let db = gamegate_store::Database::connect(
        &app.config.analytics.url,
        &app.config.analytics_pool_settings(),
    )
    .await
    .unwrap();
    let report = battles::export_to(&db, &mut out, |_| {}).await.unwrap();
    db.close().await;
    let text = String::from_utf8(out).unwrap();
    let battles: Vec<Battle> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(report.battles, battles.len() as u64);
    (battles, text)
}

/// `battles export` writes what `battles import` reads: exported from one
/// database and imported into a fresh one, the battles, their participants
/// and (after a rebuild on both) the ratings are the same.
async fn an_export_imports_into_a_fresh_database_as_it_was(backend: Backend) {
    let Some(source) = spawn_stats(backend).await else {
        return;
    };
    let (mut history, _) = synthetic(40, 700, 0.05);
    // The last 100 as the demo history stores them (negative ids).
    let demo = battle_import::as_demo(history.drain(600..)).collect::<Vec<_>>();
    let mut report = battle_import::ImportReport::default();
    battle_import::ingest_all(&source.db, history.clone(), 250, &mut report, |_| {})
        .await
        .unwrap();
    let ratings = stored_players(&source).await;
    // Synthetic battles (negative ids) are not exported: import refuses them.
    battle_import::ingest_all(&source.db, demo, 250, &mut report, |_| {})
        .await
        .unwrap();
    let path = source.dir.path().join("export.jsonl");
    let text = battles::export(&source.config, Some(&path)).await.unwrap();
    assert!(
        text.starts_with("exported 600 battles (")
            && text.ends_with("; 100 synthetic battles (negative ids) left out"),
        "{text}"
    );
    let (from_source, source_text) = exported(&source).await;
    assert_eq!(std::fs::read_to_string(&path).unwrap(), source_text);
    // What was ingested, in time order, participants by login.
    let mut expected = history.clone();
    expected.sort_by_key(|b| (b.started_at, b.id));
    for b in &mut expected {
        b.participants.sort_by(|x, y| x.login.cmp(&y.login));
    }
    assert_eq!(from_source, expected);

    let Some(copy) = spawn_stats(backend).await else {
        return;
    };
    let summary = battles::import(&copy.config, &path, 100, false)
        .await
        .unwrap();
    assert!(summary.contains(": 600 inserted ("), "{summary}");
    let (from_copy, copy_text) = exported(&copy).await;
    assert_eq!(from_copy, from_source);
    assert_eq!(copy_text, source_text);
    // The ratings of the real history: incremental on import, and rebuilt.
    let imported = stored_players(&copy).await;
    battles::rebuild(&copy.config).await.unwrap();
    let rebuilt = stored_players(&copy).await;
    assert_eq!((ratings.len(), imported.len(), rebuilt.len()), (40, 40, 40));
    for (login, (rating, battles, wins)) in &ratings {
        for (side, other) in [("imported", &imported), ("rebuilt", &rebuilt)] {
            let (r, n, w) = &other[login];
            assert!(
                close(rating.mu, r.mu) && close(rating.sigma, r.sigma),
                "{side} {login}: {rating:?} vs {r:?}"
            );
            assert_eq!((battles, wins), (n, w), "{side} {login}");
        }
    }
    source.stop().await;
    copy.stop().await;
}

/// Imports ingest through a pipeline (the next batch's battles and
/// participants are written while the previous batch's players are rated and
/// committed). Its answers and ratings are those of ingesting batch after
/// batch, also when a new player's login changes case between adjacent
/// batches (one row, the first spelling) and when a batch repeats ids of the
/// one before it (duplicates).
async fn a_pipelined_import_equals_batch_after_batch_ingestion(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let (mut history, _) = synthetic(60, 600, 0.0);
    // A new player in three adjacent batches of 30, spelled three ways.
    for (index, spelling) in [(95, "Newbie_9"), (125, "NEWBIE_9"), (155, "newbie_9")] {
        history[index].participants[0].login = spelling.into();
    }
    let mut batches: Vec<Vec<Battle>> = history.chunks(30).map(<[Battle]>::to_vec).collect();
    // Each of batches 5..10 repeats two battles of the batch before it.
    for k in 5..10 {
        let repeated = batches[k - 1][..2].to_vec();
        batches[k].extend(repeated);
    }
    let mut pipeline = app.db.battles().pipeline();
    let mut answered = Vec::new();
    for batch in batches.clone() {
        answered.extend(pipeline.push(batch).await.unwrap());
    }
    answered.extend(pipeline.finish().await.unwrap());
    assert_eq!(answered.len(), batches.len());
    let mut inserted = 0;
    for (done, batch) in answered.iter().zip(&batches) {
        assert_eq!(done.battles, *batch, "answered in push order");
        let expected: Vec<Ingested> = (0..batch.len())
            .map(|i| match i < 30 {
                true => Ingested::Inserted,
                false => Ingested::Duplicate,
            })
            .collect();
        assert_eq!(done.outcome, expected);
        inserted += done
            .outcome
            .iter()
            .filter(|o| **o == Ingested::Inserted)
            .count();
    }
    assert_eq!(inserted, 600);

    // What ingesting batch after batch gives: every battle once, in order,
    // the new player under the first spelling.
    let mut book = RatingBook::new();
    let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
    for battle in &history {
        let mut battle = battle.clone();
        for p in &mut battle.participants {
            if p.login.eq_ignore_ascii_case("newbie_9") {
                p.login = "Newbie_9".into();
            }
            let entry = totals.entry(p.login.clone()).or_default();
            *entry = (entry.0 + 1, entry.1 + i64::from(p.won));
        }
        book.apply(&battle);
    }
    let stored = stored_players(&app).await;
    assert_eq!(stored.len(), 61, "one row for the three spellings");
    assert_eq!(stored["Newbie_9"].1, 3);
    for (login, (rating, battles, wins)) in &stored {
        let expected = book.get(login);
        assert!(
            close(rating.mu, expected.mu) && close(rating.sigma, expected.sigma),
            "{login}: {rating:?} vs {expected:?}"
        );
        assert_eq!((*battles, *wins), totals[login], "{login}");
    }
    app.stop().await;
}

/// An import racing HTTP ingestion of the same battles (the game server
/// uploading while the operator imports its log): both finish without an
/// error, every battle is stored once, and each player's totals are those of
/// the stored battles (the order ratings were applied in is the race's).
async fn an_import_racing_http_ingestion_stores_each_battle_once(backend: Backend) {
    let Some(app) = spawn_stats(backend).await else {
        return;
    };
    let (history, _) = synthetic(60, 900, 0.0);
    let db = app.db.clone();
    let file = history.clone();
    let import = tokio::spawn(async move {
        let mut report = battle_import::ImportReport::default();
        battle_import::ingest_all(&db, file, 30, &mut report, |_| {})
            .await
            .map(|()| report)
    });
    let mut inserted_over_http = 0;
    for chunk in history.chunks(45) {
        let values: Vec<Value> = chunk
            .iter()
            .map(|b| serde_json::to_value(b).unwrap())
            .collect();
        inserted_over_http += ingest(&app, &values).await["inserted"].as_u64().unwrap();
    }
    let report = import.await.unwrap().unwrap();
    assert_eq!(report.inserted + inserted_over_http, 900, "{report:?}");
    assert_eq!(report.inserted + report.duplicate, 900, "{report:?}");
    let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
    for p in history.iter().flat_map(|b| &b.participants) {
        let entry = totals.entry(p.login.clone()).or_default();
        *entry = (entry.0 + 1, entry.1 + i64::from(p.won));
    }
    let stored = stored_players(&app).await;
    assert_eq!(stored.len(), totals.len());
    for (login, (_, battles, wins)) in &stored {
        assert_eq!((*battles, *wins), totals[login], "{login}");
    }
    app.stop().await;
}

/// The store's PostgreSQL sessions run without JIT compilation: on tables
/// not yet analysed, the planner's estimates put each page read of a rebuild
/// over `jit_above_cost`, and 1M battles took 146 s to rebuild instead of 32.
#[tokio::test]
async fn postgres_sessions_run_without_jit() {
    let Some(app) = spawn_stats(Backend::Postgres).await else {
        return;
    };
    for _ in 0..3 {
        let jit: String = sqlx::query_scalar("SHOW jit")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(jit, "off");
    }
    app.stop().await;
}

//! The public statistics routes: a player's totals, the leaderboard, the
//! activity summary and win prediction. Each handler carries its
//! `#[utoipa::path]`: these are the operations of the OpenAPI document, and
//! their answers are the `ToSchema` types of [`super::body`]. A doc comment
//! on a handler would become its operation's summary and description in
//! docs/openapi.json, so notes on handlers here are plain comments.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use gamegate_analytics::{Rating, win_probability};
use gamegate_domain::{ErrorCode, FieldErrorCode, RegistrationRules, normalise_login};
use gamegate_store::LeaderboardMode;
use gamegate_store::reports::Bucket;

use super::body::{
    LeaderboardBody, LeaderboardEntry, PlayerStatsBody, PredictionBody, SummaryBody,
};
use super::{MAX_LIMIT, MAX_SUMMARY_DAYS, StatsState, is_login, query_error};
use crate::http::ApiError;
use crate::http::openapi::ErrorBody;
use crate::http::query::Params;
use gamegate_store::unix_now;

#[utoipa::path(
    get,
    operation_id = "stats_player",
    path = "/stats/players/{login}",
    tag = "statistics",
    params(("login" = String, Path, description = "A login under the registration's rule (3–16 of `[A-Za-z0-9_]` by default, after NFC), in any case: looked up case-insensitively", pattern = "^[A-Za-z0-9_]{3,16}$")),
    responses(
        (status = 200, description = "The player's totals and rating", body = PlayerStatsBody),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 404, description = "`not_found`: never in a stored battle", body = ErrorBody),
        (status = 422, description = "`validation_error`: not a login", body = ErrorBody),
        (status = 429, description = "`rate_limited`: past `edge.stats_per_minute` (one budget for every public statistics route)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 503, description = "`database_unavailable`; `request_timeout` past `analytics.query_timeout_ms` (with Retry-After)", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `request_timeout`: seconds to wait"))),
    )
)]
pub(super) async fn player(
    State(state): State<StatsState>,
    Path(login): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PlayerStatsBody>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &[], lang);
    let rules = &state.common.rules;
    if !is_login(rules, &login) {
        let rule = rules.login_rule_text();
        params.invalid("login", FieldErrorCode::Charset, &rule);
    }
    params.finish()?;
    let stats = match state.analytics.battles().player(&login).await {
        Ok(Some(stats)) => stats,
        Ok(None) => return Err(ApiError::new(ErrorCode::NotFound, lang)),
        Err(e) => return Err(query_error(e, lang)),
    };
    // The accounts may live in another database than the battles: asked
    // there, by the same case-insensitive key.
    let registered = match &state.accounts {
        Some(accounts) => !accounts
            .accounts()
            .registered(&[login.as_str()])
            .await
            .map_err(|e| query_error(e, lang))?
            .is_empty(),
        None => false,
    };
    Ok(Json(PlayerStatsBody::new(&stats, registered)))
}

#[utoipa::path(
    get,
    operation_id = "stats_leaderboard",
    path = "/stats/leaderboard",
    tag = "statistics",
    params(
        ("mode" = Option<String>, Query, description = "`pvp` (default), `pve` or `all`: whose battles `min_battles` counts", pattern = "^(pvp|pve|all)$"),
        ("limit" = Option<u32>, Query, description = "1–100, default 20", minimum = 1, maximum = 100),
        ("min_battles" = Option<u32>, Query, description = "0–1000000, default 1 (at least one battle of the mode is always required)", minimum = 0, maximum = 1000000),
    ),
    responses(
        (status = 200, description = "Players by conservative rating (mu − 3σ), best first", body = LeaderboardBody),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 422, description = "`validation_error` with one entry per bad parameter", body = ErrorBody),
        (status = 429, description = "`rate_limited`: past `edge.stats_per_minute` (one budget for every public statistics route)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 503, description = "`database_unavailable`; `request_timeout` past `analytics.query_timeout_ms` (with Retry-After)", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `request_timeout`: seconds to wait"))),
    )
)]
pub(super) async fn leaderboard(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<LeaderboardBody>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["mode", "limit", "min_battles"], lang);
    let mode_name = params.choice("mode", &["pvp", "pve", "all"]);
    let limit = params.number("limit", 20, 1, MAX_LIMIT);
    let min_battles = params.number("min_battles", 1, 0, 1_000_000);
    params.finish()?;
    let mode = match mode_name {
        "pve" => LeaderboardMode::Pve,
        "all" => LeaderboardMode::All,
        _ => LeaderboardMode::Pvp,
    };
    let rows = state
        .analytics
        .battles()
        .leaderboard(mode, limit, min_battles)
        .await
        .map_err(|e| query_error(e, lang))?;
    let players = (1..)
        .zip(&rows)
        .map(|(rank, s)| {
            let (battles, wins) = match mode {
                LeaderboardMode::Pvp => (s.pvp_battles, s.pvp_wins),
                LeaderboardMode::Pve => (s.battles - s.pvp_battles, s.wins - s.pvp_wins),
                LeaderboardMode::All => (s.battles, s.wins),
            };
            LeaderboardEntry::new(rank, s, battles, wins)
        })
        .collect();
    Ok(Json(LeaderboardBody {
        mode: mode_name,
        // Both bounded by `Params::number` (at most 100 and 1,000,000).
        limit: u32::try_from(limit).unwrap_or(u32::MAX),
        min_battles: u32::try_from(min_battles).unwrap_or(u32::MAX),
        players,
    }))
}

#[utoipa::path(
    get,
    operation_id = "stats_summary",
    path = "/stats/summary",
    tag = "statistics",
    params(("days" = Option<u32>, Query, description = "1–366, default 7: today (UTC) and the days before", minimum = 1, maximum = 366)),
    responses(
        (status = 200, description = "Battles and active players per day, and totals", body = SummaryBody),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 422, description = "`validation_error`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: past `edge.stats_per_minute` (one budget for every public statistics route)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 503, description = "`database_unavailable`; `request_timeout` past `analytics.query_timeout_ms` (with Retry-After)", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `request_timeout`: seconds to wait"))),
    )
)]
pub(super) async fn summary(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SummaryBody>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["days"], lang);
    let days = params.number("days", 7, 1, MAX_SUMMARY_DAYS) as i64;
    params.finish()?;
    // Today (UTC) and the days - 1 before it.
    let since = Bucket::Day.start_of(unix_now()) - (days - 1) * 86_400;
    let summary = state
        .analytics
        .battles()
        .summary(since)
        .await
        .map_err(|e| query_error(e, lang))?;
    // `days` is bounded by `Params::number` (at most 366).
    Ok(Json(SummaryBody::new(days as u32, &summary)))
}

/// Most logins on one side of a prediction.
const MAX_TEAM: usize = 32;

/// A comma-separated team of distinct logins, or why not.
fn team(params: &mut Params, rules: &RegistrationRules, name: &str) -> Vec<String> {
    let Some(text) = params.text(name).map(str::to_owned) else {
        params.invalid(name, FieldErrorCode::Required, "comma-separated logins");
        return Vec::new();
    };
    let logins: Vec<String> = text.split(',').map(str::to_owned).collect();
    if logins.len() > MAX_TEAM {
        params.invalid(name, FieldErrorCode::TooLong, "at most 32 logins");
    } else if !logins.iter().all(|l| is_login(rules, l)) {
        let rule = format!("logins are {}", rules.login_rule_text());
        params.invalid(name, FieldErrorCode::Charset, &rule);
    }
    logins
}

// `GET /ml/predict?team_a=l1,l2&team_b=l3`: P(team A wins) from the stored
// ratings. Logins never seen get the default rating and are listed.
#[utoipa::path(
    get,
    operation_id = "ml_predict",
    path = "/ml/predict",
    tag = "statistics",
    params(
        ("team_a" = String, Query, description = "Comma-separated logins (1–32)", pattern = "^[A-Za-z0-9_]{3,16}(,[A-Za-z0-9_]{3,16}){0,31}$"),
        ("team_b" = String, Query, description = "Comma-separated logins (1–32); a login also in team_a counts on both sides", pattern = "^[A-Za-z0-9_]{3,16}(,[A-Za-z0-9_]{3,16}){0,31}$"),
    ),
    responses(
        (status = 200, description = "The probability that team A wins", body = PredictionBody),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 422, description = "`validation_error`", body = ErrorBody),
        (status = 429, description = "`rate_limited`: past `edge.predict_per_minute`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 503, description = "`database_unavailable`; `request_timeout` past `analytics.query_timeout_ms` (with Retry-After)", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `request_timeout`: seconds to wait"))),
    )
)]
pub(super) async fn predict(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<PredictionBody>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["team_a", "team_b"], lang);
    let a = team(&mut params, &state.common.rules, "team_a");
    let b = team(&mut params, &state.common.rules, "team_b");
    // A login on both sides (or twice on one) is not refused: it is a
    // well-formed question, and its rating simply counts where it is listed.
    let mut all: Vec<&str> = a.iter().chain(&b).map(String::as_str).collect();
    all.sort_unstable();
    all.dedup();
    params.finish()?;
    let known = state
        .analytics
        .battles()
        .ratings(&all)
        .await
        .map_err(|e| query_error(e, lang))?;
    let side = |logins: &[String]| -> Vec<Rating> {
        logins
            .iter()
            .map(|l| known.get(&normalise_login(l)).copied().unwrap_or_default())
            .collect()
    };
    let p = win_probability(&side(&a), &side(&b));
    let unknown_logins: Vec<String> = all
        .iter()
        .filter(|l| !known.contains_key(&normalise_login(l)))
        .map(|l| (*l).to_owned())
        .collect();
    let note = match unknown_logins.is_empty() {
        true => "every login has a stored rating",
        false => "logins never seen in a battle use the default rating (mu 25, sigma 8.33)",
    };
    Ok(Json(PredictionBody {
        team_a: a,
        team_b: b,
        p_team_a_wins: p,
        unknown_logins,
        note,
    }))
}

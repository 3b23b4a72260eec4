//! The statistics service (issue 6): battle ingestion, player statistics,
//! the leaderboard and activity summaries over the analytics database, and
//! the accounts database's admin reports as an API. Thin handlers: parse and
//! bound the input, call the store, shape the JSON.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Path, RawQuery, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use gamegate_analytics::{Battle, Detector, Rating, RatingBook, win_probability};
use gamegate_domain::{
    ErrorCode, FieldError, FieldErrorCode, Lang, RegistrationRules, normalise_login,
};
use gamegate_store::reports::Bucket;
use gamegate_store::{Database, Ingested, LeaderboardMode, PlayerStats, StoreError};
use serde_json::{Value, json};

use super::{ApiError, Common, middleware};
use crate::edge::ApiKeys;

/// Most entries a leaderboard or top-telegram answer lists.
pub const MAX_LIMIT: u64 = 100;
/// Longest summary window, in days.
pub const MAX_SUMMARY_DAYS: u64 = 366;
/// Longest registrations window, in seconds (a year).
const MAX_REGISTRATIONS_WINDOW: i64 = 366 * 86_400;

/// What `POST /stats/battles` accepts.
pub struct IngestPolicy {
    tokens: ApiKeys,
    max_batch: usize,
    body_limit: usize,
}

impl IngestPolicy {
    pub fn from_config(config: &crate::Config) -> Self {
        IngestPolicy {
            tokens: ApiKeys::new(crate::config::expose_all(&config.analytics.ingest_tokens)),
            max_batch: config.analytics.ingest_max_batch,
            body_limit: config.analytics.ingest_body_limit_bytes,
        }
    }
}

#[derive(Clone)]
pub struct StatsState {
    pub common: Common,
    pub analytics: Database,
    /// For the registration reports; `None` where the process has no
    /// accounts database.
    pub accounts: Option<Database>,
    pub ingest: Arc<IngestPolicy>,
    pub anomalies: Arc<AnomalyCache>,
}

/// The anomaly detector's state after a pass over every stored battle.
pub struct AnomalySnapshot {
    detector: Detector,
    battles: u64,
    computed_at: i64,
}

/// `/ml/anomalies` answers from the last pass; a background task
/// ([`AnomalyCache::run`]) recomputes it every `analytics.anomalies_refresh_secs`
/// and about a second after an HTTP ingestion stored new battles. A pass
/// over a million battles takes longer than a request may, hence not on demand.
#[derive(Default)]
pub struct AnomalyCache {
    snapshot: std::sync::RwLock<Option<Arc<AnomalySnapshot>>>,
    stale: tokio::sync::Notify,
}

impl AnomalyCache {
    pub fn current(&self) -> Option<Arc<AnomalySnapshot>> {
        self.snapshot
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// New battles were stored: recompute soon.
    pub fn mark_stale(&self) {
        self.stale.notify_one();
    }

    /// One pass over the stored battles in time order, scoring each battle
    /// with the ratings before it, then applying it (what
    /// `gamegate_analytics::analyse` does, fed page by page from the
    /// database instead of from one in-memory list).
    pub async fn refresh(&self, db: &Database) -> Result<(), StoreError> {
        let mut book = RatingBook::new();
        let mut detector = Detector::new();
        let mut battles = 0u64;
        db.battles()
            .for_each_battle(|battle| {
                detector.observe(battle, |login| book.get(login));
                book.apply(battle);
                battles += 1;
            })
            .await?;
        *self
            .snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::new(AnomalySnapshot {
            detector,
            battles,
            computed_at: unix_now(),
        }));
        Ok(())
    }

    pub async fn run(
        self: Arc<Self>,
        db: Database,
        interval: std::time::Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        loop {
            if let Err(e) = self.refresh(&db).await {
                tracing::warn!(error = %e, "anomaly detection pass failed; kept the previous one");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
                _ = self.stale.notified() => {
                    // Let a burst of ingestions land before the pass.
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }
}

impl FromRef<StatsState> for Common {
    fn from_ref(state: &StatsState) -> Common {
        state.common.clone()
    }
}

fn bounded(router: Router<StatsState>, state: &StatsState) -> Router {
    router
        .route_layer(axum::middleware::from_fn_with_state(
            state.common.clone(),
            middleware::backstop_timeout,
        ))
        .with_state(state.clone())
}

/// Player statistics, the leaderboard and the activity summary: fine for a
/// public listener.
pub fn public_stats_routes(state: StatsState) -> Router {
    bounded(
        Router::new()
            .route("/stats/players/{login}", get(player))
            .route("/stats/leaderboard", get(leaderboard))
            .route("/stats/summary", get(summary)),
        &state,
    )
}

/// `GET /ml/predict`: public like the statistics, with a limit of its own.
pub fn predict_routes(state: StatsState) -> Router {
    bounded(Router::new().route("/ml/predict", get(predict)), &state)
}

/// `POST /stats/battles`: internal, token-protected.
pub fn ingest_routes(state: StatsState) -> Router {
    bounded(Router::new().route("/stats/battles", post(ingest)), &state)
}

/// Registrations and Telegram ids from the accounts database: admin
/// information.
pub fn admin_stats_routes(state: StatsState) -> Router {
    bounded(
        Router::new()
            .route("/stats/registrations", get(registrations))
            .route("/stats/top-telegram", get(top_telegram))
            .route("/ml/anomalies", get(anomalies)),
        &state,
    )
}

/// The query string as name → value; a repeated or unknown name is refused.
pub(crate) struct Params {
    values: HashMap<String, String>,
    errors: Vec<FieldError>,
    lang: Lang,
}

impl Params {
    pub(crate) fn parse(raw: Option<String>, known: &[&str], lang: Lang) -> Self {
        let mut params = Params {
            values: HashMap::new(),
            errors: Vec::new(),
            lang,
        };
        let raw = raw.unwrap_or_default();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            if !known.contains(&name.as_ref()) {
                params.fail(&name, FieldErrorCode::UnknownField, "unknown parameter");
            } else if params
                .values
                .insert(name.to_string(), value.to_string())
                .is_some()
            {
                params.fail(&name, FieldErrorCode::Type, "given more than once");
            }
        }
        params
    }

    fn fail(&mut self, field: &str, code: FieldErrorCode, message: &str) {
        // Bounded: a query string of a thousand unknown names gets one entry each
        // only up to a point.
        if self.errors.len() < 16 {
            self.errors.push(FieldError {
                field: field.chars().take(64).collect(),
                code,
                message: message.to_owned(),
            });
        }
    }

    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// A whole number in `min..=max`, or `default` when absent.
    pub(crate) fn number(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        match self.values.get(name).map(|v| v.parse::<u64>()) {
            None => default,
            Some(Ok(n)) if (min..=max).contains(&n) => n,
            Some(Ok(_)) => {
                self.fail(
                    name,
                    FieldErrorCode::OutOfRange,
                    &format!("must be between {min} and {max}"),
                );
                default
            }
            Some(Err(_)) => {
                self.fail(name, FieldErrorCode::Type, "must be a whole number");
                default
            }
        }
    }

    /// One of `choices`, or the first when absent.
    pub(crate) fn choice<'c>(&mut self, name: &str, choices: &[&'c str]) -> &'c str {
        match self.values.get(name) {
            None => choices[0],
            Some(v) => match choices.iter().find(|c| **c == v) {
                Some(c) => c,
                None => {
                    let message = format!("must be one of {}", choices.join(", "));
                    self.fail(name, FieldErrorCode::OutOfRange, &message);
                    choices[0]
                }
            },
        }
    }

    pub(crate) fn invalid(&mut self, name: &str, code: FieldErrorCode, message: &str) {
        self.fail(name, code, message);
    }

    /// `validation_error` (422) with one entry per bad parameter, if any.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.errors.is_empty() {
            true => Ok(()),
            false => Err(ApiError::validation(self.errors, self.lang)),
        }
    }
}

pub(super) fn store_error(e: StoreError, lang: Lang) -> ApiError {
    let code = if e.is_unavailable() {
        ErrorCode::DatabaseUnavailable
    } else {
        ErrorCode::InternalError
    };
    // Logged once, with its cause, when the answer is made.
    ApiError::new(code, lang).with_cause(anyhow::Error::new(e).context("statistics query"))
}

/// A public statistics query that failed: past `analytics.query_timeout_ms`
/// (the public routes' database handle carries it as its operation timeout)
/// it is `503 request_timeout` with `Retry-After`, so a client knows to back
/// off rather than retry at once; otherwise as [`store_error`].
fn query_error(e: StoreError, lang: Lang) -> ApiError {
    match e {
        e @ StoreError::TimedOut(_) => {
            let mut error = ApiError::new(ErrorCode::RequestTimeout, lang).with_cause(
                anyhow::Error::new(e).context("statistics query cut at analytics.query_timeout_ms"),
            );
            error.retry_after_secs = Some(QUERY_RETRY_AFTER_SECS);
            error
        }
        e => store_error(e, lang),
    }
}

/// `Retry-After` of a statistics query cut by its timeout.
const QUERY_RETRY_AFTER_SECS: u64 = 5;

fn json_response(body: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The registration's login rule (lengths, charset, NFC), the one battle
/// ingestion applies too; lookups then match case-insensitively.
fn is_login(rules: &RegistrationRules, login: &str) -> bool {
    rules.check_login(login).is_ok()
}

fn rating_json(s: &PlayerStats) -> Value {
    json!({
        "mu": s.rating.mu,
        "sigma": s.rating.sigma,
        "conservative": s.rating.conservative(),
    })
}

/// Kills per death; with no deaths, the kills (the usual convention).
fn kill_death_ratio(kills: i64, deaths: i64) -> f64 {
    kills as f64 / Ord::max(deaths, 1) as f64
}

fn ratio(part: i64, whole: i64) -> f64 {
    match whole {
        0 => 0.0,
        _ => part as f64 / whole as f64,
    }
}

/// The JSON of one player's statistics.
pub fn player_json(s: &PlayerStats) -> Value {
    json!({
        "login": s.login,
        "battles": s.battles,
        "wins": s.wins,
        "win_rate": ratio(s.wins, s.battles),
        "pvp_battles": s.pvp_battles,
        "pvp_wins": s.pvp_wins,
        "kills": s.kills,
        "deaths": s.deaths,
        "kd": kill_death_ratio(s.kills, s.deaths),
        "damage_dealt": s.damage_dealt,
        "damage_taken": s.damage_taken,
        "damage_per_battle": ratio(s.damage_dealt, s.battles),
        "rating": rating_json(s),
    })
}

async fn player(
    State(state): State<StatsState>,
    Path(login): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &[], lang);
    let rules = &state.common.rules;
    if !is_login(rules, &login) {
        let rule = rules.login_rule_text();
        params.invalid("login", FieldErrorCode::Charset, &rule);
    }
    params.finish()?;
    match state.analytics.battles().player(&login).await {
        Ok(Some(stats)) => Ok(axum::Json(player_json(&stats)).into_response()),
        Ok(None) => Err(ApiError::new(ErrorCode::NotFound, lang)),
        Err(e) => Err(query_error(e, lang)),
    }
}

async fn leaderboard(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
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
    let players: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (battles, wins) = match mode {
                LeaderboardMode::Pvp => (s.pvp_battles, s.pvp_wins),
                LeaderboardMode::Pve => (s.battles - s.pvp_battles, s.wins - s.pvp_wins),
                LeaderboardMode::All => (s.battles, s.wins),
            };
            json!({
                "rank": i + 1,
                "login": s.login,
                "rating": rating_json(s),
                "battles": battles,
                "wins": wins,
                "win_rate": ratio(wins, battles),
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "mode": mode_name,
        "limit": limit,
        "min_battles": min_battles,
        "players": players,
    }))
    .into_response())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn summary(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
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
    let per_day: Vec<Value> = summary
        .days
        .iter()
        .map(|d| {
            json!({
                "date": &crate::report_cmd::format_utc(d.day_start)[..10],
                "day_start": d.day_start,
                "battles": d.battles,
                "active_players": d.active_players,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "days": days,
        "since": summary.since,
        "battles": summary.battles,
        "pvp_battles": summary.pvp_battles,
        "participants": summary.participants,
        "active_players": summary.active_players,
        "per_day": per_day,
    }))
    .into_response())
}

async fn registrations(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["since", "by"], lang);
    let window = match params.text("since") {
        None => Ok(86_400),
        Some(text) => crate::report_cmd::parse_duration(text),
    };
    let window = match window {
        Ok(w) if w <= MAX_REGISTRATIONS_WINDOW => w,
        Ok(_) => {
            params.invalid("since", FieldErrorCode::OutOfRange, "at most 366d");
            0
        }
        Err(_) => {
            params.invalid(
                "since",
                FieldErrorCode::Type,
                "a whole number followed by s, m, h or d, e.g. 90m, 24h, 7d",
            );
            0
        }
    };
    let bucket = match params.choice("by", &["hour", "day"]) {
        "day" => Bucket::Day,
        _ => Bucket::Hour,
    };
    params.finish()?;
    let accounts = state
        .accounts
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, lang))?;
    let report = accounts
        .reports()
        .registrations_since(unix_now() - window, bucket)
        .await
        .map_err(|e| store_error(e, lang))?;
    Ok(json_response(crate::report_cmd::registrations_json(
        &report,
    )))
}

async fn top_telegram(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["limit"], lang);
    let limit = params.number("limit", 10, 1, MAX_LIMIT);
    params.finish()?;
    let accounts = state
        .accounts
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, lang))?;
    let rows = accounts
        .reports()
        .top_telegram(limit)
        .await
        .map_err(|e| store_error(e, lang))?;
    Ok(json_response(crate::report_cmd::top_telegram_json(&rows)))
}

/// The token of `Authorization: Bearer <token>`, or empty.
fn bearer(req: &Request) -> &[u8] {
    req.headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .and_then(|v| v.strip_prefix(b"Bearer "))
        .unwrap_or_default()
}

/// `POST /stats/battles`: a JSON array of battles. Each item is validated on
/// its own; the valid ones are stored in one transaction. The answer is 200
/// with one result per item, in order: `inserted`, `duplicate` (the id was
/// stored before; nothing changed) or `invalid` (with `error` and
/// `message`). A request-level problem (token, body, not an array, too many
/// items) is the usual error answer instead.
async fn ingest(State(state): State<StatsState>, req: Request<Body>) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let fail = |code| ApiError::new(code, lang);
    // Before reading the body: an unauthenticated client gets nothing parsed.
    if !state.ingest.tokens.accepts(bearer(&req)) {
        return Err(fail(ErrorCode::InvalidApiKey));
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if !content_type.is_some_and(super::extract::is_json) {
        return Err(fail(ErrorCode::UnsupportedMediaType));
    }
    let limit = state.ingest.body_limit;
    let bytes = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(bytes) => bytes,
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return Err(fail(match too_large {
                true => ErrorCode::PayloadTooLarge,
                false => ErrorCode::InvalidJson,
            }));
        }
    };
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(fail(ErrorCode::InvalidJson));
    };
    if items.len() > state.ingest.max_batch {
        return Err(ApiError::validation(
            vec![FieldError {
                field: "battles".into(),
                code: FieldErrorCode::TooLong,
                message: format!("at most {} battles per request", state.ingest.max_batch),
            }],
            lang,
        ));
    }

    // Per item: its id (when it has one) and either its index among the
    // valid battles or why it is invalid.
    type ItemResult = (Option<i64>, Result<usize, (String, String)>);
    let mut results: Vec<ItemResult> = Vec::new();
    let mut valid: Vec<Battle> = Vec::new();
    for item in items {
        let id = item.get("id").and_then(Value::as_i64);
        let parsed = serde_json::from_value::<Battle>(item)
            .map_err(|e| ("invalid_battle".to_owned(), e.to_string()))
            .and_then(|b| {
                b.checked(&state.common.rules)
                    .map_err(|e| (e.code.to_owned(), e.message))
            });
        results.push((
            id,
            parsed.map(|b| {
                valid.push(b);
                valid.len() - 1
            }),
        ));
    }
    let stored = state
        .analytics
        .battles()
        .ingest(&valid)
        .await
        .map_err(|e| store_error(e, lang))?;
    let (mut inserted, mut duplicate, mut invalid) = (0, 0, 0);
    let results: Vec<Value> = results
        .into_iter()
        .map(|(id, r)| match r {
            Ok(i) if stored[i] == Ingested::Inserted => {
                inserted += 1;
                json!({"id": id, "status": "inserted"})
            }
            Ok(_) => {
                duplicate += 1;
                json!({"id": id, "status": "duplicate"})
            }
            Err((error, message)) => {
                invalid += 1;
                json!({"id": id, "status": "invalid", "error": error, "message": message})
            }
        })
        .collect();
    if inserted > 0 {
        state.anomalies.mark_stale();
    }
    Ok(axum::Json(json!({
        "ok": invalid == 0,
        "inserted": inserted,
        "duplicate": duplicate,
        "invalid": invalid,
        "results": results,
    }))
    .into_response())
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

/// `GET /ml/predict?team_a=l1,l2&team_b=l3`: P(team A wins) from the stored
/// ratings. Logins never seen get the default rating and are listed.
async fn predict(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
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
    let unknown: Vec<&str> = all
        .iter()
        .copied()
        .filter(|l| !known.contains_key(&normalise_login(l)))
        .collect();
    Ok(axum::Json(json!({
        "team_a": a,
        "team_b": b,
        "p_team_a_wins": p,
        "unknown_logins": unknown,
        "note": match unknown.is_empty() {
            true => "every login has a stored rating",
            false => "logins never seen in a battle use the default rating (mu 25, sigma 8.33)",
        },
    }))
    .into_response())
}

/// `GET /ml/anomalies?min_battles=`: flagged players of the last pass.
async fn anomalies(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["min_battles", "limit"], lang);
    let min_battles = params.number("min_battles", 20, 0, 1_000_000);
    let limit = params.number("limit", 100, 1, 1_000);
    params.finish()?;
    let Some(snapshot) = state.anomalies.current() else {
        let mut e = ApiError::new(ErrorCode::DatabaseUnavailable, lang);
        e.retry_after_secs = Some(5);
        return Err(e);
    };
    let flagged = snapshot
        .detector
        .flagged(u32::try_from(min_battles).unwrap_or(u32::MAX));
    let total = flagged.len();
    let players: Vec<_> = flagged.into_iter().take(limit as usize).collect();
    Ok(axum::Json(json!({
        "computed_at": snapshot.computed_at,
        "battles_analysed": snapshot.battles,
        "min_battles": min_battles,
        "flagged": total,
        "players": players,
    }))
    .into_response())
}

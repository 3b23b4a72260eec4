//! The OpenAPI 3.1 document of the public listener, served at
//! `/openapi.json` and committed as docs/openapi.json (a test compares).
//!
//! The schemas describe the wire format the handlers produce; the request
//! rules come from the domain's defaults (API.md §3). A test requests every
//! documented path on a running app, so a route cannot be documented without
//! existing, and schemathesis (bench/schemathesis.sh) checks every answer
//! against this document.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use gamegate_domain::ErrorCode;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// `POST /api/register` body. Unknown fields are refused (422).
#[allow(dead_code)]
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    /// 3–16 characters of the login charset (default `[A-Za-z0-9_]`),
    /// counted after Unicode NFC normalisation; unique case-insensitively
    /// (NFC before case folding). Stored and sent to the game server in NFC.
    #[schema(
        min_length = 3,
        max_length = 16,
        pattern = "^[A-Za-z0-9_]+$",
        example = "Hero_01"
    )]
    login: String,
    /// 6–20 characters, no control characters (Unicode Cc).
    #[schema(
        min_length = 6,
        max_length = 20,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$",
        example = "secret12"
    )]
    password: String,
    /// 0 or 1. An integer by its exact decimal value, as JSON Schema counts
    /// them: `1`, `1.0`, `1e0`, `100E-2` are 1; `1.0000000000000001` is not
    /// an integer (`type`); other integers are `out_of_range`.
    #[schema(minimum = 0, maximum = 1, example = 0)]
    gender: u8,
    /// The player's Telegram user id: 1 … 2^63 − 1. An integer by its exact
    /// decimal value (`7000000001.0` is 7000000001, `7000000001.0000001` is
    /// not an integer: `type`); an integer outside the range however written
    /// (`0`, `-0`, `9223372036854775808`, `1E400`) is `out_of_range`.
    #[schema(minimum = 1, example = 123_456_789)]
    telegram_id: i64,
    /// Telegram Login Widget object or `{"init_data": "…"}` (docs/TELEGRAM.md).
    #[schema(value_type = Option<Object>)]
    telegram_auth: Option<serde_json::Value>,
}

/// The success answer.
#[allow(dead_code)]
#[derive(ToSchema)]
struct Registered {
    #[schema(example = true)]
    ok: bool,
    #[schema(example = "Регистрация успешна!")]
    message: String,
    #[schema(example = "Hero_01")]
    login: String,
}

/// Every non-2xx answer (API.md §2).
#[allow(dead_code)]
#[derive(ToSchema)]
struct ErrorBody {
    #[schema(example = false)]
    ok: bool,
    /// A stable code; the site chooses what to show by it (docs/API.md).
    #[schema(example = "validation_error")]
    detail: String,
    /// Ready to show to the player, in the configured language.
    message: String,
    /// Only with `validation_error`: one entry per failing field, at most 20.
    errors: Option<Vec<FieldErrorEntry>>,
    /// Only when more than 20 fields fail: how many `errors` leaves out.
    #[schema(minimum = 1)]
    errors_omitted: Option<u64>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct FieldErrorEntry {
    #[schema(example = "login")]
    field: String,
    #[schema(example = "too_short")]
    code: String,
    message: String,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct Rates {
    exp: f64,
    pve: f64,
    pvp: f64,
}

/// `GET /api/server/status`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct ServerStatus {
    server_status: f64,
    rates: Rates,
    client_status: f64,
    /// Unix seconds of the last read of the constants.
    updated_at: i64,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: String,
}

#[utoipa::path(
    post,
    path = "/api/register",
    tag = "registration",
    request_body(content = RegisterBody, content_type = "application/json"),
    params(("X-Player-IP" = Option<String>, Header,
        description = "The player's address (one IPv4 or IPv6 address) when the site's server calls for a player: with a valid key, rate limits, the ban jail and the access log count that player instead of the site (docs/EDGE.md). Ignored without a valid key.",
        example = "203.0.113.7")),
    security(("api_key" = [])),
    responses(
        (status = 200, description = "Account created in the database and on the game server", body = Registered),
        (status = 400, description = "`invalid_json`", body = ErrorBody),
        (status = 403, description = "`invalid_api_key`, `banned` (with Retry-After), `limit_exceeded`, `not_in_telegram_group`, `telegram_auth_invalid`", body = ErrorBody,
            headers(("Retry-After" = Option<u64>, description = "with `banned`: seconds left of the ban"))),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 405, description = "`method_not_allowed`", body = ErrorBody),
        (status = 409, description = "`login_taken`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`validation_error` with `errors`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
        (status = 500, description = "`internal_error`", body = ErrorBody),
        (status = 503, description = "`game_server_unavailable`, `database_unavailable`, `telegram_unavailable`, `request_timeout`", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn register() {}

#[utoipa::path(
    get,
    path = "/api/server/status",
    tag = "status",
    responses(
        (status = 200, description = "Server status, rates and client status", body = ServerStatus),
        (status = 403, description = "`banned`", body = ErrorBody),
        (status = 429, description = "`rate_limited`", body = ErrorBody,
            headers(("Retry-After" = u64, description = "seconds until the next request is allowed"))),
    )
)]
#[allow(dead_code)]
fn server_status() {}

#[utoipa::path(
    get,
    path = "/health",
    tag = "status",
    responses(
        (status = 200, description = "The public listener is up", body = Health),
        (status = 403, description = "`banned`", body = ErrorBody),
    )
)]
#[allow(dead_code)]
fn health() {}

/// A Weng-Lin rating: mean, uncertainty, and mu − 3σ (the leaderboard order).
#[allow(dead_code)]
#[derive(ToSchema)]
struct RatingBody {
    mu: f64,
    sigma: f64,
    conservative: f64,
}

/// `GET /stats/players/{login}`: totals over every stored battle.
#[allow(dead_code)]
#[derive(ToSchema)]
struct PlayerStatsBody {
    login: String,
    battles: i64,
    wins: i64,
    win_rate: f64,
    pvp_battles: i64,
    pvp_wins: i64,
    kills: i64,
    deaths: i64,
    /// kills / deaths; with no deaths, the kills.
    kd: f64,
    damage_dealt: i64,
    damage_taken: i64,
    damage_per_battle: f64,
    rating: RatingBody,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct LeaderboardEntry {
    rank: u32,
    login: String,
    rating: RatingBody,
    /// Battles and wins of the requested mode.
    battles: i64,
    wins: i64,
    win_rate: f64,
}

/// `GET /stats/leaderboard`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct LeaderboardBody {
    #[schema(example = "pvp")]
    mode: String,
    limit: u32,
    min_battles: u32,
    players: Vec<LeaderboardEntry>,
}

#[allow(dead_code)]
#[derive(ToSchema)]
struct SummaryDay {
    #[schema(example = "2026-11-25")]
    date: String,
    day_start: i64,
    battles: i64,
    active_players: i64,
}

/// `GET /stats/summary`: activity from the start of the UTC day `days - 1` days ago.
#[allow(dead_code)]
#[derive(ToSchema)]
struct SummaryBody {
    days: u32,
    since: i64,
    battles: i64,
    pvp_battles: i64,
    participants: i64,
    active_players: i64,
    /// Only days with battles, ascending.
    per_day: Vec<SummaryDay>,
}

/// `GET /ml/predict`.
#[allow(dead_code)]
#[derive(ToSchema)]
struct PredictionBody {
    team_a: Vec<String>,
    team_b: Vec<String>,
    /// P(team A wins), from the stored ratings.
    p_team_a_wins: f64,
    /// Logins with no stored rating: they count at the default (25 ± 8.33).
    unknown_logins: Vec<String>,
    note: String,
}

#[utoipa::path(
    get,
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
#[allow(dead_code)]
fn stats_player() {}

#[utoipa::path(
    get,
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
#[allow(dead_code)]
fn stats_leaderboard() {}

#[utoipa::path(
    get,
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
#[allow(dead_code)]
fn stats_summary() {}

#[utoipa::path(
    get,
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
#[allow(dead_code)]
fn ml_predict() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "gamegate public API",
        description = "Registration and server status for the game's website (docs/API.md); player statistics, the leaderboard and win prediction (docs/ANALYTICS.md)."
    ),
    paths(register, server_status, health, stats_player, stats_leaderboard, stats_summary, ml_predict),
    components(schemas(RegisterBody, Registered, ErrorBody, FieldErrorEntry, ServerStatus, Rates, Health,
        RatingBody, PlayerStatsBody, LeaderboardEntry, LeaderboardBody, SummaryDay, SummaryBody, PredictionBody)),
    modifiers(&ApiKeyScheme, &ErrorCodes),
    tags((name = "registration"), (name = "status"), (name = "statistics"))
)]
struct PublicApi;

struct ApiKeyScheme;

impl Modify for ApiKeyScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "api_key",
                SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
            );
        }
    }
}

/// `detail` is an enum of exactly the domain's codes, so the document can
/// never list a code the service does not have.
struct ErrorCodes;

impl Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{Object, Schema, Type};
        use utoipa::openapi::{RefOr, schema::ObjectBuilder};
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody") else {
            return;
        };
        let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let detail: Object = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes))
            .description(Some("A stable code; the site chooses what to show by it."))
            .build();
        body.properties
            .insert("detail".into(), RefOr::T(Schema::Object(detail)));
    }
}

/// The document as served and committed.
pub fn document() -> String {
    let mut doc = PublicApi::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.to_pretty_json().expect("the document serialises") + "\n"
}

/// `GET /openapi.json` on the public listener.
pub fn routes() -> Router {
    let body = document();
    Router::new().route(
        "/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
        }),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_committed_document_is_the_generated_one() {
        let committed = include_str!("../../../../docs/openapi.json");
        assert!(
            committed == super::document(),
            "docs/openapi.json is stale: run `gamegate docs openapi > docs/openapi.json`"
        );
    }

    /// The login patterns of the document are the domain's login rule under
    /// the default rules (the document describes the defaults).
    #[test]
    fn login_patterns_are_the_domain_rule() {
        let doc: serde_json::Value = serde_json::from_str(&super::document()).unwrap();
        let rules = gamegate_domain::RegistrationRules::default();
        let charset = rules.login_charset();
        let (min, max) = (rules.login_min_chars, rules.login_max_chars);
        let login = &doc["components"]["schemas"]["RegisterBody"]["properties"]["login"];
        assert_eq!(login["pattern"], format!("^[{charset}]+$"));
        assert_eq!(
            (login["minLength"].as_u64(), login["maxLength"].as_u64()),
            (Some(min as u64), Some(max as u64))
        );
        let param = &doc["paths"]["/stats/players/{login}"]["get"]["parameters"][0];
        assert_eq!(
            param["schema"]["pattern"],
            format!("^[{charset}]{{{min},{max}}}$")
        );
        for param in doc["paths"]["/ml/predict"]["get"]["parameters"]
            .as_array()
            .unwrap()
        {
            let one = format!("[{charset}]{{{min},{max}}}");
            assert_eq!(
                param["schema"]["pattern"],
                format!("^{one}(,{one}){{0,31}}$")
            );
        }
    }
}

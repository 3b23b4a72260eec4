//! The admin dashboard (issue 6): one page on the admin listener of
//! `gamegate all` (and on the listener of `serve stats`) with charts of
//! registrations, battles per day and the rating distribution, the
//! leaderboard and the flagged players. The page, its script, its style and
//! the chart library (Chart.js, MIT, vendored under
//! `assets/dashboard/vendor/` with its licence) are built into the binary;
//! the script draws the charts from the JSON endpoints of the same listener,
//! so there is no CDN and no inline script or style.
//!
//! Also `GET /stats/ratings/histogram`, the one figure the page needs that
//! no other endpoint gives.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::query::Params;
use super::stats::StatsState;
use super::{ApiError, middleware};

const PAGE: &str = include_str!("../../assets/dashboard/index.html");
const SCRIPT: &str = include_str!("../../assets/dashboard/dashboard.js");
const STYLE: &str = include_str!("../../assets/dashboard/dashboard.css");
const CHART_JS: &str = include_str!("../../assets/dashboard/vendor/chart.umd.min.js");

/// The vendored Chart.js release (`chart.js` on npm, MIT): the file is the
/// package's `dist/chart.umd.min.js`, byte for byte.
pub const CHART_JS_VERSION: &str = "4.6.1";

/// Where the page loads Chart.js from. The version is in the path, so the
/// file is cached for a year and a new release is a new address.
pub const CHART_JS_PATH: &str = "/admin/dashboard/vendor/chart.js-4.6.1/chart.umd.min.js";

/// How long a browser keeps a versioned file: a year, never revalidated;
/// `private` because the dashboard may sit behind `admin.tokens`.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";

/// Only files and JSON from this origin; no inline script or style, no
/// forms, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

/// Most bins a histogram answer has.
pub const MAX_BINS: u64 = 100;

/// The page, its assets and the histogram endpoint (which waits on the
/// database, so it alone gets the backstop timeout).
pub fn dashboard_routes(state: StatsState) -> Router {
    let histogram = Router::new()
        .route("/stats/ratings/histogram", get(rating_histogram))
        .route_layer(axum::middleware::from_fn_with_state(
            state.common.clone(),
            middleware::backstop_timeout,
        ));
    Router::new()
        .route("/admin/dashboard", get(page))
        .route("/admin/dashboard/history.json", get(history))
        .route("/admin/dashboard/dashboard.js", get(script))
        .route("/admin/dashboard/dashboard.css", get(style))
        .route(CHART_JS_PATH, get(chart_js))
        .merge(histogram)
        .with_state(state)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    asset_cached(content_type, body, "no-cache")
}

fn asset_cached(content_type: &'static str, body: &'static str, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, cache),
        ],
        Bytes::from_static(body.as_bytes()),
    )
        .into_response()
}

async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn chart_js() -> Response {
    asset_cached("text/javascript; charset=utf-8", CHART_JS, IMMUTABLE)
}

/// The answer of `history.json`.
#[derive(Serialize)]
struct History {
    /// Every stored battle.
    battles: u64,
    /// Those with negative ids (synthetic).
    synthetic_battles: u64,
}

/// The answer of `/stats/ratings/histogram`.
#[derive(Serialize)]
struct Histogram {
    /// Always `conservative` (mu − 3σ).
    rating: &'static str,
    min_battles: u64,
    /// Players counted.
    players: i64,
    /// Lower edge of the first bin; `null` when no player qualifies.
    min: Option<f64>,
    /// Upper edge of the last bin; `null` when no player qualifies.
    max: Option<f64>,
    bin_width: f64,
    /// Lowest first; empty when no player qualifies.
    bins: Vec<Bin>,
}

/// Players whose rating is in `from..to` (the last bin includes `to`).
#[derive(Serialize)]
struct Bin {
    from: f64,
    to: f64,
    players: i64,
}

/// `GET /admin/dashboard/history.json`: `{"battles": N, "synthetic_battles":
/// M}` — how much of the stored history is synthetic (negative ids: `gamegate
/// all`'s demo history, `battles synth`), so the page can say so.
async fn history(State(state): State<StatsState>) -> Result<Json<History>, ApiError> {
    let lang = state.common.lang;
    let battles = state.analytics.battles();
    let total = battles
        .count_battles()
        .await
        .map_err(|e| super::stats::store_error(e, lang))?;
    let synthetic = battles
        .count_demo_battles()
        .await
        .map_err(|e| super::stats::store_error(e, lang))?;
    Ok(Json(History {
        battles: total,
        synthetic_battles: synthetic,
    }))
}

/// `GET /stats/ratings/histogram?bins=20&min_battles=1`: how many players'
/// conservative ratings (mu − 3σ) fall in each of `bins` equal-width bins
/// between the lowest and the highest, over players with at least
/// `min_battles` PvP battles (the battles that move a rating).
async fn rating_histogram(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Histogram>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["bins", "min_battles"], lang);
    let bins = params.number("bins", 20, 1, MAX_BINS);
    let min_battles = params.number("min_battles", 1, 0, 1_000_000);
    params.finish()?;
    let histogram = state
        .analytics
        .battles()
        .rating_histogram(bins as usize, min_battles)
        .await
        .map_err(|e| super::stats::store_error(e, lang))?;
    let bins = histogram
        .counts
        .iter()
        .enumerate()
        .map(|(i, &players)| {
            let from = histogram.min.unwrap_or_default() + histogram.bin_width * i as f64;
            Bin {
                from,
                to: from + histogram.bin_width,
                players,
            }
        })
        .collect();
    Ok(Json(Histogram {
        rating: "conservative",
        min_battles,
        players: histogram.players,
        min: histogram.min,
        max: histogram.max,
        bin_width: histogram.bin_width,
        bins,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_vendored_chart_js_by_its_versioned_path() {
        assert!(
            CHART_JS.starts_with(&format!("/*!\n * Chart.js v{CHART_JS_VERSION}\n")),
            "the vendored file is Chart.js {CHART_JS_VERSION}"
        );
        assert!(CHART_JS_PATH.contains(&format!("/chart.js-{CHART_JS_VERSION}/")));
        assert!(PAGE.contains(&format!("<script src=\"{CHART_JS_PATH}\" defer>")));
        // Chart.js before the page's script (deferred scripts run in order).
        assert!(PAGE.find(CHART_JS_PATH) < PAGE.find("/admin/dashboard/dashboard.js"));
    }
}

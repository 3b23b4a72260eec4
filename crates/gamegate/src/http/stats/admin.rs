//! The admin statistics routes (admin listener, behind `admin.tokens` when
//! set): the accounts database's registration and Telegram reports, in the
//! shapes of `gamegate report … --json`, and the anomaly detector's list.

use axum::Json;
use axum::extract::{RawQuery, State};
use gamegate_analytics::anomalies::Evidence;
use gamegate_domain::{ErrorCode, FieldErrorCode};
use gamegate_store::reports::Bucket;

use super::body::AnomaliesBody;
use super::{MAX_LIMIT, StatsState, store_error};
use crate::app::report_view::{RegistrationsView, TopTelegramView, top_telegram_view};
use crate::http::ApiError;
use crate::http::query::Params;
use gamegate_store::unix_now;

/// Longest registrations window, in seconds (a year).
const MAX_REGISTRATIONS_WINDOW: i64 = 366 * 86_400;

/// `GET /stats/registrations?since=24h&by=hour|day`.
pub(super) async fn registrations(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<RegistrationsView>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["since", "by"], lang);
    let window = match params.text("since") {
        None => Ok(86_400),
        Some(text) => crate::shared::timefmt::parse_duration(text),
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
    Ok(Json(RegistrationsView::from(&report)))
}

/// `GET /stats/top-telegram?limit=`.
pub(super) async fn top_telegram(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<TopTelegramView>>, ApiError> {
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
    Ok(Json(top_telegram_view(&rows)))
}

/// `GET /ml/anomalies?min_battles=`: flagged players of the last pass;
/// `min_battles` can raise the configured floor, never lower it.
pub(super) async fn anomalies(
    State(state): State<StatsState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<AnomaliesBody>, ApiError> {
    let lang = state.common.lang;
    let mut params = Params::parse(raw, &["min_battles", "limit"], lang);
    let floor = state.anomalies.evidence;
    let min_battles = params.number("min_battles", u64::from(floor.min_battles), 0, 1_000_000);
    let limit = params.number("limit", 100, 1, 1_000);
    params.finish()?;
    let Some(snapshot) = state.anomalies.current() else {
        let mut e = ApiError::new(ErrorCode::DatabaseUnavailable, lang);
        e.retry_after_secs = Some(5);
        return Err(e);
    };
    let evidence = Evidence {
        min_battles: u32::try_from(min_battles)
            .unwrap_or(u32::MAX)
            .max(floor.min_battles),
        ..floor
    };
    let flagged = snapshot.detector.flagged(&evidence);
    let total = flagged.len();
    let players = flagged.into_iter().take(limit as usize).collect();
    Ok(Json(AnomaliesBody {
        computed_at: snapshot.computed_at,
        battles_analysed: snapshot.battles,
        min_battles: u64::from(evidence.min_battles),
        min_expected: evidence.min_expected,
        alpha: evidence.alpha,
        flagged: total,
        players,
    }))
}

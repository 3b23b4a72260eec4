//! `POST /stats/battles` (internal, ingest token): a batch of battles,
//! each validated on its own, the valid ones stored in one transaction.

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header;
use gamegate_analytics::Battle;
use gamegate_domain::{ErrorCode, FieldError, FieldErrorCode};
use gamegate_store::Ingested;
use serde_json::Value;

use super::body::{IngestBody, ItemResult};
use super::{StatsState, store_error};
use crate::app::battle_import::{UNKNOWN_PLAYER, unknown_player_message, unregistered_logins};
use crate::http::ApiError;

/// One item of a batch: its id (when it has one) and the battle, or why it
/// is invalid (`error` code, message).
type CheckedItem = (Option<i64>, Result<Battle, (String, String)>);

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
/// `message`; `unknown_player` when `analytics.require_registered_players`
/// is on and a login has no account). A request-level problem (token, body, not an array, too many
/// items) is the usual error answer instead.
pub(super) async fn ingest(
    State(state): State<StatsState>,
    req: Request<Body>,
) -> Result<Json<IngestBody>, ApiError> {
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
    if !content_type.is_some_and(crate::http::extract::is_json) {
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

    let mut checked: Vec<CheckedItem> = items
        .into_iter()
        .map(|item| {
            let id = item.get("id").and_then(Value::as_i64);
            let parsed = serde_json::from_value::<Battle>(item)
                .map_err(|e| ("invalid_battle".to_owned(), e.to_string()))
                .and_then(|b| {
                    b.checked(&state.common.rules)
                        .map_err(|e| (e.code.to_owned(), e.message))
                });
            (id, parsed)
        })
        .collect();
    if state.ingest.require_registered {
        refuse_unregistered(&state, &mut checked).await?;
    }
    // The valid ones, and each item's index among them.
    type Checked = (Option<i64>, Result<usize, (String, String)>);
    let mut valid: Vec<Battle> = Vec::new();
    let results: Vec<Checked> = checked
        .into_iter()
        .map(|(id, parsed)| {
            let index = parsed.map(|b| {
                valid.push(b);
                valid.len() - 1
            });
            (id, index)
        })
        .collect();
    let stored = state
        .analytics
        .battles()
        .ingest(&valid)
        .await
        .map_err(|e| store_error(e, lang))?;
    let (mut inserted, mut duplicate, mut invalid) = (0, 0, 0);
    let outcome = |id, status| ItemResult {
        id,
        status,
        error: None,
        message: None,
    };
    let results: Vec<ItemResult> = results
        .into_iter()
        .map(|(id, r)| match r {
            Ok(i) if stored[i] == Ingested::Inserted => {
                inserted += 1;
                outcome(id, "inserted")
            }
            Ok(_) => {
                duplicate += 1;
                outcome(id, "duplicate")
            }
            Err((error, message)) => {
                invalid += 1;
                ItemResult {
                    error: Some(error),
                    message: Some(message),
                    ..outcome(id, "invalid")
                }
            }
        })
        .collect();
    if inserted > 0 {
        state.anomalies.mark_stale();
    }
    Ok(Json(IngestBody {
        ok: invalid == 0,
        inserted,
        duplicate,
        invalid,
        results,
    }))
}

/// `analytics.require_registered_players`: every valid battle naming a login
/// with no account becomes invalid (`unknown_player`, naming the logins).
/// Without an accounts database no login can be confirmed, so all are.
async fn refuse_unregistered(
    state: &StatsState,
    checked: &mut [CheckedItem],
) -> Result<(), ApiError> {
    let battles: Vec<&Battle> = checked
        .iter()
        .filter_map(|(_, b)| b.as_ref().ok())
        .collect();
    let unknown = match &state.accounts {
        Some(accounts) => unregistered_logins(accounts, &battles)
            .await
            .map_err(|e| store_error(e, state.common.lang))?,
        None => battles
            .iter()
            .map(|b| b.participants.iter().map(|p| p.login.clone()).collect())
            .collect(),
    };
    let mut unknown = unknown.into_iter();
    for (_, parsed) in checked.iter_mut().filter(|(_, b)| b.is_ok()) {
        let logins = unknown.next().unwrap_or_default();
        if !logins.is_empty() {
            *parsed = Err((UNKNOWN_PLAYER.to_owned(), unknown_player_message(&logins)));
        }
    }
    Ok(())
}

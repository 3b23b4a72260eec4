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
use crate::http::ApiError;

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

    // Per item: its id (when it has one) and either its index among the
    // valid battles or why it is invalid.
    type Checked = (Option<i64>, Result<usize, (String, String)>);
    let mut results: Vec<Checked> = Vec::new();
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

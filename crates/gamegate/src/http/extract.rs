use axum::body::{Body, Bytes};
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::header;
use gamegate_domain::{ErrorCode, ObjectText};

use super::{ApiError, Common};

/// A request body that is a JSON object, read within the body limit.
/// Produces the contract's 415 / 413 / 400 answers instead of axum's
/// plain-text rejections.
pub struct JsonObject {
    /// The object with its members in order, repeats kept and each value as
    /// its JSON text (numbers are judged on their digits, not on an `f64`).
    pub object: ObjectText,
    /// The body exactly as received: what a forwarder passes on, so nothing
    /// (a number's digits, a repeated key) is changed by re-serialising.
    pub bytes: Bytes,
}

pub(crate) fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

impl<S> FromRequest<S> for JsonObject
where
    S: Send + Sync,
    Common: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let common = Common::from_ref(state);
        let fail = |code| ApiError::new(code, common.lang);

        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if !content_type.is_some_and(is_json) {
            return Err(fail(ErrorCode::UnsupportedMediaType));
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > common.body_limit as u64) {
            return Err(fail(ErrorCode::PayloadTooLarge));
        }
        let bytes = match axum::body::to_bytes(req.into_body(), common.body_limit).await {
            Ok(bytes) => bytes,
            Err(e) => {
                // to_bytes reports an over-limit body as a LengthLimitError source.
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                return Err(fail(if too_large {
                    ErrorCode::PayloadTooLarge
                } else {
                    ErrorCode::InvalidJson
                }));
            }
        };
        match ObjectText::parse(&bytes) {
            Ok(object) => Ok(JsonObject { object, bytes }),
            Err(_) => Err(fail(ErrorCode::InvalidJson)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_content_types() {
        assert!(super::is_json("application/json"));
        assert!(super::is_json("Application/JSON; charset=utf-8"));
        assert!(!super::is_json("text/plain"));
        assert!(!super::is_json("application/jsonx"));
    }
}

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gamegate_domain::{ErrorCode, FieldError, Lang, MAX_FIELD_ERRORS};
use serde::Serialize;

/// Every non-2xx answer: `{"ok":false,"detail":…,"message":…[,"errors":[…]]}`,
/// `errors` cut to [`MAX_FIELD_ERRORS`] entries and the rest counted in
/// `errors_omitted`.
/// Internal causes are logged where they happen, never put in the body.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub lang: Lang,
    pub errors: Vec<FieldError>,
    pub retry_after_secs: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    ok: bool,
    detail: &'static str,
    message: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldEntry<'a>],
    /// How many failing fields are not listed in `errors` (absent when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    errors_omitted: Option<usize>,
}

#[derive(Serialize)]
struct FieldEntry<'a> {
    field: &'a str,
    code: &'static str,
    message: &'a str,
}

impl ApiError {
    pub fn new(code: ErrorCode, lang: Lang) -> Self {
        Self {
            code,
            lang,
            errors: Vec::new(),
            retry_after_secs: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>, lang: Lang) -> Self {
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationError, lang)
        }
    }
}

impl ApiError {
    /// The JSON body, exactly as sent. Public so the nginx renderer answers
    /// with the same bytes as the service (no hand-copied messages).
    pub fn body(&self) -> Vec<u8> {
        let entries: Vec<FieldEntry<'_>> = self
            .errors
            .iter()
            .take(MAX_FIELD_ERRORS)
            .map(|e| FieldEntry {
                field: &e.field,
                code: e.code.as_str(),
                message: &e.message,
            })
            .collect();
        serde_json::to_vec(&Body {
            ok: false,
            detail: self.code.as_str(),
            message: self.code.message(self.lang),
            errors: &entries,
            errors_omitted: Some(self.errors.len().saturating_sub(MAX_FIELD_ERRORS))
                .filter(|n| *n > 0),
        })
        .expect("error body serialises")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = self.body();
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // So middleware (the ban jail) can tell which error this was without
        // parsing the body.
        response.extensions_mut().insert(self.code);
        response
    }
}

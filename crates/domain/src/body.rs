//! The JSON body of every non-2xx answer, as the service and the rendered
//! edges (nginx) send it: `{"ok":false,"detail":…,"message":…[,"errors":[…]]
//! [,"errors_omitted":N]}`. Here, with no HTTP types, so a renderer or the
//! edge can produce the same bytes without the HTTP layer.

use serde::Serialize;

use crate::error::{ErrorCode, FieldError, MAX_FIELD_ERRORS};
use crate::lang::Lang;

/// What an error answer says: the stable code, the language of its
/// `message`, and the failing fields of a `validation_error`. Never a cause:
/// internal reasons are logged by whoever makes the answer, never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// The contract code (`detail`); its HTTP status is [`ErrorCode::http_status`].
    pub code: ErrorCode,
    /// Language of `message` (and of nothing else: `detail` never changes).
    pub lang: Lang,
    /// Failing fields; cut to [`MAX_FIELD_ERRORS`] entries in the body, the
    /// rest counted in `errors_omitted`.
    pub errors: Vec<FieldError>,
}

#[derive(Serialize)]
struct Wire<'a> {
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

impl ErrorBody {
    /// An answer with `code` and no field errors.
    pub fn new(code: ErrorCode, lang: Lang) -> Self {
        Self {
            code,
            lang,
            errors: Vec::new(),
        }
    }

    /// `validation_error` listing `errors`.
    pub fn validation(errors: Vec<FieldError>, lang: Lang) -> Self {
        Self {
            errors,
            ..Self::new(ErrorCode::ValidationError, lang)
        }
    }

    /// The JSON bytes, exactly as sent (UTF-8).
    pub fn to_json(&self) -> Vec<u8> {
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
        serde_json::to_vec(&Wire {
            ok: false,
            detail: self.code.as_str(),
            message: self.code.message(self.lang),
            errors: &entries,
            errors_omitted: Some(self.errors.len().saturating_sub(MAX_FIELD_ERRORS))
                .filter(|n| *n > 0),
        })
        .expect("an error body always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldErrorCode;

    #[test]
    fn the_wire_shape_is_detail_message_and_capped_errors() {
        let body = ErrorBody::new(ErrorCode::RateLimited, Lang::En).to_json();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["detail"], "rate_limited");
        assert_eq!(v["message"], ErrorCode::RateLimited.message(Lang::En));
        assert!(v.get("errors").is_none() && v.get("errors_omitted").is_none());

        let many = (0..MAX_FIELD_ERRORS + 3)
            .map(|i| FieldError {
                field: format!("f{i}"),
                code: FieldErrorCode::UnknownField,
                message: "m".into(),
            })
            .collect();
        let v: serde_json::Value =
            serde_json::from_slice(&ErrorBody::validation(many, Lang::Ru).to_json()).unwrap();
        assert_eq!(v["detail"], "validation_error");
        assert_eq!(v["errors"].as_array().unwrap().len(), MAX_FIELD_ERRORS);
        assert_eq!(v["errors"][0]["code"], "unknown_field");
        assert_eq!(v["errors_omitted"], 3);
    }
}

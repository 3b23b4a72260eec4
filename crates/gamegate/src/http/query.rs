//! The query string of the statistics and dashboard routes, parsed by hand
//! so that every bad parameter gets its own `validation_error` entry (an
//! unknown or repeated name, a number out of range, a choice not offered),
//! in the configured language.

use std::collections::HashMap;

use gamegate_domain::{FieldError, FieldErrorCode, Lang};

use super::ApiError;

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

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use gamegate_domain::{ErrorBody, ErrorCode, FieldError, Lang};

/// Every non-2xx answer: the wire body ([`ErrorBody`], `{"ok":false,
/// "detail":…,"message":…[,"errors":[…]]}`), an optional `Retry-After`, and
/// an optional internal cause.
///
/// The cause is never sent: it is logged once, when the response is made —
/// at `error` for a 5xx, at `warn` for a 503 (the dependency is down, not a
/// bug of ours) — so handlers do not log the failures they answer with.
#[derive(Debug)]
pub struct ApiError {
    /// What the client is told.
    pub body: ErrorBody,
    /// `Retry-After` in seconds, when the code carries one.
    pub retry_after_secs: Option<u64>,
    /// Why, for the log only.
    cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(code: ErrorCode, lang: Lang) -> Self {
        Self {
            body: ErrorBody::new(code, lang),
            retry_after_secs: None,
            cause: None,
        }
    }

    pub fn validation(errors: Vec<FieldError>, lang: Lang) -> Self {
        Self {
            body: ErrorBody::validation(errors, lang),
            retry_after_secs: None,
            cause: None,
        }
    }

    /// Attaches the internal cause, logged (never sent) when the response is
    /// made. It must not contain a secret: its `{:#}` text is logged.
    pub fn with_cause(mut self, cause: impl Into<anyhow::Error>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The contract code of this answer.
    pub fn code(&self) -> ErrorCode {
        self.body.code
    }

    /// The internal cause, if one was attached.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.cause.as_ref()
    }

    /// The JSON body, exactly as sent.
    pub fn body(&self) -> Vec<u8> {
        self.body.to_json()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.body.code;
        let status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(cause) = &self.cause {
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::warn!(
                    detail = code.as_str(),
                    error = format!("{cause:#}"),
                    "request failed"
                );
            } else if status.is_server_error() {
                tracing::error!(
                    detail = code.as_str(),
                    error = format!("{cause:#}"),
                    "request failed"
                );
            }
        }
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body.to_json(),
        )
            .into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // So middleware (the ban jail) can tell which error this was without
        // parsing the body.
        response.extensions_mut().insert(code);
        response
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// The log lines written while `f` runs, with this thread's subscriber.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn the_cause_is_logged_once_when_the_answer_is_made_and_never_sent() {
        let log = logged(|| {
            let _ = ApiError::new(ErrorCode::InternalError, Lang::En)
                .with_cause(anyhow::anyhow!("root").context("statistics query"))
                .into_response();
        });
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(log.contains("ERROR"), "{log}");
        assert!(log.contains("internal_error"), "{log}");
        assert!(log.contains("statistics query: root"), "{log}");

        let log = logged(|| {
            let _ = ApiError::new(ErrorCode::DatabaseUnavailable, Lang::En)
                .with_cause(anyhow::anyhow!("pool timed out"))
                .into_response();
        });
        assert!(
            log.contains("WARN") && log.contains("pool timed out"),
            "{log}"
        );

        // A client error, or a 5xx without a cause, logs nothing here.
        let log = logged(|| {
            let _ = ApiError::new(ErrorCode::ValidationError, Lang::En)
                .with_cause(anyhow::anyhow!("bad field"))
                .into_response();
            let _ = ApiError::new(ErrorCode::InternalError, Lang::En).into_response();
        });
        assert_eq!(log, "");

        // One test, not two: tracing caches a callsite's interest, and a
        // parallel test reaching the same log line without a subscriber
        // could race with this one's.
        let e = ApiError::new(ErrorCode::InternalError, Lang::En)
            .with_cause(anyhow::anyhow!("disk on fire at /secret/path"));
        assert_eq!(e.code(), ErrorCode::InternalError);
        assert!(e.cause().is_some());
        let body = String::from_utf8(e.body()).unwrap();
        assert!(!body.contains("disk on fire"), "{body}");
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.extensions().get::<ErrorCode>(),
            Some(&ErrorCode::InternalError)
        );
    }
}

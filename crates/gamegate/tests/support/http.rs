//! HTTP as the suites check it: a whole answer kept for assertions, the
//! contract's error shape, a registration body.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// A registration body with the test password and gender 0.
pub fn player(login: &str, telegram_id: i64) -> Value {
    json!({"login": login, "password": "secret12", "gender": 0, "telegram_id": telegram_id})
}

/// Asserts the contract's error shape (API.md): `status`, `ok: false`, the
/// stable `detail` code and a non-empty `message`.
pub fn assert_error(status: StatusCode, body: &Value, expected_status: u16, detail: &str) {
    assert_eq!(status.as_u16(), expected_status, "body: {body}");
    assert_eq!(body["ok"], false, "body: {body}");
    assert_eq!(body["detail"], detail, "body: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "message must be non-empty: {body}"
    );
}

/// A whole HTTP answer: status, headers and the body as text (JSON or not,
/// whoever answered: gamegate or a proxy in front of it).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Sends `req` and reads the whole answer; panics when nothing answers.
    pub async fn of(req: reqwest::RequestBuilder) -> Self {
        let r = req.send().await.expect("an answer");
        Self::read(r).await
    }

    /// Reads the whole of a response.
    pub async fn read(r: reqwest::Response) -> Self {
        Answer {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("the body is read"),
        }
    }

    /// The body as JSON; panics (showing it) when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The contract's error body ([`assert_error`]), served as `application/json`.
    pub fn assert_error(&self, status: u16, detail: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_error(self.status, &self.json(), status, detail);
        assert_eq!(self.header("content-type"), Some("application/json"));
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The names of the `access-control-*` headers.
    pub fn cors_headers(&self) -> Vec<String> {
        self.headers
            .keys()
            .map(|k| k.as_str().to_owned())
            .filter(|k| k.starts_with("access-control-"))
            .collect()
    }
}

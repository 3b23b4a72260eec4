//! The `Idempotency-Key` request header of `POST /api/register`
//! (draft-ietf-httpapi-idempotency-key-header): how a key is read, what it
//! is scoped to, how a request is fingerprinted, and which outcomes are
//! remembered. Pure rules; the store keeps the records, the application runs
//! them.
//!
//! - A key is a Structured Field sf-string (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`,
//!   RFC 8941 §3.3.3: printable ASCII, `\"` and `\\` escapes), or, as a
//!   convenience, the same text bare (a token of ASCII letters, digits and
//!   `-._~:+/=`). 1 to [`MAX_KEY_CHARS`] characters; no parameters.
//! - A key belongs to the site that sent it: its [scope](scope_of_site_key) is
//!   the SHA-256 of the site's API key, so two sites can use the same key.
//! - The [`fingerprint`] is an HMAC-SHA256 keyed with the site's API
//!   key over the validated request: the database holds neither the key nor
//!   the password, so a copy of it alone cannot test password guesses.

use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::ErrorCode;
use crate::register::RegisterRequest;

/// Longest key accepted, in characters (after unescaping an sf-string).
pub const MAX_KEY_CHARS: usize = 255;

/// The name of the request header.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// A well-formed key: 1 to [`MAX_KEY_CHARS`] printable ASCII characters.
/// Compared exactly (case-sensitive).
#[derive(Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl std::fmt::Debug for IdempotencyKey {
    // A key is not a secret, but it is the site's; logs show its length only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdempotencyKey({} chars)", self.0.len())
    }
}

impl IdempotencyKey {
    /// The key's text (unescaped), as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a header value is not a key (all answered `400 invalid_idempotency_key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    /// Empty, or only whitespace, or `""`.
    Empty,
    /// More than [`MAX_KEY_CHARS`] characters.
    TooLong,
    /// A character outside printable ASCII, a bad escape, an unterminated
    /// string, text after the closing quote, or a bare value with a character
    /// outside the token set.
    Malformed,
    /// The header was given more than once.
    Repeated,
}

/// Reads the values of the `Idempotency-Key` header (every occurrence, in
/// order, as bytes). `Ok(None)` without the header; errs with a
/// [`KeyProblem`] when it is repeated or malformed.
pub fn parse_idempotency_key<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<IdempotencyKey>, KeyProblem> {
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(KeyProblem::Repeated);
    }
    parse_value(first).map(Some)
}

fn parse_value(raw: &[u8]) -> Result<IdempotencyKey, KeyProblem> {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = raw.iter().position(|b| !ows(b)).unwrap_or(raw.len());
    let end = raw.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    let value = &raw[start..end];
    let text = match value.first() {
        None => return Err(KeyProblem::Empty),
        Some(b'"') => sf_string(&value[1..])?,
        Some(_) => bare_token(value)?,
    };
    if text.is_empty() {
        return Err(KeyProblem::Empty);
    }
    if text.len() > MAX_KEY_CHARS {
        return Err(KeyProblem::TooLong);
    }
    Ok(IdempotencyKey(text))
}

/// The rest of an sf-string after its opening quote (RFC 8941 §4.2.5).
fn sf_string(rest: &[u8]) -> Result<String, KeyProblem> {
    let mut out = String::new();
    let mut bytes = rest.iter();
    while let Some(&b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(&e @ (b'"' | b'\\')) => out.push(char::from(e)),
                _ => return Err(KeyProblem::Malformed),
            },
            // The closing quote ends the value: nothing may follow (no
            // parameters are defined for this header).
            b'"' => {
                return match bytes.next() {
                    None => Ok(out),
                    Some(_) => Err(KeyProblem::Malformed),
                };
            }
            0x20..=0x7e => out.push(char::from(b)),
            _ => return Err(KeyProblem::Malformed),
        }
        if out.len() > MAX_KEY_CHARS {
            return Err(KeyProblem::TooLong);
        }
    }
    Err(KeyProblem::Malformed)
}

fn bare_token(value: &[u8]) -> Result<String, KeyProblem> {
    let allowed = |b: &u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'+' | b'/' | b'=')
    };
    if value.len() > MAX_KEY_CHARS {
        return Err(KeyProblem::TooLong);
    }
    if !value.iter().all(allowed) {
        return Err(KeyProblem::Malformed);
    }
    Ok(value.iter().map(|&b| char::from(b)).collect())
}

/// Whose keys these are: the lowercase hex SHA-256 (64 characters) of the
/// site's API key as sent in `X-API-Key`, behind a fixed label. Two sites
/// (two API keys) never share a key space; the key itself is never stored.
pub fn scope_of_site_key(site_key: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(b"gamegate idempotency scope v1\0");
    hash.update(site_key);
    hex::encode(hash.finalize())
}

/// The fingerprint of a registration request: lowercase hex (64 characters)
/// HMAC-SHA256, keyed with the site's API key, over the validated request in
/// a fixed encoding (each field length-prefixed: login in NFC, password,
/// gender, telegram_id, and `telegram_auth` as JSON with sorted keys). Two
/// bodies that validate to the same request (key order, spacing, `1` and
/// `1.0`) have the same fingerprint; any changed field changes it.
pub fn fingerprint(site_key: &[u8], request: &RegisterRequest) -> String {
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(site_key)
        .expect("HMAC takes a key of any length");
    let mut field = |bytes: &[u8]| {
        mac.update(&(bytes.len() as u64).to_be_bytes());
        mac.update(bytes);
    };
    field(b"gamegate register v1");
    field(request.login.as_bytes());
    field(request.password.expose().as_bytes());
    field(&[request.gender]);
    field(&request.telegram_id.to_be_bytes());
    match &request.telegram_auth {
        None => field(b""),
        Some(auth) => field(canonical_json(&Value::Object(auth.clone())).as_bytes()),
    }
    hex::encode(mac.finalize().into_bytes())
}

/// JSON text with every object's keys sorted, so the fingerprint does not
/// depend on the order a site wrote them in.
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical_json(&map[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

/// What is remembered of a finished first attempt, so a retry with the same
/// key gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remember {
    /// Stored as is (status and body): a success, or a refusal that the same
    /// request would meet again (`limit_exceeded`, `login_taken`,
    /// `not_in_telegram_group`, `telegram_auth_invalid`).
    Answer,
    /// Not stored: the key is released and a retry runs afresh. Failures of a
    /// dependency where nothing was created (`*_unavailable`,
    /// `request_timeout`, `internal_error`).
    Forget,
}

impl Remember {
    /// The rule for a finished registration answered with `code` (`None`:
    /// success). The lost game-server answer (a 503 whose account is kept
    /// pending) is decided by the caller, who knows it was lost.
    pub fn after(code: Option<ErrorCode>) -> Self {
        match code.map(|c| c.http_status()) {
            None => Remember::Answer,
            Some(status) if status < 500 => Remember::Answer,
            Some(_) => Remember::Forget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::{RegistrationRules, validate_register};
    use crate::{Lang, ObjectText};

    fn parse(raw: &str) -> Result<Option<IdempotencyKey>, KeyProblem> {
        parse_idempotency_key(std::iter::once(raw.as_bytes()))
    }

    fn key(raw: &str) -> String {
        parse(raw).unwrap().unwrap().as_str().to_owned()
    }

    #[test]
    fn sf_strings_and_bare_tokens_are_keys() {
        let uuid = "8e03978e-40d5-43e8-bc93-6894a57f9324";
        assert_eq!(key(&format!("\"{uuid}\"")), uuid);
        assert_eq!(key(&format!("  \"{uuid}\"\t")), uuid);
        assert_eq!(key(uuid), uuid, "a bare token, for friendliness");
        assert_eq!(key(r#""a \"quoted\" \\ key""#), r#"a "quoted" \ key"#);
        assert_eq!(key("\"with space\""), "with space");
        assert_eq!(key("abc+/=_.~:"), "abc+/=_.~:");
        assert_eq!(key(&"k".repeat(MAX_KEY_CHARS)), "k".repeat(MAX_KEY_CHARS));
    }

    #[test]
    fn no_header_is_no_key() {
        assert_eq!(parse_idempotency_key(std::iter::empty()), Ok(None));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for (raw, problem) in [
            ("", KeyProblem::Empty),
            ("   ", KeyProblem::Empty),
            ("\"\"", KeyProblem::Empty),
            ("\"open", KeyProblem::Malformed),
            ("\"bad \\n escape\"", KeyProblem::Malformed),
            ("\"k\";param=1", KeyProblem::Malformed),
            ("\"tab\there\"", KeyProblem::Malformed),
            ("\"é\"", KeyProblem::Malformed),
            ("two words", KeyProblem::Malformed),
            ("semi;colon", KeyProblem::Malformed),
            ("quo\"te", KeyProblem::Malformed),
            ("ünïcode", KeyProblem::Malformed),
        ] {
            assert_eq!(parse(raw), Err(problem), "{raw:?}");
        }
        let long = "k".repeat(MAX_KEY_CHARS + 1);
        assert_eq!(parse(&long), Err(KeyProblem::TooLong));
        assert_eq!(parse(&format!("\"{long}\"")), Err(KeyProblem::TooLong));
        let twice = [b"a".as_slice(), b"a".as_slice()];
        assert_eq!(
            parse_idempotency_key(twice.into_iter()),
            Err(KeyProblem::Repeated)
        );
    }

    fn request(body: &str) -> RegisterRequest {
        let text = ObjectText::parse(body.as_bytes()).unwrap();
        validate_register(&text, &RegistrationRules::default(), Lang::En).unwrap()
    }

    const BODY: &str = r#"{"login":"Hero_01","password":"secret12","gender":0,"telegram_id":42}"#;

    #[test]
    fn the_fingerprint_is_of_the_request_not_of_its_spelling() {
        let a = fingerprint(b"site", &request(BODY));
        assert_eq!(a.len(), 64);
        let respelled =
            r#"{ "telegram_id": 42.0, "gender": 0, "password": "secret12", "login": "Hero_01" }"#;
        assert_eq!(fingerprint(b"site", &request(respelled)), a);
        for other in [
            r#"{"login":"Hero_02","password":"secret12","gender":0,"telegram_id":42}"#,
            r#"{"login":"Hero_01","password":"secret13","gender":0,"telegram_id":42}"#,
            r#"{"login":"Hero_01","password":"secret12","gender":1,"telegram_id":42}"#,
            r#"{"login":"Hero_01","password":"secret12","gender":0,"telegram_id":43}"#,
        ] {
            assert_ne!(fingerprint(b"site", &request(other)), a, "{other}");
        }
    }

    #[test]
    fn the_fingerprint_is_keyed_and_hides_the_password() {
        let r = request(BODY);
        let a = fingerprint(b"site-a", &r);
        assert_ne!(fingerprint(b"site-b", &r), a, "keyed by the site's key");
        // Not a plain hash of anything the database could hold.
        let plain = hex::encode(Sha256::digest(b"secret12"));
        assert_ne!(a, plain);
        assert!(!a.contains("secret12"));
    }

    #[test]
    fn telegram_auth_counts_whatever_its_key_order() {
        let with = |auth: &str| {
            request(&format!(
                r#"{{"login":"Hero_01","password":"secret12","gender":0,"telegram_id":42,"telegram_auth":{auth}}}"#
            ))
        };
        let a = fingerprint(b"k", &with(r#"{"id":42,"hash":"ab","auth_date":1}"#));
        let b = fingerprint(b"k", &with(r#"{"auth_date":1,"hash":"ab","id":42}"#));
        let c = fingerprint(b"k", &with(r#"{"auth_date":2,"hash":"ab","id":42}"#));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, fingerprint(b"k", &request(BODY)));
    }

    #[test]
    fn scopes_differ_per_site_and_hide_the_key() {
        let a = scope_of_site_key(b"key-of-site-a");
        assert_eq!(a.len(), 64);
        assert_ne!(a, scope_of_site_key(b"key-of-site-b"));
        assert!(!a.contains("site"));
    }

    #[test]
    fn definite_answers_are_remembered_failures_of_dependencies_are_not() {
        assert_eq!(Remember::after(None), Remember::Answer);
        for code in [
            ErrorCode::LoginTaken,
            ErrorCode::LimitExceeded,
            ErrorCode::NotInTelegramGroup,
            ErrorCode::TelegramAuthInvalid,
        ] {
            assert_eq!(Remember::after(Some(code)), Remember::Answer, "{code:?}");
        }
        for code in [
            ErrorCode::GameServerUnavailable,
            ErrorCode::DatabaseUnavailable,
            ErrorCode::TelegramUnavailable,
            ErrorCode::RequestTimeout,
            ErrorCode::InternalError,
        ] {
            assert_eq!(Remember::after(Some(code)), Remember::Forget, "{code:?}");
        }
    }
}

//! What travels over the HTTP connector: the endpoints, the JSON bodies both
//! ways and the receiver's error codes (docs/GAME_SERVER.md, "HTTP
//! connector"). Shared by the connector and the mock receiver, so the two
//! cannot drift apart.

use serde::{Deserialize, Serialize};

/// The header that carries a registration's idempotency key.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Largest body either side reads, in bytes; a larger answer is not one the
/// API defines.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The endpoints, each `POST {url}/{name}` with a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `register`: creates an account; answers [`Registered`] or 409 `login_taken`.
    Register,
    /// `exists`: answers [`ExistsAnswer`].
    Exists,
    /// `delete`: answers [`DeletedAnswer`].
    Delete,
    /// `set_password`: answers [`UpdatedAnswer`], or 404 `not_found`.
    SetPassword,
    /// `ping`: answers [`PingAnswer`].
    Ping,
    /// `online`: answers [`OnlineAnswer`].
    Online,
}

impl Endpoint {
    /// Every endpoint.
    pub const ALL: [Endpoint; 6] = [
        Endpoint::Register,
        Endpoint::Exists,
        Endpoint::Delete,
        Endpoint::SetPassword,
        Endpoint::Ping,
        Endpoint::Online,
    ];

    /// The path segment, which is also the `op` of the signed string.
    pub const fn name(self) -> &'static str {
        match self {
            Endpoint::Register => "register",
            Endpoint::Exists => "exists",
            Endpoint::Delete => "delete",
            Endpoint::SetPassword => "set_password",
            Endpoint::Ping => "ping",
            Endpoint::Online => "online",
        }
    }

    /// The endpoint of a path segment.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// A request body: `request_id` (32 random hex digits, unique per HTTP
/// request, so no two requests share a signature) and the operation's
/// fields. Serialised with the fields in this order; absent fields are
/// left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestBody {
    /// Unique per request; the receiver's replay cache remembers signatures.
    pub request_id: String,
    /// `register`, `exists`, `delete`, `set_password`: the login, in Unicode NFC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// `register`, `set_password`: the password in clear (the link must be
    /// TLS or a tunnel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `register`: 0 or 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<u8>,
}

/// `register` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The game's id of the new account.
    pub account_id: u64,
}

/// `exists` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistsAnswer {
    /// Whether the game holds an account with this login (case-insensitively).
    pub exists: bool,
}

/// `delete` → 200 (also when there was nothing to delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedAnswer {
    /// Whether an account was deleted.
    pub deleted: bool,
}

/// `set_password` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdatedAnswer {
    /// Always `true`.
    pub updated: bool,
}

/// `ping` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingAnswer {
    /// Always `true`.
    pub ok: bool,
}

/// `online` → 200.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnlineAnswer {
    /// Players online now.
    pub online: u64,
}

/// Every non-200 answer of the receiver: `{"error":"<code>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorAnswer {
    /// One of the `ERR_*` codes.
    pub error: String,
}

/// 409 to `register`: the login exists (case-insensitively).
pub const ERR_LOGIN_TAKEN: &str = "login_taken";
/// 409: this exact signed request was received before (a replay, or a
/// proxy's retry); the first one may have been executed.
pub const ERR_REPLAYED: &str = "replayed";
/// 400: the body is not a valid request for the endpoint.
pub const ERR_INVALID: &str = "invalid";
/// 401: no signature, a stale one, or one that does not match.
pub const ERR_UNAUTHORIZED: &str = "unauthorized";
/// 404: an unknown endpoint, or `set_password` for a login that does not exist.
pub const ERR_NOT_FOUND: &str = "not_found";
/// 500: the receiver failed and did nothing.
pub const ERR_INTERNAL: &str = "internal";
/// 503: the receiver is overloaded (a bounded cache is full) and did nothing.
pub const ERR_BUSY: &str = "busy";

/// The 5xx codes that mean "did nothing": the receiver's own word, which a
/// proxy's 502/504 never carries.
pub const NOTHING_DONE_CODES: [&str; 2] = [ERR_INTERNAL, ERR_BUSY];

/// The body of an error answer.
pub fn error_body(code: &str) -> Vec<u8> {
    serde_json::to_vec(&ErrorAnswer {
        error: code.to_owned(),
    })
    .expect("a struct of strings serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_the_documented_shapes() {
        let register = RequestBody {
            request_id: "00ff".into(),
            login: Some("Hero_01".into()),
            password: Some("secret12".into()),
            gender: Some(1),
        };
        assert_eq!(
            serde_json::to_string(&register).unwrap(),
            r#"{"request_id":"00ff","login":"Hero_01","password":"secret12","gender":1}"#
        );
        let ping = RequestBody {
            request_id: "00ff".into(),
            ..RequestBody::default()
        };
        assert_eq!(
            serde_json::to_string(&ping).unwrap(),
            r#"{"request_id":"00ff"}"#
        );
        assert_eq!(error_body("busy"), br#"{"error":"busy"}"#);
        for e in Endpoint::ALL {
            assert_eq!(Endpoint::from_name(e.name()), Some(e));
        }
        assert_eq!(Endpoint::from_name("auth"), None);
    }
}

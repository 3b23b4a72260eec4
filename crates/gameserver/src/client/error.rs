//! How a call to the game server fails: definitely not done
//! ([`CallError::Unavailable`]) or unknown ([`CallError::Ambiguous`]), with a
//! typed [`FailureKind`] for the code that must tell them apart (the saga, the
//! reconciler, `doctor`).

use std::fmt;

use crate::protocol::{ERR_INTERNAL, ERR_INVALID, ERR_NOT_FOUND, ERR_UNAUTHORIZED};

/// Failure of [`GameServer::register`](super::GameServer::register).
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// The game server answered `register` with `login_taken`: the login exists
    /// there (case-insensitively). Nothing was created.
    #[error("login taken on the game server")]
    LoginTaken,
    /// The call failed otherwise; [`CallError`] tells whether the request may
    /// have run.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Failure of a call: whether the command may have run (the variant) and
/// what went wrong ([`Failure`]). The reasons never contain the token or a
/// password.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The request certainly was not executed (connect refused/timed out,
    /// auth refused, write failed before anything was sent, server answered
    /// an error code such as `internal`).
    #[error("game server unavailable: {0}")]
    Unavailable(Failure),
    /// The request was sent but its answer was lost (timeout after sending,
    /// connection closed/reset while waiting, garbled reply): it may or may
    /// not have been executed.
    #[error("game server call outcome unknown: {0}")]
    Ambiguous(Failure),
}

impl CallError {
    /// What went wrong, whichever the outcome.
    pub fn failure(&self) -> &Failure {
        match self {
            CallError::Unavailable(f) | CallError::Ambiguous(f) => f,
        }
    }

    /// Shorthand for `self.failure().kind`.
    pub fn kind(&self) -> FailureKind {
        self.failure().kind
    }
}

/// What went wrong in a call: a kind to act on, a description for logs
/// (which names the address and operation, never the token) and, where the
/// fix is a setting, what the operator should change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The class of failure.
    pub kind: FailureKind,
    detail: String,
    hint: Option<String>,
}

impl Failure {
    /// A failure of `kind` described by `detail` (no secrets in it).
    pub fn new(kind: FailureKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            hint: None,
        }
    }

    /// The same failure with what to change (`doctor` prints it as the fix,
    /// the start-up error after the detail).
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The description, as logged.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// What the operator should change, when known (TLS and version
    /// failures carry one).
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

/// The classes of game-server failure callers tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The server refused our `auth` (wrong `game_server.auth_token`).
    AuthRefused,
    /// A deadline passed: connecting, authenticating, waiting for a pool
    /// slot, writing, or awaiting the reply.
    Timeout,
    /// No connection could be made, or it failed (reset, closed by the
    /// server, write/read error), or the pool is closed.
    Connection,
    /// The server's answer is not protocol v1: unparseable or too long, a
    /// reply id that does not match, a required field missing.
    Protocol,
    /// The server answered a command with an error code.
    Server(ServerCode),
    /// The connector does not support the operation, or the server did not
    /// announce it in its `auth` reply; nothing was sent.
    Unsupported,
    /// TLS could not be established, or failed: the server's certificate
    /// is not trusted (another CA, another pin, another name, expired), the
    /// server does not speak TLS, or it refused our client certificate.
    /// [`Failure::hint`] says what to change. Nothing was sent.
    Tls,
    /// The server announced a protocol version this client does not speak
    /// (anything but [`PROTOCOL_VERSION`](crate::protocol::PROTOCOL_VERSION));
    /// nothing but `auth` was sent.
    Incompatible,
}

/// An error code the server answered a command with (protocol v1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerCode {
    /// `internal`: the server failed.
    Internal,
    /// `invalid`: the server judged the command invalid.
    Invalid,
    /// `unauthorized`: the connection is not (or no longer) authenticated.
    Unauthorized,
    /// `not_found`: no account has the login (`set_password`).
    NotFound,
    /// A code protocol v1 does not define.
    Unknown,
}

impl ServerCode {
    pub(super) fn from_wire(code: &str) -> Self {
        match code {
            ERR_INTERNAL => ServerCode::Internal,
            ERR_INVALID => ServerCode::Invalid,
            ERR_UNAUTHORIZED => ServerCode::Unauthorized,
            ERR_NOT_FOUND => ServerCode::NotFound,
            _ => ServerCode::Unknown,
        }
    }
}

pub(super) fn unavailable(kind: FailureKind, detail: impl Into<String>) -> CallError {
    CallError::Unavailable(Failure::new(kind, detail))
}

pub(super) fn ambiguous(kind: FailureKind, detail: impl Into<String>) -> CallError {
    CallError::Ambiguous(Failure::new(kind, detail))
}

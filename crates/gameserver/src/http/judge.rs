//! The definite/lost table of the HTTP connector (docs/GAME_SERVER.md,
//! "Answers and failures"): what an answer whose status line arrived means
//! for the call. Pure, so every row is unit-tested (`tests.rs`) and checked
//! over sockets (tests/http_connector.rs).

use super::wire::{self, Endpoint, ErrorAnswer};
use super::{ambiguous, unavailable};
use crate::client::{CallError, FailureKind, ServerCode};

/// What an answer means for the call ([`judge`]).
#[derive(Debug)]
pub enum Judged {
    /// 200: the body is the operation's answer (parsed by the caller; a
    /// body that does not parse is ambiguous).
    Success,
    /// 409 `login_taken` to a first `register`: nothing was created.
    LoginTaken,
    /// Anything else, definite or not.
    Failed(CallError),
}

/// The definite/lost table of the HTTP connector (docs/GAME_SERVER.md,
/// "Answers and failures"), for an answer whose status line arrived.
/// `body` is `None` when it could not be read whole; `retried` is true for
/// the second attempt of a call.
///
/// - 200 → success; any other 1xx/2xx/3xx → ambiguous (not an answer the API
///   defines; a redirect is not followed).
/// - 409 `login_taken` → [`Judged::LoginTaken`] — but ambiguous on a retry,
///   where the login may be taken by the first attempt itself; 409
///   `replayed` → ambiguous (the first delivery may have run); a 409 whose
///   body is unreadable → ambiguous.
/// - 401/403 → unavailable, [`FailureKind::AuthRefused`]; every other 4xx →
///   unavailable: the receiver (or a proxy before it) refused the request.
/// - 500/503 with the receiver's own `{"error":"internal"|"busy"}` →
///   unavailable; every other 5xx (a proxy's 502/504, an HTML page, an
///   unknown code) → ambiguous.
pub fn judge(endpoint: Endpoint, status: u16, body: Option<&[u8]>, retried: bool) -> Judged {
    let op = endpoint.name();
    let code = body.and_then(|b| serde_json::from_slice::<ErrorAnswer>(b).ok());
    let code = code.as_ref().map(|c| c.error.as_str());
    let shown = shown_code(code);
    match status {
        200 => Judged::Success,
        409 => match code {
            Some(wire::ERR_LOGIN_TAKEN) if endpoint == Endpoint::Register && !retried => {
                Judged::LoginTaken
            }
            Some(wire::ERR_LOGIN_TAKEN) if endpoint == Endpoint::Register => {
                Judged::Failed(ambiguous(
                    FailureKind::Server(ServerCode::Unknown),
                    format!(
                        "{op}: login_taken on the retry: the first attempt may have created it"
                    ),
                ))
            }
            Some(wire::ERR_REPLAYED) | None => Judged::Failed(ambiguous(
                FailureKind::Server(ServerCode::Unknown),
                format!("{op}: HTTP 409 {shown}: an earlier delivery of this request may have run"),
            )),
            Some(_) => Judged::Failed(unavailable(
                FailureKind::Server(ServerCode::Unknown),
                format!("{op}: HTTP 409 {shown}"),
            )),
        },
        401 | 403 => Judged::Failed(unavailable(
            FailureKind::AuthRefused,
            format!("{op}: HTTP {status} {shown}: the receiver refused the signature"),
        )),
        400..=499 => {
            let kind = match (status, code) {
                // The trait's answer for a password change of a missing account.
                (404, Some(wire::ERR_NOT_FOUND)) if endpoint == Endpoint::SetPassword => {
                    ServerCode::NotFound
                }
                (400 | 422, _) | (_, Some(wire::ERR_INVALID)) => ServerCode::Invalid,
                _ => ServerCode::Unknown,
            };
            Judged::Failed(unavailable(
                FailureKind::Server(kind),
                format!("{op}: HTTP {status} {shown}"),
            ))
        }
        500..=599 if code.is_some_and(|c| wire::NOTHING_DONE_CODES.contains(&c)) => {
            Judged::Failed(unavailable(
                FailureKind::Server(ServerCode::Internal),
                format!("{op}: HTTP {status} {shown}: the receiver did nothing"),
            ))
        }
        500..=599 => Judged::Failed(ambiguous(
            FailureKind::Server(ServerCode::Unknown),
            format!("{op}: HTTP {status} {shown}, not the receiver's own error answer"),
        )),
        _ => Judged::Failed(ambiguous(
            FailureKind::Protocol,
            format!("{op}: HTTP {status} is not an answer the API defines"),
        )),
    }
}

/// Only codes the API defines are echoed in a reason; anything else could
/// be arbitrary text from the server.
fn shown_code(code: Option<&str>) -> &'static str {
    use wire::*;
    match code {
        None => "(no error body)",
        Some(c) => [
            ERR_LOGIN_TAKEN,
            ERR_REPLAYED,
            ERR_INVALID,
            ERR_UNAUTHORIZED,
            ERR_NOT_FOUND,
            ERR_INTERNAL,
            ERR_BUSY,
        ]
        .into_iter()
        .find(|known| *known == c)
        .unwrap_or("(unknown error code)"),
    }
}

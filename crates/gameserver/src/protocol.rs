//! Wire protocol v1 between gamegate and the game server.
//!
//! TCP, UTF-8 JSON, one object per line terminated by `\n`. Every request
//! carries an `id` that the reply echoes. One connection carries many
//! requests sequentially.
//!
//! The two parsers ([`parse_request_line`], [`parse_reply_line`]) are pure,
//! never panic and enforce [`MAX_LINE_BYTES`]. Their error messages never
//! contain any part of the input (which may hold a token or a password).
//!
//! The contract, with examples of every command and reply:
//! docs/GAME_SERVER.md, "Protocol v1".

use std::fmt;

use serde::{Deserialize, Serialize};

/// Maximum length of one line, excluding its terminating `\n` (and an
/// optional `\r` before it).
pub const MAX_LINE_BYTES: usize = 4096;

/// Error code: the connection is not authenticated or the token is wrong.
pub const ERR_UNAUTHORIZED: &str = "unauthorized";
/// Error code: the login already exists (case-insensitively).
pub const ERR_LOGIN_TAKEN: &str = "login_taken";
/// Error code: the line was not a valid request (the connection is closed).
pub const ERR_INVALID: &str = "invalid";
/// Error code: the server failed internally; nothing was done.
pub const ERR_INTERNAL: &str = "internal";
/// Error code: no account with this login (`set_password`); nothing was done.
pub const ERR_NOT_FOUND: &str = "not_found";

/// The protocol version this crate speaks. A server may announce its own in
/// the `auth` reply ([`Reply::version`]); none announced means 1.
pub const PROTOCOL_VERSION: u64 = 1;

/// Every command of protocol v1 besides `auth`, as a server announces them
/// in [`Reply::capabilities`].
pub const COMMANDS: &[&str] = &[
    "register",
    "exists",
    "delete",
    "set_password",
    "ping",
    "online",
];

/// One request line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The request's id (unsigned 64-bit); the reply echoes it. The client numbers
    /// its requests from 1 up, one counter for all its connections.
    pub id: u64,
    /// The command, flattened into the same object (`"cmd"` plus its fields).
    #[serde(flatten)]
    pub command: Command,
}

impl Request {
    /// A request with this id and command.
    pub fn new(id: u64, command: Command) -> Self {
        Self { id, command }
    }

    /// Serialises the request as one line, including the trailing `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        to_line(self)
    }
}

/// The command of a request, tagged by the `cmd` field.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    /// `{"cmd":"auth","token":…}`: authenticates the connection; must come first
    /// on every connection (else `unauthorized`).
    Auth {
        /// `game_server.auth_token`, compared by the server.
        token: String,
    },
    /// `{"cmd":"register","login":…,"password":…,"gender":…}`: creates an account.
    /// Answers `account_id` on success, error `login_taken` when the login exists.
    Register {
        /// The login in Unicode NFC (gamegate's stored form).
        login: String,
        /// The plaintext password (the game server hashes it its own way).
        password: String,
        /// `0` or `1`.
        gender: u8,
    },
    /// `{"cmd":"exists","login":…}`: whether the login exists, case-insensitively
    /// (answered in `exists`). The reconciler's question.
    Exists {
        /// The login to look up (NFC).
        login: String,
    },
    /// `{"cmd":"delete","login":…}`: removes the account; `ok` also when it did
    /// not exist.
    Delete {
        /// The login to delete (NFC).
        login: String,
    },
    /// `{"cmd":"set_password","login":…,"password":…}`: changes the
    /// account's password; error `not_found` when no account has the login.
    SetPassword {
        /// The login (NFC), compared as `exists` compares it.
        login: String,
        /// The new plaintext password (the game server hashes it its own way).
        password: String,
    },
    /// `{"cmd":"ping"}`: liveness; answers plain `ok`.
    Ping,
    /// `{"cmd":"online"}`: players online now (answered in `online`).
    Online,
}

impl Command {
    /// The wire name of the command (`"register"`, ...), handy for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Auth { .. } => "auth",
            Command::Register { .. } => "register",
            Command::Exists { .. } => "exists",
            Command::Delete { .. } => "delete",
            Command::SetPassword { .. } => "set_password",
            Command::Ping => "ping",
            Command::Online => "online",
        }
    }
}

/// Hand-written so that secrets never reach a log.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Auth { token: _ } => f.debug_struct("Auth").field("token", &"***").finish(),
            Command::Register {
                login,
                password: _,
                gender,
            } => f
                .debug_struct("Register")
                .field("login", login)
                .field("password", &"***")
                .field("gender", gender)
                .finish(),
            Command::Exists { login } => f.debug_struct("Exists").field("login", login).finish(),
            Command::Delete { login } => f.debug_struct("Delete").field("login", login).finish(),
            Command::SetPassword { login, password: _ } => f
                .debug_struct("SetPassword")
                .field("login", login)
                .field("password", &"***")
                .finish(),
            Command::Ping => f.write_str("Ping"),
            Command::Online => f.write_str("Online"),
        }
    }
}

/// One reply line. `None` fields are not serialised.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The id of the request this answers.
    pub id: u64,
    /// `true` when the command succeeded.
    pub ok: bool,
    /// With `ok: false`: the error code ([`ERR_UNAUTHORIZED`], [`ERR_LOGIN_TAKEN`],
    /// [`ERR_INVALID`], [`ERR_INTERNAL`], or one this version does not know).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// With a successful `register`: the new account's id on the game server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<u64>,
    /// With a successful `exists`: whether the login exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// With a successful `online`: the number of players online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<u64>,
    /// With a successful `auth`, optionally: the protocol version the server
    /// speaks. Absent means 1; gamegate refuses any other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// With a successful `auth`, optionally: the commands the server
    /// implements besides `auth` (`register`, `exists`, `delete`,
    /// `set_password`, `ping`, `online`). Absent means all of them; a
    /// command not listed is not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Vec<String>>,
}

impl Reply {
    /// `{"id":id,"ok":true}`
    pub fn ok(id: u64) -> Self {
        Self {
            id,
            ok: true,
            ..Self::default()
        }
    }

    /// `{"id":id,"ok":false,"error":code}`
    pub fn error(id: u64, code: &str) -> Self {
        Self {
            id,
            ok: false,
            error: Some(code.to_owned()),
            ..Self::default()
        }
    }

    /// Sets `account_id` (a `register` reply).
    pub fn with_account_id(mut self, account_id: u64) -> Self {
        self.account_id = Some(account_id);
        self
    }

    /// Sets `exists` (an `exists` reply).
    pub fn with_exists(mut self, exists: bool) -> Self {
        self.exists = Some(exists);
        self
    }

    /// Sets `online` (an `online` reply).
    pub fn with_online(mut self, online: u64) -> Self {
        self.online = Some(online);
        self
    }

    /// Sets `version` and `capabilities` (an `auth` reply that announces
    /// the server's protocol).
    pub fn with_protocol(mut self, version: u64, capabilities: &[&str]) -> Self {
        self.version = Some(version);
        self.capabilities = Some(capabilities.iter().map(|c| (*c).to_owned()).collect());
        self
    }

    /// Serialises the reply as one line, including the trailing `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        to_line(self)
    }
}

fn to_line<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising these plain structs (string keys, no maps with non-string
    // keys, no failing Serialize impls) cannot fail.
    let mut line = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    line.push(b'\n');
    line
}

/// Why a line could not be parsed. The messages never quote the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("line too long ({len} bytes, at most {MAX_LINE_BYTES} allowed)")]
    TooLong {
        /// The line's length in bytes, without its terminator.
        len: usize,
    },
    /// The line is not a valid message (bad JSON, unknown command, missing
    /// or mistyped field). `id` is the request/reply id when one could be
    /// read from the line.
    #[error("malformed line: {reason}")]
    Malformed {
        /// The line's `id`, when it could be read.
        id: Option<u64>,
        /// What is wrong, in words that never quote the line.
        reason: String,
    },
}

impl ProtocolError {
    /// The id found in the offending line, if any (to echo it in an
    /// `invalid` reply; use 0 when `None`).
    pub fn id(&self) -> Option<u64> {
        match self {
            ProtocolError::TooLong { .. } => None,
            ProtocolError::Malformed { id, .. } => *id,
        }
    }
}

/// Parses one request line (with or without its trailing `\n`).
/// Errs with [`ProtocolError::TooLong`] over [`MAX_LINE_BYTES`], else
/// [`ProtocolError::Malformed`] for bad JSON, an unknown `cmd` or a missing
/// or mistyped field (unknown extra fields are ignored).
pub fn parse_request_line(line: &[u8]) -> Result<Request, ProtocolError> {
    parse_line(line)
}

/// Parses one reply line (with or without its trailing `\n`).
/// Errs like [`parse_request_line`].
pub fn parse_reply_line(line: &[u8]) -> Result<Reply, ProtocolError> {
    parse_line(line)
}

fn parse_line<T: serde::de::DeserializeOwned>(line: &[u8]) -> Result<T, ProtocolError> {
    let line = strip_line_end(line);
    if line.len() > MAX_LINE_BYTES {
        return Err(ProtocolError::TooLong { len: line.len() });
    }
    serde_json::from_slice::<T>(line).map_err(|err| ProtocolError::Malformed {
        id: salvage_id(line),
        reason: describe(&err),
    })
}

fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A description of a serde_json error that does not quote the input
/// (serde_json messages may contain offending values, e.g. a password sent
/// with the wrong type).
fn describe(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Io => "i/o error",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected or missing field, unknown command or wrong type",
        Category::Eof => "truncated JSON",
    };
    format!("{what} at column {}", err.column())
}

/// Best effort: the `id` of a line that failed to parse as a full message.
fn salvage_id(line: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: u64,
    }
    serde_json::from_slice::<IdOnly>(line).ok().map(|v| v.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(line: &str) -> Result<Request, ProtocolError> {
        parse_request_line(line.as_bytes())
    }

    #[test]
    fn parses_every_command() {
        let cases: Vec<(&str, Request)> = vec![
            (
                r#"{"id":1,"cmd":"auth","token":"s3cr3t"}"#,
                Request::new(
                    1,
                    Command::Auth {
                        token: "s3cr3t".into(),
                    },
                ),
            ),
            (
                r#"{"id":2,"cmd":"register","login":"Hero_01","password":"secret12","gender":0}"#,
                Request::new(
                    2,
                    Command::Register {
                        login: "Hero_01".into(),
                        password: "secret12".into(),
                        gender: 0,
                    },
                ),
            ),
            (
                r#"{"id":3,"cmd":"exists","login":"Hero_01"}"#,
                Request::new(
                    3,
                    Command::Exists {
                        login: "Hero_01".into(),
                    },
                ),
            ),
            (
                r#"{"id":4,"cmd":"delete","login":"Hero_01"}"#,
                Request::new(
                    4,
                    Command::Delete {
                        login: "Hero_01".into(),
                    },
                ),
            ),
            (r#"{"id":5,"cmd":"ping"}"#, Request::new(5, Command::Ping)),
            (
                r#"{"id":7,"cmd":"set_password","login":"Hero_01","password":"n3w-secret"}"#,
                Request::new(
                    7,
                    Command::SetPassword {
                        login: "Hero_01".into(),
                        password: "n3w-secret".into(),
                    },
                ),
            ),
            (
                r#"{"cmd":"online","id":6}"#,
                Request::new(6, Command::Online),
            ),
        ];
        for (line, expected) in cases {
            assert_eq!(req(line).unwrap(), expected, "{line}");
            // with the line terminator(s)
            assert_eq!(req(&format!("{line}\n")).unwrap(), expected);
            assert_eq!(req(&format!("{line}\r\n")).unwrap(), expected);
        }
    }

    #[test]
    fn request_roundtrips_through_to_line() {
        for command in [
            Command::Auth { token: "t".into() },
            Command::Register {
                login: "Hero_01".into(),
                password: "pw \"quoted\" ünï".into(),
                gender: 1,
            },
            Command::Exists { login: "a".into() },
            Command::Delete { login: "b".into() },
            Command::SetPassword {
                login: "c".into(),
                password: "pw".into(),
            },
            Command::Ping,
            Command::Online,
        ] {
            let request = Request::new(u64::MAX, command);
            let line = request.to_line();
            assert_eq!(line.last(), Some(&b'\n'));
            assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
            assert_eq!(parse_request_line(&line).unwrap(), request);
        }
    }

    #[test]
    fn request_wire_format_matches_the_contract() {
        let line = Request::new(5, Command::Ping).to_line();
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value, serde_json::json!({"id":5,"cmd":"ping"}));
        let line = Request::new(
            2,
            Command::Register {
                login: "Hero_01".into(),
                password: "secret12".into(),
                gender: 0,
            },
        )
        .to_line();
        let value: serde_json::Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"id":2,"cmd":"register","login":"Hero_01","password":"secret12","gender":0})
        );
    }

    #[test]
    fn unknown_extra_fields_are_ignored() {
        assert_eq!(
            req(r#"{"id":5,"cmd":"ping","extra":[1,2]}"#).unwrap(),
            Request::new(5, Command::Ping)
        );
    }

    #[test]
    fn oversized_lines_are_rejected() {
        // Exactly at the limit is fine (padding with JSON whitespace).
        let base = r#"{"id":5,"cmd":"ping"}"#;
        let at_limit = format!("{base}{}", " ".repeat(MAX_LINE_BYTES - base.len()));
        assert_eq!(at_limit.len(), MAX_LINE_BYTES);
        assert!(req(&at_limit).is_ok());
        assert!(req(&format!("{at_limit}\n")).is_ok());

        let over = format!("{at_limit} ");
        assert_eq!(
            req(&over).unwrap_err(),
            ProtocolError::TooLong {
                len: MAX_LINE_BYTES + 1
            }
        );
        let huge = vec![b'x'; 1 << 20];
        assert!(matches!(
            parse_request_line(&huge),
            Err(ProtocolError::TooLong { .. })
        ));
        assert!(matches!(
            parse_reply_line(&huge),
            Err(ProtocolError::TooLong { .. })
        ));
        assert_eq!(
            ProtocolError::TooLong { len: 5000 }.id(),
            None,
            "no id for oversized lines"
        );
    }

    #[test]
    fn non_json_is_malformed_without_id() {
        for line in [
            "",
            "\n",
            "hello",
            "{",
            "[1,2]",
            "null",
            r#"{"id":1,"cmd":"ping"} trailing"#,
        ] {
            let err = req(line).unwrap_err();
            assert!(
                matches!(err, ProtocolError::Malformed { .. }),
                "{line:?}: {err:?}"
            );
            assert_eq!(err.id(), None, "{line:?}");
        }
        let err = parse_request_line(b"\xff\xfe{}").unwrap_err();
        assert!(matches!(err, ProtocolError::Malformed { id: None, .. }));
        let err =
            parse_request_line(b"{\"id\":1,\"cmd\":\"exists\",\"login\":\"\xff\"}").unwrap_err();
        assert!(matches!(err, ProtocolError::Malformed { .. }));
    }

    #[test]
    fn unknown_command_keeps_the_id() {
        let err = req(r#"{"id":9,"cmd":"explode"}"#).unwrap_err();
        assert!(matches!(err, ProtocolError::Malformed { id: Some(9), .. }));
        let err = req(r#"{"id":10}"#).unwrap_err();
        assert_eq!(err.id(), Some(10), "missing cmd");
        let err = req(r#"{"id":11,"cmd":"register","login":"a"}"#).unwrap_err();
        assert_eq!(err.id(), Some(11), "missing fields");
        let err = req(r#"{"id":12,"cmd":"register","login":"a","password":"p","gender":256}"#)
            .unwrap_err();
        assert_eq!(err.id(), Some(12), "gender out of range");
    }

    #[test]
    fn missing_or_bad_id_is_rejected() {
        for line in [
            r#"{"cmd":"ping"}"#,
            r#"{"id":-1,"cmd":"ping"}"#,
            r#"{"id":1.5,"cmd":"ping"}"#,
            r#"{"id":"1","cmd":"ping"}"#,
            r#"{"id":18446744073709551616,"cmd":"ping"}"#,
        ] {
            let err = req(line).unwrap_err();
            assert!(
                matches!(err, ProtocolError::Malformed { id: None, .. }),
                "{line}: {err:?}"
            );
        }
    }

    #[test]
    fn error_messages_never_quote_the_input() {
        let line = r#"{"id":1,"cmd":"register","login":"a","password":"p","gender":"TOPSECRET"}"#;
        let err = req(line).unwrap_err();
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        let line = r#"{"id":1,"cmd":"auth","token":["TOPSECRET"]}"#;
        let err = req(line).unwrap_err();
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
        let err = req(r#"{"id":1,"cmd":"TOPSECRET"}"#).unwrap_err();
        assert!(!err.to_string().contains("TOPSECRET"), "{err}");
    }

    #[test]
    fn deeply_nested_input_does_not_overflow() {
        let mut line = String::from(r#"{"id":1,"cmd":"ping","x":"#);
        line.push_str(&"[".repeat(2000));
        line.push('}');
        assert!(req(&line).is_err());
        let nested = "[".repeat(MAX_LINE_BYTES);
        assert!(req(&nested).is_err());
        assert!(parse_reply_line(nested.as_bytes()).is_err());
    }

    #[test]
    fn debug_masks_secrets() {
        let cmd = Command::Register {
            login: "Hero_01".into(),
            password: "secret12".into(),
            gender: 1,
        };
        let dbg = format!("{:?}", Request::new(1, cmd));
        assert!(!dbg.contains("secret12"), "{dbg}");
        assert!(dbg.contains("Hero_01") && dbg.contains("\"***\""), "{dbg}");
        let dbg = format!(
            "{:#?}",
            Command::Auth {
                token: "tok-XYZ".into()
            }
        );
        assert!(!dbg.contains("tok-XYZ") && dbg.contains("***"), "{dbg}");
        assert_eq!(format!("{:?}", Command::Ping), "Ping");
        let dbg = format!(
            "{:?}",
            Command::SetPassword {
                login: "Hero_01".into(),
                password: "n3w-SECRET".into()
            }
        );
        assert!(
            !dbg.contains("n3w-SECRET") && dbg.contains("Hero_01"),
            "{dbg}"
        );
        assert_eq!(
            Command::SetPassword {
                login: String::new(),
                password: String::new()
            }
            .name(),
            "set_password"
        );
    }

    #[test]
    fn auth_replies_may_announce_version_and_capabilities() {
        // An old server: neither field.
        let old = parse_reply_line(br#"{"id":1,"ok":true}"#).unwrap();
        assert_eq!((old.version, old.capabilities), (None, None));
        let new = parse_reply_line(
            br#"{"id":1,"ok":true,"version":1,"capabilities":["register","exists"]}"#,
        )
        .unwrap();
        assert_eq!(new, Reply::ok(1).with_protocol(1, &["register", "exists"]));
        assert_eq!(
            Reply::ok(1)
                .with_protocol(PROTOCOL_VERSION, &["ping"])
                .to_line(),
            b"{\"id\":1,\"ok\":true,\"version\":1,\"capabilities\":[\"ping\"]}\n"
        );
        for bad in [
            &br#"{"id":1,"ok":true,"version":"1"}"#[..],
            br#"{"id":1,"ok":true,"version":-1}"#,
            br#"{"id":1,"ok":true,"capabilities":"register"}"#,
            br#"{"id":1,"ok":true,"capabilities":[1]}"#,
        ] {
            assert!(
                parse_reply_line(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn parses_replies() {
        assert_eq!(
            parse_reply_line(b"{\"id\":1,\"ok\":true}\n").unwrap(),
            Reply::ok(1)
        );
        assert_eq!(
            parse_reply_line(br#"{"id":2,"ok":true,"account_id":1001}"#).unwrap(),
            Reply::ok(2).with_account_id(1001)
        );
        assert_eq!(
            parse_reply_line(br#"{"id":2,"ok":false,"error":"login_taken"}"#).unwrap(),
            Reply::error(2, ERR_LOGIN_TAKEN)
        );
        assert_eq!(
            parse_reply_line(br#"{"id":3,"ok":true,"exists":true}"#).unwrap(),
            Reply::ok(3).with_exists(true)
        );
        assert_eq!(
            parse_reply_line(br#"{"id":6,"ok":true,"online":42}"#).unwrap(),
            Reply::ok(6).with_online(42)
        );
        for bad in [
            &br#"{"ok":true}"#[..],
            br#"{"id":1}"#,
            br#"{"id":1,"ok":"yes"}"#,
            b"garbage",
        ] {
            assert!(parse_reply_line(bad).is_err());
        }
        assert_eq!(parse_reply_line(br#"{"id":7}"#).unwrap_err().id(), Some(7));
    }

    #[test]
    fn reply_serialisation_skips_none_fields() {
        assert_eq!(Reply::ok(5).to_line(), b"{\"id\":5,\"ok\":true}\n");
        assert_eq!(
            Reply::error(0, ERR_INVALID).to_line(),
            b"{\"id\":0,\"ok\":false,\"error\":\"invalid\"}\n"
        );
        assert_eq!(
            Reply::ok(6).with_online(42).to_line(),
            b"{\"id\":6,\"ok\":true,\"online\":42}\n"
        );
        let r = Reply::ok(2).with_account_id(1001);
        assert_eq!(parse_reply_line(&r.to_line()).unwrap(), r);
    }

    #[test]
    fn parsers_never_panic_on_assorted_bytes() {
        // A tiny deterministic "fuzz" pass; the real fuzzing happens elsewhere.
        let seeds: [&[u8]; 6] = [
            br#"{"id":1,"cmd":"register","login":"a","password":"b","gender":1}"#,
            br#"{"id":1,"ok":true,"account_id":1}"#,
            b"{\"id\":\xf0\x9f\x92,\"cmd\":\"ping\"}",
            b"\0\0\0",
            b"{\"id\":1e400}",
            b"\"\\ud800\"",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for seed in seeds {
            for _ in 0..500 {
                let mut bytes = seed.to_vec();
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                if !bytes.is_empty() {
                    let pos = (state as usize) % bytes.len();
                    bytes[pos] = (state >> 32) as u8;
                    bytes.truncate(((state >> 16) as usize) % (bytes.len() + 1));
                }
                let _ = parse_request_line(&bytes);
                let _ = parse_reply_line(&bytes);
            }
        }
    }
}

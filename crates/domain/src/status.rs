//! `GET /api/server/status`: the answer built from the `constants` table and
//! the polls of the game server, and the rules an operator's change of a
//! constant must follow (`gamegate status set`, `PUT /admin/constants/{name}`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{FieldError, FieldErrorCode};
use crate::json::ObjectText;
use crate::lang::Lang;
use crate::number::{JsonInteger, json_integer};

/// `GET /api/server/status` (docs/API.md): the game's constants. `server_status`,
/// `rates` and `client_status` are the contract's fields, with its names and
/// types; `updated_at`, `game_server` and `online` are additions.
// With the `openapi` feature this type is the answer's schema in the
// service's OpenAPI document: its doc comments are the descriptions there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerStatus {
    /// Constant `server_status` (0 when the row is missing); 0 while the game
    /// server is down when `status.derive_from_game_server` is on.
    pub server_status: f64,
    /// Every constant `rate_<name>` as `<name>` (the migration seeds `exp`,
    /// `pve` and `pvp`).
    #[cfg_attr(
        feature = "openapi",
        schema(example = json!({"exp": 1.0, "pve": 1.0, "pvp": 1.0}))
    )]
    pub rates: BTreeMap<String, f64>,
    /// Constant `client_status` (0 when the row is missing).
    pub client_status: f64,
    /// Unix seconds of the moment the constants were read from the database.
    pub updated_at: i64,
    /// `up` when the game server answered the last poll (`ping`, every
    /// `status.refresh_interval_ms`), `down` when it did not.
    pub game_server: GameServerState,
    /// Players online by the game server's last answer to `online`; `null`
    /// while the game server is down or when it cannot count them.
    #[cfg_attr(
        feature = "openapi",
        schema(example = 42, minimum = 0, required = true)
    )]
    pub online: Option<u64>,
}

/// Whether the game server answered the last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum GameServerState {
    /// It answered `ping`.
    Up,
    /// It refused, failed or did not answer within the call timeout.
    Down,
}

/// What the polls of the game server found so far: no I/O, kept by whoever
/// polls and read by the status answer and the readiness check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GameObservation {
    /// Polls in a row whose `ping` failed; 0 when the last one answered.
    pub failed_polls: u32,
    /// The answer to `online` at the last poll; `None` when the game server
    /// is down, cannot count its players, or failed to.
    pub online: Option<u64>,
}

impl GameObservation {
    /// Whether the last poll's `ping` answered.
    pub fn is_up(&self) -> bool {
        self.failed_polls == 0
    }

    /// The next observation after a poll: `online` is `Some` when `ping`
    /// answered (and so did `online`), and ignored when `ping` did not.
    pub fn after_poll(self, ping_answered: bool, online: Option<u64>) -> Self {
        match ping_answered {
            true => GameObservation {
                failed_polls: 0,
                online,
            },
            false => GameObservation {
                failed_polls: self.failed_polls.saturating_add(1),
                online: None,
            },
        }
    }
}

impl ServerStatus {
    /// `rate_`: the name prefix of the constants that become `rates`.
    pub const RATE_PREFIX: &'static str = "rate_";

    /// Builds the answer from `(name, value)` rows: every `rate_<name>` row
    /// becomes `rates.<name>`; a missing status constant reads as 0. The game
    /// server reads as `up` with `online` unknown until [`ServerStatus::reflect`]
    /// says otherwise.
    pub fn from_constants<'a>(
        rows: impl IntoIterator<Item = (&'a str, f64)>,
        updated_at: i64,
    ) -> Self {
        let mut status = ServerStatus {
            server_status: 0.0,
            rates: BTreeMap::new(),
            client_status: 0.0,
            updated_at,
            game_server: GameServerState::Up,
            online: None,
        };
        for (name, value) in rows {
            match name {
                "server_status" => status.server_status = value,
                "client_status" => status.client_status = value,
                _ => {
                    if let Some(rate) = name
                        .strip_prefix(Self::RATE_PREFIX)
                        .filter(|r| !r.is_empty())
                    {
                        status.rates.insert(rate.to_owned(), value);
                    }
                }
            }
        }
        status
    }

    /// The answer with the game server's state: `game_server` and `online`
    /// from `game`, and — with `down_after_polls` (`status.down_after_polls`
    /// when `status.derive_from_game_server` is on) — `server_status` 0 once
    /// that many polls in a row have failed.
    pub fn reflect(mut self, game: GameObservation, down_after_polls: Option<u32>) -> Self {
        self.game_server = match game.is_up() {
            true => GameServerState::Up,
            false => GameServerState::Down,
        };
        self.online = game.online.filter(|_| game.is_up());
        if down_after_polls.is_some_and(|n| game.failed_polls >= n) {
            self.server_status = 0.0;
        }
        self
    }
}

/// Longest `<name>` of a `rate_<name>` an operator may set.
pub const MAX_RATE_NAME_CHARS: usize = 32;
/// Largest rate an operator may set (a multiplier: `1` is the normal rate).
pub const MAX_RATE: f64 = 1_000_000.0;
/// Largest `client_status` an operator may set: 2^53 − 1, the largest
/// integer a JSON reader with `f64` numbers (JavaScript) keeps exactly.
pub const MAX_CLIENT_STATUS: i128 = (1 << 53) - 1;

/// A constant of the status answer an operator may set: `server_status`,
/// `client_status`, or a rate `rate_<name>` (`<name>` of 1 to
/// [`MAX_RATE_NAME_CHARS`] characters `a-z`, `0-9`, `_`). Other rows of the
/// table are not the status answer's, so no operator command writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstantName {
    /// `server_status`: 1 when the game is open, 0 when it is not.
    ServerStatus,
    /// `client_status`: a whole number the site shows or compares (the
    /// migration stores 256: the client version).
    ClientStatus,
    /// `rate_<name>`: a rate multiplier, shown as `rates.<name>`.
    Rate(String),
}

/// Why a value is refused for a constant ([`ConstantName::check`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueProblem {
    /// Not a number, or not a whole one where the constant wants one
    /// (field code `type`).
    Type,
    /// A number outside the constant's range (field code `out_of_range`).
    OutOfRange,
}

impl ValueProblem {
    /// The field code of an answer's `errors` entry.
    pub fn code(self) -> FieldErrorCode {
        match self {
            ValueProblem::Type => FieldErrorCode::Type,
            ValueProblem::OutOfRange => FieldErrorCode::OutOfRange,
        }
    }
}

impl ConstantName {
    /// The constant a row name stands for; `None` for any other name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "server_status" => Some(ConstantName::ServerStatus),
            "client_status" => Some(ConstantName::ClientStatus),
            _ => {
                let rate = name.strip_prefix(ServerStatus::RATE_PREFIX)?;
                let fits = (1..=MAX_RATE_NAME_CHARS).contains(&rate.len())
                    && rate
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                fits.then(|| ConstantName::Rate(rate.to_owned()))
            }
        }
    }

    /// The row's name in the `constants` table (`rate_exp`).
    pub fn row_name(&self) -> String {
        match self {
            ConstantName::ServerStatus => "server_status".to_owned(),
            ConstantName::ClientStatus => "client_status".to_owned(),
            ConstantName::Rate(rate) => format!("{}{rate}", ServerStatus::RATE_PREFIX),
        }
    }

    /// Judges `number`, the text of a JSON number (`1`, `0.5`, `1e2`), by its
    /// exact value: `server_status` must be 0 or 1, `client_status` a whole
    /// number from 0 to [`MAX_CLIENT_STATUS`], a rate a number from 0 to
    /// [`MAX_RATE`]. The value to store, or why not.
    pub fn check(&self, number: &str) -> Result<f64, ValueProblem> {
        let integer = json_integer(number).ok_or(ValueProblem::Type)?;
        match (self, integer) {
            (ConstantName::ServerStatus | ConstantName::ClientStatus, JsonInteger::Fraction) => {
                Err(ValueProblem::Type)
            }
            (ConstantName::ServerStatus, JsonInteger::Exact(v @ 0..=1)) => Ok(v as f64),
            (ConstantName::ClientStatus, JsonInteger::Exact(v))
                if (0..=MAX_CLIENT_STATUS).contains(&v) =>
            {
                Ok(v as f64)
            }
            (ConstantName::Rate(_), _) => match number.parse::<f64>() {
                // `+ 0.0` turns `-0` into 0: a rate is never shown as `-0.0`.
                Ok(v) if (0.0..=MAX_RATE).contains(&v) => Ok(v + 0.0),
                _ => Err(ValueProblem::OutOfRange),
            },
            _ => Err(ValueProblem::OutOfRange),
        }
    }

    /// The values the constant takes, in words (for messages).
    pub fn rule(&self, lang: Lang) -> String {
        match self {
            ConstantName::ServerStatus => lang
                .pick("0 (закрыт) или 1 (открыт)", "0 (closed) or 1 (open)")
                .to_owned(),
            ConstantName::ClientStatus => match lang {
                Lang::Ru => format!("целое число от 0 до {MAX_CLIENT_STATUS}"),
                Lang::En => format!("a whole number from 0 to {MAX_CLIENT_STATUS}"),
            },
            ConstantName::Rate(_) => match lang {
                Lang::Ru => format!("число от 0 до {MAX_RATE}"),
                Lang::En => format!("a number from 0 to {MAX_RATE}"),
            },
        }
    }
}

/// The only key of a constant's JSON body: `{"value": <number>}`.
pub const CONSTANT_VALUE_FIELD: &str = "value";

/// Validates `{"value": <number>}` for the constant `name`, every problem at
/// once like the registration's validation: `value` missing or `null`
/// (`required`), given twice (`duplicate`), not a number or not whole where
/// it must be (`type`), outside the constant's range (`out_of_range`), and
/// each other key (`unknown_field`). The value to store, or the errors of a
/// `validation_error` answer.
pub fn validate_constant_body(
    name: &ConstantName,
    body: &ObjectText,
    lang: Lang,
) -> Result<f64, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut push = |field: &str, code: FieldErrorCode, message: String| {
        errors.push(FieldError {
            field: field.to_owned(),
            code,
            message,
        })
    };
    let mut values = body.values(CONSTANT_VALUE_FIELD);
    let value = match (values.next().map(|v| v.get().trim()), values.next()) {
        (None | Some("null"), None) => {
            let msg = lang.pick("Значение: обязательное поле.", "Value is required.");
            push(
                CONSTANT_VALUE_FIELD,
                FieldErrorCode::Required,
                msg.to_owned(),
            );
            None
        }
        (Some(_), Some(_)) => {
            let msg = lang.pick(
                "Значение: поле указано несколько раз.",
                "Value is given more than once.",
            );
            push(
                CONSTANT_VALUE_FIELD,
                FieldErrorCode::Duplicate,
                msg.to_owned(),
            );
            None
        }
        (Some(text), None) => match name.check(text) {
            Ok(value) => Some(value),
            Err(problem) => {
                let rule = name.rule(lang);
                let msg = match lang {
                    Lang::Ru => format!("Значение {}: {rule}.", name.row_name()),
                    Lang::En => format!("The value of {} must be {rule}.", name.row_name()),
                };
                push(CONSTANT_VALUE_FIELD, problem.code(), msg);
                None
            }
        },
        (None, Some(_)) => unreachable!("a second value without a first"),
    };
    let mut unknown: Vec<&str> = body
        .members()
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| *k != CONSTANT_VALUE_FIELD)
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    for key in unknown {
        // The key is echoed back, so bound it: it is attacker-controlled text.
        let shown: String = key.chars().take(64).collect();
        let msg = match lang {
            Lang::Ru => format!("Неизвестное поле «{shown}»."),
            Lang::En => format!("Unknown field \"{shown}\"."),
        };
        push(&shown, FieldErrorCode::UnknownField, msg);
    }
    match value {
        Some(value) if errors.is_empty() => Ok(value),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_collected_and_others_ignored() {
        let s = ServerStatus::from_constants(
            [
                ("server_status", 1.0),
                ("client_status", 256.0),
                ("rate_exp", 2.0),
                ("rate_", 9.0),
                ("motd", 3.0),
            ],
            7,
        );
        assert_eq!(s.server_status, 1.0);
        assert_eq!(s.client_status, 256.0);
        assert_eq!(s.rates.len(), 1);
        assert_eq!(s.rates["exp"], 2.0);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["rates"]["exp"], 2.0);
        assert_eq!(json["client_status"], 256.0);
        assert_eq!(json["game_server"], "up");
        assert_eq!(json["online"], serde_json::Value::Null);
    }

    #[test]
    fn the_game_servers_state_shows_and_derives_server_status_after_n_failed_polls() {
        let open = || ServerStatus::from_constants([("server_status", 1.0)], 7);
        let up = GameObservation::default().after_poll(true, Some(42));
        let s = open().reflect(up, Some(2));
        assert_eq!(
            (s.game_server, s.online, s.server_status),
            (GameServerState::Up, Some(42), 1.0)
        );
        let once = up.after_poll(false, Some(42));
        assert_eq!(once.online, None, "a down server counts no one");
        let s = open().reflect(once, Some(2));
        assert_eq!(
            (s.game_server, s.online, s.server_status),
            (GameServerState::Down, None, 1.0),
            "one failed poll is not yet N = 2"
        );
        let twice = once.after_poll(false, None);
        assert_eq!(open().reflect(twice, Some(2)).server_status, 0.0);
        assert_eq!(
            open().reflect(twice, None).server_status,
            1.0,
            "derivation off: the constant stands"
        );
        let back = twice.after_poll(true, None);
        let s = open().reflect(back, Some(2));
        assert_eq!(
            (s.game_server, s.online, s.server_status),
            (GameServerState::Up, None, 1.0)
        );
        let json = serde_json::to_value(open().reflect(twice, Some(2))).unwrap();
        assert_eq!(json["game_server"], "down");
    }

    #[test]
    fn operators_may_set_the_status_constants_and_rates_only() {
        assert_eq!(
            ConstantName::parse("server_status"),
            Some(ConstantName::ServerStatus)
        );
        assert_eq!(
            ConstantName::parse("rate_drop_2"),
            Some(ConstantName::Rate("drop_2".into()))
        );
        assert_eq!(
            ConstantName::parse("rate_drop_2").unwrap().row_name(),
            "rate_drop_2"
        );
        let long = format!("rate_{}", "a".repeat(MAX_RATE_NAME_CHARS));
        assert!(ConstantName::parse(&long).is_some());
        for name in [
            "motd",
            "rate_",
            "rate_Exp",
            "rate_exp!",
            "Server_status",
            "",
            &format!("{long}a"),
        ] {
            assert_eq!(ConstantName::parse(name), None, "{name:?}");
        }
    }

    #[test]
    fn minus_zero_is_stored_as_zero() {
        let rate = ConstantName::parse("rate_exp").unwrap();
        for text in ["-0", "-0.0", "-0e5"] {
            let v = rate.check(text).unwrap();
            assert!(v == 0.0 && v.is_sign_positive(), "{text}: {v}");
        }
    }

    #[test]
    fn values_are_judged_exactly_by_each_constants_rule() {
        use ValueProblem::{OutOfRange, Type};
        let server = ConstantName::ServerStatus;
        assert_eq!(server.check("1"), Ok(1.0));
        assert_eq!(server.check("0.0e3"), Ok(0.0));
        assert_eq!(server.check("2"), Err(OutOfRange));
        assert_eq!(server.check("-1"), Err(OutOfRange));
        assert_eq!(server.check("0.5"), Err(Type));
        assert_eq!(server.check("\"1\""), Err(Type));
        assert_eq!(server.check("true"), Err(Type));
        let client = ConstantName::ClientStatus;
        assert_eq!(client.check("256"), Ok(256.0));
        assert_eq!(client.check("9007199254740991"), Ok(9007199254740991.0));
        assert_eq!(client.check("9007199254740992"), Err(OutOfRange));
        assert_eq!(client.check("1E400"), Err(OutOfRange));
        assert_eq!(client.check("256.5"), Err(Type));
        let rate = ConstantName::Rate("exp".into());
        assert_eq!(rate.check("2.5"), Ok(2.5));
        assert_eq!(rate.check("0"), Ok(0.0));
        assert_eq!(rate.check("1e6"), Ok(1e6));
        assert_eq!(rate.check("1000000.5"), Err(OutOfRange));
        assert_eq!(rate.check("-0.1"), Err(OutOfRange));
        assert_eq!(rate.check("1e400"), Err(OutOfRange));
        for not_json in ["NaN", "inf", "+1", ".5", "1.", "0x10", "", " 1"] {
            assert_eq!(rate.check(not_json), Err(Type), "{not_json:?}");
        }
    }

    fn body(text: &str) -> Result<f64, Vec<(String, &'static str)>> {
        let object = ObjectText::parse(text.as_bytes()).unwrap();
        validate_constant_body(&ConstantName::ServerStatus, &object, Lang::En)
            .map_err(|e| e.into_iter().map(|e| (e.field, e.code.as_str())).collect())
    }

    #[test]
    fn the_body_is_one_value_and_every_problem_is_listed() {
        assert_eq!(body(r#"{"value": 0}"#), Ok(0.0));
        assert_eq!(body(r#"{"value": 1.0}"#), Ok(1.0));
        let err = |field: &str, code| Err(vec![(field.to_owned(), code)]);
        assert_eq!(body("{}"), err("value", "required"));
        assert_eq!(body(r#"{"value": null}"#), err("value", "required"));
        assert_eq!(body(r#"{"value": "1"}"#), err("value", "type"));
        assert_eq!(body(r#"{"value": 7}"#), err("value", "out_of_range"));
        assert_eq!(
            body(r#"{"value": 1, "value": 1}"#),
            err("value", "duplicate")
        );
        assert_eq!(
            body(r#"{"valeu": 1, "why": "x", "why": "y"}"#),
            Err(vec![
                ("value".into(), "required"),
                ("valeu".into(), "unknown_field"),
                ("why".into(), "unknown_field"),
            ])
        );
        let object = ObjectText::parse(br#"{"value": 7}"#).unwrap();
        let errors =
            validate_constant_body(&ConstantName::ServerStatus, &object, Lang::En).unwrap_err();
        assert_eq!(
            errors[0].message,
            "The value of server_status must be 0 (closed) or 1 (open)."
        );
    }
}

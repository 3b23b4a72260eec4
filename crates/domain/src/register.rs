//! `POST /api/register`: the request and its rules (the per-Telegram account
//! limit is [`AccountLimit`], in its own module).

use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

pub use crate::account_limit::AccountLimit;
use crate::error::{FieldError, FieldErrorCode};
use crate::json::{ObjectText, repeated_key};
use crate::lang::Lang;
use crate::number::{JsonInteger, json_integer};

mod password_change;

pub use password_change::{
    MAX_OLD_PASSWORD_CHARS, PASSWORD_CHANGE_FIELDS, PasswordChange, validate_password_change,
};
use password_change::{check_password, unknown_fields};

/// The fields a registration request may carry; anything else is `unknown_field`.
pub const REGISTER_FIELDS: [&str; 5] = [
    "login",
    "password",
    "gender",
    "telegram_id",
    "telegram_auth",
];

/// Validation limits. Defaults are the contract's (API.md §3); the login
/// charset is configurable because some game servers accept more than ASCII.
#[derive(Debug, Clone)]
pub struct RegistrationRules {
    /// Fewest characters (Unicode scalar values after NFC) a login may have;
    /// default 3.
    pub login_min_chars: usize,
    /// Most characters (after NFC) a login may have; default 16.
    pub login_max_chars: usize,
    /// A regex character-class body, e.g. `A-Za-z0-9_`.
    login_charset: String,
    login_charset_re: Regex,
    /// Fewest characters a password may have; default 6.
    pub password_min_chars: usize,
    /// Most characters a password may have; default 20.
    pub password_max_chars: usize,
    /// The characters a password may hold, as a character-class body and its
    /// compiled form; `None` (the default) admits every non-control character.
    /// Set when the game server declares one ([`crate::GameAccountRules`]).
    password_charset: Option<(String, Regex)>,
}

impl RegistrationRules {
    /// `A-Za-z0-9_`: the contract's login charset (docs/API.md, "Logins").
    pub const DEFAULT_LOGIN_CHARSET: &'static str = "A-Za-z0-9_";

    /// Builds rules with a custom login charset (a character-class body such as
    /// `A-Za-z0-9_`). Fails on a charset that is not a valid class.
    /// The error is a message for the operator naming the charset.
    pub fn with_login_charset(charset: &str) -> Result<Self, String> {
        check_class_body("login", charset)?;
        Self::with_class_body(charset)
    }

    /// [`Self::with_login_charset`] for a body made of checked class bodies,
    /// such as the intersection `[ours]&&[theirs]`, whose brackets are
    /// balanced by construction.
    pub(crate) fn with_class_body(charset: &str) -> Result<Self, String> {
        let re = Regex::new(&format!("^[{charset}]+$")).map_err(|e| {
            format!("login charset {charset:?} is not a valid character class: {e}")
        })?;
        Ok(Self {
            login_min_chars: 3,
            login_max_chars: 16,
            login_charset: charset.to_owned(),
            login_charset_re: re,
            password_min_chars: 6,
            password_max_chars: 20,
            password_charset: None,
        })
    }

    /// The password charset (a character-class body), if one is set.
    pub fn password_charset(&self) -> Option<&str> {
        self.password_charset
            .as_ref()
            .map(|(body, _)| body.as_str())
    }

    /// Sets (or with `None` lifts) the password charset. Errs with a message
    /// naming the charset when it is not a valid character class.
    pub fn set_password_charset(&mut self, charset: Option<&str>) -> Result<(), String> {
        self.password_charset = match charset {
            None => None,
            Some(body) => {
                let re = Regex::new(&format!("^[{body}]+$")).map_err(|e| {
                    format!("password charset {body:?} is not a valid character class: {e}")
                })?;
                Some((body.to_owned(), re))
            }
        };
        Ok(())
    }

    /// Whether the login charset admits at least one character: an
    /// intersection of classes can be empty (`[A-Za-z]&&[а-я]`). Tries every
    /// Unicode scalar value (about 1.1 million, a fraction of a second):
    /// run once at load, only when a game charset was merged in.
    pub(crate) fn login_charset_admits_a_character(&self) -> bool {
        admits_a_character(&self.login_charset_re)
    }

    /// [`Self::login_charset_admits_a_character`] for the password charset
    /// (true without one).
    pub(crate) fn password_charset_admits_a_character(&self) -> bool {
        self.password_charset
            .as_ref()
            .is_none_or(|(_, re)| admits_a_character(re))
    }

    /// Whether every character of the password is in the password charset
    /// (always true without one).
    pub fn check_password_charset(&self, password: &str) -> bool {
        self.password_charset
            .as_ref()
            .is_none_or(|(_, re)| re.is_match(password))
    }

    /// The login charset as configured: a regex character-class body without the
    /// brackets.
    pub fn login_charset(&self) -> &str {
        &self.login_charset
    }

    /// The login rule, the one registration, battle ingestion and the
    /// statistics lookups share: the text is NFC-normalised first (so `é`
    /// written as one code point or as `e` + U+0301 is the same login), then
    /// its length in characters and its charset are checked. Answers the NFC
    /// form: what is stored, shown and sent to the game server.
    /// Errs with the first broken rule, in this order: too short, too long,
    /// charset.
    pub fn check_login(&self, login: &str) -> Result<String, LoginProblem> {
        let nfc: String = login.nfc().collect();
        let chars = nfc.chars().count();
        if chars < self.login_min_chars {
            Err(LoginProblem::TooShort)
        } else if chars > self.login_max_chars {
            Err(LoginProblem::TooLong)
        } else if !self.login_charset_re.is_match(&nfc) {
            Err(LoginProblem::Charset)
        } else {
            Ok(nfc)
        }
    }

    /// The login rule in words, e.g. `3 to 16 characters of [A-Za-z0-9_]`
    /// (for API answers that are not shown to players).
    pub fn login_rule_text(&self) -> String {
        format!(
            "{} to {} characters of [{}]",
            self.login_min_chars, self.login_max_chars, self.login_charset
        )
    }
}

/// Whether `^[class]+$` matches some one-character text.
fn admits_a_character(re: &Regex) -> bool {
    let mut buf = [0u8; 4];
    (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .any(|c| re.is_match(c.encode_utf8(&mut buf)))
}

/// Refuses a text that cannot be a character-class body on its own: empty,
/// or holding an unescaped `]` that would close the class early and let the
/// rest of the text act as regex outside it. `what` names the charset.
pub(crate) fn check_class_body(what: &str, charset: &str) -> Result<(), String> {
    if charset.is_empty() || charset.contains(']') && !charset.contains("\\]") {
        return Err(format!(
            "{what} charset {charset:?} is not a character-class body"
        ));
    }
    Ok(())
}

/// Why a text is not a login under [`RegistrationRules::check_login`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginProblem {
    /// Fewer NFC characters than `login_min_chars`.
    TooShort,
    /// More NFC characters than `login_max_chars`.
    TooLong,
    /// A character outside the login charset.
    Charset,
}

impl LoginProblem {
    /// The field code a registration answers with.
    pub const fn code(self) -> FieldErrorCode {
        match self {
            LoginProblem::TooShort => FieldErrorCode::TooShort,
            LoginProblem::TooLong => FieldErrorCode::TooLong,
            LoginProblem::Charset => FieldErrorCode::Charset,
        }
    }
}

impl Default for RegistrationRules {
    fn default() -> Self {
        Self::with_login_charset(Self::DEFAULT_LOGIN_CHARSET).expect("the default charset is valid")
    }
}

/// A plaintext password on its way to the hasher and the game server.
/// `Debug` never shows it, so it cannot leak through a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Wraps a plaintext password; no rule is checked here.
    pub fn new(plain: String) -> Self {
        Self(plain)
    }

    /// The plaintext, for the hasher and the game-server call only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A request that passed every rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRequest {
    /// The login in Unicode NFC, as stored in `accounts.login` and sent to
    /// the game server.
    pub login: String,
    /// The password as sent: 6–20 characters by default, no control characters.
    pub password: Password,
    /// `0` or `1`, as the game server stores it.
    pub gender: u8,
    /// The Telegram user id: a positive integer up to 2^63−1 (ids above 2^31
    /// exist).
    pub telegram_id: i64,
    /// Telegram Login Widget / Mini App data, verified by the Telegram connector
    /// when verification is on.
    pub telegram_auth: Option<Map<String, Value>>,
}

impl RegisterRequest {
    /// The key under which logins are unique: `Hero` and `hero` are one login.
    pub fn login_key(&self) -> String {
        normalise_login(&self.login)
    }
}

/// The case-insensitive uniqueness key of a login, identical on every backend
/// and computed here, never by a database's own `LOWER`: Unicode's canonical
/// caseless form, NFC(lowercase(NFD(login))), so canonically equivalent
/// spellings (`\u{e9}lan`, `e\u{301}lan`) and case variants (`ÉLAN`) share one
/// key. ASCII logins take the plain ASCII lowercase.
pub fn normalise_login(login: &str) -> String {
    if login.is_ascii() {
        return login.to_ascii_lowercase();
    }
    let decomposed: String = login.nfd().collect();
    decomposed.to_lowercase().nfc().collect()
}

pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ru: &'static str,
    pub(crate) en: &'static str,
}

const LOGIN: Field = Field {
    name: "login",
    ru: "Логин",
    en: "Login",
};
const PASSWORD: Field = Field {
    name: "password",
    ru: "Пароль",
    en: "Password",
};
const GENDER: Field = Field {
    name: "gender",
    ru: "Пол",
    en: "Gender",
};
const TELEGRAM_ID: Field = Field {
    name: "telegram_id",
    ru: "Telegram ID",
    en: "Telegram ID",
};
const TELEGRAM_AUTH: Field = Field {
    name: "telegram_auth",
    ru: "Данные входа через Telegram",
    en: "Telegram login data",
};

impl Field {
    fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.ru, self.en)
    }
}

pub(crate) struct Errors {
    pub(crate) lang: Lang,
    pub(crate) list: Vec<FieldError>,
}

impl Errors {
    fn push(&mut self, field: &str, code: FieldErrorCode, message: String) {
        self.list.push(FieldError {
            field: field.to_owned(),
            code,
            message,
        });
    }

    fn required(&mut self, f: &Field) {
        let msg = match self.lang {
            Lang::Ru => format!("{}: обязательное поле.", f.label(self.lang)),
            Lang::En => format!("{} is required.", f.label(self.lang)),
        };
        self.push(f.name, FieldErrorCode::Required, msg);
    }

    fn wrong_type(&mut self, f: &Field, expected_ru: &str, expected_en: &str) {
        let msg = match self.lang {
            Lang::Ru => format!("{}: ожидается {expected_ru}.", f.label(self.lang)),
            Lang::En => format!("{} must be {expected_en}.", f.label(self.lang)),
        };
        self.push(f.name, FieldErrorCode::Type, msg);
    }

    fn length(&mut self, f: &Field, code: FieldErrorCode, min: usize, max: usize) {
        let msg = match self.lang {
            Lang::Ru => format!("{}: от {min} до {max} символов.", f.label(self.lang)),
            Lang::En => format!(
                "{} must be {min} to {max} characters long.",
                f.label(self.lang)
            ),
        };
        self.push(f.name, code, msg);
    }
    fn duplicate(&mut self, f: &Field) {
        let msg = match self.lang {
            Lang::Ru => format!("{}: поле указано несколько раз.", f.label(self.lang)),
            Lang::En => format!("{} is given more than once.", f.label(self.lang)),
        };
        self.push(f.name, FieldErrorCode::Duplicate, msg);
    }

    fn duplicate_inside(&mut self, f: &Field, key: &str) {
        // The key is echoed back, so bound it: it is attacker-controlled text.
        let shown: String = key.chars().take(64).collect();
        let msg = match self.lang {
            Lang::Ru => format!(
                "{}: ключ «{shown}» указан несколько раз.",
                f.label(self.lang)
            ),
            Lang::En => format!(
                "{}: the key \"{shown}\" is given more than once.",
                f.label(self.lang)
            ),
        };
        self.push(f.name, FieldErrorCode::Duplicate, msg);
    }
}

/// What the body holds for one field.
enum Slot<'a> {
    /// Absent, or `null`: a form that sends `null` has not filled the field in.
    Missing,
    /// The key appears more than once (whatever the values).
    Repeated,
    /// The value's JSON text.
    One(&'a str),
}

fn slot<'a>(body: &'a ObjectText, f: &Field) -> Slot<'a> {
    let mut values = body.values(f.name);
    match (values.next(), values.next()) {
        (None, _) => Slot::Missing,
        (Some(_), Some(_)) => Slot::Repeated,
        (Some(v), None) => match v.get().trim() {
            "null" => Slot::Missing,
            text => Slot::One(text),
        },
    }
}

/// A string field, or the error that it is missing, repeated or not a string.
pub(crate) fn text_field(errors: &mut Errors, body: &ObjectText, f: &Field) -> Option<String> {
    match slot(body, f) {
        Slot::Missing => errors.required(f),
        Slot::Repeated => errors.duplicate(f),
        Slot::One(text) => match serde_json::from_str::<String>(text) {
            Ok(value) if text.starts_with('"') => return Some(value),
            _ => errors.wrong_type(f, "строка", "a string"),
        },
    }
    None
}

/// An integer field judged on its JSON text ([`json_integer`]): a number
/// whose exact value has a fraction, or anything but a number, is a `type`
/// error; the integral value (possibly huge) is returned for the range check.
fn integer_field(
    errors: &mut Errors,
    body: &ObjectText,
    f: &Field,
    expected_ru: &str,
    expected_en: &str,
) -> Option<JsonInteger> {
    match slot(body, f) {
        Slot::Missing => errors.required(f),
        Slot::Repeated => errors.duplicate(f),
        Slot::One(text) => match json_integer(text) {
            Some(JsonInteger::Fraction) | None => errors.wrong_type(f, expected_ru, expected_en),
            Some(integer) => return Some(integer),
        },
    }
    None
}

/// Validates a JSON object read from the body against the rules, checking
/// every field at once so the site can show all problems in one round trip.
/// Numbers are judged on their text, a repeated key (at any depth of the
/// body's fields) is a `duplicate` error, and the login is NFC-normalised.
pub fn validate_register(
    body: &ObjectText,
    rules: &RegistrationRules,
    lang: Lang,
) -> Result<RegisterRequest, Vec<FieldError>> {
    let mut errors = Errors {
        lang,
        list: Vec::new(),
    };

    let login =
        text_field(&mut errors, body, &LOGIN).and_then(|text| match rules.check_login(&text) {
            Ok(login) => Some(login),
            Err(LoginProblem::Charset) => {
                let msg = match lang {
                    Lang::Ru => format!(
                        "Логин может содержать только символы [{}].",
                        rules.login_charset
                    ),
                    Lang::En => format!(
                        "Login may contain only the characters [{}].",
                        rules.login_charset
                    ),
                };
                errors.push(LOGIN.name, FieldErrorCode::Charset, msg);
                None
            }
            Err(problem) => {
                let (min, max) = (rules.login_min_chars, rules.login_max_chars);
                errors.length(&LOGIN, problem.code(), min, max);
                None
            }
        });

    let password = text_field(&mut errors, body, &PASSWORD)
        .and_then(|text| check_password(&mut errors, rules, &PASSWORD, text));

    let gender = integer_field(
        &mut errors,
        body,
        &GENDER,
        "целое число 0 или 1",
        "the integer 0 or 1",
    )
    .and_then(|g| match g {
        JsonInteger::Exact(g @ 0..=1) => Some(g as u8),
        _ => {
            let msg = lang
                .pick(
                    "Пол: допустимы только значения 0 и 1.",
                    "Gender must be 0 or 1.",
                )
                .to_owned();
            errors.push(GENDER.name, FieldErrorCode::OutOfRange, msg);
            None
        }
    });

    let telegram_id = integer_field(&mut errors, body, &TELEGRAM_ID, "целое число", "an integer")
        .and_then(|id| match id {
            JsonInteger::Exact(id) if id > 0 && id <= i64::MAX.into() => Some(id as i64),
            // Zero, negative, or beyond i64 however it is written (`1E400`).
            _ => {
                let msg = lang
                    .pick(
                        "Telegram ID должен быть положительным 64-битным целым числом.",
                        "Telegram ID must be a positive 64-bit integer.",
                    )
                    .to_owned();
                errors.push(TELEGRAM_ID.name, FieldErrorCode::OutOfRange, msg);
                None
            }
        });

    let telegram_auth = match slot(body, &TELEGRAM_AUTH) {
        Slot::Missing => None,
        Slot::Repeated => {
            errors.duplicate(&TELEGRAM_AUTH);
            None
        }
        Slot::One(text) => {
            let raw = body
                .values(TELEGRAM_AUTH.name)
                .next()
                .expect("the slot has one value");
            match (
                repeated_key(raw),
                serde_json::from_str::<Map<String, Value>>(text),
            ) {
                (Some(key), _) => {
                    errors.duplicate_inside(&TELEGRAM_AUTH, &key);
                    None
                }
                (None, Ok(map)) => Some(map),
                (None, Err(_)) => {
                    errors.wrong_type(&TELEGRAM_AUTH, "объект", "an object");
                    None
                }
            }
        }
    };

    unknown_fields(&mut errors, body, &REGISTER_FIELDS);

    match (login, password, gender, telegram_id) {
        (Some(login), Some(password), Some(gender), Some(telegram_id))
            if errors.list.is_empty() =>
        {
            Ok(RegisterRequest {
                login,
                password: Password(password),
                gender,
                telegram_id,
                telegram_auth,
            })
        }
        _ => Err(errors.list),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(v: Value) -> Result<RegisterRequest, Vec<FieldError>> {
        validate_register(
            &ObjectText::from_map(v.as_object().unwrap()),
            &RegistrationRules::default(),
            Lang::Ru,
        )
    }

    fn codes(v: Value) -> Vec<(String, &'static str)> {
        run(v)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code.as_str()))
            .collect()
    }

    #[test]
    fn a_valid_request_passes() {
        let r = run(
            json!({"login":"Hero_01","password":"secret12","gender":0,"telegram_id":123456789}),
        )
        .unwrap();
        assert_eq!(r.login, "Hero_01");
        assert_eq!(r.password.expose(), "secret12");
        assert_eq!(r.telegram_id, 123456789);
        assert_eq!(r.login_key(), "hero_01");
    }

    #[test]
    fn every_field_is_reported_at_once() {
        let got = codes(json!({"login":"ab","password":"x","gender":2,"telegram_id":0,"extra":1}));
        assert_eq!(
            got,
            vec![
                ("login".into(), "too_short"),
                ("password".into(), "too_short"),
                ("gender".into(), "out_of_range"),
                ("telegram_id".into(), "out_of_range"),
                ("extra".into(), "unknown_field"),
            ]
        );
    }

    #[test]
    fn missing_and_null_fields_are_required() {
        let got = codes(json!({"login": null}));
        assert_eq!(
            got.iter().map(|(_, c)| *c).collect::<Vec<_>>(),
            ["required", "required", "required", "required"]
        );
    }

    #[test]
    fn wrong_json_types_are_type_errors() {
        let got = codes(
            json!({"login":1,"password":["a"],"gender":"0","telegram_id":"123","telegram_auth":"x"}),
        );
        assert!(got.iter().all(|(_, c)| *c == "type"), "{got:?}");
        assert_eq!(got.len(), 5);
        let got =
            codes(json!({"login":"abc","password":"secret12","gender":0.5,"telegram_id":1.5}));
        assert_eq!(
            got,
            vec![("gender".into(), "type"), ("telegram_id".into(), "type")]
        );
        // JSON Schema's integers: 1.0 is the integer 1 (schemathesis sends these).
        let body = json!({"login":"abc","password":"secret12","gender":1.0,"telegram_id":123.0});
        let request = validate_register(
            &ObjectText::from_map(body.as_object().unwrap()),
            &RegistrationRules::default(),
            Lang::Ru,
        )
        .expect("1.0 and 123.0 are integers");
        assert_eq!((request.gender, request.telegram_id), (1, 123));
        // 1e300 is an integer (JSON Schema), far out of range.
        let got =
            codes(json!({"login":"abc","password":"secret12","gender":0,"telegram_id":1e300}));
        assert_eq!(got, vec![("telegram_id".into(), "out_of_range")]);
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        // 16 Cyrillic letters are 32 bytes but 16 characters: only the charset fails.
        let got = codes(
            json!({"login":"ЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖЖ","password":"пароль","gender":1,"telegram_id":5}),
        );
        assert_eq!(got, vec![("login".into(), "charset")]);
        assert!(run(json!({"login":"abc","password":"пароль","gender":1,"telegram_id":5})).is_ok());
        let got = codes(
            json!({"login":"a".repeat(17),"password":"p".repeat(21),"gender":1,"telegram_id":5}),
        );
        assert_eq!(
            got,
            vec![
                ("login".into(), "too_long"),
                ("password".into(), "too_long")
            ]
        );
    }

    #[test]
    fn control_characters_in_passwords_are_refused() {
        let got = codes(json!({"login":"abc","password":"secret\n12","gender":1,"telegram_id":5}));
        assert_eq!(got, vec![("password".into(), "charset")]);
    }

    #[test]
    fn telegram_ids_above_two_to_the_31_are_fine_but_not_above_i64() {
        assert!(run(json!({"login":"abc","password":"secret","gender":1,"telegram_id":7_000_000_000_i64})).is_ok());
        let got =
            codes(json!({"login":"abc","password":"secret","gender":1,"telegram_id":u64::MAX}));
        assert_eq!(got, vec![("telegram_id".into(), "out_of_range")]);
        let got = codes(json!({"login":"abc","password":"secret","gender":1,"telegram_id":-5}));
        assert_eq!(got, vec![("telegram_id".into(), "out_of_range")]);
    }

    #[test]
    fn messages_never_echo_the_password() {
        let errs =
            run(json!({"login":"a b","password":"topsecret\u{7}","gender":1,"telegram_id":5}))
                .unwrap_err();
        for e in errs {
            assert!(!e.message.contains("topsecret"));
            assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn english_messages_are_available() {
        let errs = validate_register(
            &ObjectText::from_map(json!({"login":"ab"}).as_object().unwrap()),
            &RegistrationRules::default(),
            Lang::En,
        )
        .unwrap_err();
        assert_eq!(errs[0].message, "Login must be 3 to 16 characters long.");
    }

    #[test]
    fn custom_charsets_are_checked_and_bad_ones_refused() {
        let rules = RegistrationRules::with_login_charset("a-z").unwrap();
        let body = json!({"login":"Abc","password":"secret","gender":1,"telegram_id":5});
        assert!(
            validate_register(
                &ObjectText::from_map(body.as_object().unwrap()),
                &rules,
                Lang::En
            )
            .is_err()
        );
        assert!(RegistrationRules::with_login_charset("a-z]+|.*[").is_err());
        assert!(RegistrationRules::with_login_charset("").is_err());
    }

    #[test]
    fn slots_fill_the_first_gap() {
        let limit = AccountLimit::new(3).unwrap();
        assert_eq!(limit.first_free_slot(&[]), Some(0));
        assert_eq!(limit.first_free_slot(&[0, 2]), Some(1));
        assert_eq!(limit.first_free_slot(&[0, 1, 2]), None);
        assert!(AccountLimit::new(0).is_err());
    }

    /// A body as the site sends it: the exact JSON text.
    fn run_text(body: &str) -> Result<RegisterRequest, Vec<FieldError>> {
        let body = ObjectText::parse(body.as_bytes()).expect("a JSON object");
        validate_register(&body, &RegistrationRules::default(), Lang::En)
    }

    fn codes_text(body: &str) -> Vec<(String, &'static str)> {
        run_text(body)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code.as_str()))
            .collect()
    }

    /// A valid body whose gender and telegram_id are the given JSON texts.
    fn numbers(gender: &str, telegram_id: &str) -> String {
        format!(
            r#"{{"login":"abc","password":"secret12","gender":{gender},"telegram_id":{telegram_id}}}"#
        )
    }

    #[test]
    fn numbers_are_integers_by_their_exact_value_not_a_rounded_float() {
        for (text, id) in [
            ("1", 1),
            ("1.0", 1),
            ("1e2", 100),
            ("100E-2", 1),
            ("7000000001", 7_000_000_001),
            ("7000000001.000", 7_000_000_001),
            ("7.000000001E9", 7_000_000_001),
            ("9223372036854775807", i64::MAX),
            ("9.223372036854775807e18", i64::MAX),
        ] {
            let request = run_text(&numbers("1", text)).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert_eq!(request.telegram_id, id, "{text}");
        }
        for text in ["0", "1", "1.0", "1e0", "100E-2", "-0", "0.0e7"] {
            assert!(run_text(&numbers(text, "5")).is_ok(), "gender {text}");
        }
        assert_eq!(run_text(&numbers("-0", "5")).unwrap().gender, 0);
        // Within 1e-16 of an integer, but not integers: an f64 rounds them.
        assert_eq!(
            codes_text(&numbers("1", "7000000001.0000001")),
            [("telegram_id".into(), "type")]
        );
        assert_eq!(
            codes_text(&numbers("1.0000000000000001", "5")),
            [("gender".into(), "type")]
        );
        assert_eq!(
            codes_text(&numbers("0.5", "1e-400")),
            [("gender".into(), "type"), ("telegram_id".into(), "type")]
        );
    }

    #[test]
    fn integral_values_out_of_range_are_out_of_range_however_written() {
        for text in [
            "0",
            "-0",
            "0.0",
            "0e5",
            "-1",
            "-1e2",
            "9223372036854775808",
            "9.223372036854775808e18",
            "18446744073709551616",
            "1E400",
            "-1E400",
            "1e999999999999999999999999",
        ] {
            assert_eq!(
                codes_text(&numbers("1", text)),
                [("telegram_id".into(), "out_of_range")],
                "telegram_id {text}"
            );
        }
        for text in ["2", "2.0", "-1", "1e1", "1E400", "255", "256"] {
            assert_eq!(
                codes_text(&numbers(text, "5")),
                [("gender".into(), "out_of_range")],
                "gender {text}"
            );
        }
    }

    #[test]
    fn repeated_keys_are_refused_at_every_level() {
        let got = codes_text(
            r#"{"login":"abc","login":"abd","password":"secret12","gender":1,"telegram_id":5}"#,
        );
        assert_eq!(got, [("login".into(), "duplicate")]);
        // Same value twice, or a null and a value: still two keys.
        let got = codes_text(
            r#"{"login":"abc","password":"secret12","gender":1,"gender":1,"telegram_id":null,"telegram_id":5}"#,
        );
        assert_eq!(
            got,
            [
                ("gender".into(), "duplicate"),
                ("telegram_id".into(), "duplicate")
            ]
        );
        // Inside telegram_auth, at any depth; an escaped spelling is the same key.
        for auth in [
            r#"{"id":5,"id":6}"#,
            r#"{"id":5,"\u0069d":5}"#,
            r#"{"id":5,"extra":[{"a":1,"a":2}]}"#,
        ] {
            let body = format!(
                r#"{{"login":"abc","password":"secret12","gender":1,"telegram_id":5,"telegram_auth":{auth}}}"#
            );
            let errors = run_text(&body).unwrap_err();
            assert_eq!(errors.len(), 1, "{auth}");
            assert_eq!(
                (errors[0].field.as_str(), errors[0].code),
                ("telegram_auth", FieldErrorCode::Duplicate)
            );
            assert!(errors[0].message.contains("is given more than once"));
        }
        // A repeated unknown key is named once.
        let got = codes_text(
            r#"{"login":"abc","password":"secret12","gender":1,"telegram_id":5,"x":1,"x":2}"#,
        );
        assert_eq!(got, [("x".into(), "unknown_field")]);
        // Without repeats the object passes.
        assert!(run_text(
            r#"{"login":"abc","password":"secret12","gender":1,"telegram_id":5,"telegram_auth":{"id":5,"user":{"id":5}}}"#
        )
        .is_ok());
    }

    #[test]
    fn logins_are_nfc_before_the_rules_and_before_case_folding() {
        let rules = RegistrationRules::with_login_charset("A-Za-z0-9_\u{e9}\u{c9}").unwrap();
        let body = |login: &str| {
            let v = json!({"login": login, "password": "secret12", "gender": 1, "telegram_id": 5});
            validate_register(
                &ObjectText::from_map(v.as_object().unwrap()),
                &rules,
                Lang::En,
            )
        };
        let precomposed = body("\u{e9}lan").unwrap();
        let decomposed = body("e\u{301}lan").unwrap();
        // The combining accent is not in the charset: only NFC makes it pass,
        // and what is kept (stored, sent to the game server) is the NFC form.
        assert_eq!(precomposed.login, "\u{e9}lan");
        assert_eq!(decomposed.login, "\u{e9}lan");
        assert_eq!(precomposed.login_key(), decomposed.login_key());
        assert_eq!(body("\u{c9}LAN").unwrap().login_key(), "\u{e9}lan");
        assert_eq!(normalise_login("E\u{301}LAN"), "\u{e9}lan");
        // Length is counted on the NFC form: 16 accented letters written
        // decomposed (32 code points) fit.
        assert!(body(&"e\u{301}".repeat(16)).is_ok());
        assert_eq!(
            body(&"e\u{301}".repeat(17)).unwrap_err()[0].code,
            FieldErrorCode::TooLong
        );
        assert_eq!(rules.check_login("ab"), Err(LoginProblem::TooShort));
        assert_eq!(rules.check_login("a-b"), Err(LoginProblem::Charset));
    }

    #[test]
    fn the_login_key_is_the_canonical_caseless_form() {
        for (a, b) in [
            ("Hero_01", "hero_01"),
            ("\u{e9}lan", "e\u{301}lan"),
            ("\u{c9}LAN", "e\u{301}lan"),
            ("ЖУК", "жук"),
            ("\u{419}ОД", "и\u{306}од"),
        ] {
            assert_eq!(normalise_login(a), normalise_login(b), "{a} / {b}");
        }
        assert_ne!(normalise_login("elan"), normalise_login("\u{e9}lan"));
    }
}

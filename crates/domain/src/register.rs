//! `POST /api/register`: the request, its rules and the per-Telegram account limit.

use std::fmt;

use regex::Regex;
use serde_json::{Map, Value};

use crate::error::{FieldError, FieldErrorCode};
use crate::lang::Lang;

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
    pub login_min_chars: usize,
    pub login_max_chars: usize,
    /// A regex character-class body, e.g. `A-Za-z0-9_`.
    login_charset: String,
    login_charset_re: Regex,
    pub password_min_chars: usize,
    pub password_max_chars: usize,
}

impl RegistrationRules {
    pub const DEFAULT_LOGIN_CHARSET: &'static str = "A-Za-z0-9_";

    /// Builds rules with a custom login charset (a character-class body such as
    /// `A-Za-z0-9_`). Fails on a charset that is not a valid class.
    pub fn with_login_charset(charset: &str) -> Result<Self, String> {
        if charset.is_empty() || charset.contains(']') && !charset.contains("\\]") {
            return Err(format!(
                "login charset {charset:?} is not a character-class body"
            ));
        }
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
        })
    }

    pub fn login_charset(&self) -> &str {
        &self.login_charset
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
    pub fn new(plain: String) -> Self {
        Self(plain)
    }

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
    pub login: String,
    pub password: Password,
    pub gender: u8,
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

/// The case-insensitive uniqueness key of a login, identical on every backend.
pub fn normalise_login(login: &str) -> String {
    login.to_lowercase()
}

/// How many game accounts one Telegram id may own. Enforced by the database
/// through slot numbers `0..limit` under a UNIQUE(telegram_id, slot) index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountLimit(u32);

impl AccountLimit {
    pub const DEFAULT: AccountLimit = AccountLimit(5);
    /// A bound that keeps the slot search cheap and the column a SMALLINT.
    pub const MAX: u32 = 1000;

    pub fn new(limit: u32) -> Result<Self, String> {
        if (1..=Self::MAX).contains(&limit) {
            Ok(Self(limit))
        } else {
            Err(format!(
                "account limit must be between 1 and {}, got {limit}",
                Self::MAX
            ))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// The first slot not in `used`, or `None` when the limit is reached.
    pub fn first_free_slot(self, used: &[i64]) -> Option<i64> {
        (0..i64::from(self.0)).find(|slot| !used.contains(slot))
    }
}

impl Default for AccountLimit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

struct Field {
    name: &'static str,
    ru: &'static str,
    en: &'static str,
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

struct Errors {
    lang: Lang,
    list: Vec<FieldError>,
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
}

/// Looks a field up; `null` counts as missing because a form that sends
/// `null` has not filled the field in.
fn present<'a>(body: &'a Map<String, Value>, f: &Field) -> Option<&'a Value> {
    body.get(f.name).filter(|v| !v.is_null())
}

fn check_text(
    errors: &mut Errors,
    body: &Map<String, Value>,
    f: &Field,
    min: usize,
    max: usize,
    charset_ok: impl Fn(&str) -> bool,
    charset_message: impl Fn(Lang) -> String,
) -> Option<String> {
    let Some(value) = present(body, f) else {
        errors.required(f);
        return None;
    };
    let Some(text) = value.as_str() else {
        errors.wrong_type(f, "строка", "a string");
        return None;
    };
    let chars = text.chars().count();
    if chars < min {
        errors.length(f, FieldErrorCode::TooShort, min, max);
        None
    } else if chars > max {
        errors.length(f, FieldErrorCode::TooLong, min, max);
        None
    } else if !charset_ok(text) {
        let msg = charset_message(errors.lang);
        errors.push(f.name, FieldErrorCode::Charset, msg);
        None
    } else {
        Some(text.to_owned())
    }
}

/// A JSON integer, as JSON Schema counts them: `1` and also `1.0` (a
/// number with no fraction, exactly representable). Wide enough for any
/// u64, so the rules can refuse what is out of their range.
fn json_integer(v: &Value) -> Option<i128> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if let Some(i) = v.as_i64() {
        return Some(i.into());
    }
    if let Some(u) = v.as_u64() {
        return Some(u.into());
    }
    v.as_f64()
        .filter(|f| f.fract() == 0.0 && f.abs() <= EXACT)
        .map(|f| f as i128)
}

/// Validates a parsed JSON object against the rules, checking every field at
/// once so the site can show all problems in one round trip.
pub fn validate_register(
    body: &Map<String, Value>,
    rules: &RegistrationRules,
    lang: Lang,
) -> Result<RegisterRequest, Vec<FieldError>> {
    let mut errors = Errors {
        lang,
        list: Vec::new(),
    };

    let login = check_text(
        &mut errors,
        body,
        &LOGIN,
        rules.login_min_chars,
        rules.login_max_chars,
        |s| rules.login_charset_re.is_match(s),
        |lang| match lang {
            Lang::Ru => format!(
                "Логин может содержать только символы [{}].",
                rules.login_charset
            ),
            Lang::En => format!(
                "Login may contain only the characters [{}].",
                rules.login_charset
            ),
        },
    );

    let password = check_text(
        &mut errors,
        body,
        &PASSWORD,
        rules.password_min_chars,
        rules.password_max_chars,
        |s| !s.chars().any(char::is_control),
        |lang| {
            lang.pick(
                "Пароль не должен содержать управляющих символов.",
                "Password must not contain control characters.",
            )
            .to_owned()
        },
    );

    let gender = match present(body, &GENDER) {
        None => {
            errors.required(&GENDER);
            None
        }
        Some(v) => match json_integer(v) {
            None => {
                errors.wrong_type(&GENDER, "целое число 0 или 1", "the integer 0 or 1");
                None
            }
            Some(g @ 0..=1) => Some(g as u8),
            Some(_) => {
                let msg = lang
                    .pick(
                        "Пол: допустимы только значения 0 и 1.",
                        "Gender must be 0 or 1.",
                    )
                    .to_owned();
                errors.push(GENDER.name, FieldErrorCode::OutOfRange, msg);
                None
            }
        },
    };

    let telegram_id = match present(body, &TELEGRAM_ID) {
        None => {
            errors.required(&TELEGRAM_ID);
            None
        }
        Some(v) => match json_integer(v) {
            None => {
                errors.wrong_type(&TELEGRAM_ID, "целое число", "an integer");
                None
            }
            Some(id) if id > 0 && id <= i64::MAX.into() => Some(id as i64),
            // Negative, zero, or above i64::MAX (a u64 that is not an i64).
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
        },
    };

    let telegram_auth = match present(body, &TELEGRAM_AUTH) {
        None => None,
        Some(Value::Object(map)) => Some(map.clone()),
        Some(_) => {
            errors.wrong_type(&TELEGRAM_AUTH, "объект", "an object");
            None
        }
    };

    // Sorted so the answer is the same whatever order the site sent the keys in.
    let mut unknown: Vec<&String> = body
        .keys()
        .filter(|k| !REGISTER_FIELDS.contains(&k.as_str()))
        .collect();
    unknown.sort();
    for key in unknown {
        // The key is echoed back, so bound it: it is attacker-controlled text.
        let shown: String = key.chars().take(64).collect();
        let msg = match lang {
            Lang::Ru => format!("Неизвестное поле «{shown}»."),
            Lang::En => format!("Unknown field \"{shown}\"."),
        };
        errors.push(&shown, FieldErrorCode::UnknownField, msg);
    }

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
            v.as_object().unwrap(),
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
            body.as_object().unwrap(),
            &RegistrationRules::default(),
            Lang::Ru,
        )
        .expect("1.0 and 123.0 are integers");
        assert_eq!((request.gender, request.telegram_id), (1, 123));
        let got =
            codes(json!({"login":"abc","password":"secret12","gender":0,"telegram_id":1e300}));
        assert_eq!(got, vec![("telegram_id".into(), "type")]);
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
            json!({"login":"ab"}).as_object().unwrap(),
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
        assert!(validate_register(body.as_object().unwrap(), &rules, Lang::En).is_err());
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
}

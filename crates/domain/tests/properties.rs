//! Property tests of the registration rules (API.md §3) and of telegram_auth
//! verification: generated inputs, not hand-picked ones.

use gamegate_domain::number::{JsonInteger, json_integer};
use gamegate_domain::telegram::sign_login_widget;
use gamegate_domain::{
    Lang, ObjectText, RegistrationRules, normalise_login, validate_register, verify_telegram_auth,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;

const KNOWN_FIELDS: [&str; 5] = [
    "login",
    "password",
    "gender",
    "telegram_id",
    "telegram_auth",
];

fn valid_login() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_]{3,16}"
}

/// 6–20 characters of any Unicode scalar value that is not a control character.
fn valid_password() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        any::<char>().prop_filter("no control", |c| !c.is_control()),
        6..=20,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the rules allow is accepted, unchanged.
    #[test]
    fn every_valid_request_is_accepted_as_sent(
        login in valid_login(),
        password in valid_password(),
        gender in 0u8..=1,
        telegram_id in 1i64..=i64::MAX,
    ) {
        let body = json!({"login": login, "password": password, "gender": gender, "telegram_id": telegram_id});
        let request = validate_register(&ObjectText::from_map(body.as_object().unwrap()), &RegistrationRules::default(), Lang::Ru)
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        prop_assert_eq!(&request.login, &login);
        prop_assert_eq!(request.password.expose(), password.as_str());
        prop_assert_eq!(request.gender, gender);
        prop_assert_eq!(request.telegram_id, telegram_id);
    }

    /// Any JSON object at all: no panic, and a refusal names only fields
    /// that exist in the request or the contract, each with a message.
    #[test]
    fn any_object_is_answered_without_panicking(
        fields in proptest::collection::btree_map(
            prop_oneof![Just("login".to_owned()), Just("password".to_owned()), Just("gender".to_owned()),
                        Just("telegram_id".to_owned()), Just("telegram_auth".to_owned()), ".{0,12}"],
            any_json(),
            0..7,
        ),
        lang in prop_oneof![Just(Lang::Ru), Just(Lang::En)],
    ) {
        let body: Map<String, Value> = fields.into_iter().collect();
        if let Err(errors) = validate_register(&ObjectText::from_map(&body), &RegistrationRules::default(), lang) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert!(!e.message.is_empty());
                // A contract field, or an unknown key of the request (echoed
                // back cut to 64 characters).
                let echoed = body.keys().any(|k| k.chars().take(64).collect::<String>() == e.field);
                prop_assert!(
                    KNOWN_FIELDS.contains(&e.field.as_str()) || echoed,
                    "unexpected field {:?}", e.field
                );
            }
        }
    }

    /// Logins collide case-insensitively, and only then.
    #[test]
    fn logins_collide_exactly_when_equal_ignoring_ascii_case(a in valid_login(), b in valid_login()) {
        prop_assert_eq!(normalise_login(&a) == normalise_login(&b), a.eq_ignore_ascii_case(&b));
    }

    /// A signed Login Widget payload verifies; changing any one signed field
    /// to another value breaks it.
    #[test]
    fn any_change_to_a_signed_payload_is_detected(
        id in 1i64..=i64::MAX,
        name in "[^\n]{1,20}",
        field in prop_oneof![Just("id"), Just("first_name"), Just("auth_date")],
        replacement in "[a-z0-9]{1,10}",
    ) {
        const TOKEN: &str = "123456:property-test-token";
        let now = 1_795_600_000;
        let fields = json!({"id": id, "first_name": name, "auth_date": now});
        let signed = sign_login_widget(fields.as_object().unwrap(), TOKEN);
        prop_assert!(verify_telegram_auth(&signed, TOKEN, id, now, 60).is_ok());
        let mut altered = signed.clone();
        let original = altered[field].to_string();
        altered.insert(field.to_owned(), Value::from(replacement.clone()));
        // "123" for the number 123 signs the same text: not a change.
        prop_assume!(replacement != original.trim_matches('"'));
        prop_assert!(verify_telegram_auth(&altered, TOKEN, id, now, 60).is_err());
    }
}

/// `n` written as `digits × 10^exponent` with `shift` digits moved behind a
/// decimal point and `zeros` zeros appended: the same integer in another spelling.
fn spell(n: i128, shift: usize, zeros: usize, upper: bool) -> String {
    let sign = if n < 0 { "-" } else { "" };
    let digits = format!("{}{}", n.unsigned_abs(), "0".repeat(zeros));
    let exponent = shift as i64 - zeros as i64;
    let e = if upper { "E" } else { "e" };
    if shift == 0 {
        return format!("{sign}{digits}{e}{exponent}");
    }
    // Pad so the mantissa keeps a non-empty integer part.
    let padded = format!(
        "{}{digits}",
        "0".repeat(shift.saturating_sub(digits.len() - 1))
    );
    let (int, frac) = padded.split_at(padded.len() - shift);
    let int = match int.trim_start_matches('0') {
        "" => "0",
        int => int,
    };
    format!("{sign}{int}.{frac}{e}{exponent}")
}

proptest! {
    /// Any integer, in any spelling (point, exponent, trailing zeros), is that integer.
    #[test]
    fn every_spelling_of_an_integer_is_that_integer(
        n in any::<i64>(),
        shift in 0usize..25,
        zeros in 0usize..25,
        upper in any::<bool>(),
    ) {
        let text = spell(i128::from(n), shift, zeros, upper);
        prop_assert_eq!(json_integer(&text), Some(JsonInteger::Exact(i128::from(n))), "{}", text);
        prop_assert_eq!(json_integer(&n.to_string()), Some(JsonInteger::Exact(i128::from(n))));
        prop_assert_eq!(
            json_integer(&format!("{n}.{}", "0".repeat(shift + 1))),
            Some(JsonInteger::Exact(i128::from(n)))
        );
    }

    /// An integer plus any non-zero decimal fraction, however small, is not an integer.
    #[test]
    fn an_integer_plus_any_fraction_is_a_fraction(
        n in any::<i64>(),
        zeros in 0usize..40,
        last in 1u8..=9,
        exponent in 0i64..5,
    ) {
        // n.000…0d × 10^exponent: the fraction survives while it has more
        // digits than the exponent shifts.
        let text = format!("{n}.{}{last}e{exponent}", "0".repeat(zeros + exponent as usize));
        prop_assert_eq!(json_integer(&text), Some(JsonInteger::Fraction), "{}", text);
    }

    /// What `json_integer` calls a number is exactly what serde_json parses
    /// as a bare JSON number; it never panics on any text.
    #[test]
    fn the_number_grammar_is_json_s(text in "[-+0-9.eE]{0,12}|.{0,12}") {
        let serde_number = text.trim() == text
            && text.starts_with(|c: char| c == '-' || c.is_ascii_digit())
            && serde_json::from_str::<Box<serde_json::value::RawValue>>(&text).is_ok();
        prop_assert_eq!(json_integer(&text).is_some(), serde_number, "{:?}", text);
    }

    /// 64-bit integers: the value of their digits, and where serde_json
    /// reads them as integers (not as a float), the same value.
    #[test]
    fn plain_integers_agree_with_serde_json(n in any::<u64>(), negative in any::<bool>()) {
        let text = if negative { format!("-{n}") } else { n.to_string() };
        let value = if negative { -i128::from(n) } else { i128::from(n) };
        prop_assert_eq!(json_integer(&text), Some(JsonInteger::Exact(value)));
        let number = serde_json::from_str::<serde_json::Number>(&text).unwrap();
        if let Some(serde) = number.as_i64().map(i128::from).or(number.as_u64().map(i128::from)) {
            prop_assert_eq!(serde, value);
        }
    }
}

proptest! {
    /// The login key does not depend on the Unicode form the login is
    /// written in, is itself NFC, and keying a key changes nothing.
    #[test]
    fn the_login_key_ignores_the_normal_form(login in "\\PC{0,16}") {
        let key = normalise_login(&login);
        let nfd: String = login.nfd().collect();
        let nfc: String = login.nfc().collect();
        prop_assert_eq!(&normalise_login(&nfd), &key);
        prop_assert_eq!(&normalise_login(&nfc), &key);
        prop_assert_eq!(&normalise_login(&key), &key);
        prop_assert!(unicode_normalization::is_nfc(&key));
    }

    /// The login rule judges a login and its decomposed spelling alike and
    /// answers the NFC form.
    #[test]
    fn the_login_rule_is_the_same_for_every_normal_form(login in "[a-z\u{e9}\u{e8}\u{301}\u{300}]{1,20}") {
        let rules = RegistrationRules::with_login_charset("a-z\u{e9}\u{e8}").unwrap();
        let nfd: String = login.nfd().collect();
        let nfc: String = login.nfc().collect();
        let answer = rules.check_login(&login);
        prop_assert_eq!(&rules.check_login(&nfd), &answer);
        prop_assert_eq!(&rules.check_login(&nfc), &answer);
        if let Ok(stored) = answer {
            prop_assert_eq!(stored, nfc);
        }
    }
}

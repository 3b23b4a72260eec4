//! The body of `POST /api/accounts/{login}/password`: the current password
//! (checked against the stored hash by the caller) and the new one, which
//! must pass the same rules as a registration's password.

use super::{Errors, Field, Password, RegistrationRules, text_field};
use crate::json::ObjectText;
use crate::{FieldError, FieldErrorCode, Lang};

// The password and unknown-field checks live here, beside the second
// request that needs them; `validate_register` uses them too.

/// The fields a password change may carry; anything else is `unknown_field`.
pub const PASSWORD_CHANGE_FIELDS: [&str; 2] = ["old_password", "new_password"];

const OLD_PASSWORD: Field = Field {
    name: "old_password",
    ru: "Текущий пароль",
    en: "Current password",
};
const NEW_PASSWORD: Field = Field {
    name: "new_password",
    ru: "Новый пароль",
    en: "New password",
};

/// A validated password change. `Debug` shows neither password.
pub struct PasswordChange {
    /// The password the player typed as the current one: only compared with
    /// the stored hash, never sent anywhere.
    pub old_password: Password,
    /// The new password: passed the registration's password rules (length,
    /// no control characters, the game's charset).
    pub new_password: Password,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { .. }")
    }
}

/// The password under the rules (length, no control characters, the game's
/// charset), or `None` with the field's error pushed.
pub(super) fn check_password(
    errors: &mut Errors,
    rules: &RegistrationRules,
    f: &Field,
    text: String,
) -> Option<String> {
    let lang = errors.lang;
    let (min, max) = (rules.password_min_chars, rules.password_max_chars);
    let chars = text.chars().count();
    if chars < min {
        errors.length(f, FieldErrorCode::TooShort, min, max);
        None
    } else if chars > max {
        errors.length(f, FieldErrorCode::TooLong, min, max);
        None
    } else if text.chars().any(char::is_control) {
        let msg = lang
            .pick(
                "Пароль не должен содержать управляющих символов.",
                "Password must not contain control characters.",
            )
            .to_owned();
        errors.push(f.name, FieldErrorCode::Charset, msg);
        None
    } else if !rules.check_password_charset(&text) {
        let charset = rules.password_charset().unwrap_or_default();
        let msg = match lang {
            Lang::Ru => format!("Пароль может содержать только символы [{charset}]."),
            Lang::En => format!("Password may contain only the characters [{charset}]."),
        };
        errors.push(f.name, FieldErrorCode::Charset, msg);
        None
    } else {
        Some(text)
    }
}

/// Pushes an `unknown_field` error for every key of `body` not in
/// `allowed`, sorted and each named once, so the answer is the same whatever
/// order the site sent the keys in.
pub(super) fn unknown_fields(errors: &mut Errors, body: &ObjectText, allowed: &[&str]) {
    let lang = errors.lang;
    let mut unknown: Vec<&String> = body
        .members()
        .iter()
        .map(|(k, _)| k)
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    unknown.sort();
    unknown.dedup();
    for key in unknown {
        // The key is echoed back, so bound it: it is attacker-controlled text.
        let shown: String = key.chars().take(64).collect();
        let msg = match lang {
            Lang::Ru => format!("Неизвестное поле «{shown}»."),
            Lang::En => format!("Unknown field \"{shown}\"."),
        };
        errors.push(&shown, FieldErrorCode::UnknownField, msg);
    }
}

/// Validates a password change's JSON object: both fields are strings, the
/// new one passes the password rules of `rules` (the same as a
/// registration's), no other field. The old password is only checked for
/// being a string of at most 1024 characters (a longer one cannot be right
/// and would only cost hashing time). Every problem is reported at once.
pub fn validate_password_change(
    body: &ObjectText,
    rules: &RegistrationRules,
    lang: Lang,
) -> Result<PasswordChange, Vec<FieldError>> {
    let mut errors = Errors {
        lang,
        list: Vec::new(),
    };
    let old = text_field(&mut errors, body, &OLD_PASSWORD).and_then(|text| {
        // An empty current password can match no account: a form error, not
        // a wrong password the ban jail would count.
        if text.is_empty() {
            errors.length(
                &OLD_PASSWORD,
                FieldErrorCode::TooShort,
                1,
                MAX_OLD_PASSWORD_CHARS,
            );
            None
        } else if text.chars().count() > MAX_OLD_PASSWORD_CHARS {
            errors.length(
                &OLD_PASSWORD,
                FieldErrorCode::TooLong,
                1,
                MAX_OLD_PASSWORD_CHARS,
            );
            None
        } else {
            Some(text)
        }
    });
    let new = text_field(&mut errors, body, &NEW_PASSWORD)
        .and_then(|text| check_password(&mut errors, rules, &NEW_PASSWORD, text));
    unknown_fields(&mut errors, body, &PASSWORD_CHANGE_FIELDS);
    match (old, new) {
        (Some(old), Some(new)) if errors.list.is_empty() => Ok(PasswordChange {
            old_password: Password::new(old),
            new_password: Password::new(new),
        }),
        _ => Err(errors.list),
    }
}

/// The longest current password looked at: longer is refused as `too_long`
/// before any hashing.
pub const MAX_OLD_PASSWORD_CHARS: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn run(v: Value) -> Result<PasswordChange, Vec<FieldError>> {
        validate_password_change(
            &ObjectText::from_map(v.as_object().unwrap()),
            &RegistrationRules::default(),
            Lang::En,
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
    fn a_valid_change_passes_and_hides_both_passwords() {
        let change = run(json!({"old_password": "x", "new_password": "n3w-secret"})).unwrap();
        assert_eq!(change.old_password.expose(), "x");
        assert_eq!(change.new_password.expose(), "n3w-secret");
        assert_eq!(format!("{change:?}"), "PasswordChange { .. }");
    }

    #[test]
    fn the_new_password_follows_the_registration_rules() {
        assert_eq!(
            codes(json!({"old_password": "x", "new_password": "short"})),
            [("new_password".into(), "too_short")]
        );
        assert_eq!(
            codes(json!({"old_password": "x", "new_password": "a".repeat(21)})),
            [("new_password".into(), "too_long")]
        );
        assert_eq!(
            codes(json!({"old_password": "x", "new_password": "bad\u{7}pass"})),
            [("new_password".into(), "charset")]
        );
    }

    #[test]
    fn missing_wrong_typed_oversized_and_unknown_fields_are_all_reported() {
        assert_eq!(
            codes(json!({"new_password": 5, "extra": 1})),
            [
                ("old_password".into(), "required"),
                ("new_password".into(), "type"),
                ("extra".into(), "unknown_field"),
            ]
        );
        assert_eq!(
            codes(json!({"old_password": "", "new_password": "n3w-secret"})),
            [("old_password".into(), "too_short")]
        );
        assert_eq!(
            codes(json!({"old_password": "o".repeat(1025), "new_password": "n3w-secret"})),
            [("old_password".into(), "too_long")]
        );
    }
}

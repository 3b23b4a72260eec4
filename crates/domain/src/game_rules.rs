//! The account rules a game server imposes, as its connector declares them,
//! and how they narrow gamegate's own registration rules.
//!
//! A registration the game cannot honour (a password longer than the game
//! stores, a character its client cannot type) must be refused with a 422
//! before anything is created, not answered "registered" for an account that
//! can never log in. [`RegistrationRules::restricted_by`] merges the two:
//! the larger minimum, the smaller maximum, and the intersection of the
//! character classes.

use serde::{Deserialize, Serialize};

use crate::register::{RegistrationRules, check_class_body};

/// How the game server compares logins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseFolding {
    /// Case-insensitive for every script (Unicode lower-casing), as gamegate
    /// itself compares logins: `Élan` and `élan` are one account. The
    /// contract of protocol v1.
    #[default]
    Unicode,
    /// Case-insensitive for ASCII letters only (AzerothCore and TrinityCore
    /// upper-case usernames with `toupper`): `Élan` and `éLAN` may be two
    /// accounts on the game side, which gamegate still refuses as one.
    Ascii,
    /// Logins compared byte for byte. gamegate stays case-insensitive, so the
    /// game never sees two logins that differ only in case.
    Sensitive,
}

impl CaseFolding {
    /// The name used in configuration, the banner and `doctor`.
    pub const fn name(self) -> &'static str {
        match self {
            CaseFolding::Unicode => "unicode",
            CaseFolding::Ascii => "ascii",
            CaseFolding::Sensitive => "sensitive",
        }
    }
}

/// The account rules of one game server. Each `None` means "the game adds no
/// rule of its own here": gamegate's rule applies unchanged. Lengths count
/// characters (Unicode scalar values; logins after NFC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GameAccountRules {
    /// Fewest characters the game accepts in a login.
    pub login_min_chars: Option<usize>,
    /// Most characters the game stores in a login.
    pub login_max_chars: Option<usize>,
    /// The characters the game accepts in a login: a regex character-class
    /// body such as `A-Za-z0-9`.
    pub login_charset: Option<String>,
    /// Fewest characters the game accepts in a password.
    pub password_min_chars: Option<usize>,
    /// Most characters the game accepts in a password (16 for the WoW 3.3.5
    /// client, for instance).
    pub password_max_chars: Option<usize>,
    /// The characters the game accepts in a password: a regex
    /// character-class body such as `\x21-\x7E`.
    pub password_charset: Option<String>,
    /// How the game compares logins.
    pub case_folding: CaseFolding,
}

impl GameAccountRules {
    /// Whether the game adds any rule to gamegate's own.
    pub fn is_empty(&self) -> bool {
        let Self {
            login_min_chars,
            login_max_chars,
            login_charset,
            password_min_chars,
            password_max_chars,
            password_charset,
            case_folding: _,
        } = self;
        login_min_chars.is_none()
            && login_max_chars.is_none()
            && login_charset.is_none()
            && password_min_chars.is_none()
            && password_max_chars.is_none()
            && password_charset.is_none()
    }

    /// The rules in words for the banner and `doctor`, e.g.
    /// `login ≤ 16, password ≤ 16 of [\x21-\x7E], case: ascii`; `none` when
    /// the game adds nothing.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let range = |min: Option<usize>, max: Option<usize>| match (min, max) {
            (Some(min), Some(max)) => Some(format!("{min}..={max}")),
            (Some(min), None) => Some(format!("≥ {min}")),
            (None, Some(max)) => Some(format!("≤ {max}")),
            (None, None) => None,
        };
        let describe = |name: &str, range: Option<String>, charset: &Option<String>| {
            let mut text = name.to_owned();
            if let Some(range) = range {
                text.push_str(&format!(" {range} chars"));
            }
            if let Some(charset) = charset {
                text.push_str(&format!(" of [{charset}]"));
            }
            text
        };
        if self.login_min_chars.is_some()
            || self.login_max_chars.is_some()
            || self.login_charset.is_some()
        {
            parts.push(describe(
                "login",
                range(self.login_min_chars, self.login_max_chars),
                &self.login_charset,
            ));
        }
        if self.password_min_chars.is_some()
            || self.password_max_chars.is_some()
            || self.password_charset.is_some()
        {
            parts.push(describe(
                "password",
                range(self.password_min_chars, self.password_max_chars),
                &self.password_charset,
            ));
        }
        if parts.is_empty() {
            parts.push("no length or charset rules".to_owned());
        }
        parts.push(format!("case: {}", self.case_folding.name()));
        parts.join(", ")
    }
}

impl RegistrationRules {
    /// These rules narrowed by the game's: the larger of each minimum, the
    /// smaller of each maximum, and each charset intersected with the game's
    /// (`[[ours]&&[theirs]]`). Errs, naming the rule, when the game's rules
    /// leave nothing to register (a minimum above a maximum) or a charset is
    /// not a character class.
    pub fn restricted_by(&self, game: &GameAccountRules) -> Result<Self, String> {
        let mut merged = match &game.login_charset {
            None => self.clone(),
            Some(theirs) => {
                // The game's class is checked alone first (a stray `]` cannot
                // break out of it), then intersected with ours.
                check_class_body("the game's login", theirs)?;
                let body = format!("[{}]&&[{theirs}]", self.login_charset());
                let mut merged = Self::with_class_body(&body)?;
                merged.login_min_chars = self.login_min_chars;
                merged.login_max_chars = self.login_max_chars;
                merged.password_min_chars = self.password_min_chars;
                merged.password_max_chars = self.password_max_chars;
                merged.set_password_charset(self.password_charset())?;
                merged
            }
        };
        let narrow = |ours_min: usize, ours_max: usize, min: Option<usize>, max: Option<usize>| {
            (
                min.map_or(ours_min, |m| m.max(ours_min)),
                max.map_or(ours_max, |m| m.min(ours_max)),
            )
        };
        (merged.login_min_chars, merged.login_max_chars) = narrow(
            merged.login_min_chars,
            merged.login_max_chars,
            game.login_min_chars,
            game.login_max_chars,
        );
        (merged.password_min_chars, merged.password_max_chars) = narrow(
            merged.password_min_chars,
            merged.password_max_chars,
            game.password_min_chars,
            game.password_max_chars,
        );
        if game.login_charset.is_some() && !merged.login_charset_admits_a_character() {
            return Err(format!(
                "no character is in both gamegate's login charset [{}] and the game's [{}]: \
                 no login could be registered",
                self.login_charset(),
                game.login_charset.as_deref().unwrap_or_default()
            ));
        }
        if merged.login_min_chars > merged.login_max_chars {
            return Err(format!(
                "logins would need {} to {} characters: the game's length rule and gamegate's \
                 do not overlap",
                merged.login_min_chars, merged.login_max_chars
            ));
        }
        if merged.password_min_chars > merged.password_max_chars {
            return Err(format!(
                "passwords would need {} to {} characters: the game's length rule and \
                 gamegate's do not overlap",
                merged.password_min_chars, merged.password_max_chars
            ));
        }
        if let Some(theirs) = &game.password_charset {
            check_class_body("the game's password", theirs)?;
            let body = match merged.password_charset() {
                Some(ours) => format!("[{ours}]&&[{theirs}]"),
                None => theirs.clone(),
            };
            merged.set_password_charset(Some(&body))?;
            if !merged.password_charset_admits_a_character() {
                return Err(format!(
                    "no character is in the game's password charset [{theirs}] (and gamegate's, \
                     if set): no password could be registered"
                ));
            }
        }
        Ok(merged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_game_rules_change_nothing() {
        let ours = RegistrationRules::default();
        let merged = ours.restricted_by(&GameAccountRules::default()).unwrap();
        assert_eq!(merged.login_rule_text(), ours.login_rule_text());
        assert_eq!(merged.password_max_chars, 20);
        assert_eq!(merged.password_charset(), None);
        assert!(GameAccountRules::default().is_empty());
    }

    #[test]
    fn lengths_narrow_and_never_widen() {
        let game = GameAccountRules {
            login_max_chars: Some(32),
            login_min_chars: Some(4),
            password_max_chars: Some(16),
            password_min_chars: Some(1),
            ..GameAccountRules::default()
        };
        let merged = RegistrationRules::default().restricted_by(&game).unwrap();
        assert_eq!((merged.login_min_chars, merged.login_max_chars), (4, 16));
        assert_eq!(
            (merged.password_min_chars, merged.password_max_chars),
            (6, 16)
        );
    }

    #[test]
    fn charsets_intersect() {
        let game = GameAccountRules {
            login_charset: Some("A-Za-z0-9".into()),
            password_charset: Some(r"\x21-\x7E".into()),
            ..GameAccountRules::default()
        };
        let merged = RegistrationRules::default().restricted_by(&game).unwrap();
        assert!(merged.check_login("abc9").is_ok());
        assert!(merged.check_login("ab_c").is_err(), "_ is ours only");
        assert!(merged.check_password_charset("hunter2!"));
        assert!(
            !merged.check_password_charset("pass word"),
            "space is not in the game's"
        );
        assert!(!merged.check_password_charset("пароль123"));
    }

    #[test]
    fn rules_that_leave_nothing_are_refused() {
        let game = GameAccountRules {
            password_max_chars: Some(4),
            ..GameAccountRules::default()
        };
        let err = RegistrationRules::default()
            .restricted_by(&game)
            .unwrap_err();
        assert!(err.contains("passwords would need 6 to 4"), "{err}");
        for bad in ["z-a", "a-z]+|.*["] {
            let game = GameAccountRules {
                login_charset: Some(bad.into()),
                ..GameAccountRules::default()
            };
            assert!(
                RegistrationRules::default().restricted_by(&game).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unicode_scripts_and_categories_name_charsets() {
        let ours = RegistrationRules::with_login_charset(r"\p{Cyrillic}\p{Latin}0-9_").unwrap();
        let game = GameAccountRules {
            login_charset: Some(r"\p{Cyrillic}0-9_".into()),
            password_charset: Some(r"\p{L}\p{N}".into()),
            ..GameAccountRules::default()
        };
        let merged = ours.restricted_by(&game).unwrap();
        assert!(merged.check_login("Витязь_1").is_ok());
        assert!(
            merged.check_login("Hero_1").is_err(),
            "Latin is not the game's"
        );
        assert!(merged.check_password_charset("пароль123"));
        assert!(!merged.check_password_charset("pass-word"));
    }

    #[test]
    fn charsets_with_nothing_in_common_are_refused() {
        for (login, password) in [
            (Some("а-я"), None),
            (Some("A-Z&&a-z"), None),
            (None, Some("a-z&&0-9")),
        ] {
            let game = GameAccountRules {
                login_charset: login.map(str::to_owned),
                password_charset: password.map(str::to_owned),
                ..GameAccountRules::default()
            };
            let err = RegistrationRules::default()
                .restricted_by(&game)
                .unwrap_err();
            assert!(
                err.contains("no character is in"),
                "{login:?} {password:?}: {err}"
            );
        }
    }

    #[test]
    fn summary_names_each_rule() {
        let game = GameAccountRules {
            login_max_chars: Some(16),
            password_max_chars: Some(16),
            password_charset: Some(r"\x21-\x7E".into()),
            case_folding: CaseFolding::Ascii,
            ..GameAccountRules::default()
        };
        assert_eq!(
            game.summary(),
            r"login ≤ 16 chars, password ≤ 16 chars of [\x21-\x7E], case: ascii"
        );
        assert_eq!(
            GameAccountRules::default().summary(),
            "no length or charset rules, case: unicode"
        );
    }
}

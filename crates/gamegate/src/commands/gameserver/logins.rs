//! Throw-away logins and passwords that satisfy the rules validation would
//! apply (gamegate's own narrowed by the game's), and the list of accounts a
//! run may have created, so the cleanup deletes exactly those.

use gamegate_domain::RegistrationRules;
use rand::Rng;

/// The prefixes tried, longest first: `gg_check_` names the kit in the game's
/// account list; the shorter ones fit short maximums and charsets without `_`.
const PREFIXES: [&str; 4] = ["gg_check_", "ggcheck", "ggc", ""];
/// Random characters a throw-away login needs at least, so two runs (or a
/// real player) never pick the same one.
const MIN_RANDOM: usize = 6;
/// Alphabets for the random part, tried in order until the rules admit one.
const ALPHABETS: [&str; 4] = [
    "abcdefghijklmnopqrstuvwxyz0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "абвгдежзийклмнопрстуфхцчшщыэюя",
];
/// Characters a password tries to include when the rules admit them: what a
/// careless server mangles (JSON escapes, a space, non-ASCII letters, a
/// character of three UTF-8 bytes).
const AWKWARD: [char; 8] = ['"', '\\', ' ', 'é', 'Ж', '€', '\'', '{'];
/// Fillers for the rest of a password.
const FILLER: &str = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#%+-.:=?@_";

fn random_from(alphabet: &str, len: usize) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| chars[rng.gen_range(0..chars.len())])
        .collect()
}

/// A fresh login of exactly `len` characters (clamped to the rules' range)
/// that `rules` admit, in NFC; `None` when no prefix and alphabet fits (a
/// charset of none of ASCII letters, digits or Cyrillic).
pub(super) fn login(rules: &RegistrationRules, len: usize) -> Option<String> {
    let len = len.clamp(rules.login_min_chars, rules.login_max_chars);
    for prefix in PREFIXES {
        let prefix_len = prefix.chars().count();
        if len < prefix_len + MIN_RANDOM.min(len) {
            continue;
        }
        for alphabet in ALPHABETS {
            let candidate = format!("{prefix}{}", random_from(alphabet, len - prefix_len));
            if let Ok(nfc) = rules.check_login(&candidate) {
                return Some(nfc);
            }
        }
    }
    None
}

/// How many throw-away logins a check draws, asking `exists` of each,
/// before it gives up on finding one nobody has (short login rules).
pub(super) const FRESH_TRIES: usize = 16;

/// Whether `login`, drawn by [`login`], is certainly nobody's: it carries a
/// kit prefix and at least [`MIN_RANDOM`] random characters. Under short
/// rules (`login_max_chars = 3`) a drawn login may be a player's: the kit
/// asks `exists` first and never registers or deletes over it.
pub(super) fn unlikely_taken(login: &str) -> bool {
    let len = login.chars().count();
    PREFIXES
        .iter()
        .filter(|p| !p.is_empty())
        .any(|p| login.starts_with(p) && len >= p.chars().count() + MIN_RANDOM)
}

/// The usual throw-away login: 16 characters, or what the rules allow.
pub(super) fn regular_login(rules: &RegistrationRules) -> Option<String> {
    login(rules, 16)
}

/// `login` with every ASCII letter's case swapped (`gg_check_ab1` →
/// `GG_CHECK_AB1`): the same account for a server that folds case (Unicode
/// or ASCII), another for a case-sensitive one. `None` when the rules do not
/// admit the variant or it has no ASCII letter to change.
pub(super) fn case_changed(rules: &RegistrationRules, login: &str) -> Option<String> {
    let variant: String = login
        .chars()
        .map(|c| match c {
            'a'..='z' => c.to_ascii_uppercase(),
            'A'..='Z' => c.to_ascii_lowercase(),
            other => other,
        })
        .collect();
    (variant != login && rules.check_login(&variant).is_ok()).then_some(variant)
}

/// A password of exactly `len` characters (clamped to the rules' range) in
/// the rules' password charset, with as many [`AWKWARD`] characters as the
/// charset admits (at most half of it); `None` when the charset admits too
/// few of the fillers.
pub(super) fn password(rules: &RegistrationRules, len: usize) -> Option<String> {
    let len = len.clamp(rules.password_min_chars, rules.password_max_chars);
    let admitted = |c: char| rules.check_password_charset(&c.to_string());
    let mut out: String = AWKWARD
        .iter()
        .copied()
        .filter(|&c| admitted(c))
        .take(len / 2)
        .collect();
    let fillers: String = FILLER.chars().filter(|&c| admitted(c)).collect();
    if fillers.is_empty() {
        return None;
    }
    let missing = len - out.chars().count();
    out.push_str(&random_from(&fillers, missing));
    rules.check_password_charset(&out).then_some(out)
}

/// What a password holds besides letters and digits, in words for a
/// report: `quotes, a backslash, a space, non-ASCII letters`. Never the
/// password itself.
pub(super) fn password_traits(password: &str) -> String {
    let mut traits = Vec::new();
    if password.contains(['"', '\'']) {
        traits.push("quotes");
    }
    if password.contains('\\') {
        traits.push("a backslash");
    }
    if password.contains(' ') {
        traits.push("a space");
    }
    if !password.is_ascii() {
        traits.push("non-ASCII characters");
    }
    if traits.is_empty() {
        "letters, digits and punctuation".to_owned()
    } else {
        traits.join(", ")
    }
}

/// The accounts a run may have created: each login is added before its
/// `register` is sent (so a register whose answer was lost or cut short by a
/// bound is still cleaned up) and removed when the server certainly did not
/// create it or deleted it.
#[derive(Debug, Default)]
pub(super) struct Throwaways {
    logins: Vec<String>,
}

impl Throwaways {
    /// `login` may exist from now on.
    pub(super) fn track(&mut self, login: &str) {
        if !self.logins.iter().any(|l| l == login) {
            self.logins.push(login.to_owned());
        }
    }

    /// `login` certainly does not exist (any more).
    pub(super) fn untrack(&mut self, login: &str) {
        self.logins.retain(|l| l != login);
    }

    /// The logins that may still exist, oldest first.
    pub(super) fn logins(&self) -> Vec<String> {
        self.logins.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gamegate_domain::GameAccountRules;

    fn rules(game: GameAccountRules) -> RegistrationRules {
        RegistrationRules::default().restricted_by(&game).unwrap()
    }

    #[test]
    fn logins_fit_the_rules_and_differ() {
        let default = RegistrationRules::default();
        let a = regular_login(&default).unwrap();
        let b = regular_login(&default).unwrap();
        assert!(a.starts_with("gg_check_") && a.chars().count() == 16, "{a}");
        assert_ne!(a, b);
        let strict = rules(GameAccountRules {
            login_max_chars: Some(10),
            login_charset: Some("a-z0-9".into()),
            ..GameAccountRules::default()
        });
        let short = regular_login(&strict).unwrap();
        assert!(
            short.starts_with("ggc") && short.chars().count() == 10,
            "{short}"
        );
        assert!(strict.check_login(&short).is_ok());
        assert_eq!(
            case_changed(&strict, &short),
            None,
            "no upper case admitted"
        );
        let cyrillic = RegistrationRules::with_login_charset("а-я").unwrap();
        let login = regular_login(&cyrillic).unwrap();
        assert!(cyrillic.check_login(&login).is_ok(), "{login}");
    }

    #[test]
    fn short_rules_draw_logins_that_may_be_taken() {
        let default = RegistrationRules::default();
        assert!(unlikely_taken(&regular_login(&default).unwrap()));
        let three = rules(GameAccountRules {
            login_max_chars: Some(3),
            login_charset: Some("a-z".into()),
            ..GameAccountRules::default()
        });
        let short = regular_login(&three).unwrap();
        assert_eq!(short.chars().count(), 3, "{short}");
        assert!(!unlikely_taken(&short), "{short}");
    }

    #[test]
    fn the_case_variant_swaps_ascii_letters_only() {
        let default = RegistrationRules::default();
        assert_eq!(
            case_changed(&default, "gg_check_a1Bc").as_deref(),
            Some("GG_CHECK_A1bC")
        );
        assert_eq!(case_changed(&default, "123456"), None);
    }

    #[test]
    fn passwords_take_awkward_characters_the_charset_admits() {
        let default = RegistrationRules::default();
        let p = password(&default, 20).unwrap();
        assert_eq!(p.chars().count(), 20);
        assert!(
            p.contains('"') && p.contains('\\') && p.contains('Ж'),
            "{p}"
        );
        assert_eq!(
            password_traits(&p),
            "quotes, a backslash, a space, non-ASCII characters"
        );
        let printable = rules(GameAccountRules {
            password_max_chars: Some(16),
            password_charset: Some(r"\x21-\x7E".into()),
            ..GameAccountRules::default()
        });
        let p = password(&printable, 99).unwrap();
        assert_eq!(p.chars().count(), 16);
        assert!(p.is_ascii() && !p.contains(' '), "{p}");
        assert!(printable.check_password_charset(&p));
    }

    #[test]
    fn throwaways_are_tracked_until_certainly_gone() {
        let mut t = Throwaways::default();
        t.track("a");
        t.track("b");
        t.track("a");
        t.untrack("a");
        assert_eq!(t.logins(), vec!["b".to_owned()]);
    }
}

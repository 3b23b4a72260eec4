//! The two cores, their account limits (with the source of each number) and
//! how a connector's declared rules combine with the operator's.

use gamegate_gameserver::{CaseFolding, GameAccountRules};
use regex::Regex;

/// Which server the accounts are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Core {
    /// AzerothCore (WotLK 3.3.5a), `azerothcore-wotlk`.
    AzerothCore,
    /// TrinityCore, branch 3.3.5.
    TrinityCore,
}

/// How a connector reaches the core: the command syntax of SOAP carries
/// fewer characters than a database row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Rows written into the auth database's `account` table.
    AuthDb,
    /// `account create USER PASS` through worldserver SOAP.
    Soap,
}

/// Logins every connector of these cores accepts: printable ASCII without
/// space, `"`, `'` and `@`. Only ASCII is upper-cased the way the client
/// hashes it (`Utf8ToUpperOnlyLatin`), so anything else may hash differently
/// on the client and never log in; a space ends the argument of `account
/// create` (the command is split on spaces); `@` is refused by TrinityCore's
/// `account create` (`LANG_ACCOUNT_USE_BNET_COMMANDS`), so it is not created
/// the other way either; quotes are refused so a login is the same text in
/// every tool.
pub const LOGIN_CHARSET: &str = r"\x21\x23-\x26\x28-\x3F\x41-\x7E";
/// Passwords written to the auth database: printable ASCII without space
/// (non-ASCII is not upper-cased as the client does; a space cannot be typed
/// reliably at the 3.3.5 login screen and is refused by the console command).
pub const DB_PASSWORD_CHARSET: &str = r"\x21-\x7E";
/// Passwords sent in `account create USER PASS` over SOAP: as
/// [`DB_PASSWORD_CHARSET`] without `"` and `'`, which command parsers treat
/// as quoting.
pub const SOAP_PASSWORD_CHARSET: &str = r"\x21\x23-\x26\x28-\x7E";

impl Core {
    /// The name in `game_server.kind` before `-db`/`-soap`.
    pub const fn name(self) -> &'static str {
        match self {
            Core::AzerothCore => "azerothcore",
            Core::TrinityCore => "trinitycore",
        }
    }

    /// Most characters in an account name: `MAX_ACCOUNT_STR`, checked by
    /// `AccountMgr::CreateAccount` with `utf8length`.
    ///
    /// - AzerothCore: 17, `src/server/game/Accounts/AccountMgr.h`
    ///   (`#define MAX_ACCOUNT_STR 17`, line 72 of the version read; 20 before
    ///   pull request #21183, 2025-01: the 3.3.5 client takes 17).
    /// - TrinityCore 3.3.5: 16, `src/server/game/Accounts/AccountMgr.h`
    ///   (`#define MAX_ACCOUNT_STR 16`, line 43 of the version read).
    pub const fn login_max_chars(self) -> usize {
        match self {
            Core::AzerothCore => 17,
            Core::TrinityCore => 16,
        }
    }

    /// Most characters in a password: `MAX_PASS_STR` = 16 in both cores
    /// (AzerothCore `AccountMgr.h` line 73, TrinityCore 3.3.5 `AccountMgr.h`
    /// line 42 of the versions read): the client sends at most 16.
    pub const fn password_max_chars(self) -> usize {
        16
    }

    /// The URN of `executeCommand` in the worldserver's SOAP namespace table:
    /// `urn:AC` (AzerothCore `src/server/apps/worldserver/ACSoap/ACSoap.cpp`,
    /// `namespaces[]`), `urn:TC` (TrinityCore
    /// `src/server/worldserver/TCSoap/TCSoap.cpp`).
    pub const fn soap_urn(self) -> &'static str {
        match self {
            Core::AzerothCore => "urn:AC",
            Core::TrinityCore => "urn:TC",
        }
    }

    /// The rules this core imposes when reached `via` a connector; case
    /// folding is ASCII (usernames stored upper-cased with
    /// `Utf8ToUpperOnlyLatin`, unique key `idx_username`).
    pub fn rules(self, via: Via) -> GameAccountRules {
        GameAccountRules {
            login_min_chars: None,
            login_max_chars: Some(self.login_max_chars()),
            login_charset: Some(LOGIN_CHARSET.to_owned()),
            password_min_chars: None,
            password_max_chars: Some(self.password_max_chars()),
            password_charset: Some(
                match via {
                    Via::AuthDb => DB_PASSWORD_CHARSET,
                    Via::Soap => SOAP_PASSWORD_CHARSET,
                }
                .to_owned(),
            ),
            case_folding: CaseFolding::Ascii,
        }
    }

    /// The core's rules (via `via`) narrowed by what the operator configured
    /// in `[game_server.rules]`: the stricter of each wins (the larger
    /// minimum, the smaller maximum, the intersection of the charsets). Case
    /// folding stays the core's: it is a fact of the core, not a choice.
    ///
    /// # Errors
    /// A configured charset that is not a character class, or that shares no
    /// character with the core's (nothing could be registered).
    pub fn merged_rules(
        self,
        via: Via,
        configured: &GameAccountRules,
    ) -> Result<GameAccountRules, String> {
        let core = self.rules(via);
        let larger = |a: Option<usize>, b: Option<usize>| a.max(b);
        let smaller = |a: Option<usize>, b: Option<usize>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Ok(GameAccountRules {
            login_min_chars: larger(core.login_min_chars, configured.login_min_chars),
            login_max_chars: smaller(core.login_max_chars, configured.login_max_chars),
            login_charset: intersect_ascii(
                "login",
                core.login_charset.as_deref(),
                configured.login_charset.as_deref(),
            )?,
            password_min_chars: larger(core.password_min_chars, configured.password_min_chars),
            password_max_chars: smaller(core.password_max_chars, configured.password_max_chars),
            password_charset: intersect_ascii(
                "password",
                core.password_charset.as_deref(),
                configured.password_charset.as_deref(),
            )?,
            case_folding: core.case_folding,
        })
    }
}

/// The intersection of two character-class bodies whose first is within
/// printable ASCII, as an explicit class body of `\xNN` ranges (every
/// character of printable ASCII is tried against both). `None` when neither
/// is set.
fn intersect_ascii(
    what: &str,
    core: Option<&str>,
    configured: Option<&str>,
) -> Result<Option<String>, String> {
    let (core, configured) = match (core, configured) {
        (None, None) => return Ok(None),
        (Some(one), None) | (None, Some(one)) => return Ok(Some(one.to_owned())),
        (Some(core), Some(configured)) => (core, configured),
    };
    let class = |body: &str| {
        Regex::new(&format!("^[{body}]$")).map_err(|e| {
            format!("game_server.rules: {what} charset {body:?} is not a character class: {e}")
        })
    };
    let (core_re, configured_re) = (class(core)?, class(configured)?);
    let accepted: Vec<u8> = (0x20u8..=0x7E)
        .filter(|b| {
            let c = char::from(*b).to_string();
            core_re.is_match(&c) && configured_re.is_match(&c)
        })
        .collect();
    if accepted.is_empty() {
        return Err(format!(
            "game_server.rules: the {what} charset [{configured}] shares no character with \
             the game's [{core}]"
        ));
    }
    let mut body = String::new();
    let mut i = 0;
    while i < accepted.len() {
        let start = accepted[i];
        let mut end = start;
        while i + 1 < accepted.len() && accepted[i + 1] == end + 1 {
            i += 1;
            end = accepted[i];
        }
        body.push_str(&format!("\\x{start:02X}"));
        if end > start {
            body.push_str(&format!("-\\x{end:02X}"));
        }
        i += 1;
    }
    Ok(Some(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_rules_carry_the_sources_numbers() {
        let ac = Core::AzerothCore.rules(Via::AuthDb);
        assert_eq!(ac.login_max_chars, Some(17));
        assert_eq!(ac.password_max_chars, Some(16));
        assert_eq!(ac.case_folding, CaseFolding::Ascii);
        let tc = Core::TrinityCore.rules(Via::Soap);
        assert_eq!(tc.login_max_chars, Some(16));
        assert_eq!(tc.password_charset.as_deref(), Some(SOAP_PASSWORD_CHARSET));
    }

    #[test]
    fn the_stricter_rule_wins() {
        let configured = GameAccountRules {
            login_max_chars: Some(20),
            password_max_chars: Some(12),
            password_min_chars: Some(8),
            login_charset: Some("A-Za-z0-9_".into()),
            password_charset: Some(r"\x20-\x7E".into()),
            case_folding: CaseFolding::Unicode,
            ..GameAccountRules::default()
        };
        let merged = Core::AzerothCore
            .merged_rules(Via::Soap, &configured)
            .unwrap();
        assert_eq!(merged.login_max_chars, Some(17), "the game's 17 < 20");
        assert_eq!(
            merged.password_max_chars,
            Some(12),
            "the operator's 12 < 16"
        );
        assert_eq!(merged.password_min_chars, Some(8));
        assert_eq!(merged.case_folding, CaseFolding::Ascii);
        assert_eq!(
            merged.login_charset.as_deref(),
            Some(r"\x30-\x39\x41-\x5A\x5F\x61-\x7A")
        );
        let password = Regex::new(&format!("^[{}]+$", merged.password_charset.unwrap())).unwrap();
        assert!(password.is_match("p@ss!Word"));
        assert!(!password.is_match("pass word"), "no space: the game's");
        assert!(!password.is_match("it's"), "no quote over SOAP");
    }

    #[test]
    fn disjoint_charsets_are_refused() {
        let configured = GameAccountRules {
            login_charset: Some("а-я".into()),
            ..GameAccountRules::default()
        };
        let err = Core::TrinityCore
            .merged_rules(Via::AuthDb, &configured)
            .unwrap_err();
        assert!(err.contains("shares no character"), "{err}");
    }
}

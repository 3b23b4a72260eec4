//! One battle as the game server reports it, and the bounds every ingested
//! battle must respect (the statistics endpoint is internal, but a bug in the
//! game server must not be able to write nonsense or unbounded rows).

use gamegate_domain::{LoginProblem, RegistrationRules, normalise_login};
use serde::{Deserialize, Serialize};

/// Most participants one battle may list (the game has raids of 40).
pub const MAX_PARTICIPANTS: usize = 64;
/// Longest battle accepted, in seconds (a day).
pub const MAX_DURATION_SECS: u32 = 86_400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Pvp,
    Pve,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Pvp => "pvp",
            Mode::Pve => "pve",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "pvp" => Some(Mode::Pvp),
            "pve" => Some(Mode::Pve),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Battle {
    /// The game server's battle id: ingestion is idempotent by it.
    pub id: i64,
    pub mode: Mode,
    /// Unix seconds.
    pub started_at: i64,
    pub duration_secs: u32,
    pub participants: Vec<Participant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub login: String,
    /// Team number within the battle (PvP: two teams; PvE: everyone on one).
    pub team: u8,
    pub won: bool,
    pub kills: u32,
    pub deaths: u32,
    pub damage_dealt: u64,
    pub damage_taken: u64,
    pub level: u16,
}

/// Why a battle is refused; `code` is stable for API clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BattleError {
    pub code: &'static str,
    pub message: String,
}

impl BattleError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        BattleError {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for BattleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl Battle {
    /// [`Battle::validate_with`] under the default registration rules.
    pub fn validate(&self) -> Result<(), BattleError> {
        self.validate_with(&RegistrationRules::default())
    }

    /// Validates the battle ([`Battle::validate_with`]) and answers it with
    /// every login in the form registration keeps (Unicode NFC), so a login
    /// the game server writes decomposed is the same player's.
    pub fn checked(mut self, rules: &RegistrationRules) -> Result<Battle, BattleError> {
        self.validate_with(rules)?;
        for p in &mut self.participants {
            if let Ok(nfc) = rules.check_login(&p.login) {
                p.login = nfc;
            }
        }
        Ok(self)
    }

    /// Checks the invariants ingestion relies on: a positive id, a sane time
    /// and duration, 1..=MAX_PARTICIPANTS participants whose logins pass the
    /// registration's login rule (`rules`: the same charset, lengths and NFC)
    /// and are distinct case-insensitively, and for PvP exactly two teams of
    /// which exactly one won.
    pub fn validate_with(&self, rules: &RegistrationRules) -> Result<(), BattleError> {
        if self.id <= 0 {
            return Err(BattleError::new("invalid_id", "id must be positive"));
        }
        if self.started_at < 0 || self.started_at > 32_503_680_000 {
            return Err(BattleError::new(
                "invalid_started_at",
                "started_at must be unix seconds between 1970 and 3000",
            ));
        }
        if self.duration_secs > MAX_DURATION_SECS {
            return Err(BattleError::new(
                "invalid_duration",
                format!("duration_secs must be at most {MAX_DURATION_SECS}"),
            ));
        }
        if self.participants.is_empty() || self.participants.len() > MAX_PARTICIPANTS {
            return Err(BattleError::new(
                "invalid_participants",
                format!("a battle lists 1 to {MAX_PARTICIPANTS} participants"),
            ));
        }
        let mut logins = std::collections::HashSet::new();
        for p in &self.participants {
            if let Err(problem) = rules.check_login(&p.login) {
                let why = match problem {
                    LoginProblem::TooShort | LoginProblem::TooLong => "length",
                    LoginProblem::Charset => "charset",
                };
                return Err(BattleError::new(
                    "invalid_login",
                    format!(
                        "logins are {} (registration's rule; this one fails its {why})",
                        rules.login_rule_text()
                    ),
                ));
            }
            if !logins.insert(normalise_login(&p.login)) {
                return Err(BattleError::new(
                    "duplicate_participant",
                    "a login appears twice in one battle",
                ));
            }
        }
        if self.mode == Mode::Pvp {
            let teams = self.teams();
            if teams.len() != 2 {
                return Err(BattleError::new(
                    "invalid_teams",
                    "a pvp battle has exactly two teams",
                ));
            }
            let winners: Vec<bool> = teams
                .iter()
                .map(|t| {
                    self.participants
                        .iter()
                        .filter(|p| p.team == *t)
                        .all(|p| p.won)
                })
                .collect();
            let team_consistent = teams.iter().all(|t| {
                let mut members = self.participants.iter().filter(|p| p.team == *t);
                let first = members.next().map(|p| p.won);
                members.all(|p| Some(p.won) == first)
            });
            if !team_consistent || winners.iter().filter(|w| **w).count() != 1 {
                return Err(BattleError::new(
                    "invalid_outcome",
                    "in a pvp battle exactly one team won, all its members marked won",
                ));
            }
        }
        Ok(())
    }

    /// The distinct team numbers, ascending.
    pub fn teams(&self) -> Vec<u8> {
        let mut teams: Vec<u8> = self.participants.iter().map(|p| p.team).collect();
        teams.sort_unstable();
        teams.dedup();
        teams
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pve(logins: &[&str]) -> Battle {
        Battle {
            id: 1,
            mode: Mode::Pve,
            started_at: 1_795_000_000,
            duration_secs: 60,
            participants: logins
                .iter()
                .map(|l| Participant {
                    login: (*l).to_owned(),
                    team: 1,
                    won: true,
                    kills: 0,
                    deaths: 0,
                    damage_dealt: 0,
                    damage_taken: 0,
                    level: 1,
                })
                .collect(),
        }
    }

    #[test]
    fn logins_follow_the_registration_rule() {
        let cyrillic = RegistrationRules::with_login_charset("A-Za-z0-9_А-Яа-яЁё").unwrap();
        let battle = pve(&["Жук_01", "hero"]);
        assert_eq!(battle.validate().unwrap_err().code, "invalid_login");
        assert!(battle.validate_with(&cyrillic).is_ok());
        // 16 Cyrillic letters are 32 bytes and still a login; 17 are not.
        assert!(
            pve(&["Ж".repeat(16).as_str()])
                .validate_with(&cyrillic)
                .is_ok()
        );
        assert!(
            pve(&["Ж".repeat(17).as_str()])
                .validate_with(&cyrillic)
                .is_err()
        );
        assert_eq!(pve(&["ab"]).validate().unwrap_err().code, "invalid_login");
    }

    #[test]
    fn participants_are_distinct_by_the_login_key() {
        let accents = RegistrationRules::with_login_charset("a-z\u{e9}").unwrap();
        assert_eq!(
            pve(&["Hero", "hero"]).validate().unwrap_err().code,
            "duplicate_participant"
        );
        assert_eq!(
            pve(&["\u{e9}lan", "e\u{301}lan"])
                .validate_with(&accents)
                .unwrap_err()
                .code,
            "duplicate_participant"
        );
        // A decomposed login is stored in the form registration keeps.
        let checked = pve(&["e\u{301}lan"]).checked(&accents).unwrap();
        assert_eq!(checked.participants[0].login, "\u{e9}lan");
    }
}

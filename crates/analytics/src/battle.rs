//! One battle as the game server reports it, and the bounds every ingested
//! battle must respect (the statistics endpoint is internal, but a bug in the
//! game server must not be able to write nonsense or unbounded rows).

use gamegate_domain::{LoginProblem, RegistrationRules, normalise_login};
use serde::{Deserialize, Serialize};

/// Most participants one battle may list (the game has raids of 40).
pub const MAX_PARTICIPANTS: usize = 64;
/// Longest battle accepted, in seconds (a day).
pub const MAX_DURATION_SECS: u32 = 86_400;

/// A battle's mode; JSON `"pvp"` or `"pve"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Players against players: exactly two teams, one of which won. Only these
    /// move ratings.
    Pvp,
    /// Players against the environment: one team, won or lost together.
    Pve,
}

impl Mode {
    /// `"pvp"` or `"pve"`, as JSON and the database store it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Pvp => "pvp",
            Mode::Pve => "pve",
        }
    }

    /// The mode named `"pvp"` or `"pve"` (exact, lower case); `None` otherwise.
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "pvp" => Some(Mode::Pvp),
            "pve" => Some(Mode::Pve),
            _ => None,
        }
    }
}

/// One battle as the game server posts it (`POST /stats/battles`,
/// docs/ANALYTICS.md): `{"id", "mode", "started_at", "duration_secs",
/// "participants": [Participant…]}`, unknown keys refused. Check it with
/// [`Battle::checked`] before storing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Battle {
    /// The game server's battle id: ingestion is idempotent by it.
    pub id: i64,
    /// `pvp` or `pve`.
    pub mode: Mode,
    /// Unix seconds.
    pub started_at: i64,
    /// Length of the battle in seconds, at most [`MAX_DURATION_SECS`].
    pub duration_secs: u32,
    /// 1..=[`MAX_PARTICIPANTS`] players with distinct (case-insensitive) logins.
    pub participants: Vec<Participant>,
}

/// One player's part in a battle: `{"login", "team", "won", "kills", "deaths",
/// "damage_dealt", "damage_taken", "level"}`, unknown keys refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// The player's login; must pass the registration login rule.
    pub login: String,
    /// Team number within the battle (PvP: two teams; PvE: everyone on one).
    pub team: u8,
    /// Whether the player's team won (the same for every member of a team).
    pub won: bool,
    /// Opponents the player killed.
    pub kills: u32,
    /// Times the player died.
    pub deaths: u32,
    /// Damage dealt, in the game's damage points.
    pub damage_dealt: u64,
    /// Damage taken, in the game's damage points.
    pub damage_taken: u64,
    /// The player's character level during the battle.
    pub level: u16,
}

/// Why a battle is refused; `code` is stable for API clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BattleError {
    /// Stable snake_case code: `invalid_id`, `invalid_started_at`,
    /// `invalid_duration`, `invalid_participants`, `invalid_login`,
    /// `duplicate_participant`, `invalid_teams` or `invalid_outcome`.
    pub code: &'static str,
    /// What is wrong, in English, for the API answer and the log.
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
    /// Errs as [`Battle::validate_with`].
    pub fn validate(&self) -> Result<(), BattleError> {
        self.validate_with(&RegistrationRules::default())
    }

    /// Validates the battle ([`Battle::validate_with`]) and answers it with
    /// every login in the form registration keeps (Unicode NFC), so a login
    /// the game server writes decomposed is the same player's.
    /// Errs as [`Battle::validate_with`].
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
    /// Errs with the first broken invariant's [`BattleError`] (see
    /// [`BattleError::code`] for the codes). `started_at` must lie between 1970
    /// and the year 3000, `duration_secs` be at most [`MAX_DURATION_SECS`].
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

/// The two sides of a PvP battle, lower team number first; `None` for PvE
/// or anything but two teams.
pub fn pvp_sides(battle: &Battle) -> Option<(Vec<&Participant>, Vec<&Participant>)> {
    if battle.mode != Mode::Pvp {
        return None;
    }
    let teams = battle.teams();
    let [a, b] = teams[..] else {
        return None;
    };
    let side = |team: u8| {
        battle
            .participants
            .iter()
            .filter(|p| p.team == team)
            .collect()
    };
    Some((side(a), side(b)))
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

//! One battle as the game server reports it, and the bounds every ingested
//! battle must respect (the statistics endpoint is internal, but a bug in the
//! game server must not be able to write nonsense or unbounded rows).

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
    /// Checks the invariants ingestion relies on: a positive id, a sane time
    /// and duration, 1..=MAX_PARTICIPANTS participants with valid, distinct
    /// logins, and for PvP exactly two teams of which exactly one won.
    pub fn validate(&self) -> Result<(), BattleError> {
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
            if gamegate_login_shape(&p.login).is_none() {
                return Err(BattleError::new(
                    "invalid_login",
                    "logins are 3 to 16 ASCII letters, digits or underscores",
                ));
            }
            if !logins.insert(p.login.to_ascii_lowercase()) {
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

/// Same shape rule as registration logins (3–16 of `[A-Za-z0-9_]`), so every
/// account can appear in battle logs and nothing longer can be stored.
fn gamegate_login_shape(login: &str) -> Option<()> {
    let ok = (3..=16).contains(&login.len())
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    ok.then_some(())
}

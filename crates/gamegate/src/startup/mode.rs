//! What one process runs: `gamegate all` or one `serve` service.

/// What one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything: public listener (edge routes) + admin listener, optional
    /// in-process mock game server.
    All,
    /// `serve register` (API_Father): `POST /api/register` + health + metrics.
    Register,
    /// `serve status` (API_1): `GET /server/status` + health + metrics.
    Status,
    /// `serve stats` (API_4): battle ingestion, statistics and reports.
    Stats,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::All => "all",
            Mode::Register => "register",
            Mode::Status => "status",
            Mode::Stats => "stats",
        }
    }

    /// Every mode opens the accounts database: `all` and `register` store
    /// accounts, `status` reads the constants from it, `stats` reads it for
    /// the registration reports (`/stats/registrations`, `/stats/top-telegram`).
    pub(super) fn needs_analytics(self) -> bool {
        matches!(self, Mode::All | Mode::Stats)
    }

    pub(super) fn registers(self) -> bool {
        matches!(self, Mode::All | Mode::Register)
    }

    /// What `/internal/health/ready` requires to answer 200: registration
    /// needs the accounts database and the game server, the statistics the
    /// analytics database; the status service serves from memory and needs
    /// nothing (it shows the game server down rather than going away).
    pub(super) fn readiness_needs(self) -> &'static [&'static str] {
        match self {
            Mode::All => &["accounts", "analytics", "game_server"],
            Mode::Register => &["accounts", "game_server"],
            Mode::Status => &[],
            Mode::Stats => &["analytics"],
        }
    }
}

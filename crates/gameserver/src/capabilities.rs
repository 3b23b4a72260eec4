//! What a connector can do and what the game allows: the operations a
//! [`GameServer`](crate::GameServer) implementation supports and the account
//! rules of the game behind it.
//!
//! gamegate reads these once at start: the validator narrows its rules by
//! [`Capabilities::rules`] (so a registration the game cannot honour gets a
//! 422 before anything is created), the reconciler reads
//! [`Operations::exists`] to know whether a lost answer can be settled, and
//! the banner and `doctor` print [`Capabilities::summary`].

pub use gamegate_domain::{CaseFolding, GameAccountRules};

/// How well a connector answers "does this login exist?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistsSupport {
    /// `exists` is exact: `true` only for an account the game holds (after
    /// the game's case folding), `false` only when it certainly holds none,
    /// an error whenever it cannot tell. The reconciler confirms or removes
    /// a registration whose answer was lost by asking.
    Exact,
    /// The connector cannot answer `exists` exactly (or at all). A
    /// registration whose answer was lost is never settled by guessing: the
    /// reconciler leaves it pending (its login stays reserved), counts it as
    /// `gamegate_reconciler_settled_total{result="unsettleable"}` and logs a
    /// warning for the operator, who
    /// settles it by hand (docs/GAME_SERVER.md, "Lost answers").
    Unsupported,
}

/// The operations a connector supports besides `register`, which every
/// connector must.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operations {
    /// Whether and how exactly `exists` answers.
    pub exists: ExistsSupport,
    /// `delete` removes an account (account deletion, conformance checks).
    pub delete: bool,
    /// `set_password` changes an account's password.
    pub set_password: bool,
    /// `online` reports the number of players online.
    pub online: bool,
    /// `ping` tells whether the game server answers (readiness, status).
    pub ping: bool,
}

impl Operations {
    /// Every operation, `exists` exact.
    pub const ALL: Operations = Operations {
        exists: ExistsSupport::Exact,
        delete: true,
        set_password: true,
        online: true,
        ping: true,
    };

    /// The names of the supported operations, `register` first, e.g.
    /// `register, exists, delete, online, ping`.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = vec!["register"];
        if self.exists == ExistsSupport::Exact {
            names.push("exists");
        }
        for (on, name) in [
            (self.delete, "delete"),
            (self.set_password, "set_password"),
            (self.online, "online"),
            (self.ping, "ping"),
        ] {
            if on {
                names.push(name);
            }
        }
        names
    }
}

/// What one connector declares about itself and the game behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The connector's configuration name (`game_server.kind`), e.g. `v1`.
    pub connector: &'static str,
    /// The operations it supports.
    pub operations: Operations,
    /// The game's account rules, merged into validation at start.
    pub rules: GameAccountRules,
}

impl Capabilities {
    /// One line for the banner and `doctor`, e.g.
    /// `v1 (register, exists, delete, online, ping; login ≤ 16 chars, case: unicode)`.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}; {})",
            self.connector,
            self.operations.names().join(", "),
            self.rules.summary()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lists_operations_and_rules() {
        let caps = Capabilities {
            connector: "v1",
            operations: Operations {
                set_password: false,
                ..Operations::ALL
            },
            rules: GameAccountRules {
                password_max_chars: Some(16),
                ..GameAccountRules::default()
            },
        };
        assert_eq!(
            caps.summary(),
            "v1 (register, exists, delete, online, ping; password ≤ 16 chars, case: unicode)"
        );
        let inexact = Operations {
            exists: ExistsSupport::Unsupported,
            ..Operations::ALL
        };
        assert!(!inexact.names().contains(&"exists"));
    }
}

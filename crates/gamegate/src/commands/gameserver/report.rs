//! The conformance report: one [`Check`] per item of the suite, printed as
//! text ([`Report::to_text`], `✓`/`✗`/`–` lines with a `fix:` under each
//! `✗`, like `gamegate doctor`) or as JSON for CI ([`Report::to_json`]).
//!
//! The shape is doctor's (an id, an outcome, the reason, the fix, the time
//! taken); the ids are the suite's own ([`CheckId`]), so a CI script can
//! assert on a name copied from a report.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::shared::checklist;

/// The checks of the suite, in the order they run (docs/GAME_SERVER.md,
/// "The conformance kit", describes each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckId {
    /// The address accepts TCP connections (v1).
    TcpConnect,
    /// A command before `auth` is answered `unauthorized` (v1).
    AuthRequired,
    /// A wrong token is refused and leaves the connection unauthenticated (v1).
    AuthWrongToken,
    /// The configured token is accepted (v1).
    AuthAccepted,
    /// One connection carries request after request (v1).
    ConnectionKept,
    /// Replies echo the ids of their requests (v1).
    IdsEchoed,
    /// Requests written in one burst are answered in order, ids echoed (v1).
    Pipelined,
    /// A request of exactly 4096 bytes is answered (v1).
    LineLimit,
    /// A line over 4096 bytes is answered `invalid` and the connection closed (v1).
    OversizedLine,
    /// A line that is not JSON is answered `invalid` and the connection closed (v1).
    MalformedLine,
    /// A JSON request with an unknown command or a missing field is answered
    /// `invalid` and the connection closed (v1).
    InvalidRequest,
    /// `ping` answers (connector).
    Ping,
    /// `online` answers a number (connector).
    Online,
    /// `register` of a throw-away login answers an account id (connector).
    Register,
    /// `exists` answers true for the account just created (connector).
    ExistsAfterCreate,
    /// A second `register` of the same login answers `login_taken` (connector).
    Duplicate,
    /// The login with its case changed counts as the same account (connector).
    CaseFolding,
    /// `exists` answers false for a login never created (connector).
    ExistsUnknown,
    /// `exists` stays exact under concurrent calls (connector).
    ExistsUnderLoad,
    /// `set_password` of the kit's account answers ok and the account
    /// stays (connector).
    SetPassword,
    /// After `delete`, `exists` answers false (connector).
    ExistsAfterDelete,
    /// `delete` of a login that does not exist answers ok (connector).
    DeleteMissing,
    /// `set_password` of a login that does not exist answers `not_found`
    /// and creates no account (connector).
    SetPasswordMissing,
    /// The longest login and password validation admits are accepted (connector).
    AccountRules,
    /// Answer times (p50, max) stay under half of `game_server.call_timeout_ms` (connector).
    AnswerTimes,
    /// Every throw-away account the run created is deleted again (connector).
    Cleanup,
}

impl CheckId {
    /// Every check, in run order.
    pub const ALL: [CheckId; 26] = [
        CheckId::TcpConnect,
        CheckId::AuthRequired,
        CheckId::AuthWrongToken,
        CheckId::AuthAccepted,
        CheckId::ConnectionKept,
        CheckId::IdsEchoed,
        CheckId::Pipelined,
        CheckId::LineLimit,
        CheckId::OversizedLine,
        CheckId::MalformedLine,
        CheckId::InvalidRequest,
        CheckId::Ping,
        CheckId::Online,
        CheckId::Register,
        CheckId::ExistsAfterCreate,
        CheckId::Duplicate,
        CheckId::CaseFolding,
        CheckId::ExistsUnknown,
        CheckId::ExistsUnderLoad,
        CheckId::SetPassword,
        CheckId::ExistsAfterDelete,
        CheckId::DeleteMissing,
        CheckId::SetPasswordMissing,
        CheckId::AccountRules,
        CheckId::AnswerTimes,
        CheckId::Cleanup,
    ];

    /// The name the report prints (snake_case, as in the JSON).
    pub fn name(self) -> &'static str {
        match self {
            CheckId::TcpConnect => "tcp_connect",
            CheckId::AuthRequired => "auth_required",
            CheckId::AuthWrongToken => "auth_wrong_token",
            CheckId::AuthAccepted => "auth_accepted",
            CheckId::IdsEchoed => "ids_echoed",
            CheckId::ConnectionKept => "connection_kept",
            CheckId::Pipelined => "pipelined",
            CheckId::LineLimit => "line_limit",
            CheckId::OversizedLine => "oversized_line",
            CheckId::MalformedLine => "malformed_line",
            CheckId::InvalidRequest => "invalid_request",
            CheckId::Ping => "ping",
            CheckId::Online => "online",
            CheckId::Register => "register",
            CheckId::ExistsAfterCreate => "exists_after_create",
            CheckId::Duplicate => "duplicate",
            CheckId::CaseFolding => "case_folding",
            CheckId::ExistsUnknown => "exists_unknown",
            CheckId::ExistsUnderLoad => "exists_under_load",
            CheckId::SetPassword => "set_password",
            CheckId::ExistsAfterDelete => "exists_after_delete",
            CheckId::DeleteMissing => "delete_missing",
            CheckId::SetPasswordMissing => "set_password_missing",
            CheckId::AccountRules => "account_rules",
            CheckId::AnswerTimes => "answer_times",
            CheckId::Cleanup => "cleanup",
        }
    }
}

pub use crate::shared::checklist::Outcome;

/// One checked item of the suite.
pub type Check = checklist::Check<CheckId>;

impl checklist::CheckName for CheckId {
    fn name(self) -> &'static str {
        CheckId::name(self)
    }
}

/// Every check of one run, in run order, with what the run was against.
#[derive(Debug, Clone)]
pub struct Report {
    /// `game_server.addr` as configured.
    pub addr: String,
    /// The connector's capabilities in one line ([`gamegate_gameserver::Capabilities::summary`]).
    pub connector: String,
    /// The checks, one per [`CheckId`].
    pub checks: Vec<Check>,
    /// Throw-away accounts the run created and could not delete.
    pub left_accounts: Vec<String>,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl Report {
    /// Whether no check failed.
    pub fn ok(&self) -> bool {
        self.failed().is_empty()
    }

    /// The failed checks, in run order.
    pub fn failed(&self) -> Vec<CheckId> {
        checklist::failed(&self.checks)
    }

    /// The check `id`, when the run has it.
    pub fn get(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// A header naming the server, one line per check (`✓ name  reason`),
    /// a `fix:` line under each ✗, the accounts left behind, and the totals.
    pub fn to_text(&self) -> String {
        let width = CheckId::ALL
            .iter()
            .map(|c| c.name().len())
            .max()
            .unwrap_or(0);
        let mut out = format!(
            "conformance of {} · connector {}\n",
            self.addr, self.connector
        );
        out.push_str(&checklist::lines(&self.checks, width));
        if !self.left_accounts.is_empty() {
            out.push_str(&format!(
                "throw-away accounts left on the game server: {}\n",
                self.left_accounts.join(", ")
            ));
        }
        out.push_str(&checklist::totals(&self.checks, self.elapsed));
        out
    }

    /// `{"ok", "passed", "failed", "not_applicable", "elapsed_ms", "addr",
    /// "connector", "left_accounts", "checks": [{"id", "outcome", "reason",
    /// "fix", "elapsed_ms"}]}`.
    pub fn to_json(&self) -> Value {
        let mut fields = checklist::json_fields(&self.checks, self.elapsed);
        fields.insert("addr".into(), self.addr.clone().into());
        fields.insert("connector".into(), self.connector.clone().into());
        fields.insert("left_accounts".into(), self.left_accounts.clone().into());
        Value::Object(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_the_serialized_ids_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for id in CheckId::ALL {
            assert_eq!(serde_json::to_value(id).unwrap(), json!(id.name()));
            assert!(seen.insert(id.name()), "{} twice", id.name());
        }
    }

    #[test]
    fn text_puts_the_fix_under_a_failure() {
        let report = Report {
            addr: "127.0.0.1:5190".into(),
            connector: "v1 (register; case: unicode)".into(),
            checks: vec![
                Check::pass(CheckId::TcpConnect, "accepts"),
                Check::fail(CheckId::AuthRequired, "answered", "require auth"),
                Check::not_applicable(CheckId::Online, "not declared"),
            ],
            left_accounts: vec!["gg_check_x".into()],
            elapsed: Duration::from_millis(12),
        };
        let text = report.to_text();
        assert!(text.contains("✗ auth_required "), "{text}");
        assert!(text.contains("fix: require auth"), "{text}");
        assert!(
            text.contains("left on the game server: gg_check_x"),
            "{text}"
        );
        assert!(text.ends_with("1 passed, 1 failed, 1 not applicable (12 ms)\n"));
        assert_eq!(report.to_json()["checks"][1]["outcome"], "fail");
        assert!(!report.ok());
    }
}

//! `gamegate status list|set`: the constants of the status answer
//! (`GET /api/server/status`), changed by an operator without SQL. The row is
//! written in the accounts database the configuration names (found like every
//! command's: `--config`, `GAMEGATE_CONFIG`, /etc/gamegate/gamegate.toml,
//! `GAMEGATE_*`), never a new one; every running process that serves the
//! status shows it within `status.refresh_interval_ms`.
//!
//! The names and values follow the domain's rules
//! ([`gamegate_domain::ConstantName`]), the same as `PUT
//! /admin/constants/{name}`'s.

use anyhow::bail;
use clap::Subcommand;
use gamegate_domain::{ConstantName, Lang, ValueProblem};
use serde_json::json;

use crate::shared::operator_db::open_existing;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum StatusCommand {
    /// Every row of the constants table, by name (the status answer shows
    /// server_status, client_status and each rate_NAME).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Sets one constant: server_status 0 or 1; client_status a whole number;
    /// rate_NAME (NAME of a-z, 0-9, _) a number from 0 to 1000000.
    Set {
        /// server_status, client_status or rate_NAME, e.g. rate_exp.
        name: String,
        /// The new value, a number as JSON writes one (1, 0.5, 2e3).
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
}

/// Bound on connecting to the database and on each statement of a command.
const OPERATOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs one command against `database.url` and returns the text to print.
/// Errs on an unknown name or a value outside the constant's rule (before
/// connecting), a database that does not exist or does not answer.
pub async fn run(config: &crate::Config, cmd: StatusCommand) -> anyhow::Result<String> {
    // Check the arguments before connecting, so a typo fails fast.
    let change = match &cmd {
        StatusCommand::List { .. } => None,
        StatusCommand::Set { name, value } => Some(parse_change(name, value)?),
    };
    let db = open_existing(&config.database.url, OPERATOR_TIMEOUT).await?;
    let result = async {
        let rows = db.constants().all().await?;
        match (cmd, change) {
            (StatusCommand::List { json: true }, _) => Ok(rows_json(&rows)),
            (StatusCommand::List { json: false }, _) => Ok(rows_table(&rows)),
            (StatusCommand::Set { .. }, Some((name, value))) => {
                let before = rows.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
                db.constants().set(&name, value).await?;
                let was = match before {
                    Some(before) => format!("was {before}"),
                    None => "new".to_owned(),
                };
                Ok(format!(
                    "{name} = {value} ({was}); the status shows it within \
                     status.refresh_interval_ms ({} ms)",
                    config.status.refresh_interval_ms
                ))
            }
            (StatusCommand::Set { .. }, None) => unreachable!("checked above"),
        }
    }
    .await;
    db.close().await;
    result
}

/// The row name and value of `status set NAME VALUE`, or why not.
fn parse_change(name: &str, value: &str) -> anyhow::Result<(String, f64)> {
    let Some(constant) = ConstantName::parse(name) else {
        bail!(
            "{name:?} is not a constant of the status answer: server_status, client_status \
             or rate_<name> (a-z, 0-9, _, up to {} characters)",
            gamegate_domain::status::MAX_RATE_NAME_CHARS
        );
    };
    match constant.check(value.trim()) {
        Ok(value) => Ok((constant.row_name(), value)),
        Err(problem) => {
            let what = match problem {
                ValueProblem::Type => "is not",
                ValueProblem::OutOfRange => "is outside the rule: not",
            };
            bail!(
                "{value:?} {what} {} for {}",
                constant.rule(Lang::En),
                constant.row_name()
            )
        }
    }
}

fn rows_table(rows: &[(String, f64)]) -> String {
    if rows.is_empty() {
        return "no constants".to_owned();
    }
    let width = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(4);
    let mut out = format!("{:<width$}  value", "name");
    for (name, value) in rows {
        out.push('\n');
        let line = match ConstantName::parse(name) {
            Some(_) => format!("{name:<width$}  {value}"),
            // Rows written by hand that the status answer does not show.
            None => format!("{name:<width$}  {value}  (not in the status answer)"),
        };
        out.push_str(&line);
    }
    out
}

fn rows_json(rows: &[(String, f64)]) -> String {
    let rows: Vec<_> = rows
        .iter()
        .map(|(name, value)| {
            json!({"name": name, "value": value, "shown": ConstantName::parse(name).is_some()})
        })
        .collect();
    serde_json::to_string_pretty(&rows).expect("JSON serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_checked_before_anything_is_opened() {
        assert_eq!(
            parse_change("rate_exp", "2.5").unwrap(),
            ("rate_exp".into(), 2.5)
        );
        assert_eq!(
            parse_change("server_status", " 0 ").unwrap(),
            ("server_status".into(), 0.0)
        );
        let err = parse_change("motd", "1").unwrap_err().to_string();
        assert!(err.contains("not a constant of the status answer"), "{err}");
        let err = parse_change("server_status", "2").unwrap_err().to_string();
        assert_eq!(
            err,
            "\"2\" is outside the rule: not 0 (closed) or 1 (open) for server_status"
        );
        let err = parse_change("client_status", "abc")
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a whole number"), "{err}");
    }

    #[test]
    fn the_table_marks_rows_the_status_answer_does_not_show() {
        let rows = vec![
            ("client_status".to_owned(), 256.0),
            ("motd".to_owned(), 3.0),
            ("rate_exp".to_owned(), 1.5),
        ];
        assert_eq!(
            rows_table(&rows),
            "name           value\n\
             client_status  256\n\
             motd           3  (not in the status answer)\n\
             rate_exp       1.5"
        );
        assert_eq!(rows_table(&[]), "no constants");
        let json: serde_json::Value = serde_json::from_str(&rows_json(&rows)).unwrap();
        assert_eq!(
            json[1],
            json!({"name": "motd", "value": 3.0, "shown": false})
        );
    }
}

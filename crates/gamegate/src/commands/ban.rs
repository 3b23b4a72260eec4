//! `gamegate ban list|add|remove`: the ban jail's table, edited by an
//! operator. Running processes pick changes up within
//! `edge.ban_sync_interval_ms`.
//!
//! A ban names an address (IPv4 or IPv6; `::ffff:1.2.3.4` is `1.2.3.4`) or a
//! network in CIDR form (`203.0.113.0/24`, `2001:db8:1:2::/64`); the jail
//! bans an IPv6 client by its /`edge.ipv6_prefix`.

use std::net::IpAddr;

use anyhow::{Context, bail};
use clap::Subcommand;
use gamegate_store::MigrationSet;
use gamegate_store::bans::{
    Ban, MAX_REASON_CHARS, MIN_BAN_PREFIX_V4, MIN_BAN_PREFIX_V6, canonical_net, canonical_network,
    is_bannable,
};
use gamegate_store::unix_now;
use ipnet::IpNet;
use serde_json::json;

use crate::config::RedisSettings;
use crate::http::edge::jail::BanEvent;
use crate::http::edge::redis_store::publish_once;
use crate::shared::timefmt::{format_utc, parse_duration};

const OPERATOR_REASON: &str = "added by an operator";

/// `ban list` shows at most this many bans (longest first).
const LIST_LIMIT: u64 = 1_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum BanCommand {
    /// Running bans, longest first.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Bans one address or network (IPv4 or IPv6). An existing longer ban is kept.
    Add {
        /// The client address or network, e.g. 203.0.113.7, 2001:db8::7,
        /// 203.0.113.0/24 or 2001:db8:1:2::/64.
        ip: String,
        /// How long: a whole number followed by s, m, h or d (default: edge.ban_secs).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
        /// Why, for whoever lists the bans later.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lifts the ban of one address or network, as `ban list` shows it.
    Remove {
        /// The banned address or network, e.g. 203.0.113.7 or 2001:db8:1:2::/64.
        ip: String,
    },
}

/// Bound on connecting to the database and on each statement of a command.
const OPERATOR_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Parses one address or CIDR network, canonical: host bits cleared,
/// IPv4-mapped IPv6 as IPv4.
pub fn parse_net(text: &str) -> anyhow::Result<IpNet> {
    let text = text.trim();
    let net = match text.parse::<IpAddr>() {
        Ok(ip) => IpNet::from(ip.to_canonical()),
        Err(_) => text.parse::<IpNet>().map_err(|_| {
            anyhow::anyhow!(
                "{text:?} is not an IP address or network: give one IPv4 or IPv6 address \
                 or CIDR network, e.g. 203.0.113.7, 2001:db8::7, 203.0.113.0/24 or \
                 2001:db8:1:2::/64"
            )
        })?,
    };
    Ok(canonical_network(net))
}

fn check_reason(reason: &str) -> anyhow::Result<()> {
    if reason.trim().is_empty() {
        bail!("--reason is empty");
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        bail!("--reason is longer than {MAX_REASON_CHARS} characters");
    }
    if reason.chars().any(char::is_control) {
        bail!("--reason must be one line without control characters");
    }
    Ok(())
}

/// Runs one command against `database.url` and returns the text to print.
pub async fn run(config: &crate::Config, cmd: BanCommand) -> anyhow::Result<String> {
    // Check the arguments before connecting, so a typo fails fast.
    let mut add_secs = None;
    match &cmd {
        BanCommand::List { .. } => {}
        BanCommand::Add {
            ip,
            duration,
            reason,
        } => {
            let net = parse_net(ip)?;
            if !is_bannable(&net) {
                bail!(
                    "{} is too wide to ban: at most a /{MIN_BAN_PREFIX_V4} (IPv4) or a \
                     /{MIN_BAN_PREFIX_V6} (IPv6)",
                    canonical_net(net)
                );
            }
            add_secs = Some(match duration {
                Some(d) => parse_duration(d).with_context(|| format!("invalid --for {d:?}"))?,
                None => i64::try_from(config.edge.ban_secs).context("edge.ban_secs too large")?,
            });
            if let Some(reason) = reason {
                check_reason(reason)?;
            }
        }
        BanCommand::Remove { ip } => {
            parse_net(ip)?;
        }
    }
    // The server's database, never a new one (a relative path read in another
    // directory would give an empty jail that the server never sees).
    let db =
        crate::shared::operator_db::open_existing(&config.database.url, OPERATOR_TIMEOUT).await?;
    let result = async {
        // The table may be new to this database (created by an older version).
        db.migrate(MigrationSet::Accounts)
            .await
            .with_context(|| format!("cannot migrate {}", db.display_url()))?;
        let now = unix_now();
        match cmd {
            BanCommand::List { json } => {
                let bans = db.bans().active(now, LIST_LIMIT).await?;
                Ok(if json {
                    bans_json(&bans, now)
                } else {
                    bans_table(&bans, now)
                })
            }
            BanCommand::Add { ip, reason, .. } => {
                let net = parse_net(&ip)?;
                let secs = add_secs.unwrap_or_default();
                let until = now
                    .checked_add(secs)
                    .context("--for is too long a duration")?;
                let reason = reason.as_deref().unwrap_or(OPERATOR_REASON);
                db.bans().upsert(net, until, reason, now).await?;
                let stored = db.bans().get(net).await?.map_or(until, |b| b.banned_until);
                let kept = if stored > until {
                    " (an existing longer ban is kept)"
                } else {
                    ""
                };
                let published = publish(config, BanEvent::Ban { net, until: stored }).await;
                Ok(format!(
                    "banned {} until {} UTC{kept}{published}",
                    canonical_net(net),
                    format_utc(stored)
                ))
            }
            BanCommand::Remove { ip } => {
                let net = parse_net(&ip)?;
                let shown = canonical_net(net);
                if db.bans().remove(net).await? {
                    let published = publish(config, BanEvent::Unban { net }).await;
                    return Ok(format!("lifted the ban of {shown}{published}"));
                }
                // Not banned by that name: say which running ban covers it.
                let covering: Vec<String> = db
                    .bans()
                    .active(now, LIST_LIMIT)
                    .await?
                    .into_iter()
                    .filter(|b| b.net.contains(&net))
                    .map(|b| canonical_net(b.net))
                    .collect();
                Ok(if covering.is_empty() {
                    format!("{shown} was not banned")
                } else {
                    format!(
                        "{shown} has no ban of its own; it is covered by {} \
                         (gamegate ban remove {})",
                        covering.join(", "),
                        covering[0]
                    )
                })
            }
        }
    }
    .await;
    db.close().await;
    result
}

/// With a Redis store (`edge.rate_limit_store`), tells the running
/// processes at once (they would read the table within
/// `edge.ban_sync_interval_ms` anyway); the words to add to the answer.
async fn publish(config: &crate::Config, event: BanEvent) -> String {
    match RedisSettings::from_config(&config.edge) {
        Ok(Some(settings)) => match publish_once(&settings, &event).await {
            Ok(()) => "; published to the running processes".into(),
            Err(e) => format!(
                "; not published ({e}): running processes take it within edge.ban_sync_interval_ms"
            ),
        },
        _ => String::new(),
    }
}

pub fn bans_table(bans: &[Ban], now: i64) -> String {
    if bans.is_empty() {
        return "no bans".to_owned();
    }
    let rows: Vec<[String; 4]> = bans
        .iter()
        .map(|b| {
            [
                canonical_net(b.net),
                format_utc(b.banned_until),
                (b.banned_until - now).max(0).to_string(),
                b.reason.clone(),
            ]
        })
        .collect();
    let headers = ["ip", "until (UTC)", "seconds left", "reason"];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let [ip, until, left, reason] = cells;
        let text = format!(
            "{ip:<w0$}  {until:<w1$}  {left:>w2$}  {reason}",
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        text.trim_end().to_owned()
    };
    let mut out = line(headers);
    for row in &rows {
        out.push('\n');
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    out
}

pub fn bans_json(bans: &[Ban], now: i64) -> String {
    let rows: Vec<_> = bans
        .iter()
        .map(|b| {
            json!({
                "ip": canonical_net(b.net),
                "banned_until": b.banned_until,
                "banned_until_utc": format_utc(b.banned_until),
                "remaining_secs": (b.banned_until - now).max(0),
                "reason": b.reason,
                "created_at": b.created_at,
            })
        })
        .collect();
    serde_json::Value::Array(rows).to_string()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn addresses_and_networks_are_canonical() {
        let shown = |text: &str| canonical_net(parse_net(text).unwrap());
        assert_eq!(shown(" 203.0.113.7 "), "203.0.113.7");
        assert_eq!(shown("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(shown("2001:DB8::7"), "2001:db8::7");
        assert_eq!(shown("203.0.113.9/24"), "203.0.113.0/24");
        assert_eq!(shown("203.0.113.9/32"), "203.0.113.9");
        assert_eq!(shown("2001:db8:1:2:3::9/64"), "2001:db8:1:2::/64");
        for bad in [
            "",
            "203.0.113",
            "203.0.113.0/33",
            "2001:db8::/129",
            "example.com",
            "1.2.3.4:80",
        ] {
            let err = parse_net(bad).unwrap_err().to_string();
            assert!(
                err.contains("is not an IP address or network"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert!(check_reason("credential stuffing").is_ok());
        assert!(check_reason(" ").is_err());
        assert!(check_reason("two\nlines").is_err());
        assert!(check_reason(&"x".repeat(MAX_REASON_CHARS + 1)).is_err());
    }

    #[test]
    fn the_table_and_json_show_every_ban() {
        let bans = vec![
            Ban {
                net: parse_net("2001:db8::7").unwrap(),
                banned_until: 1_700_003_600,
                reason: "20 failures within 300 s, the last invalid_api_key".into(),
                created_at: 1_700_000_000,
            },
            Ban {
                net: parse_net("203.0.113.7").unwrap(),
                banned_until: 1_700_000_060,
                reason: OPERATOR_REASON.into(),
                created_at: 1_700_000_000,
            },
        ];
        assert_eq!(
            bans_table(&bans, 1_700_000_000),
            [
                "ip           until (UTC)       seconds left  reason",
                "2001:db8::7  2023-11-14 23:13          3600  20 failures within 300 s, the last invalid_api_key",
                "203.0.113.7  2023-11-14 22:14            60  added by an operator",
            ]
            .join("\n")
        );
        assert_eq!(bans_table(&[], 0), "no bans");
        let value: serde_json::Value =
            serde_json::from_str(&bans_json(&bans[1..], 1_700_000_000)).unwrap();
        assert_eq!(
            value,
            json!([{
                "ip": "203.0.113.7",
                "banned_until": 1_700_000_060,
                "banned_until_utc": "2023-11-14 22:14",
                "remaining_secs": 60,
                "reason": "added by an operator",
                "created_at": 1_700_000_000,
            }])
        );
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        ban: BanCommand,
    }

    #[test]
    fn the_subcommands_parse() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("ban").chain(args.iter().copied())).map(|c| c.ban)
        };
        assert_eq!(
            parse(&["add", "203.0.113.7", "--for", "1h", "--reason", "abuse"]).unwrap(),
            BanCommand::Add {
                ip: "203.0.113.7".into(),
                duration: Some("1h".into()),
                reason: Some("abuse".into())
            }
        );
        assert_eq!(parse(&["list"]).unwrap(), BanCommand::List { json: false });
        assert!(parse(&["remove"]).is_err(), "the address is required");
    }

    #[tokio::test]
    async fn bad_arguments_fail_before_connecting() {
        let mut config = crate::Config::default();
        // Nothing listens here; the errors must come from the argument checks.
        config.database.url = "postgres://nobody@127.0.0.1:1/none".into();
        let add = |ip: &str, duration: Option<&str>| BanCommand::Add {
            ip: ip.into(),
            duration: duration.map(Into::into),
            reason: None,
        };
        let err = format!("{:#}", run(&config, add("nope", None)).await.unwrap_err());
        assert!(err.contains("\"nope\" is not an IP address"), "{err}");
        let err = format!(
            "{:#}",
            run(&config, add("203.0.113.7", Some("1w")))
                .await
                .unwrap_err()
        );
        assert!(err.starts_with("invalid --for \"1w\""), "{err}");
        let err = format!(
            "{:#}",
            run(
                &config,
                BanCommand::Remove {
                    ip: "10.0.0.0/33".into()
                }
            )
            .await
            .unwrap_err()
        );
        assert!(err.contains("is not an IP address"), "{err}");
    }
}

//! `gamegate render prometheus-rules`: the alerting rules an operator loads
//! into Prometheus (`rule_files:`), with thresholds from `[monitoring]`, and
//! their unit tests for `promtool test rules` (`--tests FILE`): for every
//! alert, input series that make it fire and series that must not.
//!
//! Both files are built as serde structs and written by serde_norway rather
//! than as text: PromQL and the annotation templates are full of quotes,
//! braces and `|`, which a YAML template would have to escape by hand.
//!
//! Every rule names only metrics gamegate exports (tests/monitoring.rs
//! checks them against a live `/metrics`), plus Prometheus' own `up`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, MonitoringConfig};

/// Where each annotation sends the operator.
const RUNBOOK: &str = "docs/PRODUCTION_SETUP.md#monitoring";

/// Registration outcomes that are gamegate's or its dependencies' fault, not
/// the user's (a taken login or a bad password is not an incident).
pub const SERVER_SIDE_OUTCOMES: &[&str] = &[
    "game_server_unavailable",
    "game_server_ambiguous",
    "database_unavailable",
    "telegram_unavailable",
    "internal_error",
];

/// A Prometheus rule file: `groups:` of rules.
#[derive(Debug, Serialize)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

/// One `groups:` entry.
#[derive(Debug, Serialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<AlertRule>,
}

/// One alerting rule, in Prometheus' field order.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRule {
    pub alert: &'static str,
    /// PromQL; the alert fires for each series it returns.
    pub expr: String,
    /// How long `expr` must hold before the alert fires (`2m`, `10m`, …).
    #[serde(rename = "for")]
    pub for_: &'static str,
    /// `severity`: `critical` (act now) or `warning` (act today).
    pub labels: BTreeMap<&'static str, &'static str>,
    /// `summary` and `description`: Go templates over `$labels` and `$value`.
    pub annotations: BTreeMap<&'static str, String>,
}

/// An alert with the series that must and must not make it fire.
struct Alert {
    rule: AlertRule,
    /// `(series, values)` in promtool's notation, one minute apart.
    series: Vec<(String, String)>,
    /// `(minute, alerts expected then)`.
    checks: Vec<(u32, Vec<Expected>)>,
}

/// One alert expected to fire: its labels beyond `severity`, and what
/// `$value` renders as in the annotations (if they use it).
struct Expected {
    labels: Vec<(&'static str, String)>,
    value: Option<String>,
}

fn labels(job: &str, instance: &str) -> Vec<(&'static str, String)> {
    vec![("instance", instance.to_owned()), ("job", job.to_owned())]
}

fn severity(s: &'static str) -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([("severity", s)])
}

fn annotations(summary: &str, description: &str) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("summary", summary.to_owned()),
        ("description", format!("{description} See {RUNBOOK}.")),
    ])
}

/// The alerts with their test cases. Thresholds come from `m`; the test
/// inputs are derived from them, so the tests hold for any valid config.
fn alerts(m: &MonitoringConfig) -> Vec<Alert> {
    let job = m.job.as_str();
    let a = "gamegate-a:8081";
    let b = "gamegate-b:8081";
    let sel = |instance: &str| format!("{{instance=\"{instance}\",job=\"{job}\"}}");
    let mut out = Vec::new();

    out.push(Alert {
        rule: AlertRule {
            alert: "GamegateTargetDown",
            expr: format!("up{{job=\"{job}\"}} == 0"),
            for_: "2m",
            labels: severity("critical"),
            annotations: annotations(
                "gamegate {{ $labels.instance }} cannot be scraped",
                "Prometheus has not reached the admin listener of {{ $labels.instance }} \
                 (/metrics) for 2 minutes: the process is down or its admin address is \
                 unreachable, and none of the other gamegate alerts can fire for it. Check \
                 the service (`systemctl status gamegate-…`, `docker compose ps`) and its \
                 log, then `gamegate healthcheck --url http://ADMIN_ADDR/internal/health`.",
            ),
        },
        series: vec![
            (format!("up{}", sel(a)), "1 1 0x10".into()),
            (format!("up{}", sel(b)), "1x12".into()),
            (
                format!("up{{instance=\"node:9100\",job=\"{job}-other\"}}"),
                "0x12".into(),
            ),
        ],
        checks: vec![
            (3, vec![]),
            (
                6,
                vec![Expected {
                    labels: labels(job, a),
                    value: None,
                }],
            ),
        ],
    });

    out.push(Alert {
        rule: AlertRule {
            alert: "GamegateGameServerDown",
            expr: "gamegate_game_server_up == 0".into(),
            for_: "2m",
            labels: severity("critical"),
            annotations: annotations(
                "The game server does not answer {{ $labels.instance }}",
                "{{ $labels.instance }} has had no answer to its game-server ping for 2 \
                 minutes: registrations fail with 503 game_server_unavailable and lost \
                 answers wait in the reconciler's backlog. Check that the game server runs \
                 and that the tunnel to it is up (`wg show`), then run `gamegate doctor` on \
                 that host (its game_server check).",
            ),
        },
        series: vec![
            (
                format!("gamegate_game_server_up{}", sel(a)),
                "1 1 0x10".into(),
            ),
            (format!("gamegate_game_server_up{}", sel(b)), "1x12".into()),
        ],
        checks: vec![
            (3, vec![]),
            (
                6,
                vec![Expected {
                    labels: labels(job, a),
                    value: None,
                }],
            ),
        ],
    });

    out.push(Alert {
        rule: AlertRule {
            alert: "GamegateDatabaseDown",
            expr: "gamegate_database_up == 0".into(),
            for_: "1m",
            labels: severity("critical"),
            annotations: annotations(
                "The {{ $labels.database }} database does not answer {{ $labels.instance }}",
                "{{ $labels.instance }} cannot ping its {{ $labels.database }} database: \
                 requests that need it fail with 503 (registrations with \
                 database_unavailable) and /internal/health answers 503. Check the \
                 database server, its disk and connection limit, and the URL the service \
                 uses (the banner's database lines); `gamegate doctor` checks both \
                 databases.",
            ),
        },
        series: vec![
            (
                format!(
                    "gamegate_database_up{{database=\"accounts\",instance=\"{a}\",job=\"{job}\"}}"
                ),
                "1 0x10".into(),
            ),
            (
                format!(
                    "gamegate_database_up{{database=\"analytics\",instance=\"{a}\",job=\"{job}\"}}"
                ),
                "1x11".into(),
            ),
        ],
        checks: vec![
            (1, vec![]),
            (
                4,
                vec![Expected {
                    labels: {
                        let mut l = labels(job, a);
                        l.push(("database", "accounts".into()));
                        l
                    },
                    value: None,
                }],
            ),
        ],
    });

    let outcomes = SERVER_SIDE_OUTCOMES.join("|");
    out.push(ratio_alert(
        job,
        m.registration_error_ratio,
        RatioAlert {
            alert: "GamegateRegistrationErrorsHigh",
            expr: format!(
                "(\n  sum by (job) (rate(gamegate_registrations_total{{outcome=~\"{outcomes}\"}}[5m]))\n\
                 /\n  sum by (job) (rate(gamegate_registrations_total[5m]))\n) > {}",
                m.registration_error_ratio
            ),
            summary: "{{ $value | humanizePercentage }} of registrations fail on the server side",
            description: format!("For 10 minutes a share above {} (monitoring.registration_error_ratio) \
                 of the registrations in job {{{{ $labels.job }}}} ended in game_server_unavailable, game_server_ambiguous, \
                 database_unavailable, telegram_unavailable or internal_error (answers a \
                 user cannot fix). The registrations-by-outcome panel shows which; the \
                 GamegateGameServerDown and GamegateDatabaseDown alerts usually name the \
                 cause, the service log the rest.", m.registration_error_ratio),
            bad: "gamegate_registrations_total{outcome=\"game_server_unavailable\"",
            good: "gamegate_registrations_total{outcome=\"ok\"",
        },
    ));

    out.push(ratio_alert(
        job,
        m.http_5xx_ratio,
        RatioAlert {
            alert: "GamegateHttp5xxHigh",
            expr: format!(
                "(\n  sum by (job) (rate(gamegate_http_requests_total{{status=~\"5..\"}}[5m]))\n\
                 /\n  sum by (job) (rate(gamegate_http_requests_total[5m]))\n) > {}",
                m.http_5xx_ratio
            ),
            summary: "{{ $value | humanizePercentage }} of HTTP answers are 5xx",
            description: format!("For 10 minutes a share above {} (monitoring.http_5xx_ratio) of the \
                 answers of job {{{{ $labels.job }}}} had a 5xx status. The request-rate panel shows the \
                 routes; 503 usually means an unavailable database or game server (see \
                 their alerts), 500 a bug whose details are in the service log.", m.http_5xx_ratio),
            bad: "gamegate_http_requests_total{method=\"POST\",route=\"/api/register\",status=\"503\"",
            good: "gamegate_http_requests_total{method=\"POST\",route=\"/api/register\",status=\"200\"",
        },
    ));

    let p = u64::from(m.pending_registrations);
    out.push(Alert {
        rule: AlertRule {
            alert: "GamegatePendingRegistrationsGrowing",
            expr: format!(
                "max by (job) (gamegate_registrations_pending) > {p}\n\
                 and\n\
                 max by (job) (delta(gamegate_registrations_pending[15m])) >= 0"
            ),
            for_: "15m",
            labels: severity("warning"),
            annotations: annotations(
                "{{ $value }} registrations of {{ $labels.job }} wait for the reconciler",
                &format!("More than {p} registrations (monitoring.pending_registrations) have \
                 waited longer than reconciler.grace_ms for the game server's answer, and the backlog has \
                 not shrunk for 15 minutes: the reconciler cannot reach the game server \
                 (see GamegateGameServerDown) or falls behind (raise \
                 reconciler.batch_size). The accounts stay reserved until it settles \
                 them; `gamegate report registrations` lists them."),
            ),
        },
        series: vec![
            (
                format!("gamegate_registrations_pending{}", sel(a)),
                format!("{}+1x40", p + 1),
            ),
            (
                format!("gamegate_registrations_pending{{instance=\"{b}\",job=\"{job}-draining\"}}"),
                format!("{}-1x40", p + 45),
            ),
        ],
        checks: vec![
            (10, vec![]),
            (
                30,
                vec![Expected {
                    labels: vec![("job", job.to_owned())],
                    value: Some((p + 31).to_string()),
                }],
            ),
        ],
    });

    let days = u64::from(m.certificate_expiry_days);
    out.push(Alert {
        rule: AlertRule {
            alert: "GamegateCertificateExpiring",
            expr: format!(
                "gamegate_tls_certificate_expiry_timestamp_seconds - time() < {days} * 86400"
            ),
            for_: "10m",
            labels: severity("warning"),
            annotations: annotations(
                "The TLS certificate of {{ $labels.instance }} expires in {{ $value | humanizeDuration }}",
                &format!("The certificate gamegate serves on {{{{ $labels.instance }}}} \
                 (http.tls_cert_file) expires within {days} days \
                 (monitoring.certificate_expiry_days): renewal has not happened. Run `certbot renew` (or your ACME client) and check its log; \
                 gamegate loads the new files within http.tls_reload_interval_ms without a \
                 restart, which resolves this alert. `gamegate doctor` shows the \
                 certificate's names and dates."),
            ),
        },
        series: vec![
            (
                format!("gamegate_tls_certificate_expiry_timestamp_seconds{}", sel(a)),
                // Exactly `days - 1` days left at minute 20.
                format!("{}x30", (days - 1) * 86_400 + 20 * 60),
            ),
            (
                format!("gamegate_tls_certificate_expiry_timestamp_seconds{}", sel(b)),
                format!("{}x30", (days + 30) * 86_400),
            ),
        ],
        checks: vec![
            (5, vec![]),
            (
                20,
                vec![Expected {
                    labels: labels(job, a),
                    value: Some(humanize_whole_days(days - 1)),
                }],
            ),
        ],
    });

    let bans = u64::from(m.bans_per_10m);
    out.push(Alert {
        rule: AlertRule {
            alert: "GamegateBanSpike",
            expr: format!("increase(gamegate_jail_bans_issued_total[10m]) > {bans}"),
            for_: "1m",
            labels: severity("warning"),
            annotations: annotations(
                "Ban spike on {{ $labels.instance }}",
                &format!("The ban jail of {{{{ $labels.instance }}}} banned more than {bans} client \
                 addresses in 10 minutes (monitoring.bans_per_10m): an attack (credential stuffing, a scan) or a \
                 misconfiguration that bans real users, such as a proxy missing from \
                 edge.trusted_proxies so every client shares its address. `gamegate ban \
                 list` shows the addresses; `gamegate ban remove ADDR` lifts one."),
            ),
        },
        series: vec![
            (
                format!("gamegate_jail_bans_issued_total{}", sel(a)),
                format!("0x4 {}x25", 2 * bans),
            ),
            (
                format!("gamegate_jail_bans_issued_total{}", sel(b)),
                format!("0x4 {}x25", bans / 2),
            ),
        ],
        checks: vec![
            (3, vec![]),
            (
                8,
                vec![Expected {
                    labels: labels(job, a),
                    value: None,
                }],
            ),
            // The spike has left the 10-minute window.
            (25, vec![]),
        ],
    });
    out
}

/// A ratio of two counters over 5 minutes, above `threshold` for 10 minutes.
struct RatioAlert {
    alert: &'static str,
    expr: String,
    summary: &'static str,
    description: String,
    /// Series selector (without its closing brace and job labels) of the
    /// numerator's counter, and of one the denominator only counts.
    bad: &'static str,
    good: &'static str,
}

fn ratio_alert(job: &str, threshold: f64, r: RatioAlert) -> Alert {
    // Out of 100 per minute: `high` failures make the ratio exceed the
    // threshold, `low` keep it at most half of it.
    let high = ((threshold * 100.0).floor() as u64 + 1).min(100);
    let low = (threshold * 50.0).floor() as u64;
    let series = |job: &str, bad: u64| {
        [
            (
                format!("{},instance=\"gamegate-a:8081\",job=\"{job}\"}}", r.bad),
                format!("0+{bad}x30"),
            ),
            (
                format!("{},instance=\"gamegate-a:8081\",job=\"{job}\"}}", r.good),
                format!("0+{}x30", 100 - bad),
            ),
        ]
    };
    let quiet_job = format!("{job}-quiet");
    Alert {
        rule: AlertRule {
            alert: r.alert,
            expr: r.expr,
            for_: "10m",
            labels: severity("warning"),
            annotations: annotations(r.summary, &r.description),
        },
        series: series(job, high)
            .into_iter()
            .chain(series(&quiet_job, low))
            .collect(),
        checks: vec![
            (8, vec![]),
            (
                20,
                vec![Expected {
                    labels: vec![("job", job.to_owned())],
                    value: Some(format!("{high}%")),
                }],
            ),
        ],
    }
}

/// Go's `humanizeDuration` of a whole number of days.
fn humanize_whole_days(days: u64) -> String {
    match days {
        0 => "0s".to_owned(),
        d => format!("{d}d 0h 0m 0s"),
    }
}

/// The rule file for this configuration.
pub fn rules(config: &Config) -> RuleFile {
    RuleFile {
        groups: vec![RuleGroup {
            name: "gamegate".into(),
            rules: alerts(&config.monitoring)
                .into_iter()
                .map(|a| a.rule)
                .collect(),
        }],
    }
}

/// The rule file as YAML.
pub fn render(config: &Config) -> anyhow::Result<String> {
    Ok(format!(
        "# Prometheus alerting rules for gamegate, rendered by `gamegate render prometheus-rules`\n\
         # from the [monitoring] thresholds. Load with rule_files: in prometheus.yml and check\n\
         # with `promtool check rules`; what each alert means: {RUNBOOK}.\n{}",
        serde_norway::to_string(&rules(config))?
    ))
}

/// `promtool test rules` input: which rule file to load and the tests.
#[derive(Debug, Serialize)]
struct RuleTestFile {
    rule_files: Vec<String>,
    evaluation_interval: &'static str,
    tests: Vec<RuleTest>,
}

#[derive(Debug, Serialize)]
struct RuleTest {
    name: String,
    interval: &'static str,
    input_series: Vec<InputSeries>,
    alert_rule_test: Vec<AlertRuleTest>,
}

#[derive(Debug, Serialize)]
struct InputSeries {
    series: String,
    values: String,
}

#[derive(Debug, Serialize)]
struct AlertRuleTest {
    eval_time: String,
    alertname: &'static str,
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Debug, Serialize)]
struct ExpAlert {
    exp_labels: BTreeMap<&'static str, String>,
    exp_annotations: BTreeMap<&'static str, String>,
}

/// `promtool test rules` for the rules of this configuration, loading them
/// from `rules_file` (a path relative to the test file): per alert, series
/// that make it fire and series that must not, checked before its `for:`
/// has passed and after. The expected annotations are the rule's templates
/// expanded here, so a template promtool renders differently fails the test.
pub fn render_tests(config: &Config, rules_file: &str) -> anyhow::Result<String> {
    let mut tests = Vec::new();
    for alert in alerts(&config.monitoring) {
        let mut checks = Vec::new();
        for (minute, expected) in &alert.checks {
            let mut exp_alerts = Vec::new();
            for e in expected {
                let mut exp_labels: BTreeMap<&'static str, String> =
                    e.labels.iter().cloned().collect();
                for (k, v) in &alert.rule.labels {
                    exp_labels.insert(k, (*v).to_owned());
                }
                let exp_annotations = alert
                    .rule
                    .annotations
                    .iter()
                    .map(|(k, template)| Ok((*k, expand(template, &exp_labels, e)?)))
                    .collect::<anyhow::Result<_>>()?;
                exp_alerts.push(ExpAlert {
                    exp_labels,
                    exp_annotations,
                });
            }
            checks.push(AlertRuleTest {
                eval_time: format!("{minute}m"),
                alertname: alert.rule.alert,
                exp_alerts,
            });
        }
        tests.push(RuleTest {
            name: alert.rule.alert.to_owned(),
            interval: "1m",
            input_series: alert
                .series
                .into_iter()
                .map(|(series, values)| InputSeries { series, values })
                .collect(),
            alert_rule_test: checks,
        });
    }
    let file = RuleTestFile {
        rule_files: vec![rules_file.to_owned()],
        evaluation_interval: "1m",
        tests,
    };
    Ok(format!(
        "# Unit tests of the gamegate alerting rules for `promtool test rules`, rendered by\n\
         # `gamegate render prometheus-rules --tests` from the same [monitoring] thresholds.\n{}",
        serde_norway::to_string(&file)?
    ))
}

/// Expands the template forms the annotations use; anything else left in
/// `{{ }}` is an error, so a new form cannot slip past the tests.
fn expand(
    template: &str,
    labels: &BTreeMap<&'static str, String>,
    e: &Expected,
) -> anyhow::Result<String> {
    let mut text = template.to_owned();
    for (k, v) in labels {
        text = text.replace(&format!("{{{{ $labels.{k} }}}}"), v);
    }
    if let Some(value) = &e.value {
        for form in [
            "{{ $value }}",
            "{{ $value | humanizePercentage }}",
            "{{ $value | humanizeDuration }}",
        ] {
            text = text.replace(form, value);
        }
    }
    if text.contains("{{") {
        anyhow::bail!("a template form the rule tests cannot expand: {template}");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> serde_norway::Value {
        serde_norway::from_str(yaml).expect("valid YAML")
    }

    #[test]
    fn every_alert_has_for_severity_and_operator_annotations() {
        let doc = parse(&render(&Config::default()).unwrap());
        let rules = doc["groups"][0]["rules"].as_sequence().unwrap();
        let names: Vec<&str> = rules.iter().map(|r| r["alert"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "GamegateTargetDown",
                "GamegateGameServerDown",
                "GamegateDatabaseDown",
                "GamegateRegistrationErrorsHigh",
                "GamegateHttp5xxHigh",
                "GamegatePendingRegistrationsGrowing",
                "GamegateCertificateExpiring",
                "GamegateBanSpike",
            ]
        );
        for r in rules {
            let name = r["alert"].as_str().unwrap();
            assert!(r["for"].as_str().unwrap().ends_with('m'), "{name}");
            assert!(
                matches!(
                    r["labels"]["severity"].as_str(),
                    Some("critical" | "warning")
                ),
                "{name}"
            );
            assert!(!r["annotations"]["summary"].as_str().unwrap().is_empty());
            let description = r["annotations"]["description"].as_str().unwrap();
            assert!(description.contains(RUNBOOK), "{name}: {description}");
        }
    }

    #[test]
    fn thresholds_follow_the_config() {
        let mut c = Config::default();
        c.monitoring.job = "gg-prod".into();
        c.monitoring.registration_error_ratio = 0.125;
        c.monitoring.http_5xx_ratio = 0.02;
        c.monitoring.pending_registrations = 250;
        c.monitoring.certificate_expiry_days = 21;
        c.monitoring.bans_per_10m = 7;
        let doc = parse(&render(&c).unwrap());
        let expr = |name: &str| {
            doc["groups"][0]["rules"]
                .as_sequence()
                .unwrap()
                .iter()
                .find(|r| r["alert"] == name)
                .unwrap()["expr"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(expr("GamegateTargetDown"), "up{job=\"gg-prod\"} == 0");
        assert!(expr("GamegateRegistrationErrorsHigh").ends_with(") > 0.125"));
        assert!(expr("GamegateHttp5xxHigh").ends_with(") > 0.02"));
        assert!(expr("GamegatePendingRegistrationsGrowing").contains("> 250\n"));
        assert!(expr("GamegateCertificateExpiring").ends_with("< 21 * 86400"));
        assert!(expr("GamegateBanSpike").ends_with("[10m]) > 7"));
    }

    #[test]
    fn rule_tests_cover_every_alert_firing_and_quiet() {
        let c = Config::default();
        let doc = parse(&render_tests(&c, "rules.yml").unwrap());
        assert_eq!(doc["rule_files"][0], "rules.yml");
        let tests = doc["tests"].as_sequence().unwrap();
        assert_eq!(tests.len(), rules(&c).groups[0].rules.len());
        for t in tests {
            let checks = t["alert_rule_test"].as_sequence().unwrap();
            let fired =
                |c: &serde_norway::Value| !c["exp_alerts"].as_sequence().unwrap().is_empty();
            assert!(checks.iter().any(fired), "{:?} never fires", t["name"]);
            assert!(!checks.iter().all(fired), "{:?} is never quiet", t["name"]);
            for c in checks.iter().filter(|c| fired(c)) {
                for alert in c["exp_alerts"].as_sequence().unwrap() {
                    for (_, text) in alert["exp_annotations"].as_mapping().unwrap() {
                        assert!(!text.as_str().unwrap().contains("{{"), "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn an_unknown_template_form_is_refused() {
        let e = Expected {
            labels: vec![],
            value: Some("3".into()),
        };
        let labels = BTreeMap::from([("job", "gamegate".to_owned())]);
        assert_eq!(
            expand("{{ $labels.job }}: {{ $value }}", &labels, &e).unwrap(),
            "gamegate: 3"
        );
        assert!(expand("{{ $value | humanize }}", &labels, &e).is_err());
        assert!(expand("{{ $labels.route }}", &labels, &e).is_err());
    }
}

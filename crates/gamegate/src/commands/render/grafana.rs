//! `gamegate render grafana-dashboard`: a Grafana dashboard (JSON model,
//! import format) over the metrics gamegate exports. The datasource is the
//! `${DS_PROMETHEUS}` input Grafana asks for on import; `job` and `instance`
//! variables filter every panel.
//!
//! Every query names only metrics gamegate exports: tests/monitoring.rs
//! scrapes a running gamegate and checks each name against `/metrics`.

use serde_json::{Value, json};

/// The JSON model's `schemaVersion` (Grafana 11); newer Grafana versions
/// migrate it on import.
pub const SCHEMA_VERSION: u32 = 39;

/// The dashboard's `uid`: a re-import replaces it instead of adding a copy.
pub const UID: &str = "gamegate-overview";

/// The label filter every query carries.
const FILTER: &str = r#"job=~"$job",instance=~"$instance""#;

fn datasource() -> Value {
    json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"})
}

/// `metric{job=~"$job",instance=~"$instance"[,extra]}`.
fn sel(metric: &str, extra: &str) -> String {
    match extra {
        "" => format!("{metric}{{{FILTER}}}"),
        extra => format!("{metric}{{{FILTER},{extra}}}"),
    }
}

/// `rate(…[$__rate_interval])` of a selector.
fn rate(metric: &str, extra: &str) -> String {
    format!("rate({}[$__rate_interval])", sel(metric, extra))
}

fn quantile(q: &str, histogram: &str, by: &str) -> String {
    format!(
        "histogram_quantile({q}, sum by (le{by}) ({}))",
        rate(&format!("{histogram}_bucket"), "")
    )
}

/// One query of a panel: PromQL and its legend.
struct Query {
    expr: String,
    legend: &'static str,
}

fn q(expr: String, legend: &'static str) -> Query {
    Query { expr, legend }
}

/// Lays panels out left to right, two per row, in sections.
struct Layout {
    panels: Vec<Value>,
    next_id: u32,
    x: u32,
    y: u32,
}

impl Layout {
    fn section(&mut self, title: &str) {
        if self.x > 0 {
            self.x = 0;
            self.y += 8;
        }
        self.next_id += 1;
        self.panels.push(json!({
            "id": self.next_id,
            "type": "row",
            "title": title,
            "collapsed": false,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": self.y},
            "panels": [],
        }));
        self.y += 1;
    }

    fn panel(
        &mut self,
        kind: &str,
        title: &str,
        description: &str,
        unit: &str,
        queries: Vec<Query>,
    ) {
        let w = 12;
        self.next_id += 1;
        let targets: Vec<Value> = queries
            .into_iter()
            .zip('A'..)
            .map(|(query, ref_id)| {
                json!({
                    "datasource": datasource(),
                    "expr": query.expr,
                    "legendFormat": query.legend,
                    "refId": ref_id.to_string(),
                })
            })
            .collect();
        let mut panel = json!({
            "id": self.next_id,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": datasource(),
            "gridPos": {"h": 8, "w": w, "x": self.x, "y": self.y},
            "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
            "targets": targets,
        });
        panel["options"] = match kind {
            "stat" => json!({
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                "colorMode": "background",
                "graphMode": "none",
                "textMode": "auto",
            }),
            _ => json!({
                "legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                "tooltip": {"mode": "multi", "sort": "desc"},
            }),
        };
        self.panels.push(panel);
        self.x += w;
        if self.x >= 24 {
            self.x = 0;
            self.y += 8;
        }
    }
}

impl Layout {
    /// Merges `extra` into the field defaults of the panel added last
    /// (thresholds, value mappings).
    fn field_defaults(&mut self, extra: Value) {
        let panel = self.panels.last_mut().expect("a panel was added");
        let defaults = panel["fieldConfig"]["defaults"]
            .as_object_mut()
            .expect("defaults are an object");
        for (k, v) in extra.as_object().expect("an object").clone() {
            defaults.insert(k, v);
        }
    }
}

/// Red at 0, green at 1, shown as `down`/`up`.
fn up_down() -> Value {
    json!({
        "thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": null},
            {"color": "green", "value": 1},
        ]},
        "mappings": [{"type": "value", "options": {
            "0": {"text": "down", "index": 0},
            "1": {"text": "up", "index": 1},
        }}],
    })
}

fn variable(name: &str, query: String) -> Value {
    json!({
        "name": name,
        "label": name,
        "type": "query",
        "datasource": datasource(),
        "definition": query,
        "query": query,
        "refresh": 2,
        "includeAll": true,
        "allValue": ".*",
        "multi": true,
        "sort": 1,
        "current": {},
    })
}

/// The dashboard's JSON model.
pub fn dashboard() -> Value {
    let mut l = Layout {
        panels: Vec::new(),
        next_id: 0,
        x: 0,
        y: 0,
    };

    l.section("HTTP");
    l.panel(
        "timeseries",
        "Requests by route and status",
        "Answers per second of every listener, by route template and status.",
        "reqps",
        vec![q(
            format!(
                "sum by (route, status) ({})",
                rate("gamegate_http_requests_total", "")
            ),
            "{{route}} {{status}}",
        )],
    );
    l.panel(
        "timeseries",
        "Latency p50 / p95 / p99",
        "Time to answer, over all routes (GamegateHttp5xxHigh watches the errors).",
        "s",
        vec![
            q(
                quantile("0.5", "gamegate_http_request_duration_seconds", ""),
                "p50",
            ),
            q(
                quantile("0.95", "gamegate_http_request_duration_seconds", ""),
                "p95",
            ),
            q(
                quantile("0.99", "gamegate_http_request_duration_seconds", ""),
                "p99",
            ),
        ],
    );
    l.panel(
        "timeseries",
        "p95 latency by route",
        "95th percentile of the time to answer, per route template.",
        "s",
        vec![q(
            quantile("0.95", "gamegate_http_request_duration_seconds", ", route"),
            "{{route}}",
        )],
    );
    l.panel(
        "timeseries",
        "5xx share",
        "Share of answers with a 5xx status (alert: GamegateHttp5xxHigh).",
        "percentunit",
        vec![q(
            format!(
                "sum({}) / sum({})",
                rate("gamegate_http_requests_total", r#"status=~"5..""#),
                rate("gamegate_http_requests_total", "")
            ),
            "5xx",
        )],
    );

    l.section("Registrations");
    l.panel(
        "timeseries",
        "Registrations by outcome",
        "Registrations per second by outcome; the server-side ones \
         (game_server_*, database_unavailable, telegram_unavailable, internal_error) \
         feed GamegateRegistrationErrorsHigh.",
        "ops",
        vec![q(
            format!(
                "sum by (outcome) ({})",
                rate("gamegate_registrations_total", "")
            ),
            "{{outcome}}",
        )],
    );
    l.panel(
        "timeseries",
        "Pending registrations and reconciler",
        "Registrations waiting longer than the grace period for the game server's \
         answer (alert: GamegatePendingRegistrationsGrowing), and what the reconciler \
         settles per second.",
        "short",
        vec![
            q(
                format!("max({})", sel("gamegate_registrations_pending", "")),
                "pending",
            ),
            q(
                format!(
                    "sum by (result) ({})",
                    rate("gamegate_reconciler_settled_total", "")
                ),
                "settled: {{result}}",
            ),
        ],
    );
    l.panel(
        "timeseries",
        "Telegram membership checks",
        "getChatMember calls to the Bot API per second by result (cache hits are not calls).",
        "ops",
        vec![q(
            format!(
                "sum by (result) ({})",
                rate("gamegate_telegram_calls_total", "")
            ),
            "{{result}}",
        )],
    );

    l.section("Game server");
    l.panel(
        "stat",
        "Game server up",
        "1 when the game server answered the last scrape's ping, per process that \
         calls it (alert: GamegateGameServerDown).",
        "none",
        vec![q(sel("gamegate_game_server_up", ""), "{{instance}}")],
    );
    l.field_defaults(up_down());
    l.panel(
        "timeseries",
        "Game-server call latency p95 / p99",
        "Time of the calls to the game server, by command.",
        "s",
        vec![
            q(
                quantile(
                    "0.95",
                    "gamegate_game_server_call_duration_seconds",
                    ", cmd",
                ),
                "p95 {{cmd}}",
            ),
            q(
                quantile(
                    "0.99",
                    "gamegate_game_server_call_duration_seconds",
                    ", cmd",
                ),
                "p99 {{cmd}}",
            ),
        ],
    );
    l.panel(
        "timeseries",
        "Game-server calls by result",
        "Calls per second by command and result.",
        "ops",
        vec![q(
            format!(
                "sum by (cmd, result) ({})",
                rate("gamegate_game_server_call_duration_seconds_count", "")
            ),
            "{{cmd}} {{result}}",
        )],
    );

    l.section("Databases");
    l.panel(
        "stat",
        "Database up",
        "1 when the database answered the last scrape's ping (alert: GamegateDatabaseDown).",
        "none",
        vec![q(
            sel("gamegate_database_up", ""),
            "{{instance}} {{database}}",
        )],
    );
    l.field_defaults(up_down());
    l.panel(
        "timeseries",
        "Connection pools",
        "Open and idle connections of each pool, per process.",
        "short",
        vec![
            q(
                format!(
                    "sum by (database) ({})",
                    sel("gamegate_db_pool_connections", "")
                ),
                "open {{database}}",
            ),
            q(
                format!(
                    "sum by (database) ({})",
                    sel("gamegate_db_pool_idle_connections", "")
                ),
                "idle {{database}}",
            ),
        ],
    );
    l.panel(
        "timeseries",
        "Status cache age",
        "Seconds since the status constants were read from the database.",
        "s",
        vec![q(
            sel("gamegate_status_cache_age_seconds", ""),
            "{{instance}}",
        )],
    );

    l.section("Edge and operations");
    l.panel(
        "timeseries",
        "Ban jail",
        "Bans issued and requests refused per second, and bans in force \
         (alert: GamegateBanSpike).",
        "short",
        vec![
            q(
                format!("sum({})", rate("gamegate_jail_bans_issued_total", "")),
                "bans issued/s",
            ),
            q(
                format!("sum({})", rate("gamegate_jail_refused_requests_total", "")),
                "refused requests/s",
            ),
            q(
                format!("max({})", sel("gamegate_jail_active_bans", "")),
                "active bans",
            ),
        ],
    );
    l.panel(
        "timeseries",
        "Access-log lines dropped",
        "Access-log lines dropped per second because the writer fell behind \
         (a slow disk or a full pipe).",
        "short",
        vec![q(
            format!(
                "sum by (instance) ({})",
                rate("gamegate_access_log_dropped_lines_total", "")
            ),
            "{{instance}}",
        )],
    );
    l.panel(
        "stat",
        "TLS certificate: days left",
        "Days until the certificate of gamegate's own TLS listener expires \
         (alert: GamegateCertificateExpiring).",
        "d",
        vec![q(
            format!(
                "({} - time()) / 86400",
                sel("gamegate_tls_certificate_expiry_timestamp_seconds", "")
            ),
            "{{instance}}",
        )],
    );
    l.field_defaults(json!({
        "decimals": 0,
        "thresholds": {"mode": "absolute", "steps": [
            {"color": "red", "value": null},
            {"color": "orange", "value": 7},
            {"color": "green", "value": 14},
        ]},
    }));

    let by_job = "label_values(gamegate_http_requests_total, job)".to_owned();
    let by_instance =
        r#"label_values(gamegate_http_requests_total{job=~"$job"}, instance)"#.to_owned();
    json!({
        "__inputs": [{
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": "The Prometheus that scrapes gamegate's /metrics",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus",
        }],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "11.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""},
            {"type": "panel", "id": "stat", "name": "Stat", "version": ""},
        ],
        "annotations": {"list": []},
        "description": "gamegate: HTTP, registrations, game server, databases, ban jail \
                        (rendered by `gamegate render grafana-dashboard`)",
        "editable": true,
        "graphTooltip": 1,
        "links": [],
        "panels": l.panels,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": ["gamegate"],
        "templating": {"list": [variable("job", by_job), variable("instance", by_instance)]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "gamegate",
        "uid": UID,
        "version": 1,
    })
}

/// The dashboard as pretty-printed JSON.
pub fn render() -> String {
    let mut text = serde_json::to_string_pretty(&dashboard()).expect("a JSON value serialises");
    text.push('\n');
    text
}

/// Every PromQL expression of the dashboard: panel targets and variable
/// queries (for the test that checks them against `/metrics`).
pub fn queries(dashboard: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(expr) = target["expr"].as_str() {
                out.push(expr.to_owned());
            }
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(query) = var["query"].as_str() {
            out.push(query.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_panel_uses_the_datasource_input_and_has_a_query() {
        let d = dashboard();
        assert_eq!(d["__inputs"][0]["name"], "DS_PROMETHEUS");
        assert_eq!(d["schemaVersion"], SCHEMA_VERSION);
        let panels = d["panels"].as_array().unwrap();
        let mut ids = std::collections::HashSet::new();
        for p in panels {
            assert!(ids.insert(p["id"].as_u64().unwrap()), "duplicate id {p}");
            if p["type"] == "row" {
                continue;
            }
            assert_eq!(p["datasource"]["uid"], "${DS_PROMETHEUS}", "{}", p["title"]);
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{}", p["title"]);
            for t in targets {
                assert_eq!(t["datasource"]["uid"], "${DS_PROMETHEUS}");
                let expr = t["expr"].as_str().unwrap();
                assert!(expr.contains("gamegate_"), "{expr}");
                assert!(expr.contains(r#"instance=~"$instance""#), "{expr}");
            }
            let pos = &p["gridPos"];
            assert!(pos["x"].as_u64().unwrap() + pos["w"].as_u64().unwrap() <= 24);
        }
        assert!(queries(&d).len() > panels.len());
    }

    #[test]
    fn the_panels_operators_look_for_are_there() {
        let text = render();
        for metric in [
            "gamegate_http_requests_total",
            "gamegate_http_request_duration_seconds_bucket",
            "gamegate_registrations_total",
            "gamegate_game_server_call_duration_seconds_bucket",
            "gamegate_game_server_up",
            "gamegate_registrations_pending",
            "gamegate_db_pool_connections",
            "gamegate_jail_bans_issued_total",
            "gamegate_access_log_dropped_lines_total",
        ] {
            assert!(text.contains(metric), "{metric} has no panel");
        }
        for q in [
            "histogram_quantile(0.5,",
            "histogram_quantile(0.95,",
            "histogram_quantile(0.99,",
        ] {
            assert!(text.contains(q), "{q}");
        }
        // Valid JSON that parses back to the same model.
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, dashboard());
    }
}

//! Prometheus metrics, one registry per application so several apps in one
//! test process never mix their numbers.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A route template as a label: a cheap clone of axum's shared string, so
/// counting a request allocates nothing.
#[derive(Clone, Debug)]
pub struct Route(pub Option<axum::extract::MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", |p| p.as_str())
    }

    /// The same label, compared by where the template is kept (axum shares
    /// one allocation per route), else by content.
    pub(crate) fn same_as(&self, other: &Route) -> bool {
        let (a, b) = (self.as_str(), other.as_str());
        std::ptr::eq(a, b) || a == b
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(
        &self,
        encoder: &mut prometheus_client::encoding::LabelValueEncoder,
    ) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: Route,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: Route,
}

/// Access-log lines by shedding class (`routine`, `error`, `api_refusal`;
/// see `http::access_log::LineClass`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LogClassLabels {
    pub class: &'static str,
}

/// The values of [`LogClassLabels::class`].
pub const LOG_CLASSES: [&str; 3] = ["routine", "error", "api_refusal"];

/// How a registration ended, as counted in `gamegate_registrations_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum Outcome {
    ok,
    invalid,
    limit_exceeded,
    login_taken,
    not_in_telegram_group,
    telegram_unavailable,
    telegram_auth_invalid,
    game_server_unavailable,
    game_server_ambiguous,
    database_unavailable,
    internal_error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub cmd: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DatabaseLabels {
    /// `accounts` or `analytics`.
    pub database: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

/// No labels: a family of one series that is exported only once it is set,
/// so a process that does not know a value (no game server, TLS off, no
/// reconciler) omits the metric instead of reporting a misleading 0.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Unlabelled;

impl EncodeLabelSet for Unlabelled {
    fn encode(
        &self,
        _encoder: prometheus_client::encoding::LabelSetEncoder,
    ) -> Result<(), std::fmt::Error> {
        Ok(())
    }
}

/// A listener by its role (`public`, `admin`, `redirect`, or a split
/// service's name): a fixed set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    pub listener: &'static str,
}

/// Why a connection was closed as soon as it was accepted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    pub listener: &'static str,
    /// `per_ip` (the client address is at `http.max_connections_per_ip`),
    /// `total` (the listener is at its total) or `descriptors` (accept
    /// failed: the process is out of descriptors).
    pub reason: &'static str,
}

/// A request the HTTP library refused, by the status it was answered with
/// (400, 414 or 431).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MalformedLabels {
    pub listener: &'static str,
    pub status: u16,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ]
    .into_iter()
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram>,
    pub registrations: Family<OutcomeLabels, Counter>,
    pub game_server_calls: Family<CallLabels, Histogram>,
    pub reconciler_settled: Family<ResultLabels, Counter>,
    pub db_pool_size: Family<DatabaseLabels, Gauge>,
    pub db_pool_idle: Family<DatabaseLabels, Gauge>,
    pub status_cache_age_seconds: Gauge,
    pub access_log_dropped: Family<LogClassLabels, Counter>,
    pub telegram_calls: Family<ResultLabels, Counter>,
    pub jail_bans_issued: Counter,
    pub jail_active_bans: Gauge,
    pub jail_refused: Counter,
    // Monitoring: what the rendered alert rules and dashboard need
    // (`gamegate render prometheus-rules|grafana-dashboard`).
    /// `gamegate_game_server_up`: 1 when the game server answered the last
    /// poll's ping (every `status.refresh_interval_ms`), 0 when not; only in
    /// processes that talk to it (`all`, `register`, `status`).
    pub game_server_up: Family<Unlabelled, Gauge>,
    /// `gamegate_database_up{database}`: 1 when the database answered a ping
    /// at the last scrape, 0 when not.
    pub database_up: Family<DatabaseLabels, Gauge>,
    /// `gamegate_registrations_pending`: pending registrations older than the
    /// reconciler's grace period, counted at each reconciler pass.
    pub registrations_pending: Family<Unlabelled, Gauge>,
    /// `gamegate_tls_certificate_expiry_timestamp_seconds`: `notAfter` of the
    /// certificate this process serves, as Unix seconds; set at load and at
    /// every reload; absent when TLS is off.
    pub tls_certificate_expiry: Family<Unlabelled, Gauge>,
    // Connection caps and malformed requests (docs/EDGE.md "Connections").
    pub connections_open: Family<ListenerLabels, Gauge>,
    pub connections_refused: Family<RefusedLabels, Counter>,
    pub malformed_requests: Family<MalformedLabels, Counter>,
    // A jail that cannot be filled up.
    pub jail_tracker_evicted: Counter,
    // The shared rate-limit store (edge.rate_limit_store, docs/EDGE.md).
    /// `gamegate_rate_limit_store_fallbacks_total`: rate-limit checks answered
    /// by the in-process limiter because the Redis store was down or failed.
    pub rate_limit_store_fallbacks: Counter,
    /// `gamegate_rate_limit_store_up`: 1 while the Redis store answers, 0
    /// while checks fall back to the in-process limiter; only in processes
    /// configured with a Redis store.
    pub rate_limit_store_up: Family<Unlabelled, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("gamegate");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered",
            http_requests.clone(),
        );
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            http_duration.clone(),
        );
        let registrations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "registrations",
            "Registrations by outcome",
            registrations.clone(),
        );
        let game_server_calls = Family::<CallLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(latency_buckets())
        });
        registry.register(
            "game_server_call_duration_seconds",
            "Game-server calls by command and result",
            game_server_calls.clone(),
        );
        let reconciler_settled = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciler_settled",
            "Pending registrations settled by the reconciler",
            reconciler_settled.clone(),
        );
        let db_pool_size = Family::<DatabaseLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Open database connections",
            db_pool_size.clone(),
        );
        let db_pool_idle = Family::<DatabaseLabels, Gauge>::default();
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            db_pool_idle.clone(),
        );
        let status_cache_age_seconds = Gauge::default();
        registry.register(
            "status_cache_age_seconds",
            "Seconds since the status constants were last read",
            status_cache_age_seconds.clone(),
        );
        let telegram_calls = Family::<ResultLabels, Counter>::default();
        registry.register(
            "telegram_calls",
            "getChatMember calls to the Bot API by result (cache hits are not calls)",
            telegram_calls.clone(),
        );
        let access_log_dropped = Family::<LogClassLabels, Counter>::default();
        registry.register(
            "access_log_dropped_lines",
            "Access-log lines dropped because the writer fell behind, by class (routine first)",
            access_log_dropped.clone(),
        );
        // Every class from the start, at 0: a rate over a series that
        // appears only at the first drop would miss that drop.
        for class in LOG_CLASSES {
            let _ = access_log_dropped.get_or_create(&LogClassLabels { class });
        }
        let jail_bans_issued = Counter::default();
        registry.register(
            "jail_bans_issued",
            "Client IPs banned by this process for crossing the failure threshold",
            jail_bans_issued.clone(),
        );
        let jail_active_bans = Gauge::default();
        registry.register(
            "jail_active_bans",
            "Bans this process enforces (its own and those read from the database)",
            jail_active_bans.clone(),
        );
        let jail_refused = Counter::default();
        registry.register(
            "jail_refused_requests",
            "Requests refused with 403 banned",
            jail_refused.clone(),
        );
        let rate_limit_store_fallbacks = Counter::default();
        registry.register(
            "rate_limit_store_fallbacks",
            "Rate-limit checks answered by the in-process limiter because the Redis store was down or failed",
            rate_limit_store_fallbacks.clone(),
        );
        let rate_limit_store_up = Family::<Unlabelled, Gauge>::default();
        registry.register(
            "rate_limit_store_up",
            "1 while the shared (Redis) rate-limit store answers, 0 while checks fall back to in-process limits",
            rate_limit_store_up.clone(),
        );
        let game_server_up = Family::<Unlabelled, Gauge>::default();
        registry.register(
            "game_server_up",
            "1 when the game server answered the last poll's ping, else 0",
            game_server_up.clone(),
        );
        let database_up = Family::<DatabaseLabels, Gauge>::default();
        registry.register(
            "database_up",
            "1 when the database answered a ping at the last scrape, else 0",
            database_up.clone(),
        );
        let registrations_pending = Family::<Unlabelled, Gauge>::default();
        registry.register(
            "registrations_pending",
            "Pending registrations older than the reconciler's grace period, at its last pass",
            registrations_pending.clone(),
        );
        let tls_certificate_expiry = Family::<Unlabelled, Gauge>::default();
        registry.register(
            "tls_certificate_expiry_timestamp_seconds",
            "notAfter of the served TLS certificate, in Unix seconds",
            tls_certificate_expiry.clone(),
        );
        let connections_open = Family::<ListenerLabels, Gauge>::default();
        registry.register(
            "connections_open",
            "Client connections open, by listener",
            connections_open.clone(),
        );
        let connections_refused = Family::<RefusedLabels, Counter>::default();
        registry.register(
            "connections_refused",
            "Client connections closed as soon as accepted, by listener and reason",
            connections_refused.clone(),
        );
        let malformed_requests = Family::<MalformedLabels, Counter>::default();
        registry.register(
            "http_malformed_requests",
            "Requests the HTTP library refused before any route (answered bad_request)",
            malformed_requests.clone(),
        );
        let jail_tracker_evicted = Counter::default();
        registry.register(
            "jail_tracker_evicted",
            "Clients the full failure tracker dropped to make room (the least active first)",
            jail_tracker_evicted.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            registrations,
            game_server_calls,
            reconciler_settled,
            db_pool_size,
            db_pool_idle,
            status_cache_age_seconds,
            access_log_dropped,
            telegram_calls,
            jail_bans_issued,
            jail_active_bans,
            jail_refused,
            game_server_up,
            rate_limit_store_fallbacks,
            rate_limit_store_up,
            database_up,
            registrations_pending,
            tls_certificate_expiry,
            connections_open,
            connections_refused,
            malformed_requests,
            jail_tracker_evicted,
        }
    }

    /// Sets `gamegate_tls_certificate_expiry_timestamp_seconds` from the first
    /// certificate of a PEM file; an unreadable file leaves the value as it
    /// was (the listener keeps serving the certificate it has).
    pub fn tls_certificate(&self, cert_file: &std::path::Path) {
        use rustls_pki_types::CertificateDer;
        use rustls_pki_types::pem::PemObject as _;
        let not_after = std::fs::read(cert_file).ok().and_then(|pem| {
            let der = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
            let facts = crate::shared::certificate::CertFacts::parse(&der).ok()?;
            Some(facts.not_after.unix_timestamp())
        });
        match not_after {
            Some(t) => {
                self.tls_certificate_expiry
                    .get_or_create(&Unlabelled)
                    .set(t);
            }
            None => tracing::warn!(
                cert = %cert_file.display(),
                "cannot read the certificate's expiry date for gamegate_tls_certificate_expiry_timestamp_seconds"
            ),
        }
    }

    pub fn telegram_call(&self, result: &'static str) {
        self.telegram_calls
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    pub fn registration(&self, outcome: Outcome) {
        self.registrations
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn game_server_call(&self, cmd: &'static str, result: &'static str, elapsed: Duration) {
        self.game_server_calls
            .get_or_create(&CallLabels { cmd, result })
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

//! The load generator: requests at a fixed rate with bounded concurrency, a
//! deterministic mix of registrations (each with a login never sent before)
//! and status reads, every answer recorded.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tokio::sync::Semaphore;

/// What the load generator sends, how fast and for how long.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://ADDR` of the public listener.
    pub base_url: String,
    /// The `X-API-Key` every registration carries (one of gamegate's
    /// `edge.api_keys`).
    pub api_key: String,
    /// Requests started per second (fewer when all `concurrency` slots are busy).
    pub rate_per_sec: f64,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// How long requests are started for.
    pub duration: Duration,
    /// Share of requests that are registrations (the rest read the status).
    pub register_share: f64,
    /// Prefix of every login, unique per run (logins are `{prefix}{n}`).
    pub login_prefix: String,
    /// First Telegram id; request `n` uses `telegram_base + n`, so the
    /// per-player account limit never refuses a soak registration.
    pub telegram_base: i64,
    /// Bound on one request, well above gamegate's own request timeout.
    pub request_timeout: Duration,
}

/// What a request was; JSON `"register"` or `"status"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `POST /api/register` with a login never sent before.
    Register,
    /// `GET /api/server/status`.
    Status,
}

/// One request and what came back.
#[derive(Debug, Clone, Serialize)]
pub struct Answer {
    /// Registration or status read.
    pub kind: Kind,
    /// When it was sent, from the start of the load.
    pub sent_at: Duration,
    /// From sending to the answer's body (or to the transport error).
    pub latency: Duration,
    /// The login sent, for registrations.
    pub login: Option<String>,
    /// HTTP status, or `None` when no answer came (connection error, timeout).
    pub status: Option<u16>,
    /// The error body's `detail` code, when there was one.
    pub detail: Option<String>,
    /// What went wrong when no answer came.
    pub transport_error: Option<String>,
}

/// Whether request `n` is a registration: spreads `share` evenly (0.3 gives
/// the pattern S S S R S S R S S R …) without a random generator.
pub fn is_register(n: u64, share: f64) -> bool {
    ((n + 1) as f64 * share).floor() > (n as f64 * share).floor()
}

/// Runs the load for `config.duration`, then waits for the requests in
/// flight. `started` is the instant offsets are measured from.
/// Errs only when the HTTP client cannot be built; failed requests are
/// recorded as answers, not errors.
pub async fn drive(config: &LoadConfig, started: Instant) -> anyhow::Result<Vec<Answer>> {
    let client = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .connect_timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(config.concurrency)
        .build()?;
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / config.rate_per_sec));
    // A stalled system is not flooded with a burst of catch-up requests.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = tokio::task::JoinSet::new();
    let mut n: u64 = 0;
    while started.elapsed() < config.duration {
        ticker.tick().await;
        let slot = slots.clone().acquire_owned().await?;
        let kind = if is_register(n, config.register_share) {
            Kind::Register
        } else {
            Kind::Status
        };
        let request = Request {
            client: client.clone(),
            kind,
            n,
            config: config.clone(),
        };
        let answers = answers.clone();
        tasks.spawn(async move {
            let answer = request.send(started).await;
            answers.lock().expect("not poisoned").push(answer);
            drop(slot);
        });
        n += 1;
        // Reap finished tasks so a long run does not keep them all.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let mut answers = std::mem::take(&mut *answers.lock().expect("not poisoned"));
    answers.sort_by_key(|a| a.sent_at);
    Ok(answers)
}

struct Request {
    client: reqwest::Client,
    kind: Kind,
    n: u64,
    config: LoadConfig,
}

impl Request {
    async fn send(self, started: Instant) -> Answer {
        let sent_at = started.elapsed();
        let begun = Instant::now();
        let (login, request) = match self.kind {
            Kind::Register => {
                let login = format!("{}{}", self.config.login_prefix, self.n);
                let body = json!({
                    "login": login,
                    "password": "soak-pass-1",
                    "gender": self.n % 2,
                    "telegram_id": self.config.telegram_base + self.n as i64,
                });
                let request = self
                    .client
                    .post(format!("{}/api/register", self.config.base_url))
                    .header("X-API-Key", &self.config.api_key)
                    .json(&body);
                (Some(login), request)
            }
            Kind::Status => (
                None,
                self.client
                    .get(format!("{}/api/server/status", self.config.base_url)),
            ),
        };
        let mut answer = Answer {
            kind: self.kind,
            sent_at,
            latency: Duration::ZERO,
            login,
            status: None,
            detail: None,
            transport_error: None,
        };
        match request.send().await {
            Ok(response) => {
                answer.status = Some(response.status().as_u16());
                let body: Option<serde_json::Value> = response.json().await.ok();
                answer.detail = body
                    .as_ref()
                    .and_then(|b| b.get("detail"))
                    .and_then(|d| d.as_str())
                    .map(str::to_owned);
            }
            Err(err) => answer.transport_error = Some(err.to_string()),
        }
        answer.latency = begun.elapsed();
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_spreads_registrations_evenly() {
        let picks: Vec<bool> = (0..10).map(|n| is_register(n, 0.3)).collect();
        assert_eq!(picks.iter().filter(|r| **r).count(), 3);
        assert_eq!(
            picks,
            [
                false, false, false, true, false, false, true, false, false, true
            ]
        );
        assert!((0..100).all(|n| is_register(n, 1.0)));
        assert!((0..100).all(|n| !is_register(n, 0.0)));
        let thousand = (0..1000).filter(|n| is_register(*n, 0.25)).count();
        assert_eq!(thousand, 250);
    }
}

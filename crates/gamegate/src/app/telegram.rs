//! The Telegram gate of registration (docs/TELEGRAM.md): proof that the
//! `telegram_id` is the registrant's (`telegram_auth`, verified by the domain
//! crate) and membership of the project's group via the Bot API's
//! `getChatMember`, cached briefly so a burst of registrations does not
//! hammer Telegram.
//!
//! The bot token is part of every Bot API URL, so no URL is ever logged or
//! put in an error: reqwest errors are stripped of theirs.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use gamegate_domain::{AuthRejection, TelegramIdentity, is_group_member, verify_telegram_auth};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::app::metrics::Metrics;
use crate::config::TelegramConfig;
use gamegate_store::unix_now;

/// Members are remembered for at most this many ids (LRU-like eviction).
const CACHE_CAPACITY: u64 = 100_000;
/// A Bot API answer larger than this is not one.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why the gate could not decide; the message never contains the token.
#[derive(Debug, Clone, thiserror::Error)]
#[error("Telegram unavailable: {0}")]
pub struct TelegramUnavailable(String);

/// What registration asks of Telegram, built once from `[telegram]`.
pub struct Telegram {
    /// For `telegram_auth`; `None` when no bot token is configured.
    auth: Option<AuthCheck>,
    membership: Option<MembershipCheck>,
    pub fail_open: bool,
}

struct AuthCheck {
    bot_token: SecretString,
    required: bool,
    max_age_secs: i64,
}

impl Telegram {
    pub fn new(config: &TelegramConfig, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let auth = config.bot_on().then(|| AuthCheck {
            bot_token: config.bot_token.clone(),
            required: config.require_auth,
            max_age_secs: i64::try_from(config.auth_max_age_secs).unwrap_or(i64::MAX),
        });
        let membership = match config.membership_on() {
            true => Some(MembershipCheck::new(config, metrics)?),
            false => None,
        };
        Ok(Self {
            auth,
            membership,
            fail_open: config.fail_open(),
        })
    }

    pub fn membership_on(&self) -> bool {
        self.membership.is_some()
    }

    /// One line for the start-up banner (no token).
    pub fn summary(&self) -> String {
        let membership = match &self.membership {
            Some(m) => format!(
                "membership of chat {} checked (fail {})",
                m.chat_id,
                if self.fail_open { "open" } else { "closed" }
            ),
            None => "membership not checked".to_owned(),
        };
        let auth = match &self.auth {
            Some(a) if a.required => "telegram_auth required",
            Some(_) => "telegram_auth verified when sent",
            None => "telegram_auth not verified",
        };
        format!("{membership}; {auth}")
    }

    /// Checks `telegram_auth` when one is given and a bot token is known
    /// (a forged payload is refused even where proof is optional), and
    /// requires one when `require_auth` is on. `Ok(None)`: nothing verified.
    pub fn verify_identity(
        &self,
        payload: Option<&Map<String, Value>>,
        telegram_id: i64,
    ) -> Result<Option<TelegramIdentity>, AuthRejection> {
        let Some(auth) = &self.auth else {
            return Ok(None);
        };
        match payload {
            Some(payload) => verify_telegram_auth(
                payload,
                auth.bot_token.expose_secret(),
                telegram_id,
                unix_now(),
                auth.max_age_secs,
            )
            .map(Some),
            None if auth.required => Err(AuthRejection::Malformed),
            None => Ok(None),
        }
    }

    /// `Ok(true)` when membership is off or the user is in the group.
    pub async fn is_member(&self, user_id: i64) -> Result<bool, TelegramUnavailable> {
        match &self.membership {
            Some(check) => check.is_member(user_id).await,
            None => Ok(true),
        }
    }
}

/// The Bot API client of registration and of `gamegate doctor`: every call
/// bounded by `timeout` (connection included), no redirects (a redirect would
/// carry the token elsewhere), answers larger than 64 KiB refused. The token
/// is part of every method URL, so no URL is ever logged or put in an error.
pub(crate) struct BotApi {
    http: reqwest::Client,
    /// `{api_base}/bot{token}` — secret, never logged.
    base: String,
}

/// One Bot API answer: the HTTP status and the body (at most 64 KiB).
pub(crate) struct BotReply {
    pub status: reqwest::StatusCode,
    pub body: bytes::Bytes,
}

impl BotApi {
    pub(crate) fn new(api_base: &str, bot_token: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A redirect would carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot build the Telegram HTTP client")?;
        Ok(Self {
            http,
            base: format!("{}/bot{bot_token}", api_base.trim_end_matches('/')),
        })
    }

    /// `GET` of a method without parameters (`getMe`).
    pub(crate) async fn get(&self, method: &str) -> Result<BotReply, String> {
        self.send(self.http.get(format!("{}/{method}", self.base)))
            .await
    }

    /// `POST` of a method with JSON parameters.
    pub(crate) async fn post(&self, method: &str, params: &Value) -> Result<BotReply, String> {
        self.send(
            self.http
                .post(format!("{}/{method}", self.base))
                .json(params),
        )
        .await
    }

    /// The error is a description without the URL (which holds the token).
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<BotReply, String> {
        let response = request.send().await.map_err(describe)?;
        let status = response.status();
        let body = response.bytes().await.map_err(describe)?;
        if body.len() > MAX_ANSWER_BYTES {
            return Err(format!("Bot API answer of {} bytes", body.len()));
        }
        Ok(BotReply { status, body })
    }
}

/// `getChatMember` with a cache and Telegram's flood control honoured.
struct MembershipCheck {
    api: BotApi,
    chat_id: Value,
    members: moka::future::Cache<i64, bool>,
    /// Set from a 429's `retry_after`: no call before this instant.
    quiet_until: Mutex<Option<Instant>>,
    metrics: Arc<Metrics>,
}

/// Member answers live `member_ttl`, non-member answers `non_member_ttl`.
struct AnswerLifetime {
    member_ttl: Duration,
    non_member_ttl: Duration,
}

impl moka::Expiry<i64, bool> for AnswerLifetime {
    fn expire_after_create(
        &self,
        _: &i64,
        member: &bool,
        _: std::time::Instant,
    ) -> Option<Duration> {
        Some(match member {
            true => self.member_ttl,
            false => self.non_member_ttl,
        })
    }
}

#[derive(Deserialize)]
struct BotAnswer {
    ok: bool,
    result: Option<ChatMember>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<BotParameters>,
}

#[derive(Deserialize)]
struct ChatMember {
    status: String,
    is_member: Option<bool>,
}

#[derive(Deserialize)]
struct BotParameters {
    retry_after: Option<u64>,
}

impl MembershipCheck {
    fn new(config: &TelegramConfig, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let api = BotApi::new(
            &config.api_base,
            config.bot_token.expose_secret(),
            Duration::from_millis(config.call_timeout_ms),
        )?;
        let chat_id = match config.chat_id.parse::<i64>() {
            Ok(id) => json!(id),
            Err(_) => json!(config.chat_id),
        };
        Ok(Self {
            api,
            chat_id,
            members: moka::future::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(AnswerLifetime {
                    member_ttl: Duration::from_secs(config.member_cache_secs),
                    non_member_ttl: Duration::from_secs(config.non_member_cache_secs),
                })
                .build(),
            quiet_until: Mutex::new(None),
            metrics,
        })
    }

    /// Cached; concurrent lookups of one id share a single call; failures
    /// are not cached.
    async fn is_member(&self, user_id: i64) -> Result<bool, TelegramUnavailable> {
        self.members
            .try_get_with(user_id, self.ask(user_id))
            .await
            .map_err(|e: Arc<TelegramUnavailable>| (*e).clone())
    }

    async fn ask(&self, user_id: i64) -> Result<bool, TelegramUnavailable> {
        let result = self.call(user_id).await;
        let label = match &result {
            Ok(true) => "member",
            Ok(false) => "not_member",
            Err(_) => "unavailable",
        };
        self.metrics.telegram_call(label);
        result
    }

    async fn call(&self, user_id: i64) -> Result<bool, TelegramUnavailable> {
        if let Some(until) = *self.quiet_until.lock().expect("not poisoned") {
            let now = Instant::now();
            if now < until {
                return Err(TelegramUnavailable(format!(
                    "flood control: Telegram asked to wait {} s more",
                    (until - now).as_secs() + 1
                )));
            }
        }
        let BotReply { status, body } = self
            .api
            .post(
                "getChatMember",
                &json!({"chat_id": self.chat_id, "user_id": user_id}),
            )
            .await
            .map_err(TelegramUnavailable)?;
        let answer: BotAnswer = serde_json::from_slice(&body).map_err(|_| {
            TelegramUnavailable(format!(
                "Bot API answered HTTP {status} without a Bot API body"
            ))
        })?;
        match answer {
            BotAnswer {
                ok: true,
                result: Some(member),
                ..
            } => Ok(is_group_member(&member.status, member.is_member)),
            BotAnswer {
                error_code: Some(429),
                parameters,
                ..
            } => {
                let wait = parameters
                    .and_then(|p| p.retry_after)
                    .unwrap_or(1)
                    .min(3600);
                *self.quiet_until.lock().expect("not poisoned") =
                    Some(Instant::now() + Duration::from_secs(wait));
                Err(TelegramUnavailable(format!(
                    "flood control: Telegram asked to wait {wait} s"
                )))
            }
            BotAnswer {
                error_code: Some(400),
                description: Some(d),
                ..
            } if means_not_a_member(&d) => Ok(false),
            BotAnswer {
                error_code,
                description,
                ..
            } => {
                let description = description.unwrap_or_default();
                // A wrong chat or token is the operator's to fix: say so loudly.
                tracing::error!(
                    http_status = status.as_u16(),
                    error_code,
                    description = %truncate(&description),
                    "the Bot API refused getChatMember; check telegram.bot_token, telegram.chat_id and that the bot is an administrator of the group"
                );
                Err(TelegramUnavailable(format!(
                    "Bot API error {}: {}",
                    error_code.unwrap_or(status.as_u16()),
                    truncate(&description)
                )))
            }
        }
    }
}

/// The Bot API's ways of saying "this user is not in the chat".
fn means_not_a_member(description: &str) -> bool {
    let d = description.to_ascii_lowercase();
    d.contains("user not found")
        || d.contains("participant_id_invalid")
        || d.contains("member not found")
        || d.contains("user_not_participant")
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

/// A transport error without its URL (which holds the token).
fn describe(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_body() || error.is_decode() {
        "answer cut off"
    } else {
        "request failed"
    };
    let cause = std::error::Error::source(&error.without_url())
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    format!("Bot API {kind}{cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_member_answers() {
        for d in [
            "Bad Request: user not found",
            "Bad Request: PARTICIPANT_ID_INVALID",
            "Bad Request: member not found",
        ] {
            assert!(means_not_a_member(d), "{d}");
        }
        assert!(!means_not_a_member("Bad Request: chat not found"));
    }
}

//! `[telegram]`: the membership gate and `telegram_auth`.

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::types::{self, FailPolicy};

/// The Telegram gate (docs/TELEGRAM.md): group membership via the Bot API's
/// `getChatMember`, and verification of `telegram_auth`. Membership is checked
/// when both `bot_token` and `chat_id` are set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    /// The bot's token from @BotFather. Secret: it is part of every Bot API
    /// URL, so it is never logged; prefer `GAMEGATE_TELEGRAM__BOT_TOKEN_FILE`.
    #[serde(with = "types::secret")]
    pub bot_token: SecretString,
    /// The project's group: a numeric id (`-1001234567890`) or `@public_name`.
    pub chat_id: String,
    /// The Bot API's address; tests point it at a fake.
    pub api_base: String,
    /// Bound on one `getChatMember` call, connection included.
    pub call_timeout_ms: u64,
    /// How long a "member" answer is reused.
    pub member_cache_secs: u64,
    /// How long a "not a member" answer is reused (short: a user who just
    /// joined should not wait long).
    pub non_member_cache_secs: u64,
    /// When Telegram cannot answer: `closed` refuses with 503
    /// `telegram_unavailable`; `open` lets the registration through (logged).
    pub fail_policy: FailPolicy,
    /// Require a verified `telegram_auth` (Login Widget or Mini App) whose
    /// `id` is the `telegram_id`. Needs `bot_token`.
    pub require_auth: bool,
    /// Oldest `auth_date` accepted, in seconds.
    pub auth_max_age_secs: u64,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        Self {
            bot_token: SecretString::default(),
            chat_id: String::new(),
            api_base: "https://api.telegram.org".into(),
            call_timeout_ms: 3_000,
            member_cache_secs: 600,
            non_member_cache_secs: 15,
            fail_policy: FailPolicy::Closed,
            require_auth: false,
            auth_max_age_secs: 86_400,
        }
    }
}

impl TelegramConfig {
    /// Membership is checked when the bot and the group are both known.
    pub fn membership_on(&self) -> bool {
        self.bot_on() && !self.chat_id.is_empty()
    }

    /// A bot token is set (`telegram_auth` can be verified).
    pub fn bot_on(&self) -> bool {
        !self.bot_token.expose_secret().is_empty()
    }

    pub fn fail_open(&self) -> bool {
        self.fail_policy == FailPolicy::Open
    }

    pub(super) fn validate(&self) -> anyhow::Result<()> {
        let token = self.bot_token.expose_secret();
        let token_ok = token.is_empty()
            || (token.len() <= 128
                && token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-:".contains(&b)));
        if !token_ok {
            // Never the token itself in the message.
            bail!(
                "telegram.bot_token does not look like a bot token (digits:letters, from @BotFather)"
            );
        }
        if !self.chat_id.is_empty()
            && self.chat_id.parse::<i64>().is_err()
            && !(self.chat_id.starts_with('@')
                && self.chat_id.len() > 1
                && self.chat_id[1..]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            bail!(
                "telegram.chat_id must be a numeric id like -1001234567890 or @public_name, got {:?}",
                self.chat_id
            );
        }
        if !self.chat_id.is_empty() && token.is_empty() {
            bail!(
                "telegram.chat_id is set but telegram.bot_token is not: the membership check needs the bot"
            );
        }
        if self.require_auth && token.is_empty() {
            bail!("telegram.require_auth needs telegram.bot_token (the signature is keyed by it)");
        }
        url::Url::parse(&self.api_base)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .with_context(|| {
                format!(
                    "telegram.api_base {:?} is not an http(s) URL",
                    self.api_base
                )
            })?;
        if self.call_timeout_ms == 0 || self.auth_max_age_secs == 0 {
            bail!("telegram.call_timeout_ms and telegram.auth_max_age_secs must be above 0");
        }
        Ok(())
    }
}

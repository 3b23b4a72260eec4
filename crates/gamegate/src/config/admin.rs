//! `[admin]`: who may open the operator routes.

use anyhow::bail;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::types;

/// Who may open the operator routes: the dashboard (`/admin/dashboard` and
/// its files), the accounts reports (`/stats/registrations`,
/// `/stats/top-telegram`), `/ml/anomalies`, `/stats/ratings/histogram`,
/// `/metrics` and `PUT /admin/constants/{name}` — on the admin listener of `gamegate all` and on every
/// `serve …` listener (docs/CONFIGURATION.md#admin).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Operator tokens, each at least 16 printable ASCII characters
    /// (`gamegate keygen api-key` makes one). A request presents one as
    /// `Authorization: Bearer <token>` or as the password of HTTP Basic
    /// (any user name, so a browser can open the dashboard). Empty: the
    /// operator routes are open, as on a loopback-only admin listener —
    /// except `PUT /admin/constants/{name}`, which then refuses every request.
    /// Secret: prefer `GAMEGATE_ADMIN__TOKENS_FILE` (one token a line).
    #[serde(with = "types::secrets")]
    pub tokens: Vec<SecretString>,
}

impl AdminConfig {
    pub(super) fn validate(&self) -> anyhow::Result<()> {
        for token in self.tokens.iter().map(ExposeSecret::expose_secret) {
            if token.len() < 16 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                // Never the token itself in the message.
                bail!(
                    "admin.tokens: every token must be at least 16 printable ASCII characters \
                     without spaces (one is {} characters)",
                    token.len()
                );
            }
        }
        Ok(())
    }
}

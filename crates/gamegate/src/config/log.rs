//! `[log]`: the service log and the access log.

use serde::{Deserialize, Serialize};

use super::types::LogFormat;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `gamegate=debug,info`. `RUST_LOG` wins.
    pub level: String,
    /// The access log (docs/EDGE.md#access-log): `stdout`, `off`, or a file
    /// path (appended to; reopened on SIGHUP for logrotate).
    pub access_log: String,
    // Every public route limited: the access log sheds noise first.
    /// Bytes of access-log lines buffered between two writes (every 100 ms).
    /// When the writer falls behind, routine lines (2xx, 3xx, 404) may fill
    /// half of it, other errors three quarters, and the lines fail2ban reads
    /// (4xx/5xx on `/api/`) all of it (docs/EDGE.md#access-log).
    pub access_log_buffer_bytes: usize,
}

/// Bounds of `log.access_log_buffer_bytes`: 4 KiB to 256 MiB.
pub(super) const ACCESS_LOG_BUFFER_BYTES: std::ops::RangeInclusive<usize> =
    4096..=256 * 1024 * 1024;

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
            access_log: "stdout".into(),
            access_log_buffer_bytes: 4 * 1024 * 1024,
        }
    }
}

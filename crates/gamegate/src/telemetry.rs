//! Logging set-up. Logs go to stderr; stdout carries the start-up banner
//! and, with `log.access_log = "stdout"` (the default), the access log.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are no-ops.
///
/// `format`: `"json"` (one JSON object per line, for journald and log
/// shippers) or anything else for the human-readable form. Colours (ANSI
/// escape codes) only when stderr is a terminal — never into a file, a pipe
/// or journald — and never when `NO_COLOR` is set (no-color.org).
pub fn init(format: crate::config::LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        crate::config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
        crate::config::LogFormat::Pretty => builder.try_init(),
    };
}

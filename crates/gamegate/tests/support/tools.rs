//! External programs the suites of separate test binaries (nginx, deploy,
//! browser, topology) drive: found on PATH or in the sbin/lib directories Debian uses,
//! required under `CI` and skipped with a notice elsewhere.

use std::net::TcpListener;
use std::path::PathBuf;

/// Where Debian puts programs a non-root PATH may lack.
const EXTRA_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/sbin", "/usr/lib/chromium"];

/// The first of `names` found on PATH or in [`EXTRA_DIRS`].
pub fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .chain(EXTRA_DIRS.iter().map(PathBuf::from))
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// `found`, or `None` with `SKIPPED: {what} not installed ({install})`;
/// under `CI` a missing program fails the test instead ([`unavailable`]).
pub fn required(found: Option<PathBuf>, what: &str, install: &str) -> Option<PathBuf> {
    match found {
        Some(p) => Some(p),
        None => {
            unavailable(&format!("{what} not installed ({install})"));
            None
        }
    }
}

/// The suite cannot run here for `reason`: under `CI` that fails the test,
/// elsewhere it prints `SKIPPED: {reason}` and the caller returns.
pub fn unavailable(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason}, but CI must run this suite (see .ci/run)");
    }
    eprintln!("SKIPPED: {reason}");
}

/// A loopback port free right now. Released before the program under test
/// binds it: a small race, acceptable on a test host.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

//! The `gamegate` binary this package built, as tests run it: one-shot
//! commands ([`command`], [`ok`]) and long-running servers ([`Process`])
//! whose start-up banner says where they listen ([`Banner`]).

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_gamegate");

/// The last line of every banner (`gamegate all`, `serve …`): once it is out,
/// every listener the banner names is bound.
const BANNER_END: &str = "Ctrl-C stops it";

/// How long a server may take to print its banner (it migrates first).
pub const BANNER_WITHIN: Duration = Duration::from_secs(30);

/// `gamegate` with nothing from the test's environment but `PATH`: no
/// `GAMEGATE_*` variable of the caller leaks in, so only what the test sets
/// (or `--config`) applies.
pub fn command() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    cmd
}

/// [`command`] with `--config CONFIG` and `args`.
pub fn with_config(config: &Path, args: &[&str]) -> Command {
    let mut cmd = command();
    cmd.arg("--config").arg(config).args(args);
    cmd
}

/// Runs `cmd` to its end; panics (with both streams) unless it exits 0.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// [`ok`]'s stdout as text.
pub fn ok_stdout(cmd: &mut Command) -> String {
    String::from_utf8(ok(cmd).stdout).expect("UTF-8 output")
}

/// The settings of a `gamegate all` (or `serve …`) on loopback for a test:
/// SQLite files in `dir`, every listener on a random port, the cheap Argon2
/// parameters, warnings only, no access log. Later settings of the same
/// name (a test's own) replace these.
pub fn local_env(dir: &Path) -> Vec<(String, String)> {
    [
        (
            "GAMEGATE_DATABASE__URL",
            format!("sqlite://{}", dir.join("accounts.db").display()),
        ),
        (
            "GAMEGATE_ANALYTICS__URL",
            format!("sqlite://{}", dir.join("analytics.db").display()),
        ),
        ("GAMEGATE_HTTP__PUBLIC_ADDR", "127.0.0.1:0".into()),
        ("GAMEGATE_HTTP__ADMIN_ADDR", "127.0.0.1:0".into()),
        ("GAMEGATE_GAME_SERVER__ADDR", "127.0.0.1:0".into()),
        ("GAMEGATE_PASSWORD_HASH__MEMORY_KIB", "1024".into()),
        ("GAMEGATE_PASSWORD_HASH__ITERATIONS", "1".into()),
        ("GAMEGATE_LOG__LEVEL", "warn".into()),
        ("GAMEGATE_LOG__ACCESS_LOG", "off".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Lines a process wrote, collected as they come.
pub type Lines = Arc<Mutex<Vec<String>>>;

/// Collects the lines of `stream` on a thread of its own, so the process
/// never blocks on a full pipe.
fn collect(stream: impl Read + Send + 'static) -> Lines {
    let lines = Lines::default();
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().unwrap().push(line);
        }
    });
    lines
}

/// A server process a test started: its stdout (and, when asked, stderr)
/// collected line by line; SIGKILLed and reaped when dropped, so a failing
/// test leaves nothing running.
pub struct Process {
    child: Child,
    stdout: Lines,
    stderr: Option<Lines>,
}

impl Process {
    /// Starts `cmd` with stdout piped; stderr goes where `cmd` says.
    pub fn spawn(cmd: &mut Command) -> Self {
        Self::start(cmd, false)
    }

    /// Starts `cmd` with stdout and stderr piped and both collected.
    pub fn spawn_capturing_stderr(cmd: &mut Command) -> Self {
        Self::start(cmd, true)
    }

    fn start(cmd: &mut Command, stderr: bool) -> Self {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped());
        if stderr {
            cmd.stderr(Stdio::piped());
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = collect(child.stdout.take().expect("piped"));
        let stderr = child.stderr.take().filter(|_| stderr).map(collect);
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Every stderr line so far (empty unless started by
    /// [`Process::spawn_capturing_stderr`]).
    pub fn stderr(&self) -> Vec<String> {
        self.stderr
            .as_ref()
            .map(|l| l.lock().unwrap().clone())
            .unwrap_or_default()
    }

    /// The banner once it is complete, `Ok(None)` while it is not, `Err`
    /// when the process exited first.
    pub fn try_banner(&mut self) -> Result<Option<Banner>, ExitStatus> {
        let lines = self.stdout();
        if let Some(end) = lines.iter().position(|l| l.starts_with(BANNER_END)) {
            return Ok(Some(Banner {
                lines: lines[..=end].to_vec(),
            }));
        }
        match self.child.try_wait().expect("the process can be polled") {
            // Its last lines may have arrived after the read above.
            Some(status) => {
                std::thread::sleep(Duration::from_millis(50));
                let lines = self.stdout();
                match lines.iter().position(|l| l.starts_with(BANNER_END)) {
                    Some(end) => Ok(Some(Banner {
                        lines: lines[..=end].to_vec(),
                    })),
                    None => Err(status),
                }
            }
            None => Ok(None),
        }
    }

    /// Waits (blocking, at most `within`) for the complete banner; `Err`
    /// when the process exited before it, a panic after `within`.
    pub fn wait_banner(&mut self, within: Duration) -> Result<Banner, ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(banner) = self.try_banner()? {
                return Ok(banner);
            }
            self.assert_before(deadline, within);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Process::wait_banner`] for async tests (the runtime keeps running),
    /// panicking when the process exits first.
    pub async fn banner(&mut self, within: Duration) -> Banner {
        let deadline = Instant::now() + within;
        loop {
            match self.try_banner() {
                Ok(Some(banner)) => return banner,
                Ok(None) => {}
                Err(status) => panic!(
                    "gamegate exited ({status}) before its banner was complete:\n{}",
                    self.stdout().join("\n")
                ),
            }
            self.assert_before(deadline, within);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn assert_before(&self, deadline: Instant, within: Duration) {
        assert!(
            Instant::now() < deadline,
            "gamegate printed no complete banner within {within:?}; stdout so far:\n{}",
            self.stdout().join("\n")
        );
    }

    /// SIGKILL (in-flight work is lost), and waits for the exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (a graceful stop) and waits, polling, for the exit
    /// status; `None` when it did not exit within `within` (then SIGKILL).
    pub async fn terminate(&mut self, within: Duration) -> Option<ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The reader threads reach the end of the pipes.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A start-up banner: lines like `  public    http://127.0.0.1:41234   POST /api/register · …`.
#[derive(Debug, Clone)]
pub struct Banner {
    pub lines: Vec<String>,
}

impl Banner {
    /// The rest of the line whose first word is `role`, trimmed.
    pub fn line(&self, role: &str) -> Option<&str> {
        self.lines.iter().find_map(|l| {
            let rest = l.trim_start().strip_prefix(role)?;
            rest.starts_with(' ').then(|| rest.trim())
        })
    }

    /// The URL a listener (`public`, `admin`, `register`, `status`, `stats`) serves on.
    pub fn url(&self, role: &str) -> String {
        let line = self.line(role).unwrap_or_else(|| {
            panic!("no `{role}` line in the banner:\n{}", self.lines.join("\n"))
        });
        line.split_whitespace().next().unwrap().to_owned()
    }

    /// The address of a listener, from [`Banner::url`].
    pub fn addr(&self, role: &str) -> SocketAddr {
        let url = self.url(role);
        url.trim_start_matches("https://")
            .trim_start_matches("http://")
            .parse()
            .unwrap_or_else(|e| panic!("`{role}` in the banner is not an address ({e}): {url}"))
    }
}

//! The processes under test: `gamegate all` and the external mock game
//! server, started from the gamegate binary; and the RSS probe.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// Bound on a process printing its banner (gamegate migrates first).
const START_PATIENCE: Duration = Duration::from_secs(60);

/// A `Command` for the gamegate binary with none of the caller's
/// `GAMEGATE_*` variables (the soak sets every one it relies on).
fn command(bin: &Path, workdir: &Path, log_name: &str) -> anyhow::Result<Command> {
    let mut cmd = Command::new(bin);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("GAMEGATE_") {
            cmd.env_remove(name);
        }
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(workdir.join(log_name))?;
    cmd.current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .kill_on_drop(true);
    Ok(cmd)
}

/// Reads stdout lines until `want` returns a value; the rest of stdout is
/// drained in the background so the process never blocks on a full pipe.
async fn read_banner<T>(
    stdout: ChildStdout,
    what: &str,
    mut want: impl FnMut(&str) -> Option<T>,
) -> anyhow::Result<T> {
    let mut lines = BufReader::new(stdout).lines();
    let found = tokio::time::timeout(START_PATIENCE, async {
        while let Some(line) = lines.next_line().await? {
            if let Some(found) = want(&line) {
                return Ok(Some(found));
            }
        }
        std::io::Result::Ok(None)
    })
    .await
    .with_context(|| format!("{what} printed no banner within {START_PATIENCE:?}"))??;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    found.with_context(|| format!("{what} exited before its banner (see its log)"))
}

/// `gamegate all`, configured entirely by `env`.
pub struct Gamegate {
    /// The running process (killed when dropped).
    pub child: Child,
    /// The public listener, read from its banner.
    pub public: SocketAddr,
    /// The admin listener, read from its banner.
    pub admin: SocketAddr,
}

impl Gamegate {
    /// Starts `gamegate all` in `workdir` with only `env` for its `GAMEGATE_*`
    /// settings (stderr to `gamegate.log` there) and waits for its banner. Errs
    /// when the process cannot start, exits first, or prints no banner within
    /// 60 s.
    pub async fn start(
        bin: &Path,
        workdir: &Path,
        env: &[(String, String)],
    ) -> anyhow::Result<Self> {
        let mut cmd = command(bin, workdir, "gamegate.log")?;
        cmd.arg("all").envs(env.iter().map(|(k, v)| (k, v)));
        let mut child = cmd.spawn().context("cannot start gamegate all")?;
        let stdout = child.stdout.take().expect("piped");
        let (mut public, mut admin) = (None, None);
        read_banner(stdout, "gamegate all", |line| {
            let mut words = line.split_whitespace();
            let role = words.next()?;
            let addr = words.next()?.strip_prefix("http://")?.parse().ok()?;
            match role {
                "public" => public = Some(addr),
                "admin" => admin = Some(addr),
                _ => {}
            }
            Some(()).filter(|_| public.is_some() && admin.is_some())
        })
        .await?;
        Ok(Self {
            child,
            public: public.expect("found"),
            admin: admin.expect("found"),
        })
    }

    /// The process id, for the RSS probe; `None` once it has exited.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// `gamegate gameserver-mock` with a state file, so a restart keeps its
/// accounts as a real game server would.
pub struct MockProcess {
    bin: PathBuf,
    workdir: PathBuf,
    token: String,
    /// The state journal (`mock-accounts.jsonl` in the work directory), read
    /// back with [`gamegate_gameserver::read_state`].
    pub state: PathBuf,
    /// Where it listens; the same address after a restart.
    pub addr: SocketAddr,
    child: Child,
    /// How many times [`start_again`](Self::start_again) ran.
    pub restarts: u64,
}

impl MockProcess {
    /// Starts `gamegate gameserver-mock --listen 127.0.0.1:0 --state …` in
    /// `workdir`, requiring `token`, and waits for its banner. Errs when it
    /// cannot start or prints no banner within 60 s.
    pub async fn start(bin: &Path, workdir: &Path, token: &str) -> anyhow::Result<Self> {
        let state = workdir.join("mock-accounts.jsonl");
        let (child, addr) =
            Self::spawn(bin, workdir, token, &state, "127.0.0.1:0".parse()?).await?;
        Ok(Self {
            bin: bin.to_owned(),
            workdir: workdir.to_owned(),
            token: token.to_owned(),
            state,
            addr,
            child,
            restarts: 0,
        })
    }

    async fn spawn(
        bin: &Path,
        workdir: &Path,
        token: &str,
        state: &Path,
        listen: SocketAddr,
    ) -> anyhow::Result<(Child, SocketAddr)> {
        let mut cmd = command(bin, workdir, "mock.log")?;
        cmd.arg("gameserver-mock")
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--state")
            .arg(state)
            .env("GAMEGATE_GAME_SERVER__AUTH_TOKEN", token)
            .env("GAMEGATE_LOG__LEVEL", "warn");
        let mut child = cmd
            .spawn()
            .context("cannot start gamegate gameserver-mock")?;
        let stdout = child.stdout.take().expect("piped");
        let addr = read_banner(stdout, "gamegate gameserver-mock", |line| {
            line.strip_prefix("gamegate mock game server listening on ")?
                .trim()
                .parse()
                .ok()
        })
        .await?;
        Ok((child, addr))
    }

    /// Kills the process (SIGKILL: calls in flight lose their answers).
    /// Errs when the kill signal cannot be sent.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// Starts it again on the same address and state file.
    /// Tries for 5 s (50 attempts, 100 ms apart: the old port may linger); errs
    /// with the last start error after that.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        // The old listener is closed; the port may linger a moment.
        let mut last = None;
        for _ in 0..50 {
            match Self::spawn(
                &self.bin,
                &self.workdir,
                &self.token,
                &self.state,
                self.addr,
            )
            .await
            {
                Ok((child, _)) => {
                    self.child = child;
                    self.restarts += 1;
                    return Ok(());
                }
                Err(err) => last = Some(err),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match last {
            Some(err) => Err(err.context("the mock game server did not start again")),
            None => bail!("unreachable"),
        }
    }
}

/// Resident set size of a process in KiB (`VmRSS` in /proc/PID/status).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss(&status)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_from_proc_status() {
        let status = "Name:\tgamegate\nVmPeak:\t  99999 kB\nVmRSS:\t   23456 kB\nThreads:\t5\n";
        assert_eq!(parse_vm_rss(status), Some(23456));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        let own = rss_kib(std::process::id()).expect("this process has an RSS");
        assert!(own > 100, "{own} KiB");
    }
}

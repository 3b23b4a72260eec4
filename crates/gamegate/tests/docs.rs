//! Docs that run: the shell examples of README.md and docs/*.md are executed against the
//! binary this package just built, so a documented command cannot drift from it.
//!
//! # Why a harness of our own and not `trycmd`
//!
//! `trycmd` (with `snapbox`) is the kept crate for this job, and its `[..]`/`...` wildcards
//! are what we want — but it runs one program with arguments per `$` line, without a shell:
//! the README's tour needs shell variables (`KEY=$(cat gamegate.api-key)`), pipes
//! (`curl … | grep`), redirections and a `gamegate all` running in the background while the
//! commands talk to it. So this file keeps a small harness (no new dependency):
//!
//! - A fenced block whose info string is `sh`, `bash`, `shell` or `console` is a shell
//!   example. The line right before its fence is its mark:
//!   - `<!-- docs-test: run -->` — run it;
//!   - `<!-- docs-test: run with gamegate all -->` — run it while a `gamegate all` (started
//!     by the harness in the same directory) serves;
//!   - either may end in `, exit N`: the block (a `sh` block as a whole, a `console` block's
//!     last command) must exit with N instead of 0;
//!   - `<!-- docs-test: skip REASON -->` — not runnable on a CI machine (root, docker, real
//!     hosts, other servers); the reason is required.
//!
//!   An unmarked shell example fails [`every_shell_example_is_marked`], so a new example
//!   that cannot run is a deliberate decision. What is not run is still checked by
//!   [`every_named_command_and_flag_exists`]: every `gamegate …` in prose and in skipped
//!   examples names subcommands and options the binary has.
//! - Each file is a session: one fresh temporary directory, its blocks in file order (as a
//!   reader follows the file), the directory of this package's `gamegate` binary first on
//!   `PATH`, no inherited `GAMEGATE_*` variable.
//! - `sh` blocks run as one `bash -euo pipefail` script; `console` blocks run their `$ `
//!   commands (with `\` continuation lines) in one `bash -uo pipefail` and compare each
//!   command's output (stdout and stderr) with the lines under it. Each block has a timeout.
//! - Ports: `gamegate all` is started on free ports, and `127.0.0.1:8000`, `:9000` and
//!   `:5190` (the documented defaults) are rewritten to them in every block's text — commands
//!   and expected output alike — always, so the test never depends on those ports being free
//!   (the block shells also get the addresses as `GAMEGATE_HTTP__PUBLIC_ADDR`,
//!   `GAMEGATE_HTTP__ADMIN_ADDR` and `GAMEGATE_GAME_SERVER__ADDR`).
//! - The server counts as started once its banner is out and its start-up log says it
//!   seeded the demo history (it does that in the background, after the banner).
//! - In a block with `gamegate all`, the command `cargo run --release` (or `gamegate all`)
//!   stands for that server: its expected output is compared with the server's stdout.
//! - Expected output is compared loosely: `…` matches any text within a line, together with
//!   the word characters right before it (`Vd0QnX3rJ4m…` stands for a whole key); a line that
//!   is only `…` matches any number of lines; the numbers of JSON members that are
//!   timestamps or latencies (keys ending in `_at`, `_ms`, `_seconds`, and `since`, `start`)
//!   are not compared.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;
use support::binary::{self, Process};
use support::tools::free_port;

/// Info strings of shell examples.
const SHELL_LANGS: &[&str] = &["sh", "bash", "shell", "console"];
/// Longest one block (or the server's start) may take.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(40);
/// Separates the outputs of a console block's commands; followed by the exit status.
const SEPARATOR: &str = "@@docs-test-status@@";

/// What the line before a shell example's fence says about it.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    Unmarked,
    Skip(String),
    Run { server: bool, exit: i32 },
}

/// One fenced shell example.
#[derive(Debug, Clone)]
struct Block {
    file: String,
    line: usize,
    lang: String,
    mark: Mark,
    text: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// README.md and every docs/*.md, relative to the repository root, sorted.
fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_string()];
    let mut docs: Vec<String> = fs::read_dir(repo_root().join("docs"))
        .expect("docs/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn parse_mark(file: &str, line: usize, prev: &str) -> Mark {
    let prev = prev.trim();
    let Some(body) = prev
        .strip_prefix("<!-- docs-test:")
        .and_then(|b| b.strip_suffix("-->"))
    else {
        return Mark::Unmarked;
    };
    let body = body.trim();
    if let Some(reason) = body.strip_prefix("skip") {
        let reason = reason.trim();
        assert!(
            !reason.is_empty(),
            "{file}:{line}: `docs-test: skip` needs a reason"
        );
        return Mark::Skip(reason.to_string());
    }
    let (what, exit) = match body.split_once(',') {
        Some((what, exit)) => {
            let n = exit
                .trim()
                .strip_prefix("exit ")
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or_else(|| panic!("{file}:{line}: expected `, exit N` in {prev}"));
            (what.trim(), n)
        }
        None => (body, 0),
    };
    match what {
        "run" => Mark::Run {
            server: false,
            exit,
        },
        "run with gamegate all" => Mark::Run { server: true, exit },
        _ => panic!("{file}:{line}: unknown mark {prev}"),
    }
}

/// The shell examples of one file, in order.
fn blocks(file: &str) -> Vec<Block> {
    let text = fs::read_to_string(repo_root().join(file)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let indent = lines[i].len() - trimmed.len();
            let lang = info.trim().to_string();
            let start = i;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                let l = lines[i];
                body.push(if l.len() >= indent && l[..indent].trim().is_empty() {
                    &l[indent..]
                } else {
                    l.trim_start()
                });
                i += 1;
            }
            if SHELL_LANGS.contains(&lang.as_str()) {
                let prev = if start > 0 { lines[start - 1] } else { "" };
                out.push(Block {
                    file: file.to_string(),
                    line: start + 1,
                    mark: parse_mark(file, start + 1, prev),
                    lang,
                    text: body.join("\n") + "\n",
                });
            }
        }
        i += 1;
    }
    out
}

#[test]
fn every_shell_example_is_marked() {
    let mut unmarked = Vec::new();
    let mut runs = 0;
    for file in doc_files() {
        for b in blocks(&file) {
            match b.mark {
                Mark::Unmarked => unmarked.push(format!("{}:{} ```{}", b.file, b.line, b.lang)),
                Mark::Run { .. } => runs += 1,
                Mark::Skip(_) => {}
            }
        }
    }
    assert!(
        unmarked.is_empty(),
        "shell examples without a `<!-- docs-test: run -->` or `<!-- docs-test: skip REASON -->` \
         line before their fence:\n{}",
        unmarked.join("\n")
    );
    assert!(runs >= 8, "only {runs} runnable examples found");
}

// ---------------------------------------------------------------------------------------
// Sessions

/// Addresses the session's `gamegate all` listens on.
struct Ports {
    public: u16,
    admin: u16,
    game: u16,
}

/// One file's temporary directory, ports and (once a block asks for it) server.
struct Session {
    dir: tempfile::TempDir,
    ports: Ports,
    /// The `gamegate all` the harness started (killed on drop).
    server: Option<Process>,
    /// Extra environment of every command (and the server) of this session.
    env: Vec<(&'static str, &'static str)>,
}

fn bin_dir() -> PathBuf {
    Path::new(binary::BIN).parent().unwrap().to_path_buf()
}

impl Session {
    fn new() -> Self {
        assert!(
            Command::new("curl")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "the documented examples call curl: apt-get install -y curl (.ci/run installs it)"
        );
        assert!(
            !Path::new("/etc/gamegate/gamegate.toml").exists(),
            "the examples run as on a fresh machine, but every command would read \
             /etc/gamegate/gamegate.toml here: run this test where it does not exist"
        );
        Session {
            dir: tempfile::tempdir().unwrap(),
            ports: Ports {
                public: free_port(),
                admin: free_port(),
                game: free_port(),
            },
            server: None,
            env: Vec::new(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A command with the session's directory, PATH and addresses.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("GAMEGATE_") {
                cmd.env_remove(k);
            }
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![bin_dir()];
        paths.extend(std::env::split_paths(&path));
        cmd.current_dir(self.path())
            .env("PATH", std::env::join_paths(paths).unwrap())
            .env(
                "GAMEGATE_HTTP__PUBLIC_ADDR",
                format!("127.0.0.1:{}", self.ports.public),
            )
            .env(
                "GAMEGATE_HTTP__ADMIN_ADDR",
                format!("127.0.0.1:{}", self.ports.admin),
            )
            .env(
                "GAMEGATE_GAME_SERVER__ADDR",
                format!("127.0.0.1:{}", self.ports.game),
            )
            .envs(self.env.iter().copied())
            .stdin(Stdio::null());
        cmd
    }

    /// The documented default addresses replaced by this session's.
    fn rewrite(&self, text: &str) -> String {
        text.replace(
            "127.0.0.1:8000",
            &format!("127.0.0.1:{}", self.ports.public),
        )
        .replace("127.0.0.1:9000", &format!("127.0.0.1:{}", self.ports.admin))
        .replace("127.0.0.1:5190", &format!("127.0.0.1:{}", self.ports.game))
    }

    /// Starts `gamegate all` here unless it runs; returns once its banner is complete and
    /// its demo history is seeded (it seeds in the background after the banner; every
    /// session starts it on an empty analytics database).
    fn ensure_server(&mut self) {
        // Free ports are picked by binding and releasing them, so another
        // process may take one before gamegate binds it: then new ports.
        for _ in 0..3 {
            if self.server.is_some() {
                return;
            }
            if self.try_start_server() {
                return;
            }
            self.ports = Ports {
                public: free_port(),
                admin: free_port(),
                game: free_port(),
            };
        }
        panic!("gamegate all could not bind free ports three times");
    }

    /// One start of `gamegate all`; `false` when a port was taken meanwhile.
    fn try_start_server(&mut self) -> bool {
        let log = fs::File::create(self.path().join("server.stderr")).unwrap();
        let mut server = Process::spawn(self.command(binary::BIN).arg("all").stderr(log));
        let stderr = || fs::read_to_string(self.path().join("server.stderr")).unwrap_or_default();
        let deadline = Instant::now() + BLOCK_TIMEOUT;
        loop {
            match server.try_banner() {
                Err(_) if stderr().contains("Address already in use") => return false,
                Err(status) => panic!(
                    "gamegate all exited ({status}) before its banner was complete; stderr:\n{}",
                    stderr()
                ),
                Ok(Some(_)) if stderr().contains("seeded 5000 synthetic battles") => break,
                Ok(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "gamegate all did not finish its banner and demo seeding within {BLOCK_TIMEOUT:?}; stderr:\n{}",
                stderr()
            );
            thread::sleep(Duration::from_millis(50));
        }
        self.server = Some(server);
        true
    }

    /// Runs `bash OPTIONS script` here with the block timeout: (exit code, stdout+stderr).
    fn bash(&self, options: &str, script: &str) -> (i32, String) {
        let file = self.path().join(".docs-test-block.sh");
        fs::write(&file, script).unwrap();
        let out_path = self.path().join(".docs-test-block.out");
        let out = fs::File::create(&out_path).unwrap();
        let mut child = self
            .command("bash")
            .args(options.split_whitespace())
            .arg(&file)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("bash");
        let deadline = Instant::now() + BLOCK_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let mut s = String::new();
                fs::File::open(&out_path)
                    .unwrap()
                    .read_to_string(&mut s)
                    .unwrap();
                panic!("block timed out after {BLOCK_TIMEOUT:?}; output so far:\n{s}");
            }
            thread::sleep(Duration::from_millis(20));
        };
        let text = String::from_utf8_lossy(&fs::read(&out_path).unwrap()).into_owned();
        (status.code().unwrap_or(-1), text)
    }

    /// Runs one marked block; Err describes how it failed.
    fn run(&mut self, block: &Block) -> Result<(), String> {
        let Mark::Run { server, exit } = block.mark else {
            return Ok(());
        };
        if server {
            self.ensure_server();
        }
        let text = self.rewrite(&block.text);
        if block.lang == "console" {
            self.run_console(&text, server, exit)
        } else {
            let (code, out) = self.bash("-euo pipefail", &text);
            if code == exit {
                Ok(())
            } else {
                Err(format!("exited {code}, expected {exit}; output:\n{out}"))
            }
        }
    }

    fn run_console(&self, text: &str, server: bool, exit: i32) -> Result<(), String> {
        let commands = console_commands(text);
        if commands.is_empty() {
            return Err("a console block without `$ ` commands".into());
        }
        let mut script = String::from("exec 2>&1\n");
        let mut shell_commands = Vec::new();
        for c in &commands {
            if is_server_command(&c.command) {
                if !server {
                    return Err(format!(
                        "`{}` needs the mark `run with gamegate all`",
                        c.command
                    ));
                }
                continue;
            }
            script.push_str(&c.command);
            script.push_str(&format!("\nprintf '\\n%s %s\\n' '{SEPARATOR}' \"$?\"\n"));
            shell_commands.push(c);
        }
        for c in &commands {
            if is_server_command(&c.command) {
                let banner = self.server_banner(c.expected.last().map(String::as_str));
                check_output(&c.command, &c.expected, &banner)?;
            }
        }
        let (_, out) = self.bash("-uo pipefail", &script);
        let mut rest = out.as_str();
        for (n, c) in shell_commands.iter().enumerate() {
            let marker = format!("\n{SEPARATOR} ");
            let Some(at) = rest.find(&marker) else {
                return Err(format!(
                    "`{}` did not finish (the shell stopped); output:\n{rest}",
                    c.command
                ));
            };
            let output = &rest[..at];
            let after = &rest[at + marker.len()..];
            let (code, tail) = after.split_once('\n').unwrap_or((after, ""));
            let code: i32 = code.trim().parse().unwrap();
            rest = tail;
            let want = if n + 1 == shell_commands.len() {
                exit
            } else {
                0
            };
            if code != want {
                return Err(format!(
                    "`{}` exited {code}, expected {want}; output:\n{output}",
                    c.command
                ));
            }
            let actual: Vec<String> = output.lines().map(str::to_string).collect();
            check_output(&c.command, &c.expected, &actual)?;
        }
        Ok(())
    }

    /// The server's stdout up to the line matching `last` (its banner), waiting for it.
    fn server_banner(&self, last: Option<&str>) -> Vec<String> {
        let server = self.server.as_ref().expect("server started");
        let deadline = Instant::now() + BLOCK_TIMEOUT;
        loop {
            let lines = server.stdout();
            match last {
                Some(last) => {
                    if let Some(i) = lines.iter().position(|l| line_matches(last, l)) {
                        return lines[..=i].to_vec();
                    }
                }
                None => return Vec::new(),
            }
            if Instant::now() > deadline {
                return lines;
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `cargo run --release` / `gamegate all`: the server the harness started.
fn is_server_command(command: &str) -> bool {
    matches!(
        command.trim(),
        "cargo run --release" | "gamegate all" | "gamegate"
    )
}

/// A console block's command with the output documented under it.
#[derive(Debug)]
struct ConsoleCommand {
    command: String,
    expected: Vec<String>,
}

fn console_commands(text: &str) -> Vec<ConsoleCommand> {
    let mut out: Vec<ConsoleCommand> = Vec::new();
    let mut continuing = false;
    for line in text.lines() {
        if continuing {
            let c = out.last_mut().unwrap();
            c.command.push('\n');
            c.command.push_str(line);
            continuing = line.ends_with('\\');
        } else if let Some(cmd) = line.strip_prefix("$ ") {
            out.push(ConsoleCommand {
                command: cmd.to_string(),
                expected: Vec::new(),
            });
            continuing = cmd.ends_with('\\');
        } else if let Some(c) = out.last_mut() {
            c.expected.push(line.to_string());
        }
    }
    for c in &mut out {
        while c.expected.last().is_some_and(|l| l.trim().is_empty()) {
            c.expected.pop();
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Loose comparison

fn check_output(command: &str, expected: &[String], actual: &[String]) -> Result<(), String> {
    let exp: Vec<String> = expected.iter().map(|l| normalize(l)).collect();
    let mut act: Vec<String> = actual.iter().map(|l| normalize(l)).collect();
    while act.last().is_some_and(|l| l.trim().is_empty()) {
        act.pop();
    }
    if lines_match(&exp, &act) {
        Ok(())
    } else {
        Err(format!(
            "output of `{command}` differs\n--- documented\n{}\n--- actual\n{}",
            expected.join("\n"),
            actual.join("\n")
        ))
    }
}

/// `…` alone on a line: any number of lines.
fn lines_match(expected: &[String], actual: &[String]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "…" => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => match actual.split_first() {
            Some((a, arest)) => line_matches(first, a) && lines_match(rest, arest),
            None => false,
        },
    }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || "_+/=-".contains(c)
}

/// `…` matches any text, together with the word characters right before it.
fn line_matches(pattern: &str, actual: &str) -> bool {
    let pattern = pattern.trim_end();
    let actual = actual.trim_end();
    let mut parts: Vec<&str> = pattern.split('…').collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let last = parts.len() - 1;
    for p in parts.iter_mut().take(last) {
        *p = p.trim_end_matches(is_word);
    }
    let Some(mut rest) = actual.strip_prefix(parts[0]) else {
        return false;
    };
    for (i, part) in parts.iter().enumerate().skip(1) {
        if i == last {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    unreachable!()
}

/// Numbers of timestamp and latency JSON members replaced by `#`.
fn normalize(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find("\":") {
        let (head, tail) = rest.split_at(at + 2);
        out.push_str(head);
        let key_start = head[..at].rfind('"').map_or(0, |q| q + 1);
        let key = &head[key_start..at];
        let volatile = key.ends_with("_at")
            || key.ends_with("_ms")
            || key.ends_with("_seconds")
            || key == "since"
            || key == "start";
        let num_len = tail
            .find(|c: char| !(c.is_ascii_digit() || ".-+eE".contains(c)))
            .unwrap_or(tail.len());
        if volatile && num_len > 0 {
            out.push('#');
            rest = &tail[num_len..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn loose_comparison() {
    assert!(line_matches(
        "  api key   Vd0QnX3rJ4m…   (generated)",
        "  api key   8Jgk_1Cv+/S1Hw=   (generated)"
    ));
    assert!(!line_matches(
        "  api key   Vd0QnX3rJ4m…   (generated)",
        "  api key   8Jgk (configured)"
    ));
    assert!(line_matches(r#"{"a":1,…}"#, r#"{"a":1,"b":2}"#));
    assert!(!line_matches(r#"{"a":1,…}"#, r#"{"a":2,"b":2}"#));
    assert!(!line_matches("exact", "exact but longer"));
    assert_eq!(
        normalize(r#"{"latency_ms":0.33,"ok":true,"updated_at":17,"n":5}"#),
        r#"{"latency_ms":#,"ok":true,"updated_at":#,"n":5}"#
    );
    let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&lines(&["…", "b"]), &lines(&["x", "y", "b"])));
    assert!(lines_match(&lines(&["…", "b"]), &lines(&["b"])));
    assert!(!lines_match(&lines(&["a", "b"]), &lines(&["a", "b", "c"])));
    let cmds = console_commands("$ a \\\n    b\nout\n\n$ c\n");
    assert_eq!(cmds.len(), 2);
    assert_eq!(cmds[0].command, "a \\\n    b");
    assert_eq!(cmds[0].expected, vec!["out".to_string()]);
    assert!(cmds[1].expected.is_empty());
}

// ---------------------------------------------------------------------------------------
// The runs

#[test]
fn marked_examples_run() {
    let handles: Vec<_> = doc_files()
        .into_iter()
        .map(|file| {
            thread::spawn(move || {
                let blocks: Vec<Block> = blocks(&file)
                    .into_iter()
                    .filter(|b| matches!(b.mark, Mark::Run { .. }))
                    .collect();
                if blocks.is_empty() {
                    return Vec::new();
                }
                let mut session = Session::new();
                let mut failures = Vec::new();
                for b in &blocks {
                    if let Err(e) = session.run(b) {
                        failures.push(format!("{}:{} ```{}: {e}", b.file, b.line, b.lang));
                    }
                }
                failures
            })
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("a session panicked"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} documented example(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------
// A newcomer's first steps, scripted

/// HTTP status of `GET /api/server/status` on the session's public listener (curl, as in
/// the README), 0 when it does not answer.
fn status_code(session: &Session) -> u16 {
    let out = session
        .command("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!(
            "http://127.0.0.1:{}/api/server/status",
            session.ports.public
        ))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Waits (up to `within`) until the status route answers `want`.
fn wait_for_status(session: &Session, want: u16, within: Duration) -> u16 {
    let deadline = Instant::now() + within;
    loop {
        let got = status_code(session);
        if got == want || Instant::now() > deadline {
            return got;
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// A fresh directory, the README's commands (its `gamegate all` banner and curl tour), real
/// battles 1–3 imported into the running demo's analytics database, then a ban lifted from
/// another directory: without `--config` a clear error and no file created, with it the
/// running server lets the address in again within its ban sync interval (1 s here).
#[test]
fn newcomer_follows_the_readme() {
    let mut session = Session::new();
    // The polls below must not meet the status route's own rate limit.
    session.env = vec![
        ("GAMEGATE_EDGE__BAN_SYNC_INTERVAL_MS", "1000"),
        ("GAMEGATE_EDGE__STATUS_PER_MINUTE", "6000"),
        ("GAMEGATE_EDGE__STATUS_BURST", "1000"),
        // Loopback is exempt from bans by default; the test client is on loopback.
        ("GAMEGATE_EDGE__BAN_IGNORE", "192.0.2.1"),
    ];
    for b in blocks("README.md") {
        if matches!(b.mark, Mark::Run { .. }) {
            session
                .run(&b)
                .unwrap_or_else(|e| panic!("README.md:{}: {e}", b.line));
        }
    }
    assert!(
        session.server.is_some(),
        "the README's tour starts gamegate all"
    );
    for file in ["gamegate.db", "gamegate-analytics.db", "gamegate.api-key"] {
        assert!(
            session.path().join(file).is_file(),
            "the README says `cargo run --release` creates ./{file}"
        );
    }

    // Real battles 1–3: the demo history lives under negative ids, so none is a duplicate.
    let battles: String = (1..=3)
        .map(|id| {
            format!(
                r#"{{"id":{id},"mode":"pvp","started_at":1795585734,"duration_secs":300,"participants":[{{"login":"Hero_01","team":1,"won":true,"kills":5,"deaths":1,"damage_dealt":1200,"damage_taken":300,"level":12}},{{"login":"Rival_{id:02}","team":2,"won":false,"kills":1,"deaths":5,"damage_dealt":300,"damage_taken":1200,"level":11}}]}}"#
            ) + "\n"
        })
        .collect();
    fs::write(session.path().join("real.jsonl"), battles).unwrap();
    let (code, out) = session.bash("-euo pipefail", "gamegate battles import real.jsonl\n");
    assert_eq!(code, 0, "battles import: {out}");
    assert!(
        out.contains("3 inserted") && out.contains("0 duplicate") && out.contains("0 invalid"),
        "battles import of ids 1–3 into the demo's database: {out}"
    );

    // The running server refuses a banned address once its ban sync has read the ban.
    let (code, out) = session.bash("-euo pipefail", "gamegate ban add 127.0.0.1 --for 1h\n");
    assert_eq!(code, 0, "ban add: {out}");
    let sync = Duration::from_secs(5);
    assert_eq!(
        wait_for_status(&session, 403, sync),
        403,
        "the ban took effect"
    );

    // Another directory, no configuration: a clear error, nothing created.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = session
        .command(binary::BIN)
        .current_dir(elsewhere.path())
        .args(["ban", "remove", "127.0.0.1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "ban remove without a database: {stderr}"
    );
    let expected_db = elsewhere.path().join("gamegate.db");
    assert!(
        stderr.contains("no database at") && stderr.contains(&*expected_db.to_string_lossy()),
        "names the absolute path it looked at: {stderr}"
    );
    assert!(
        stderr.contains("--config"),
        "says how to find the server's: {stderr}"
    );
    let left: Vec<_> = fs::read_dir(elsewhere.path()).unwrap().collect();
    assert!(left.is_empty(), "created {left:?}");
    assert_eq!(status_code(&session), 403, "the ban still holds");

    // The same from there with the server's configuration: lifted on the running server.
    let config = elsewhere.path().join("gamegate.toml");
    fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n\n[analytics]\nurl = \"sqlite://{}\"\n",
            session.path().join("gamegate.db").display(),
            session.path().join("gamegate-analytics.db").display()
        ),
    )
    .unwrap();
    let out = session
        .command(binary::BIN)
        .current_dir(elsewhere.path())
        .arg("--config")
        .arg(&config)
        .args(["ban", "remove", "127.0.0.1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ban remove --config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("lifted the ban of 127.0.0.1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        wait_for_status(&session, 200, sync),
        200,
        "the running server lets 127.0.0.1 in again within its ban sync interval"
    );
    let left: Vec<_> = fs::read_dir(elsewhere.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("gamegate.toml")]);
}

// ---------------------------------------------------------------------------------------
// Commands named but not run

/// `gamegate …` invocations of a line: in shell examples from `gamegate` to the end of the
/// command (a pipe, `&&`, `;`, a redirection or a comment), in prose the inline code spans
/// that start with `gamegate `.
fn gamegate_invocations(line: &str, in_block: bool) -> Vec<String> {
    let mut out = Vec::new();
    if in_block {
        let mut rest = line;
        while let Some(at) = rest.find("gamegate ") {
            let before = rest[..at].chars().last();
            let after = &rest[at..];
            rest = &rest[at + "gamegate ".len()..];
            if before.is_some_and(|c| !(c.is_whitespace() || c == '(' || c == '$')) {
                continue;
            }
            let end = [" | ", "&&", ";", " #", ")", ">", "<", "||"]
                .iter()
                .filter_map(|s| after.find(s))
                .min()
                .unwrap_or(after.len());
            out.push(after[..end].to_string());
        }
    } else {
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 1 && span.starts_with("gamegate ") {
                out.push(span.to_string());
            }
        }
    }
    out
}

/// Every `gamegate SUBCOMMAND [SUBCOMMAND] … --flag …` named in README.md and docs/*.md —
/// in prose, in skipped examples and in run ones — names subcommands and flags the binary
/// has (`a|b` alternatives each; a flag in the help of at least one of them). Catches the
/// drift of what no test runs, such as a renamed flag in a production recipe.
#[test]
fn every_named_command_and_flag_exists() {
    let mut help: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut help_of = |path: &[&str]| -> Option<String> {
        help.entry(path.join(" "))
            .or_insert_with(|| {
                let out = Command::new(binary::BIN)
                    .args(path)
                    .arg("--help")
                    .output()
                    .unwrap();
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            })
            .clone()
    };
    let is_name = |t: &str| {
        !t.is_empty()
            && t.split('|').all(|w| {
                w.starts_with(|c: char| c.is_ascii_lowercase())
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        let text = fs::read_to_string(repo_root().join(&file)).unwrap();
        let mut in_shell_block = false;
        let mut in_console_block = false;
        let mut in_other_block = false;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if let Some(info) = trimmed.strip_prefix("```") {
                if in_shell_block || in_other_block {
                    in_shell_block = false;
                    in_other_block = false;
                } else if SHELL_LANGS.contains(&info.trim()) {
                    in_shell_block = true;
                    in_console_block = info.trim() == "console";
                } else {
                    in_other_block = true;
                }
                continue;
            }
            if in_other_block {
                continue;
            }
            let line = line.trim_start();
            // A console block's commands are its `$ ` lines; the rest is output.
            let line = match line.strip_prefix("$ ") {
                Some(command) => command,
                None if in_shell_block && in_console_block => continue,
                None => line,
            };
            for invocation in gamegate_invocations(line, in_shell_block) {
                let tokens: Vec<&str> = invocation.split_whitespace().skip(1).collect();
                // The subcommand path: one name, a second one where the first has commands.
                let mut paths: Vec<Vec<&str>> = vec![vec![]];
                for (depth, t) in tokens.iter().take(2).enumerate() {
                    if !is_name(t) {
                        break;
                    }
                    if depth == 1
                        && !paths
                            .iter()
                            .any(|p| help_of(p).is_some_and(|h| h.contains("\nCommands:")))
                    {
                        break;
                    }
                    paths = paths
                        .iter()
                        .flat_map(|p| {
                            t.split('|').map(move |w| {
                                let mut p = p.clone();
                                p.push(w);
                                p
                            })
                        })
                        .collect();
                }
                if paths[0].is_empty() {
                    continue;
                }
                checked += 1;
                let helps: Vec<Option<String>> = paths.iter().map(|p| help_of(p)).collect();
                for (p, h) in paths.iter().zip(&helps) {
                    if h.is_none() {
                        problems.push(format!(
                            "{file}:{}: `gamegate {}` is not a command (in `{invocation}`)",
                            n + 1,
                            p.join(" ")
                        ));
                    }
                }
                for t in &tokens {
                    let flag = t
                        .trim_start_matches(['[', '('])
                        .split(['=', ']', ',', ')', '`', '.'])
                        .next()
                        .unwrap();
                    let Some(name) = flag.strip_prefix("--") else {
                        continue;
                    };
                    if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                    {
                        continue;
                    }
                    let known = helps.iter().flatten().any(|h| {
                        h.match_indices(flag).any(|(at, _)| {
                            !h[at + flag.len()..]
                                .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
                        })
                    });
                    if !known && helps.iter().any(Option::is_some) {
                        problems.push(format!(
                            "{file}:{}: `{flag}` is not an option of `gamegate {}` (in `{invocation}`)",
                            n + 1,
                            paths[0].join(" ")
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} named command(s) or option(s) the binary does not have:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked >= 100, "only {checked} gamegate invocations found");
}

// ---------------------------------------------------------------------------------------
// Words a reader of this repository cannot resolve

/// Where `text` names something outside the repository: the planning documents of the work
/// ("the seed", its service names `API_Father`, `API_1`, `API_4`), issue numbers ("issue 6",
/// "the issue's targets") and numbered sections (`API.md §4`) that docs/API.md does not
/// have. Each hit as `line: excerpt`.
fn outside_words(text: &str) -> Vec<String> {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        let whole = |needle: &str, haystack: &str| {
            haystack.match_indices(needle).any(|(at, _)| {
                !word(haystack[..at].chars().next_back())
                    && !word(haystack[at + needle.len()..].chars().next())
            })
        };
        let found = whole("issue", &lower)
            || whole("the seed", &lower)
            || lower.contains("seed's")
            || ["API_Father", "API_1", "API_4"]
                .iter()
                .any(|name| whole(name, line))
            || line.contains("API.md §");
        if found {
            hits.push(format!("{}: {}", n + 1, line.trim()));
        }
    }
    hits
}

#[test]
fn outside_words_are_found_and_ordinary_ones_are_not() {
    for text in [
        "Against the issue's targets",
        "## The edge (issue: public edge)",
        "the issue-8 targets",
        "as the seed says",
        "keep the seed's names",
        "`serve register` (API_Father)",
        "the status service (API_1).",
        "The ban jail (API.md §4)",
    ] {
        assert_eq!(outside_words(text).len(), 1, "{text}");
    }
    for text in [
        "gamegate_jail_bans_issued_total",
        "seed 42, 1% cheaters",
        "--seed S",
        "seeded 5000 synthetic battles",
        "analytics.seed_demo_history",
        "API_10 is no name of ours",
    ] {
        assert!(outside_words(text).is_empty(), "{text}");
    }
}

/// README.md, CHANGELOG.md, docs/*.md and every command's `--help` speak of what is in
/// this repository only: a reader cannot resolve "the seed", "issue 6" or "API.md §4".
#[test]
fn user_facing_text_names_nothing_outside_the_repository() {
    let mut texts: Vec<(String, String)> = doc_files()
        .into_iter()
        .chain(["CHANGELOG.md".to_string(), "docs/openapi.json".to_string()])
        .map(|file| {
            let text = fs::read_to_string(repo_root().join(&file)).unwrap();
            (file, text)
        })
        .collect();
    // Help of the binary, its subcommands and theirs.
    let help = |path: &[String]| -> String {
        let out = binary::command().args(path).arg("--help").output().unwrap();
        assert!(out.status.success(), "gamegate {path:?} --help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let subcommands = |help: &str| -> Vec<String> {
        help.split("\nCommands:\n")
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .take_while(|l| l.starts_with("  "))
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|name| *name != "help")
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut paths: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = paths.pop() {
        let text = help(&path);
        if path.len() < 2 {
            for name in subcommands(&text) {
                let mut deeper = path.clone();
                deeper.push(name);
                paths.push(deeper);
            }
        }
        texts.push((format!("gamegate {} --help", path.join(" ")), text));
    }
    assert!(
        texts.len() > 30,
        "{} texts: docs and help were found",
        texts.len()
    );
    let problems: Vec<String> = texts
        .iter()
        .flat_map(|(name, text)| {
            outside_words(text)
                .into_iter()
                .map(move |hit| format!("{name}:{hit}"))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "words that point outside the repository:\n{}",
        problems.join("\n")
    );
}

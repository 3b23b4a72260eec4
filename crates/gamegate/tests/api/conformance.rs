//! `gamegate gameserver check` (the conformance kit) run as the real binary
//! over real sockets: it passes against the mock (`gamegate gameserver
//! mock`), the Python reference server (examples/gameserver-v1, a real
//! `python3` process) and a correct test server, and fails with the specific
//! ✗ line against deliberately broken servers written here: no auth check,
//! ids not echoed, case-sensitive duplicates, `exists` that answers false
//! when its lookup fails, a server that closes after one request. The
//! attacks on the kit itself (TLS, short login rules, a delete that keeps
//! the account, unannounced commands) are in `conformance_safety.rs`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gamegate_gameserver::protocol::MAX_LINE_BYTES;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::support::binary::{self, Process};
use crate::support::tools;

pub(super) const TOKEN: &str = "conformance-test-token-0123456789";
/// Longer than a whole kit run takes against a server that answers.
const KIT_WITHIN: Duration = Duration::from_secs(120);

// ---------------------------------------------------------------------------
// Running the kit

/// One run of `gamegate gameserver check`.
pub(super) struct KitRun {
    pub(super) output: Output,
}

impl KitRun {
    pub(super) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub(super) fn describe(&self) -> String {
        format!(
            "exit {}\n{}\n{}",
            self.output.status,
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// The ids of the `✗` lines of the text report.
    pub(super) fn failed(&self) -> Vec<String> {
        self.stdout()
            .lines()
            .filter_map(|l| l.strip_prefix("✗ "))
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }

    /// The `✓`/`✗`/`–` line of check `id`.
    pub(super) fn line(&self, id: &str) -> String {
        self.stdout()
            .lines()
            .find(|l| {
                l.get(4..)
                    .is_some_and(|rest| rest.starts_with(&format!("{id} ")))
            })
            .unwrap_or_else(|| panic!("no line for {id}:\n{}", self.describe()))
            .to_owned()
    }

    /// Asserts a non-zero exit and a `✗` line (with its `fix:`) for each of `ids`.
    pub(super) fn assert_fails_with(&self, ids: &[&str]) {
        assert!(!self.output.status.success(), "{}", self.describe());
        let failed = self.failed();
        for id in ids {
            assert!(
                failed.iter().any(|f| f == id),
                "expected ✗ {id}:\n{}",
                self.describe()
            );
        }
        let stdout = self.stdout();
        let fixes = stdout
            .lines()
            .filter(|l| l.trim_start().starts_with("fix: "));
        assert_eq!(fixes.count(), failed.len(), "one fix per ✗:\n{stdout}");
        let stderr = String::from_utf8_lossy(&self.output.stderr);
        assert!(stderr.contains("failed"), "{stderr}");
    }
}

/// Runs the kit against `addr` with `token` and the extra `GAMEGATE_*` settings.
pub(super) async fn kit(addr: &str, token: &str, json: bool, env: &[(&str, &str)]) -> KitRun {
    let mut cmd = binary::command();
    cmd.args(["gameserver", "check"])
        .env("GAMEGATE_GAME_SERVER__ADDR", addr)
        .env("GAMEGATE_GAME_SERVER__AUTH_TOKEN", token)
        .env("GAMEGATE_LOG__LEVEL", "warn");
    if json {
        cmd.arg("--json");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let output = tokio::time::timeout(KIT_WITHIN, cmd.output())
        .await
        .expect("the kit bounds its own run")
        .expect("the kit runs");
    KitRun { output }
}

/// The JSON report of a `--json` run, with every check's outcome by id.
pub(super) fn outcomes(run: &KitRun) -> (Value, HashMap<String, String>) {
    let report: Value = serde_json::from_slice(&run.output.stdout)
        .unwrap_or_else(|e| panic!("--json prints JSON ({e}):\n{}", run.describe()));
    let by_id = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (report, by_id)
}

/// Asserts that every one of the suite's 26 checks passed and the run says so.
pub(super) fn assert_all_pass(run: &KitRun) -> Value {
    assert!(run.output.status.success(), "{}", run.describe());
    let (report, by_id) = outcomes(run);
    assert_eq!(by_id.len(), 26, "{report:#}");
    let not_passed: Vec<_> = by_id.iter().filter(|(_, o)| *o != "pass").collect();
    assert!(not_passed.is_empty(), "{not_passed:?}\n{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["failed"], 0);
    assert_eq!(report["left_accounts"], json!([]));
    report
}

// ---------------------------------------------------------------------------
// A small protocol v1 server with one flaw at a time (test-only)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flaw {
    /// None: protocol v1 as docs/GAME_SERVER.md says.
    Correct,
    /// Serves every command without `auth`, and accepts any token.
    NoAuth,
    /// Numbers its replies itself (1, 2, 3 … per connection).
    IdsNotEchoed,
    /// Compares logins byte for byte.
    CaseSensitive,
    /// Its account lookup fails on every `exists`, and it answers false.
    ExistsFalseOnError,
    /// Its storage has two connections: a third lookup at once fails, and
    /// `exists` answers false for it.
    ExistsFalseUnderLoad,
    /// Closes the connection after answering one request.
    ClosesAfterOneRequest,
    /// Answers `delete` with ok and keeps the account.
    DeleteKeeps,
    /// Announces protocol 1 in its `auth` reply, with every command but `online`.
    NoOnlineAnnounced,
    /// Answers `set_password` of a login nobody has with ok, and creates the account.
    SetPasswordCreates,
    /// Announces protocol 1 in its `auth` reply, with every command but `set_password`.
    NoSetPasswordAnnounced,
}

/// The server's accounts: key → login as registered.
type Accounts = Arc<Mutex<HashMap<String, String>>>;
/// The logins whose password `set_password` changed, in order.
type PasswordChanges = Arc<Mutex<Vec<String>>>;

/// The connections of [`Flaw::ExistsFalseUnderLoad`]'s storage.
const STORAGE_CONNECTIONS: usize = 2;
/// How long one of its lookups holds a storage connection.
const LOOKUP_TAKES: Duration = Duration::from_millis(20);

pub(super) struct FlawedServer {
    addr: SocketAddr,
    accounts: Accounts,
    password_changes: PasswordChanges,
    _stop: DropGuard,
}

impl FlawedServer {
    pub(super) async fn start(flaw: Flaw) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accounts = Accounts::default();
        let password_changes = PasswordChanges::default();
        let changes = Arc::clone(&password_changes);
        let stop = CancellationToken::new();
        let (shared, token) = (Arc::clone(&accounts), stop.clone());
        let storage = Arc::new(tokio::sync::Semaphore::new(STORAGE_CONNECTIONS));
        tokio::spawn(async move {
            loop {
                let (stream, _) = tokio::select! {
                    _ = token.cancelled() => return,
                    accepted = listener.accept() => accepted.unwrap(),
                };
                let (accounts, token) = (Arc::clone(&shared), token.clone());
                let changes = Arc::clone(&changes);
                let storage = Arc::clone(&storage);
                tokio::spawn(async move {
                    tokio::select! {
                        _ = token.cancelled() => {}
                        _ = serve(stream, flaw, accounts, changes, storage) => {}
                    }
                });
            }
        });
        Self {
            addr,
            accounts,
            password_changes,
            _stop: stop.drop_guard(),
        }
    }

    pub(super) fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The logins whose password `set_password` changed.
    pub(super) fn password_changes(&self) -> Vec<String> {
        self.password_changes.lock().unwrap().clone()
    }

    pub(super) fn logins(&self) -> Vec<String> {
        self.accounts.lock().unwrap().values().cloned().collect()
    }

    /// Creates an account (a player's, not the kit's) for each of `logins`.
    pub(super) fn fill(&self, logins: impl IntoIterator<Item = String>) {
        let mut accounts = self.accounts.lock().unwrap();
        for login in logins {
            accounts.insert(gamegate_domain::normalise_login(&login), login);
        }
    }
}

fn key(flaw: Flaw, login: &str) -> String {
    match flaw {
        Flaw::CaseSensitive => login.to_owned(),
        _ => gamegate_domain::normalise_login(login),
    }
}

/// A v1 request read independently of the crate's own parser: the id, the
/// command and its string fields; `Err(id)` for an invalid one.
fn parse(line: &[u8]) -> Result<(u64, String, Value), u64> {
    let body = line.strip_suffix(b"\n").unwrap_or(line);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    if body.len() > MAX_LINE_BYTES {
        return Err(0);
    }
    let value: Value = serde_json::from_slice(body).map_err(|_| 0u64)?;
    let id = value["id"].as_u64().ok_or(0u64)?;
    let cmd = value["cmd"].as_str().ok_or(id)?.to_owned();
    let needs: &[&str] = match cmd.as_str() {
        "auth" => &["token"],
        "register" => &["login", "password"],
        "exists" | "delete" => &["login"],
        "set_password" => &["login", "password"],
        "ping" | "online" => &[],
        _ => return Err(id),
    };
    if needs.iter().any(|f| !value[*f].is_string()) {
        return Err(id);
    }
    Ok((id, cmd, value))
}

async fn serve(
    stream: TcpStream,
    flaw: Flaw,
    accounts: Accounts,
    changes: PasswordChanges,
    storage: Arc<tokio::sync::Semaphore>,
) {
    let mut io = BufReader::new(stream);
    let mut authenticated = false;
    let mut own_ids = 0u64;
    loop {
        let mut line = Vec::new();
        let limit = MAX_LINE_BYTES as u64 + 2;
        match (&mut io).take(limit).read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.last() != Some(&b'\n') && (line.len() as u64) < limit {
            return; // closed mid-line
        }
        let (id, cmd, request) = match parse(&line) {
            Ok(parsed) => parsed,
            Err(id) => {
                let reply = json!({"id": id, "ok": false, "error": "invalid"});
                let stream = io.get_mut();
                let _ = stream.write_all(format!("{reply}\n").as_bytes()).await;
                let _ = stream.shutdown().await;
                let mut sink = [0u8; 4096];
                let drain =
                    async { while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {} };
                let _ = tokio::time::timeout(Duration::from_millis(200), drain).await;
                return;
            }
        };
        let login = request["login"].as_str().unwrap_or_default();
        let reply = match cmd.as_str() {
            "auth" => {
                authenticated = flaw == Flaw::NoAuth || request["token"] == TOKEN;
                match (authenticated, flaw) {
                    (true, Flaw::NoOnlineAnnounced) => json!({"ok": true, "version": 1,
                        "capabilities": ["register", "exists", "delete", "ping", "set_password"]}),
                    (true, Flaw::NoSetPasswordAnnounced) => json!({"ok": true, "version": 1,
                        "capabilities": ["register", "exists", "delete", "ping", "online"]}),
                    (true, _) => json!({"ok": true}),
                    (false, _) => json!({"ok": false, "error": "unauthorized"}),
                }
            }
            _ if !authenticated && flaw != Flaw::NoAuth => {
                json!({"ok": false, "error": "unauthorized"})
            }
            "register" => {
                let mut accounts = accounts.lock().unwrap();
                let next_id = 1001 + accounts.len();
                match accounts.entry(key(flaw, login)) {
                    std::collections::hash_map::Entry::Occupied(_) => {
                        json!({"ok": false, "error": "login_taken"})
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(login.to_owned());
                        json!({"ok": true, "account_id": next_id})
                    }
                }
            }
            "exists" => {
                let found = accounts.lock().unwrap().contains_key(&key(flaw, login));
                let lookup: Result<bool, &str> = match flaw {
                    Flaw::ExistsFalseOnError => Err("storage unavailable"),
                    Flaw::ExistsFalseUnderLoad => match storage.try_acquire() {
                        Ok(_connection) => {
                            tokio::time::sleep(LOOKUP_TAKES).await;
                            Ok(found)
                        }
                        Err(_) => Err("no free storage connection"),
                    },
                    _ => Ok(found),
                };
                // The flaw: the error is swallowed as "no such account".
                json!({"ok": true, "exists": lookup.unwrap_or(false)})
            }
            "delete" => {
                if flaw != Flaw::DeleteKeeps {
                    accounts.lock().unwrap().remove(&key(flaw, login));
                }
                json!({"ok": true})
            }
            "set_password" => {
                let mut accounts = accounts.lock().unwrap();
                let key = key(flaw, login);
                match (accounts.contains_key(&key), flaw) {
                    (true, _) => {
                        changes.lock().unwrap().push(login.to_owned());
                        json!({"ok": true})
                    }
                    (false, Flaw::SetPasswordCreates) => {
                        accounts.insert(key, login.to_owned());
                        json!({"ok": true})
                    }
                    (false, _) => json!({"ok": false, "error": "not_found"}),
                }
            }
            "online" => json!({"ok": true, "online": 1}),
            _ => json!({"ok": true}),
        };
        let mut reply = reply;
        own_ids += 1;
        reply["id"] = json!(match flaw {
            Flaw::IdsNotEchoed => own_ids,
            _ => id,
        });
        if io
            .get_mut()
            .write_all(format!("{reply}\n").as_bytes())
            .await
            .is_err()
            || flaw == Flaw::ClosesAfterOneRequest
        {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// Passing servers

#[tokio::test]
async fn the_kit_passes_against_a_correct_server_and_leaves_no_account() {
    let server = FlawedServer::start(Flaw::Correct).await;
    let run = kit(&server.addr(), TOKEN, true, &[]).await;
    let report = assert_all_pass(&run);
    assert!(report["connector"].as_str().unwrap().starts_with("v1 ("));
    assert_eq!(report["addr"], server.addr());
    assert!(server.logins().is_empty(), "{:?}", server.logins());
}

/// Waits for the stdout line of `process` that starts with `prefix` and
/// returns the address after it.
async fn listening_addr(process: &Process, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(line) = process.stdout().iter().find(|l| l.starts_with(prefix)) {
            return line[prefix.len()..].trim().to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no `{prefix}` line; stdout: {:?}; stderr: {:?}",
            process.stdout(),
            process.stderr()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_kit_passes_against_the_mock() {
    let mut cmd = binary::command();
    cmd.args(["gameserver", "mock", "--listen", "127.0.0.1:0"])
        .env("GAMEGATE_GAME_SERVER__AUTH_TOKEN", TOKEN)
        .env("GAMEGATE_LOG__LEVEL", "warn");
    let mock = Process::spawn_capturing_stderr(&mut cmd);
    let addr = listening_addr(&mock, "gamegate mock game server listening on ").await;
    let run = kit(&addr, TOKEN, true, &[]).await;
    assert_all_pass(&run);
}

/// The reference server of examples/gameserver-v1 as a `python3` process;
/// `None` (skipped) where python3 is missing outside CI.
struct Reference {
    process: Process,
    addr: String,
    accounts: PathBuf,
    _dir: tempfile::TempDir,
}

impl Reference {
    async fn start(accounts_in: Option<&Path>) -> Option<Self> {
        let python = tools::required(
            tools::which(&["python3"]),
            "python3",
            "apt-get install python3",
        )?;
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token.txt");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        let accounts = accounts_in
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dir.path().join("accounts.json"));
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gameserver-v1/server.py");
        let mut cmd = std::process::Command::new(python);
        cmd.arg(script)
            .args(["--listen", "127.0.0.1:0", "--token-file"])
            .arg(&token_file)
            .arg("--accounts")
            .arg(&accounts);
        let process = Process::spawn_capturing_stderr(&mut cmd);
        let addr = listening_addr(&process, "gameserver-v1 listening on ").await;
        Some(Self {
            process,
            addr,
            accounts,
            _dir: dir,
        })
    }

    fn stored(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.accounts).unwrap()).unwrap()
    }
}

#[tokio::test]
async fn the_kit_passes_against_the_python_reference_server() {
    let Some(reference) = Reference::start(None).await else {
        return;
    };
    let run = kit(&reference.addr, TOKEN, true, &[]).await;
    assert_all_pass(&run);
    // The run created accounts (written to the file) and deleted them all.
    let stored = reference.stored();
    assert_eq!(stored["accounts"], json!([]), "{stored}");
    assert!(stored["next_id"].as_u64().unwrap() > 1001, "{stored}");
    let log = reference.process.stderr().join("\n");
    assert!(!log.contains(TOKEN), "the token is never logged");
}

#[tokio::test]
async fn declared_game_rules_shape_what_the_kit_sends() {
    let Some(reference) = Reference::start(None).await else {
        return;
    };
    let run = kit(
        &reference.addr,
        TOKEN,
        false,
        &[
            ("GAMEGATE_GAME_SERVER__RULES__LOGIN_MAX_CHARS", "12"),
            ("GAMEGATE_GAME_SERVER__RULES__PASSWORD_MAX_CHARS", "16"),
            (
                "GAMEGATE_GAME_SERVER__RULES__PASSWORD_CHARSET",
                r"\x21-\x7E",
            ),
            ("GAMEGATE_GAME_SERVER__RULES__CASE_FOLDING", "ascii"),
        ],
    )
    .await;
    assert!(run.output.status.success(), "{}", run.describe());
    let rules = run.line("account_rules");
    assert!(
        rules.starts_with("✓")
            && rules.contains("login of 12 characters")
            && rules.contains("password of 16 characters")
            && !rules.contains("a space"),
        "{rules}"
    );
    let folding = run.line("case_folding");
    assert!(folding.contains("case_folding = \"ascii\""), "{folding}");
    assert!(run.stdout().contains("case: ascii"), "{}", run.stdout());
}

#[tokio::test]
async fn a_reference_server_whose_storage_fails_answers_internal_and_the_kit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let Some(reference) = Reference::start(Some(&store.join("accounts.json"))).await else {
        return;
    };
    // The accounts file can no longer be written: every register fails.
    std::fs::remove_dir(&store).unwrap();
    let run = kit(&reference.addr, TOKEN, false, &[]).await;
    run.assert_fails_with(&["register"]);
    let line = run.line("register");
    assert!(line.contains("`internal`"), "{line}");
    assert!(
        run.line("exists_unknown").starts_with("✓"),
        "{}",
        run.stdout()
    );
    assert!(run.line("exists_after_create").starts_with("–"));
}

// ---------------------------------------------------------------------------
// Broken servers: each caught by its own ✗ line

#[tokio::test]
async fn a_server_without_an_auth_check_fails_auth_required() {
    let server = FlawedServer::start(Flaw::NoAuth).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["auth_required", "auth_wrong_token"]);
    let line = run.line("auth_required");
    assert!(line.contains("does not require auth"), "{line}");
    assert!(run.line("register").starts_with("✓"), "{}", run.stdout());
}

#[tokio::test]
async fn a_server_that_does_not_echo_ids_fails_ids_echoed() {
    let server = FlawedServer::start(Flaw::IdsNotEchoed).await;
    let run = kit(&server.addr(), TOKEN, true, &[]).await;
    assert!(!run.output.status.success(), "{}", run.describe());
    let (report, by_id) = outcomes(&run);
    assert_eq!(by_id["ids_echoed"], "fail", "{report:#}");
    assert_eq!(by_id["auth_required"], "pass", "{report:#}");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "ids_echoed")
        .unwrap();
    assert!(
        check["reason"]
            .as_str()
            .unwrap()
            .contains("was answered with id 1"),
        "{check}"
    );
    assert!(check["fix"].as_str().unwrap().contains("`id`"), "{check}");
    // Nothing through the connector can work, and nothing was created.
    assert_eq!(by_id["register"], "not_applicable");
    assert_eq!(report["failed"], 1, "{report:#}");
}

#[tokio::test]
async fn a_server_with_case_sensitive_logins_fails_case_folding_and_is_cleaned_up() {
    let server = FlawedServer::start(Flaw::CaseSensitive).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["case_folding"]);
    assert_eq!(
        run.failed(),
        vec!["case_folding".to_owned()],
        "{}",
        run.stdout()
    );
    let line = run.line("case_folding");
    assert!(line.contains("created a second account"), "{line}");
    // Both accounts the case-sensitive server made were deleted.
    assert!(run.line("cleanup").starts_with("✓"), "{}", run.stdout());
    assert!(server.logins().is_empty(), "{:?}", server.logins());

    // Declared as case-sensitive, the same server passes.
    let run = kit(
        &server.addr(),
        TOKEN,
        false,
        &[("GAMEGATE_GAME_SERVER__RULES__CASE_FOLDING", "sensitive")],
    )
    .await;
    assert!(run.output.status.success(), "{}", run.describe());
    assert!(
        run.line("case_folding").starts_with("– "),
        "{}",
        run.stdout()
    );
}

#[tokio::test]
async fn a_server_whose_exists_answers_false_on_a_failed_lookup_fails_exists_after_create() {
    let server = FlawedServer::start(Flaw::ExistsFalseOnError).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["exists_after_create", "exists_under_load"]);
    assert_eq!(
        run.failed().len(),
        2,
        "reported once each:\n{}",
        run.stdout()
    );
    let line = run.line("exists_after_create");
    assert!(
        line.contains("answered false") && line.contains("which register created"),
        "{line}"
    );
    assert!(
        run.stdout().contains("never false"),
        "the fix says what to answer instead:\n{}",
        run.stdout()
    );
    assert!(server.logins().is_empty(), "{:?}", server.logins());
}

#[tokio::test]
async fn a_server_whose_exists_answers_false_when_its_storage_is_busy_fails_exists_under_load() {
    let server = FlawedServer::start(Flaw::ExistsFalseUnderLoad).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["exists_under_load"]);
    assert_eq!(
        run.failed(),
        vec!["exists_under_load".to_owned()],
        "{}",
        run.stdout()
    );
    let line = run.line("exists_under_load");
    assert!(line.contains("(which exists)"), "{line}");
    assert!(run.line("exists_after_create").starts_with("✓"));
}

#[tokio::test]
async fn a_server_that_closes_after_one_request_fails_connection_kept() {
    let server = FlawedServer::start(Flaw::ClosesAfterOneRequest).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["connection_kept"]);
    assert_eq!(
        run.failed(),
        vec!["connection_kept".to_owned()],
        "{}",
        run.stdout()
    );
    let line = run.line("connection_kept");
    assert!(line.contains("after 1 request(s)"), "{line}");
    assert!(
        run.line("auth_required").starts_with("✓"),
        "{}",
        run.stdout()
    );
    let register = run.line("register");
    assert!(
        register.starts_with("– ")
            && register.contains("connection_kept failed: the server closed the connection"),
        "the reason names the real failure: {register}"
    );
}

#[tokio::test]
async fn a_set_password_that_creates_a_missing_account_fails_and_the_kit_deletes_it() {
    let server = FlawedServer::start(Flaw::SetPasswordCreates).await;
    let run = kit(&server.addr(), TOKEN, false, &[]).await;
    run.assert_fails_with(&["set_password_missing"]);
    assert_eq!(
        run.failed(),
        vec!["set_password_missing".to_owned()],
        "{}",
        run.stdout()
    );
    let line = run.line("set_password_missing");
    assert!(line.contains("created the account"), "{line}");
    assert!(run.stdout().contains("`not_found`"), "{}", run.stdout());
    assert!(
        run.line("set_password").starts_with("✓"),
        "{}",
        run.stdout()
    );
    let changed = server.password_changes();
    assert!(
        changed.len() == 1 && changed[0].starts_with("gg_check_"),
        "the kit changed only its own account's password: {changed:?}"
    );
    // The account the flawed set_password created is the cleanup's.
    let cleanup = run.line("cleanup");
    assert!(
        cleanup.starts_with("✓ ") && cleanup.contains("gg_check_"),
        "{cleanup}"
    );
    assert!(server.logins().is_empty(), "{:?}", server.logins());
}

#[tokio::test]
async fn a_wrong_token_in_the_configuration_fails_auth_accepted() {
    let server = FlawedServer::start(Flaw::Correct).await;
    let run = kit(&server.addr(), "not-the-servers-token", false, &[]).await;
    run.assert_fails_with(&["auth_accepted"]);
    let stdout = run.stdout();
    assert!(
        stdout.contains("GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("not-the-servers-token"),
        "no token in the report"
    );
}

/// Whether `password` is what the reference server stored for `login`
/// (its PBKDF2-SHA256 record, checked by python3 as the game's login would).
fn reference_accepts(reference: &Reference, login: &str, password: &str) -> bool {
    let stored = reference.stored();
    let record = stored["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == login)
        .unwrap_or_else(|| panic!("{login} not stored: {stored}"));
    let check = "import hashlib,hmac,sys\n\
                 _, rounds, salt, digest = sys.argv[1].split('$')\n\
                 got = hashlib.pbkdf2_hmac('sha256', sys.argv[2].encode(), bytes.fromhex(salt), int(rounds))\n\
                 sys.exit(0 if hmac.compare_digest(got.hex(), digest) else 3)";
    let out = std::process::Command::new("python3")
        .args(["-c", check, record["password"].as_str().unwrap(), password])
        .output()
        .unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!("the check failed: {out:?}"),
    }
}

/// gamegate in front of the Python reference server: a password change
/// reaches it (the new password logs in, the old one no longer does) and a
/// deletion removes the account from its file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_changes_and_deletions_reach_the_python_reference_server() {
    use crate::support::{TEST_API_KEY, player, sqlite_in, start, test_config};
    let Some(reference) = Reference::start(None).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config();
    sqlite_in(&mut config, dir.path());
    config.game_server.embedded_mock = false;
    config.game_server.addr = reference.addr.clone();
    config.game_server.auth_token = TOKEN.to_owned().into();
    // The reference server hashes with PBKDF2 on every call: room for it.
    config.game_server.call_timeout_ms = 3_000;
    config.reconciler.grace_ms = 5_000;
    let app = start(config).await;
    let http = reqwest::Client::new();
    let base = format!("http://{}", app.public());
    let send = |req: reqwest::RequestBuilder| async {
        let r = req.header("x-api-key", TEST_API_KEY).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    for login in ["Ref_changer", "Ref_leaver"] {
        let (status, body) = send(
            http.post(format!("{base}/api/register"))
                .json(&player(login, 77)),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    assert!(reference_accepts(&reference, "Ref_changer", "secret12"));
    let url = format!("{base}/api/accounts/ref_changer/password");
    let (status, body) = send(
        http.post(&url)
            .json(&json!({"old_password": "secret12", "new_password": "n3w-secret"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(reference_accepts(&reference, "Ref_changer", "n3w-secret"));
    assert!(!reference_accepts(&reference, "Ref_changer", "secret12"));
    let (status, body) = send(
        http.post(&url)
            .json(&json!({"old_password": "secret12", "new_password": "other-pass"})),
    )
    .await;
    assert_eq!(
        (status, body["detail"].as_str()),
        (403, Some("wrong_password"))
    );
    assert!(reference_accepts(&reference, "Ref_changer", "n3w-secret"));

    let (status, body) = send(http.delete(format!("{base}/api/accounts/Ref_leaver"))).await;
    assert_eq!(status, 200, "{body}");
    let stored = reference.stored();
    let logins: Vec<_> = stored["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["login"].clone())
        .collect();
    assert_eq!(logins, [json!("Ref_changer")], "{stored}");
    assert!(
        app.db
            .accounts()
            .details("Ref_leaver")
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

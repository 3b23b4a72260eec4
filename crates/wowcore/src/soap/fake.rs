//! A fake worldserver SOAP endpoint for tests and benchmarks: HTTP/1.1 on
//! loopback, one connection at a time and closed after the answer (as gSOAP
//! serves `ACSoap`/`TCSoap`), basic auth checked, the envelope parsed, and
//! `account create`, `account delete`, `account set password` and
//! `server info` answered with the cores' English texts and faults. Accounts
//! live in memory or in a real auth database ([`AuthDb`]).
//!
//! A script of [`FakeMode`]s, cycled per request, injects faults: a reply
//! held past the client's timeout, a connection closed before or after the
//! command ran, a generic fault, a garbled answer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use gamegate_gameserver::RegisterError;
use stop::CancelOnDrop;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::envelope;
use crate::authdb::AuthDb;
use crate::core::Core;
use crate::srp6;

/// What the fake does with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeMode {
    /// Runs the command and answers.
    Normal,
    /// Runs the command, then holds the answer this long.
    SlowReply(Duration),
    /// Reads the request and closes without running it.
    DropBeforeRun,
    /// Runs the command and closes without answering.
    DropAfterRun,
    /// Answers a fault without running the command (a failing world thread).
    Fault,
    /// Runs the command and answers something that is not SOAP.
    Garbage,
}

/// How the fake is set up.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Whose URN, limits and texts it uses.
    pub core: Core,
    /// The administrator account SOAP accepts (compared case-insensitively,
    /// as `AccountMgr::GetId` does).
    pub user: String,
    /// Its password (compared after ASCII upper-casing, as `CheckPassword`).
    pub password: String,
    /// An account that authenticates but whose level is too low (HTTP 403).
    pub low_level_user: Option<String>,
    /// Where accounts go: a real auth database, or memory when `None`.
    pub auth_db: Option<AuthDb>,
}

#[derive(Default)]
struct Memory {
    accounts: HashMap<String, (u64, srp6::Salt, srp6::Verifier)>,
    next_id: u64,
}

struct Shared {
    config: FakeConfig,
    script: Mutex<Vec<FakeMode>>,
    requests: AtomicU64,
    commands_run: AtomicU64,
    memory: Mutex<Memory>,
}

/// A running fake; it stops when dropped.
pub struct FakeWorldserver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: CancelOnDrop,
}

mod stop {
    /// Aborts the accept loop when dropped.
    pub struct CancelOnDrop(pub tokio::task::AbortHandle);

    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
}

impl FakeWorldserver {
    /// Listens on an ephemeral loopback port.
    ///
    /// # Errors
    /// The port cannot be bound.
    pub async fn start(config: FakeConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            script: Mutex::new(vec![FakeMode::Normal]),
            requests: AtomicU64::new(0),
            commands_run: AtomicU64::new(0),
            memory: Mutex::new(Memory {
                next_id: 1,
                ..Memory::default()
            }),
        });
        let task = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self {
            addr,
            shared,
            _stop: CancelOnDrop(task.abort_handle()),
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Sets the modes cycled over the following requests (empty: normal).
    pub fn set_script(&self, script: Vec<FakeMode>) {
        *self.shared.script.lock().expect("script lock") = script;
    }

    /// Requests received (authenticated or not).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Commands that ran (whatever their outcome).
    pub fn commands_run(&self) -> u64 {
        self.shared.commands_run.load(Ordering::Relaxed)
    }

    /// The upper-cased usernames held in memory (empty with an auth database).
    pub fn memory_accounts(&self) -> Vec<String> {
        let memory = self.shared.memory.lock().expect("memory lock");
        let mut names: Vec<String> = memory.accounts.keys().cloned().collect();
        names.sort();
        names
    }

    /// The salt and verifier held in memory for `username` (upper-cased here).
    pub fn memory_logon(&self, username: &str) -> Option<(srp6::Salt, srp6::Verifier)> {
        let memory = self.shared.memory.lock().expect("memory lock");
        memory
            .accounts
            .get(&srp6::upper_latin(username))
            .map(|(_, s, v)| (*s, *v))
    }
}

/// One connection at a time, as gSOAP's accept loop in `ACSoapThread`.
async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: do not spin.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = tokio::time::timeout(Duration::from_secs(30), handle(stream, &shared)).await;
    }
}

async fn handle(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some((headers, body)) = read_request(&mut stream).await? else {
        return Ok(());
    };
    // Counted under the script's lock: once `requests()` shows this request,
    // a later `set_script` cannot change the mode it gets.
    let mode = {
        let script = shared.script.lock().expect("script lock");
        let n = shared.requests.fetch_add(1, Ordering::Relaxed);
        script
            .get(n as usize % script.len().max(1))
            .copied()
            .unwrap_or(FakeMode::Normal)
    };
    let config = &shared.config;
    let (status, answer) = match authorize(&headers, config) {
        Err(status) => (status, String::new()),
        Ok(()) => match envelope::parse_request(&body, config.core.soap_urn()) {
            Err(problem) => (500, envelope::fault(&problem)),
            Ok(command) => match mode {
                FakeMode::DropBeforeRun => return Ok(()),
                FakeMode::Fault => (500, envelope::fault("The world thread failed.")),
                _ => {
                    shared.commands_run.fetch_add(1, Ordering::Relaxed);
                    match run(shared, &command).await {
                        Ok(text) => (200, envelope::response(config.core.soap_urn(), &text)),
                        Err(text) => (500, envelope::fault(&text)),
                    }
                }
            },
        },
    };
    let answer = match mode {
        FakeMode::DropAfterRun => return Ok(()),
        FakeMode::SlowReply(delay) => {
            tokio::time::sleep(delay).await;
            answer
        }
        FakeMode::Garbage => "<html><body>502 Bad Gateway</body></html>".to_owned(),
        _ => answer,
    };
    let reason = match status {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: gSOAP/2.8\r\nContent-Type: text/xml; \
         charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        answer.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(answer.as_bytes()).await?;
    stream.shutdown().await
}

/// Headers (lower-cased names) and body of one request; `None` when the
/// client closed first.
async fn read_request(
    stream: &mut TcpStream,
) -> std::io::Result<Option<(HashMap<String, String>, String)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buf.len() > 16 * 1024 {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .min(super::MAX_ANSWER_BYTES);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Ok(Some((headers, String::from_utf8_lossy(&body).into_owned())))
}

/// 401 without (or with wrong) credentials, 403 for the low-level account.
fn authorize(headers: &HashMap<String, String>, config: &FakeConfig) -> Result<(), u16> {
    let credentials = headers
        .get("authorization")
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(401u16)?;
    let (user, password) = credentials.split_once(':').ok_or(401u16)?;
    let upper = |s: &str| srp6::upper_latin(s);
    if config
        .low_level_user
        .as_deref()
        .is_some_and(|low| upper(low) == upper(user))
    {
        return Err(403);
    }
    if upper(user) == upper(&config.user) && upper(password) == upper(&config.password) {
        Ok(())
    } else {
        Err(401)
    }
}

/// Runs a console command: `Ok(output)` or `Err(fault text)`.
async fn run(shared: &Shared, command: &str) -> Result<String, String> {
    let core = shared.config.core;
    let args: Vec<&str> = command.split(' ').filter(|a| !a.is_empty()).collect();
    match args.as_slice() {
        ["account", "create", name, password, ..] => {
            if name.contains('@') {
                return Err(
                    "Account name cannot contain '@': use the bnet account commands.".into(),
                );
            }
            if name.chars().count() > core.login_max_chars() {
                return Err(format!(
                    "Account name can't be longer than {} characters (client limit), account \
                     not created!",
                    core.login_max_chars()
                ));
            }
            if password.chars().count() > core.password_max_chars() {
                return Err(format!(
                    "Password can't be longer than {} characters (client limit), account not \
                     created!",
                    core.password_max_chars()
                ));
            }
            let username = srp6::upper_latin(name);
            let (salt, verifier) = srp6::registration_data(&username, password);
            match &shared.config.auth_db {
                Some(db) => match db.insert_account(&username, &salt, &verifier).await {
                    Ok(_) => {}
                    Err(RegisterError::LoginTaken) => {
                        return Err("Account with this name already exist!".into());
                    }
                    Err(_) => return Err("The account could not be created (SQL error).".into()),
                },
                None => {
                    let mut memory = shared.memory.lock().expect("memory lock");
                    if memory.accounts.contains_key(&username) {
                        return Err("Account with this name already exist!".into());
                    }
                    let id = memory.next_id;
                    memory.next_id += 1;
                    memory.accounts.insert(username, (id, salt, verifier));
                }
            }
            Ok(format!("Account created: {name}\r\n"))
        }
        ["account", "delete", name] => {
            let username = srp6::upper_latin(name);
            let existed = match &shared.config.auth_db {
                Some(db) => {
                    let found = db.account_id(&username).await.map_err(|_| "SQL error")?;
                    if found.is_some() {
                        db.delete_account(&username)
                            .await
                            .map_err(|_| "SQL error")?;
                    }
                    found.is_some()
                }
                None => shared
                    .memory
                    .lock()
                    .expect("memory lock")
                    .accounts
                    .remove(&username)
                    .is_some(),
            };
            if existed {
                Ok(format!("Account deleted: {name}\r\n"))
            } else {
                Err(format!("Account {name} does not exist"))
            }
        }
        ["account", "set", "password", name, first, second] => {
            if first != second {
                return Err("The passwords do not match".into());
            }
            let username = srp6::upper_latin(name);
            let (salt, verifier) = srp6::registration_data(&username, first);
            let changed = match &shared.config.auth_db {
                Some(db) => db
                    .set_logon(&username, &salt, &verifier)
                    .await
                    .map_err(|_| "SQL error")?,
                None => {
                    let mut memory = shared.memory.lock().expect("memory lock");
                    match memory.accounts.get_mut(&username) {
                        Some(entry) => {
                            (entry.1, entry.2) = (salt, verifier);
                            true
                        }
                        None => false,
                    }
                }
            };
            if changed {
                Ok("The password was changed\r\n".into())
            } else {
                Err(format!("Account {name} does not exist"))
            }
        }
        ["account", "create", ..] | ["account", "set", "password", ..] => {
            Err("Incorrect syntax.".into())
        }
        ["server", "info"] => Ok(format!(
            "{} rev. fake (gamegate test worldserver)\r\nConnected players: 0. Characters in \
             world: 0.\r\n",
            core.name()
        )),
        _ => Err("There is no such command.".into()),
    }
}

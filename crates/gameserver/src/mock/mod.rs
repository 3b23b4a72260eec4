//! In-memory mock game server speaking protocol v1, optionally over TLS,
//! for tests and for running gamegate without a real game server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod session;

use session::accept_loop;

use crate::framing::{LineRead, read_line};
use crate::protocol::{
    Command, ERR_INTERNAL, ERR_INVALID, ERR_LOGIN_TAKEN, ERR_NOT_FOUND, ERR_UNAUTHORIZED,
    PROTOCOL_VERSION, ProtocolError, Reply, Request, parse_request_line,
};

/// What the mock announces in its `auth` reply besides
/// [`PROTOCOL_VERSION`]: every command of protocol v1.
pub const MOCK_CAPABILITIES: &[&str] = crate::protocol::COMMANDS;

/// First account id handed out.
const FIRST_ACCOUNT_ID: u64 = 1001;
/// How long a re-bind of the listening address is retried.
const REBIND_PATIENCE: Duration = Duration::from_secs(2);
/// How long a connection closed for an invalid line keeps draining input
/// (so the peer reads the `invalid` reply rather than a reset).
const LINGER: Duration = Duration::from_millis(200);
/// Bound on a client's TLS handshake with a TLS mock.
const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// How the mock treats the commands that change an account — `register`,
/// `delete`, `set_password` (other commands are unaffected, except under
/// `Refuse`, where nothing is reachable).
#[derive(Clone, Debug, PartialEq)]
pub enum Behaviour {
    /// Process normally.
    Normal,
    /// Stop listening (connections are refused) and close every open
    /// connection. Switching to another behaviour re-binds the same address.
    Refuse,
    /// Sleep, then process normally (the account is created even if the
    /// client gave up meanwhile).
    Delay(Duration),
    /// Read the command's line, then close the connection without doing
    /// anything.
    DropAfterRead,
    /// Reply `internal` without doing anything.
    InternalError,
}

/// Starts mock game servers.
#[derive(Debug)]
pub struct MockGameServer;

/// How a mock starts besides its address and token
/// ([`MockGameServer::start_with`]).
#[derive(Clone, Default)]
pub struct MockOptions {
    /// Keep the accounts in this journal (see [`read_state`]) so they
    /// survive a restart of the process.
    pub state: Option<PathBuf>,
    /// Serve TLS with this configuration (see
    /// [`tls::server_config`](crate::tls::server_config)); `None`: plain TCP.
    /// A client that does not complete the handshake within 5 s is dropped.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::fmt::Debug for MockOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockOptions")
            .field("state", &self.state)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

impl MockGameServer {
    /// Binds `addr` (port 0 allowed) and serves until `shutdown` is
    /// cancelled.
    /// Errs when `addr` cannot be bound.
    pub async fn start(
        addr: SocketAddr,
        auth_token: String,
        shutdown: CancellationToken,
    ) -> std::io::Result<MockHandle> {
        Self::start_with_state(addr, auth_token, None, shutdown).await
    }

    /// [`MockGameServer::start`], keeping the accounts in `state` (a journal,
    /// see [`read_state`]) so they survive a restart of the process, as a
    /// real game server's would: the soak test kills and restarts it.
    /// Errs when the state file cannot be read or opened for appending, or
    /// `addr` cannot be bound.
    pub async fn start_with_state(
        addr: SocketAddr,
        auth_token: String,
        state: Option<&Path>,
        shutdown: CancellationToken,
    ) -> std::io::Result<MockHandle> {
        let options = MockOptions {
            state: state.map(Path::to_owned),
            tls: None,
        };
        Self::start_with(addr, auth_token, options, shutdown).await
    }

    /// [`MockGameServer::start`] serving TLS with `tls` (every connection
    /// must complete a handshake first).
    /// Errs when `addr` cannot be bound.
    pub async fn start_tls(
        addr: SocketAddr,
        auth_token: String,
        tls: Arc<rustls::ServerConfig>,
        shutdown: CancellationToken,
    ) -> std::io::Result<MockHandle> {
        let options = MockOptions {
            state: None,
            tls: Some(tls),
        };
        Self::start_with(addr, auth_token, options, shutdown).await
    }

    /// Starts a mock as `options` say (state journal, TLS).
    /// Errs when the state file cannot be read or opened for appending, or
    /// `addr` cannot be bound.
    pub async fn start_with(
        addr: SocketAddr,
        auth_token: String,
        options: MockOptions,
        shutdown: CancellationToken,
    ) -> std::io::Result<MockHandle> {
        let (accounts, journal) = match options.state.as_deref() {
            Some(path) => {
                let accounts = Accounts::from_journal(&read_state(path)?);
                let journal = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?;
                (accounts, Some(journal))
            }
            None => (Accounts::default(), None),
        };
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            addr: local_addr,
            auth_token,
            tls: options.tls.map(tokio_rustls::TlsAcceptor::from),
            shutdown: shutdown.clone(),
            stopped: CancellationToken::new(),
            behaviour: Mutex::new(Behaviour::Normal),
            accounts: Mutex::new(accounts),
            journal: journal.map(Mutex::new),
            register_calls: AtomicU64::new(0),
            accepted_connections: AtomicU64::new(0),
            online: AtomicU64::new(0),
            online_shown: Mutex::new(None),
            control: tokio::sync::Mutex::new(Control {
                closed: false,
                listening: None,
            }),
        });
        shared.control.lock().await.listening = Some(Listening::spawn(&shared, listener));
        tracing::info!(addr = %local_addr, tls = shared.tls.is_some(), "mock game server listening");

        let supervisor = Arc::clone(&shared);
        tokio::spawn(async move {
            supervisor.shutdown.cancelled().await;
            let listening = {
                let mut control = supervisor.control.lock().await;
                control.closed = true;
                control.listening.take()
            };
            if let Some(listening) = listening {
                listening.stop().await;
            }
            tracing::info!(addr = %supervisor.addr, "mock game server stopped");
            supervisor.stopped.cancel();
        });

        Ok(MockHandle { shared })
    }
}

/// Handle to a running mock: inspect its state and change its behaviour.
#[derive(Clone)]
pub struct MockHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockHandle")
            .field("addr", &self.shared.addr)
            .field("behaviour", &*lock(&self.shared.behaviour))
            .finish_non_exhaustive()
    }
}

impl MockHandle {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Changes the behaviour. Switching to [`Behaviour::Refuse`] returns once
    /// the listener is closed and every connection is closed; switching away
    /// from it returns once the same address is listening again.
    pub async fn set_behaviour(&self, behaviour: Behaviour) {
        let shared = &self.shared;
        let mut control = shared.control.lock().await;
        let refuse = behaviour == Behaviour::Refuse;
        tracing::info!(addr = %shared.addr, ?behaviour, "mock game server behaviour changed");
        *lock(&shared.behaviour) = behaviour;
        if control.closed {
            return;
        }
        if refuse {
            if let Some(listening) = control.listening.take() {
                listening.stop().await;
            }
        } else if control.listening.is_none() {
            match bind_with_retry(shared.addr).await {
                Ok(listener) => control.listening = Some(Listening::spawn(shared, listener)),
                Err(err) => {
                    tracing::error!(addr = %shared.addr, %err, "mock game server could not listen again");
                }
            }
        }
    }

    /// Whether the login exists (case-insensitively).
    pub fn contains(&self, login: &str) -> bool {
        lock(&self.shared.accounts)
            .by_key
            .contains_key(&normalise(login))
    }

    /// How many accounts the mock holds now.
    pub fn account_count(&self) -> usize {
        lock(&self.shared.accounts).by_key.len()
    }

    /// Registered logins as originally spelled (sorted by key).
    pub fn logins(&self) -> Vec<String> {
        let accounts = lock(&self.shared.accounts);
        let mut entries: Vec<_> = accounts.by_key.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries
            .into_iter()
            .map(|(_, account)| account.login.clone())
            .collect()
    }

    /// How many times the account's password was changed (`set_password`),
    /// `None` when no account has the login.
    pub fn password_changes(&self, login: &str) -> Option<u64> {
        lock(&self.shared.accounts)
            .by_key
            .get(&normalise(login))
            .map(|account| account.password_changes)
    }

    /// Whether `password` is the account's password, as a game's login
    /// would check it: `None` when no account has the login, or its password
    /// is unknown (an account restored from the state journal, which never
    /// holds passwords).
    pub fn password_matches(&self, login: &str, password: &str) -> Option<bool> {
        lock(&self.shared.accounts)
            .by_key
            .get(&normalise(login))
            .and_then(|account| account.password.as_ref())
            .map(|digest| *digest == password_digest(password))
    }

    /// The account id of a login (case-insensitively), if registered.
    pub fn account_id(&self, login: &str) -> Option<u64> {
        lock(&self.shared.accounts)
            .by_key
            .get(&normalise(login))
            .map(|account| account.id)
    }

    /// Number of `register` commands received (under any behaviour).
    pub fn register_calls(&self) -> u64 {
        self.shared.register_calls.load(Ordering::SeqCst)
    }

    /// Number of TCP connections accepted since start.
    pub fn accepted_connections(&self) -> u64 {
        self.shared.accepted_connections.load(Ordering::SeqCst)
    }

    /// What `online` reports: the count set by [`MockHandle::set_online`],
    /// else the number of open authenticated connections.
    pub fn online(&self) -> u64 {
        self.shared.reported_online()
    }

    /// Makes `online` report `players` (as a game with that many players
    /// would), or again the open authenticated connections with `None`.
    pub fn set_online(&self, players: Option<u64>) {
        *lock(&self.shared.online_shown) = players;
    }

    /// Resolves once the server stopped after `shutdown` was cancelled
    /// (listener closed, connection tasks ended).
    pub async fn stopped(&self) {
        self.shared.stopped.cancelled().await;
    }
}

struct Shared {
    addr: SocketAddr,
    auth_token: String,
    /// Serve TLS: every connection completes a handshake first.
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: CancellationToken,
    stopped: CancellationToken,
    behaviour: Mutex<Behaviour>,
    accounts: Mutex<Accounts>,
    /// Append-only record of account changes (`--state FILE`); written while
    /// `accounts` is locked and before the reply, so what a client was told
    /// is on disk even if the process is killed right after.
    journal: Option<Mutex<std::fs::File>>,
    register_calls: AtomicU64,
    accepted_connections: AtomicU64,
    /// Open authenticated connections.
    online: AtomicU64,
    /// What `online` reports instead of `online`, when set.
    online_shown: Mutex<Option<u64>>,
    /// Serialises listener changes.
    control: tokio::sync::Mutex<Control>,
}

impl Shared {
    /// The answer to `online`.
    fn reported_online(&self) -> u64 {
        lock(&self.online_shown).unwrap_or_else(|| self.online.load(Ordering::SeqCst))
    }
}

struct Control {
    /// Shutdown happened: never listen again.
    closed: bool,
    listening: Option<Listening>,
}

/// One listening period: an accept loop and its connections.
struct Listening {
    stop: CancellationToken,
    accept_task: JoinHandle<()>,
    connections: TaskTracker,
}

impl Listening {
    fn spawn(shared: &Arc<Shared>, listener: TcpListener) -> Self {
        let stop = shared.shutdown.child_token();
        let connections = TaskTracker::new();
        let accept_task = tokio::spawn(accept_loop(
            Arc::clone(shared),
            listener,
            stop.clone(),
            connections.clone(),
        ));
        Self {
            stop,
            accept_task,
            connections,
        }
    }

    /// Closes the listener and every connection, and waits for both.
    async fn stop(self) {
        self.stop.cancel();
        if let Err(err) = self.accept_task.await {
            tracing::error!(%err, "mock accept task failed");
        }
        self.connections.close();
        self.connections.wait().await;
    }
}

#[derive(Default)]
struct Accounts {
    by_key: HashMap<String, Account>,
    next_id: u64,
}

struct Account {
    login: String,
    id: u64,
    /// `set_password` calls on this account.
    password_changes: u64,
    /// SHA-256 of the password (a test double: a real game stores a slow
    /// hash); `None` when restored from the journal.
    password: Option<[u8; 32]>,
}

/// What the mock keeps of a password.
fn password_digest(password: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(password.as_bytes()).into()
}

impl Accounts {
    fn from_journal(entries: &[StateEntry]) -> Self {
        let mut accounts = Accounts::default();
        for entry in entries {
            match entry {
                StateEntry::Created { login, id } => {
                    accounts.next_id = accounts.next_id.max(id + 1 - FIRST_ACCOUNT_ID);
                    accounts.by_key.insert(
                        normalise(login),
                        Account {
                            login: login.clone(),
                            id: *id,
                            password_changes: 0,
                            password: None,
                        },
                    );
                }
                StateEntry::Deleted { login } => {
                    accounts.by_key.remove(&normalise(login));
                }
                StateEntry::PasswordSet { login } => {
                    if let Some(account) = accounts.by_key.get_mut(&normalise(login)) {
                        account.password_changes += 1;
                    }
                }
            }
        }
        accounts
    }
}

/// One line of the mock's state journal, as JSON (a login may hold any
/// character the protocol carries).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StateEntry {
    /// `{"op":"created","login":…,"id":…}`: an account was registered.
    Created {
        /// The login as sent (NFC).
        login: String,
        /// The account id the mock answered (from 1001 up).
        id: u64,
    },
    /// `{"op":"deleted","login":…}`: an account was deleted.
    Deleted {
        /// The login as sent to `delete`.
        login: String,
    },
    /// `{"op":"password_set","login":…}`: an account's password was changed
    /// (the password itself is never written).
    PasswordSet {
        /// The login as sent to `set_password`.
        login: String,
    },
}

/// The journal a mock started with a state file wrote, in order. A missing
/// file is an empty journal; a torn last line (killed mid-write) is skipped.
/// Any other line that does not parse is skipped too. Errs only when the file
/// exists but cannot be read.
pub fn read_state(path: &Path) -> std::io::Result<Vec<StateEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    Ok(text
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect())
}

fn record(shared: &Shared, entry: &StateEntry) {
    if let Some(journal) = &shared.journal {
        use std::io::Write;
        let mut line = serde_json::to_vec(entry).expect("a journal entry serialises");
        line.push(b'\n');
        if let Err(err) = lock(journal).write_all(&line) {
            tracing::error!(%err, "mock game server could not write its state file");
        }
    }
}

fn normalise(login: &str) -> String {
    login.to_lowercase()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data stays consistent even if a holder panicked.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn bind_with_retry(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let give_up = tokio::time::Instant::now() + REBIND_PATIENCE;
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(err) if tokio::time::Instant::now() >= give_up => return Err(err),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

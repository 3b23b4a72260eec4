//! An in-memory receiver of the HTTP connector's API, for tests and the
//! benchmark: the same duties as the reference receiver in
//! `examples/gameserver-http/` (signatures checked in constant time, stale
//! and replayed requests refused, idempotency keys honoured, logins compared
//! case-insensitively, `exists` exact, bounded caches), plus faults a test
//! switches on ([`HttpBehaviour`]), globally or for every Nth request.
//!
//! On hyper's HTTP/1 server directly, so a fault can close a connection
//! after reading a request — before or after acting on it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::signature::{self, TOLERANCE_SECS};
use super::wire::{self, Endpoint, IDEMPOTENCY_HEADER, MAX_BODY_BYTES, RequestBody};
use crate::mock::StateEntry;

/// First account id handed out (as the v1 mock).
const FIRST_ACCOUNT_ID: u64 = 1001;
/// Request ids and idempotency keys remembered at most, each.
pub const MAX_REMEMBERED: usize = 100_000;
/// How long a request id or an idempotency key is remembered: past it, any
/// request carrying it has a stale signature and is refused anyway.
const REMEMBER_SECS: u64 = 2 * TOLERANCE_SECS;
/// How long re-binding the address after [`HttpBehaviour::Refuse`] is tried.
const REBIND_PATIENCE: Duration = Duration::from_secs(2);

/// What the receiver does with a request (after reading it whole).
#[derive(Clone, Debug, PartialEq)]
pub enum HttpBehaviour {
    /// Answer as the API says.
    Normal,
    /// Stop listening (connections refused) and cut every open connection;
    /// switching to another behaviour listens again on the same address.
    /// Not meaningful per request ([`HttpMockHandle::set_every`] ignores it).
    Refuse,
    /// Wait, then act and answer (the account is created even if the client
    /// gave up meanwhile).
    Delay(Duration),
    /// Close the connection without acting or answering.
    DropAfterRead,
    /// Act, then close the connection without answering.
    DropAfterExecute,
    /// Answer 500 `{"error":"internal"}` without acting.
    InternalError,
    /// Act, then answer 502 with an HTML page, as a proxy in front of a
    /// receiver that answered too late.
    BadGateway,
}

/// Starts mock receivers.
#[derive(Debug)]
pub struct HttpMockServer;

impl HttpMockServer {
    /// Binds `addr` (port 0 allowed) and serves until `shutdown` is
    /// cancelled; requests must be signed with `secret`.
    /// Errs when `addr` cannot be bound.
    pub async fn start(
        addr: SocketAddr,
        secret: String,
        shutdown: CancellationToken,
    ) -> std::io::Result<HttpMockHandle> {
        let listener = TcpListener::bind(addr).await?;
        let shared = Arc::new(Shared {
            addr: listener.local_addr()?,
            secret,
            shutdown: shutdown.clone(),
            behaviour: Mutex::new(HttpBehaviour::Normal),
            every: Mutex::new(Vec::new()),
            state: Mutex::new(State::default()),
            requests: AtomicU64::new(0),
            register_calls: AtomicU64::new(0),
            online: AtomicU64::new(0),
            listening: tokio::sync::Mutex::new(None),
        });
        *shared.listening.lock().await = Some(listen(&shared, listener));
        Ok(HttpMockHandle { shared })
    }
}

/// Handle to a running mock receiver: inspect its accounts, set faults.
#[derive(Clone)]
pub struct HttpMockHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for HttpMockHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMockHandle")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl HttpMockHandle {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://ADDR`: the base URL for the connector.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Sets the behaviour for every request not picked by
    /// [`set_every`](Self::set_every). Switching to `Refuse` returns once
    /// nothing listens and every connection is cut; switching away returns
    /// once the address listens again.
    pub async fn set_behaviour(&self, behaviour: HttpBehaviour) {
        let shared = &self.shared;
        let mut listening = shared.listening.lock().await;
        *lock(&shared.behaviour) = behaviour.clone();
        if behaviour == HttpBehaviour::Refuse {
            if let Some(stop) = listening.take() {
                stop.cancel();
                // The accept loop owns the listener: wait until it is closed.
                while tokio::net::TcpStream::connect(shared.addr).await.is_ok() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        } else if listening.is_none() && !shared.shutdown.is_cancelled() {
            let give_up = tokio::time::Instant::now() + REBIND_PATIENCE;
            loop {
                match TcpListener::bind(shared.addr).await {
                    Ok(listener) => {
                        *listening = Some(listen(shared, listener));
                        break;
                    }
                    Err(err) if tokio::time::Instant::now() >= give_up => {
                        tracing::error!(addr = %shared.addr, %err, "mock receiver could not listen again");
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }
    }

    /// Faults for every Nth request: request `k` (counting every request
    /// read since start, from 1) gets the behaviour of the first `(n, b)`
    /// with `k % n == 0`; the others get [`set_behaviour`](Self::set_behaviour)'s.
    /// An empty list turns them off.
    pub fn set_every(&self, faults: Vec<(u64, HttpBehaviour)>) {
        *lock(&self.shared.every) = faults
            .into_iter()
            .filter(|(n, b)| *n > 0 && *b != HttpBehaviour::Refuse)
            .collect();
    }

    /// Sets what `online` answers.
    pub fn set_online(&self, online: u64) {
        self.shared.online.store(online, Ordering::SeqCst);
    }

    /// Whether the login exists (case-insensitively).
    pub fn contains(&self, login: &str) -> bool {
        lock(&self.shared.state).accounts.contains_key(&key(login))
    }

    /// Logins held now, as first spelled (sorted by key).
    pub fn logins(&self) -> Vec<String> {
        let state = lock(&self.shared.state);
        let mut entries: Vec<_> = state.accounts.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        entries.into_iter().map(|(_, (l, _))| l.clone()).collect()
    }

    /// The account id of a login (case-insensitively).
    pub fn account_id(&self, login: &str) -> Option<u64> {
        lock(&self.shared.state)
            .accounts
            .get(&key(login))
            .map(|(_, id)| *id)
    }

    /// Every account created or deleted, in order (the v1 mock's journal
    /// format, so the soak's checks read it).
    pub fn journal(&self) -> Vec<StateEntry> {
        lock(&self.shared.state).journal.clone()
    }

    /// Requests read since start (any endpoint, any outcome).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// `register` requests read since start.
    pub fn register_calls(&self) -> u64 {
        self.shared.register_calls.load(Ordering::SeqCst)
    }
}

struct Shared {
    addr: SocketAddr,
    secret: String,
    shutdown: CancellationToken,
    behaviour: Mutex<HttpBehaviour>,
    every: Mutex<Vec<(u64, HttpBehaviour)>>,
    state: Mutex<State>,
    requests: AtomicU64,
    register_calls: AtomicU64,
    online: AtomicU64,
    /// Stops the current listening period (accept loop and connections).
    listening: tokio::sync::Mutex<Option<CancellationToken>>,
}

#[derive(Default)]
struct State {
    /// Case-folded login → (login as first sent, account id).
    accounts: HashMap<String, (String, u64)>,
    created: u64,
    journal: Vec<StateEntry>,
    /// Request ids seen, with their signature time, oldest first.
    seen: Remembered<()>,
    /// Idempotency key → the login it was for and the answer given.
    keys: Remembered<(String, Answer)>,
}

/// A bounded map whose entries leave in arrival order once older than
/// [`REMEMBER_SECS`]; full of younger ones, it refuses more.
struct Remembered<V> {
    map: HashMap<String, V>,
    order: VecDeque<(u64, String)>,
}

impl<V> Default for Remembered<V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<V> Remembered<V> {
    fn expire(&mut self, now: u64) {
        while let Some((at, _)) = self.order.front() {
            if at + REMEMBER_SECS >= now {
                break;
            }
            let (_, k) = self.order.pop_front().expect("front exists");
            self.map.remove(&k);
        }
    }

    fn has_room(&mut self, now: u64) -> bool {
        self.expire(now);
        self.map.len() < MAX_REMEMBERED
    }

    fn insert(&mut self, k: String, v: V, now: u64) {
        if self.map.insert(k.clone(), v).is_none() {
            self.order.push_back((now, k));
        }
    }
}

type Answer = (StatusCode, Vec<u8>);

/// Returned by the service to make hyper close the connection unanswered.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault")
    }
}

impl std::error::Error for Dropped {}

fn listen(shared: &Arc<Shared>, listener: TcpListener) -> CancellationToken {
    let stop = shared.shutdown.child_token();
    let (shared, accepting) = (Arc::clone(shared), stop.clone());
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                _ = accepting.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let (shared, cut) = (Arc::clone(&shared), accepting.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let shared = Arc::clone(&shared);
                    async move { serve(shared, req).await }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                tokio::select! {
                    _ = cut.cancelled() => {}
                    _ = conn => {}
                }
            });
        }
    });
    stop
}

async fn serve(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let endpoint = req
        .uri()
        .path()
        .rsplit('/')
        .next()
        .and_then(Endpoint::from_name);
    let post = req.method() == hyper::Method::POST;
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (signature, idempotency) = (
        header(signature::SIGNATURE_HEADER),
        header(IDEMPOTENCY_HEADER),
    );
    let body = Limited::new(req.into_body(), MAX_BODY_BYTES)
        .collect()
        .await;
    let k = shared.requests.fetch_add(1, Ordering::SeqCst) + 1;
    let behaviour = lock(&shared.every)
        .iter()
        .find(|(n, _)| k.is_multiple_of(*n))
        .map(|(_, b)| b.clone())
        .unwrap_or_else(|| lock(&shared.behaviour).clone());
    let (status, body) = match (endpoint, post, body) {
        (None, _, _) => (StatusCode::NOT_FOUND, wire::error_body(wire::ERR_NOT_FOUND)),
        (_, false, _) => (
            StatusCode::METHOD_NOT_ALLOWED,
            wire::error_body(wire::ERR_INVALID),
        ),
        (_, _, Err(_)) => (
            StatusCode::PAYLOAD_TOO_LARGE,
            wire::error_body(wire::ERR_INVALID),
        ),
        (Some(endpoint), true, Ok(body)) => {
            if endpoint == Endpoint::Register {
                shared.register_calls.fetch_add(1, Ordering::SeqCst);
            }
            let body = body.to_bytes();
            match behaviour {
                HttpBehaviour::DropAfterRead => return Err(Dropped),
                HttpBehaviour::InternalError => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    wire::error_body(wire::ERR_INTERNAL),
                ),
                _ => {
                    // On a task of its own, so a client that gives up
                    // (closing the connection) cannot stop it half-way.
                    let delay = match behaviour {
                        HttpBehaviour::Delay(d) => d,
                        _ => Duration::ZERO,
                    };
                    let worker = Arc::clone(&shared);
                    let answer = tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        handle(&worker, endpoint, signature, idempotency, &body)
                    })
                    .await
                    .map_err(|_| Dropped)?;
                    match behaviour {
                        HttpBehaviour::DropAfterExecute => return Err(Dropped),
                        HttpBehaviour::BadGateway => (
                            StatusCode::BAD_GATEWAY,
                            b"<html><body>502 Bad Gateway</body></html>".to_vec(),
                        ),
                        _ => answer,
                    }
                }
            }
        }
    };
    Ok(Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a static response builds"))
}

/// The API's duties, in the reference receiver's order: signature, body,
/// then under one lock the idempotency key, the replay check, the caches'
/// room, and the operation.
fn handle(
    shared: &Shared,
    endpoint: Endpoint,
    signature: Option<String>,
    idempotency: Option<String>,
    body: &[u8],
) -> Answer {
    let error = |status: StatusCode, code: &str| (status, wire::error_body(code));
    let now = signature::clock_secs();
    let op = endpoint.name();
    if signature::verify(
        shared.secret.as_bytes(),
        signature.as_deref(),
        op,
        body,
        now,
    )
    .is_err()
    {
        return error(StatusCode::UNAUTHORIZED, wire::ERR_UNAUTHORIZED);
    }
    let Some(request) = parse(endpoint, body) else {
        return error(StatusCode::BAD_REQUEST, wire::ERR_INVALID);
    };
    let idempotency = match (endpoint, idempotency) {
        (Endpoint::Register, Some(k)) if (1..=128).contains(&k.len()) => Some(k),
        (Endpoint::Register, Some(_)) => {
            return error(StatusCode::BAD_REQUEST, wire::ERR_INVALID);
        }
        _ => None,
    };
    let mut state = lock(&shared.state);
    let login_key = request.login.as_deref().map(key).unwrap_or_default();
    if let Some(k) = &idempotency
        && let Some((login, answer)) = state.keys.map.get(k)
    {
        if *login != login_key {
            return error(StatusCode::UNPROCESSABLE_ENTITY, wire::ERR_INVALID);
        }
        let answer = answer.clone();
        state.seen.insert(request.request_id, (), now);
        return answer;
    }
    if state.seen.map.contains_key(&request.request_id) {
        return error(StatusCode::CONFLICT, wire::ERR_REPLAYED);
    }
    if !state.seen.has_room(now) || (idempotency.is_some() && !state.keys.has_room(now)) {
        return error(StatusCode::SERVICE_UNAVAILABLE, wire::ERR_BUSY);
    }
    state.seen.insert(request.request_id.clone(), (), now);
    let answer = execute(shared, &mut state, endpoint, &request, login_key.clone());
    if let Some(k) = idempotency {
        state.keys.insert(k, (login_key, answer.clone()), now);
    }
    answer
}

fn execute(
    shared: &Shared,
    state: &mut State,
    endpoint: Endpoint,
    request: &RequestBody,
    login_key: String,
) -> Answer {
    let ok = |value: serde_json::Value| (StatusCode::OK, value.to_string().into_bytes());
    let login = request.login.clone().unwrap_or_default();
    match endpoint {
        Endpoint::Register => {
            if state.accounts.contains_key(&login_key) {
                return (
                    StatusCode::CONFLICT,
                    wire::error_body(wire::ERR_LOGIN_TAKEN),
                );
            }
            let id = FIRST_ACCOUNT_ID + state.created;
            state.created += 1;
            state.accounts.insert(login_key, (login.clone(), id));
            state.journal.push(StateEntry::Created { login, id });
            ok(serde_json::json!({ "account_id": id }))
        }
        Endpoint::Exists => ok(serde_json::json!({
            "exists": state.accounts.contains_key(&login_key)
        })),
        Endpoint::Delete => {
            let deleted = state.accounts.remove(&login_key).is_some();
            if deleted {
                state.journal.push(StateEntry::Deleted { login });
            }
            ok(serde_json::json!({ "deleted": deleted }))
        }
        Endpoint::SetPassword if state.accounts.contains_key(&login_key) => {
            ok(serde_json::json!({ "updated": true }))
        }
        Endpoint::SetPassword => (StatusCode::NOT_FOUND, wire::error_body(wire::ERR_NOT_FOUND)),
        Endpoint::Ping => ok(serde_json::json!({ "ok": true })),
        Endpoint::Online => ok(serde_json::json!({
            "online": shared.online.load(Ordering::SeqCst)
        })),
    }
}

/// The body, if it is the endpoint's request: a `request_id` of 1–64
/// characters and the fields the endpoint needs.
fn parse(endpoint: Endpoint, body: &[u8]) -> Option<RequestBody> {
    let request: RequestBody = serde_json::from_slice(body).ok()?;
    if !(1..=64).contains(&request.request_id.len()) {
        return None;
    }
    let login = request.login.as_deref().is_some_and(|l| !l.is_empty());
    let password = request.password.as_deref().is_some_and(|p| !p.is_empty());
    let valid = match endpoint {
        Endpoint::Register => login && password && request.gender.is_some_and(|g| g <= 1),
        Endpoint::Exists | Endpoint::Delete => login,
        Endpoint::SetPassword => login && password,
        Endpoint::Ping | Endpoint::Online => true,
    };
    valid.then_some(request)
}

/// gamegate's own case-insensitive key: NFC(lowercase(NFD(login))).
fn key(login: &str) -> String {
    gamegate_domain::normalise_login(login)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

//! One connection of the mock: the TLS handshake (a TLS mock),
//! authentication, pipelined requests answered in order, and the configured
//! misbehaviour.

use tokio::io::{AsyncRead, AsyncWrite};

use super::*;

pub(super) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    stop: CancellationToken,
    connections: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                shared.accepted_connections.fetch_add(1, Ordering::SeqCst);
                tracing::debug!(%peer, "mock game server accepted a connection");
                connections.spawn(open_connection(
                    Arc::clone(&shared),
                    stream,
                    peer,
                    stop.clone(),
                ));
            }
            Err(err) => {
                // e.g. too many open files: back off instead of spinning.
                tracing::warn!(%err, "mock game server accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            }
        }
    }
    // Dropping the listener here stops accepting: connects are refused.
}

/// Per-connection state; keeps `online` in step even on early return.
struct Session {
    shared: Arc<Shared>,
    authenticated: bool,
}

impl Session {
    fn set_authenticated(&mut self, authenticated: bool) {
        if authenticated != self.authenticated {
            if authenticated {
                self.shared.online.fetch_add(1, Ordering::SeqCst);
            } else {
                self.shared.online.fetch_sub(1, Ordering::SeqCst);
            }
            self.authenticated = authenticated;
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.set_authenticated(false);
    }
}

/// What to do after a request.
enum Outcome {
    Reply(Reply),
    /// Close the connection without replying.
    Close,
}

/// Completes the TLS handshake of a TLS mock (bounded), then serves.
async fn open_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = shared.tls.clone() else {
        return serve_connection(shared, stream, peer, stop).await;
    };
    let accept = acceptor.accept(stream).into_fallible();
    let handshake = tokio::select! {
        _ = stop.cancelled() => return,
        handshake = tokio::time::timeout(TLS_HANDSHAKE_LIMIT, accept) => handshake,
    };
    match handshake {
        Ok(Ok(tls)) => serve_connection(shared, tls, peer, stop).await,
        Ok(Err((err, mut tcp))) => {
            tracing::info!(%peer, %err, "mock game server: TLS handshake failed");
            // The alert is written; close without a reset that could make
            // the client lose it (a TLS 1.3 client may already be sending).
            let linger = async {
                tcp.shutdown().await?;
                let mut sink = [0u8; 4096];
                while tcp.read(&mut sink).await? > 0 {}
                std::io::Result::Ok(())
            };
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = tokio::time::timeout(LINGER, linger) => {}
            }
        }
        Err(_) => tracing::info!(%peer, "mock game server: no TLS handshake in time"),
    }
}

async fn serve_connection<S>(
    shared: Arc<Shared>,
    stream: S,
    peer: SocketAddr,
    stop: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut stream = BufReader::new(stream);
    let mut session = Session {
        shared,
        authenticated: false,
    };
    let mut buf = Vec::new();
    loop {
        let read = tokio::select! {
            _ = stop.cancelled() => break,
            read = read_line(&mut stream, &mut buf) => read,
        };
        let request = match read {
            Ok(LineRead::Line) => parse_request_line(&buf),
            Ok(LineRead::TooLong) => Err(ProtocolError::TooLong { len: buf.len() }),
            Ok(LineRead::Eof | LineRead::Truncated) => break,
            Err(err) => {
                tracing::debug!(%peer, %err, "mock connection read failed");
                break;
            }
        };
        let request = match request {
            Ok(request) => request,
            Err(err) => {
                tracing::debug!(%peer, %err, "mock game server got an invalid line; closing");
                let reply = Reply::error(err.id().unwrap_or(0), ERR_INVALID);
                close_after_invalid(stream, &reply, &stop).await;
                return;
            }
        };
        let outcome = tokio::select! {
            _ = stop.cancelled() => break,
            outcome = handle(&mut session, request, peer) => outcome,
        };
        let reply = match outcome {
            Outcome::Reply(reply) => reply,
            Outcome::Close => break,
        };
        let line = reply.to_line();
        let written = tokio::select! {
            _ = stop.cancelled() => break,
            written = stream.get_mut().write_all(&line) => written,
        };
        if let Err(err) = written {
            tracing::debug!(%peer, %err, "mock connection write failed");
            break;
        }
    }
    tracing::debug!(%peer, "mock game server closed a connection");
}

/// Sends the `invalid` reply, half-closes, then drains the peer's input for
/// a short while so the close does not turn into a reset that could discard
/// the reply before the peer reads it.
async fn close_after_invalid<S>(mut stream: BufReader<S>, reply: &Reply, stop: &CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let stream = stream.get_mut();
    let linger = async {
        stream.write_all(&reply.to_line()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    };
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = tokio::time::timeout(LINGER, linger) => {}
    }
}

async fn handle(session: &mut Session, request: Request, peer: SocketAddr) -> Outcome {
    let Request { id, command } = request;
    let shared = Arc::clone(&session.shared);
    match command {
        Command::Auth { token } => {
            // A failed auth also de-authenticates an authenticated connection.
            let ok = token == shared.auth_token;
            session.set_authenticated(ok);
            if ok {
                tracing::debug!(%peer, "mock connection authenticated");
                Outcome::Reply(Reply::ok(id).with_protocol(PROTOCOL_VERSION, MOCK_CAPABILITIES))
            } else {
                tracing::info!(%peer, "mock game server rejected an auth token");
                Outcome::Reply(Reply::error(id, ERR_UNAUTHORIZED))
            }
        }
        other if !session.authenticated => {
            tracing::debug!(%peer, cmd = other.name(), "mock: command before auth");
            Outcome::Reply(Reply::error(id, ERR_UNAUTHORIZED))
        }
        Command::Register {
            login,
            gender,
            password,
        } => {
            shared.register_calls.fetch_add(1, Ordering::SeqCst);
            tracing::debug!(%peer, %login, gender, "mock: register");
            if let Some(outcome) = misbehave(&shared, id).await {
                return outcome;
            }
            let mut accounts = lock(&shared.accounts);
            let key = normalise(&login);
            if accounts.by_key.contains_key(&key) {
                return Outcome::Reply(Reply::error(id, ERR_LOGIN_TAKEN));
            }
            let account_id = FIRST_ACCOUNT_ID + accounts.next_id;
            accounts.next_id += 1;
            record(
                &shared,
                &StateEntry::Created {
                    login: login.clone(),
                    id: account_id,
                },
            );
            accounts.by_key.insert(
                key,
                Account {
                    login: login.clone(),
                    id: account_id,
                    password_changes: 0,
                    password: Some(password_digest(&password)),
                },
            );
            tracing::info!(%login, account_id, "mock: account created");
            Outcome::Reply(Reply::ok(id).with_account_id(account_id))
        }
        Command::Exists { login } => {
            let exists = lock(&shared.accounts)
                .by_key
                .contains_key(&normalise(&login));
            Outcome::Reply(Reply::ok(id).with_exists(exists))
        }
        Command::Delete { login } => {
            if let Some(outcome) = misbehave(&shared, id).await {
                return outcome;
            }
            let removed = {
                let mut accounts = lock(&shared.accounts);
                let removed = accounts.by_key.remove(&normalise(&login)).is_some();
                if removed {
                    record(
                        &shared,
                        &StateEntry::Deleted {
                            login: login.clone(),
                        },
                    );
                }
                removed
            };
            tracing::info!(%login, removed, "mock: delete");
            Outcome::Reply(Reply::ok(id))
        }
        Command::SetPassword { login, password } => {
            if let Some(outcome) = misbehave(&shared, id).await {
                return outcome;
            }
            let changed = {
                let mut accounts = lock(&shared.accounts);
                match accounts.by_key.get_mut(&normalise(&login)) {
                    Some(account) => {
                        record(
                            &shared,
                            &StateEntry::PasswordSet {
                                login: login.clone(),
                            },
                        );
                        account.password_changes += 1;
                        account.password = Some(password_digest(&password));
                        true
                    }
                    None => false,
                }
            };
            tracing::info!(%login, changed, "mock: set_password");
            Outcome::Reply(match changed {
                true => Reply::ok(id),
                false => Reply::error(id, ERR_NOT_FOUND),
            })
        }
        Command::Ping => Outcome::Reply(Reply::ok(id)),
        Command::Online => Outcome::Reply(Reply::ok(id).with_online(shared.reported_online())),
    }
}

/// What the current [`Behaviour`] makes of a command that changes an
/// account: `None` to carry it out (after the delay of `Delay`).
async fn misbehave(shared: &Shared, id: u64) -> Option<Outcome> {
    let behaviour = lock(&shared.behaviour).clone();
    match behaviour {
        Behaviour::Normal | Behaviour::Refuse => None,
        Behaviour::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Behaviour::DropAfterRead => Some(Outcome::Close),
        Behaviour::InternalError => Some(Outcome::Reply(Reply::error(id, ERR_INTERNAL))),
    }
}

//! The access log: one line per request, in the format the shipped nginx
//! config also writes (nginx "combined" with `$uri` and `$request_time`), so
//! one fail2ban filter reads both:
//!
//! ```text
//! 203.0.113.7 - - [25/Nov/2026:08:40:00 +0000] "POST /api/register HTTP/1.1" 403 95 "-" "curl/8.0" 0.003
//! ```
//!
//! Only the path is logged — never the query string, headers other than
//! Referer and User-Agent, or bodies — so keys and passwords cannot end up
//! here. A request only captures its fields (a few reference-counted
//! clones, no formatting) and sends them into a bounded channel; one writer
//! thread takes what has arrived every `FLUSH_EVERY`, formats the lines
//! and writes them: no wake-up per line, nothing formatted or written on
//! the request path, and a flood the writer cannot keep up with drops lines
//! rather than slowing requests — routine lines first ([`LineClass`]):
//! 2xx/3xx/404 may fill half the buffer (`log.access_log_buffer_bytes`,
//! counted in estimated line bytes), other errors three quarters, and the
//! lines fail2ban reads (4xx/5xx on `/api/`) all of it, so a 404 flood
//! cannot push a bad-key line out. Drops are counted per class in
//! `gamegate_access_log_dropped_lines_total{class}` and reported by a warning
//! at most every [`DROP_WARNING_EVERY`]. A file is opened for appending and
//! reopened on SIGHUP, so logrotate can either move it and send SIGHUP, or
//! use `copytruncate`.

use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use axum::body::HttpBody;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, Version, header};
use axum::response::Response;
use ipnet::IpNet;
use time::OffsetDateTime;
use time::macros::format_description;
use tokio::sync::mpsc;

use crate::app::metrics::{LogClassLabels, Metrics};
use crate::http::edge::client_ip;

/// How often the writer takes, formats and writes what has been sent.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// At most one warning about dropped lines per this interval.
pub const DROP_WARNING_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Which lines go first when the writer falls behind: the buffer
/// (`log.access_log_buffer_bytes`) takes a line only while it holds less than
/// the line's class may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// 1xx/2xx/3xx and 404: noise in a flood. Up to half of the buffer.
    Routine = 0,
    /// Other 4xx/5xx off `/api/`. Up to three quarters.
    Error = 1,
    /// 4xx/5xx (404 aside) on `/api/`: what fail2ban reads (403 bad key,
    /// 429, 403 banned) and registration failures. The whole buffer.
    ApiRefusal = 2,
}

impl LineClass {
    const ALL: [LineClass; 3] = [LineClass::Routine, LineClass::Error, LineClass::ApiRefusal];

    /// The class of an answer with `status` to a request for `path`.
    pub fn of(status: u16, path: &str) -> Self {
        Self::of_bytes(status, path.as_bytes())
    }

    fn of_bytes(status: u16, path: &[u8]) -> Self {
        match status {
            400.. if status != 404 && path.starts_with(b"/api/") => LineClass::ApiRefusal,
            400.. if status != 404 => LineClass::Error,
            _ => LineClass::Routine,
        }
    }

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            LineClass::Routine => "routine",
            LineClass::Error => "error",
            LineClass::ApiRefusal => "api_refusal",
        }
    }

    /// The most the buffer may hold (estimated line bytes), this line
    /// included, of `buffer_max`.
    fn ceiling(self, buffer_max: usize) -> usize {
        match self {
            LineClass::Routine => buffer_max / 2,
            LineClass::Error => buffer_max / 4 * 3,
            LineClass::ApiRefusal => buffer_max,
        }
    }
}
/// Longest User-Agent / Referer / path kept, so a line stays bounded.
const FIELD_MAX: usize = 256;
const PATH_MAX: usize = 512;

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Off,
    Stdout,
    File(PathBuf),
}

impl Target {
    pub fn parse(value: &str) -> Self {
        match value.trim() {
            "off" | "" => Self::Off,
            "stdout" | "-" => Self::Stdout,
            path => Self::File(PathBuf::from(path)),
        }
    }
}

/// The request side: captures a request's fields and sends them to the writer.
#[derive(Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
    sender: mpsc::Sender<(usize, Message)>,
    trusted: Arc<Vec<IpNet>>,
    metrics: Arc<Metrics>,
}

/// What requests and the writer thread share.
struct Shared {
    /// Estimated bytes of the lines sent and not yet taken by the writer.
    queued: AtomicUsize,
    /// `log.access_log_buffer_bytes`.
    buffer_max: usize,
    /// Lines dropped per [`LineClass`] since the last warning.
    dropped: [AtomicU64; 3],
    /// Set by SIGHUP: reopen the file before the next write.
    reopen: AtomicBool,
    /// Set at shutdown: write what is left and end.
    closing: AtomicBool,
    /// Wakes the writer before its next round (SIGHUP, shutdown).
    wake: Condvar,
    sleeping: Mutex<()>,
}

/// One line on its way to the writer.
enum Message {
    /// A request's fields, formatted by the writer ([`format_line`]).
    Request(Captured),
    /// A line formatted already (a request the HTTP library refused).
    Line(String),
}

/// What a request's line is made of, captured on the request path. The
/// path, Referer and User-Agent are copied (cut as logged) into one
/// allocation: a reference into the request's bytes would keep the
/// connection's whole read buffer (up to 64 KiB of headers) alive while the
/// line waits, so the buffer's bound would not bound memory.
struct Captured {
    client: IpAddr,
    time: SystemTime,
    method: Method,
    version: Version,
    status: u16,
    bytes: u64,
    seconds: f64,
    /// Path, then Referer, then User-Agent.
    fields: Vec<u8>,
    path_len: usize,
    referer_len: Option<usize>,
    agent_len: Option<usize>,
}

/// A request seen by the log, until its answer is known ([`AccessLog::finish`]).
pub struct Pending {
    client: IpAddr,
    method: Method,
    version: Version,
    fields: Vec<u8>,
    path_len: usize,
    referer_len: Option<usize>,
    agent_len: Option<usize>,
}

/// The fixed part of a line's length (client, time, quotes, status, bytes,
/// duration), for the estimate the buffer is counted in.
const LINE_OVERHEAD: usize = 80;

/// The writer thread.
pub struct Writer {
    shared: Arc<Shared>,
    thread: std::thread::JoinHandle<()>,
    #[cfg(unix)]
    hangups: tokio::task::JoinHandle<()>,
}

impl Writer {
    /// Writes every buffered line and stops the writer.
    pub async fn finished(self) {
        #[cfg(unix)]
        self.hangups.abort();
        self.shared.closing.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

impl AccessLog {
    /// Opens the target (a file is created if missing) and starts the writer.
    /// `None` when the log is off.
    pub fn start(
        target: Target,
        trusted: Vec<IpNet>,
        metrics: Arc<Metrics>,
        buffer_max: usize,
    ) -> anyhow::Result<Option<(Self, Writer)>> {
        let sink = match &target {
            Target::Off => return Ok(None),
            Target::Stdout => Sink::Stdout,
            Target::File(path) => Sink::File(path.clone(), open_append(path)?),
        };
        let (log, receiver) = Self::unstarted(trusted, metrics, buffer_max);
        let thread = {
            let shared = log.shared.clone();
            std::thread::Builder::new()
                .name("access-log".into())
                .spawn(move || write_lines(&shared, receiver, sink))
                .context("cannot start the access-log writer")?
        };
        #[cfg(unix)]
        let hangups = tokio::spawn(forward_hangups(log.shared.clone()));
        let writer = Writer {
            shared: log.shared.clone(),
            thread,
            #[cfg(unix)]
            hangups,
        };
        Ok(Some((log, writer)))
    }

    /// The request side and the channel's receiving end, no writer yet.
    fn unstarted(
        trusted: Vec<IpNet>,
        metrics: Arc<Metrics>,
        buffer_max: usize,
    ) -> (Self, mpsc::Receiver<(usize, Message)>) {
        // The byte estimate sheds first; the channel's own bound (no line
        // is shorter than its fixed part) only backs it up. Its blocks are
        // allocated as lines arrive, not up front.
        let (sender, receiver) = mpsc::channel((buffer_max / LINE_OVERHEAD).max(16));
        let shared = Arc::new(Shared {
            queued: AtomicUsize::new(0),
            buffer_max,
            dropped: Default::default(),
            reopen: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            wake: Condvar::new(),
            sleeping: Mutex::new(()),
        });
        let log = Self {
            shared,
            sender,
            trusted: Arc::new(trusted),
            metrics,
        };
        (log, receiver)
    }

    /// Captures what `req`'s line needs before it is handed on. `client`:
    /// the address the edge judged, when it resolved one (else the
    /// connection's client address is logged).
    pub fn begin(&self, req: &Request, client: Option<IpAddr>) -> Pending {
        let path = req.uri().path().as_bytes();
        let path = &path[..path.len().min(PATH_MAX)];
        let header = |name| {
            req.headers()
                .get(name)
                .map(|v: &HeaderValue| &v.as_bytes()[..v.len().min(FIELD_MAX)])
        };
        let (referer, agent) = (header(header::REFERER), header(header::USER_AGENT));
        let mut fields = Vec::with_capacity(
            path.len() + referer.map_or(0, <[u8]>::len) + agent.map_or(0, <[u8]>::len),
        );
        fields.extend_from_slice(path);
        fields.extend_from_slice(referer.unwrap_or_default());
        fields.extend_from_slice(agent.unwrap_or_default());
        Pending {
            client: client.unwrap_or_else(|| client_ip::of_request(req, &self.trusted)),
            method: req.method().clone(),
            version: req.version(),
            fields,
            path_len: path.len(),
            referer_len: referer.map(<[u8]>::len),
            agent_len: agent.map(<[u8]>::len),
        }
    }

    /// Sends the line of `pending`'s answer, `response`, to the writer.
    pub fn finish(&self, pending: Pending, response: &Response, started: Instant) {
        let status = response.status().as_u16();
        let path = &pending.fields[..pending.path_len];
        let class = LineClass::of_bytes(status, path);
        let size =
            LINE_OVERHEAD + pending.method.as_str().len().min(FIELD_MAX) + pending.fields.len();
        let captured = Captured {
            client: pending.client,
            time: SystemTime::now(),
            method: pending.method,
            version: pending.version,
            status,
            bytes: response.body().size_hint().exact().unwrap_or(0),
            seconds: started.elapsed().as_secs_f64(),
            fields: pending.fields,
            path_len: pending.path_len,
            referer_len: pending.referer_len,
            agent_len: pending.agent_len,
        };
        self.offer(class, size, Message::Request(captured));
    }

    /// Logs a request the HTTP library refused before any route saw it (a
    /// malformed request line or header, headers too large): the socket
    /// peer as the client (no header of such a request is believed) and
    /// `"-"` as the request, as nginx logs a request it could not parse.
    /// `bytes` is the body sent, `seconds` the connection's age. Shed like
    /// any other error line outside `/api/`.
    pub fn log_unparsed(&self, client: IpAddr, status: u16, bytes: u64, seconds: f64) {
        let line = format_unparsed_line(client, OffsetDateTime::now_utc(), status, bytes, seconds);
        let class = LineClass::of(status, "-");
        self.offer(class, line.len(), Message::Line(line));
    }

    /// Sends one line of `class`, `size` bytes (estimated), unless the
    /// buffer already holds what the line's class may fill (the line is
    /// then counted as dropped).
    fn offer(&self, class: LineClass, size: usize, message: Message) {
        let ceiling = class.ceiling(self.shared.buffer_max);
        let queued = self.shared.queued.fetch_add(size, Ordering::Relaxed);
        if queued + size > ceiling || self.sender.try_send((size, message)).is_err() {
            self.shared.queued.fetch_sub(size, Ordering::Relaxed);
            self.shared.dropped[class as usize].fetch_add(1, Ordering::Relaxed);
            self.metrics
                .access_log_dropped
                .get_or_create(&LogClassLabels {
                    class: class.label(),
                })
                .inc();
        }
    }
}

impl Message {
    /// Formats the message's line into `out`.
    fn write_into(self, out: &mut Vec<u8>) {
        match self {
            Message::Line(line) => out.extend_from_slice(line.as_bytes()),
            Message::Request(c) => {
                let (path, rest) = c.fields.split_at(c.path_len);
                let (referer, agent) = rest.split_at(c.referer_len.unwrap_or(0));
                let line = format_line(&Entry {
                    client: c.client,
                    time: OffsetDateTime::from(c.time),
                    method: c.method.as_str(),
                    // A request's path is ASCII (hyper refuses anything else).
                    path: std::str::from_utf8(path).unwrap_or("-"),
                    version: version_text(c.version),
                    status: c.status,
                    bytes: c.bytes,
                    referer: c.referer_len.map(|_| referer),
                    agent: c.agent_len.map(|_| agent),
                    seconds: c.seconds,
                });
                out.extend_from_slice(line.as_bytes());
            }
        }
    }
}

/// `203.0.113.7 - - [25/Nov/2026:08:40:00 +0000] "-" 400 87 "-" "-" 0.001`
fn format_unparsed_line(
    client: IpAddr,
    time: OffsetDateTime,
    status: u16,
    bytes: u64,
    seconds: f64,
) -> String {
    use std::fmt::Write as _;
    let mut line = String::with_capacity(96);
    let _ = write!(line, "{client} - - [");
    with_log_time(time, |time| line.push_str(time));
    let _ = writeln!(line, "] \"-\" {status} {bytes} \"-\" \"-\" {seconds:.3}");
    line
}

fn version_text(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/?",
    }
}

/// One request, as logged.
pub struct Entry<'a> {
    pub client: IpAddr,
    pub time: OffsetDateTime,
    pub method: &'a str,
    pub path: &'a str,
    pub version: &'a str,
    pub status: u16,
    pub bytes: u64,
    pub referer: Option<&'a [u8]>,
    pub agent: Option<&'a [u8]>,
    pub seconds: f64,
}

pub fn format_line(e: &Entry<'_>) -> String {
    use std::fmt::Write as _;
    // One allocation per line: fields are escaped straight into it.
    let mut line = String::with_capacity(160);
    let _ = write!(line, "{} - - [", e.client);
    with_log_time(e.time, |time| line.push_str(time));
    line.push_str("] \"");
    escape_into(&mut line, e.method.as_bytes(), FIELD_MAX);
    line.push(' ');
    escape_into(&mut line, e.path.as_bytes(), PATH_MAX);
    let _ = write!(line, " {}\" {} {} \"", e.version, e.status, e.bytes);
    escape_into(&mut line, e.referer.unwrap_or(b"-"), FIELD_MAX);
    line.push_str("\" \"");
    escape_into(&mut line, e.agent.unwrap_or(b"-"), FIELD_MAX);
    let _ = writeln!(line, "\" {:.3}", e.seconds);
    line
}

/// `25/Nov/2026:08:40:00 +0000`, formatted once per second per thread
/// (formatting a date costs more than the rest of the line).
fn with_log_time(time: OffsetDateTime, use_it: impl FnOnce(&str)) {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    LAST.with_borrow_mut(|(second, text)| {
        if *second != time.unix_timestamp() {
            *second = time.unix_timestamp();
            *text = time
                .format(format_description!(
                    "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
                ))
                .unwrap_or_else(|_| "-".into());
        }
        use_it(text);
    })
}

/// As nginx does: `"`, `\` and bytes outside printable ASCII become `\xHH`,
/// so a client cannot forge a line or a field. Cut at `max` input bytes.
fn escape_into(out: &mut String, bytes: &[u8], max: usize) {
    use std::fmt::Write as _;
    for &b in bytes.iter().take(max) {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b as char);
        }
    }
}

enum Sink {
    Stdout,
    File(PathBuf, std::fs::File),
}

fn open_append(path: &PathBuf) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the access log {}", path.display()))
}

/// The writer runs on its own OS thread: a blocked stdout pipe or a slow
/// disk then stalls only this thread, never the runtime's workers.
fn write_lines(shared: &Shared, mut lines: mpsc::Receiver<(usize, Message)>, mut sink: Sink) {
    let mut batch = Vec::with_capacity(64 * 1024);
    let mut last_warning: Option<Instant> = None;
    loop {
        {
            let sleeping = shared.sleeping.lock().unwrap_or_else(|e| e.into_inner());
            if !shared.closing.load(Ordering::Relaxed) {
                let _ = shared
                    .wake
                    .wait_timeout(sleeping, FLUSH_EVERY)
                    .unwrap_or_else(|e| e.into_inner());
            }
        }
        let closing = shared.closing.load(Ordering::Relaxed);
        // What has arrived by now; later lines wait for the next round, so
        // a flood cannot keep the writer from writing.
        let mut budget = lines.len();
        while budget > 0
            && let Ok((size, message)) = lines.try_recv()
        {
            budget -= 1;
            shared.queued.fetch_sub(size, Ordering::Relaxed);
            message.write_into(&mut batch);
        }
        if shared.reopen.swap(false, Ordering::Relaxed) {
            reopen_file(&mut sink);
        }
        write_batch(&mut sink, &mut batch);
        if last_warning.is_none_or(|at| at.elapsed() >= DROP_WARNING_EVERY) && warn_dropped(shared)
        {
            last_warning = Some(Instant::now());
        }
        if closing {
            // Lines of requests still answered while closing.
            while let Ok((_, message)) = lines.try_recv() {
                message.write_into(&mut batch);
            }
            write_batch(&mut sink, &mut batch);
            // What was dropped since the last warning is reported on the way out.
            warn_dropped(shared);
            return;
        }
    }
}

/// Warns about the lines dropped since the last warning, if any; `true`
/// when it did.
fn warn_dropped(shared: &Shared) -> bool {
    let [routine, error, api_refusal] =
        LineClass::ALL.map(|class| shared.dropped[class as usize].swap(0, Ordering::Relaxed));
    if routine + error + api_refusal == 0 {
        return false;
    }
    tracing::warn!(
        routine,
        error,
        api_refusal,
        buffer_bytes = shared.buffer_max,
        "access log behind: lines dropped (routine first; see gamegate_access_log_dropped_lines_total)"
    );
    true
}

fn reopen_file(sink: &mut Sink) {
    if let Sink::File(path, file) = sink {
        match open_append(path) {
            Ok(new) => {
                *file = new;
                tracing::info!(path = %path.display(), "access log reopened (SIGHUP)");
            }
            Err(e) => tracing::error!(
                error = format!("{e:#}"),
                "access log not reopened; writing on to the old file"
            ),
        }
    }
}

/// Turns SIGHUP into a reopen request for the writer.
#[cfg(unix)]
async fn forward_hangups(shared: Arc<Shared>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP; the access log will not be reopened");
        return;
    };
    while hangups.recv().await.is_some() {
        shared.reopen.store(true, Ordering::Relaxed);
        shared.wake.notify_one();
    }
}

fn write_batch(sink: &mut Sink, batch: &mut Vec<u8>) {
    if batch.is_empty() {
        return;
    }
    let result = match sink {
        // Blocking writes, but from this one task, never from a request.
        Sink::Stdout => std::io::stdout().lock().write_all(batch),
        Sink::File(_, file) => file.write_all(batch),
    };
    if let Err(e) = result {
        // EPIPE on a closed stdout must not kill the service (nor spam the log).
        tracing::debug!(error = %e, "access log write failed");
    }
    batch.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(path: &'a str, agent: Option<&'a [u8]>) -> Entry<'a> {
        Entry {
            client: "203.0.113.7".parse().unwrap(),
            time: OffsetDateTime::from_unix_timestamp(1_795_596_000).unwrap(),
            method: "POST",
            path,
            version: "HTTP/1.1",
            status: 403,
            bytes: 95,
            referer: None,
            agent,
            seconds: 0.0034,
        }
    }

    #[test]
    fn a_line_has_the_nginx_shape() {
        assert_eq!(
            format_line(&entry("/api/register", Some(b"curl/8.0"))),
            "203.0.113.7 - - [25/Nov/2026:08:40:00 +0000] \"POST /api/register HTTP/1.1\" 403 95 \"-\" \"curl/8.0\" 0.003\n"
        );
    }

    #[test]
    fn a_client_cannot_forge_fields_or_lines() {
        let line = format_line(&entry(
            "/a\"b",
            Some(b"x\" 200 1 \"-\" \"y\n1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET /api/register HTTP/1.1\" 403"),
        ));
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert_eq!(
            line.matches('"').count(),
            6,
            "only the format's quotes: {line}"
        );
        assert!(line.contains("/a\\x22b"), "{line}");
        let long = vec![b'a'; 10_000];
        assert!(format_line(&entry("/", Some(&long))).len() < 600);
    }

    #[test]
    fn an_unparsed_request_has_the_nginx_shape() {
        assert_eq!(
            format_unparsed_line(
                "203.0.113.7".parse().unwrap(),
                OffsetDateTime::from_unix_timestamp(1_795_596_000).unwrap(),
                431,
                87,
                0.0012
            ),
            "203.0.113.7 - - [25/Nov/2026:08:40:00 +0000] \"-\" 431 87 \"-\" \"-\" 0.001\n"
        );
    }

    #[test]
    fn lines_are_classed_for_shedding() {
        use LineClass::*;
        for (status, path, class) in [
            (200, "/api/register", Routine),
            (304, "/", Routine),
            (404, "/api/nope", Routine),
            (404, "/wp-login.php", Routine),
            (403, "/api/register", ApiRefusal),
            (429, "/api/register", ApiRefusal),
            (422, "/api/register", ApiRefusal),
            (503, "/api/server/status", ApiRefusal),
            (429, "/stats/summary", Error),
            (403, "/", Error),
            (500, "/stats/leaderboard", Error),
        ] {
            assert_eq!(LineClass::of(status, path), class, "{status} {path}");
        }
    }

    #[test]
    fn a_full_buffer_sheds_routine_lines_first_and_api_refusals_last() {
        // The writer never runs: what `offer` keeps stays queued.
        let (log, _receiver) = AccessLog::unstarted(Vec::new(), Arc::new(Metrics::new()), 4_000);
        let line = || Message::Line(format!("{}\n", "x".repeat(99)));
        let kept = |log: &AccessLog| log.shared.queued.load(Ordering::Relaxed) / 100;
        let dropped = |log: &AccessLog, class: LineClass| {
            log.shared.dropped[class as usize].load(Ordering::Relaxed)
        };
        let offer = |log: &AccessLog, status, path| {
            log.offer(LineClass::of(status, path), 100, line());
        };
        // Routine lines fill half the buffer, then are dropped.
        for _ in 0..30 {
            offer(&log, 404, "/flood");
        }
        assert_eq!((kept(&log), dropped(&log, LineClass::Routine)), (20, 10));
        // Other errors still fit, up to three quarters.
        for _ in 0..15 {
            offer(&log, 429, "/stats/summary");
        }
        assert_eq!((kept(&log), dropped(&log, LineClass::Error)), (30, 5));
        // What fail2ban reads fills the rest.
        for _ in 0..12 {
            offer(&log, 403, "/api/register");
        }
        assert_eq!((kept(&log), dropped(&log, LineClass::ApiRefusal)), (40, 2));
        offer(&log, 200, "/health");
        assert_eq!(dropped(&log, LineClass::Routine), 11);
        let metric = |class| {
            log.metrics
                .access_log_dropped
                .get_or_create(&LogClassLabels { class })
                .get()
        };
        assert_eq!(
            (metric("routine"), metric("error"), metric("api_refusal")),
            (11, 5, 2)
        );
        // The warning reports each count once.
        assert!(warn_dropped(&log.shared));
        assert!(!warn_dropped(&log.shared), "nothing new to report");
    }

    #[test]
    fn targets() {
        assert_eq!(Target::parse("off"), Target::Off);
        assert_eq!(Target::parse("stdout"), Target::Stdout);
        assert_eq!(
            Target::parse("/var/log/gamegate/access.log"),
            Target::File("/var/log/gamegate/access.log".into())
        );
    }
}

//! The seed's production topology (docs/PRODUCTION_SETUP.md), run for real in
//! network namespaces this test creates and deletes:
//!
//! ```text
//! test client ──HTTPS──▶ host_server: nginx (rendered site, TLS) on 127.0.0.1:443
//!                           │ wg 10.8.0.1  (boringtun; veth 172.30.8.0/30 is only its underlay)
//!                           ├──▶ wg_client  10.8.0.2: serve register :8080, serve status :8081, serve stats :8084,
//!                           │                          gameserver-mock 127.0.0.1:5190
//!                           └──▶ wg_client2 10.8.0.3: serve register :8080, gameserver-mock
//!                                   (veth 172.30.8.4/30)      both on one SQLite file
//! ```
//!
//! Everything the operator would write comes from `gamegate keygen` and
//! `gamegate render nginx|wireguard` run through the real binary. Traefik is
//! not available here, so its one job on this path, routing by path, is done
//! by the rendered nginx itself: `nginx.register_upstreams` and
//! `nginx.status_upstreams` point at the services' tunnel addresses instead
//! of at Traefik's `10.8.0.2:1010`.
//!
//! Needs root, iproute2, wireguard-tools, nginx, boringtun-cli (the kernel
//! here has no WireGuard module) and /dev/net/tun; `.ci/run` installs them.
//! Without them the test is skipped with a notice, except under `CI`, where
//! it fails. Every checked hop is written as a `hop: …` line straight to
//! stdout (past the test harness's capture), so the CI log shows each one.

#![cfg(target_os = "linux")]

use std::fs::{self, File};
use std::future::Future;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gamegate_gameserver::{GameServer as _, TcpGameServer, TcpGameServerConfig};
use gamegate_store::{Database, PoolSettings};
use serde_json::{Value, json};

mod support;
use support::Answer;
use support::binary::{self, BIN, ok_stdout};
use support::tools::{required, unavailable, which};
/// Namespaces (`ggtopo<pid>_…`) and interfaces (`gt<pid>…`) of this run carry
/// the process id, so parallel runs never collide and a later run can tell
/// an aborted run's leftovers (dead pid) from a live one's.
const NS_PREFIX: &str = "ggtopo";
const IF_PREFIX: &str = "gt";
const SERVER_NAME: &str = "api.topology.test";
const ORIGIN: &str = "https://site.topology.test";
const GAME_TOKEN: &str = "topology-game-token";
/// nginx's public side: the loopback of host_server, the test client's only way in.
const PUBLIC_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const WG_HOST: Ipv4Addr = Ipv4Addr::new(10, 8, 0, 1);
const REGISTER_PORT: u16 = 8080;
const STATUS_PORT: u16 = 8081;
const STATS_PORT: u16 = 8084;
const INGEST_TOKEN: &str = "topology-ingest-token-0123456789";
const ADMIN_TOKEN: &str = "topology-admin-token-0123456789ab";
const GAME_PORT: u16 = 5190;
const WG_PORT: u16 = 51820;
const REGISTER_PER_MINUTE: u32 = 10;
const REGISTER_BURST: u32 = 5;
const STATUS_PER_MINUTE: u32 = 30;
const STATUS_BURST: u32 = 10;
/// How long anything may take to come up.
const READY: Duration = Duration::from_secs(20);

/// One WG_CLIENT: its tunnel address and the /30 underlay to host_server.
struct Client {
    role: &'static str,
    wg: Ipv4Addr,
    underlay_host: Ipv4Addr,
    underlay_client: Ipv4Addr,
}

const CLIENTS: [Client; 2] = [
    Client {
        role: "wg_client",
        wg: Ipv4Addr::new(10, 8, 0, 2),
        underlay_host: Ipv4Addr::new(172, 30, 8, 1),
        underlay_client: Ipv4Addr::new(172, 30, 8, 2),
    },
    Client {
        role: "wg_client2",
        wg: Ipv4Addr::new(10, 8, 0, 3),
        underlay_host: Ipv4Addr::new(172, 30, 8, 5),
        underlay_client: Ipv4Addr::new(172, 30, 8, 6),
    },
];

/// A checked hop, written past the harness's capture so the CI log shows it.
fn hop(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "hop: {text}");
    let _ = out.flush();
}

struct Tools {
    ip: PathBuf,
    wg: PathBuf,
    wg_quick: PathBuf,
    nginx: PathBuf,
    boringtun: PathBuf,
}

/// Where `.ci/run` installs boringtun-cli (`cargo install --root`).
fn tools_dir() -> PathBuf {
    std::env::var_os("GAMEGATE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/gamegate-tools")
        })
}

/// The programs and privileges the topology needs, or `None` with a notice
/// (a failure under `CI`).
fn prerequisites() -> Option<Tools> {
    let debian = "apt-get install -y iproute2 wireguard-tools nginx";
    let tools = Tools {
        ip: required(which(&["ip"]), "ip", debian)?,
        wg: required(which(&["wg"]), "wg", debian)?,
        wg_quick: required(which(&["wg-quick"]), "wg-quick", debian)?,
        nginx: required(which(&["nginx"]), "nginx", debian)?,
        boringtun: required(
            which(&["boringtun-cli"]).or_else(|| {
                let p = tools_dir().join("bin/boringtun-cli");
                p.is_file().then_some(p)
            }),
            "boringtun-cli",
            "cargo install boringtun-cli --locked --root ~/.cache/gamegate-tools",
        )?,
    };
    if !rustix::process::geteuid().is_root() {
        unavailable("the topology test needs root (network namespaces, a TUN device)");
        return None;
    }
    // Root without the right to make namespaces (an unprivileged container).
    let probe = format!("{NS_PREFIX}{}_probe", std::process::id());
    let made = Command::new(&tools.ip)
        .args(["netns", "add", &probe])
        .output();
    match made {
        Ok(out) if out.status.success() => {
            ok_stdout(Command::new(&tools.ip).args(["netns", "del", &probe]));
        }
        Ok(out) => {
            let why = String::from_utf8_lossy(&out.stderr);
            unavailable(&format!("`ip netns add` fails here: {}", why.trim()));
            return None;
        }
        Err(e) => panic!("cannot run ip: {e}"),
    }
    let tun = Path::new("/dev/net/tun");
    if !tun.exists() {
        // Containers often lack the node although the driver is there.
        let _ = fs::create_dir_all("/dev/net");
        let _ = Command::new("mknod")
            .args(["/dev/net/tun", "c", "10", "200"])
            .status();
        if !tun.exists() {
            unavailable("/dev/net/tun is missing and `mknod /dev/net/tun c 10 200` failed");
            return None;
        }
    }
    Some(tools)
}

fn pid_of(name: &str, prefix: &str) -> Option<u32> {
    let digits: String = name
        .strip_prefix(prefix)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Deletes what aborted earlier runs (their pid is gone) left: the
/// processes inside their namespaces, the namespaces, boringtun's sockets.
fn clean_stale_runs(t: &Tools) {
    for entry in fs::read_dir("/run/netns").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = pid_of(&name, NS_PREFIX) else {
            continue;
        };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        eprintln!("removing namespace {name} left by an aborted run (pid {pid})");
        kill_namespace_processes(t, &name);
        let _ = Command::new(&t.ip).args(["netns", "del", &name]).status();
    }
    for entry in fs::read_dir("/var/run/wireguard")
        .into_iter()
        .flatten()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if pid_of(&name, IF_PREFIX).is_some_and(|pid| !alive(pid)) && name.ends_with(".sock") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// SIGKILL to whatever still runs in one of this test's namespaces.
fn kill_namespace_processes(t: &Tools, ns: &str) {
    let Ok(out) = Command::new(&t.ip).args(["netns", "pids", ns]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        if let Some(pid) = pid.parse().ok().and_then(rustix::process::Pid::from_raw) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// A process this test started, its output in `log`.
struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Everything the test creates; dropping it (after success or a panic)
/// stops the processes and deletes the namespaces with their interfaces.
struct Topology<'t> {
    tools: &'t Tools,
    id: u32,
    dir: tempfile::TempDir,
    namespaces: Vec<String>,
    procs: Vec<Proc>,
    wg_sockets: Vec<PathBuf>,
}

impl<'t> Topology<'t> {
    fn new(tools: &'t Tools) -> Self {
        Self {
            tools,
            id: std::process::id(),
            dir: tempfile::tempdir().unwrap(),
            namespaces: Vec::new(),
            procs: Vec::new(),
            wg_sockets: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ns(&self, role: &str) -> String {
        format!("{NS_PREFIX}{}_{role}", self.id)
    }

    /// Interface names are limited to 15 characters: `gt<pid><suffix>`.
    fn iface(&self, suffix: &str) -> String {
        format!("{IF_PREFIX}{}{suffix}", self.id)
    }

    fn ip(&self, args: &[&str]) {
        ok_stdout(Command::new(&self.tools.ip).args(args));
    }

    fn add_namespace(&mut self, role: &str) -> String {
        let ns = self.ns(role);
        self.ip(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        self.ip(&["-n", &ns, "link", "set", "lo", "up"]);
        ns
    }

    /// `ip netns exec NS program args…` (it execs, so the child is the
    /// program itself), stdout and stderr into one log file.
    fn spawn(
        &mut self,
        ns: &str,
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, String)],
    ) {
        let log = self.path(&format!("{name}.log"));
        let out = File::create(&log).unwrap();
        let child = Command::new(&self.tools.ip)
            .args(["netns", "exec", ns])
            .arg(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        self.procs.push(Proc {
            name: name.to_owned(),
            child,
            log,
        });
    }

    /// Panics with its log when a started process has exited.
    fn assert_running(&mut self) {
        for p in &mut self.procs {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("{} exited ({status}):\n{}", p.name, tail(&p.log));
            }
        }
    }

    /// SIGTERM (services finish in-flight requests, nginx stops its worker,
    /// boringtun removes its socket), SIGKILL after 5 s.
    fn stop(&mut self, name: &str) {
        let i = self
            .procs
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}"));
        let mut p = self.procs.remove(i);
        terminate(&mut p.child);
    }

    /// Polls `check` (run in `ns`) until it returns true, failing fast when a
    /// process died and after [`READY`].
    fn wait_until<F, Fut>(&mut self, ns: &str, what: &str, check: F)
    where
        F: Fn() -> Fut + Send + Sync,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + READY;
        loop {
            if in_netns(ns, &check) {
                return;
            }
            self.assert_running();
            assert!(Instant::now() < deadline, "{what}: not within {READY:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn terminate(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Topology<'_> {
    fn drop(&mut self) {
        for mut p in self.procs.drain(..).rev() {
            terminate(&mut p.child);
        }
        // Every process's output and nginx's logs, complete now that they
        // stopped, before the temporary directory goes.
        if std::thread::panicking() {
            let mut logs: Vec<PathBuf> = fs::read_dir(self.dir.path())
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect();
            logs.sort();
            for log in logs {
                eprintln!("---- {}:\n{}", log.display(), tail(&log));
            }
        }
        for ns in &self.namespaces {
            kill_namespace_processes(self.tools, ns);
            // Deleting the namespace deletes its veth and TUN interfaces.
            let _ = Command::new(&self.tools.ip)
                .args(["netns", "del", ns])
                .status();
        }
        for sock in &self.wg_sockets {
            let _ = fs::remove_file(sock);
        }
    }
}

/// The last lines of a log, for a failure message.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Runs `f` on a thread that has joined network namespace `ns`, on a
/// runtime of its own: every socket it opens lives in that namespace.
fn in_netns<T, F, Fut>(ns: &str, f: F) -> T
where
    T: Send,
    F: FnOnce() -> Fut + Send,
    Fut: Future<Output = T>,
{
    let path = Path::new("/run/netns").join(ns);
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            rustix::thread::move_into_link_name_space(
                file.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .unwrap_or_else(|e| panic!("setns into {ns}: {e}"));
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(f())
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// How a TCP connection attempt ended.
#[derive(Debug, PartialEq)]
enum Connect {
    Open,
    Refused,
    TimedOut,
    Failed(String),
}

async fn connect(addr: SocketAddr, within: Duration) -> Connect {
    match tokio::time::timeout(within, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Connect::Open,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Connect::Refused,
        Ok(Err(e)) => Connect::Failed(e.to_string()),
        Err(_) => Connect::TimedOut,
    }
}

/// `gamegate …` through the real binary, with `config` and extra settings.
fn gamegate(config: &Path, args: &[&str], envs: &[(&str, String)]) -> String {
    ok_stdout(
        binary::command()
            .args(args)
            .arg("--config")
            .arg(config)
            .envs(envs.iter().map(|(k, v)| (k, v))),
    )
}

/// The value of `key = value` in a rendered INI-style file.
fn ini_value<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == key).then(|| v.trim())
        })
        .unwrap_or_else(|| panic!("no {key} in\n{text}"))
}

/// One column of `wg show IFACE WHAT` for `peer` (public key), e.g.
/// `["180", "420"]` for `transfer` (received, sent bytes).
fn wg_show(t: &Tools, ns: &str, iface: &str, what: &str, peer: &str) -> Vec<String> {
    let table = ok_stdout(
        Command::new(&t.ip)
            .args(["netns", "exec", ns])
            .arg(&t.wg)
            .args(["show", iface, what]),
    );
    table
        .lines()
        .find_map(|l| {
            let mut fields = l.split_whitespace();
            (fields.next() == Some(peer)).then(|| fields.map(str::to_owned).collect())
        })
        .unwrap_or_else(|| panic!("peer {peer} not in `wg show {iface} {what}`:\n{table}"))
}

/// (received, sent) bytes between host_server and `peer`.
fn wg_transfer(t: &Tools, ns: &str, iface: &str, peer: &str) -> (u64, u64) {
    let bytes = wg_show(t, ns, iface, "transfer", peer);
    (bytes[0].parse().unwrap(), bytes[1].parse().unwrap())
}

/// The site's HTTPS client inside host_server: trusts only the test's
/// certificate, resolves the API name to nginx, sends from `from` (each
/// source address is a client of its own for nginx's per-IP limits).
struct Site {
    http: reqwest::Client,
}

impl Site {
    fn new(cert_pem: &str, from: Ipv4Addr) -> Self {
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
            .tls_built_in_root_certs(false)
            .resolve(SERVER_NAME, SocketAddr::from((PUBLIC_IP, 443)))
            .local_address(IpAddr::V4(from))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Self { http }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        Answer::read(req.send().await.expect("nginx answers")).await
    }

    async fn register(&self, key: Option<&str>, login: &str, telegram_id: i64) -> Answer {
        let mut req = self
            .http
            .post(format!("https://{SERVER_NAME}/api/register"))
            .header("origin", ORIGIN)
            .json(&support::player(login, telegram_id));
        if let Some(key) = key {
            req = req.header("x-api-key", key);
        }
        self.send(req).await
    }

    async fn status(&self) -> Answer {
        self.status_from(ORIGIN).await
    }

    /// The status as a page on `origin` asks for it from the browser.
    async fn status_from(&self, origin: &str) -> Answer {
        self.send(
            self.http
                .get(format!("https://{SERVER_NAME}/api/server/status"))
                .header("origin", origin),
        )
        .await
    }
}

/// Asks the mock game server of one WG_CLIENT whether `login` exists there,
/// over its own protocol, from inside that namespace.
fn on_game_server(ns: &str, login: &str) -> bool {
    in_netns(ns, || async {
        TcpGameServer::new(TcpGameServerConfig {
            addr: format!("127.0.0.1:{GAME_PORT}"),
            auth_token: GAME_TOKEN.into(),
            pool_size: 1,
            connect_timeout: Duration::from_secs(2),
            call_timeout: Duration::from_secs(5),
            ..TcpGameServerConfig::default()
        })
        .exists(login)
        .await
        .expect("the mock game server answers")
    })
}

/// What the checks need to know about the running topology.
struct Net {
    host_ns: String,
    client_ns: Vec<String>,
    wg_host_if: String,
    client_pubs: Vec<String>,
    api_key: String,
    cert_pem: String,
    db_url: String,
}

impl Net {
    /// The site's client in host_server, sending from 127.0.0.`last`.
    fn site(&self, last: u8) -> Site {
        Site::new(&self.cert_pem, Ipv4Addr::new(127, 0, 0, last))
    }

    async fn db(&self) -> Database {
        Database::connect(&self.db_url, &PoolSettings::default())
            .await
            .unwrap()
    }

    /// Which WG_CLIENTs' game servers hold `login`.
    fn game_servers_with(&self, login: &str) -> Vec<bool> {
        self.client_ns
            .iter()
            .map(|ns| on_game_server(ns, login))
            .collect()
    }
}

#[test]
fn seed_topology_nginx_wireguard_split_services() {
    let Some(t) = prerequisites() else { return };
    let started = Instant::now();
    clean_stale_runs(&t);
    let mut topo = Topology::new(&t);
    let net = build(&mut topo);
    let ready = started.elapsed();

    services_only_through_the_tunnel(&t, &net);
    let transfer_before = wg_transfer(&t, &net.host_ns, &net.wg_host_if, &net.client_pubs[0]);
    register_workflow(&net);
    status_workflow(&net);
    limits_answer_429(&net);
    statistics_public_ingestion_and_dashboard_private(&net);
    tunnel_carried_the_traffic(&t, &net, transfer_before);
    second_upstream_takes_over(&mut topo, &net);
    refusals_never_reached_the_services(&mut topo);
    hop(&format!(
        "done: topology up in {:.1} s, whole test {:.1} s",
        ready.as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));
}

/// The namespaces, the WireGuard tunnel from rendered files, the services,
/// the mock game servers and nginx, each waited for.
fn build(topo: &mut Topology) -> Net {
    let (host_ns, client_ns) = underlay(topo);
    let api_key = ok_stdout(Command::new(BIN).args(["keygen", "api-key"]))
        .trim()
        .to_owned();
    let cert = rcgen::generate_simple_self_signed(vec![SERVER_NAME.into()]).unwrap();
    let cert_pem = cert.cert.pem();
    fs::write(topo.path("cert.pem"), &cert_pem).unwrap();
    fs::write(topo.path("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let db_url = format!("sqlite://{}", topo.path("accounts.db").display());
    let config = write_config(topo, &api_key, &db_url);
    let (wg_host_if, client_pubs) = wireguard(topo, &config, &host_ns, &client_ns);
    start_services(topo, &config, &client_ns);
    start_nginx(topo, &config, &host_ns, &api_key);
    Net {
        host_ns,
        client_ns,
        wg_host_if,
        client_pubs,
        api_key,
        cert_pem,
        db_url,
    }
}

/// host_server and one namespace per WG_CLIENT, each joined to host_server
/// by a veth pair on a /30 that only the WireGuard packets use.
fn underlay(topo: &mut Topology) -> (String, Vec<String>) {
    let host_ns = topo.add_namespace("host_server");
    let mut client_ns = Vec::new();
    for (i, c) in CLIENTS.iter().enumerate() {
        let ns = topo.add_namespace(c.role);
        let host_end = topo.iface(&format!("h{i}"));
        let client_end = topo.iface(&format!("c{i}"));
        #[rustfmt::skip]
        topo.ip(&[
            "link", "add", &host_end, "netns", &host_ns,
            "type", "veth", "peer", "name", &client_end, "netns", &ns,
        ]);
        for (side, end, addr) in [
            (&host_ns, &host_end, c.underlay_host),
            (&ns, &client_end, c.underlay_client),
        ] {
            topo.ip(&["-n", side, "addr", "add", &format!("{addr}/30"), "dev", end]);
            topo.ip(&["-n", side, "link", "set", end, "up"]);
        }
        client_ns.push(ns);
    }
    (host_ns, client_ns)
}

/// The operator's one configuration file. Per-machine values (which
/// WG_CLIENT, its endpoint) are given as `GAMEGATE_*` overrides.
fn write_config(topo: &Topology, api_key: &str, db_url: &str) -> PathBuf {
    let d = topo.dir.path().display();
    let (wg1, wg2) = (CLIENTS[0].wg, CLIENTS[1].wg);
    let config = topo.path("gamegate.toml");
    fs::write(
        &config,
        format!(
            r#"language = "en"
[database]
url = "{db_url}"
[analytics]
url = "sqlite://{d}/analytics.db"
ingest_tokens = ["{INGEST_TOKEN}"]
[admin]
tokens = ["{ADMIN_TOKEN}"]
[services]
register_addr = "{wg1}:{REGISTER_PORT}"
status_addr = "{wg1}:{STATUS_PORT}"
stats_addr = "{wg1}:{STATS_PORT}"
[game_server]
addr = "127.0.0.1:{GAME_PORT}"
auth_token = "{GAME_TOKEN}"
[password_hash]
memory_kib = 1024
iterations = 1
[edge]
api_keys = ["{api_key}"]
cors_allowed_origins = ["{ORIGIN}"]
register_per_minute = {REGISTER_PER_MINUTE}
register_burst = {REGISTER_BURST}
status_per_minute = {STATUS_PER_MINUTE}
status_burst = {STATUS_BURST}
[nginx]
server_name = "{SERVER_NAME}"
listen_https = ["{PUBLIC_IP}:443"]
listen_http = ["{PUBLIC_IP}:80"]
tls_certificate = "{d}/cert.pem"
tls_certificate_key = "{d}/key.pem"
register_upstreams = ["{wg1}:{REGISTER_PORT}", "{wg2}:{REGISTER_PORT}"]
status_upstreams = ["{wg1}:{STATUS_PORT}"]
stats_upstreams = ["{wg1}:{STATS_PORT}"]
access_log = "{d}/nginx-access.log"
error_log = "{d}/nginx-error.log"
acme_webroot = "{d}/acme"
[deploy]
wg_host_address = "{WG_HOST}"
wg_client_address = "{wg1}"
wg_listen_port = {WG_PORT}
"#
        ),
    )
    .unwrap();
    config
}

/// Keys from `gamegate keygen wireguard`, each end's wg0.conf from `gamegate
/// render wireguard`, loaded into boringtun as an operator would load it
/// into the kernel: `wg-quick strip` → `wg setconf`, the Address by `ip`.
/// Returns host_server's interface and the clients' public keys.
fn wireguard(
    topo: &mut Topology,
    config: &Path,
    host_ns: &str,
    client_ns: &[String],
) -> (String, Vec<String>) {
    let t = topo.tools;
    let d = topo.dir.path().display().to_string();
    let keygen = |name: &str| {
        let key = format!("{d}/{name}.key");
        gamegate(
            config,
            &["keygen", "wireguard", "--private-key-file", &key],
            &[],
        )
        .trim()
        .to_owned()
    };
    let host_pub = keygen("host");
    let client_pubs: Vec<String> = CLIENTS.iter().map(|c| keygen(c.role)).collect();
    let render = |side: &str, key: &str, peer: &str, c: &Client, out: &str| -> String {
        let key = format!("{d}/{key}.key");
        #[rustfmt::skip]
        let args = [
            "render", "wireguard", "--side", side, "--private-key-file", &key,
            "--peer-public-key", peer, "--out", out,
        ];
        let machine = [
            ("GAMEGATE_DEPLOY__WG_CLIENT_ADDRESS", c.wg.to_string()),
            (
                "GAMEGATE_DEPLOY__WG_ENDPOINT_HOST",
                c.underlay_host.to_string(),
            ),
        ];
        gamegate(config, &args, &machine);
        fs::read_to_string(out).unwrap()
    };

    // host_server has one peer per WG_CLIENT: the file rendered for the
    // first, plus the [Peer] section rendered for the second.
    let mut host_conf = String::new();
    for (i, c) in CLIENTS.iter().enumerate() {
        let text = render(
            "host",
            "host",
            &client_pubs[i],
            c,
            &format!("{d}/host-{i}.conf"),
        );
        assert_eq!(ini_value(&text, "AllowedIPs"), format!("{}/32", c.wg));
        match i {
            0 => host_conf = text,
            _ => host_conf.push_str(&text[text.find("[Peer]").unwrap()..]),
        }
    }
    assert_eq!(ini_value(&host_conf, "Address"), format!("{WG_HOST}/24"));
    let wg_host_if = topo.iface("wh");
    let mut ends = vec![(host_ns.to_owned(), wg_host_if.clone(), host_conf)];
    for (i, c) in CLIENTS.iter().enumerate() {
        let text = render(
            "client",
            c.role,
            &host_pub,
            c,
            &format!("{d}/{}.conf", c.role),
        );
        assert_eq!(ini_value(&text, "Address"), format!("{}/24", c.wg));
        assert_eq!(
            ini_value(&text, "Endpoint"),
            format!("{}:{WG_PORT}", c.underlay_host)
        );
        ends.push((client_ns[i].clone(), topo.iface(&format!("w{i}")), text));
    }

    for (ns, iface, conf) in &ends {
        // boringtun's control socket, named after the interface, is where `wg` finds it.
        let sock = Path::new("/var/run/wireguard").join(format!("{iface}.sock"));
        topo.wg_sockets.push(sock.clone());
        topo.spawn(
            ns,
            &format!("boringtun-{iface}"),
            &t.boringtun,
            &["--foreground", "--disable-drop-privileges", iface],
            &[("WG_SUDO", "1".into())],
        );
        let deadline = Instant::now() + READY;
        while !sock.exists() {
            topo.assert_running();
            assert!(Instant::now() < deadline, "no {}", sock.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        // wg-quick takes the interface's name from the file's.
        let full = topo.path(&format!("{iface}.conf"));
        fs::write(&full, conf).unwrap();
        let stripped = topo.path(&format!("{iface}.stripped"));
        let text = ok_stdout(Command::new(&t.wg_quick).arg("strip").arg(&full));
        fs::write(&stripped, text).unwrap();
        ok_stdout(
            Command::new(&t.ip)
                .args(["netns", "exec", ns])
                .arg(&t.wg)
                .args(["setconf", iface])
                .arg(&stripped),
        );
        let address = ini_value(conf, "Address");
        topo.ip(&["-n", ns, "addr", "add", address, "dev", iface]);
        topo.ip(&["-n", ns, "link", "set", iface, "up"]);
    }

    // Each WG_CLIENT dials HOST_SERVER (the seed's `ping 10.8.0.1`): a TCP
    // connection to 10.8.0.1 that is refused was answered through the tunnel.
    let wg_host = SocketAddr::from((WG_HOST, WG_PORT));
    for (ns, c) in client_ns.iter().zip(&CLIENTS) {
        topo.wait_until(ns, "the tunnel to 10.8.0.1", || async move {
            connect(wg_host, Duration::from_millis(500)).await == Connect::Refused
        });
        hop(&format!(
            "{} {} → host_server {WG_HOST}: answered through the WireGuard tunnel (handshake done)",
            c.role, c.wg
        ));
    }
    (wg_host_if, client_pubs)
}

/// The database migrated once, then in each WG_CLIENT a mock game server and
/// `serve register` (and `serve status` in the first) on the tunnel address.
/// The services' own limits are off and they trust nginx's tunnel address:
/// with nginx in front, its zone is the limit (docs/EDGE.md).
fn start_services(topo: &mut Topology, config: &Path, client_ns: &[String]) {
    gamegate(config, &["migrate"], &[]);
    let bin = Path::new(BIN);
    let game = format!("127.0.0.1:{GAME_PORT}");
    for (i, (ns, c)) in client_ns.iter().zip(&CLIENTS).enumerate() {
        let env = [
            ("GAMEGATE_CONFIG", config.display().to_string()),
            (
                "GAMEGATE_SERVICES__REGISTER_ADDR",
                format!("{}:{REGISTER_PORT}", c.wg),
            ),
            ("GAMEGATE_EDGE__TRUSTED_PROXIES", WG_HOST.to_string()),
            ("GAMEGATE_EDGE__REGISTER_PER_MINUTE", "0".into()),
            ("GAMEGATE_EDGE__STATUS_PER_MINUTE", "0".into()),
            ("GAMEGATE_EDGE__STATS_PER_MINUTE", "0".into()),
            ("GAMEGATE_EDGE__PREDICT_PER_MINUTE", "0".into()),
            ("GAMEGATE_EDGE__NOT_FOUND_PER_MINUTE", "0".into()),
            ("GAMEGATE_LOG__LEVEL", "warn".into()),
        ];
        let mock = ["gameserver-mock", "--listen", &game];
        topo.spawn(ns, &format!("mock-{}", c.role), bin, &mock, &env);
        let register = ["serve", "register"];
        topo.spawn(ns, &format!("register-{}", c.role), bin, &register, &env);
        let mut ports = vec![REGISTER_PORT];
        if i == 0 {
            topo.spawn(ns, "status-wg_client", bin, &["serve", "status"], &env);
            topo.spawn(ns, "stats-wg_client", bin, &["serve", "stats"], &env);
            ports.extend([STATUS_PORT, STATS_PORT]);
        }
        for port in ports {
            let addr = SocketAddr::from((c.wg, port));
            topo.wait_until(ns, &format!("{addr} listening"), || async move {
                connect(addr, Duration::from_millis(500)).await == Connect::Open
            });
        }
    }
}

/// host_server's nginx with the site from `gamegate render nginx`.
fn start_nginx(topo: &mut Topology, config: &Path, host_ns: &str, api_key: &str) {
    let t = topo.tools;
    let d = topo.dir.path().display().to_string();
    let site_conf = topo.path("gamegate-site.conf");
    let out = site_conf.display().to_string();
    let said = gamegate(config, &["render", "nginx", "--out", &out], &[]);
    assert!(!said.contains(api_key), "render printed the key");
    let site = fs::read_to_string(&site_conf).unwrap();
    let upstream = &site[site.find("upstream gamegate_register {").unwrap()..];
    let upstream = &upstream[..upstream.find('}').unwrap()];
    for c in &CLIENTS {
        let server = format!("server {}:{REGISTER_PORT};", c.wg);
        assert!(upstream.contains(&server), "{upstream}");
    }
    // nginx's main file: everything that is not the site, inside the temp dir.
    let nginx_conf = topo.path("nginx.conf");
    fs::write(
        &nginx_conf,
        format!(
            "user root;\nworker_processes 1;\nevents {{ worker_connections 256; }}\nhttp {{\n\
             \x20   client_body_temp_path {d}/tmp_body;\n    proxy_temp_path {d}/tmp_proxy;\n\
             \x20   fastcgi_temp_path {d}/tmp_fastcgi;\n    uwsgi_temp_path {d}/tmp_uwsgi;\n\
             \x20   scgi_temp_path {d}/tmp_scgi;\n    include {out};\n}}\n"
        ),
    )
    .unwrap();
    let conf = nginx_conf.display().to_string();
    let globals = |daemon: &str| format!("{daemon}pid {d}/nginx.pid; error_log stderr;");
    ok_stdout(Command::new(&t.nginx).args(["-t", "-p", &d, "-c", &conf, "-g", &globals("")]));
    let args = ["-p", &d, "-c", &conf, "-g", &globals("daemon off; ")];
    topo.spawn(host_ns, "nginx", &t.nginx, &args, &[]);
    let public = SocketAddr::from((PUBLIC_IP, 443));
    topo.wait_until(host_ns, "nginx listening", || async move {
        connect(public, Duration::from_millis(500)).await == Connect::Open
    });
}

/// From host_server, the services answer on the tunnel address only.
fn services_only_through_the_tunnel(t: &Tools, net: &Net) {
    let c1 = &CLIENTS[0];
    let route = ok_stdout(Command::new(&t.ip).args([
        "-n",
        &net.host_ns,
        "route",
        "get",
        &c1.wg.to_string(),
    ]));
    assert!(
        route.contains(&format!("dev {}", net.wg_host_if)),
        "{route}"
    );
    hop(&format!(
        "host_server routes {} via {} (the tunnel), not the veth",
        c1.wg, net.wg_host_if
    ));
    in_netns(&net.host_ns, || async {
        for port in [REGISTER_PORT, STATUS_PORT, STATS_PORT, GAME_PORT] {
            let underlay = SocketAddr::from((c1.underlay_client, port));
            let got = connect(underlay, Duration::from_secs(2)).await;
            assert_eq!(got, Connect::Refused, "{underlay} from host_server");
            hop(&format!(
                "host_server ✗ {underlay} (wg_client's veth underlay): refused"
            ));
        }
        let game = SocketAddr::from((c1.wg, GAME_PORT));
        let got = connect(game, Duration::from_secs(2)).await;
        assert_eq!(got, Connect::Refused, "{game} from host_server");
        hop(&format!(
            "host_server ✗ {game}: the game server listens on wg_client's loopback only"
        ));
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        for port in [REGISTER_PORT, STATUS_PORT, STATS_PORT] {
            let url = format!("http://{}:{port}/internal/health", c1.wg);
            let r = http.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            let health: Value = r.json().await.unwrap();
            assert_eq!(health["status"], "ok", "{health}");
            hop(&format!("host_server → {url} through the tunnel: 200 ok"));
        }
    });
}

/// The seed's workflow 1: `POST /api/register` through nginx, only with the key.
fn register_workflow(net: &Net) {
    let (refused, accepted) = ("Topo_Nokey", "Topo_Hero1");
    in_netns(&net.host_ns, || async {
        let site = net.site(11);
        let r = site
            .send(site.http.get(format!("https://{SERVER_NAME}/health")))
            .await;
        assert_eq!(r.status, 200);
        hop(&format!(
            "client → https://{SERVER_NAME} ({PUBLIC_IP}:443): TLS verified against the test's certificate, /health 200"
        ));

        site.register(None, refused, 501)
            .await
            .assert_error(403, "invalid_api_key");
        site.register(Some("wrong-key-0123456789abcdef"), refused, 501)
            .await
            .assert_error(403, "invalid_api_key");
        let db = net.db().await;
        assert!(db.accounts().find(refused).await.unwrap().is_none());
        hop(
            "POST /api/register without / with a wrong X-API-Key → 403 invalid_api_key JSON; no account",
        );

        let r = site.register(Some(&net.api_key), accepted, 502).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["ok"], json!(true), "{}", r.body);
        let row = db.accounts().find(accepted).await.unwrap();
        let row = row.expect("the account is in the database");
        assert_eq!((row.state.as_str(), row.telegram_id), ("synced", 502));
        db.close().await;
    });
    assert_eq!(net.game_servers_with(refused), [false, false]);
    let on = net.game_servers_with(accepted);
    let holders: Vec<&str> = CLIENTS
        .iter()
        .zip(&on)
        .filter(|(_, on)| **on)
        .map(|(c, _)| c.role)
        .collect();
    assert_eq!(holders.len(), 1, "on exactly one game server: {on:?}");
    hop(&format!(
        "POST /api/register with the key → 200 via nginx → WireGuard → register → SQLite (synced) + the game server of {}",
        holders[0]
    ));
}

/// The seed's workflow 2: `GET /api/server/status`, no key; CORS only for
/// the site's origin; plain HTTP redirected to HTTPS.
fn status_workflow(net: &Net) {
    in_netns(&net.host_ns, || async {
        let site = net.site(12);
        let r = site.status().await;
        assert_eq!(r.status, 200, "{}", r.body);
        let body = r.json();
        assert_eq!(body["client_status"], json!(256.0), "{body}");
        assert!(body["rates"]["exp"].is_number(), "{body}");
        hop(
            "GET /api/server/status without a key → 200 via nginx → WireGuard → status (10.8.0.2:8081)",
        );

        assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
        let other = site.status_from("https://evil.example").await;
        assert_eq!(other.status, 200, "{}", other.body);
        assert_eq!(other.header("access-control-allow-origin"), None);
        hop(&format!(
            "CORS: Access-Control-Allow-Origin {ORIGIN} for the site, none for another origin"
        ));

        let r = site
            .send(
                site.http
                    .get(format!("http://{PUBLIC_IP}/api/server/status"))
                    .header("host", SERVER_NAME),
            )
            .await;
        let https = format!("https://{SERVER_NAME}/api/server/status");
        assert_eq!(
            (r.status.as_u16(), r.header("location")),
            (308, Some(https.as_str()))
        );
        hop(&format!(
            "http://{SERVER_NAME}/api/server/status → 308 {https}"
        ));
    });
}

/// nginx's per-address zones: a flood gets 429 after the burst.
fn limits_answer_429(net: &Net) {
    in_netns(&net.host_ns, || async {
        let site = net.site(66);
        let mut ok = 0;
        let limited = loop {
            let r = site.status().await;
            if r.status == 429 {
                break r;
            }
            assert_eq!(r.status, 200, "{}", r.body);
            ok += 1;
            assert!(ok <= 3 * STATUS_BURST, "no 429 after {ok} status requests");
        };
        limited.assert_error(429, "rate_limited");
        assert!(ok >= STATUS_BURST, "429 after only {ok} requests");
        let retry: u32 = limited.header("retry-after").unwrap().parse().unwrap();
        assert_eq!(retry, 60 / STATUS_PER_MINUTE);
        hop(&format!(
            "status flood from 127.0.0.66: {ok} × 200, then 429 rate_limited, Retry-After {retry}"
        ));

        // The limit comes before the key check: key guessing is limited too.
        let site = net.site(67);
        let mut refused = 0;
        let limited = loop {
            let r = site.register(None, "Topo_Flood", 503).await;
            if r.status == 429 {
                break r;
            }
            r.assert_error(403, "invalid_api_key");
            refused += 1;
            assert!(refused <= 3 * REGISTER_BURST, "no 429 after {refused}");
        };
        limited.assert_error(429, "rate_limited");
        assert!(refused >= REGISTER_BURST, "429 after only {refused}");
        hop(&format!(
            "register flood without a key from 127.0.0.67: {refused} × 403, then 429 rate_limited"
        ));
    });
}

/// The statistics service: the game server posts battles over the tunnel
/// (its token), the site reads the public statistics through nginx, and
/// neither ingestion nor the dashboard is reachable from the internet; the
/// dashboard opens on the private side with the operator's token only.
fn statistics_public_ingestion_and_dashboard_private(net: &Net) {
    let stats = format!("http://{}:{STATS_PORT}", CLIENTS[0].wg);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let battle = json!([{
        "id": 4242, "mode": "pvp", "started_at": now - 600, "duration_secs": 300,
        "participants": [
            {"login": "Topo_A", "team": 1, "won": true, "kills": 3, "deaths": 1,
             "damage_dealt": 900, "damage_taken": 300, "level": 10},
            {"login": "Topo_B", "team": 2, "won": false, "kills": 1, "deaths": 3,
             "damage_dealt": 300, "damage_taken": 900, "level": 10}
        ]
    }]);
    // The private side: the game server on the WG_CLIENT's network.
    in_netns(&net.client_ns[0], || async {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let posted = http
            .post(format!("{stats}/stats/battles"))
            .bearer_auth(INGEST_TOKEN)
            .json(&battle)
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 200, "{:?}", posted.text().await);
        let refused = http
            .get(format!("{stats}/admin/dashboard"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
        assert!(refused.headers().contains_key("www-authenticate"));
        let shown = http
            .get(format!("{stats}/admin/dashboard"))
            .basic_auth("operator", Some(ADMIN_TOKEN))
            .send()
            .await
            .unwrap();
        assert_eq!(shown.status(), 200);
        hop(&format!(
            "wg_client → {stats}: POST /stats/battles with the ingest token 200; /admin/dashboard 401 without the admin token, 200 with it"
        ));
    });
    // The public side: through nginx.
    in_netns(&net.host_ns, || async {
        let site = net.site(70);
        let board = site
            .send(
                site.http
                    .get(format!("https://{SERVER_NAME}/stats/players/topo_a")),
            )
            .await;
        assert_eq!(board.status, 200, "{}", board.body);
        assert_eq!(board.json()["login"], json!("Topo_A"), "{}", board.body);
        let leaderboard = site
            .send(
                site.http
                    .get(format!("https://{SERVER_NAME}/stats/leaderboard")),
            )
            .await;
        assert_eq!(leaderboard.status, 200, "{}", leaderboard.body);
        let ingest = site
            .send(
                site.http
                    .post(format!("https://{SERVER_NAME}/stats/battles"))
                    .bearer_auth(INGEST_TOKEN)
                    .json(&battle),
            )
            .await;
        let dashboard = site
            .send(
                site.http
                    .get(format!("https://{SERVER_NAME}/admin/dashboard"))
                    .basic_auth("operator", Some(ADMIN_TOKEN)),
            )
            .await;
        for (what, answer) in [
            ("POST /stats/battles", &ingest),
            ("GET /admin/dashboard", &dashboard),
        ] {
            assert!(
                [404, 405].contains(&answer.status.as_u16()),
                "{what} through nginx: {} {}",
                answer.status,
                answer.body
            );
        }
        hop(&format!(
            "site → nginx: /stats/players/topo_a and /stats/leaderboard 200; POST /stats/battles {} and /admin/dashboard {} even with the tokens",
            ingest.status.as_u16(),
            dashboard.status.as_u16()
        ));
    });
}

/// `wg show` on host_server: the traffic went through the tunnel.
fn tunnel_carried_the_traffic(t: &Tools, net: &Net, before: (u64, u64)) {
    let after = wg_transfer(t, &net.host_ns, &net.wg_host_if, &net.client_pubs[0]);
    let (rx, tx) = (after.0 - before.0, after.1 - before.1);
    // At least the bodies of the answers above went through it.
    assert!(
        rx > 1000 && tx > 1000,
        "wg transfer grew by only rx {rx} tx {tx}"
    );
    // host_server's config has no Endpoint: it learns a client's address only
    // from an authenticated handshake. (boringtun reports the latest
    // handshake's time as seconds since it, not as a date: not used.)
    let mut endpoints = Vec::new();
    for (c, key) in CLIENTS.iter().zip(&net.client_pubs) {
        let endpoint = wg_show(t, &net.host_ns, &net.wg_host_if, "endpoints", key).join(" ");
        let underlay = format!("{}:", c.underlay_client);
        assert!(endpoint.starts_with(&underlay), "{}: {endpoint:?}", c.role);
        endpoints.push(format!("{} at {endpoint}", c.role));
    }
    hop(&format!(
        "wg show {}: handshakes done ({}); host ⇄ wg_client carried rx +{rx} B, tx +{tx} B during the workflows",
        net.wg_host_if,
        endpoints.join(", ")
    ));
}

/// Two register upstreams share the load; with one stopped, registration
/// goes on through the other (nginx's default `proxy_next_upstream error`).
fn second_upstream_takes_over(topo: &mut Topology, net: &Net) {
    let register = |last: u8, logins: &[String], telegram_id: i64| {
        in_netns(&net.host_ns, || async {
            let site = net.site(last);
            for login in logins {
                let r = site.register(Some(&net.api_key), login, telegram_id).await;
                assert_eq!(r.status, 200, "{login}: {}", r.body);
            }
            let r = site.status().await;
            assert_eq!(r.status, 200, "{}", r.body);
        })
    };
    let spread: Vec<String> = (1..=4).map(|i| format!("Topo_Spread{i}")).collect();
    register(13, &spread, 504);
    let mut per_client = [0; 2];
    for login in &spread {
        let on = net.game_servers_with(login);
        assert_eq!(on.iter().filter(|b| **b).count(), 1, "{login}: {on:?}");
        per_client[usize::from(on[1])] += 1;
    }
    assert!(per_client.iter().all(|n| *n > 0), "{per_client:?}");
    hop(&format!(
        "4 registrations balanced over both register upstreams: wg_client {}, wg_client2 {}",
        per_client[0], per_client[1]
    ));

    topo.stop("register-wg_client");
    let failover: Vec<String> = (1..=3).map(|i| format!("Topo_Failover{i}")).collect();
    register(14, &failover, 505);
    for login in &failover {
        assert_eq!(net.game_servers_with(login), [false, true], "{login}");
    }
    let (synced, pending) = block_on(async {
        let db = net.db().await;
        let counts = db.accounts().count_by_state().await.unwrap();
        db.close().await;
        counts
    });
    assert_eq!((synced, pending), (1 + 4 + 3, 0));
    hop(
        "register on wg_client stopped: 3 registrations → 200, all through wg_client2 (10.8.0.3); status still 200; 8 accounts synced, 0 pending",
    );
}

/// The register services' access logs, complete once they stopped: nginx
/// answered every 403 and 429 itself, and each accepted request arrived
/// with the client's own address (nginx's X-Forwarded-For, trusted from
/// 10.8.0.1 only).
fn refusals_never_reached_the_services(topo: &mut Topology) {
    topo.assert_running();
    topo.stop("register-wg_client2");
    let logs: String = CLIENTS
        .iter()
        .map(|c| fs::read_to_string(topo.path(&format!("register-{}.log", c.role))).unwrap())
        .collect();
    let posts: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"POST /api/register "))
        .collect();
    assert_eq!(posts.len(), 8, "{posts:?}");
    for (from, count) in [("127.0.0.11 ", 1), ("127.0.0.13 ", 4), ("127.0.0.14 ", 3)] {
        let seen = posts
            .iter()
            .filter(|l| l.starts_with(from) && l.contains("\" 200 "))
            .count();
        assert_eq!(seen, count, "{from}: {posts:?}");
    }
    hop(
        "register services' access logs: only the 8 accepted POSTs reached them (no 403/429), each from the client's own address",
    );
}

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

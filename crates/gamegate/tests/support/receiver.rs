//! Receivers of the HTTP connector (`game_server.kind = "http"`) and
//! gamegate configured for them: the Python reference receiver of
//! `examples/gameserver-http/` as a real process, the in-process mock
//! receiver, and registration against an app that runs no v1 mock.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gamegate::Config;
use gamegate::config::ConnectorKind;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::app::TEST_API_KEY;
use super::tools::{required, which};

/// The signing secret the receivers and gamegate share in tests.
pub const RECEIVER_SECRET: &str = "receiver-signing-secret-0123456789";

/// `config` talking to an HTTP receiver at `url` with [`RECEIVER_SECRET`]
/// (the v1 mock is then never started).
pub fn use_http_receiver(config: &mut Config, url: &str) {
    config.game_server.kind = ConnectorKind::Http;
    config.game_server.http.url = url.to_owned();
    config.game_server.http.signing_secret = RECEIVER_SECRET.into();
}

/// The reference receiver (`examples/gameserver-http/server.py`) running as
/// a process on a free loopback port; killed when dropped.
pub struct PythonReceiver {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// Its accounts file.
    pub accounts: PathBuf,
    _child: tokio::process::Child,
}

/// The reference receiver's source.
pub fn python_receiver_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/gameserver-http/server.py")
}

/// Starts the reference receiver with its accounts and secret files in
/// `dir`; `None` (or a panic under `CI`) without python3.
pub async fn python_receiver(dir: &Path) -> Option<PythonReceiver> {
    let python = required(which(&["python3"]), "python3", "apt-get install python3")?;
    let secret = dir.join("receiver-secret");
    std::fs::write(&secret, format!("{RECEIVER_SECRET}\n")).unwrap();
    let accounts = dir.join("accounts.json");
    let mut child = tokio::process::Command::new(python)
        .arg(python_receiver_script())
        .args(["--listen", "127.0.0.1:0", "--quiet", "--secret-file"])
        .arg(&secret)
        .arg("--accounts")
        .arg(&accounts)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the receiver says where it listens within 10 s")
        .unwrap()
        .expect("a first line");
    let url = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    let addr = url.trim_start_matches("http://").parse().unwrap();
    Some(PythonReceiver {
        url,
        addr,
        accounts,
        _child: child,
    })
}

impl PythonReceiver {
    /// The logins in its accounts file, lower-cased (empty before the first).
    pub fn logins(&self) -> BTreeSet<String> {
        self.accounts_json()["accounts"]
            .as_object()
            .map(|accounts| {
                accounts
                    .values()
                    .map(|a| a["login"].as_str().unwrap().to_lowercase())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The account id it gave `login`, if it holds it.
    pub fn account_id(&self, login: &str) -> Option<i64> {
        self.accounts_json()["accounts"]
            .as_object()?
            .values()
            .find(|a| {
                a["login"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case(login))
            })
            .and_then(|a| a["id"].as_i64())
    }

    fn accounts_json(&self) -> Value {
        match std::fs::read(&self.accounts) {
            Ok(bytes) => serde_json::from_slice(&bytes).expect("the accounts file is JSON"),
            Err(_) => Value::Null,
        }
    }
}

/// `POST /api/register` on `addr` with the test API key.
pub async fn register_at(
    http: &reqwest::Client,
    addr: SocketAddr,
    body: &Value,
) -> (StatusCode, Value) {
    let response = http
        .post(format!("http://{addr}/api/register"))
        .header("x-api-key", TEST_API_KEY)
        .json(body)
        .send()
        .await
        .expect("request sent");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

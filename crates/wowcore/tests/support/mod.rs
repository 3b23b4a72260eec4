//! What the wowcore suites share: a scratch auth database on the CI MariaDB
//! (`GAMEGATE_TEST_MYSQL_URL`; required under `CI`, skipped with a notice
//! elsewhere, as crates/gamegate/tests/support/backend.rs does), and the
//! independent Python SRP6 (`tests/srp6_reference.py`).

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use gamegate_wowcore::{AuthDbSettings, Core, schema};
use serde_json::Value;
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};

/// The MariaDB/MySQL server of the per-backend suites.
pub const MYSQL_ENV: &str = "GAMEGATE_TEST_MYSQL_URL";

/// The server URL, or `None` with a `SKIPPED` notice; panics under `CI`.
pub fn server_url() -> Option<String> {
    match std::env::var(MYSQL_ENV) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{MYSQL_ENV} is not set, but CI must run the auth-database suites (see .ci/run)")
        }
        _ => {
            eprintln!("SKIPPED: {MYSQL_ENV} is not set (CI sets it; see .ci/run)");
            None
        }
    }
}

/// A fresh `gg_test_<random>` database with the core's `account` table.
pub struct ScratchAuthDb {
    /// Its URL (no password on the CI server).
    pub url: String,
    /// A pool for the test's own reads and writes.
    pub pool: MySqlPool,
}

impl ScratchAuthDb {
    /// Creates it; `None` when the server is not configured here.
    pub async fn create(core: Core) -> Option<Self> {
        let server = server_url()?;
        let name = format!("gg_test_wow_{:012x}", rand::random::<u64>() >> 16);
        let admin = MySqlPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&server)
            .await
            .unwrap_or_else(|e| panic!("{MYSQL_ENV} is set but the server is unreachable: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let mut url = url::Url::parse(&server).unwrap();
        url.set_path(&format!("/{name}"));
        let url = url.to_string();
        let pool = MySqlPoolOptions::new()
            .max_connections(4)
            .connect(&url)
            .await
            .unwrap();
        sqlx::raw_sql(schema::account_ddl(core))
            .execute(&pool)
            .await
            .unwrap();
        Some(Self { url, pool })
    }

    /// Connector settings for this database: `pool_size` connections, 3 s.
    pub fn settings(&self, pool_size: u32) -> AuthDbSettings {
        AuthDbSettings {
            url: self.url.clone().into(),
            pool_size,
            acquire_timeout: Duration::from_secs(3),
            call_timeout: Duration::from_secs(3),
            expansion: 2,
        }
    }

    /// `(username, salt, verifier)` of every row, by id.
    pub async fn rows(&self) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        sqlx::query_as("SELECT username, salt, verifier FROM account ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .unwrap()
    }

    /// The salt and verifier stored for `username` (exact match).
    pub async fn logon(&self, username: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        sqlx::query_as("SELECT salt, verifier FROM account WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .unwrap()
    }
}

/// Runs tests/srp6_reference.py on `cases` (JSON objects) and returns its
/// answers; panics if python3 fails.
pub fn python(cases: &[Value]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/srp6_reference.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs (the SRP6 reference needs only hashlib)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "srp6_reference.py failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

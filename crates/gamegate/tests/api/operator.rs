//! Operator commands run as an operator runs them: the real binary, from
//! another working directory than the server's, with and without the
//! server's configuration.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use reqwest::StatusCode;

use crate::support::{Backend, binary, spawn_app_with};

/// `gamegate ARGS` in `cwd` with nothing from the test's environment but
/// PATH (no `GAMEGATE_*`, so only `--config` or the defaults apply).
fn gamegate_in(cwd: &Path, args: &[&str]) -> Output {
    binary::command()
        .args(args)
        .current_dir(cwd)
        .env("GAMEGATE_LOG__LEVEL", "warn")
        .output()
        .expect("the gamegate binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_elsewhere_find_the_server_database_or_say_where_they_looked() {
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.edge.ban_sync_interval_ms = 200;
        // The test client is on loopback, which the jail ignores by default.
        c.edge.ban_ignore = Vec::new();
    })
    .await
    .unwrap();
    let server_dir = tempfile::tempdir().unwrap();
    let config_path = server_dir.path().join("gamegate.toml");
    std::fs::write(&config_path, toml::to_string(&app.config).unwrap()).unwrap();
    let config_arg = config_path.display().to_string();
    let elsewhere = tempfile::tempdir().unwrap();

    // Without the configuration: the default relative sqlite://gamegate.db
    // is not there. A clear error naming the absolute path, exit 1, and no
    // database (or anything else) created.
    for args in [
        &["ban", "remove", "198.51.100.7"][..],
        &["ban", "list"],
        &["report", "registrations"],
        &["report", "top-telegram"],
    ] {
        let out = gamegate_in(elsewhere.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = text(&out.stderr);
        let missing = elsewhere.path().join("gamegate.db");
        assert!(
            stderr.contains(&format!("no database at {}", missing.display()))
                && stderr.contains("--config"),
            "{args:?}: {stderr}"
        );
        assert!(text(&out.stdout).is_empty(), "{args:?}");
        let left: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} created {left:?}");
    }

    // With it: the running server obeys a ban added and lifted from here.
    let status = || async {
        app.http
            .get(app.url("/api/server/status"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(status().await, StatusCode::OK);
    let out = gamegate_in(
        elsewhere.path(),
        &[
            "--config",
            &config_arg,
            "ban",
            "add",
            "127.0.0.1",
            "--for",
            "1h",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    app.eventually(
        "the ban reaches the server",
        Duration::from_secs(10),
        || async { status().await == StatusCode::FORBIDDEN },
    )
    .await;
    let out = gamegate_in(
        elsewhere.path(),
        &["--config", &config_arg, "ban", "remove", "127.0.0.1"],
    );
    assert_eq!(
        text(&out.stdout).trim(),
        "lifted the ban of 127.0.0.1",
        "{out:?}"
    );
    app.eventually(
        "the lifted ban reaches the server",
        Duration::from_secs(10),
        || async { status().await == StatusCode::OK },
    )
    .await;
    let out = gamegate_in(
        elsewhere.path(),
        &["--config", &config_arg, "report", "registrations", "--json"],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        std::fs::read_dir(elsewhere.path())
            .unwrap()
            .next()
            .is_none()
    );
    app.stop().await;
}

#[tokio::test]
async fn migrate_says_what_it_created_and_a_report_on_an_unmigrated_database_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", db.display());
    let analytics = format!(
        "sqlite://{}",
        dir.path().join("fresh-analytics.db").display()
    );
    let config = dir.path().join("gamegate.toml");
    std::fs::write(
        &config,
        format!("[database]\nurl = \"{url}\"\n[analytics]\nurl = \"{analytics}\"\n"),
    )
    .unwrap();
    let config = config.display().to_string();

    // An empty file that exists (an operator's `touch`, a failed restore):
    // the report says it is not migrated instead of "no such table".
    std::fs::write(&db, b"").unwrap();
    let out = gamegate_in(dir.path(), &["--config", &config, "report", "top-telegram"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is not migrated") && stderr.contains("gamegate migrate"),
        "{stderr}"
    );
    assert!(!stderr.contains("no such table"), "{stderr}");

    let out = gamegate_in(dir.path(), &["--config", &config, "migrate"]);
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("accounts database {}: applied ", db.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "analytics database {}: created, applied ",
            dir.path().join("fresh-analytics.db").display()
        )),
        "{stdout}"
    );
    let out = gamegate_in(dir.path(), &["--config", &config, "migrate"]);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches(": up to date (").count(), 2, "{stdout}");
    let out = gamegate_in(dir.path(), &["--config", &config, "report", "top-telegram"]);
    assert!(out.status.success(), "{out:?}");
}

/// `doctor` and `backup` read an existing database as `ban` and `report`
/// do: run in another directory without the server's configuration, each
/// names the absolute path it looked at and creates nothing.
#[tokio::test]
async fn doctor_and_backup_run_elsewhere_create_no_database() {
    let elsewhere = tempfile::tempdir().unwrap();
    let missing = elsewhere.path().join("gamegate.db");
    let no_database = format!("no database at {}", missing.display());

    let out = gamegate_in(
        elsewhere.path(),
        &["doctor", "--skip", "game_server", "--skip", "telegram"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = text(&out.stdout);
    let database_line = stdout
        .lines()
        .find(|l| l.contains("accounts_database"))
        .unwrap_or_else(|| panic!("no accounts_database check: {stdout}"));
    assert!(
        database_line.contains('✗') && database_line.contains(&no_database),
        "{stdout}"
    );

    let out = gamegate_in(elsewhere.path(), &["backup", "--out", "copy.db"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains(&no_database), "{out:?}");

    let left: Vec<_> = std::fs::read_dir(elsewhere.path()).unwrap().collect();
    assert!(left.is_empty(), "created {left:?}");
}

/// `gamegate --version` names the commit the binary was built from: the
/// checkout's HEAD (build.rs asks git), so an operator can tell two builds of
/// one version apart.
#[test]
fn the_version_names_the_commit_it_was_built_from() {
    let out = binary::command().arg("--version").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let version = text(&out.stdout);
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| text(&o.stdout).trim().to_owned());
    match head {
        Some(head) => assert_eq!(
            version.trim(),
            format!("gamegate {} (commit {head})", env!("CARGO_PKG_VERSION"))
        ),
        // Outside a git checkout (a source tarball) the commit is unknown.
        None => assert_eq!(
            version.trim(),
            format!("gamegate {} (commit unknown)", env!("CARGO_PKG_VERSION"))
        ),
    }
}

/// `gamegate all` started with the defaults (databases relative to its
/// working directory) names every file it uses by its absolute path in the
/// banner; its logs carry no colour codes when stderr is not a terminal (a
/// file, a pipe, journald), and with `log.format = "json"` each line is one
/// JSON object with the fields docs/CONFIGURATION.md names.
#[tokio::test]
async fn the_banner_names_absolute_paths_and_piped_logs_are_plain() {
    for format in ["pretty", "json"] {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = binary::command();
        cmd.arg("all")
            .current_dir(dir.path())
            .env("GAMEGATE_HTTP__PUBLIC_ADDR", "127.0.0.1:0")
            .env("GAMEGATE_HTTP__ADMIN_ADDR", "127.0.0.1:0")
            .env("GAMEGATE_GAME_SERVER__ADDR", "127.0.0.1:0")
            .env("GAMEGATE_ANALYTICS__SEED_DEMO_HISTORY", "false")
            .env("GAMEGATE_LOG__ACCESS_LOG", "off")
            .env("GAMEGATE_LOG__LEVEL", "info")
            .env("GAMEGATE_LOG__FORMAT", format);
        let mut process = binary::Process::spawn_capturing_stderr(&mut cmd);
        let banner = process.banner(binary::BANNER_WITHIN).await;
        // The child resolves its working directory as getcwd does.
        let root = dir.path().canonicalize().unwrap().display().to_string();
        for (role, file) in [
            ("database", "gamegate.db"),
            ("analytics", "gamegate-analytics.db"),
            ("api key", "gamegate.api-key"),
        ] {
            let line = banner
                .line(role)
                .unwrap_or_else(|| panic!("no {role} line"));
            assert!(
                line.contains(&format!("{root}/{file}")),
                "{role}: {line:?} names {file} by its absolute path"
            );
        }
        // The log lines of the start (info) are out once the banner is.
        let stderr = process.stderr();
        assert!(!stderr.is_empty(), "{format}: info lines logged");
        assert!(
            stderr.iter().all(|l| !l.contains('\u{1b}')),
            "{format}: no ANSI escape codes: {stderr:?}"
        );
        if format == "json" {
            for line in &stderr {
                let event: serde_json::Value = serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
                for field in ["timestamp", "level", "target", "message"] {
                    assert!(event.get(field).is_some(), "no {field}: {line}");
                }
            }
        } else {
            assert!(stderr.iter().any(|l| l.contains(" INFO ")), "{stderr:?}");
        }
    }
}

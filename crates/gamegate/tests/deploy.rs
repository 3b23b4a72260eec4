//! The deployment files through the real binary: `gamegate render
//! compose|traefik|systemd|logrotate|wireguard` and `gamegate keygen` from a
//! test config, checked by the real tools where they exist (`wg`, `wg-quick`,
//! `logrotate`, `systemd-analyze`) and parsed as YAML where none exists here
//! (no Docker engine, no Traefik).
//!
//! wireguard-tools and logrotate are required under `CI` (`.ci/run` installs
//! them) and skipped with a notice otherwise. `systemd-analyze verify` is
//! skipped with a notice wherever it cannot run (it needs no running systemd,
//! but some containers lack it or its unit search paths).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_norway::Value;

mod support;
use support::binary::{self, BIN, Process, ok_stdout};
use support::tools::{free_port, required, which};

/// The tool, or `None` with a notice; under `CI` a missing tool fails.
fn tool(name: &str, package: &str) -> Option<PathBuf> {
    required(
        which(&[name]),
        name,
        &format!("apt-get install -y {package}"),
    )
}

/// `gamegate --config CONFIG ARGS…`, which must succeed: its stdout.
fn gamegate(config: &Path, args: &[&str]) -> String {
    ok_stdout(&mut binary::with_config(config, args))
}

/// Non-default ports and replicas, so the assertions prove the files follow
/// the config rather than the defaults.
fn test_config(dir: &Path) -> PathBuf {
    let path = dir.join("gamegate.toml");
    std::fs::write(
        &path,
        format!(
            "[services]\nregister_addr = \"0.0.0.0:18080\"\nstatus_addr = \"0.0.0.0:18081\"\n\
             stats_addr = \"0.0.0.0:18084\"\n\
             [game_server]\naddr = \"gameserver-mock:15190\"\n\
             [log]\naccess_log = \"/var/log/gamegate/access.log\"\n\
             [nginx]\nserver_name = \"api.game.example\"\n\
             [deploy]\nregister_replicas = 2\ntraefik_port = 1011\nimage = \"registry.example/gamegate:1.2\"\n\
             binary_path = \"{BIN}\"\n\
             [backup]\ndir = \"/var/lib/gamegate/backups\"\n"
        ),
    )
    .unwrap();
    path
}

fn yaml(path: &Path) -> Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

fn strs(v: &Value) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn compose_and_traefik_follow_the_config_and_route_no_internal_path() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let compose_path = dir.path().join("docker-compose.yml");
    let traefik_path = dir.path().join("traefik-dynamic.yml");
    gamegate(
        &config,
        &["render", "compose", "--out", compose_path.to_str().unwrap()],
    );
    gamegate(
        &config,
        &["render", "traefik", "--out", traefik_path.to_str().unwrap()],
    );

    let compose = yaml(&compose_path);
    let services = compose["services"].as_mapping().unwrap();
    let names: Vec<&str> = services.keys().map(|k| k.as_str().unwrap()).collect();
    for name in [
        "traefik",
        "register-1",
        "register-2",
        "status",
        "stats",
        "gameserver-mock",
        "mariadb",
        "postgres",
    ] {
        assert!(names.contains(&name), "no {name} in {names:?}");
    }
    assert!(!names.contains(&"register-3"), "{names:?}");
    for (name, service, port) in [
        ("register-1", "register", 18080),
        ("register-2", "register", 18080),
        ("status", "status", 18081),
        ("stats", "stats", 18084),
    ] {
        let s = &compose["services"][name];
        assert_eq!(strs(&s["command"]), ["serve", service], "{name}");
        assert_eq!(s["image"].as_str(), Some("registry.example/gamegate:1.2"));
        assert_eq!(s["restart"].as_str(), Some("unless-stopped"), "{name}");
        assert_eq!(strs(&s["expose"]), [port.to_string()], "{name}");
        assert_eq!(
            s["environment"]
                [format!("GAMEGATE_SERVICES__{}_ADDR", service.to_uppercase()).as_str()]
            .as_str(),
            Some(format!("0.0.0.0:{port}").as_str()),
            "{name}"
        );
        assert_eq!(
            strs(&s["healthcheck"]["test"]),
            ["CMD", "gamegate", "healthcheck", "--service", service],
            "{name}"
        );
        assert!(s["deploy"]["resources"]["limits"]["memory"].is_string());
        assert!(s["deploy"]["resources"]["limits"]["cpus"].is_string());
        // Reached through Traefik only, apart from stats: published on the
        // WireGuard address alone (battles from the game server, the
        // operator's dashboard), never on every interface.
        match name {
            "stats" => assert_eq!(strs(&s["ports"]), ["10.8.0.2:18084:18084"], "{name}"),
            _ => assert!(s.get("ports").is_none(), "{name} publishes ports"),
        }
        // The operator tokens guard /metrics (and stats' dashboard) everywhere.
        assert_eq!(
            s["environment"]["GAMEGATE_ADMIN__TOKENS_FILE"].as_str(),
            Some("/run/secrets/admin_tokens"),
            "{name}"
        );
        // Secrets only as files.
        for (var, value) in s["environment"].as_mapping().unwrap() {
            let var = var.as_str().unwrap();
            if var.contains("URL") || var.contains("KEY") || var.contains("TOKEN") {
                assert!(
                    var.ends_with("_FILE"),
                    "{name}: {var} is not a *_FILE variable"
                );
                let secret = value
                    .as_str()
                    .unwrap()
                    .strip_prefix("/run/secrets/")
                    .unwrap();
                assert!(
                    strs(&s["secrets"]).contains(&secret.to_owned()),
                    "{name}: {secret}"
                );
                assert!(compose["secrets"][secret]["file"].is_string());
            }
        }
    }
    let register = &compose["services"]["register-1"];
    assert!(strs(&register["secrets"]).contains(&"api_keys".to_owned()));
    // The game server's battle token only where battles are posted.
    for name in ["register-1", "status", "stats"] {
        let s = &compose["services"][name];
        assert_eq!(
            s["environment"]["GAMEGATE_ANALYTICS__INGEST_TOKENS_FILE"].as_str(),
            (name == "stats").then_some("/run/secrets/ingest_tokens"),
            "{name}"
        );
    }
    assert_eq!(
        register["depends_on"]["mariadb"]["condition"].as_str(),
        Some("service_healthy")
    );
    let mock = &compose["services"]["gameserver-mock"];
    assert_eq!(strs(&mock["profiles"]), ["mock"]);
    assert_eq!(
        strs(&mock["command"]),
        ["gameserver-mock", "--listen", "0.0.0.0:15190"]
    );
    let traefik = &compose["services"]["traefik"];
    assert_eq!(strs(&traefik["ports"]), ["10.8.0.2:1011:1011"]);
    let args = strs(&traefik["command"]);
    assert!(
        args.contains(&"--entrypoints.web.address=:1011".to_owned()),
        "{args:?}"
    );
    assert!(args.contains(&"--providers.file.filename=/etc/traefik/dynamic.yml".to_owned()));
    assert!(
        traefik["volumes"][0]
            .as_str()
            .unwrap()
            .starts_with("./traefik-dynamic.yml:")
    );
    for db in ["mariadb", "postgres"] {
        let s = &compose["services"][db];
        assert_eq!(s["restart"].as_str(), Some("unless-stopped"));
        assert!(s["healthcheck"]["test"].is_sequence(), "{db}");
        assert!(s.get("ports").is_none(), "{db} publishes ports");
    }
    assert!(compose["volumes"]["mariadb-data"].is_null());

    let dynamic = yaml(&traefik_path);
    let routers = dynamic["http"]["routers"].as_mapping().unwrap();
    let mut rules = Vec::new();
    for (_, router) in routers {
        rules.push(router["rule"].as_str().unwrap().to_owned());
        assert_eq!(strs(&router["entryPoints"]), ["web"]);
    }
    assert_eq!(
        rules,
        [
            "Path(`/api/register`) \
             || ((Method(`DELETE`) || Method(`OPTIONS`)) && PathRegexp(`^/api/accounts/[^/]+$`)) \
             || ((Method(`POST`) || Method(`OPTIONS`)) && PathRegexp(`^/api/accounts/[^/]+/password$`))",
            "Path(`/server/status`) || Path(`/api/server/status`)",
            "(Method(`GET`) || Method(`HEAD`)) && (PathPrefix(`/stats/players/`) \
             || Path(`/stats/leaderboard`) || Path(`/stats/summary`) || Path(`/ml/predict`))",
        ]
    );
    // Nothing private is routed: no health, metrics, dashboard, reports or
    // ingestion, and no prefix but the player statistics'.
    for r in &rules {
        // POST only with the password path of an account.
        let r = &r.replace(
            "(Method(`POST`) || Method(`OPTIONS`)) && PathRegexp(`^/api/accounts/[^/]+/password$`)",
            "",
        );
        for private in [
            "/internal",
            "/metrics",
            "/admin",
            "/stats/battles",
            "/stats/registrations",
            "/stats/top-telegram",
            "/stats/ratings",
            "/ml/anomalies",
            "Method(`POST`)",
        ] {
            assert!(!r.contains(private), "{private} in {r}");
        }
        assert!(
            r.replace("PathPrefix(`/stats/players/`)", "")
                .find("Prefix")
                .is_none(),
            "{r}"
        );
    }
    assert_eq!(
        dynamic["http"]["routers"]["gamegate-stats"]["service"].as_str(),
        Some("gamegate-stats")
    );
    let servers = |service: &str| -> Vec<String> {
        let lb = &dynamic["http"]["services"][service]["loadBalancer"];
        assert_eq!(
            lb["healthCheck"]["path"].as_str(),
            Some("/internal/health/ready"),
            "Traefik routes on readiness"
        );
        lb["servers"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|s| s["url"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        servers("gamegate-register"),
        ["http://register-1:18080", "http://register-2:18080"]
    );
    assert_eq!(servers("gamegate-status"), ["http://status:18081"]);
    assert_eq!(servers("gamegate-stats"), ["http://stats:18084"]);
    // Every server Traefik names is a compose service on the config's port.
    for url in servers("gamegate-register")
        .iter()
        .chain(&servers("gamegate-status"))
        .chain(&servers("gamegate-stats"))
    {
        let host = url.trim_start_matches("http://").split(':').next().unwrap();
        assert!(names.contains(&host), "{host}");
    }
}

#[test]
fn injected_values_are_refused_by_the_binary_with_the_key_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let out = binary::with_config(&config, &["render", "compose", "--out"])
        .arg(dir.path().join("c.yml"))
        .env("GAMEGATE_DEPLOY__IMAGE", "x\"\n    privileged: true")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("deploy.image"));
    assert!(!dir.path().join("c.yml").exists());
}

#[test]
fn wireguard_keys_match_wg_pubkey_and_both_configs_parse() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let (host_key, client_key) = (dir.path().join("host.key"), dir.path().join("client.key"));
    let host_pub = gamegate(
        &config,
        &[
            "keygen",
            "wireguard",
            "--private-key-file",
            host_key.to_str().unwrap(),
        ],
    );
    let client_pub = gamegate(
        &config,
        &[
            "keygen",
            "wireguard",
            "--private-key-file",
            client_key.to_str().unwrap(),
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&host_key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Both sides' configs.
    let mut files = Vec::new();
    for (side, key, peer) in [
        ("host", &host_key, &client_pub),
        ("client", &client_key, &host_pub),
    ] {
        let out = dir.path().join(format!("wg-{side}.conf"));
        gamegate(
            &config,
            &[
                "render",
                "wireguard",
                "--side",
                side,
                "--private-key-file",
                key.to_str().unwrap(),
                "--peer-public-key",
                peer.trim(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        files.push(out);
    }
    let host = std::fs::read_to_string(&files[0]).unwrap();
    let client = std::fs::read_to_string(&files[1]).unwrap();
    assert!(host.contains("Address = 10.8.0.1/24\nPrivateKey = "));
    assert!(host.contains("ListenPort = 51820\n"));
    assert!(host.contains(&format!("PublicKey = {}", client_pub.trim())));
    assert!(host.contains("AllowedIPs = 10.8.0.2/32\n"));
    assert!(client.contains("Address = 10.8.0.2/24\n"));
    assert!(client.contains("Endpoint = api.game.example:51820\n"));
    assert!(client.contains(&format!("PublicKey = {}", host_pub.trim())));

    let (Some(wg), Some(wg_quick)) = (
        tool("wg", "wireguard-tools"),
        tool("wg-quick", "wireguard-tools"),
    ) else {
        return;
    };
    for (key, ours) in [(&host_key, &host_pub), (&client_key, &client_pub)] {
        let theirs = ok_stdout(
            Command::new(&wg)
                .arg("pubkey")
                .stdin(std::fs::File::open(key).unwrap()),
        );
        assert_eq!(theirs.trim(), ours.trim(), "wg pubkey disagrees");
    }
    // wg-quick's own parser: it strips its extensions (Address, …) and
    // leaves what `wg setconf` reads; a syntax error fails it.
    for file in &files {
        let stripped = ok_stdout(Command::new(&wg_quick).arg("strip").arg(file));
        assert!(stripped.contains("[Interface]") && stripped.contains("[Peer]"));
        assert!(!stripped.contains("Address ="), "{stripped}");
    }
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let units = dir.path().join("units");
    gamegate(
        &config,
        &["render", "systemd", "--out", units.to_str().unwrap()],
    );
    let files: Vec<PathBuf> = ["register", "status", "stats"]
        .iter()
        .map(|s| units.join(format!("gamegate-{s}.service")))
        .collect();
    // With backup.dir set, the daily backup too (verified below with the rest).
    let backup_units: Vec<PathBuf> = ["gamegate-backup.service", "gamegate-backup.timer"]
        .iter()
        .map(|name| units.join(name))
        .collect();
    assert!(
        std::fs::read_to_string(&backup_units[0])
            .unwrap()
            .contains(&format!("ExecStart={BIN} --config"))
    );
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.contains(&format!("ExecStart={BIN} --config")),
            "{text}"
        );
        for needle in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "Restart=on-failure",
            "LimitNOFILE=65536",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }
    let Some(analyze) = which(&["systemd-analyze"]) else {
        eprintln!("SKIPPED: systemd-analyze not installed; units checked as text only");
        return;
    };
    // A control unit first: if even that fails, systemd-analyze cannot run
    // in this container, and that says nothing about our units.
    let control = dir.path().join("control.service");
    std::fs::write(
        &control,
        "[Service]\nType=oneshot\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
    )
    .unwrap();
    let probe = Command::new(&analyze).arg("verify").arg(&control).output();
    match probe {
        Ok(o) if o.status.success() => {}
        other => {
            eprintln!(
                "SKIPPED: systemd-analyze verify cannot run here ({other:?}); units checked as text only"
            );
            return;
        }
    }
    let out = Command::new(&analyze)
        .arg("verify")
        .args(&files)
        .args(&backup_units)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{stderr}"
    );
    assert!(
        !stderr.contains("gamegate-"),
        "warnings about our units:\n{stderr}"
    );
}

#[test]
fn logrotate_accepts_the_rendered_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let file = dir.path().join("gamegate-logrotate");
    gamegate(
        &config,
        &["render", "logrotate", "--out", file.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("# gamegate"));
    assert!(text.contains("/var/log/gamegate/access.log {\n"));
    assert!(text.contains("--signal=HUP gamegate-register.service"));
    let Some(logrotate) = tool("logrotate", "logrotate") else {
        return;
    };
    // -d: parse and say what would happen, change nothing.
    let out = Command::new(logrotate)
        .arg("-d")
        .arg("-s")
        .arg(dir.path().join("state"))
        .arg(&file)
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "logrotate -d failed:\n{all}");
    assert!(!all.to_lowercase().contains("error"), "{all}");
    assert!(
        all.contains("considering log /var/log/gamegate/access.log"),
        "{all}"
    );
}

#[test]
fn keygen_api_key_is_32_bytes_and_the_nginx_renderer_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path());
    let key = gamegate(&config, &["keygen", "api-key"]);
    let key = key.trim();
    assert_eq!(key.len(), 44);
    let out = binary::with_config(&config, &["render", "nginx", "--out"])
        .arg(dir.path().join("site.conf"))
        .env("GAMEGATE_EDGE__API_KEYS", key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The key is in the 0600 file, never on the terminal.
    assert!(!String::from_utf8_lossy(&out.stdout).contains(key));
}

/// The Dockerfile cannot be built here (no Docker engine); its essentials
/// are checked as text.
#[test]
fn dockerfile_runs_non_root_with_the_healthcheck_subcommand() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(text.contains("FROM rust:1-bookworm AS builder"));
    assert!(text.contains("cargo build --release --locked --bin gamegate"));
    assert!(text.contains("FROM debian:bookworm-slim"));
    assert!(text.contains("ca-certificates"));
    assert!(text.contains("HEALTHCHECK"));
    assert!(text.contains("CMD [\"gamegate\", \"healthcheck\"]"));
    let user = text
        .lines()
        .rfind(|l| l.starts_with("USER "))
        .expect("a USER line");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    assert!(text.contains("VOLUME [\"/var/lib/gamegate\"]"));
    assert!(text.contains("EXPOSE "));
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "target/"));
}

/// `gamegate healthcheck` against a real `gamegate all`: 0 while it runs.
#[test]
fn healthcheck_exits_0_on_a_running_service_and_1_without_one() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let env = |cmd: &mut Command| {
        cmd.envs(binary::local_env(dir.path()))
            .env("GAMEGATE_HTTP__ADMIN_ADDR", format!("127.0.0.1:{port}"));
    };
    let check = || {
        let mut cmd = binary::command();
        cmd.args(["healthcheck", "--service", "all"]);
        env(&mut cmd);
        cmd.output().unwrap().status.code()
    };
    assert_eq!(check(), Some(1), "nothing runs yet");
    let mut all = binary::command();
    all.arg("all");
    env(&mut all);
    let _all = Process::spawn(&mut all);
    let started = std::time::Instant::now();
    let mut code = check();
    while code != Some(0) && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(200));
        code = check();
    }
    assert_eq!(code, Some(0));
}

/// `gamegate healthcheck --ready` against a real `gamegate all` whose game
/// server is another process (`gamegate gameserver-mock`): 1 while that
/// process is gone, 0 once it is back; liveness (the default, what Docker
/// and compose ask) stays 0 throughout.
#[test]
fn readiness_follows_the_game_server_and_liveness_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (admin, game) = (free_port(), free_port());
    let env = |cmd: &mut Command| {
        cmd.envs(binary::local_env(dir.path()))
            .env("GAMEGATE_HTTP__ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .env("GAMEGATE_GAME_SERVER__ADDR", format!("127.0.0.1:{game}"))
            .env("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false")
            .env("GAMEGATE_GAME_SERVER__CALL_TIMEOUT_MS", "500")
            .env("GAMEGATE_STATUS__REFRESH_INTERVAL_MS", "200");
    };
    let check = |ready: bool| {
        let mut cmd = binary::command();
        cmd.args(["healthcheck", "--service", "all"]);
        if ready {
            cmd.arg("--ready");
        }
        env(&mut cmd);
        cmd.output().unwrap().status.code()
    };
    let until = |ready: bool, code: i32, what: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while check(ready) != Some(code) {
            assert!(std::time::Instant::now() < deadline, "{what}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let mock = || {
        let mut cmd = binary::command();
        cmd.args(["gameserver-mock", "--listen", &format!("127.0.0.1:{game}")]);
        env(&mut cmd);
        Process::spawn(&mut cmd)
    };
    let mut game_server = mock();
    let mut all = binary::command();
    all.arg("all");
    env(&mut all);
    let _all = Process::spawn(&mut all);
    until(true, 0, "ready once the game server answers");

    game_server.kill();
    until(true, 1, "not ready while the game server is gone");
    assert_eq!(check(false), Some(0), "alive all the same");

    let _game_server = mock();
    until(true, 0, "ready again once the game server is back");
}

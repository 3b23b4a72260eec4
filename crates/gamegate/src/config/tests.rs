//! Loading and validation of the whole configuration.

use std::io::Write;

use gamegate_domain::ErrorCode;

use super::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

/// docs/CONFIGURATION.md promises its production example lists every
/// key: it must load as it stands and name each key the code knows.
#[test]
fn the_documented_production_example_is_complete_and_valid() {
    let doc = include_str!("../../../../docs/CONFIGURATION.md");
    let example = doc
        .split("## Example: production")
        .nth(1)
        .and_then(|rest| rest.split("```toml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("docs/CONFIGURATION.md has a TOML production example");
    let f = file(example);
    let (_, unknown) =
        Config::load_from(Some(f.path()), env(&[])).expect("the documented example loads");
    assert!(unknown.is_empty(), "{unknown:?}");
    let table: toml::Table = example.parse().unwrap();
    // Every dotted key, nested sections (`[game_server.tls]`) included.
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (k, value) in table {
            let key = match prefix {
                "" => k.clone(),
                _ => format!("{prefix}.{k}"),
            };
            match value.as_table() {
                Some(inner) => walk(&key, inner, out),
                None => out.push(key),
            }
        }
    }
    let mut documented = Vec::new();
    walk("", &table, &mut documented);
    // Keys with a default must all be shown; optional ones (no default) may be.
    let required = keys_with_defaults();
    let missing: Vec<_> = required
        .iter()
        .filter(|k| {
            // Section names themselves are not keys.
            !documented.contains(k) && !required.iter().any(|o| o.starts_with(&format!("{k}.")))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from the documented example: {missing:?}"
    );
}

#[test]
fn game_server_tls_loads_from_file_and_env_and_refuses_the_embedded_mock() {
    let pin = "AB:".repeat(31) + "AB";
    let text = format!(
        "[game_server]\nembedded_mock = false\n[game_server.tls]\nenabled = true\n\
         fingerprint_sha256 = \"{pin}\"\nserver_name = \"game.internal\"\n"
    );
    let (c, unknown) = Config::load_from(Some(file(&text).path()), env(&[])).unwrap();
    assert!(unknown.is_empty());
    assert!(c.game_server.tls.enabled);
    assert_eq!(c.game_server.tls.server_name, "game.internal");
    let client = c.game_server_client("10.0.0.7:5190".into()).unwrap();
    assert!(client.tls.is_some());
    assert!(!format!("{client:?}").contains(c.game_server.auth_token.expose_secret()));

    let (c, unknown) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false"),
            ("GAMEGATE_GAME_SERVER__TLS__ENABLED", "true"),
            (
                "GAMEGATE_GAME_SERVER__TLS__FINGERPRINT_SHA256",
                &pin.replace(':', ""),
            ),
        ]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert!(c.game_server.tls.enabled);

    // The embedded mock speaks plain text: `gamegate all` refuses the
    // combination; the configuration itself loads (serve, doctor and
    // `gameserver check` never run the embedded mock).
    let (c, _) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_GAME_SERVER__TLS__ENABLED", "true"),
            ("GAMEGATE_GAME_SERVER__TLS__FINGERPRINT_SHA256", &pin),
        ]),
    )
    .unwrap();
    let err = c
        .game_server
        .embedded_mock_refusal()
        .expect("refused for gamegate all");
    assert!(
        err.contains("embedded mock") && err.contains("gameserver mock --tls-cert"),
        "{err}"
    );
    // Shape errors come out at load, naming the key.
    let err = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false"),
            ("GAMEGATE_GAME_SERVER__TLS__ENABLED", "true"),
        ]),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("needs ca_file"), "{err:#}");
}

#[test]
fn monitoring_thresholds_are_validated() {
    let (c, _) = Config::load_from(
        Some(file("[monitoring]\njob = \"gg-prod\"\nbans_per_10m = 3\n").path()),
        env(&[("GAMEGATE_MONITORING__HTTP_5XX_RATIO", "0.25")]),
    )
    .unwrap();
    assert_eq!(
        (c.monitoring.job.as_str(), c.monitoring.bans_per_10m),
        ("gg-prod", 3)
    );
    assert_eq!(c.monitoring.http_5xx_ratio, 0.25);
    for (toml, error) in [
        ("job = \"a\\\"b\"", "monitoring.job"),
        ("job = \"\"", "monitoring.job"),
        ("http_5xx_ratio = 1.0", "monitoring.http_5xx_ratio"),
        (
            "registration_error_ratio = 0.0",
            "monitoring.registration_error_ratio",
        ),
        (
            "pending_registrations = 0",
            "monitoring.pending_registrations",
        ),
        ("bans_per_10m = 0", "monitoring.bans_per_10m"),
        (
            "certificate_expiry_days = 0",
            "monitoring.certificate_expiry_days",
        ),
        (
            "certificate_expiry_days = 366",
            "monitoring.certificate_expiry_days",
        ),
    ] {
        let f = file(&format!("[monitoring]\n{toml}\n"));
        let e = Config::load_from(Some(f.path()), env(&[])).unwrap_err();
        assert!(format!("{e:#}").contains(error), "{toml}: {e:#}");
    }
}

#[test]
fn the_status_derivation_is_off_by_default_and_wants_at_least_one_poll() {
    let (c, _) = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(c.status_derivation(), None);
    let (c, _) = Config::load_from(
        None,
        env(&[("GAMEGATE_STATUS__DERIVE_FROM_GAME_SERVER", "true")]),
    )
    .unwrap();
    assert_eq!(c.status_derivation(), Some(2));
    let f = file("[status]\ndown_after_polls = 0\n");
    let e = Config::load_from(Some(f.path()), env(&[])).unwrap_err();
    assert!(
        format!("{e:#}").contains("status.down_after_polls"),
        "{e:#}"
    );
}

#[test]
fn no_config_at_all_gives_the_all_in_one_defaults() {
    let (c, unknown) = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(c.http.public_addr.to_string(), "127.0.0.1:8000");
    assert_eq!(c.http.admin_addr.to_string(), "127.0.0.1:9000");
    assert_eq!(c.database.url, "sqlite://gamegate.db");
    assert_eq!(c.game_server.addr, "127.0.0.1:5190");
    assert_eq!(c.registration.account_limit.get(), 5);
    assert_eq!(c.http.body_limit_bytes, 16 * 1024);
    assert!(unknown.is_empty());
}

#[test]
fn the_file_sets_keys_and_the_environment_overrides_them() {
    let f = file(
        "language = \"en\"\n[registration]\naccount_limit = 3\n[http]\npublic_addr = \"0.0.0.0:8080\"\n",
    );
    let (c, _) = Config::load_from(
        Some(f.path()),
        env(&[
            ("GAMEGATE_REGISTRATION__ACCOUNT_LIMIT", "7"),
            ("GAMEGATE_GAME_SERVER__CALL_TIMEOUT_MS", "1500"),
            ("GAMEGATE_GAME_SERVER__EMBEDDED_MOCK", "false"),
            ("UNRELATED", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(c.language, Lang::En);
    assert_eq!(c.registration.account_limit.get(), 7);
    assert_eq!(c.http.public_addr.to_string(), "0.0.0.0:8080");
    assert_eq!(c.game_server.call_timeout_ms, 1500);
    assert!(!c.game_server.embedded_mock);
}

#[test]
fn number_like_secrets_stay_strings() {
    let (c, _) =
        Config::load_from(None, env(&[("GAMEGATE_GAME_SERVER__AUTH_TOKEN", "00123")])).unwrap();
    assert_eq!(c.game_server.auth_token.expose_secret(), "00123");
}

#[test]
fn unknown_keys_in_the_file_fail_with_their_paths() {
    let f = file("[registration]\nacount_limit = 3\n[nonsense]\nx = 1\n");
    let err = format!(
        "{:#}",
        Config::load_from(Some(f.path()), env(&[])).unwrap_err()
    );
    assert!(err.contains("registration.acount_limit"), "{err}");
    assert!(err.contains("nonsense"), "{err}");
}

#[test]
fn unknown_environment_variables_are_reported_not_fatal() {
    let (_, unknown) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_DATABSE__URL", "x"),
            ("GAMEGATE_TEST_MYSQL_URL", "y"),
        ]),
    )
    .unwrap();
    assert_eq!(unknown, vec!["GAMEGATE_DATABSE__URL".to_string()]);
}

#[test]
fn secrets_can_come_from_files() {
    let token = file("from-a-file\n");
    let url = file("mysql://game:pw@db/game\n");
    let (c, _) = Config::load_from(
        None,
        env(&[
            (
                "GAMEGATE_GAME_SERVER__AUTH_TOKEN_FILE",
                token.path().to_str().unwrap(),
            ),
            ("GAMEGATE_DATABASE__URL_FILE", url.path().to_str().unwrap()),
        ]),
    )
    .unwrap();
    assert_eq!(c.game_server.auth_token.expose_secret(), "from-a-file");
    assert_eq!(c.database.url, "mysql://game:pw@db/game");
    // Debug output masks both.
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("from-a-file") && !shown.contains(":pw@"),
        "{shown}"
    );
}

#[test]
fn api_keys_come_from_a_list_variable_or_a_file_and_are_masked() {
    let (c, unknown) = Config::load_from(
        None,
        env(&[
            (
                "GAMEGATE_EDGE__API_KEYS",
                "0123456789abcdef01, key-two-is-long-enough ",
            ),
            ("GAMEGATE_EDGE__TRUSTED_PROXIES", "10.0.0.0/8,::1"),
            ("GAMEGATE_EDGE__REGISTER_PER_MINUTE", "0"),
        ]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(
        expose_all(&c.edge.api_keys),
        vec!["0123456789abcdef01", "key-two-is-long-enough"]
    );
    assert_eq!(
        c.edge.trusted_proxies,
        networks(&["10.0.0.0/8", "::1/128"]).unwrap()
    );
    assert_eq!(c.edge.register_per_minute, 0);
    assert_eq!(c.edge.cors_allowed_origins, vec!["*"]);
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("0123456789abcdef01") && !shown.contains("key-two"),
        "{shown}"
    );

    let keys = file("first-key-from-file-1\n\nsecond-key-from-file-2\n");
    let (c, _) = Config::load_from(
        None,
        env(&[(
            "GAMEGATE_EDGE__API_KEYS_FILE",
            keys.path().to_str().unwrap(),
        )]),
    )
    .unwrap();
    assert_eq!(
        expose_all(&c.edge.api_keys),
        vec!["first-key-from-file-1", "second-key-from-file-2"]
    );

    let f = file(
        "[edge]\napi_keys = [\"a-key-from-the-toml-file\"]\ncors_allowed_origins = [\"https://game.example\"]\n",
    );
    let (c, _) = Config::load_from(Some(f.path()), env(&[])).unwrap();
    assert_eq!(
        expose_all(&c.edge.api_keys),
        vec!["a-key-from-the-toml-file"]
    );
    assert_eq!(c.edge.cors_allowed_origins, vec!["https://game.example"]);
}

#[test]
fn the_ban_jail_is_on_by_default_and_its_codes_come_from_a_list_variable() {
    let (c, _) = Config::load_from(None, env(&[])).unwrap();
    assert!(c.edge.ban_enabled);
    assert_eq!(
        c.edge.ban_on,
        vec![
            ErrorCode::InvalidApiKey,
            ErrorCode::RateLimited,
            ErrorCode::WrongPassword
        ]
    );
    assert_eq!(
        (
            c.edge.ban_threshold,
            c.edge.ban_window_secs,
            c.edge.ban_secs,
            c.edge.ban_sync_interval_ms
        ),
        (20, 300, 3_600, 5_000)
    );
    let (c, unknown) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_EDGE__BAN_ON", "invalid_api_key, validation_error"),
            ("GAMEGATE_EDGE__BAN_THRESHOLD", "3"),
        ]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(
        c.edge.ban_on,
        vec![ErrorCode::InvalidApiKey, ErrorCode::ValidationError]
    );
    assert_eq!(c.edge.ban_threshold, 3);
    // Off: an empty list is fine then.
    Config::load_from(
        None,
        env(&[
            ("GAMEGATE_EDGE__BAN_ENABLED", "false"),
            ("GAMEGATE_EDGE__BAN_ON", ""),
        ]),
    )
    .unwrap();
}

#[test]
fn invalid_values_fail_at_start_with_a_reason() {
    for (key, value, needle) in [
        ("GAMEGATE_LANGUAGE", "de", "unknown language"),
        (
            "GAMEGATE_DATABASE__URL",
            "oracle://x",
            "unsupported database URL",
        ),
        ("GAMEGATE_REGISTRATION__ACCOUNT_LIMIT", "0", "account limit"),
        ("GAMEGATE_RECONCILER__GRACE_MS", "100", "grace_ms"),
        ("GAMEGATE_LOG__FORMAT", "xml", "log.format"),
        ("GAMEGATE_EDGE__API_KEYS", "short", "edge.api_keys"),
        (
            "GAMEGATE_EDGE__TRUSTED_PROXIES",
            "10.0.0.0/33",
            "trusted_proxies",
        ),
        ("GAMEGATE_EDGE__REGISTER_BURST", "0", "register_burst"),
        (
            "GAMEGATE_EDGE__BAN_ON",
            "invalid_api_key,nope",
            "\"nope\" is not an error code",
        ),
        (
            "GAMEGATE_EDGE__BAN_ON",
            "database_unavailable",
            "only client errors",
        ),
        ("GAMEGATE_EDGE__BAN_ON", "banned", "only client errors"),
        ("GAMEGATE_EDGE__BAN_ON", "", "edge.ban_on is empty"),
        ("GAMEGATE_EDGE__BAN_THRESHOLD", "0", "edge.ban_threshold"),
        ("GAMEGATE_EDGE__BAN_THRESHOLD", "1001", "edge.ban_threshold"),
        ("GAMEGATE_EDGE__IPV6_PREFIX", "31", "edge.ipv6_prefix"),
        ("GAMEGATE_EDGE__IPV6_PREFIX", "129", "edge.ipv6_prefix"),
        (
            "GAMEGATE_EDGE__BAN_IGNORE",
            "127.0.0.1,nope",
            "edge.ban_ignore",
        ),
        (
            "GAMEGATE_EDGE__BAN_WINDOW_SECS",
            "0",
            "edge.ban_window_secs",
        ),
        ("GAMEGATE_EDGE__BAN_SECS", "0", "edge.ban_secs"),
        (
            "GAMEGATE_EDGE__BAN_SYNC_INTERVAL_MS",
            "10",
            "edge.ban_sync_interval_ms",
        ),
        // Every public route limited.
        ("GAMEGATE_EDGE__STATS_BURST", "0", "edge.stats_burst"),
        ("GAMEGATE_EDGE__PREDICT_BURST", "0", "edge.predict_burst"),
        (
            "GAMEGATE_EDGE__NOT_FOUND_BURST",
            "0",
            "edge.not_found_burst",
        ),
        (
            "GAMEGATE_ANALYTICS__QUERY_TIMEOUT_MS",
            "0",
            "analytics.query_timeout_ms",
        ),
        (
            "GAMEGATE_ANALYTICS__QUERY_TIMEOUT_MS",
            "60001",
            "analytics.query_timeout_ms",
        ),
        (
            "GAMEGATE_LOG__ACCESS_LOG_BUFFER_BYTES",
            "4095",
            "log.access_log_buffer_bytes",
        ),
        (
            "GAMEGATE_ANALYTICS__ANOMALY_MIN_BATTLES",
            "0",
            "analytics.anomaly_min_battles",
        ),
        (
            "GAMEGATE_ANALYTICS__ANOMALY_MIN_EXPECTED",
            "-1",
            "analytics.anomaly_min_expected",
        ),
    ] {
        let err = format!(
            "{:#}",
            Config::load_from(None, env(&[(key, value)])).unwrap_err()
        );
        assert!(err.contains(needle), "{key}={value}: {err}");
    }
}

#[test]
fn every_public_route_has_its_limit_and_a_limit_can_be_turned_off() {
    let (c, unknown) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_EDGE__STATS_PER_MINUTE", "120"),
            ("GAMEGATE_EDGE__STATS_BURST", "7"),
            ("GAMEGATE_EDGE__PREDICT_PER_MINUTE", "0"),
            ("GAMEGATE_EDGE__PREDICT_BURST", "0"),
            ("GAMEGATE_EDGE__NOT_FOUND_PER_MINUTE", "5"),
            ("GAMEGATE_ANALYTICS__QUERY_TIMEOUT_MS", "750"),
            ("GAMEGATE_LOG__ACCESS_LOG_BUFFER_BYTES", "65536"),
        ]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!((c.edge.stats_per_minute, c.edge.stats_burst), (120, 7));
    assert_eq!((c.edge.predict_per_minute, c.edge.predict_burst), (0, 0));
    assert_eq!(
        (c.edge.not_found_per_minute, c.edge.not_found_burst),
        (5, 10)
    );
    assert_eq!(c.stats_query_timeout(), Duration::from_millis(750));
    assert_eq!(c.log.access_log_buffer_bytes, 65_536);
    let defaults = Config::default();
    assert_eq!(
        (
            defaults.edge.stats_per_minute,
            defaults.edge.predict_per_minute
        ),
        (60, 30)
    );
    assert_eq!(defaults.edge.not_found_per_minute, 30);
    assert_eq!(defaults.analytics.query_timeout_ms, 3_000);
}

#[test]
fn admin_tokens_come_from_a_list_variable_or_a_file_are_checked_and_masked() {
    assert!(Config::default().admin.tokens.is_empty(), "open by default");
    let (c, unknown) = Config::load_from(
        None,
        env(&[(
            "GAMEGATE_ADMIN__TOKENS",
            "operator-token-one-0001,operator-token-two-0002",
        )]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(
        expose_all(&c.admin.tokens),
        vec!["operator-token-one-0001", "operator-token-two-0002"]
    );
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("operator-token")
            && shown.contains("tokens: [SecretBox<str>([REDACTED]), SecretBox<str>([REDACTED])]"),
        "{shown}"
    );

    let tokens = file("token-from-a-secret-file\n");
    let (c, _) = Config::load_from(
        None,
        env(&[(
            "GAMEGATE_ADMIN__TOKENS_FILE",
            tokens.path().to_str().unwrap(),
        )]),
    )
    .unwrap();
    assert_eq!(
        expose_all(&c.admin.tokens),
        vec!["token-from-a-secret-file"]
    );

    let f = file("[admin]\ntokens = [\"a-token-from-the-toml-file\"]\n");
    let (c, _) = Config::load_from(Some(f.path()), env(&[])).unwrap();
    assert_eq!(
        expose_all(&c.admin.tokens),
        vec!["a-token-from-the-toml-file"]
    );

    for bad in [
        "short-token",
        "a token with spaces in it",
        "tab\tin-the-token-here",
    ] {
        let f = file(&format!("[admin]\ntokens = [{bad:?}]\n"));
        let e = format!(
            "{:#}",
            Config::load_from(Some(f.path()), env(&[])).unwrap_err()
        );
        assert!(e.contains("admin.tokens"), "{e}");
        assert!(!e.contains(bad), "the token is never shown: {e}");
    }
}

/// Typed values fail the load, from the file as from the environment, with
/// a message that names the key; nothing is re-parsed later.
#[test]
fn typed_values_are_checked_at_load_and_name_their_key() {
    for (toml, needle) in [
        ("language = \"de\"", "unknown language \"de\""),
        (
            "[log]\nformat = \"xml\"",
            "log.format must be \"pretty\" or \"json\", got \"xml\"",
        ),
        (
            "[telegram]\nfail_policy = \"ajar\"",
            "telegram.fail_policy must be \"closed\" or \"open\", got \"ajar\"",
        ),
        (
            "[edge]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.300\"]",
            "edge.trusted_proxies: \"10.0.0.300\" is not a CIDR or an IP address",
        ),
        (
            "[edge]\nban_ignore = [\"nope\"]",
            "edge.ban_ignore: \"nope\" is not a CIDR or an IP address",
        ),
        (
            "[edge]\nban_on = [\"rate_limited\", \"teapot\"]",
            "edge.ban_on: \"teapot\" is not an error code",
        ),
        (
            "[edge]\nban_on = [\"internal_error\"]",
            "edge.ban_on: \"internal_error\" cannot be counted",
        ),
        (
            "[registration]\nlogin_charset = \"z-a\"",
            "registration.login_charset: login charset \"z-a\" is not a valid character class",
        ),
        (
            "[registration]\naccount_limit = 1001",
            "account limit must be between 1 and 1000, got 1001",
        ),
        (
            "[registration]\nidempotency_window_secs = 0",
            "registration.idempotency_window_secs must be between 1 and 604800 (7 days), got 0",
        ),
        (
            "[game_server.rules]\npassword_max_chars = 4",
            "game_server.rules: passwords would need 6 to 4 characters",
        ),
        (
            "[game_server.rules]\nlogin_charset = \"a]|.*\"",
            "game_server.rules: the game's login charset \"a]|.*\" is not a character-class body",
        ),
        (
            "[game_server.rules]\npassword_charset = \"z-a\"",
            "game_server.rules: password charset",
        ),
        (
            "[game_server.rules]\ncase_folding = \"klingon\"",
            "does not have variant constructor klingon for key `game_server.rules.case_folding`",
        ),
        (
            "[game_server]\nkind = \"v2\"",
            "does not have variant constructor v2 for key `game_server.kind`",
        ),
    ] {
        let f = file(&format!("{toml}\n"));
        let e = format!(
            "{:#}",
            Config::load_from(Some(f.path()), env(&[])).unwrap_err()
        );
        assert!(e.contains(needle), "{toml}: {e}");
    }
    for (key, value, needle) in [
        (
            "GAMEGATE_TELEGRAM__FAIL_POLICY",
            "Open",
            "telegram.fail_policy",
        ),
        (
            "GAMEGATE_EDGE__BAN_IGNORE",
            "::1,fe80::/129",
            "edge.ban_ignore",
        ),
    ] {
        let e = format!(
            "{:#}",
            Config::load_from(None, env(&[(key, value)])).unwrap_err()
        );
        assert!(e.contains(needle), "{key}={value}: {e}");
    }

    // Parsed once: the loaded config holds the typed values.
    let (c, _) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_LANGUAGE", "EN"),
            ("GAMEGATE_LOG__FORMAT", "json"),
            ("GAMEGATE_TELEGRAM__FAIL_POLICY", "open"),
            ("GAMEGATE_EDGE__TRUSTED_PROXIES", "192.0.2.7, 2001:db8::/48"),
            ("GAMEGATE_EDGE__BAN_ON", "bad_request"),
        ]),
    )
    .unwrap();
    assert_eq!(c.lang(), Lang::En);
    assert_eq!(c.log.format, LogFormat::Json);
    assert!(c.telegram.fail_open());
    assert_eq!(
        c.edge
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["192.0.2.7/32", "2001:db8::/48"]
    );
    assert_eq!(c.edge.ban_on, [ErrorCode::BadRequest]);
}

/// Every secret of the config, from the file and from the environment, is
/// `[REDACTED]` in `{:?}` of the whole config; a written-back config keeps
/// them (the operator commands' tests write one).
#[test]
fn secrets_never_appear_in_the_debug_output_of_the_config() {
    let f = file(
        "[game_server]\nauth_token = \"game-token-SECRET-1\"\n\
         [telegram]\nbot_token = \"123456:bot-SECRET-2\"\n\
         [analytics]\ningest_tokens = [\"ingest-token-SECRET-3\"]\n",
    );
    let (c, _) = Config::load_from(
        Some(f.path()),
        env(&[
            ("GAMEGATE_EDGE__API_KEYS", "api-key-SECRET-4-long-enough"),
            ("GAMEGATE_ADMIN__TOKENS", "admin-token-SECRET-5-long"),
            ("GAMEGATE_DATABASE__URL", "mysql://game:db-SECRET-6@db/game"),
            (
                "GAMEGATE_ANALYTICS__URL",
                "postgres://stats:db-SECRET-7@db/stats",
            ),
        ]),
    )
    .unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
    let pretty = format!("{c:#?}");
    assert!(!pretty.contains("SECRET"), "{pretty}");

    let written = toml::to_string(&c).unwrap();
    for n in 1..=7 {
        assert!(written.contains(&format!("SECRET-{n}")), "{n}: {written}");
    }
    let (back, _) = Config::from_toml_str(&written, env(&[])).unwrap();
    assert_eq!(
        back.telegram.bot_token.expose_secret(),
        "123456:bot-SECRET-2"
    );
    assert_eq!(back.edge.ban_on, c.edge.ban_on);
    assert_eq!(back.edge.ban_ignore, c.edge.ban_ignore);
}

#[test]
fn the_rate_limit_store_comes_from_the_environment_and_its_password_never_shows() {
    let (c, _) = Config::load_from(
        None,
        env(&[
            (
                "GAMEGATE_EDGE__RATE_LIMIT_STORE",
                "redis://gg:pw-0f9e8d@10.0.0.5:6380/3",
            ),
            ("GAMEGATE_EDGE__RATE_LIMIT_STORE_TIMEOUT_MS", "250"),
            ("GAMEGATE_EDGE__RATE_LIMIT_STORE_PREFIX", "prod-eu"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.edge.rate_limit_store.expose_secret(),
        "redis://gg:pw-0f9e8d@10.0.0.5:6380/3"
    );
    assert_eq!(c.edge.rate_limit_store_timeout_ms, 250);
    assert_eq!(c.edge.rate_limit_store_prefix, "prod-eu");
    let shown = format!("{c:?}");
    assert!(!shown.contains("pw-0f9e8d"), "{shown}");
    let settings = RedisSettings::from_config(&c.edge).unwrap().unwrap();
    assert_eq!(settings.shown_url(), "redis://***@10.0.0.5:6380/3");
    // Refused at load, the password masked in the error.
    for (value, expected) in [
        (
            "redis://gg:pw-0f9e8d@10.0.0.5:6380/x",
            "edge.rate_limit_store",
        ),
        ("rediss://gg:pw-0f9e8d@10.0.0.5:6380", "rediss://"),
        ("memcached://gg:pw-0f9e8d@h", "edge.rate_limit_store"),
    ] {
        let err = format!(
            "{:#}",
            Config::load_from(None, env(&[("GAMEGATE_EDGE__RATE_LIMIT_STORE", value)]))
                .unwrap_err()
        );
        assert!(err.contains(expected), "{value}: {err}");
        assert!(!err.contains("pw-0f9e8d"), "{value}: {err}");
    }
    let err = format!(
        "{:#}",
        Config::load_from(
            None,
            env(&[
                ("GAMEGATE_EDGE__RATE_LIMIT_STORE", "redis://127.0.0.1"),
                ("GAMEGATE_EDGE__RATE_LIMIT_STORE_PREFIX", "a b"),
            ])
        )
        .unwrap_err()
    );
    assert!(err.contains("edge.rate_limit_store_prefix"), "{err}");
}

#[test]
fn the_game_rules_load_from_the_file_and_the_environment() {
    let f = file(
        "[game_server.rules]\nlogin_max_chars = 12\npassword_charset = '\\x21-\\x7E'\ncase_folding = \"ascii\"\n",
    );
    let (c, unknown) = Config::load_from(
        Some(f.path()),
        env(&[("GAMEGATE_GAME_SERVER__RULES__PASSWORD_MAX_CHARS", "16")]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    let rules = &c.game_server.rules;
    assert_eq!(rules.login_max_chars, Some(12));
    assert_eq!(rules.password_max_chars, Some(16));
    assert_eq!(rules.password_charset.as_deref(), Some(r"\x21-\x7E"));
    assert_eq!(rules.case_folding, CaseFolding::Ascii);
    assert_eq!(c.rules().unwrap().password_max_chars, 16);
}

/// Every default docs/CONFIGURATION.md states as one TOML value (a cell such
/// as `` `"pretty"` ``, `` `64` `` or `` `[]` ``) is the code's own: the key
/// tables cannot drift from `Config::default()`. Cells that explain instead
/// (`0` with a meaning, a computed value) are not one TOML value and are
/// skipped; enough are checked that a table left behind shows.
#[test]
fn the_documented_defaults_are_the_code_s() {
    let doc = include_str!("../../../../docs/CONFIGURATION.md");
    let defaults = toml::Value::try_from(Config::default()).expect("defaults serialise");
    let mut section: Option<Option<&str>> = None;
    let (mut checked, mut wrong) = (0, Vec::new());
    for line in doc.lines() {
        if line == "### Top level" {
            section = Some(None);
            continue;
        }
        // `### [section]` and its subsections `#### [section.sub]`.
        if let Some(name) = line
            .strip_prefix("### `[")
            .or_else(|| line.strip_prefix("#### `["))
            .and_then(|rest| rest.strip_suffix("]`"))
        {
            section = Some(Some(name));
            continue;
        }
        if line.starts_with("## ") || line.starts_with("### ") {
            section = None;
            continue;
        }
        let Some(section) = section else { continue };
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, key, _, default, ..] = cells[..] else {
            continue;
        };
        let unquote = |cell: &str| {
            cell.strip_prefix('`')
                .and_then(|c| c.strip_suffix('`'))
                .filter(|c| !c.contains('`'))
                .map(str::to_owned)
        };
        let (Some(key), Some(default)) = (unquote(key), unquote(default)) else {
            continue;
        };
        let Ok(documented) = format!("v = {default}").parse::<toml::Table>() else {
            continue;
        };
        // A nested section (`game_server.tls`) is a path of tables.
        let table = match section {
            Some(name) => name
                .split('.')
                .try_fold(&defaults, |table, part| table.get(part)),
            None => Some(&defaults),
        };
        let actual = table.and_then(|t| t.get(&key));
        let name = section.map_or(key.clone(), |s| format!("{s}.{key}"));
        match actual {
            Some(actual) if *actual == documented["v"] => checked += 1,
            Some(actual) => wrong.push(format!("{name}: documented {default}, is {actual}")),
            None => wrong.push(format!("{name}: documented {default}, no such key")),
        }
    }
    assert!(wrong.is_empty(), "docs/CONFIGURATION.md: {wrong:#?}");
    assert!(checked >= 80, "only {checked} documented defaults checked");
}

/// `kind = "http"`: `[game_server.http]` from the file, the secret from a
/// `_FILE` variable, masked in `Debug`; the connector's settings carry the
/// pool and timeouts of `[game_server]`.
#[test]
fn the_http_connector_is_configured_by_its_section_and_a_secret_file() {
    let secret = file("http-signing-SECRET-0123456789\n");
    let f = file(
        "[game_server]\nkind = \"http\"\npool_size = 4\ncall_timeout_ms = 1500\n\
         [game_server.http]\nurl = \"https://game.example/gamegate/\"\n",
    );
    let (c, unknown) = Config::load_from(
        Some(f.path()),
        env(&[(
            "GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET_FILE",
            secret.path().to_str().unwrap(),
        )]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(c.game_server.kind, ConnectorKind::Http);
    assert_eq!(
        c.game_server.http.signing_secret.expose_secret(),
        "http-signing-SECRET-0123456789"
    );
    let client = c.game_server_http_client().unwrap();
    assert!(client.ca_pem.is_none());
    assert_eq!(client.url, "https://game.example/gamegate/");
    assert_eq!((client.pool_size, client.call_timeout), (4, ms(1500)));
    assert_eq!(c.game_server_target(), "https://game.example/gamegate/");
    // The built-in mock speaks v1: never started for http, whatever
    // embedded_mock says (it defaults to true).
    assert!(c.game_server.embedded_mock && !c.runs_embedded_mock());
    assert!(!format!("{c:?}").contains("SECRET"));

    // The plain variable works too.
    let (c, unknown) = Config::load_from(
        None,
        env(&[
            ("GAMEGATE_GAME_SERVER__KIND", "http"),
            ("GAMEGATE_GAME_SERVER__HTTP__URL", "http://127.0.0.1:8090"),
            (
                "GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET",
                "0123456789abcdef",
            ),
        ]),
    )
    .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}");
    assert_eq!(c.game_server.http.url, "http://127.0.0.1:8090");
}

#[test]
fn the_http_connector_needs_a_usable_url_and_secret() {
    let load = |pairs: &[(&str, &str)]| {
        let mut all = vec![("GAMEGATE_GAME_SERVER__KIND", "http")];
        all.extend_from_slice(pairs);
        Config::load_from(None, env(&all))
            .map(drop)
            .unwrap_err()
            .to_string()
    };
    let short_secret = ("GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET", "short-s3cr3t");
    for (pairs, says) in [
        (vec![], "needs game_server.http.url"),
        (
            vec![("GAMEGATE_GAME_SERVER__HTTP__URL", "game.example:8090")],
            "game_server.http.url",
        ),
        (
            vec![(
                "GAMEGATE_GAME_SERVER__HTTP__URL",
                "https://u:pw@game.example",
            )],
            "must not carry a user name or password",
        ),
        (
            vec![
                ("GAMEGATE_GAME_SERVER__HTTP__URL", "https://game.example"),
                short_secret,
            ],
            "signing_secret must be at least 16 characters (it has 12)",
        ),
        (
            vec![("GAMEGATE_GAME_SERVER__HTTP__URL", "https://game.example")],
            "it has 0",
        ),
    ] {
        let err = load(&pairs);
        assert!(err.contains(says), "{pairs:?}: {err}");
        assert!(!err.contains("s3cr3t") && !err.contains("pw@"), "{err}");
    }
    // A CA file that cannot be read, or holds no certificate.
    let not_pem = file("not a certificate\n");
    for (ca, says) in [
        ("/nonexistent/ca.pem", "cannot read /nonexistent/ca.pem"),
        (not_pem.path().to_str().unwrap(), "holds no PEM certificate"),
    ] {
        let err = Config::load_from(
            None,
            env(&[
                ("GAMEGATE_GAME_SERVER__KIND", "http"),
                ("GAMEGATE_GAME_SERVER__HTTP__URL", "https://game.example"),
                (
                    "GAMEGATE_GAME_SERVER__HTTP__SIGNING_SECRET",
                    "0123456789abcdef",
                ),
                ("GAMEGATE_GAME_SERVER__HTTP__CA_FILE", ca),
            ]),
        )
        .map(drop)
        .unwrap_err();
        assert!(format!("{err:#}").contains(says), "{err:#}");
    }
    // With v1 the section is not read.
    assert!(
        Config::load_from(
            None,
            env(&[("GAMEGATE_GAME_SERVER__HTTP__URL", "nonsense")])
        )
        .is_ok()
    );
}

#[test]
fn keeping_a_telegram_hash_of_erased_accounts_needs_a_key() {
    let keep = ("GAMEGATE_REGISTRATION__ERASURE_KEEP", "telegram_hash");
    let err = Config::load_from(None, env(&[keep]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("registration.erasure_key") && err.contains("16"),
        "{err}"
    );
    let short = ("GAMEGATE_REGISTRATION__ERASURE_KEY", "too-short");
    assert!(Config::load_from(None, env(&[keep, short])).is_err());
    let key = (
        "GAMEGATE_REGISTRATION__ERASURE_KEY",
        "erasure-key-0123456789",
    );
    let (c, _) = Config::load_from(None, env(&[keep, key])).unwrap();
    assert_eq!(c.registration.erasure_keep, ErasureKeep::TelegramHash);
    assert!(!format!("{c:?}").contains("erasure-key-0123456789"));
    let (c, _) = Config::load_from(None, env(&[])).unwrap();
    assert_eq!(c.registration.erasure_keep, ErasureKeep::Nothing);
}

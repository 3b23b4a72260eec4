//! The `map` and `limit_req_zone` blocks of the nginx site: who a client
//! is, the key check, the rate-limit zones and the CORS allow-list.

use std::fmt::Write as _;

use super::*;

impl Site {
    /// `$gamegate_client`: the client as the in-process edge keys it (an
    /// IPv4 address, an IPv6 /`ipv6_prefix`); `$gamegate_register_client`:
    /// on `/api/register`, the player a valid key names in `X-Player-IP`.
    pub(super) fn write_client_maps(&self, o: &mut String) -> std::fmt::Result {
        let prefix = self.ipv6_prefix;
        writeln!(
            o,
            "# The client a limit counts (edge.ipv6_prefix): an IPv4 address as is\n\
             # (4 bytes), an IPv6 address by its first {prefix} bits — any IPv6 client\n\
             # owns a whole /64, and would otherwise get a fresh budget per address."
        )?;
        writeln!(o, "map $binary_remote_addr $gamegate_client {{")?;
        if prefix < 128 {
            let bytes = prefix / 8;
            writeln!(o, "    \"~(?s)^(.{{{bytes}}}).{{{}}}$\" $1;", 16 - bytes)?;
        }
        writeln!(o, "    default $binary_remote_addr;\n}}\n")?;

        // The player's address as text: IPv4 as is; IPv6 cut to its first
        // `groups` groups, written out or before a `::` that reaches them.
        let groups = usize::from(prefix / 16);
        let hex = "[0-9a-fA-F]{1,4}";
        writeln!(
            o,
            "# The player a site names in X-Player-IP, keyed the same way from its text\n\
             # (IPv6 in one form, as RFC 5952 prints it). Anything else names no one."
        )?;
        writeln!(
            o,
            "map $http_x_player_ip $gamegate_player {{\n    default \"\";"
        )?;
        writeln!(o, "    \"~^([0-9]{{1,3}}(\\.[0-9]{{1,3}}){{3}})$\" $1;")?;
        if groups == 8 {
            writeln!(o, "    \"~^([0-9a-fA-F:]{{2,39}})$\" $1;")?;
        } else {
            writeln!(
                o,
                "    \"~^({hex}(:{hex}){{{}}})(:[0-9a-fA-F:.]*)?$\" $1;",
                groups - 1
            )?;
            writeln!(
                o,
                "    \"~^(({hex}(:{hex}){{0,{}}})?::)({hex}(:{hex}){{0,{}}})?$\" $1;",
                groups.saturating_sub(2),
                7 - groups
            )?;
        }
        writeln!(o, "}}\n")?;
        writeln!(
            o,
            "# The address logged: the player a valid key names, else the peer."
        )?;
        writeln!(
            o,
            "map $http_x_player_ip $gamegate_player_ip {{\n    default \"\";\n\
             \x20   \"~^([0-9]{{1,3}}(\\.[0-9]{{1,3}}){{3}})$\" $1;\n\
             \x20   \"~^([0-9a-fA-F:]{{2,39}})$\" $1;\n}}\n"
        )?;
        writeln!(
            o,
            "map $gamegate_key_ok:$gamegate_player_ip $gamegate_log_client {{\n\
             \x20   \"~^1:(?<gamegate_logged>.+)$\" $gamegate_logged;\n\
             \x20   default $remote_addr;\n}}\n"
        )?;
        writeln!(
            o,
            "# On /api/register a valid key speaks for the player it names: that\n\
             # player's budget, not the site's. Without a valid key: the peer's."
        )?;
        writeln!(
            o,
            "map $gamegate_key_ok:$gamegate_player $gamegate_register_client {{\n\
             \x20   \"~^1:(?<gamegate_named>.+)$\" \"player $gamegate_named\";\n\
             \x20   default $gamegate_client;\n}}\n"
        )?;
        writeln!(
            o,
            "map $gamegate_key_ok $gamegate_site_key {{\n    1 $http_x_api_key;\n    default \"\";\n}}\n"
        )
    }

    pub(super) fn write_limits(&self, o: &mut String) -> std::fmt::Result {
        writeln!(
            o,
            "# Per client (behind edge.trusted_proxies: the forwarded one); 10m holds ~160k clients."
        )?;
        for (zone, key, limit) in [
            (
                "gamegate_register",
                "$gamegate_register_client",
                self.register_limit,
            ),
            ("gamegate_status", "$gamegate_client", self.status_limit),
            ("gamegate_stats", "$gamegate_client", self.stats_limit),
            ("gamegate_predict", "$gamegate_client", self.predict_limit),
            // All requests of one valid key together; other requests have an
            // empty key, which nginx does not count.
            (
                "gamegate_site_key",
                "$gamegate_site_key",
                self.site_key_limit,
            ),
        ] {
            if let Some((per_minute, _)) = limit {
                writeln!(
                    o,
                    "limit_req_zone {key} zone={zone}:10m rate={per_minute}r/m;"
                )?;
            }
        }
        // Retry-After of a 429: one emission interval of the limit that was
        // hit (60 s / rate, rounded up), i.e. when nginx admits the next
        // request from that IP — the same rule as the in-process limiter.
        // Keyed by $uri, which a named error location keeps.
        writeln!(o, "map $uri $gamegate_retry_after {{")?;
        writeln!(o, "    default 60;")?;
        for (path, limit) in [
            ("/api/register", self.register_limit),
            ("~^/api/accounts/", self.register_limit),
            ("/api/server/status", self.status_limit),
            ("/stats/leaderboard", self.stats_limit),
            ("/stats/summary", self.stats_limit),
            ("~^/stats/players/", self.stats_limit),
            ("/ml/predict", self.predict_limit),
        ] {
            if let Some((per_minute, _)) = limit {
                writeln!(o, "    {path} {};", 60u32.div_ceil(per_minute).max(1))?;
            }
        }
        writeln!(o, "}}\n")?;
        writeln!(
            o,
            "# 1 for the public statistics routes as the client wrote them (nginx\n\
             # forwards the request line unchanged, not the path it matched on)."
        )?;
        writeln!(
            o,
            "map $request_uri $gamegate_stats_uri {{\n    default 0;\n    \"~{STATS_REQUEST_URI}\" 1;\n    \"~{PREDICT_REQUEST_URI}\" 1;\n}}\n"
        )?;
        writeln!(
            o,
            "# The method an account route answers, from the request line as the client\n\
             # wrote it (the login still percent-encoded); empty for any other path."
        )?;
        writeln!(
            o,
            "map $request_uri $gamegate_account_method {{\n    default \"\";\n    \
             \"~{ACCOUNT_DELETE_REQUEST_URI}\" DELETE;\n    \"~{ACCOUNT_PASSWORD_REQUEST_URI}\" POST;\n}}\n"
        )?;
        writeln!(
            o,
            "# The Allow header of a 405: the account route's method, else the statistics'."
        )?;
        writeln!(
            o,
            "map $gamegate_account_method $gamegate_allow {{\n    \"\" \"GET, HEAD\";\n    \
             default $gamegate_account_method;\n}}\n"
        )
    }

    pub(super) fn write_key_map(&self, o: &mut String) -> std::fmt::Result {
        writeln!(
            o,
            "# 1 when X-API-Key is one of edge.api_keys. Anchored regexes, not plain\n\
             # strings: nginx matches plain map strings case-insensitively."
        )?;
        writeln!(o, "map $http_x_api_key $gamegate_key_ok {{\n    default 0;")?;
        for key in &self.keys {
            // Only [A-Za-z0-9-_.+/=] gets here; `.` and `+` are the regex
            // metacharacters among them.
            let escaped = key.replace('.', r"\.").replace('+', r"\+");
            writeln!(o, "    \"~^{escaped}$\" 1;")?;
        }
        writeln!(o, "}}\n")
    }

    pub(super) fn write_cors_maps(&self, o: &mut String) -> std::fmt::Result {
        let Cors::Origins(origins) = &self.cors else {
            return Ok(());
        };
        writeln!(
            o,
            "# CORS allow-list (edge.cors_allowed_origins): other origins get no CORS headers."
        )?;
        writeln!(
            o,
            "map $http_origin $gamegate_cors_origin {{\n    default \"\";"
        )?;
        for origin in origins {
            writeln!(o, "    \"{origin}\" $http_origin;")?;
        }
        writeln!(o, "}}")?;
        for (var, value) in [
            ("gamegate_cors_methods", CORS_ALLOW_METHODS),
            ("gamegate_cors_headers", CORS_ALLOW_HEADERS),
            ("gamegate_cors_expose", CORS_EXPOSE_HEADERS),
            ("gamegate_cors_max_age", CORS_MAX_AGE),
        ] {
            writeln!(
                o,
                "map $gamegate_cors_origin ${var} {{\n    \"\" \"\";\n    default \"{value}\";\n}}"
            )?;
        }
        writeln!(o)
    }
}

//! The `server` blocks of the nginx site: the HTTP→HTTPS redirect, the TLS
//! server, its API locations and its JSON error pages.

use std::fmt::Write as _;

use super::*;

impl Site {
    /// Headers every answer of the TLS server carries. nginx drops inherited
    /// `add_header`s in a block that has its own, so blocks that add one
    /// repeat these.
    pub(super) fn common_headers(&self, indent: &str) -> String {
        let mut h = String::new();
        let mut add = |name: &str, value: &str| {
            h += &format!("{indent}add_header {name} \"{value}\" always;\n");
        };
        add("Strict-Transport-Security", HSTS);
        add("X-Content-Type-Options", "nosniff");
        match &self.cors {
            Cors::Off => {}
            Cors::Any => {
                add("Access-Control-Allow-Origin", "*");
                add("Access-Control-Allow-Methods", CORS_ALLOW_METHODS);
                add("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS);
                add("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS);
                add("Access-Control-Max-Age", CORS_MAX_AGE);
            }
            Cors::Origins(_) => {
                // Empty values are not sent: a disallowed origin gets none.
                add("Access-Control-Allow-Origin", "$gamegate_cors_origin");
                add("Access-Control-Allow-Methods", "$gamegate_cors_methods");
                add("Access-Control-Allow-Headers", "$gamegate_cors_headers");
                add("Access-Control-Expose-Headers", "$gamegate_cors_expose");
                add("Access-Control-Max-Age", "$gamegate_cors_max_age");
                add("Vary", "Origin");
            }
        }
        h
    }

    pub(super) fn write_redirect_server(&self, o: &mut String) -> std::fmt::Result {
        let port = if self.https_port == 443 {
            String::new()
        } else {
            format!(":{}", self.https_port)
        };
        writeln!(
            o,
            "# Plain HTTP: only certbot's webroot challenge, the rest redirects."
        )?;
        writeln!(o, "server {{")?;
        for l in &self.listen_http {
            writeln!(o, "    listen {l};")?;
        }
        writeln!(
            o,
            "    server_name {name};\n    server_tokens off;\n    access_log {log} gamegate;\n    error_log {err} warn;\n",
            name = self.server_name,
            log = self.access_log,
            err = self.error_log
        )?;
        writeln!(
            o,
            "    location ^~ /.well-known/acme-challenge/ {{\n        root {};\n        default_type text/plain;\n    }}",
            self.acme_webroot
        )?;
        // The configured name, not $host: a client's Host header must not
        // choose where it is redirected. 308 keeps a POST a POST, as
        // gamegate's own redirect listener; the named location swaps nginx's
        // HTML page for a JSON body and keeps the status and `Location`
        // (`error_page` without `=code` keeps the 308; its `return 200` only
        // supplies the body — `return 308 TEXT` would take TEXT as the URL).
        let origin = format!("https://{}{port}", self.server_name);
        writeln!(
            o,
            "    location / {{\n        error_page 308 @gamegate_308;\n        \
             return 308 {origin}$request_uri;\n    }}\n\
             \x20   location @gamegate_308 {{\n        types {{}}\n        default_type application/json;\n        \
             return 200 '{{\"ok\":false,\"redirect\":\"{origin}\"}}';\n    }}\n}}\n"
        )
    }

    pub(super) fn write_tls_server(&self, o: &mut String) -> std::fmt::Result {
        writeln!(o, "server {{")?;
        // `listen … http2` rather than `http2 on;`: Debian 12's nginx 1.22
        // knows only the former; nginx 1.25.1 and later accept it with a
        // deprecation warning.
        for l in &self.listen_https {
            writeln!(o, "    listen {l} ssl http2;")?;
        }
        writeln!(
            o,
            "    server_name {};\n    server_tokens off;\n",
            self.server_name
        )?;
        writeln!(
            o,
            "    ssl_certificate {};\n    ssl_certificate_key {};",
            self.certificate, self.certificate_key
        )?;
        // Mozilla's "intermediate" profile: TLS 1.2 and 1.3, ECDHE only.
        writeln!(
            o,
            "    ssl_protocols TLSv1.2 TLSv1.3;\n\
             \x20   ssl_ciphers {CIPHERS};\n\
             \x20   ssl_ecdh_curve {ECDH_CURVES};\n\
             \x20   ssl_prefer_server_ciphers off;\n\
             \x20   ssl_session_cache shared:gamegate_tls:10m;\n\
             \x20   ssl_session_timeout 1d;\n\
             \x20   ssl_session_tickets off;"
        )?;
        if let Some(trusted) = &self.ocsp_trusted {
            // nginx.ocsp_stapling; nginx resolves the responder named in the
            // certificate when it loads this file.
            writeln!(
                o,
                "    ssl_stapling on;\n    ssl_stapling_verify on;\n    ssl_trusted_certificate {trusted};"
            )?;
        }
        o.push('\n');
        writeln!(
            o,
            "    access_log {} gamegate;\n    error_log {} warn;\n",
            self.access_log, self.error_log
        )?;

        if self.trusted.is_empty() {
            writeln!(
                o,
                "    # edge.trusted_proxies is empty: the socket peer is the client and\n    \
                 # X-Forwarded-For from clients is ignored.\n"
            )?;
        } else {
            writeln!(
                o,
                "    # The client IP is taken from X-Forwarded-For only when the peer is a\n    \
                 # trusted proxy (edge.trusted_proxies), right-most untrusted hop."
            )?;
            for net in &self.trusted {
                writeln!(o, "    set_real_ip_from {net};")?;
            }
            writeln!(
                o,
                "    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n"
            )?;
        }

        writeln!(
            o,
            "    client_max_body_size {limit};\n    client_body_buffer_size {limit};\n    \
             client_header_timeout 10s;\n    client_body_timeout 10s;\n    send_timeout 10s;\n    \
             keepalive_timeout 30s;\n",
            limit = self.body_limit
        )?;
        // An empty `types` makes every answer default_type: nginx would
        // otherwise label a 404 for /x.html as text/html.
        o.push_str("    types {}\n    default_type application/json;\n\n");
        o.push_str(&self.common_headers("    "));
        o.push('\n');

        // Upstream answers pass through untouched (their JSON errors are the
        // contract's); the upstream's CORS headers are dropped so nginx is the
        // only source of them (two Access-Control-Allow-Origin headers make a
        // browser refuse the answer).
        o.push_str(&format!(
            "    proxy_http_version 1.1;\n\
             \x20   proxy_set_header Connection \"\";\n\
             \x20   proxy_set_header Host $host;\n\
             \x20   # Overwritten, never appended: a client's own X-Forwarded-For goes no further.\n\
             \x20   proxy_set_header X-Real-IP $remote_addr;\n\
             \x20   proxy_set_header X-Forwarded-For $remote_addr;\n\
             \x20   proxy_set_header X-Forwarded-Proto $scheme;\n\
             \x20   # The player a site's request names; honoured upstream only with a valid key.\n\
             \x20   proxy_set_header X-Player-IP $http_x_player_ip;\n\
             \x20   proxy_connect_timeout 5s;\n\
             \x20   proxy_send_timeout 10s;\n\
             \x20   proxy_read_timeout {}s;\n",
            self.read_timeout_secs
        ));
        for h in [
            "Access-Control-Allow-Origin",
            "Access-Control-Allow-Methods",
            "Access-Control-Allow-Headers",
            "Access-Control-Allow-Credentials",
            "Access-Control-Expose-Headers",
            "Access-Control-Max-Age",
            "Vary",
        ] {
            writeln!(o, "    proxy_hide_header {h};")?;
        }
        writeln!(
            o,
            "\n    limit_req_status 429;\n    limit_req_log_level warn;\n"
        )?;

        // nginx's own errors as the contract's JSON (API.md §2).
        for (codes, location) in [
            ("400 414 494 497", "@gamegate_400"),
            ("403", "@gamegate_403"),
            ("404", "@gamegate_404"),
            ("405", "@gamegate_405"),
            ("413", "@gamegate_413"),
            ("429", "@gamegate_429"),
            ("500", "@gamegate_500"),
            ("502", "@gamegate_502"),
            ("503", "@gamegate_503"),
            ("504", "@gamegate_504"),
        ] {
            writeln!(o, "    error_page {codes} {location};")?;
        }
        o.push('\n');

        self.write_api_locations(o)?;
        self.write_error_locations(o)?;
        writeln!(o, "}}")
    }

    pub(super) fn write_api_locations(&self, o: &mut String) -> std::fmt::Result {
        let limit = |zone: &str, l: Option<(u32, u32)>| match l {
            Some((_, burst)) => format!("        limit_req zone={zone} burst={burst} nodelay;\n"),
            None => String::new(),
        };
        // The preflight carries no key: answered before the key check, with
        // the CORS headers of the server block.
        let preflight =
            "        if ($request_method = OPTIONS) {\n            return 204;\n        }\n";
        writeln!(
            o,
            "    location = /api/register {{\n{preflight}{limit}{site_limit}\
             \x20       # In the access phase, after limit_req: key guessing is rate-limited too.\n\
             \x20       auth_request /_gamegate/key;\n\
             \x20       proxy_pass http://gamegate_register;\n    }}\n",
            limit = limit("gamegate_register", self.register_limit),
            site_limit = limit("gamegate_site_key", self.site_key_limit)
        )?;
        // The account routes: the register upstream, key and limits; only
        // the request lines the map names, each with its one method. No URI
        // on proxy_pass: the request line goes on as the client sent it, the
        // `{login}` still percent-encoded (a Cyrillic login arrives intact).
        writeln!(
            o,
            "    location ^~ /api/accounts/ {{\n\
             \x20       if ($gamegate_account_method = \"\") {{\n            return 404;\n        }}\n\
             {preflight}\
             \x20       if ($request_method != $gamegate_account_method) {{\n            return 405;\n        }}\n\
             {limit}{site_limit}\
             \x20       auth_request /_gamegate/key;\n\
             \x20       proxy_pass http://gamegate_register;\n    }}\n",
            limit = limit("gamegate_register", self.register_limit),
            site_limit = limit("gamegate_site_key", self.site_key_limit)
        )?;
        writeln!(
            o,
            "    location = /_gamegate/key {{\n        internal;\n\
             \x20       if ($gamegate_key_ok != 1) {{\n            return 403;\n        }}\n\
             \x20       return 204;\n    }}\n"
        )?;
        // The path is kept: `gamegate all` and `serve status` both answer
        // /api/server/status, and the Traefik route matches it as is.
        writeln!(
            o,
            "    location = /api/server/status {{\n{preflight}{limit}\
             \x20       proxy_pass http://gamegate_status;\n    }}\n",
            limit = limit("gamegate_status", self.status_limit)
        )?;
        // The public statistics: GET only, each group with its own per-client
        // limit, and only the request lines the map lets through (a path
        // nginx normalised into one of these is still refused).
        for (location, zone, zone_limit) in [
            ("= /stats/leaderboard", "gamegate_stats", self.stats_limit),
            ("= /stats/summary", "gamegate_stats", self.stats_limit),
            ("^~ /stats/players/", "gamegate_stats", self.stats_limit),
            ("= /ml/predict", "gamegate_predict", self.predict_limit),
        ] {
            writeln!(
                o,
                "    location {location} {{\n\
                 \x20       if ($gamegate_stats_uri != 1) {{\n            return 404;\n        }}\n\
                 \x20       if ($request_method !~ ^(GET|HEAD)$) {{\n            return 405;\n        }}\n\
                 {limit}\x20       proxy_pass http://gamegate_stats;\n    }}\n",
                limit = limit(zone, zone_limit)
            )?;
        }
        // The edge's own liveness (API.md §1), answered without the upstream.
        writeln!(
            o,
            "    location = /health {{\n        return 200 '{{\"status\":\"ok\"}}';\n    }}\n"
        )?;
        writeln!(o, "    location / {{\n        return 404;\n    }}\n")
    }

    pub(super) fn write_error_locations(&self, o: &mut String) -> std::fmt::Result {
        // 5xx: the upstream is down or failed. No code of the contract names
        // "gateway"; `internal_error` is its catch-all ("anything else, never
        // leaks internals"), and the status stays nginx's (502/503) so
        // monitoring still tells the two apart. A gateway timeout has its own
        // code, `request_timeout`.
        for (name, status, code) in [
            ("@gamegate_400", 400, ErrorCode::InvalidJson),
            ("@gamegate_403", 403, ErrorCode::InvalidApiKey),
            ("@gamegate_404", 404, ErrorCode::NotFound),
            ("@gamegate_405", 405, ErrorCode::MethodNotAllowed),
            ("@gamegate_413", 413, ErrorCode::PayloadTooLarge),
            ("@gamegate_429", 429, ErrorCode::RateLimited),
            ("@gamegate_500", 500, ErrorCode::InternalError),
            ("@gamegate_502", 502, ErrorCode::InternalError),
            ("@gamegate_503", 503, ErrorCode::InternalError),
            ("@gamegate_504", 504, ErrorCode::RequestTimeout),
        ] {
            let body = json_body(code, self.lang).map_err(|_| std::fmt::Error)?;
            writeln!(o, "    location {name} {{")?;
            if code == ErrorCode::MethodNotAllowed {
                // The statistics routes (GET only) and the account routes
                // (one method each) answer 405.
                o.push_str(&self.common_headers("        "));
                writeln!(o, "        add_header Allow $gamegate_allow always;")?;
            }
            if code == ErrorCode::RateLimited {
                o.push_str(&self.common_headers("        "));
                writeln!(
                    o,
                    "        add_header Retry-After $gamegate_retry_after always;"
                )?;
            }
            writeln!(o, "        return {status} '{body}';\n    }}")?;
        }
        Ok(())
    }
}

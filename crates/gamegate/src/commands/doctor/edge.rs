//! The edge policy: API keys strong enough, CORS, rate limits, trusted proxies.

use super::*;

pub(super) fn api_keys(config: &Config) -> Check {
    let id = CheckId::ApiKeys;
    let keys = crate::config::expose_all(&config.edge.api_keys);
    let generate = "generate one with `gamegate keygen api-key`, put it in edge.api_keys \
                    (GAMEGATE_EDGE__API_KEYS_FILE) and on the site's server";
    if keys.is_empty() {
        if config.edge.keys_checked_upstream {
            return Check::not_applicable(
                id,
                "no keys here: edge.keys_checked_upstream says the edge in front checks them \
                 (run doctor with the edge's configuration on that host)",
            );
        }
        return Check::fail(
            id,
            "edge.api_keys is empty: `serve register` refuses to start and `gamegate all` \
             makes up its own key",
            generate,
        );
    }
    let weak: Vec<String> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, key)| {
            let bits = estimated_bits(key);
            (key.chars().count() < MIN_KEY_CHARS || bits < MIN_KEY_BITS).then(|| {
                format!(
                    "key {} of {}: {} characters, about {bits:.0} bits",
                    i + 1,
                    keys.len(),
                    key.chars().count()
                )
            })
        })
        .collect();
    if !weak.is_empty() {
        return Check::fail(
            id,
            format!(
                "weak API key ({}; need at least {MIN_KEY_CHARS} characters and \
                 {MIN_KEY_BITS:.0} bits)",
                weak.join("; ")
            ),
            format!("replace it: {generate}"),
        );
    }
    Check::pass(
        id,
        format!(
            "{} key(s), each at least {MIN_KEY_CHARS} characters and {MIN_KEY_BITS:.0} bits (estimated)",
            keys.len()
        ),
    )
}

/// Length × the Shannon entropy of the key's own characters: what the key
/// would carry if it were random over the symbols it uses. Repeats and small
/// alphabets (words, `aaaa…`, short hex) score low; 32 random bytes in
/// base64 score about 210.
pub fn estimated_bits(key: &str) -> f64 {
    let chars: Vec<char> = key.chars().collect();
    if chars.is_empty() {
        return 0.0;
    }
    let mut counts = std::collections::HashMap::new();
    for c in &chars {
        *counts.entry(*c).or_insert(0usize) += 1;
    }
    let n = chars.len() as f64;
    let per_char: f64 = counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum();
    per_char * n
}

pub(super) fn cors(config: &Config) -> Check {
    let id = CheckId::Cors;
    let origins = &config.edge.cors_allowed_origins;
    if origins.iter().any(|o| o == "*") {
        return Check::fail(
            id,
            "edge.cors_allowed_origins contains \"*\": any web page may call the API from a browser",
            "list the site's origin only, e.g. edge.cors_allowed_origins = [\"https://game.example\"]",
        );
    }
    if origins.is_empty() {
        return Check::pass(
            id,
            "no origin allowed: browsers cannot call the API directly (the site calls it from its server)",
        );
    }
    Check::pass(id, format!("only {}", origins.join(", ")))
}

pub(super) fn rate_limits(config: &Config) -> Check {
    let id = CheckId::RateLimits;
    let e = &config.edge;
    let off: Vec<&str> = [
        ("edge.register_per_minute", e.register_per_minute),
        ("edge.status_per_minute", e.status_per_minute),
    ]
    .into_iter()
    .filter(|(_, v)| *v == 0)
    .map(|(k, _)| k)
    .collect();
    if !off.is_empty() {
        return Check::fail(
            id,
            format!("{} = 0: no per-IP limit", off.join(" and ")),
            "set them (e.g. register_per_minute = 10, status_per_minute = 30)",
        );
    }
    Check::pass(
        id,
        format!(
            "per client IP: register {}/min (burst {}), status {}/min (burst {})",
            e.register_per_minute, e.register_burst, e.status_per_minute, e.status_burst
        ),
    )
}

/// Behind a proxy means: TLS is not gamegate's, so public requests reach it
/// through the TLS-terminating proxy (nginx, Traefik).
/// Networks as an operator writes them: a single address without `/32`.
pub(super) fn show_nets(nets: &[ipnet::IpNet]) -> String {
    nets.iter()
        .map(|n| match n.prefix_len() == n.max_prefix_len() {
            true => n.addr().to_string(),
            false => n.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn trusted_proxies(config: &Config) -> Check {
    let id = CheckId::TrustedProxies;
    let behind_proxy = config.http.tls_cert_file.is_empty();
    let nets = &config.edge.trusted_proxies;
    if let Some(everyone) = nets.iter().find(|n| n.prefix_len() == 0) {
        return Check::fail(
            id,
            format!(
                "edge.trusted_proxies contains {everyone}: any client can forge its address \
                 with X-Forwarded-For and dodge limits and bans"
            ),
            "list only the proxies' own addresses",
        );
    }
    match (behind_proxy, nets.is_empty()) {
        (true, true) => Check::fail(
            id,
            "TLS ends in front of gamegate (http.tls_cert_file is empty), so requests come \
             through a proxy, but edge.trusted_proxies is empty: every client gets the proxy's \
             address and one client's limit or ban hits all",
            "set edge.trusted_proxies to the proxies, e.g. [\"10.8.0.1\", \"172.30.0.0/24\"] \
             (nginx over WireGuard, the compose network of Traefik)",
        ),
        (true, false) | (false, false) => Check::pass(
            id,
            format!("forwarded addresses believed only from {}", show_nets(nets)),
        ),
        (false, true) => Check::not_applicable(
            id,
            "gamegate terminates TLS itself (http.tls_cert_file): clients connect directly",
        ),
    }
}

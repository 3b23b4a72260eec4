//! The request signature of the HTTP connector (docs/GAME_SERVER.md, "HTTP
//! connector"), as webhook providers sign their deliveries:
//!
//! ```text
//! X-Gamegate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<op>.<body>")>
//! ```
//!
//! `op` is the endpoint's name (`register`, `exists`, …), so a body signed
//! for one endpoint is refused by every other; `body` is the exact bytes
//! sent. Pure functions: the connector signs, the mock receiver verifies,
//! and the unit tests below hold vectors computed by an independent
//! implementation (Python's `hmac`).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Gamegate-Signature";

/// How far a signature's timestamp may be from the receiver's clock, in
/// seconds, either way; older or newer requests are refused as stale.
pub const TOLERANCE_SECS: u64 = 300;

/// The signature of `body` sent to endpoint `op` at `t` (Unix seconds): 64
/// lowercase hex digits.
pub fn sign(secret: &[u8], t: u64, op: &str, body: &[u8]) -> String {
    hex::encode(mac(secret, t, op, body).finalize().into_bytes())
}

/// The header value for [`SIGNATURE_HEADER`]: `t=<t>,v1=<signature>`.
pub fn header_value(secret: &[u8], t: u64, op: &str, body: &[u8]) -> String {
    format!("t={t},v1={}", sign(secret, t, op, body))
}

/// Seconds since the Unix epoch: the `t` of a signature, and the `now` a
/// receiver checks it against; 0 on a clock set before 1970.
///
/// gamegate's one wall clock is `gamegate_store::unix_now`; this crate does
/// not depend on the store, so its signatures read the clock here, once for
/// the connector and the mock receiver.
pub fn clock_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mac(secret: &[u8], t: u64, op: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(op.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Why a receiver refuses a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No header, or not `t=…,v1=…`.
    Malformed,
    /// The timestamp is more than [`TOLERANCE_SECS`] from `now`.
    Stale,
    /// No `v1` value matches.
    Mismatch,
}

/// A header value's parts: the timestamp and every `v1` value (a sender may
/// send several while its secret is rotated; one matching is enough).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// `t`, Unix seconds.
    pub t: u64,
    /// The `v1` values, as sent.
    pub v1: Vec<String>,
}

/// Parses `t=<digits>,v1=<hex>[,v1=<hex>…]`; unknown keys are ignored (a
/// later scheme may add `v2`).
pub fn parse(header: &str) -> Result<Parsed, Refusal> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(Refusal::Malformed)?;
        match key {
            "t" if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() => {
                t = Some(value.parse().map_err(|_| Refusal::Malformed)?);
            }
            "t" => return Err(Refusal::Malformed),
            "v1" => v1.push(value.to_owned()),
            _ => {}
        }
    }
    match t {
        Some(t) if !v1.is_empty() => Ok(Parsed { t, v1 }),
        _ => Err(Refusal::Malformed),
    }
}

/// Checks a header against `secret` for `op` and `body` at `now` (Unix
/// seconds): parsed, fresh, and one `v1` equal to the expected signature,
/// compared in constant time. Returns the parsed header (its `v1` values
/// identify the request for the replay cache).
pub fn verify(
    secret: &[u8],
    header: Option<&str>,
    op: &str,
    body: &[u8],
    now: u64,
) -> Result<Parsed, Refusal> {
    let parsed = parse(header.ok_or(Refusal::Malformed)?)?;
    if parsed.t.abs_diff(now) > TOLERANCE_SECS {
        return Err(Refusal::Stale);
    }
    let matches = parsed.v1.iter().any(|candidate| {
        hex::decode(candidate)
            .is_ok_and(|bytes| mac(secret, parsed.t, op, body).verify_slice(&bytes).is_ok())
    });
    if matches {
        Ok(parsed)
    } else {
        Err(Refusal::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-test-0123456789abcdef";
    const BODY: &[u8] = br#"{"request_id":"5f0c","login":"Hero_01"}"#;

    /// Computed with Python, independently of this module:
    /// `hmac.new(b"whsec-test-0123456789abcdef", b'1764518400.exists.{"request_id":"5f0c","login":"Hero_01"}', hashlib.sha256).hexdigest()`
    const EXISTS_AT_1764518400: &str =
        "6d2d0ed593895a03f88b88922f93985717ebfab45fa5b58c527fccf5aee6686f";

    #[test]
    fn signature_matches_an_independent_implementation() {
        assert_eq!(
            sign(SECRET, 1_764_518_400, "exists", BODY),
            EXISTS_AT_1764518400
        );
        assert_eq!(
            header_value(SECRET, 1_764_518_400, "exists", BODY),
            format!("t=1764518400,v1={EXISTS_AT_1764518400}")
        );
    }

    /// The worked example of docs/GAME_SERVER.md ("The signature"), computed
    /// with Python's `hmac`.
    #[test]
    fn the_documented_example_holds() {
        let body = br#"{"request_id":"9f8e7d6c5b4a39281706f5e4d3c2b1a0","login":"Hero_01","password":"secret12","gender":0}"#;
        assert_eq!(body.len(), 100);
        assert_eq!(
            header_value(
                b"example-signing-secret-0123456789",
                1_764_518_400,
                "register",
                body
            ),
            "t=1764518400,v1=2e17a0d3efb0ad0bc4faf494a6e365bad515acecd3e3cdffc05b59f92d39272d"
        );
    }

    #[test]
    fn verify_accepts_fresh_and_refuses_stale_wrong_and_malformed() {
        let header = header_value(SECRET, 1_000_000, "exists", BODY);
        let ok = verify(
            SECRET,
            Some(&header),
            "exists",
            BODY,
            1_000_000 + TOLERANCE_SECS,
        );
        assert_eq!(ok.unwrap().t, 1_000_000);
        assert!(
            verify(
                SECRET,
                Some(&header),
                "exists",
                BODY,
                1_000_000 - TOLERANCE_SECS
            )
            .is_ok()
        );
        let late = verify(
            SECRET,
            Some(&header),
            "exists",
            BODY,
            1_000_001 + TOLERANCE_SECS,
        );
        assert_eq!(late, Err(Refusal::Stale));
        let early = verify(
            SECRET,
            Some(&header),
            "exists",
            BODY,
            999_999 - TOLERANCE_SECS,
        );
        assert_eq!(early, Err(Refusal::Stale));
        // Another endpoint, another body, another secret.
        for (secret, op, body) in [
            (SECRET, "delete", BODY),
            (SECRET, "exists", &b"{}"[..]),
            (&b"other"[..], "exists", BODY),
        ] {
            assert_eq!(
                verify(secret, Some(&header), op, body, 1_000_000),
                Err(Refusal::Mismatch),
                "{op}"
            );
        }
        for bad in ["", "t=1", "v1=ab", "t=x,v1=ab", "t=-1,v1=ab", "garbage"] {
            assert_eq!(
                verify(SECRET, Some(bad), "exists", BODY, 1),
                Err(Refusal::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify(SECRET, None, "exists", BODY, 1),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn one_matching_v1_of_several_is_enough() {
        let good = sign(SECRET, 5, "ping", b"{}");
        let header = format!("t=5, v1=00ff, v1={good}, v2=whatever");
        assert!(verify(SECRET, Some(&header), "ping", b"{}", 5).is_ok());
        let not_hex = "t=5,v1=zz";
        assert_eq!(
            verify(SECRET, Some(not_hex), "ping", b"{}", 5),
            Err(Refusal::Mismatch)
        );
    }
}

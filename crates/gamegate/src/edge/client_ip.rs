//! Which address a request comes from: the socket peer, unless the peer is a
//! trusted proxy, in which case the proxy's `X-Forwarded-For` (or
//! `X-Real-IP`) is believed — as far as it runs through trusted proxies.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use ipnet::IpNet;

/// The client address as an outer layer (the access log, the jail)
/// resolved it, kept in the request's extensions so the layers inside do not
/// parse the headers again. Every layer resolves with the same
/// `edge.trusted_proxies`, so the first answer is everyone's.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The client address of `req`, from its connection's peer (axum's
/// `ConnectInfo`) and, behind `trusted` proxies, their headers — or what an
/// outer layer already resolved ([`ClientIp`]).
pub fn of_request(req: &Request, trusted: &[IpNet]) -> IpAddr {
    if let Some(ClientIp(ip)) = req.extensions().get::<ClientIp>() {
        return *ip;
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    if trusted.is_empty() {
        return peer.to_canonical();
    }
    let headers = req.headers();
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let real_ip = headers.get("x-real-ip").and_then(|v| v.to_str().ok());
    client_ip(peer, &forwarded, real_ip, trusted)
}

/// The client address of one request.
///
/// * `peer`: the TCP peer.
/// * `forwarded_for`: every `X-Forwarded-For` header value, in order.
/// * `real_ip`: the `X-Real-IP` header value, if any.
/// * `trusted`: the proxies whose headers are believed.
///
/// From an untrusted peer the headers are ignored (anyone can send them).
/// From a trusted one, `X-Forwarded-For` is read right to left and the first
/// address that is not itself a trusted proxy is the client; when every entry
/// is a trusted proxy, the left-most one is. An entry that is not an address
/// stops the walk: nothing left of it can be believed, so the last trusted hop
/// is used. Without `X-Forwarded-For`, `X-Real-IP` is used.
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: &[&str],
    real_ip: Option<&str>,
    trusted: &[IpNet],
) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(&ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if !hops.is_empty() {
        let mut last = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_addr(hop) else {
                return last;
            };
            if !is_trusted(ip) {
                return ip;
            }
            last = ip;
        }
        return last;
    }
    real_ip.and_then(|v| parse_addr(v.trim())).unwrap_or(peer)
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_addr(s: &str) -> Option<IpAddr> {
    s.parse::<IpAddr>()
        .ok()
        .or_else(|| s.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            s.strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|r| r.parse().ok())
        })
        .map(|ip: IpAddr| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let peer = ip("203.0.113.7");
        assert_eq!(client_ip(peer, &[], None, &[]), peer);
        assert_eq!(
            client_ip(peer, &["1.1.1.1"], Some("2.2.2.2"), &[]),
            peer,
            "spoofed headers from an untrusted peer are ignored"
        );
        // A trusted list that does not contain the peer changes nothing.
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(peer, &["1.1.1.1"], Some("2.2.2.2"), &trusted),
            peer
        );
    }

    #[test]
    fn a_trusted_proxy_passes_the_client_on() {
        let trusted = nets(&["10.0.0.0/8"]);
        let proxy = ip("10.0.0.2");
        assert_eq!(
            client_ip(proxy, &["198.51.100.9"], None, &trusted),
            ip("198.51.100.9")
        );
        // The client's own (spoofable) left-most entries are skipped: the
        // right-most untrusted address is what the proxy saw.
        assert_eq!(
            client_ip(proxy, &["6.6.6.6, 198.51.100.9"], None, &trusted),
            ip("198.51.100.9")
        );
        // X-Real-IP when there is no X-Forwarded-For.
        assert_eq!(
            client_ip(proxy, &[], Some("198.51.100.10"), &trusted),
            ip("198.51.100.10")
        );
        // Neither header: the proxy itself.
        assert_eq!(client_ip(proxy, &[], None, &trusted), proxy);
        // Garbage from the proxy: the proxy.
        assert_eq!(client_ip(proxy, &["not-an-ip"], None, &trusted), proxy);
        assert_eq!(client_ip(proxy, &[], Some("nope"), &trusted), proxy);
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked_right_to_left() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.0/24"]);
        let peer = ip("10.0.0.2");
        // client → 192.168.1.5 (CDN) → 10.0.0.2 (LB) → gamegate
        assert_eq!(
            client_ip(peer, &["198.51.100.9, 192.168.1.5"], None, &trusted),
            ip("198.51.100.9")
        );
        // The same chain in two header lines.
        assert_eq!(
            client_ip(
                peer,
                &["6.6.6.6, 198.51.100.9", "192.168.1.5"],
                None,
                &trusted
            ),
            ip("198.51.100.9")
        );
        // Every hop trusted: the left-most.
        assert_eq!(
            client_ip(peer, &["10.1.1.1, 192.168.1.5"], None, &trusted),
            ip("10.1.1.1")
        );
        // An unparsable hop stops the walk at the last trusted one.
        assert_eq!(
            client_ip(peer, &["198.51.100.9, junk, 192.168.1.5"], None, &trusted),
            ip("192.168.1.5")
        );
        // Ports are tolerated.
        assert_eq!(
            client_ip(peer, &["198.51.100.9:5555"], None, &trusted),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn ipv6_peers_and_clients() {
        let trusted = nets(&["fd00::/8", "::1/128"]);
        assert_eq!(
            client_ip(ip("fd00::2"), &["2001:db8::7"], None, &trusted),
            ip("2001:db8::7")
        );
        assert_eq!(
            client_ip(ip("::1"), &["[2001:db8::8]:443, fd00::9"], None, &trusted),
            ip("2001:db8::8")
        );
        // Untrusted IPv6 peer: headers ignored.
        assert_eq!(
            client_ip(ip("2001:db8::1"), &["198.51.100.9"], None, &trusted),
            ip("2001:db8::1")
        );
        // Mixed: IPv6 proxy forwarding an IPv4 client.
        assert_eq!(
            client_ip(ip("fd00::2"), &["198.51.100.9"], None, &trusted),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_count_as_ipv4() {
        let trusted = nets(&["127.0.0.1/32"]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &["198.51.100.9"], None, &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.7"), &[], None, &[]),
            ip("203.0.113.7")
        );
    }
}

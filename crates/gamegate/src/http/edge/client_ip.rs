//! Which address a request comes from: the socket peer, unless the peer is a
//! trusted proxy, in which case the proxy's `X-Real-IP` (or, without it, its
//! `X-Forwarded-For`) is believed — as far as it runs through trusted proxies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use ipnet::IpNet;

/// What the rate limits and the jail count a client by: an IPv4 address as
/// is, an IPv6 address with the bits after `edge.ipv6_prefix` cleared (its
/// /64 by default — any IPv6 client owns a whole /64, so a per-address key
/// would hand it a fresh budget per address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey(pub IpAddr);

impl ClientKey {
    /// The key of `ip` (canonical: IPv4-mapped IPv6 is the IPv4 address).
    pub fn new(ip: IpAddr, ipv6_prefix: u8) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(ipv6_prefix.min(128)))
                    .unwrap_or(0);
                Self(IpAddr::V6(Ipv6Addr::from(bits & mask)))
            }
        }
    }

    /// The network this key stands for: the IPv4 address as a /32, the IPv6
    /// network as a /`ipv6_prefix` — what a ban of this client covers.
    pub fn network(self, ipv6_prefix: u8) -> IpNet {
        let len = match self.0 {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => ipv6_prefix.min(128),
        };
        IpNet::new(self.0, len)
            .expect("a prefix within the address")
            .trunc()
    }
}

/// Who the edge judges a request as, resolved once by the listener's front
/// (before routing) and kept in the request's extensions for the jail, the
/// limits and the handlers; the front also logs it:
///
/// * a request with a valid `X-API-Key` that names a player in `X-Player-IP`
///   is the site speaking for that player: the player's address;
/// * every other request: the connection's client address ([`of_request`]:
///   the socket peer, or behind trusted proxies the forwarded address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The address judged (and logged).
    pub ip: IpAddr,
    /// `ip` as limits and the jail count it.
    pub key: ClientKey,
    /// The position in `edge.api_keys` of the valid key the request carries.
    pub site_key: Option<usize>,
}

/// The client address of `req`, from its connection's peer (axum's
/// `ConnectInfo`) and, behind `trusted` proxies, their headers. The front
/// resolves it once per request (through [`Client`] where an edge is).
pub fn of_request(req: &Request, trusted: &[IpNet]) -> IpAddr {
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
/// From a trusted one:
///
/// 1. `X-Real-IP`, when it is an address that is not itself a trusted proxy.
///    A proxy sets this header by overwriting it with the address it sees
///    (nginx `proxy_set_header X-Real-IP $remote_addr`, Traefik), so the client
///    behind the proxy cannot choose it — whereas a proxy that sets only
///    `X-Real-IP` passes the client's own `X-Forwarded-For` on untouched, and
///    an appending proxy keeps the client's entries in front of its own.
/// 2. Otherwise `X-Forwarded-For`, read right to left: the first address that
///    is not itself a trusted proxy is the client; when every entry is a
///    trusted proxy, the left-most one is. An entry that is not an address
///    stops the walk: nothing left of it can be believed, so the last trusted
///    hop is used.
/// 3. Neither (or only a trusted `X-Real-IP`): that address, else the peer.
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
    let real_ip = real_ip.and_then(|v| parse_addr(v.trim()));
    if let Some(ip) = real_ip
        && !is_trusted(ip)
    {
        return ip;
    }
    let hops: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if hops.is_empty() {
        return real_ip.unwrap_or(peer);
    }
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
    last
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
pub(crate) fn parse_addr(s: &str) -> Option<IpAddr> {
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
        // A trusted X-Real-IP (a proxy's own address): X-Forwarded-For then.
        assert_eq!(
            client_ip(proxy, &["198.51.100.9"], Some("10.0.0.3"), &trusted),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(proxy, &[], Some("10.0.0.3"), &trusted),
            ip("10.0.0.3"),
            "every hop trusted: the left-most one, as for X-Forwarded-For"
        );
        // Neither header: the proxy itself.
        assert_eq!(client_ip(proxy, &[], None, &trusted), proxy);
        // Garbage from the proxy: the proxy.
        assert_eq!(client_ip(proxy, &["not-an-ip"], None, &trusted), proxy);
        assert_eq!(client_ip(proxy, &[], Some("nope"), &trusted), proxy);
    }

    #[test]
    fn with_both_headers_the_one_the_proxy_overwrites_wins() {
        let trusted = nets(&["10.0.0.0/8"]);
        let proxy = ip("10.0.0.2");
        // nginx `proxy_set_header X-Real-IP $remote_addr;` alone passes the
        // client's own X-Forwarded-For on untouched: it must not win.
        assert_eq!(
            client_ip(proxy, &["6.6.6.6"], Some("198.51.100.9"), &trusted),
            ip("198.51.100.9")
        );
        // `$proxy_add_x_forwarded_for` appends to the client's list.
        assert_eq!(
            client_ip(
                proxy,
                &["6.6.6.6, 10.9.9.9, 198.51.100.9"],
                Some("198.51.100.9"),
                &trusted
            ),
            ip("198.51.100.9")
        );
        // A forged X-Forwarded-For naming a trusted address changes nothing.
        assert_eq!(
            client_ip(proxy, &["10.0.0.7"], Some("198.51.100.9"), &trusted),
            ip("198.51.100.9")
        );
        // An X-Real-IP that is not an address: X-Forwarded-For.
        assert_eq!(
            client_ip(proxy, &["198.51.100.9"], Some("junk"), &trusted),
            ip("198.51.100.9")
        );
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
    fn ipv6_clients_are_keyed_by_their_network_ipv4_ones_by_address() {
        let key = |s: &str, prefix: u8| ClientKey::new(ip(s), prefix).0;
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), ip("2001:db8:1:2::"));
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff", 64),
            ip("2001:db8:1:2::")
        );
        assert_ne!(key("2001:db8:1:3::1", 64), key("2001:db8:1:2::1", 64));
        assert_eq!(key("2001:db8:1:2:aaaa::1", 48), ip("2001:db8:1::"));
        assert_eq!(key("2001:db8::7", 128), ip("2001:db8::7"));
        assert_eq!(key("2001:db8:1:2:aaaa::1", 56), ip("2001:db8:1::"));
        assert_eq!(key("198.51.100.7", 64), ip("198.51.100.7"));
        assert_eq!(key("::ffff:198.51.100.7", 64), ip("198.51.100.7"));
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        assert_eq!(
            ClientKey::new(ip("2001:db8:1:2::9"), 64).network(64),
            net("2001:db8:1:2::/64")
        );
        assert_eq!(
            ClientKey::new(ip("198.51.100.7"), 64).network(64),
            net("198.51.100.7/32")
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

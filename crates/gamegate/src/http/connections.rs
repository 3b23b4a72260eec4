//! Caps on open client connections: a total per listener budget and a
//! share per client address, checked as each connection is accepted. A
//! connection over a cap is closed at once, counted in
//! `gamegate_connections_refused_total`, and summed up in one log line per
//! [`REFUSAL_LOG_EVERY`] rather than one per connection (a flood would
//! otherwise flood the log too).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::app::metrics::{ListenerLabels, Metrics, RefusedLabels};
use crate::http::edge::client_ip::ClientKey;

/// Refusals are logged at most this often, as one line with their counts.
pub const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// An IPv6 client owns at least a /64, so by default its connections count
/// together.
const DEFAULT_IPV6_PREFIX: u8 = 64;

/// The connection budget of one or more listeners (the API listener and the
/// HTTP→HTTPS redirect share one; the admin listener has its own).
pub struct Gate {
    total: usize,
    per_ip: u32,
    /// Trusted proxies: every client behind them shares their address, so
    /// they count only toward the total.
    exempt: Arc<Vec<IpNet>>,
    metrics: Arc<Metrics>,
    /// IPv6 clients are counted by this network prefix (an IPv4 client by
    /// its address).
    ipv6_prefix: u8,
    open: Mutex<Open>,
    refusals: Mutex<Refusals>,
}

#[derive(Default)]
struct Open {
    total: usize,
    /// Open connections per client key; an entry goes with its last connection.
    by_client: HashMap<IpAddr, u32>,
}

#[derive(Default)]
struct Refusals {
    last_logged: Option<Instant>,
    per_ip: u64,
    total: u64,
    descriptors: u64,
}

/// Why a connection was not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The client address is at `http.max_connections_per_ip`.
    PerIp,
    /// The listener is at its total.
    Total,
    /// `accept` failed for want of descriptors.
    Descriptors,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::PerIp => "per_ip",
            Refusal::Total => "total",
            Refusal::Descriptors => "descriptors",
        }
    }
}

/// An admitted connection's place in the budget, given back when dropped.
pub struct Admitted {
    gate: Arc<Gate>,
    listener: &'static str,
    client: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        {
            let mut open = self
                .gate
                .open
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            open.total = open.total.saturating_sub(1);
            if let Some(client) = self.client
                && let Some(n) = open.by_client.get_mut(&client)
            {
                *n -= 1;
                if *n == 0 {
                    open.by_client.remove(&client);
                }
            }
        }
        self.gate
            .metrics
            .connections_open
            .get_or_create(&ListenerLabels {
                listener: self.listener,
            })
            .dec();
    }
}

impl Gate {
    /// A budget of `total` connections, `per_ip` of them per client key.
    pub fn new(total: u32, per_ip: u32, exempt: Arc<Vec<IpNet>>, metrics: Arc<Metrics>) -> Self {
        Self {
            total: total as usize,
            per_ip,
            exempt,
            metrics,
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
            open: Mutex::new(Open::default()),
            refusals: Mutex::new(Refusals::default()),
        }
    }

    /// Counts an IPv6 client's connections by its `/prefix` network
    /// (`edge.ipv6_prefix`, the same key the limits and the jail use).
    pub fn with_ipv6_prefix(mut self, prefix: u8) -> Self {
        self.ipv6_prefix = prefix;
        self
    }

    /// Takes a place for a connection from `peer` on `listener`, or counts
    /// and (at most once per interval) logs the refusal.
    pub fn admit(self: &Arc<Self>, listener: &'static str, peer: IpAddr) -> Option<Admitted> {
        let peer = peer.to_canonical();
        let client = (!self.exempt.iter().any(|net| net.contains(&peer)))
            .then(|| ClientKey::new(peer, self.ipv6_prefix).0);
        let refusal = {
            let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
            let of_client = client.map_or(0, |c| open.by_client.get(&c).copied().unwrap_or(0));
            if of_client >= self.per_ip {
                Some(Refusal::PerIp)
            } else if open.total >= self.total {
                Some(Refusal::Total)
            } else {
                open.total += 1;
                if let Some(c) = client {
                    *open.by_client.entry(c).or_insert(0) += 1;
                }
                None
            }
        };
        if let Some(refusal) = refusal {
            self.refused(listener, refusal);
            return None;
        }
        self.metrics
            .connections_open
            .get_or_create(&ListenerLabels { listener })
            .inc();
        Some(Admitted {
            gate: self.clone(),
            listener,
            client,
        })
    }

    /// Counts a refused connection; logs the refusals of the last interval
    /// when the previous line is older than [`REFUSAL_LOG_EVERY`].
    pub fn refused(&self, listener: &'static str, refusal: Refusal) {
        self.metrics
            .connections_refused
            .get_or_create(&RefusedLabels {
                listener,
                reason: refusal.label(),
            })
            .inc();
        let mut log = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
        match refusal {
            Refusal::PerIp => log.per_ip += 1,
            Refusal::Total => log.total += 1,
            Refusal::Descriptors => log.descriptors += 1,
        }
        let now = Instant::now();
        if log
            .last_logged
            .is_none_or(|t| now.duration_since(t) >= REFUSAL_LOG_EVERY)
        {
            tracing::warn!(
                listener,
                per_ip = log.per_ip,
                total = log.total,
                descriptors = log.descriptors,
                max_connections = self.total,
                max_connections_per_ip = self.per_ip,
                "client connections refused (counts since the last such line, at most one per {} s)",
                REFUSAL_LOG_EVERY.as_secs()
            );
            *log = Refusals {
                last_logged: Some(now),
                ..Refusals::default()
            };
        }
    }

    /// The total this gate admits.
    pub fn total(&self) -> usize {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(total: u32, per_ip: u32, exempt: &[&str]) -> Arc<Gate> {
        Arc::new(Gate::new(
            total,
            per_ip,
            Arc::new(exempt.iter().map(|s| s.parse().unwrap()).collect()),
            Arc::new(Metrics::new()),
        ))
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_gets_its_share_and_the_others_theirs() {
        let g = gate(10, 3, &[]);
        let held: Vec<_> = (0..3)
            .map(|_| g.admit("public", ip("198.51.100.1")).unwrap())
            .collect();
        assert!(g.admit("public", ip("198.51.100.1")).is_none());
        assert!(g.admit("public", ip("198.51.100.2")).is_some());
        drop(held);
        assert!(g.admit("public", ip("198.51.100.1")).is_some());
        let text = g.metrics.render();
        assert!(
            text.contains(
                "gamegate_connections_refused_total{listener=\"public\",reason=\"per_ip\"} 1"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_total_holds_across_addresses_and_frees_on_close() {
        let g = gate(2, 5, &[]);
        let a = g.admit("public", ip("192.0.2.1")).unwrap();
        let _b = g.admit("public", ip("192.0.2.2")).unwrap();
        assert!(g.admit("public", ip("192.0.2.3")).is_none());
        drop(a);
        assert!(g.admit("public", ip("192.0.2.3")).is_some());
    }

    #[test]
    fn an_ipv6_client_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let g = gate(10, 2, &[]);
        let _a = g.admit("public", ip("2001:db8:1:2::1")).unwrap();
        let _b = g.admit("public", ip("2001:db8:1:2:ffff::9")).unwrap();
        assert!(g.admit("public", ip("2001:db8:1:2::77")).is_none());
        assert!(g.admit("public", ip("2001:db8:1:3::1")).is_some());
        let _c = g.admit("public", ip("::ffff:192.0.2.9")).unwrap();
        let _d = g.admit("public", ip("192.0.2.9")).unwrap();
        assert!(g.admit("public", ip("192.0.2.9")).is_none());
    }

    #[test]
    fn a_trusted_proxy_counts_only_toward_the_total() {
        let g = gate(4, 1, &["10.0.0.0/8"]);
        let held: Vec<_> = (0..4)
            .map(|_| g.admit("public", ip("10.1.2.3")).unwrap())
            .collect();
        assert!(g.admit("public", ip("10.1.2.3")).is_none(), "total reached");
        drop(held);
    }
}

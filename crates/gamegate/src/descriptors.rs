//! The process's file-descriptor budget: raised at start as nginx's
//! `worker_rlimit_nofile` does, and split between client connections and
//! what the process needs for itself (database pools, the game-server
//! client, log files), so a flood of connections can never leave the
//! database without a descriptor.

/// What the descriptor limit is, after [`raise_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorLimit {
    /// The soft `RLIMIT_NOFILE` now in force (descriptors).
    pub soft: u64,
    /// The soft limit before it was raised, when it was.
    pub raised_from: Option<u64>,
}

/// Used where the limit cannot be read (not Unix): the usual default.
#[cfg(not(unix))]
const FALLBACK_LIMIT: u64 = 1_024;

/// An unlimited hard limit is not taken literally: this many at most.
const UNLIMITED_CAP: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (an unprivileged
/// process may) and returns the limit in force. A refusal is logged and the
/// current limit kept.
#[cfg(unix)]
pub fn raise_limit() -> DescriptorLimit {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let soft = now.current.unwrap_or(UNLIMITED_CAP);
    let hard = now.maximum.unwrap_or(UNLIMITED_CAP);
    if hard <= soft {
        return DescriptorLimit {
            soft,
            raised_from: None,
        };
    }
    let raised = Rlimit {
        current: Some(hard),
        maximum: now.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => DescriptorLimit {
            soft: hard,
            raised_from: Some(soft),
        },
        Err(e) => {
            tracing::warn!(soft, hard, error = %e, "cannot raise the descriptor limit");
            DescriptorLimit {
                soft,
                raised_from: None,
            }
        }
    }
}

/// Not Unix: nothing to raise; the usual default is assumed.
#[cfg(not(unix))]
pub fn raise_limit() -> DescriptorLimit {
    DescriptorLimit {
        soft: FALLBACK_LIMIT,
        raised_from: None,
    }
}

/// How many client connections the listeners may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionBudget {
    /// Total on the public listeners (API and redirect together).
    pub public: u32,
    /// Total on the admin listener.
    pub admin: u32,
    /// Per client address, on each listener.
    pub per_ip: u32,
}

/// The split of `limit` descriptors: `reserved` for the process itself,
/// `admin` for the admin listener, the rest (or `configured`, when set and
/// smaller) for the public listeners. At least one connection each, so a
/// process with a tiny limit still answers (and says why it is slow).
pub fn budget(
    limit: u64,
    reserved: u64,
    configured: u32,
    admin: u32,
    per_ip: u32,
) -> ConnectionBudget {
    let available = limit.saturating_sub(reserved);
    let admin = u64::from(admin).min(available / 4).max(1);
    let public_room = available.saturating_sub(admin).max(1);
    let public = match configured {
        0 => public_room,
        n => u64::from(n).min(public_room),
    };
    let to_u32 = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
    ConnectionBudget {
        public: to_u32(public),
        admin: to_u32(admin),
        per_ip: per_ip.min(to_u32(public)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1024_descriptor_process_keeps_its_reserve() {
        let b = budget(1_024, 140, 0, 32, 64);
        assert_eq!(b.admin, 32);
        assert_eq!(b.public, 1_024 - 140 - 32);
        assert_eq!(b.per_ip, 64);
    }

    #[test]
    fn a_configured_total_is_lowered_to_what_the_descriptors_allow() {
        assert_eq!(budget(1_024, 140, 10_000, 32, 64).public, 852);
        assert_eq!(budget(65_536, 140, 10_000, 32, 64).public, 10_000);
    }

    #[test]
    fn a_tiny_limit_still_admits_one_connection_per_listener() {
        let b = budget(100, 140, 0, 32, 64);
        assert_eq!((b.public, b.admin, b.per_ip), (1, 1, 1));
    }

    #[cfg(unix)]
    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let limit = raise_limit();
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(Some(limit.soft), now.current.or(Some(UNLIMITED_CAP)));
    }
}

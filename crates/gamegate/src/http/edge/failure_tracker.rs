//! The jail's failure tracker: per client, the times of its recent counted
//! failures, in bounded memory, with an eviction that stays `O(1)` per
//! failure and cannot be steered into forgetting a real offender cheaply.
//!
//! # Structure
//!
//! * A hash map from the client key to its slot: the times (Unix seconds) of
//!   its failures within the window — at most `threshold` of them — and its
//!   place in the eviction order.
//! * The eviction order as the *stream-summary* lists of space-saving: a
//!   list of buckets of equal *weight*, lowest first, each holding its
//!   entries oldest first. A failure moves an entry to the next bucket up,
//!   and eviction takes the first entry of the lowest bucket: both `O(1)`,
//!   so a failure costs one hash lookup and a few index updates.
//!
//! A failure of a tracked client raises its weight by one. A failure of a new
//! client when the tracker is full evicts the lowest entry and gives the
//! newcomer that entry's weight plus one: the *space-saving* heavy-hitter
//! scheme (Metwally, Agrawal, El Abbadi, 2005). The inherited weight is only
//! a place in the eviction order — it is never counted as failures, so it
//! cannot get anybody banned.
//!
//! Why not "evict the newcomer" or "evict the least recent": an attacker who
//! forges many addresses (through a trusted proxy, or across many IPv6
//! networks) with two or more failures each would make every real newcomer,
//! at one failure, the cheapest entry to drop — a flood that blinds the jail
//! to exactly the clients it is for. With inheritance a newcomer starts above
//! the lowest entry, and the lowest weight is bounded (below).
//!
//! # Guarantee
//!
//! * Never early: a client is banned only after `threshold` of its own
//!   failures within the window, full tracker or not.
//! * Not full: a client is banned at exactly its `threshold`-th failure within
//!   the window (nothing is evicted; idle entries are pruned in the
//!   background).
//! * Full: a client is dropped only while its weight is the lowest in the
//!   tracker, and its weight is at least its own failures since it entered.
//!   Every failure adds exactly one to the sum of the weights (bans and
//!   pruning only remove entries), so the lowest weight is at most
//!   `F / capacity`, where `F` is the number of failures recorded since the
//!   tracker was last empty: a client with more failures than that since it
//!   entered is never dropped. To keep a real offender from its ban, forged
//!   failures must outnumber its own by the capacity factor (50,000 with the
//!   default threshold): about a million forged failures per 20 real ones,
//!   each forged address itself banned at its own 20th. What an evicted
//!   client loses is its window — at most `threshold - 1` failures — never a
//!   ban it had earned.
//!
//! Memory: at most `capacity` entries of at most `threshold` timestamps.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;

/// No slot or bucket.
const NIL: u32 = u32::MAX;

/// One tracked client.
#[derive(Debug)]
struct Slot<K> {
    key: K,
    /// Its failures within the window, oldest first; at most `threshold`.
    times: VecDeque<i64>,
    /// The bucket of its weight, and its neighbours there (older, newer).
    bucket: u32,
    older: u32,
    newer: u32,
}

/// The entries of one weight, oldest arrival first.
#[derive(Debug)]
struct Bucket {
    /// The weight of its entries: the weight an entry inherited when it took
    /// a full tracker's lowest slot, plus its failures since.
    weight: u64,
    oldest: u32,
    newest: u32,
    /// The buckets of the next lower and higher weights.
    lower: u32,
    higher: u32,
}

/// Counted failures per client key (an address, or whatever the jail keys
/// clients by) within a sliding window; see the module documentation for the
/// eviction and its guarantee.
#[derive(Debug)]
pub struct FailureWindows<K = IpAddr> {
    threshold: usize,
    window_secs: i64,
    capacity: usize,
    index: HashMap<K, u32>,
    slots: Vec<Slot<K>>,
    free_slots: Vec<u32>,
    buckets: Vec<Bucket>,
    free_buckets: Vec<u32>,
    /// The bucket of the lowest weight, [`NIL`] when nothing is tracked.
    lowest: u32,
    /// Entries evicted to make room, since [`Self::take_evicted`].
    evicted: u64,
}

impl<K: Hash + Eq + Copy> FailureWindows<K> {
    /// `threshold` failures within `window_secs` ban; as many clients are
    /// tracked as the jail's timestamp budget allows for `threshold`
    /// (50,000 at 20, at least 1,024).
    pub fn new(threshold: u32, window_secs: u64) -> Self {
        let threshold = (threshold as usize).max(1);
        Self::with_capacity(
            threshold,
            window_secs,
            super::jail::tracker_capacity(threshold),
        )
    }

    /// `threshold` failures within `window_secs` ban; at most `capacity`
    /// clients are tracked at once (both at least 1).
    pub fn with_capacity(threshold: usize, window_secs: u64, capacity: usize) -> Self {
        let capacity = capacity.clamp(1, NIL as usize - 1);
        Self {
            threshold: threshold.max(1),
            window_secs: i64::try_from(window_secs).unwrap_or(i64::MAX),
            capacity,
            index: HashMap::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            buckets: Vec::new(),
            free_buckets: Vec::new(),
            lowest: NIL,
            evicted: 0,
        }
    }

    /// Counts one failure of `key` at `now` (Unix seconds). `true` when that
    /// makes `threshold` failures within the window: the client is to be
    /// banned, and its count starts again from zero. `O(1)`.
    pub fn record(&mut self, key: K, now: i64) -> bool {
        let slot = match self.index.get(&key) {
            Some(&slot) => {
                // One up: from its bucket to the next weight.
                let (weight, below) = self.unlink(slot);
                self.place(slot, weight + 1, below);
                slot
            }
            None => {
                let (slot, weight) = match self.index.len() >= self.capacity {
                    true => self.evict_lowest(),
                    false => (self.new_slot(key), 0),
                };
                self.slots[slot as usize].key = key;
                self.index.insert(key, slot);
                // Lowest or not, the new weight is just above every weight
                // below it: start the search from the bottom.
                self.place(slot, weight + 1, NIL);
                slot
            }
        };
        let times = &mut self.slots[slot as usize].times;
        let oldest_counted = now.saturating_sub(self.window_secs);
        while times.front().is_some_and(|&t| t <= oldest_counted) {
            times.pop_front();
        }
        times.push_back(now);
        if times.len() >= self.threshold {
            self.remove(slot);
            return true;
        }
        false
    }

    /// Forgets clients whose latest failure has left the window. `O(n)`: run
    /// by the jail's background task, never per failure.
    pub fn prune_idle(&mut self, now: i64) {
        let oldest_counted = now.saturating_sub(self.window_secs);
        let idle: Vec<u32> = self
            .index
            .values()
            .copied()
            .filter(|&slot| {
                let times = &self.slots[slot as usize].times;
                times.back().is_none_or(|&t| t <= oldest_counted)
            })
            .collect();
        for slot in idle {
            self.remove(slot);
        }
    }

    /// Clients tracked now.
    pub fn tracked(&self) -> usize {
        self.index.len()
    }

    /// The most clients tracked at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Clients evicted to make room since the last call.
    pub fn take_evicted(&mut self) -> u64 {
        std::mem::take(&mut self.evicted)
    }

    /// A slot for a new entry, out of its bucket list, with no failures.
    fn new_slot(&mut self, key: K) -> u32 {
        match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    key,
                    times: VecDeque::with_capacity(self.threshold.min(4)),
                    bucket: NIL,
                    older: NIL,
                    newer: NIL,
                });
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Takes the oldest entry of the lowest weight out: its slot (cleared,
    /// for the newcomer) and its weight.
    fn evict_lowest(&mut self) -> (u32, u64) {
        let slot = self.buckets[self.lowest as usize].oldest;
        let (weight, _) = self.unlink(slot);
        let entry = &mut self.slots[slot as usize];
        entry.times.clear();
        let key = entry.key;
        self.index.remove(&key);
        self.evicted += 1;
        (slot, weight)
    }

    /// Drops an entry (banned, or idle) altogether.
    fn remove(&mut self, slot: u32) {
        self.unlink(slot);
        let entry = &mut self.slots[slot as usize];
        entry.times.clear();
        let key = entry.key;
        self.index.remove(&key);
        self.free_slots.push(slot);
    }

    /// Takes `slot` out of its bucket (dropping the bucket if that empties
    /// it). Returns the weight it had and the bucket below that weight's
    /// place — the bucket itself when it stays, else its lower neighbour.
    fn unlink(&mut self, slot: u32) -> (u64, u32) {
        let Slot {
            bucket,
            older,
            newer,
            ..
        } = self.slots[slot as usize];
        match older {
            NIL => self.buckets[bucket as usize].oldest = newer,
            o => self.slots[o as usize].newer = newer,
        }
        match newer {
            NIL => self.buckets[bucket as usize].newest = older,
            n => self.slots[n as usize].older = older,
        }
        let entry = &mut self.slots[slot as usize];
        (entry.bucket, entry.older, entry.newer) = (NIL, NIL, NIL);
        let b = &self.buckets[bucket as usize];
        let (weight, lower, higher) = (b.weight, b.lower, b.higher);
        if b.oldest != NIL {
            return (weight, bucket);
        }
        match lower {
            NIL => self.lowest = higher,
            l => self.buckets[l as usize].higher = higher,
        }
        if higher != NIL {
            self.buckets[higher as usize].lower = lower;
        }
        self.free_buckets.push(bucket);
        (weight, lower)
    }

    /// Appends `slot` as the newest entry of `weight`, whose bucket is the
    /// one just above `below` ([`NIL`]: the lowest) or is created there.
    /// `below` must be a bucket of a lower weight with no bucket between it
    /// and `weight`'s place other than, possibly, `weight`'s own.
    fn place(&mut self, slot: u32, weight: u64, below: u32) {
        let mut above = match below {
            NIL => self.lowest,
            b => self.buckets[b as usize].higher,
        };
        // From the bottom, a newcomer's weight may be above a few buckets
        // (at most the lowest one, when the tracker is full: see `record`).
        let mut below = below;
        while above != NIL && self.buckets[above as usize].weight < weight {
            below = above;
            above = self.buckets[above as usize].higher;
        }
        let bucket = match above {
            a if a != NIL && self.buckets[a as usize].weight == weight => a,
            _ => {
                let fresh = Bucket {
                    weight,
                    oldest: NIL,
                    newest: NIL,
                    lower: below,
                    higher: above,
                };
                let b = match self.free_buckets.pop() {
                    Some(b) => {
                        self.buckets[b as usize] = fresh;
                        b
                    }
                    None => {
                        self.buckets.push(fresh);
                        (self.buckets.len() - 1) as u32
                    }
                };
                match below {
                    NIL => self.lowest = b,
                    l => self.buckets[l as usize].higher = b,
                }
                if above != NIL {
                    self.buckets[above as usize].lower = b;
                }
                b
            }
        };
        let previous_newest = self.buckets[bucket as usize].newest;
        match previous_newest {
            NIL => self.buckets[bucket as usize].oldest = slot,
            p => self.slots[p as usize].newer = slot,
        }
        self.buckets[bucket as usize].newest = slot;
        let entry = &mut self.slots[slot as usize];
        (entry.bucket, entry.older, entry.newer) = (bucket, previous_newest, NIL);
    }

    /// The failures of `key` within the window as of its last failure.
    #[cfg(test)]
    fn failures_of(&self, key: K) -> usize {
        self.index
            .get(&key)
            .map_or(0, |&s| self.slots[s as usize].times.len())
    }

    /// The weight of `key`'s entry.
    #[cfg(test)]
    fn weight_of(&self, key: K) -> Option<u64> {
        let slot = *self.index.get(&key)?;
        Some(self.buckets[self.slots[slot as usize].bucket as usize].weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// A forged address per `i` (distinct for every `i < 2^32`).
    fn forged(i: u32) -> IpAddr {
        IpAddr::from(i.wrapping_add(0x0a00_0000).to_be_bytes())
    }

    /// The tracker's own invariants: the buckets ascend by weight, every
    /// indexed entry is in exactly one bucket, linked both ways, and no more
    /// than `capacity` are held.
    fn assert_consistent<K: Hash + Eq + Copy + std::fmt::Debug>(w: &FailureWindows<K>) {
        assert!(w.index.len() <= w.capacity);
        let (mut listed, mut bucket, mut lower, mut last_weight) = (0, w.lowest, NIL, 0);
        while bucket != NIL {
            let b = &w.buckets[bucket as usize];
            assert!(b.weight > last_weight, "weights ascend");
            assert_eq!(b.lower, lower);
            assert_ne!(b.oldest, NIL, "no empty bucket is kept");
            let (mut slot, mut older) = (b.oldest, NIL);
            while slot != NIL {
                let s = &w.slots[slot as usize];
                assert_eq!((s.bucket, s.older), (bucket, older));
                assert_eq!(w.index[&s.key], slot, "{:?}", s.key);
                assert!(s.times.len() < w.threshold);
                listed += 1;
                (older, slot) = (slot, s.newer);
            }
            assert_eq!(b.newest, older);
            (lower, last_weight, bucket) = (bucket, b.weight, b.higher);
        }
        assert_eq!(listed, w.index.len());
    }

    #[test]
    fn the_threshold_within_the_window_bans_and_starts_the_count_again() {
        let mut w = FailureWindows::with_capacity(3, 60, 10);
        let a = ip("198.51.100.1");
        assert!(!w.record(a, 1_000));
        assert!(!w.record(a, 1_000), "the same second counts twice");
        assert!(w.record(a, 1_059), "third failure within 60 s");
        assert_eq!(w.tracked(), 0, "a banned client's count is dropped");
        assert!(!w.record(a, 1_060), "counting starts again");
        assert_consistent(&w);
    }

    #[test]
    fn failures_that_left_the_window_do_not_count() {
        let mut w = FailureWindows::with_capacity(3, 60, 10);
        let a = ip("2001:db8::1");
        assert!(!w.record(a, 1_000));
        assert!(!w.record(a, 1_030));
        // 1_000 is exactly 60 s old at 1_060: out of the window.
        assert!(!w.record(a, 1_060));
        assert!(w.record(a, 1_061), "1_030, 1_060, 1_061");
    }

    #[test]
    fn each_client_has_its_own_window() {
        let mut w = FailureWindows::with_capacity(2, 60, 10);
        let (a, b) = (ip("198.51.100.1"), ip("198.51.100.2"));
        assert!(!w.record(a, 0));
        assert!(!w.record(b, 0));
        assert_eq!(w.tracked(), 2);
        assert!(w.record(b, 1));
        assert!(w.record(a, 1));
        assert_consistent(&w);
    }

    #[test]
    fn idle_clients_are_pruned_in_the_background() {
        let mut w = FailureWindows::with_capacity(3, 60, 10);
        let (a, b) = (ip("192.0.2.1"), ip("192.0.2.2"));
        w.record(a, 0);
        w.record(b, 30);
        w.prune_idle(60);
        assert_eq!(w.tracked(), 1, "a left the window at 60");
        w.prune_idle(91);
        assert_eq!(w.tracked(), 0);
        assert_consistent(&w);
        assert_eq!(w.take_evicted(), 0, "pruning is not eviction");
    }

    #[test]
    fn when_full_the_lowest_weight_goes_and_the_newcomer_inherits_it_as_rank_only() {
        let mut w = FailureWindows::with_capacity(5, 300, 3);
        let (a, b, c, d) = (
            ip("192.0.2.1"),
            ip("192.0.2.2"),
            ip("192.0.2.3"),
            ip("192.0.2.4"),
        );
        // a: 3 failures, b: 2, c: 1 (weights 3, 2, 1).
        for (key, n) in [(a, 3), (b, 2), (c, 1)] {
            for _ in 0..n {
                assert!(!w.record(key, 10));
            }
        }
        // d evicts c (the lowest) and ranks at 2, level with b; b got there
        // first, so b is the next to go.
        assert!(!w.record(d, 11));
        assert_eq!(w.take_evicted(), 1);
        assert_eq!(w.failures_of(c), 0);
        assert_eq!(w.failures_of(d), 1, "the inherited weight is no failure");
        assert_eq!(w.weight_of(d), Some(2));
        assert!(!w.record(c, 12));
        assert_eq!(w.failures_of(b), 0, "b was the least recent of weight 2");
        assert_eq!(w.failures_of(d), 1);
        // d still needs four more of its own failures: never banned early.
        for _ in 0..3 {
            assert!(!w.record(d, 13));
        }
        assert!(w.record(d, 13), "its 5th own failure");
        assert_consistent(&w);
    }

    /// The default sizing of the jail: 1,000,000 timestamps / threshold.
    fn jail_sized(threshold: usize) -> FailureWindows {
        FailureWindows::new(threshold as u32, 300)
    }

    /// Fills the tracker with `addresses` forged clients, each failing
    /// `1 + i % max_each` times (capped below the threshold), at `now`.
    fn forge(w: &mut FailureWindows, from: u32, addresses: u32, max_each: u32, now: i64) {
        let cap = (w.threshold as u32).saturating_sub(1).max(1);
        for i in from..from + addresses {
            for _ in 0..(1 + i % max_each).min(cap) {
                assert!(
                    !w.record(forged(i), now),
                    "a forged client below the threshold"
                );
            }
        }
    }

    /// An attacker with 100,000 forged addresses of one to three failures
    /// each, interleaving more forged failures (two each, so a newcomer at
    /// one failure would be the cheapest to drop) between the offender's:
    /// the offender is banned at exactly its `threshold`-th failure.
    fn newcomer_is_banned_at_its_threshold_despite_forgeries(threshold: usize) {
        let mut w = jail_sized(threshold);
        let now = 1_000;
        forge(&mut w, 0, 100_000, 3, now);
        if w.capacity() < 100_000 {
            assert_eq!(w.tracked(), w.capacity(), "the tracker is full");
            assert!(w.take_evicted() > 0);
        }
        let offender = ip("203.0.113.50");
        let mut next = 100_000;
        for n in 1..=threshold {
            let banned = w.record(offender, now + 1);
            assert_eq!(
                banned,
                n == threshold,
                "threshold {threshold}: failure {n} of the offender"
            );
            // 1,000 more forged addresses, two failures each, in between.
            forge(&mut w, next, 1_000, 2, now + 1);
            next += 1_000;
            for i in next - 1_000..next {
                w.record(forged(i), now + 1);
            }
        }
        assert_consistent(&w);
    }

    #[test]
    fn with_100_000_forged_addresses_a_new_offender_is_banned_at_its_20th_failure() {
        newcomer_is_banned_at_its_threshold_despite_forgeries(20);
    }

    #[test]
    fn with_100_000_forged_addresses_other_thresholds_hold_too() {
        newcomer_is_banned_at_its_threshold_despite_forgeries(3);
        newcomer_is_banned_at_its_threshold_despite_forgeries(50);
    }

    #[test]
    fn forged_addresses_at_the_brink_cannot_get_a_newcomer_banned_early() {
        // Every forged address one failure short of a ban: the newcomer
        // inherits a high rank, but its own failures are what count.
        let mut w = jail_sized(20);
        forge(&mut w, 0, 60_000, 19, 1_000);
        let newcomer = ip("2001:db8::99");
        for n in 1..20 {
            assert!(!w.record(newcomer, 1_001), "failure {n}");
        }
        assert!(w.record(newcomer, 1_001));
    }

    #[test]
    fn ten_thousand_failures_in_a_full_tracker_take_under_100_ms() {
        let mut w = jail_sized(20);
        forge(&mut w, 0, 100_000, 3, 1_000);
        // The fastest of five rounds: a shared, busy test machine may stall
        // any one of them, not all.
        let took = (0..5u32)
            .map(|round| {
                let started = std::time::Instant::now();
                for i in 0..10_000u32 {
                    // Half new addresses (an eviction each), half repeat offenders.
                    let key = match i % 2 {
                        0 => forged(200_000 + round * 10_000 + i),
                        _ => forged(i % 64 + 300_000),
                    };
                    std::hint::black_box(w.record(key, 1_001));
                }
                started.elapsed()
            })
            .min()
            .unwrap();
        assert!(
            took < std::time::Duration::from_millis(100),
            "10,000 failures took {took:?}"
        );
        assert_consistent(&w);
    }

    #[test]
    fn the_jail_sizes_the_tracker_by_its_timestamp_budget() {
        let sized = |threshold| FailureWindows::<IpAddr>::new(threshold, 300).capacity();
        assert_eq!(sized(20), 50_000);
        assert_eq!(sized(1), 1_000_000);
        assert_eq!(
            sized(crate::config::MAX_BAN_THRESHOLD),
            1_024,
            "a high threshold still tracks a useful number of clients"
        );
    }

    #[test]
    fn the_key_is_generic() {
        // The jail may key clients by network rather than address.
        let mut w: FailureWindows<(u64, u8)> = FailureWindows::with_capacity(2, 60, 1);
        assert!(!w.record((0x2001_0db8_0000_0001, 64), 0));
        assert!(!w.record((0x2001_0db8_0000_0002, 64), 0));
        assert_eq!(w.tracked(), 1);
        assert!(w.record((0x2001_0db8_0000_0002, 64), 1));
    }
}

//! The ids of recently accepted events, so that a sender retrying with the same
//! `Idempotency-Key` does not cause a second delivery (in-memory store).
//!
//! A window of [`REMEMBERED_IDS`] ids is kept as 128-bit keyed hashes rather than as
//! strings: an id string costs about 70 bytes twice over (the set and the eviction
//! order), a hash 16. The hash is SipHash under two random keys drawn at start, so a
//! sender cannot craft two ids that collide; by chance, two of a window of 100,000 ids
//! collide with odds of about 10^-29.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};

use rustc_hash::FxHashSet as HashSet;

/// How many recent event ids are remembered for deduplication.
pub const REMEMBERED_IDS: usize = 100_000;

/// A bounded window of recently accepted event ids.
pub struct RecentIds {
    keys: (RandomState, RandomState),
    /// Already well mixed, so the set's own hasher need not be strong.
    seen: HashSet<u128>,
    order: VecDeque<u128>,
}

impl Default for RecentIds {
    /// Sized for the whole window at once: grown by doubling, the set and the queue
    /// each held their old and new tables together at every step (a few MB at the
    /// peak under load). Reserved pages that are not written yet cost no memory.
    fn default() -> Self {
        RecentIds {
            keys: (RandomState::new(), RandomState::new()),
            seen: HashSet::with_capacity_and_hasher(REMEMBERED_IDS + 1, Default::default()),
            order: VecDeque::with_capacity(REMEMBERED_IDS + 1),
        }
    }
}

impl RecentIds {
    fn key(&self, id: &str) -> u128 {
        (u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id))
    }

    /// Whether `id` was accepted within the window.
    pub fn contains(&self, id: &str) -> bool {
        self.seen.contains(&self.key(id))
    }

    /// Remembers `id`, forgetting the oldest past the window.
    pub fn remember(&mut self, id: &str) {
        let key = self.key(id);
        if self.seen.insert(key) {
            self.order.push_back(key);
            if self.order.len() > REMEMBERED_IDS
                && let Some(old) = self.order.pop_front()
            {
                self.seen.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_bounded_window() {
        let mut recent = RecentIds::default();
        recent.remember("a");
        assert!(recent.contains("a"));
        assert!(!recent.contains("b"));
        for n in 0..REMEMBERED_IDS {
            recent.remember(&n.to_string());
        }
        assert!(!recent.contains("a"), "the oldest id leaves the window");
        assert!(recent.contains("1") && recent.contains(&(REMEMBERED_IDS - 1).to_string()));
        assert_eq!(recent.seen.len(), REMEMBERED_IDS);
    }
}

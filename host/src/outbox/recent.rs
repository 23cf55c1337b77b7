//! The ids of recently accepted events, so that a sender retrying with the same
//! `Idempotency-Key` does not cause a second delivery (in-memory store).
//!
//! A window of [`REMEMBERED_IDS`] ids is kept as 128-bit keyed hashes rather than as
//! strings: an id string costs about 70 bytes twice over (a set and an eviction order),
//! a hash 16. The hash is SipHash under two random keys drawn at start, so a sender
//! cannot craft two ids that collide; by chance, two of a window of 100,000 ids collide
//! with odds of about 10^-29.
//!
//! The keys live once, in a ring in the order they were accepted; the set is an index of
//! ring slots (4 bytes each) hashed by the keys they point at. A set of the keys beside
//! an eviction queue of them held each key twice: 3.7 MB for a full window against
//! 2.2 MB.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

/// How many recent event ids are remembered for deduplication.
pub const REMEMBERED_IDS: usize = 100_000;

/// An event id as the window knows it: its keyed 128-bit hash.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IdKey(u128);

impl IdKey {
    /// Already well mixed (SipHash), so its low word serves as the index's hash.
    fn hash(self) -> u64 {
        self.0 as u64
    }
}

/// A bounded window of recently accepted event ids.
pub struct RecentIds {
    keys: (RandomState, RandomState),
    /// The window's keys in the order they were accepted, oldest at `next` once full.
    ring: Vec<IdKey>,
    next: usize,
    /// The slots of `ring`, found by their keys.
    index: HashTable<u32>,
}

impl Default for RecentIds {
    /// Sized for the whole window at once: grown by doubling, the ring and the index
    /// each held their old and new tables together at every step (a few MB at the peak
    /// under load). Reserved pages that are not written yet cost no memory.
    fn default() -> Self {
        RecentIds {
            keys: (RandomState::new(), RandomState::new()),
            ring: Vec::with_capacity(REMEMBERED_IDS),
            next: 0,
            index: HashTable::with_capacity(REMEMBERED_IDS),
        }
    }
}

impl RecentIds {
    /// The key of `id`, computed once per event for both [`Self::contains`] and
    /// [`Self::remember`].
    pub fn key(&self, id: &str) -> IdKey {
        IdKey((u128::from(self.keys.0.hash_one(id)) << 64) | u128::from(self.keys.1.hash_one(id)))
    }

    /// Whether the id of `key` was accepted within the window.
    pub fn contains(&self, key: IdKey) -> bool {
        self.index
            .find(key.hash(), |&slot| self.ring[slot as usize] == key)
            .is_some()
    }

    /// Remembers the id of `key`, forgetting the oldest past the window.
    pub fn remember(&mut self, key: IdKey) {
        if self.contains(key) {
            return;
        }
        let slot = if self.ring.len() < REMEMBERED_IDS {
            self.ring.push(key);
            self.ring.len() - 1
        } else {
            let slot = self.next;
            self.next = (slot + 1) % REMEMBERED_IDS;
            let old = std::mem::replace(&mut self.ring[slot], key);
            if let Ok(entry) = self.index.find_entry(old.hash(), |&s| s as usize == slot) {
                entry.remove();
            }
            slot
        };
        let ring = &self.ring;
        // The window holds at most REMEMBERED_IDS slots, well within u32.
        self.index
            .insert_unique(key.hash(), slot as u32, |&s| ring[s as usize].hash());
    }

    /// How many ids the window holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_bounded_window() {
        let mut recent = RecentIds::default();
        let has = |recent: &RecentIds, id: &str| recent.contains(recent.key(id));
        recent.remember(recent.key("a"));
        assert!(has(&recent, "a"));
        assert!(!has(&recent, "b"));
        for n in 0..REMEMBERED_IDS {
            recent.remember(recent.key(&n.to_string()));
        }
        assert!(!has(&recent, "a"), "the oldest id leaves the window");
        assert!(has(&recent, "0") && has(&recent, &(REMEMBERED_IDS - 1).to_string()));
        assert_eq!(recent.len(), REMEMBERED_IDS);
    }

    #[test]
    fn the_window_slides_one_id_at_a_time_and_ignores_repeats() {
        let mut recent = RecentIds::default();
        let has = |recent: &RecentIds, n: usize| recent.contains(recent.key(&n.to_string()));
        // Two and a half windows, each id remembered twice (a sender's retry): the
        // repeat neither takes a slot nor moves the window.
        let total = REMEMBERED_IDS * 5 / 2;
        for n in 0..total {
            recent.remember(recent.key(&n.to_string()));
            recent.remember(recent.key(&n.to_string()));
        }
        assert_eq!(recent.len(), REMEMBERED_IDS);
        let oldest = total - REMEMBERED_IDS;
        for n in (0..total).step_by(997).chain([oldest - 1, oldest, total - 1]) {
            assert_eq!(has(&recent, n), n >= oldest, "id {n}: the window is {oldest}..{total}");
        }
    }
}

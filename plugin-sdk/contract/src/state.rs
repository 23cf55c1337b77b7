//! The key/value store a filter keeps across events (`weir:filter/state`).
//!
//! One store per filter of a route, shared by all its instances behind a lock (the
//! host's), so every operation is atomic across them. Bounded in entries and bytes:
//! when a write would pass a bound, expired entries go first, then the least recently
//! used ones. Times are milliseconds since the Unix epoch, given by the caller, so the
//! store is the same code in Weir and in a filter's native tests (with a clock the test
//! moves), and expiry times survive a restart when the host persists the store.

use std::collections::HashSet;

use lru::LruCache;

/// Longest key, in bytes.
pub const MAX_KEY: usize = 1024;

/// Default bound on entries per store.
pub const DEFAULT_MAX_ENTRIES: usize = 10_000;

/// Default bound on bytes per store (keys, values and bookkeeping): a few MB, enough
/// for a cooldown key per camera and class of a large site.
pub const DEFAULT_MAX_BYTES: usize = 4 << 20;

/// What each entry costs beyond its key and value: the map's and the list's
/// bookkeeping, roughly. Counted so that a million empty keys cannot pass as zero bytes.
pub const ENTRY_OVERHEAD: usize = 64;

/// A store's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// Most entries.
    pub max_entries: usize,
    /// Most bytes.
    pub max_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_entries: DEFAULT_MAX_ENTRIES,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Why a state operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The key, or the entry, does not fit.
    #[error("{0}")]
    TooLarge(String),
    /// `increment` on a value that is not a decimal integer.
    #[error("the value of {0:?} is not a decimal integer")]
    NotANumber(String),
    /// `increment` past the range of a 64-bit integer.
    #[error("incrementing {0:?} would overflow a 64-bit integer")]
    OutOfRange(String),
}

impl StateError {
    /// The refusal's kind, as the contract names it.
    pub fn kind(&self) -> &'static str {
        match self {
            StateError::TooLarge(_) => "too-large",
            StateError::NotANumber(_) => "not-a-number",
            StateError::OutOfRange(_) => "out-of-range",
        }
    }
}

/// One entry: its value and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The value.
    pub value: Vec<u8>,
    /// When it expires (ms since the epoch), if ever.
    pub expires_at: Option<u64>,
}

impl Entry {
    fn live(&self, now: u64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A change to persist: the key's entry now, or `None` when it is gone.
pub type Change = (String, Option<Entry>);

/// A bounded key/value store with expiry.
#[derive(Debug)]
pub struct Store {
    entries: LruCache<String, Entry>,
    bytes: usize,
    limits: StoreLimits,
    /// No entry expires before this (a lower bound): evicting skips the scan for
    /// expired entries until then.
    earliest_expiry: u64,
    /// Keys changed since the last [`Store::take_changes`], when the store is persisted.
    changed: Option<HashSet<String>>,
}

fn size(key: &str, value: &[u8]) -> usize {
    key.len() + value.len() + ENTRY_OVERHEAD
}

impl Store {
    /// An empty store; `persisted` makes it remember which keys changed.
    pub fn new(limits: StoreLimits, persisted: bool) -> Self {
        Store {
            entries: LruCache::unbounded(),
            bytes: 0,
            limits,
            earliest_expiry: u64::MAX,
            changed: persisted.then(HashSet::new),
        }
    }

    /// Entries held (expired ones included until they are noticed).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held, by the store's count.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The bounds.
    pub fn limits(&self) -> StoreLimits {
        self.limits
    }

    /// Changes the bounds, evicting what no longer fits.
    pub fn set_limits(&mut self, limits: StoreLimits, now: u64) {
        self.limits = limits;
        self.make_room(0, 0, now);
    }

    /// The value of a live key.
    pub fn get(&mut self, key: &str, now: u64) -> Option<Vec<u8>> {
        self.live(key, now).map(|entry| entry.value.clone())
    }

    /// Sets a key, expiring `ttl` ms from `now` (never, when `None`).
    pub fn set(&mut self, key: &str, value: Vec<u8>, ttl: Option<u64>, now: u64) -> Result<(), StateError> {
        self.check(key, &value)?;
        self.put(key, value, ttl, now);
        Ok(())
    }

    /// Sets (or deletes, for `None`) a key only if its live value is `expected`
    /// (`None`: absent or expired). Whether it did.
    pub fn compare_and_set(
        &mut self,
        key: &str,
        expected: Option<&[u8]>,
        value: Option<Vec<u8>>,
        ttl: Option<u64>,
        now: u64,
    ) -> Result<bool, StateError> {
        if let Some(value) = &value {
            self.check(key, value)?;
        }
        let current = self.live(key, now).map(|entry| entry.value.as_slice());
        if current != expected {
            return Ok(false);
        }
        match value {
            Some(value) => self.put(key, value, ttl, now),
            None => {
                self.remove(key);
            }
        }
        Ok(true)
    }

    /// Adds `delta` to the key's decimal value (0 when absent or expired), stores and
    /// returns the sum.
    pub fn increment(&mut self, key: &str, delta: i64, ttl: Option<u64>, now: u64) -> Result<i64, StateError> {
        let current = match self.live(key, now) {
            None => 0,
            Some(entry) => std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|text| text.trim().parse::<i64>().ok())
                .ok_or_else(|| StateError::NotANumber(key.to_string()))?,
        };
        let sum = current
            .checked_add(delta)
            .ok_or_else(|| StateError::OutOfRange(key.to_string()))?;
        let value = sum.to_string().into_bytes();
        self.check(key, &value)?;
        self.put(key, value, ttl, now);
        Ok(sum)
    }

    /// Deletes a key; whether a live entry was there.
    pub fn delete(&mut self, key: &str, now: u64) -> bool {
        let live = self.live(key, now).is_some();
        self.remove(key);
        live
    }

    /// The keys changed since the last call, with their entries now (`None`: gone).
    pub fn take_changes(&mut self) -> Vec<Change> {
        let Some(changed) = &mut self.changed else {
            return Vec::new();
        };
        let keys: Vec<String> = changed.drain().collect();
        keys.into_iter()
            .map(|key| {
                let entry = self.entries.peek(&key).cloned();
                (key, entry)
            })
            .collect()
    }

    /// Puts back entries persisted earlier, skipping expired ones and what no longer
    /// fits; they do not count as changes.
    pub fn restore(&mut self, entries: impl IntoIterator<Item = (String, Entry)>, now: u64) {
        for (key, entry) in entries {
            if entry.live(now) && self.check(&key, &entry.value).is_ok() {
                self.insert(key, entry, now);
            }
        }
        if let Some(changed) = &mut self.changed {
            changed.clear();
        }
    }

    /// Every live entry, most recently used last, leaving the store empty.
    pub fn take_all(&mut self, now: u64) -> Vec<(String, Entry)> {
        let mut all = Vec::with_capacity(self.entries.len());
        while let Some((key, entry)) = self.entries.pop_lru() {
            self.mark(&key);
            if entry.live(now) {
                all.push((key, entry));
            }
        }
        self.bytes = 0;
        self.earliest_expiry = u64::MAX;
        all
    }

    fn check(&self, key: &str, value: &[u8]) -> Result<(), StateError> {
        if key.len() > MAX_KEY {
            return Err(StateError::TooLarge(format!(
                "a state key is at most {MAX_KEY} bytes; this one is {}",
                key.len()
            )));
        }
        let size = size(key, value);
        if size > self.limits.max_bytes || self.limits.max_entries == 0 {
            return Err(StateError::TooLarge(format!(
                "the entry {key:?} takes {size} bytes; the store holds at most {} (raise the filter's max_state_bytes)",
                self.limits.max_bytes
            )));
        }
        Ok(())
    }

    /// The live entry of a key (promoted as recently used); an expired one is removed.
    fn live(&mut self, key: &str, now: u64) -> Option<&Entry> {
        let expired = !self.entries.get(key)?.live(now);
        if expired {
            self.remove(key);
            return None;
        }
        self.entries.peek(key)
    }

    fn put(&mut self, key: &str, value: Vec<u8>, ttl: Option<u64>, now: u64) {
        let entry = Entry {
            value,
            expires_at: ttl.map(|ttl| now.saturating_add(ttl)),
        };
        self.remove(key);
        self.insert(key.to_string(), entry, now);
        self.mark(key);
    }

    fn insert(&mut self, key: String, entry: Entry, now: u64) {
        let size = size(&key, &entry.value);
        self.make_room(1, size, now);
        if let Some(at) = entry.expires_at {
            self.earliest_expiry = self.earliest_expiry.min(at);
        }
        self.bytes += size;
        self.entries.push(key, entry);
    }

    fn remove(&mut self, key: &str) {
        if let Some(old) = self.entries.pop(key) {
            self.bytes -= size(key, &old.value);
            self.mark(key);
        }
    }

    fn mark(&mut self, key: &str) {
        if let Some(changed) = &mut self.changed {
            changed.insert(key.to_string());
        }
    }

    /// Evicts until `entries` more entries of `bytes` more bytes fit: expired entries
    /// first, then the least recently used.
    fn make_room(&mut self, entries: usize, bytes: usize, now: u64) {
        let fits = |store: &Store| {
            store.entries.len() + entries <= store.limits.max_entries && store.bytes + bytes <= store.limits.max_bytes
        };
        if fits(self) {
            return;
        }
        if now >= self.earliest_expiry {
            let expired: Vec<String> = self
                .entries
                .iter()
                .filter(|(_, entry)| !entry.live(now))
                .map(|(key, _)| key.clone())
                .collect();
            for key in expired {
                self.remove(&key);
            }
            self.earliest_expiry = self
                .entries
                .iter()
                .filter_map(|(_, e)| e.expires_at)
                .min()
                .unwrap_or(u64::MAX);
        }
        while !fits(self) {
            let Some((key, old)) = self.entries.pop_lru() else {
                break;
            };
            self.bytes -= size(&key, &old.value);
            self.mark(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(max_entries: usize, max_bytes: usize) -> Store {
        Store::new(StoreLimits { max_entries, max_bytes }, true)
    }

    #[test]
    fn values_expire_after_their_ttl() {
        let mut s = store(10, 1 << 20);
        s.set("k", b"v".to_vec(), Some(1000), 0).unwrap();
        assert_eq!(s.get("k", 999), Some(b"v".to_vec()));
        assert_eq!(s.get("k", 1000), None);
        assert!(s.is_empty());
        s.set("forever", b"v".to_vec(), None, 0).unwrap();
        assert_eq!(s.get("forever", u64::MAX - 1), Some(b"v".to_vec()));
    }

    #[test]
    fn compare_and_set_claims_a_key_once_until_it_expires() {
        let mut s = store(10, 1 << 20);
        assert!(
            s.compare_and_set("cam", None, Some(b"1".to_vec()), Some(1000), 0)
                .unwrap()
        );
        assert!(
            !s.compare_and_set("cam", None, Some(b"2".to_vec()), Some(1000), 500)
                .unwrap()
        );
        assert!(
            s.compare_and_set("cam", Some(b"1"), Some(b"2".to_vec()), Some(1000), 600)
                .unwrap()
        );
        assert!(
            s.compare_and_set("cam", None, Some(b"3".to_vec()), Some(1000), 1600)
                .unwrap()
        );
        assert!(s.compare_and_set("cam", Some(b"3"), None, None, 1700).unwrap());
        assert_eq!(s.get("cam", 1700), None);
    }

    #[test]
    fn increment_counts_in_decimal_and_refuses_other_values() {
        let mut s = store(10, 1 << 20);
        assert_eq!(s.increment("n", 2, None, 0), Ok(2));
        assert_eq!(s.increment("n", -5, None, 0), Ok(-3));
        assert_eq!(s.get("n", 0), Some(b"-3".to_vec()));
        s.set("t", b"text".to_vec(), None, 0).unwrap();
        assert_eq!(s.increment("t", 1, None, 0), Err(StateError::NotANumber("t".into())));
        s.set("max", i64::MAX.to_string().into_bytes(), None, 0).unwrap();
        assert_eq!(s.increment("max", 1, None, 0).unwrap_err().kind(), "out-of-range");
    }

    #[test]
    fn a_full_store_evicts_expired_entries_first_then_the_least_recently_used() {
        let mut s = store(3, 1 << 20);
        s.set("a", b"1".to_vec(), None, 0).unwrap();
        s.set("b", b"1".to_vec(), Some(10), 0).unwrap();
        s.set("c", b"1".to_vec(), None, 0).unwrap();
        s.get("a", 1);
        // b has expired: it goes, not the least recently used (c).
        s.set("d", b"1".to_vec(), None, 20).unwrap();
        assert_eq!((s.get("a", 20).is_some(), s.get("c", 20).is_some()), (true, true));
        // Nothing expired now: the least recently used goes (d, then a was read after c).
        s.set("e", b"1".to_vec(), None, 30).unwrap();
        assert_eq!(s.get("d", 30), None);
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn bytes_are_bounded_and_an_entry_too_large_for_the_store_is_refused() {
        let mut s = store(100, 3 * (ENTRY_OVERHEAD + 101));
        for key in ["a", "b", "c", "d"] {
            s.set(key, vec![0; 100], None, 0).unwrap();
        }
        assert!(s.bytes() <= s.limits().max_bytes);
        assert_eq!(s.get("a", 0), None);
        let error = s.set("big", vec![0; 1000], None, 0).unwrap_err();
        assert_eq!(error.kind(), "too-large");
        assert!(s.set(&"k".repeat(MAX_KEY + 1), vec![], None, 0).is_err());
    }

    #[test]
    fn changes_are_tracked_for_persisting_and_restored_entries_are_not() {
        let mut s = store(10, 1 << 20);
        s.restore(
            [(
                "old".to_string(),
                Entry {
                    value: b"1".to_vec(),
                    expires_at: None,
                },
            )],
            0,
        );
        assert!(s.take_changes().is_empty());
        s.set("k", b"v".to_vec(), Some(5), 0).unwrap();
        s.delete("old", 0);
        let mut changes = s.take_changes();
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            changes,
            [
                (
                    "k".to_string(),
                    Some(Entry {
                        value: b"v".to_vec(),
                        expires_at: Some(5)
                    })
                ),
                ("old".to_string(), None)
            ]
        );
        assert!(s.take_changes().is_empty());
    }
}

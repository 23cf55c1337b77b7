//! Log lines about floods: conditions that, when they happen, happen thousands of times
//! a second (a full store refusing senders, a memory store forgetting its oldest dead
//! letters). One line a second with the count, not one per occurrence: the log stays
//! readable, and writing it does not take the CPU of a machine the flood already
//! strains.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counts the occurrences of one condition, and says when to log them.
pub struct Flood {
    count: AtomicU64,
    last_second: AtomicU64,
}

impl Flood {
    /// No occurrence yet.
    pub const fn new() -> Self {
        Flood {
            count: AtomicU64::new(0),
            last_second: AtomicU64::new(0),
        }
    }

    /// Counts one occurrence. When a line is due (at most once a wall-clock second),
    /// returns how many occurrences it reports: this one and those since the last line.
    pub fn note(&self) -> Option<u64> {
        self.count.fetch_add(1, Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let last = self.last_second.load(Relaxed);
        if now > last && self.last_second.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
            return Some(self.count.swap(0, Relaxed));
        }
        None
    }
}

impl Default for Flood {
    fn default() -> Self {
        Flood::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_occurrence_is_logged_then_at_most_one_line_a_second_with_the_count() {
        let flood = Flood::new();
        assert_eq!(flood.note(), Some(1));
        let lines: Vec<u64> = (0..1000).filter_map(|_| flood.note()).collect();
        // Within one second, nothing more; across a second boundary, one line with all
        // the occurrences counted since.
        assert!(lines.len() <= 1, "{lines:?}");
        if let Some(count) = lines.first() {
            assert!(*count >= 1 && *count <= 1000, "{count}");
        }
    }
}

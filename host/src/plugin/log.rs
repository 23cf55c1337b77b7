//! Everything a plugin causes to be logged passes one budget per plugin per second.
//!
//! A plugin can write to the log in many ways: `weir.log` calls, stdout and stderr, a
//! failure on every event. Each has its own bound per call, but a plugin running
//! thousands of calls a second could still fill a disk with bounded lines. The budget
//! here is shared by all the plugin's instances and routes: past
//! [`LINES_PER_SECOND`] lines or [`BYTES_PER_SECOND`] bytes in one second, lines are
//! counted instead of written; the first line of the next second says how many were
//! suppressed, and `weir_plugin_log_suppressed_total` counts them all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Lines one plugin may have written per second, all instances and routes together.
pub const LINES_PER_SECOND: u32 = 100;

/// Bytes of log one plugin may have written per second, all instances together.
pub const BYTES_PER_SECOND: usize = 64 * 1024;

/// One plugin's log budget.
#[derive(Debug)]
pub struct PluginLog {
    name: Arc<str>,
    window: Mutex<Window>,
    suppressed: AtomicU64,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    lines: u32,
    bytes: usize,
    suppressed: u64,
}

impl PluginLog {
    /// A fresh budget for the plugin called `name`.
    pub fn new(name: Arc<str>) -> Self {
        PluginLog {
            name,
            window: Mutex::new(Window {
                started: Instant::now(),
                lines: 0,
                bytes: 0,
                suppressed: 0,
            }),
            suppressed: AtomicU64::new(0),
        }
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's name, shared.
    pub fn name_arc(&self) -> Arc<str> {
        self.name.clone()
    }

    /// Lines suppressed since the plugin was loaded.
    pub fn suppressed(&self) -> u64 {
        self.suppressed.load(Ordering::Relaxed)
    }

    /// Whether a line of `bytes` bytes may be written now. A refused line is counted;
    /// the first admitted line of a new second is preceded by a summary of the lines
    /// suppressed in the one before.
    pub fn admit(&self, bytes: usize) -> bool {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if now.duration_since(window.started).as_secs() >= 1 {
            let suppressed = std::mem::take(&mut window.suppressed);
            *window = Window {
                started: now,
                lines: 0,
                bytes: 0,
                suppressed: 0,
            };
            if suppressed > 0 {
                window.lines = 1;
                tracing::warn!(
                    plugin = %self.name,
                    suppressed,
                    "plugin caused more than {LINES_PER_SECOND} log lines or {} KiB of log in a second; {suppressed} line(s) were suppressed",
                    BYTES_PER_SECOND / 1024
                );
            }
        }
        if window.lines >= LINES_PER_SECOND || window.bytes.saturating_add(bytes) > BYTES_PER_SECOND {
            window.suppressed += 1;
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        window.lines += 1;
        window.bytes += bytes;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_a_seconds_worth_then_counts_the_rest() {
        let log = PluginLog::new("chatty".into());
        let admitted = (0..LINES_PER_SECOND + 50).filter(|_| log.admit(10)).count();
        assert_eq!(admitted, LINES_PER_SECOND as usize);
        assert_eq!(log.suppressed(), 50);
    }

    #[test]
    fn bounds_bytes_as_well_as_lines() {
        let log = PluginLog::new("wordy".into());
        assert!(log.admit(BYTES_PER_SECOND - 10));
        assert!(!log.admit(11));
        assert!(log.admit(10));
        assert_eq!(log.suppressed(), 1);
    }

    #[test]
    fn a_new_second_starts_a_new_budget() {
        let log = PluginLog::new("steady".into());
        for _ in 0..LINES_PER_SECOND {
            assert!(log.admit(1));
        }
        assert!(!log.admit(1));
        log.window.lock().unwrap().started -= std::time::Duration::from_secs(1);
        assert!(log.admit(1), "the next second has room again");
        assert_eq!(log.suppressed(), 1);
    }
}

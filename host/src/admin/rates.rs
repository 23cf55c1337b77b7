//! The flow's rates for the console: events received and dropped, attempts delivered
//! and failed, per second. A sampler reads the totals ([`crate::metrics::Flow`]) once a
//! second and keeps the last five minutes; rates are differences between samples.
//!
//! The sampler is owned by the admin router: it holds only a weak reference to the
//! samples and stops at its next tick once the router (and so the samples) is dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::metrics::{Flow, Metrics};

/// How often the totals are sampled: the chart's resolution.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// Samples kept: five minutes at one a second, the chart's width.
pub const KEPT: usize = 300;

/// Seconds the current rates are averaged over: long enough not to flicker at a few
/// events a second, short enough to follow a change.
pub const CURRENT_OVER: usize = 5;

/// Per-second rates over one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Rate {
    /// The end of the interval, in seconds since the Unix epoch.
    pub at: f64,
    /// Events received per second.
    pub received: f64,
    /// Events dropped by filters per second.
    pub dropped: f64,
    /// Attempts delivered per second.
    pub delivered: f64,
    /// Attempts failed per second.
    pub failed: f64,
}

/// The rate between two samples.
pub fn rate(earlier: &(SystemTime, Flow), later: &(SystemTime, Flow)) -> Rate {
    let seconds = later.0.duration_since(earlier.0).unwrap_or_default().as_secs_f64();
    let per = |a: u64, b: u64| {
        if seconds <= 0.0 {
            0.0
        } else {
            (b.saturating_sub(a) as f64 / seconds * 10.0).round() / 10.0
        }
    };
    Rate {
        at: later.0.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64(),
        received: per(earlier.1.received, later.1.received),
        dropped: per(earlier.1.dropped, later.1.dropped),
        delivered: per(earlier.1.delivered, later.1.delivered),
        failed: per(earlier.1.failed, later.1.failed),
    }
}

/// The last minutes of samples.
#[derive(Default)]
pub struct Rates {
    samples: Mutex<VecDeque<(SystemTime, Flow)>>,
}

impl Rates {
    /// Samples, with a sampler reading `metrics` every [`SAMPLE_EVERY`] for as long as
    /// the returned handle (or a clone) lives.
    pub fn spawn(metrics: Arc<Metrics>) -> Arc<Rates> {
        let rates = Arc::new(Rates::default());
        rates.record(SystemTime::now(), metrics.flow());
        let weak = Arc::downgrade(&rates);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut tick = tokio::time::interval(SAMPLE_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let Some(rates) = weak.upgrade() else { return };
                    rates.record(SystemTime::now(), metrics.flow());
                }
            });
        }
        rates
    }

    /// Adds a sample, forgetting the oldest past [`KEPT`].
    pub fn record(&self, at: SystemTime, flow: Flow) {
        let mut samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples.push_back((at, flow));
        while samples.len() > KEPT + 1 {
            samples.pop_front();
        }
    }

    /// The rate of each second kept, oldest first.
    pub fn series(&self) -> Vec<Rate> {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        samples
            .iter()
            .zip(samples.iter().skip(1))
            .map(|(a, b)| rate(a, b))
            .collect()
    }

    /// The rates over the last [`CURRENT_OVER`] seconds, and the totals so far.
    pub fn current(&self) -> (Rate, Flow) {
        let samples = self.samples.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(last) = samples.back() else {
            return (Rate::default(), Flow::default());
        };
        let first = samples
            .get(samples.len().saturating_sub(CURRENT_OVER + 1))
            .unwrap_or(last);
        (rate(first, last), last.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(received: u64, delivered: u64) -> Flow {
        Flow {
            received,
            dropped: 0,
            delivered,
            failed: 0,
        }
    }

    #[test]
    fn rates_are_differences_over_time_and_only_the_last_minutes_are_kept() {
        let rates = Rates::default();
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        for second in 0..(KEPT as u64 + 10) {
            rates.record(t0 + Duration::from_secs(second), flow(second * 4, second * 2));
        }
        let series = rates.series();
        assert_eq!(series.len(), KEPT);
        assert!(series.iter().all(|r| r.received == 4.0 && r.delivered == 2.0));
        let (current, totals) = rates.current();
        assert_eq!((current.received, current.delivered), (4.0, 2.0));
        assert_eq!(totals.received, (KEPT as u64 + 9) * 4);
    }
}

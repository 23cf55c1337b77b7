//! How fast a lane may send: the destination's `rate` (a token bucket, full to its
//! burst after a quiet spell), lowered by the receiver's `WebHook-Allowed-Rate`
//! answer (the CloudEvents webhook specification: requests per minute), and paused
//! whole when the receiver answers 429 with `Retry-After`: a receiver that says "slow
//! down" is asked nothing until the time it named, rather than by each waiting
//! delivery on its own schedule.
//!
//! Pure bookkeeping over times the lane passes in, so it is tested without a clock.

use std::time::{Duration, Instant};

use super::destination::RateLimit;

/// The header a receiver states the rate it accepts in.
pub const ALLOWED_RATE_HEADER: &str = "webhook-allowed-rate";

/// What a receiver said of the rate it accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AllowedRate {
    /// `*`: any rate (lifts an earlier answer's limit).
    Any,
    /// Requests per minute.
    PerMinute(u32),
}

impl AllowedRate {
    /// Reads a `WebHook-Allowed-Rate` value; `None` when it is neither `*` nor a
    /// positive whole number.
    pub fn parse(value: &str) -> Option<AllowedRate> {
        match value.trim() {
            "*" => Some(AllowedRate::Any),
            number => number.parse().ok().filter(|n| *n > 0).map(AllowedRate::PerMinute),
        }
    }
}

/// A lane's pace.
#[derive(Debug)]
pub struct Pace {
    tokens: f64,
    refilled: Instant,
    /// The receiver's rate, per second, when it stated one.
    allowed: Option<f64>,
    paused_until: Option<Instant>,
}

impl Pace {
    /// A pace with a full bucket.
    pub fn new(now: Instant) -> Pace {
        Pace {
            tokens: f64::INFINITY,
            refilled: now,
            allowed: None,
            paused_until: None,
        }
    }

    /// The rate in force (per second) and its burst: the configured one, lowered by
    /// the receiver's; `None` when nothing limits the lane.
    pub fn limit(&self, configured: Option<RateLimit>) -> Option<(f64, f64)> {
        let burst = |rate: f64| rate.floor().max(1.0);
        match (configured, self.allowed) {
            (Some(own), Some(allowed)) if allowed < own.per_second => {
                Some((allowed, f64::from(own.burst).min(burst(allowed))))
            }
            (Some(own), _) => Some((own.per_second, f64::from(own.burst))),
            (None, Some(allowed)) => Some((allowed, burst(allowed))),
            (None, None) => None,
        }
    }

    /// How many requests may start at `now`, and, when none may, when one will.
    pub fn available(&mut self, configured: Option<RateLimit>, now: Instant) -> (usize, Option<Instant>) {
        if let Some(until) = self.paused_until {
            if now < until {
                return (0, Some(until));
            }
            self.paused_until = None;
        }
        let Some((rate, burst)) = self.limit(configured) else {
            self.tokens = f64::INFINITY;
            return (usize::MAX, None);
        };
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.refilled = now;
        if self.tokens >= 1.0 {
            (self.tokens as usize, None)
        } else {
            // (A rate is at least one request an hour, so the wait is bounded.)
            let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / rate).unwrap_or(Duration::from_secs(3600));
            (0, Some(now + wait.min(Duration::from_secs(3600))))
        }
    }

    /// Counts `count` requests started (after [`Pace::available`] allowed them).
    pub fn take(&mut self, count: usize) {
        if self.tokens.is_finite() {
            self.tokens -= count as f64;
        }
    }

    /// The receiver asked for no request before `until`.
    pub fn pause(&mut self, until: Instant) {
        self.paused_until = Some(self.paused_until.map_or(until, |earlier| earlier.max(until)));
    }

    /// When the lane is paused until, if it is.
    pub fn paused_until(&self, now: Instant) -> Option<Instant> {
        self.paused_until.filter(|until| *until > now)
    }

    /// The receiver stated the rate it accepts.
    pub fn allow(&mut self, allowed: AllowedRate) {
        self.allowed = match allowed {
            AllowedRate::Any => None,
            AllowedRate::PerMinute(per_minute) => Some(f64::from(per_minute) / 60.0),
        };
    }

    /// The receiver's stated rate, per second, if it stated one.
    pub fn allowed(&self) -> Option<f64> {
        self.allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(per_second: f64, burst: u32) -> Option<RateLimit> {
        Some(RateLimit { per_second, burst })
    }

    #[test]
    fn a_rate_allows_its_burst_then_one_request_per_interval() {
        let start = Instant::now();
        let mut pace = Pace::new(start);
        assert_eq!(pace.available(rate(10.0, 3), start), (3, None));
        pace.take(3);
        let (none, next) = pace.available(rate(10.0, 3), start);
        assert_eq!(none, 0);
        assert_eq!(next, Some(start + Duration::from_millis(100)));
        assert_eq!(pace.available(rate(10.0, 3), start + Duration::from_millis(100)).0, 1);
        // A quiet spell fills the bucket to the burst, no further.
        assert_eq!(pace.available(rate(10.0, 3), start + Duration::from_secs(60)).0, 3);
    }

    #[test]
    fn without_a_rate_nothing_limits_and_nothing_is_counted() {
        let start = Instant::now();
        let mut pace = Pace::new(start);
        pace.take(1000);
        assert_eq!(pace.available(None, start), (usize::MAX, None));
    }

    #[test]
    fn the_receivers_rate_lowers_the_configured_one_or_sets_one() {
        let start = Instant::now();
        let mut pace = Pace::new(start);
        pace.allow(AllowedRate::parse("60").unwrap());
        assert_eq!(pace.limit(rate(50.0, 50)), Some((1.0, 1.0)));
        assert_eq!(pace.limit(None), Some((1.0, 1.0)));
        // A higher stated rate does not raise the configured one.
        pace.allow(AllowedRate::parse("6000").unwrap());
        assert_eq!(pace.limit(rate(50.0, 50)), Some((50.0, 50.0)));
        pace.allow(AllowedRate::parse("*").unwrap());
        assert_eq!(pace.limit(None), None);
        for wrong in ["0", "-5", "fast", ""] {
            assert_eq!(AllowedRate::parse(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn a_pause_stops_the_lane_until_it_ends() {
        let start = Instant::now();
        let mut pace = Pace::new(start);
        pace.pause(start + Duration::from_secs(2));
        pace.pause(start + Duration::from_secs(1));
        assert_eq!(pace.available(None, start), (0, Some(start + Duration::from_secs(2))));
        assert_eq!(pace.paused_until(start), Some(start + Duration::from_secs(2)));
        assert_eq!(pace.available(None, start + Duration::from_secs(2)).0, usize::MAX);
        assert_eq!(pace.paused_until(start + Duration::from_secs(2)), None);
    }
}

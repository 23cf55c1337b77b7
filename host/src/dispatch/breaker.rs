//! A circuit breaker per destination: after a run of failed attempts the destination is
//! left alone for a cool-down, then one probe decides whether it is healthy again.
//!
//! While open, deliveries wait in the outbox instead of hammering a receiver that is
//! down (and they keep their place; waiting is not an attempt). Only failures that say
//! something about the receiver's health count: no answer, a timeout, 5xx, 408, 429.
//! A 4xx says the request is wrong, not that the receiver is down.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::config::BreakerConfig;

/// Where a breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Attempts flow; `failures` in a row so far.
    Closed {
        /// Consecutive failures.
        failures: u32,
    },
    /// No attempts until `until`; the next cool-down will be `cooldown` long.
    Open {
        /// When a probe may go.
        until: Instant,
        /// This cool-down's length.
        cooldown: Duration,
    },
    /// One probe is in flight; its result closes or reopens the breaker.
    Probing {
        /// The cool-down that preceded the probe.
        cooldown: Duration,
    },
}

/// How many attempts may start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowance {
    /// As many as the lane has room for.
    Any,
    /// Exactly one: the probe.
    Probe,
    /// None until this time (or, when `None`, until the probe in flight returns).
    Wait(Option<Instant>),
}

/// A destination's breaker.
#[derive(Debug, Clone)]
pub struct Breaker {
    config: BreakerConfig,
    state: State,
    /// Times the breaker opened, for the admin API.
    pub opened: u64,
}

/// The breaker as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerView {
    /// `closed`, `open` or `probing`.
    pub state: &'static str,
    /// Consecutive failures (closed).
    pub failures: u32,
    /// Seconds until a probe may go (open).
    pub retry_in_s: Option<f64>,
    /// Times the breaker opened since start.
    pub opened: u64,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            config,
            state: State::Closed { failures: 0 },
            opened: 0,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Replaces the config (on reload), keeping the state.
    pub fn reconfigure(&mut self, config: BreakerConfig) {
        self.config = config;
    }

    /// How many attempts may start at `now`; moves an open breaker whose cool-down is
    /// over to probing.
    pub fn allowance(&mut self, now: Instant) -> Allowance {
        match self.state {
            State::Closed { .. } => Allowance::Any,
            State::Open { until, .. } if now < until => Allowance::Wait(Some(until)),
            State::Open { cooldown, .. } => {
                self.state = State::Probing { cooldown };
                Allowance::Probe
            }
            State::Probing { .. } => Allowance::Wait(None),
        }
    }

    /// A probe was allowed but there was nothing to send: stay open, so that the next
    /// delivery is the probe.
    pub fn no_probe(&mut self, now: Instant) {
        if let State::Probing { cooldown } = self.state {
            self.state = State::Open { until: now, cooldown };
        }
    }

    /// Records the result of an attempt: `healthy` unless the receiver failed.
    pub fn record(&mut self, healthy: bool, now: Instant) {
        if self.config.failures == 0 {
            return;
        }
        self.state = match (self.state, healthy) {
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 >= self.config.failures => {
                self.opened += 1;
                State::Open {
                    until: now + self.config.cooldown.0,
                    cooldown: self.config.cooldown.0,
                }
            }
            (State::Closed { failures }, false) => State::Closed { failures: failures + 1 },
            (State::Probing { cooldown } | State::Open { cooldown, .. }, false) => {
                // The probe failed: stay away twice as long, within bounds.
                let cooldown = (cooldown * 2)
                    .min(self.config.max_cooldown.0)
                    .max(self.config.cooldown.0);
                self.opened += 1;
                State::Open {
                    until: now + cooldown,
                    cooldown,
                }
            }
        };
    }

    /// The admin API's view.
    pub fn view(&self, now: Instant) -> BreakerView {
        let (state, failures, retry_in_s) = match self.state {
            State::Closed { failures } => ("closed", failures, None),
            State::Open { until, .. } => ("open", 0, Some(until.saturating_duration_since(now).as_secs_f64())),
            State::Probing { .. } => ("probing", 0, None),
        };
        BreakerView {
            state,
            failures,
            retry_in_s,
            opened: self.opened,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            failures: 3,
            cooldown: Span(Duration::from_secs(10)),
            max_cooldown: Span(Duration::from_secs(25)),
        })
    }

    #[test]
    fn opens_after_a_run_of_failures_probes_then_closes() {
        let mut breaker = breaker();
        let t0 = Instant::now();
        breaker.record(false, t0);
        breaker.record(true, t0);
        breaker.record(false, t0);
        breaker.record(false, t0);
        assert_eq!(breaker.allowance(t0), Allowance::Any);
        breaker.record(false, t0);
        assert_eq!(
            breaker.allowance(t0),
            Allowance::Wait(Some(t0 + Duration::from_secs(10)))
        );
        let later = t0 + Duration::from_secs(10);
        assert_eq!(breaker.allowance(later), Allowance::Probe);
        assert_eq!(breaker.allowance(later), Allowance::Wait(None));
        breaker.record(true, later);
        assert_eq!(breaker.allowance(later), Allowance::Any);
        assert_eq!(breaker.opened, 1);
    }

    #[test]
    fn a_failed_probe_doubles_the_cooldown_up_to_the_cap() {
        let mut breaker = breaker();
        let mut now = Instant::now();
        for _ in 0..3 {
            breaker.record(false, now);
        }
        let mut cooldowns = Vec::new();
        for _ in 0..3 {
            let Allowance::Wait(Some(until)) = breaker.allowance(now) else {
                panic!("not open")
            };
            cooldowns.push((until - now).as_secs());
            now = until;
            assert_eq!(breaker.allowance(now), Allowance::Probe);
            breaker.record(false, now);
        }
        assert_eq!(cooldowns, [10, 20, 25]);
        assert_eq!(breaker.view(now).state, "open");
    }

    #[test]
    fn zero_failures_disables_the_breaker() {
        let mut breaker = Breaker::new(BreakerConfig {
            failures: 0,
            ..BreakerConfig::default()
        });
        for _ in 0..100 {
            breaker.record(false, Instant::now());
        }
        assert_eq!(breaker.allowance(Instant::now()), Allowance::Any);
    }
}

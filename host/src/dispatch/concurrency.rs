//! Adaptive concurrency: how many requests a lane keeps in flight, found from its
//! receiver's answers rather than configured, within `max_in_flight` (the ceiling).
//!
//! Additive increase, multiplicative decrease (the scheme TCP and Vector's adaptive
//! request concurrency use): while answers come back as fast as usual and the lane
//! uses its whole limit, the limit grows by about one per round of requests; when the
//! receiver says it is overloaded (429, 503, a timeout, a refused connection) the limit
//! is cut by 30 %, and when its answers slow to twice the usual time, by 10 %; at most
//! once per round trip either way, so one burst of slow answers counts once. "Usual" is
//! a slow moving average of the round trips answered without overload; "now" a fast one.
//!
//! Pure bookkeeping over the times the lane passes in, tested without a receiver.

use std::time::{Duration, Instant};

/// Weight of a new round trip in the fast average ("now").
const RECENT_WEIGHT: f64 = 0.3;
/// Weight of the fast average in the slow one ("usual"), taken once per round trip: a
/// lasting change of the receiver's latency becomes usual over some twenty round trips,
/// while a burst of slow answers cuts the limit first.
const BASELINE_WEIGHT: f64 = 0.05;
/// Answers this many times slower than usual count as the receiver struggling.
const SLOWER: f64 = 2.0;
/// The cut on an overload signal.
const OVERLOAD_CUT: f64 = 0.7;
/// The cut on answers slowing down.
const SLOWDOWN_CUT: f64 = 0.9;

/// One lane's concurrency limit.
#[derive(Debug, Clone)]
pub struct Adaptive {
    limit: f64,
    ceiling: f64,
    /// Round trips, seconds: usual and now.
    baseline: Option<f64>,
    baseline_at: Option<Instant>,
    recent: Option<f64>,
    last_cut: Option<Instant>,
}

/// How an answer went, for the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The receiver answered without a sign of overload (any status but 429 and 503).
    Answered,
    /// The receiver is overloaded: 429, 503, no answer in time, connection refused.
    Overloaded,
}

impl Adaptive {
    /// A limit starting at `start`, never above `ceiling` (both at least 1).
    pub fn new(start: usize, ceiling: usize) -> Adaptive {
        let ceiling = ceiling.max(1) as f64;
        Adaptive {
            limit: (start.max(1) as f64).min(ceiling),
            ceiling,
            baseline: None,
            baseline_at: None,
            recent: None,
            last_cut: None,
        }
    }

    /// Requests the lane may have in flight now.
    pub fn limit(&self) -> usize {
        self.limit.floor().max(1.0) as usize
    }

    /// Changes the ceiling (a config reload), keeping what was learnt below it.
    pub fn set_ceiling(&mut self, ceiling: usize) {
        self.ceiling = ceiling.max(1) as f64;
        self.limit = self.limit.min(self.ceiling);
    }

    /// An answer came `rtt` after its request was sent, at `now`; `in_flight` requests
    /// were in flight when it was sent (itself included).
    pub fn observe(&mut self, now: Instant, rtt: Duration, answer: Answer, in_flight: usize) {
        let seconds = rtt.as_secs_f64();
        let recent = ewma(self.recent, seconds, RECENT_WEIGHT);
        self.recent = Some(recent);
        // A cut waits a round trip: the answers to requests sent before it say nothing
        // of the new limit.
        let may_cut = self
            .last_cut
            .is_none_or(|at| now.saturating_duration_since(at).as_secs_f64() >= recent);
        match answer {
            Answer::Overloaded => {
                if may_cut {
                    self.cut(OVERLOAD_CUT, now);
                }
            }
            Answer::Answered => {
                let window_passed = self
                    .baseline_at
                    .is_none_or(|at| now.saturating_duration_since(at).as_secs_f64() >= recent);
                if window_passed {
                    self.baseline = Some(ewma(self.baseline, recent, BASELINE_WEIGHT));
                    self.baseline_at = Some(now);
                }
                let baseline = self.baseline.unwrap_or(recent);
                if recent > baseline * SLOWER {
                    if may_cut {
                        self.cut(SLOWDOWN_CUT, now);
                    }
                } else if in_flight as f64 >= self.limit.floor() {
                    // The whole limit was in use and answers are as fast as usual:
                    // one more, spread over a round of `limit` answers.
                    self.limit = (self.limit + 1.0 / self.limit).min(self.ceiling);
                }
            }
        }
    }

    fn cut(&mut self, factor: f64, now: Instant) {
        self.limit = (self.limit * factor).max(1.0);
        self.last_cut = Some(now);
    }
}

fn ewma(average: Option<f64>, sample: f64, weight: f64) -> f64 {
    match average {
        Some(average) => average + weight * (sample - average),
        None => sample,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `rounds` rounds of answers at full use of the limit, each answer `rtt`
    /// after its request, and returns the clock.
    fn run(limit: &mut Adaptive, mut now: Instant, rounds: usize, rtt: Duration, answer: Answer) -> Instant {
        for _ in 0..rounds {
            let in_flight = limit.limit();
            for _ in 0..in_flight {
                limit.observe(now, rtt, answer, in_flight);
            }
            now += rtt;
        }
        now
    }

    #[test]
    fn a_fast_steady_receiver_gets_up_to_the_ceiling() {
        let mut limit = Adaptive::new(8, 64);
        let start = Instant::now();
        run(&mut limit, start, 200, Duration::from_millis(1), Answer::Answered);
        assert_eq!(limit.limit(), 64);
    }

    #[test]
    fn a_receiver_that_slows_down_gets_fewer_then_more_when_it_recovers() {
        let mut limit = Adaptive::new(8, 64);
        let now = run(
            &mut limit,
            Instant::now(),
            100,
            Duration::from_millis(2),
            Answer::Answered,
        );
        let before = limit.limit();
        assert!(before > 30, "{before}");
        let now = run(&mut limit, now, 20, Duration::from_millis(50), Answer::Answered);
        let slowed = limit.limit();
        assert!(slowed < before / 2, "{before} -> {slowed}");
        run(&mut limit, now, 300, Duration::from_millis(2), Answer::Answered);
        assert!(limit.limit() > slowed * 2, "{slowed} -> {}", limit.limit());
    }

    #[test]
    fn overload_cuts_by_a_third_once_per_round_trip() {
        let mut limit = Adaptive::new(40, 64);
        let now = Instant::now();
        limit.observe(now, Duration::from_millis(10), Answer::Answered, 40);
        // A burst of 429s answered together counts once.
        for _ in 0..20 {
            limit.observe(now, Duration::from_millis(10), Answer::Overloaded, 40);
        }
        assert_eq!(limit.limit(), 28);
        // A round trip later, the next one cuts again; never below one.
        let later = run(
            &mut limit,
            now + Duration::from_millis(20),
            30,
            Duration::from_millis(10),
            Answer::Overloaded,
        );
        assert_eq!(limit.limit(), 1);
        limit.observe(later, Duration::from_millis(10), Answer::Answered, 1);
        assert_eq!(limit.limit(), 2, "grows back from one");
    }

    #[test]
    fn an_unused_limit_does_not_grow_and_the_ceiling_bounds_it() {
        let mut limit = Adaptive::new(8, 16);
        let mut now = Instant::now();
        for _ in 0..1000 {
            limit.observe(now, Duration::from_millis(1), Answer::Answered, 2);
            now += Duration::from_millis(1);
        }
        assert_eq!(limit.limit(), 8, "two in flight never ask for more than eight");
        run(&mut limit, now, 100, Duration::from_millis(1), Answer::Answered);
        assert_eq!(limit.limit(), 16);
        limit.set_ceiling(4);
        assert_eq!(limit.limit(), 4);
    }

    #[test]
    fn a_lasting_change_of_latency_becomes_usual_and_the_limit_grows_again() {
        let mut limit = Adaptive::new(32, 64);
        let now = run(
            &mut limit,
            Instant::now(),
            50,
            Duration::from_millis(2),
            Answer::Answered,
        );
        let now = run(&mut limit, now, 15, Duration::from_millis(20), Answer::Answered);
        let low = limit.limit();
        run(&mut limit, now, 200, Duration::from_millis(20), Answer::Answered);
        assert!(limit.limit() > low * 2, "stuck at {} after {low}", limit.limit());
    }
}

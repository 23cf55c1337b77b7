//! Adaptive concurrency: how many requests a lane keeps in flight, found from its
//! receiver's answers rather than configured, within `max_in_flight` (the ceiling).
//!
//! Additive increase, multiplicative decrease, as TCP and Vector's adaptive request
//! concurrency do, decided once per window of one round trip:
//!
//! - the receiver says it is overloaded (429, 503, no answer in time, a refused
//!   connection): the limit is cut by 30 %, at once, at most once per round trip;
//! - the window's mean round trip is past what is usual *by more than the usual
//!   variation* (mean + 3 deviations, and at least 1.5x the mean): the limit is cut by
//!   10 %;
//! - otherwise, if the window used the whole limit: one more.
//!
//! Until the first cut, the limit grows by one per answer instead (doubling per round
//! trip: TCP's slow start), so that a new lane with a backlog reaches what its receiver
//! takes in a few round trips rather than hundreds; growing by one per round trip from
//! the start, four lanes to one receiver let 20,000 deliveries pile up in their first
//! second, and the store then spent the machine on refusing and shedding.
//!
//! "Usual" is a slow moving average of the windows' means, and its deviation a slow
//! moving average of how far each window was from it. Why the deviation and whole
//! windows rather than single answers: a receiver sharing a busy machine answers with
//! a latency that jitters by 2x from one answer to the next without being any slower;
//! cutting on such jitter (the first version did, on single answers 2x the average)
//! held a bench lane to a sixth of what its receiver took. A receiver that really slows
//! down moves whole windows far past the usual jitter, for many windows in a row, and
//! is cut each time until its new latency becomes usual.
//!
//! Pure bookkeeping over the times the lane passes in, tested without a receiver.

use std::time::{Duration, Instant};

/// Weight of one window's mean round trip in the usual one (and of its distance from
/// the usual in the usual deviation): a lasting change becomes usual over some twenty
/// windows, while each of those windows cuts the limit first.
const USUAL_WEIGHT: f64 = 0.05;
/// A window slower than usual by more than this many usual deviations is slow...
const DEVIATIONS: f64 = 3.0;
/// ...and by at least this factor (a receiver that never varied is not slow at +1 %).
const SLOWER: f64 = 1.5;
/// A window closes this close to one round trip after its first answer.
const WINDOW_SLACK: f64 = 0.9;
/// The cut on an overload signal.
const OVERLOAD_CUT: f64 = 0.7;
/// The cut on a slow window.
const SLOWDOWN_CUT: f64 = 0.9;

/// One lane's concurrency limit.
#[derive(Debug, Clone)]
pub struct Adaptive {
    limit: f64,
    ceiling: f64,
    /// Usual round trip and its usual deviation, seconds (none before the first window).
    usual: Option<f64>,
    deviation: f64,
    window: Window,
    last_overload: Option<Instant>,
    /// No cut yet: growing by one per answer.
    slow_start: bool,
}

/// The answers of the current round trip.
#[derive(Debug, Clone, Default)]
struct Window {
    started: Option<Instant>,
    seconds: f64,
    answers: u32,
    /// Some answer in it was sent with the whole limit in use.
    full: bool,
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
            usual: None,
            deviation: 0.0,
            window: Window::default(),
            last_overload: None,
            slow_start: true,
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
        if answer == Answer::Overloaded {
            // Once per round trip: a burst of refusals answered together counts once.
            let round_trip = self.usual.unwrap_or(seconds);
            let may_cut = self
                .last_overload
                .is_none_or(|at| now.saturating_duration_since(at).as_secs_f64() >= round_trip);
            if may_cut {
                self.limit = (self.limit * OVERLOAD_CUT).max(1.0);
                self.last_overload = Some(now);
                self.slow_start = false;
                // The answers to requests sent before the cut say nothing of the new
                // limit.
                self.window = Window::default();
            }
            return;
        }
        let window = &mut self.window;
        let started = *window.started.get_or_insert(now);
        window.seconds += seconds;
        window.answers += 1;
        window.full |= in_flight as f64 >= self.limit.floor();
        // In slow start, half the limit in use is enough (as for TCP, RFC 7661): a lane
        // that just grew has not yet sent the requests its new limit allows.
        if self.slow_start && in_flight as f64 >= self.limit / 2.0 {
            self.limit = (self.limit + 1.0).min(self.ceiling);
        }
        let mean = window.seconds / f64::from(window.answers);
        // A round trip from its first answer, give or take (answers to one round of
        // requests come back together).
        if now.saturating_duration_since(started).as_secs_f64() < mean * WINDOW_SLACK {
            return;
        }
        let full = window.full;
        self.window = Window::default();
        let Some(usual) = self.usual else {
            self.usual = Some(mean);
            return;
        };
        let distance = (mean - usual).abs();
        let slow = mean > (usual + DEVIATIONS * self.deviation).max(usual * SLOWER);
        if slow {
            self.limit = (self.limit * SLOWDOWN_CUT).max(1.0);
            self.slow_start = false;
        } else {
            // The usual variation is learnt from usual windows only: a receiver that
            // slows for good is cut until its new latency is usual, not excused by
            // the jump itself.
            self.deviation += USUAL_WEIGHT * (distance - self.deviation);
            if full && !self.slow_start {
                self.limit = (self.limit + 1.0).min(self.ceiling);
            }
        }
        self.usual = Some(usual + USUAL_WEIGHT * (mean - usual));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `rounds` rounds of answers at full use of the limit, each answer
    /// `rtt(round, answer)` after its request, and returns the clock.
    fn run_with(
        limit: &mut Adaptive,
        mut now: Instant,
        rounds: usize,
        rtt: impl Fn(usize, usize) -> Duration,
        answer: Answer,
    ) -> Instant {
        for round in 0..rounds {
            let in_flight = limit.limit();
            let mut longest = Duration::ZERO;
            for index in 0..in_flight {
                let rtt = rtt(round, index);
                longest = longest.max(rtt);
                limit.observe(now, rtt, answer, in_flight);
            }
            now += longest;
        }
        now
    }

    fn run(limit: &mut Adaptive, now: Instant, rounds: usize, rtt: Duration, answer: Answer) -> Instant {
        run_with(limit, now, rounds, |_, _| rtt, answer)
    }

    #[test]
    fn a_fast_steady_receiver_gets_up_to_the_ceiling() {
        let mut limit = Adaptive::new(8, 64);
        run(
            &mut limit,
            Instant::now(),
            200,
            Duration::from_millis(1),
            Answer::Answered,
        );
        assert_eq!(limit.limit(), 64);
    }

    #[test]
    fn a_new_lane_doubles_per_round_trip_until_its_receiver_slows() {
        let mut limit = Adaptive::new(8, 128);
        let now = run(
            &mut limit,
            Instant::now(),
            4,
            Duration::from_millis(1),
            Answer::Answered,
        );
        assert_eq!(limit.limit(), 128, "8, 16, 32, 64, 128");
        // Once it has cut, it grows by one per round trip.
        let now = run(&mut limit, now, 3, Duration::from_millis(10), Answer::Answered);
        let cut = limit.limit();
        assert!(cut < 128, "{cut}");
        run(&mut limit, now, 3, Duration::from_millis(10), Answer::Answered);
        assert!(limit.limit() <= cut + 3, "{cut} -> {}", limit.limit());
    }

    #[test]
    fn answers_that_jitter_on_a_busy_machine_are_not_a_slowdown() {
        // Most answers in 1 ms, one in ten in 10 ms (its receiver lost the core for a
        // time slice): what a receiver sharing busy cores answers while it keeps up.
        let jitter = |round: usize, index: usize| {
            if (round * 31 + index * 17).is_multiple_of(10) {
                Duration::from_millis(10)
            } else {
                Duration::from_millis(1)
            }
        };
        let mut limit = Adaptive::new(8, 128);
        run_with(&mut limit, Instant::now(), 400, jitter, Answer::Answered);
        assert_eq!(limit.limit(), 128);
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
        assert_eq!(before, 64);
        let now = run(&mut limit, now, 20, Duration::from_millis(50), Answer::Answered);
        let slowed = limit.limit();
        assert!(slowed < before / 4, "{before} -> {slowed}");
        run(&mut limit, now, 300, Duration::from_millis(2), Answer::Answered);
        assert!(limit.limit() > slowed * 2, "{slowed} -> {}", limit.limit());
    }

    #[test]
    fn overload_cuts_by_a_third_once_per_round_trip() {
        let mut limit = Adaptive::new(40, 64);
        let now = Instant::now();
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
        run(&mut limit, later, 4, Duration::from_millis(10), Answer::Answered);
        assert!(limit.limit() >= 2, "grows back from one");
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

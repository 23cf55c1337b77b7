//! One destination's lane: takes its due deliveries from the outbox, keeps at most
//! `max_in_flight` requests going at the pace the destination and its receiver allow,
//! gathers deliveries into batches where the destination takes them, sends expired
//! deliveries to the dead letters unsent, and records each attempt.
//!
//! Lanes share nothing but the connectors (address rules, TLS) and the outbox: each
//! keeps its own connections to its receiver (`connections`), so a receiver that is
//! slow or dead only ever fills its own lane.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio_util::sync::CancellationToken;

use super::attempt::{Outcome, attempt, attempt_batch};
use super::batch::{Batch, size_in_batch};
use super::breaker::{Allowance, Breaker, State};
use super::concurrency::{Adaptive, Answer};
use super::connections::Connections;
use super::destination::{Destination, Target};
use super::pace::Pace;
use super::retry::{Disposition, next_delay};
use crate::event::trace::TraceParent;
use crate::metrics::{AttemptOutcome, LaneMetrics};
use crate::outbox::{Attempt, Delivery, Lanes, Next};

/// How long a lane waits before asking the outbox again after it failed.
const OUTBOX_ERROR_BACKOFF: Duration = Duration::from_secs(1);

/// One request in flight, yielding what it carried and how the attempt went.
/// (Also how many requests were in flight when it was sent, itself included.)
type Attempting = std::pin::Pin<Box<dyn std::future::Future<Output = (Sent, Outcome, usize)> + Send>>;

/// What one request carried.
enum Sent {
    /// One delivery.
    One(Delivery),
    /// A batch of them.
    Batch(Batch),
}

impl Sent {
    fn deliveries(&self) -> &[Delivery] {
        match self {
            Sent::One(delivery) => std::slice::from_ref(delivery),
            Sent::Batch(batch) => &batch.deliveries,
        }
    }
}

/// A destination's lane.
pub struct Lane {
    /// The destination; swapped in place when the config changes.
    pub destination: Arc<ArcSwap<Destination>>,
    /// Where deliveries wait.
    pub outbox: Arc<dyn Lanes>,
    /// The destination's attempt counters.
    pub metrics: LaneMetrics,
    /// The shared connectors its connections are made with.
    pub clients: super::client::Clients,
    /// Cancelled when the lane must stop.
    pub stop: CancellationToken,
    /// When stopping: still send what is due (memory storage, where whatever is left
    /// is lost), rather than only finish what is in flight (durable storage).
    pub drain: Arc<AtomicBool>,
    /// The destination's circuit breaker, shared with the admin API.
    pub breaker: Arc<std::sync::Mutex<Breaker>>,
    /// Attempts in flight, for the admin API.
    pub in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// How fast the lane may send, shared with the admin API.
    pub pace: Arc<std::sync::Mutex<Pace>>,
    /// How many requests it may have in flight, shared with the admin API.
    pub concurrency: Arc<std::sync::Mutex<Adaptive>>,
}

impl Lane {
    /// Runs until stopped, then waits for the attempts in flight.
    pub async fn run(self) {
        let name = self.destination.load().name.clone();
        let notify = self.outbox.notifier(&name);
        // The lane's requests run as futures of the lane's own task, not as tasks of
        // their own: no spawn and no cross-thread wake-up per delivery.
        let mut in_flight: FuturesUnordered<Attempting> = FuturesUnordered::new();
        let mut next_due: Option<Instant> = None;
        // With batches: deliveries taken from the outbox and waiting for company, with
        // when each was taken; and members of failed batches, to go again as they were.
        let mut forming: VecDeque<(Delivery, Instant)> = VecDeque::new();
        let mut again: VecDeque<Delivery> = VecDeque::new();
        // The lane's connections to its receiver, made again when a reload changes the
        // URL or what it may connect to.
        let mut connections: Option<Arc<Connections>> = None;
        loop {
            let stopping = self.stop.is_cancelled();
            let draining = stopping && self.drain.load(Ordering::SeqCst);
            let destination = self.destination.load_full();
            let allowance = self.breaker().allowance(Instant::now());
            let limit = if destination.adaptive {
                self.concurrency().limit().min(destination.max_in_flight)
            } else {
                destination.max_in_flight
            };
            let free = match allowance {
                Allowance::Any => limit.saturating_sub(in_flight.len()),
                Allowance::Probe => 1.min(limit.saturating_sub(in_flight.len())),
                Allowance::Wait(_) => 0,
            };
            let breaker_until = match allowance {
                Allowance::Wait(until) => until,
                _ => None,
            };
            // The destination's rate and the receiver's pause: requests, not deliveries.
            let (paced, pace_until) = self.pace().available(destination.rate, Instant::now());
            let free = free.min(paced);
            let blocked_until = breaker_until.max(pace_until);
            // A delivery per free request, or enough to fill a batch per free request
            // (not less what is gathering already: a batch that failed comes back whole
            // only if it is taken whole).
            let held = forming.len() + again.len();
            let wanted = match &destination.batch {
                None => free.saturating_sub(held),
                Some(batch) if held < free.saturating_mul(batch.max_events) => free.saturating_mul(batch.max_events),
                Some(_) => 0,
            };
            let mut claimed_any = false;
            let mut expired_any = false;
            let mut taken = Vec::new();
            if wanted > 0 && (!stopping || draining) {
                match self.outbox.claim(&name, wanted).await {
                    Ok(claimed) => {
                        next_due = claimed.next_due;
                        claimed_any = !claimed.deliveries.is_empty();
                        for delivery in claimed.deliveries {
                            if let Some(reason) = expired(&destination, &delivery, SystemTime::now()) {
                                self.expire(&destination, &delivery, reason).await;
                                expired_any = true;
                            } else {
                                taken.push(delivery);
                            }
                        }
                    }
                    Err(error) => {
                        tracing::error!(destination = %name, %error, "cannot take deliveries from the outbox");
                        next_due = Some(Instant::now() + OUTBOX_ERROR_BACKOFF);
                    }
                }
            }
            let mut requests: Vec<Sent> = Vec::new();
            match &destination.batch {
                None => {
                    // (Deliveries still gathering when a reload turned batches off go
                    // first, one by one.)
                    while requests.len() < free {
                        let Some(delivery) = again.pop_front().or_else(|| forming.pop_front().map(|(d, _)| d)) else {
                            break;
                        };
                        requests.push(Sent::One(delivery));
                    }
                    requests.extend(taken.into_iter().map(Sent::One));
                }
                Some(batching) => {
                    // A batch that failed comes back whole (its members share a retry
                    // time and are taken before newer deliveries): it goes again as it
                    // was, at once, with its id.
                    let (retried, fresh): (Vec<Delivery>, Vec<Delivery>) =
                        taken.into_iter().partition(|delivery| delivery.batch.is_some());
                    again.extend(retried);
                    while requests.len() < free
                        && let Some(first) = again.pop_front()
                    {
                        let mut members = vec![first];
                        while again.front().is_some_and(|next| next.batch == members[0].batch) {
                            members.extend(again.pop_front());
                        }
                        let members = self.unexpired(&destination, members).await;
                        if !members.is_empty() {
                            requests.push(Sent::Batch(Batch::new(members, &destination, batching.format)));
                        }
                    }
                    let now = Instant::now();
                    forming.extend(fresh.into_iter().map(|delivery| (delivery, now)));
                    // A probe goes at once, whatever it carries.
                    let flush = stopping || allowance == Allowance::Probe;
                    while requests.len() < free && !forming.is_empty() {
                        // The deliveries at the front that fit one request.
                        let (mut count, mut bytes) = (0, 0);
                        for (delivery, _) in &forming {
                            let size = size_in_batch(delivery, &destination);
                            if count == batching.max_events
                                || (count > 0 && bytes + size > batching.max_bytes.0 as usize)
                            {
                                break;
                            }
                            count += 1;
                            bytes += size;
                        }
                        let full = count == batching.max_events || count < forming.len();
                        let waited = forming
                            .front()
                            .is_some_and(|(_, since)| now.saturating_duration_since(*since) >= batching.max_wait.0);
                        if !(full || waited || flush) {
                            break;
                        }
                        let members = forming.drain(..count).map(|(delivery, _)| delivery).collect();
                        let members = self.unexpired(&destination, members).await;
                        if !members.is_empty() {
                            requests.push(Sent::Batch(Batch::new(members, &destination, batching.format)));
                        }
                    }
                }
            }
            if allowance == Allowance::Probe && requests.is_empty() {
                // Nothing to probe with: stay open until there is.
                self.breaker().no_probe(Instant::now());
            }
            if !requests.is_empty() {
                let connections = self.connections(&mut connections, &destination);
                for sent in requests {
                    self.pace().take(1);
                    let (connections, destination) = (connections.clone(), destination.clone());
                    let sent_with = in_flight.len() + 1;
                    in_flight.push(Box::pin(async move {
                        let connections = connections.as_deref();
                        let outcome = match &sent {
                            Sent::One(delivery) => attempt(connections, &destination, delivery).await,
                            Sent::Batch(batch) => attempt_batch(connections, &destination, batch).await,
                        };
                        (sent, outcome, sent_with)
                    }));
                }
            }
            self.in_flight.store(in_flight.len(), Ordering::Relaxed);
            let gathering = !forming.is_empty() || !again.is_empty();
            if stopping && in_flight.is_empty() && !claimed_any && (!gathering || !draining) {
                // Whatever is still gathering goes back to the store, pending: a
                // durable store sends it after the restart, and a destination removed
                // by a reload has it in its dead letters.
                for delivery in again.drain(..).chain(forming.drain(..).map(|(delivery, _)| delivery)) {
                    self.outbox.give_back(&delivery);
                }
                break;
            }
            if expired_any {
                // Their places are free again: take more at once.
                continue;
            }
            // With no request free, only a finished request, the end of a pause or of
            // the breaker's wait, or a stop can change anything: a delivery due or a
            // batch ready would only spin the loop.
            let due = if free > 0 {
                let due = match (next_due, blocked_until) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (None, Some(b)) => Some(b),
                    (due, None) => due,
                };
                // A batch still gathering goes when its first delivery has waited max_wait.
                let gathered = match (&destination.batch, forming.front()) {
                    (Some(batching), Some((_, since))) => since.checked_add(batching.max_wait.0),
                    _ => None,
                };
                match (due, gathered) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            } else {
                blocked_until
            };
            // Stopping, the lane waits only for what is in flight, unless it still has
            // deliveries to send while draining.
            let wake_at = due
                .map(tokio::time::Instant::from_std)
                .filter(|_| !stopping || (draining && gathering));
            // Connections idle too long close; the lane wakes when the next one is due to.
            let idle_at = connections
                .as_ref()
                .and_then(|connections| connections.close_idle(Instant::now()))
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                Some((sent, outcome, sent_with)) = in_flight.next(), if !in_flight.is_empty() => {
                    self.concurrency().observe(Instant::now(), outcome.attempt.latency, overload(&outcome), sent_with);
                    self.record(&destination, &sent, outcome).await;
                }
                _ = sleep_until(idle_at), if idle_at.is_some() => {}
                _ = notify.notified(), if !stopping && free > 0 && blocked_until.is_none() => {}
                _ = sleep_until(wake_at), if wake_at.is_some() => {}
                _ = self.stop.cancelled(), if !stopping => {}
                else => {
                    // Draining with deliveries gathering and nothing that could free a
                    // request (an open breaker without a time): what remains goes back.
                    for delivery in again.drain(..).chain(forming.drain(..).map(|(delivery, _)| delivery)) {
                        self.outbox.give_back(&delivery);
                    }
                    break;
                }
            }
        }
    }

    /// The members of a batch about to go that have not expired meanwhile (a pause or
    /// an open breaker can hold a gathering batch); the others go to the dead letters.
    async fn unexpired(&self, destination: &Destination, members: Vec<Delivery>) -> Vec<Delivery> {
        let mut kept = Vec::with_capacity(members.len());
        for delivery in members {
            match expired(destination, &delivery, SystemTime::now()) {
                Some(reason) => self.expire(destination, &delivery, reason).await,
                None => kept.push(delivery),
            }
        }
        kept
    }

    /// The lane's connections for `destination`: those it has when they go to its URL
    /// with its connector's rules, new ones otherwise; none for a `log:` destination.
    fn connections(
        &self,
        connections: &mut Option<Arc<Connections>>,
        destination: &Destination,
    ) -> Option<Arc<Connections>> {
        let Target::Http(url) = &destination.target else {
            return None;
        };
        let kind = (destination.allow_private, destination.roots.clone());
        match connections {
            Some(current) if current.serves(url, &kind) => {}
            _ => {
                let connector = self.clients.of(destination.allow_private, destination.roots.as_ref());
                *connections = Some(Arc::new(Connections::new(connector, url, kind)));
            }
        }
        connections.clone()
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        self.breaker.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn concurrency(&self) -> std::sync::MutexGuard<'_, Adaptive> {
        self.concurrency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends a delivery that waited past its `max_age` to the dead letters, unsent.
    async fn expire(&self, destination: &Destination, delivery: &Delivery, reason: String) {
        tracing::warn!(
            destination = %destination.name, event = %delivery.event.id, trace_id = %TraceId(&delivery.event.trace),
            "delivery expired: {reason}"
        );
        self.metrics.expired.inc();
        if let Err(error) = self.outbox.expired(delivery, reason).await {
            tracing::error!(destination = %destination.name, event = %delivery.event.id, %error, "cannot record the expiry");
        }
    }

    /// Records how a request went: once for the receiver's health, rate and pause,
    /// then for each delivery it carried.
    async fn record(&self, destination: &Destination, sent: &Sent, outcome: Outcome) {
        let Outcome {
            attempt,
            disposition,
            retry_after,
            allowed_rate,
        } = outcome;
        self.note_health(destination, disposition != Disposition::Retryable);
        if let Some(allowed) = allowed_rate {
            self.pace().allow(allowed);
        }
        if let (Some(429), Some(wait)) = (attempt.status, retry_after) {
            // "Too many requests, come back then": the whole destination waits, not
            // only this delivery.
            let wait = wait.min(destination.retry.max_retry_after.0);
            tracing::warn!(destination = %destination.name, wait_ms = wait.as_millis() as u64, "the receiver asked to pause (429 with Retry-After); the destination waits");
            self.metrics.paused.inc();
            self.pace().pause(Instant::now() + wait);
        }
        let in_batch = match sent {
            Sent::Batch(batch) => {
                let status = Status(attempt.status);
                let latency_ms = (attempt.latency.as_secs_f64() * 1e6).round() / 1e3;
                if disposition == Disposition::Delivered {
                    tracing::debug!(destination = %destination.name, batch = %batch.id, events = batch.deliveries.len(), %status, latency_ms, "batch delivered");
                } else {
                    tracing::warn!(
                        destination = %destination.name, batch = %batch.id, events = batch.deliveries.len(), %status, latency_ms,
                        error = attempt.error.as_deref().unwrap_or(""), "batch attempt failed"
                    );
                }
                true
            }
            Sent::One(_) => false,
        };
        // A batch's members that are retried come back together, due at one time (and
        // retries are taken before newer deliveries), so the batch goes again whole.
        let retry_at = in_batch.then(|| {
            let number = sent.deliveries().iter().map(|d| d.attempts + 1).max().unwrap_or(1);
            Instant::now() + next_delay(&destination.retry, number, retry_after, fastrand::f64())
        });
        for delivery in sent.deliveries() {
            self.settle(destination, delivery, &attempt, disposition, retry_after, retry_at)
                .await;
        }
    }

    /// Records one delivery's attempt and what becomes of it. A batch's members are
    /// retried at the batch's `retry_at`, and log their retries under the batch's line,
    /// not one by one.
    async fn settle(
        &self,
        destination: &Destination,
        delivery: &Delivery,
        attempt: &Attempt,
        disposition: Disposition,
        retry_after: Option<Duration>,
        retry_at: Option<Instant>,
    ) {
        let in_batch = retry_at.is_some();
        let trace_id = TraceId(&delivery.event.trace);
        let number = delivery.attempts + 1;
        // Microsecond precision: `0.309`, not `0.30859000000000003`, in the log.
        let latency_ms = (attempt.latency.as_secs_f64() * 1e6).round() / 1e3;
        let status = Status(attempt.status);
        let next = match disposition {
            Disposition::Delivered => {
                tracing::debug!(destination = %destination.name, event = %delivery.event.id, %trace_id, attempt = number, %status, latency_ms, "delivered");
                Next::Delivered
            }
            Disposition::Retryable if delivery.attempts < destination.retry.max_retries => {
                let delay = match retry_at {
                    Some(at) => at.saturating_duration_since(Instant::now()),
                    None => next_delay(&destination.retry, number, retry_after, fastrand::f64()),
                };
                match expired(destination, delivery, SystemTime::now() + delay) {
                    Some(reason) => {
                        tracing::warn!(
                            destination = %destination.name, event = %delivery.event.id, %trace_id, attempt = number, %status,
                            latency_ms, error = attempt.error.as_deref().unwrap_or(""),
                            "attempt failed, and the next would come too late: {reason}"
                        );
                        self.metrics.expired.inc();
                        Next::Dead(format!(
                            "{reason} (its next attempt was due in {} ms)",
                            delay.as_millis()
                        ))
                    }
                    None => {
                        if !in_batch {
                            tracing::warn!(
                                destination = %destination.name, event = %delivery.event.id, %trace_id, attempt = number,
                                %status, latency_ms, error = attempt.error.as_deref().unwrap_or(""),
                                retry_in_ms = delay.as_millis() as u64, "attempt failed; will retry"
                            );
                        }
                        Next::RetryAt(retry_at.unwrap_or_else(|| Instant::now() + delay))
                    }
                }
            }
            _ => {
                let why = attempt.error.clone().unwrap_or_else(|| "failed".into());
                let reason = if disposition == Disposition::Permanent {
                    format!("{why}; not retried")
                } else {
                    format!("{why}; gave up after {number} attempts")
                };
                tracing::error!(
                    destination = %destination.name, event = %delivery.event.id, %trace_id, attempt = number, %status,
                    latency_ms, response = %attempt.response, "delivery failed for good: {reason}"
                );
                Next::Dead(reason)
            }
        };
        let counted = match next {
            Next::Delivered => AttemptOutcome::Delivered,
            Next::RetryAt(_) => AttemptOutcome::Retry,
            Next::Dead(_) => AttemptOutcome::Dead,
        };
        self.metrics.attempted(counted, attempt.latency);
        // A batch retried goes again whole: its members remember it.
        let remembered;
        let delivery = match (&attempt.batch, &next) {
            (Some(batch), Next::RetryAt(_)) => {
                remembered = Delivery {
                    batch: Some(batch.clone()),
                    ..delivery.clone()
                };
                &remembered
            }
            _ => delivery,
        };
        if let Err(error) = self.outbox.complete(delivery, attempt, next).await {
            tracing::error!(destination = %destination.name, event = %delivery.event.id, %error, "cannot record the attempt");
        }
    }
}

impl Lane {
    /// Feeds the breaker and logs its transitions.
    fn note_health(&self, destination: &Destination, healthy: bool) {
        let mut breaker = self.breaker();
        let before = breaker.state();
        breaker.record(healthy, Instant::now());
        match (before, breaker.state()) {
            (State::Closed { .. }, State::Open { cooldown, .. }) => tracing::warn!(
                destination = %destination.name,
                cooldown_s = cooldown.as_secs_f64(),
                "circuit breaker opened: the receiver keeps failing; deliveries wait, then one probe goes"
            ),
            (State::Probing { .. }, State::Open { cooldown, .. }) => tracing::warn!(
                destination = %destination.name,
                cooldown_s = cooldown.as_secs_f64(),
                "circuit breaker probe failed; waiting longer"
            ),
            (State::Probing { .. } | State::Open { .. }, State::Closed { .. }) => {
                tracing::info!(destination = %destination.name, "circuit breaker closed: the receiver answers again")
            }
            _ => {}
        }
    }
}

/// What an attempt says of the receiver's load: overloaded when it answered 429 or 503,
/// or did not answer (a timeout, a refused connection). A delivery made without HTTP
/// (`log:`) has no status either, but is no sign of overload when it went through.
fn overload(outcome: &Outcome) -> Answer {
    match (outcome.attempt.status, outcome.disposition) {
        (Some(429 | 503), _) => Answer::Overloaded,
        (None, disposition) if disposition != Disposition::Delivered => Answer::Overloaded,
        _ => Answer::Answered,
    }
}

/// Why a delivery is expired at `at` (past its destination's or its route's
/// `max_age`), if it is: the dead letter's reason, which starts with `expired`.
fn expired(destination: &Destination, delivery: &Delivery, at: SystemTime) -> Option<String> {
    let max_age = destination.expiry.max_age(&delivery.event.route)?;
    let age = at.duration_since(delivery.accepted_at).unwrap_or(Duration::ZERO);
    (age > max_age).then(|| {
        format!(
            "expired: the event is {} old, past max_age ({}); not sent late",
            humantime::format_duration(Duration::from_millis(age.as_millis() as u64)),
            humantime::format_duration(max_age)
        )
    })
}

/// An event's trace id in the log (`-` without one); formatted only when a log line
/// is written.
struct TraceId<'a>(&'a Option<String>);

impl std::fmt::Display for TraceId<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_deref().and_then(TraceParent::parse) {
            Some(trace) => f.write_str(&trace.trace_id_hex()),
            None => f.write_str("-"),
        }
    }
}

/// An attempt's HTTP status in the log, `-` when there was no answer; formatted only
/// when a log line is written.
struct Status(Option<u16>);

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(status) => write!(f, "{status}"),
            None => f.write_str("-"),
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: Option<u16>, disposition: Disposition) -> Outcome {
        Outcome {
            attempt: Attempt {
                status,
                error: None,
                ..Attempt::answered(200)
            },
            disposition,
            retry_after: None,
            allowed_rate: None,
        }
    }

    #[test]
    fn overload_is_429_503_or_no_answer_and_never_a_log_delivery() {
        assert_eq!(
            overload(&outcome(Some(429), Disposition::Retryable)),
            Answer::Overloaded
        );
        assert_eq!(
            overload(&outcome(Some(503), Disposition::Retryable)),
            Answer::Overloaded
        );
        assert_eq!(overload(&outcome(None, Disposition::Retryable)), Answer::Overloaded);
        assert_eq!(overload(&outcome(Some(500), Disposition::Retryable)), Answer::Answered);
        assert_eq!(overload(&outcome(Some(200), Disposition::Delivered)), Answer::Answered);
        // `log:` writes to stdout: no status, delivered.
        assert_eq!(overload(&outcome(None, Disposition::Delivered)), Answer::Answered);
    }
}

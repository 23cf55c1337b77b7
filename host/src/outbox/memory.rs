//! The in-memory outbox: fast, bounded, and lost when the process stops.
//!
//! Per destination, due deliveries wait in a FIFO and retries in a heap ordered by
//! their time. The total is bounded by `max_pending`; past it, `enqueue` refuses
//! rather than grow. Ids of recently accepted events are remembered so that a sender
//! retrying with the same `Idempotency-Key` does not cause a second delivery.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{Attempt, Claimed, Delivery, DeliveryId, Enqueued, Next, Outbox, OutboxError};
use crate::event::Event;

/// How many recent event ids are remembered for deduplication.
pub const REMEMBERED_IDS: usize = 100_000;

/// The in-memory outbox.
pub struct MemoryOutbox {
    max_pending: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: DeliveryId,
    pending: usize,
    lanes: HashMap<Arc<str>, Lane>,
    recent: HashSet<String>,
    recent_order: VecDeque<String>,
}

#[derive(Default)]
struct Lane {
    ready: VecDeque<Delivery>,
    waiting: BinaryHeap<Reverse<Waiting>>,
    notify: Arc<Notify>,
}

/// A delivery waiting for its retry time; ordered by time, then by id.
struct Waiting {
    at: Instant,
    delivery: Delivery,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.delivery.id) == (other.at, other.delivery.id)
    }
}

impl Eq for Waiting {}

impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.delivery.id).cmp(&(other.at, other.delivery.id))
    }
}

impl MemoryOutbox {
    /// An empty outbox holding at most `max_pending` deliveries.
    pub fn new(max_pending: usize) -> Self {
        MemoryOutbox {
            max_pending,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl State {
    fn lane(&mut self, destination: &str) -> &mut Lane {
        if !self.lanes.contains_key(destination) {
            self.lanes.insert(destination.into(), Lane::default());
        }
        self.lanes.get_mut(destination).expect("inserted above")
    }

    fn remember(&mut self, id: &str) {
        if self.recent.insert(id.to_string()) {
            self.recent_order.push_back(id.to_string());
            if self.recent_order.len() > REMEMBERED_IDS
                && let Some(old) = self.recent_order.pop_front()
            {
                self.recent.remove(&old);
            }
        }
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn enqueue(
        &self,
        event: Arc<Event>,
        destinations: &[Arc<str>],
    ) -> Result<Enqueued, OutboxError> {
        let mut state = self.state();
        if state.recent.contains(&event.id) {
            return Ok(Enqueued::Duplicate);
        }
        if state.pending + destinations.len() > self.max_pending {
            return Err(OutboxError::Full {
                pending: state.pending,
                limit: self.max_pending,
                retry_after: Duration::from_secs(1),
            });
        }
        state.remember(&event.id);
        let accepted_at = SystemTime::now();
        for destination in destinations {
            state.next_id += 1;
            let delivery = Delivery {
                id: state.next_id,
                event: event.clone(),
                destination: destination.clone(),
                attempts: 0,
                accepted_at,
            };
            state.pending += 1;
            let lane = state.lane(destination);
            lane.ready.push_back(delivery);
            lane.notify.notify_one();
        }
        Ok(Enqueued::Accepted)
    }

    async fn claim(&self, destination: &str, max: usize) -> Result<Claimed, OutboxError> {
        let mut state = self.state();
        let lane = state.lane(destination);
        let now = Instant::now();
        while lane.waiting.peek().is_some_and(|Reverse(w)| w.at <= now) {
            if let Some(Reverse(waiting)) = lane.waiting.pop() {
                lane.ready.push_back(waiting.delivery);
            }
        }
        let take = max.min(lane.ready.len());
        Ok(Claimed {
            deliveries: lane.ready.drain(..take).collect(),
            next_due: lane.waiting.peek().map(|Reverse(w)| w.at),
        })
    }

    async fn complete(
        &self,
        delivery: &Delivery,
        _attempt: &Attempt,
        next: Next,
    ) -> Result<(), OutboxError> {
        let mut state = self.state();
        match next {
            Next::Delivered | Next::Dead(_) => state.pending = state.pending.saturating_sub(1),
            Next::RetryAt(at) => {
                let mut delivery = delivery.clone();
                delivery.attempts += 1;
                let lane = state.lane(&delivery.destination.clone());
                lane.waiting.push(Reverse(Waiting { at, delivery }));
                lane.notify.notify_one();
            }
        }
        Ok(())
    }

    fn notifier(&self, destination: &str) -> Arc<Notify> {
        self.state().lane(destination).notify.clone()
    }

    fn pending(&self) -> usize {
        self.state().pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Arc<Event> {
        Arc::new(Event::new(id, "r", "{}"))
    }

    fn attempt() -> Attempt {
        Attempt {
            at: SystemTime::now(),
            status: Some(500),
            latency: Duration::ZERO,
            error: None,
            response: String::new(),
        }
    }

    #[tokio::test]
    async fn deliveries_wait_per_destination_and_retries_wait_for_their_time() {
        let outbox = MemoryOutbox::new(10);
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        outbox
            .enqueue(event("e1"), &[a.clone(), b.clone()])
            .await
            .unwrap();
        assert_eq!(outbox.pending(), 2);
        let claimed = outbox.claim("a", 10).await.unwrap();
        assert_eq!(claimed.deliveries.len(), 1);
        assert!(outbox.claim("a", 10).await.unwrap().deliveries.is_empty());

        let later = Instant::now() + Duration::from_secs(60);
        outbox
            .complete(&claimed.deliveries[0], &attempt(), Next::RetryAt(later))
            .await
            .unwrap();
        let claimed_again = outbox.claim("a", 10).await.unwrap();
        assert!(claimed_again.deliveries.is_empty());
        assert_eq!(claimed_again.next_due, Some(later));

        let now = Instant::now();
        let b_claimed = outbox.claim("b", 10).await.unwrap();
        outbox
            .complete(&b_claimed.deliveries[0], &attempt(), Next::RetryAt(now))
            .await
            .unwrap();
        let retried = outbox.claim("b", 10).await.unwrap();
        assert_eq!(retried.deliveries[0].attempts, 1);
        outbox
            .complete(&retried.deliveries[0], &attempt(), Next::Delivered)
            .await
            .unwrap();
        assert_eq!(outbox.pending(), 1);
    }

    #[tokio::test]
    async fn refuses_past_the_limit_and_ignores_repeated_ids() {
        let outbox = MemoryOutbox::new(3);
        let dests: Vec<Arc<str>> = vec!["a".into(), "b".into()];
        assert_eq!(
            outbox.enqueue(event("e1"), &dests).await.unwrap(),
            Enqueued::Accepted
        );
        assert_eq!(
            outbox.enqueue(event("e1"), &dests).await.unwrap(),
            Enqueued::Duplicate
        );
        let full = outbox.enqueue(event("e2"), &dests).await.unwrap_err();
        assert!(
            matches!(
                full,
                OutboxError::Full {
                    pending: 2,
                    limit: 3,
                    ..
                }
            ),
            "{full:?}"
        );
        assert_eq!(outbox.pending(), 2);
    }
}

//! The in-memory outbox: fast, bounded, and lost when the process stops.
//!
//! The schedule of pending deliveries is bounded by `max_pending` deliveries and
//! `max_bytes` of events; past either, `enqueue` refuses rather than grow. Ids of
//! recently accepted events are remembered so that a sender retrying with the same
//! `Idempotency-Key` does not cause a second delivery, and a bounded journal keeps recent
//! events and dead deliveries for the admin API.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::journal::Journal;
use super::quota::Quotas;
use super::recent::RecentIds;
use super::schedule::{DestinationLoad, RoomWait, Schedule};
use super::{
    Attempt, AttemptCursor, AttemptPage, AttemptQuery, Claimed, Delivery, DeliveryId, DeliveryQuery, DeliveryRecord,
    DestinationCounts, Enqueue, Enqueued, EventRecord, Lanes, Next, OutboxError, OutboxStats, Records,
};
use crate::event::Event;

/// The in-memory outbox.
pub struct MemoryOutbox {
    max_pending: usize,
    max_bytes: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: DeliveryId,
    schedule: Schedule,
    journal: Journal,
    recent: RecentIds,
}

impl MemoryOutbox {
    /// An empty outbox holding at most `max_pending` deliveries and `max_bytes` of
    /// events.
    pub fn new(max_pending: usize, max_bytes: u64) -> Self {
        MemoryOutbox {
            max_pending,
            max_bytes,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl Enqueue for MemoryOutbox {
    async fn enqueue(&self, event: Arc<Event>) -> Result<Enqueued, OutboxError> {
        let mut room = RoomWait::default();
        loop {
            match self.admit(&event, &room) {
                Ok(enqueued) => return enqueued,
                // Then another look (past the wait's end, the last, whatever it says).
                Err(signal) => room.wait(signal).await,
            }
        }
    }
}

impl MemoryOutbox {
    /// Takes the event in, or refuses it; or, when the store or a share is full and
    /// `room` may still wait, the signal to wait on before trying again.
    fn admit(&self, event: &Arc<Event>, room: &RoomWait) -> Result<Result<Enqueued, OutboxError>, Arc<Notify>> {
        let mut state = self.state();
        let key = state.recent.key(&event.id);
        if state.recent.contains(key) {
            return Ok(Ok(Enqueued::Duplicate));
        }
        let accepted_at = SystemTime::now();
        let mut deliveries = Vec::with_capacity(event.destinations.len());
        for destination in &event.destinations {
            state.next_id += 1;
            deliveries.push(Delivery {
                id: state.next_id,
                event: event.clone(),
                destination: destination.0.clone(),
                attempts: 0,
                accepted_at,
                batch: None,
            });
        }
        let bytes = deliveries.first().map_or(0, super::schedule::event_bytes);
        let admission = state
            .schedule
            .admit(&deliveries, bytes, self.max_pending, self.max_bytes);
        if room.wanted(&admission) {
            return Err(state.schedule.room());
        }
        let admission = match admission {
            Ok(admission) => admission,
            Err(error) => return Ok(Err(error)),
        };
        state.recent.remember(key);
        state.journal.accepted(&deliveries);
        for (delivery, dead) in deliveries.into_iter().zip(admission.dead) {
            match dead {
                None => state.schedule.add(delivery, None),
                Some(reason) => {
                    state.schedule.shed(&delivery.destination);
                    state.journal.bury(delivery, &reason);
                }
            }
        }
        Ok(Ok(Enqueued::Accepted))
    }
}

#[async_trait]
impl Lanes for MemoryOutbox {
    async fn claim(&self, destination: &str, max: usize) -> Result<Claimed, OutboxError> {
        Ok(self.state().schedule.claim(destination, max))
    }

    async fn complete(&self, delivery: &Delivery, attempt: &Attempt, next: Next) -> Result<(), OutboxError> {
        let mut state = self.state();
        state.journal.attempted(delivery, attempt, &next);
        match next {
            Next::Delivered | Next::Dead(_) => state.schedule.finish(delivery),
            Next::RetryAt(at) => {
                let mut delivery = delivery.clone();
                delivery.attempts += 1;
                state.schedule.put_back(delivery, Some(at));
            }
        }
        Ok(())
    }

    fn give_back(&self, delivery: &Delivery) {
        self.state().schedule.put_back(delivery.clone(), None);
    }

    async fn expired(&self, delivery: &Delivery, reason: String) -> Result<(), OutboxError> {
        let mut state = self.state();
        state.schedule.finish(delivery);
        state.journal.bury(delivery.clone(), &reason);
        Ok(())
    }

    fn notifier(&self, destination: &str) -> Arc<Notify> {
        self.state().schedule.notifier(destination)
    }
}

#[async_trait]
impl Records for MemoryOutbox {
    fn set_quotas(&self, quotas: Quotas) {
        self.state().schedule.set_quotas(quotas);
    }

    fn loads(&self) -> Vec<DestinationLoad> {
        self.state().schedule.loads()
    }

    fn stats(&self) -> OutboxStats {
        let state = self.state();
        OutboxStats {
            pending: state.schedule.pending(),
            pending_bytes: state.schedule.pending_bytes(),
            dead: state.journal.dead_count(),
            commits: 0,
        }
    }

    async fn event(&self, id: &str) -> Result<Option<EventRecord>, OutboxError> {
        Ok(self.state().journal.event(id))
    }

    async fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, OutboxError> {
        Ok(self.state().journal.deliveries(query))
    }

    async fn replay(&self, id: DeliveryId) -> Result<bool, OutboxError> {
        let mut state = self.state();
        let Some(delivery) = state.journal.resurrect(id) else {
            return Ok(false);
        };
        state.schedule.add(delivery, None);
        Ok(true)
    }

    async fn replay_dead(&self, destination: &str) -> Result<usize, OutboxError> {
        let mut state = self.state();
        let ids = state.journal.dead_of(destination);
        for id in &ids {
            if let Some(delivery) = state.journal.resurrect(*id) {
                state.schedule.add(delivery, None);
            }
        }
        Ok(ids.len())
    }

    async fn attempts(
        &self,
        query: &AttemptQuery,
        cursor: Option<AttemptCursor>,
        max: usize,
    ) -> Result<AttemptPage, OutboxError> {
        let max = max.clamp(1, super::attempts::MAX_PAGE);
        Ok(self.state().journal.attempts(query, cursor, max))
    }

    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, OutboxError> {
        let state = self.state();
        Ok(DestinationCounts {
            queued: state.schedule.queued(destination),
            dead: state.journal.dead_of_count(destination),
        })
    }

    async fn retire(&self, destination: &str, reason: &str) -> Result<usize, OutboxError> {
        let mut state = self.state();
        let removed = state.schedule.remove_destination(destination);
        let count = removed.len();
        for delivery in removed {
            state.journal.bury(delivery, reason);
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::outbox::DeliveryState;

    fn event(id: &str) -> Arc<Event> {
        Arc::new(Event::new(id, "r", "{}"))
    }

    /// The event bound for these destinations.
    fn bound(event: Arc<Event>, destinations: &[Arc<str>]) -> Arc<Event> {
        let mut event = Arc::unwrap_or_clone(event);
        event.destinations = destinations.iter().map(|d| d.clone().into()).collect();
        Arc::new(event)
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_store_waits_a_few_milliseconds_for_room_before_refusing() {
        let outbox = Arc::new(MemoryOutbox::new(1, 1 << 20));
        let dests: Vec<Arc<str>> = vec!["a".into()];
        outbox.enqueue(bound(event("e1"), &dests)).await.unwrap();
        let claimed = outbox.claim("a", 1).await.unwrap();
        let waiting = tokio::spawn({
            let (outbox, event) = (outbox.clone(), bound(event("e2"), &dests));
            async move { outbox.enqueue(event).await }
        });
        // A delivery finishes within the wait: the waiting event takes its place.
        tokio::time::sleep(super::super::schedule::ROOM_WAIT / 2).await;
        assert!(!waiting.is_finished(), "answered before the wait");
        outbox
            .complete(&claimed.deliveries[0], &Attempt::answered(200), Next::Delivered)
            .await
            .unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), Enqueued::Accepted);
        // Nothing finishes: refused once the wait is over, not before.
        let started = tokio::time::Instant::now();
        let refused = outbox.enqueue(bound(event("e3"), &dests)).await;
        assert!(matches!(refused, Err(OutboxError::Full { .. })), "{refused:?}");
        assert_eq!(started.elapsed(), super::super::schedule::ROOM_WAIT);
    }

    #[tokio::test]
    async fn deliveries_are_claimed_retried_and_recorded() {
        let outbox = MemoryOutbox::new(10, 1 << 20);
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        outbox
            .enqueue(bound(event("e1"), &[a.clone(), b.clone()]))
            .await
            .unwrap();
        assert_eq!(outbox.pending(), 2);
        let claimed = outbox.claim("a", 10).await.unwrap();
        assert_eq!(claimed.deliveries.len(), 1);
        assert!(outbox.claim("a", 10).await.unwrap().deliveries.is_empty());
        outbox
            .complete(
                &claimed.deliveries[0],
                &Attempt::answered(500),
                Next::RetryAt(Instant::now()),
            )
            .await
            .unwrap();
        let retried = outbox.claim("a", 10).await.unwrap();
        assert_eq!(retried.deliveries[0].attempts, 1);
        outbox
            .complete(&retried.deliveries[0], &Attempt::answered(200), Next::Delivered)
            .await
            .unwrap();
        assert_eq!(outbox.pending(), 1);

        let record = outbox.event("e1").await.unwrap().unwrap();
        let a_record = record.deliveries.iter().find(|d| d.destination == "a").unwrap();
        assert_eq!(a_record.state, DeliveryState::Delivered);
        assert_eq!(
            a_record.history.iter().map(|h| h.status).collect::<Vec<_>>(),
            [Some(500), Some(200)]
        );
    }

    #[tokio::test]
    async fn refuses_past_the_limits_and_ignores_repeated_ids() {
        let outbox = MemoryOutbox::new(3, 1 << 20);
        let dests: Vec<Arc<str>> = vec!["a".into(), "b".into()];
        assert_eq!(
            outbox.enqueue(bound(event("e1"), &dests)).await.unwrap(),
            Enqueued::Accepted
        );
        assert_eq!(
            outbox.enqueue(bound(event("e1"), &dests)).await.unwrap(),
            Enqueued::Duplicate
        );
        let full = outbox.enqueue(bound(event("e2"), &dests)).await.unwrap_err();
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
        let small = MemoryOutbox::new(100, 2000);
        let big = |id: &str| Arc::new(Event::new(id, "r", "x".repeat(1000)));
        assert!(small.enqueue(bound(big("big1"), &dests)).await.is_ok());
        assert!(matches!(
            small.enqueue(bound(big("big2"), &dests)).await,
            Err(OutboxError::FullBytes { .. })
        ));
        let huge = Arc::new(Event::new("huge", "r", "x".repeat(5000)));
        assert!(matches!(
            small.enqueue(bound(huge, &dests)).await,
            Err(OutboxError::NeverFits { limit: 2000, .. })
        ));
    }

    #[tokio::test]
    async fn the_delivery_log_is_read_in_pages_with_its_filters() {
        let outbox = MemoryOutbox::new(100, 1 << 20);
        let dests: Vec<Arc<str>> = vec!["a".into(), "b".into()];
        for n in 0..5 {
            outbox.enqueue(bound(event(&format!("e{n}")), &dests)).await.unwrap();
            for name in ["a", "b"] {
                let claimed = outbox.claim(name, 10).await.unwrap();
                let status = if name == "a" { 200 } else { 503 };
                let next = if status == 200 {
                    Next::Delivered
                } else {
                    Next::Dead("gave up".into())
                };
                outbox
                    .complete(&claimed.deliveries[0], &Attempt::answered(status), next)
                    .await
                    .unwrap();
            }
        }
        let all = AttemptQuery::default();
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let page = outbox.attempts(&all, cursor, 3).await.unwrap();
            assert!(page.attempts.len() <= 4, "a page ends at an event's end");
            seen.extend(
                page.attempts
                    .iter()
                    .map(|a| (a.event_id.clone(), a.destination.clone())),
            );
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 10, "{seen:?}");
        assert_eq!(seen[0], ("e0".to_string(), "a".to_string()));
        let failed = AttemptQuery {
            status: Some(crate::outbox::StatusFilter::Failed),
            newest_first: true,
            ..AttemptQuery::default()
        };
        let page = outbox.attempts(&failed, None, 2).await.unwrap();
        let ids: Vec<_> = page.attempts.iter().map(|a| (a.event_id.as_str(), a.status)).collect();
        assert_eq!(ids, [("e4", Some(503)), ("e3", Some(503))]);
        let only_a = AttemptQuery {
            destination: Some("a".into()),
            ..AttemptQuery::default()
        };
        assert_eq!(outbox.attempts(&only_a, None, 100).await.unwrap().attempts.len(), 5);
        assert_eq!(
            outbox.destination_counts("b").await.unwrap(),
            DestinationCounts { queued: 0, dead: 5 }
        );
    }

    #[tokio::test]
    async fn dead_deliveries_replay_and_retired_destinations_die() {
        let outbox = MemoryOutbox::new(10, 1 << 20);
        let dests: Vec<Arc<str>> = vec!["a".into(), "b".into()];
        outbox.enqueue(bound(event("e1"), &dests)).await.unwrap();
        let claimed = outbox.claim("a", 10).await.unwrap();
        outbox
            .complete(
                &claimed.deliveries[0],
                &Attempt::answered(400),
                Next::Dead("answered 400; not retried".into()),
            )
            .await
            .unwrap();
        assert_eq!(outbox.stats().dead, 1);
        let dead = outbox
            .deliveries(&DeliveryQuery {
                state: Some(DeliveryState::Dead),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(dead.len(), 1);
        assert!(outbox.replay(dead[0].id).await.unwrap());
        assert!(!outbox.replay(dead[0].id).await.unwrap());
        assert_eq!(outbox.claim("a", 10).await.unwrap().deliveries[0].attempts, 0);

        assert_eq!(outbox.retire("b", "destination b was removed").await.unwrap(), 1);
        let record = outbox.event("e1").await.unwrap().unwrap();
        let b = record.deliveries.iter().find(|d| d.destination == "b").unwrap();
        assert_eq!(
            (b.state, b.last_error.as_deref()),
            (DeliveryState::Dead, Some("destination b was removed"))
        );
    }
}

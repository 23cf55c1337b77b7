//! The in-memory store's record of recent events, their deliveries and attempts, and of
//! dead deliveries, bounded so that a long-running Weir does not grow: the oldest
//! finished events are forgotten first.

use std::collections::{HashMap, VecDeque};
use std::time::{Instant, SystemTime};

use super::record::{AttemptRecord, DeliveryRecord, DeliveryState, EventRecord, MAX_HISTORY, timestamp};
use super::{Attempt, Delivery, DeliveryId, DeliveryQuery, Next};

/// Events remembered for the admin API in memory mode.
pub const JOURNAL_EVENTS: usize = 10_000;

/// Dead deliveries kept for replay in memory mode.
pub const MAX_DEAD: usize = 10_000;

/// Recent events and dead deliveries.
#[derive(Default)]
pub struct Journal {
    events: HashMap<String, EventRecord>,
    order: VecDeque<String>,
    dead: HashMap<DeliveryId, Delivery>,
    dead_order: VecDeque<DeliveryId>,
}

impl Journal {
    /// Records an accepted event's deliveries.
    pub fn accepted(&mut self, deliveries: &[Delivery]) {
        let Some(first) = deliveries.first() else { return };
        let now = timestamp(SystemTime::now());
        let record = EventRecord {
            id: first.event.id.clone(),
            route: first.event.route.clone(),
            accepted_at: timestamp(first.accepted_at),
            deliveries: deliveries
                .iter()
                .map(|d| DeliveryRecord {
                    id: d.id,
                    event_id: d.event.id.clone(),
                    destination: d.destination.to_string(),
                    state: DeliveryState::Pending,
                    attempts: 0,
                    next_attempt_at: None,
                    last_error: None,
                    last_status: None,
                    updated_at: now.clone(),
                    history: Vec::new(),
                })
                .collect(),
        };
        if self.events.insert(record.id.clone(), record).is_none() {
            self.order.push_back(first.event.id.clone());
        }
        while self.order.len() > JOURNAL_EVENTS {
            if let Some(old) = self.order.pop_front() {
                self.events.remove(&old);
            }
        }
    }

    /// Records an attempt and its consequence.
    pub fn attempted(&mut self, delivery: &Delivery, attempt: &Attempt, next: &Next) {
        if let Some(record) = self.record(delivery) {
            record.attempts = delivery.attempts + 1;
            record.last_status = attempt.status;
            record.last_error = attempt.error.clone();
            record.updated_at = timestamp(SystemTime::now());
            record.history.push(AttemptRecord::of(attempt));
            if record.history.len() > MAX_HISTORY {
                record.history.remove(MAX_HISTORY / 2);
            }
            match next {
                Next::Delivered => {
                    record.state = DeliveryState::Delivered;
                    record.next_attempt_at = None;
                }
                Next::RetryAt(at) => {
                    record.next_attempt_at = Some(timestamp(
                        SystemTime::now() + at.saturating_duration_since(Instant::now()),
                    ));
                }
                Next::Dead(reason) => {
                    record.state = DeliveryState::Dead;
                    record.last_error = Some(reason.clone());
                    record.next_attempt_at = None;
                }
            }
        }
        if let Next::Dead(reason) = next {
            self.bury(delivery.clone(), reason);
        }
    }

    /// Keeps a dead delivery for replay.
    pub fn bury(&mut self, delivery: Delivery, reason: &str) {
        if let Some(record) = self.record(&delivery) {
            record.state = DeliveryState::Dead;
            record.last_error = Some(reason.to_string());
            record.updated_at = timestamp(SystemTime::now());
        }
        self.dead_order.push_back(delivery.id);
        self.dead.insert(delivery.id, delivery);
        while self.dead_order.len() > MAX_DEAD {
            if let Some(old) = self.dead_order.pop_front()
                && let Some(lost) = self.dead.remove(&old)
            {
                tracing::error!(event = %lost.event.id, destination = %lost.destination, "more than {MAX_DEAD} dead deliveries in memory: the oldest is forgotten");
            }
        }
    }

    /// Takes a dead delivery out for replay, marking it pending again.
    pub fn resurrect(&mut self, id: DeliveryId) -> Option<Delivery> {
        let mut delivery = self.dead.remove(&id)?;
        self.dead_order.retain(|d| *d != id);
        delivery.attempts = 0;
        if let Some(record) = self.record(&delivery) {
            record.state = DeliveryState::Pending;
            record.updated_at = timestamp(SystemTime::now());
        }
        Some(delivery)
    }

    /// Dead deliveries of a destination, oldest first.
    pub fn dead_of(&self, destination: &str) -> Vec<DeliveryId> {
        self.dead_order
            .iter()
            .filter(|id| self.dead.get(id).is_some_and(|d| &*d.destination == destination))
            .copied()
            .collect()
    }

    /// How many dead deliveries are kept.
    pub fn dead_count(&self) -> usize {
        self.dead.len()
    }

    fn record(&mut self, delivery: &Delivery) -> Option<&mut DeliveryRecord> {
        self.events
            .get_mut(&delivery.event.id)?
            .deliveries
            .iter_mut()
            .find(|d| d.id == delivery.id)
    }

    /// An event's record.
    pub fn event(&self, id: &str) -> Option<EventRecord> {
        self.events.get(id).cloned()
    }

    /// Deliveries matching a query, most recent first.
    pub fn deliveries(&self, query: &DeliveryQuery) -> Vec<DeliveryRecord> {
        self.order
            .iter()
            .rev()
            .filter_map(|id| self.events.get(id))
            .flat_map(|event| event.deliveries.iter())
            .filter(|d| query.state.is_none_or(|state| d.state == state))
            .filter(|d| query.destination.as_deref().is_none_or(|name| d.destination == name))
            .take(query.limit())
            .cloned()
            .collect()
    }
}

//! The in-memory schedule of pending deliveries, shared by every outbox: per
//! destination, a FIFO of due deliveries, a heap of retries ordered by time, and, for a
//! destination with `order_by`, the deliveries held behind an earlier one of their key
//! ([`KeyOrder`]); and the totals the store limits are checked against.
//!
//! A durable store keeps the same schedule in memory (rebuilt from disk at start), so
//! lanes never wait on the disk to find their next delivery.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Notify;

use super::order::{Due, KeyOrder};
use super::quota::{Quota, Quotas};
use super::{Claimed, Delivery, DeliveryId, OutboxError};
use crate::config::WhenFull;

/// How long a sender refused for a full store is told to wait.
pub const FULL_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// How long ingest waits for room in a full store (or a full `refuse` share) before
/// refusing the event. Under a closed loop of senders faster than the receivers, an
/// instant 503 only brings the next request at once: the machine then spends itself
/// on refusing. A few milliseconds' wait slows the senders to the receivers' pace
/// instead; it stays bounded, so a dead receiver never holds a sender longer than this.
pub const ROOM_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// A destination that finished a delivery this recently is still delivering.
pub const PROGRESS: std::time::Duration = std::time::Duration::from_secs(1);

/// One event's wait for room: at most [`ROOM_WAIT`] in all, however many deliveries
/// finish meanwhile without making room for it.
#[derive(Default)]
pub struct RoomWait {
    deadline: Option<tokio::time::Instant>,
}

impl RoomWait {
    /// Whether `admission` is one to wait on: a refusal for a full store or a full
    /// `refuse` share, or deliveries shed for the full share of a destination still
    /// delivering (its receiver is slower than the senders; waiting for room keeps
    /// the deliveries rather than burying them). Not an event that can never fit, nor
    /// deliveries shed for a receiver that has delivered nothing for [`PROGRESS`]:
    /// a stuck receiver never holds the senders, even for milliseconds.
    pub fn wanted(&self, admission: &Result<Admission, OutboxError>) -> bool {
        let crowded = match admission {
            Ok(admission) => admission.shed_while_delivering,
            Err(OutboxError::Full { .. } | OutboxError::FullBytes { .. } | OutboxError::DestinationFull { .. }) => true,
            Err(_) => false,
        };
        crowded
            && self
                .deadline
                .is_none_or(|deadline| tokio::time::Instant::now() < deadline)
    }

    /// Waits for a delivery to finish (`room`, from [`Schedule::room`]), or for the
    /// wait's end.
    pub async fn wait(&mut self, room: Arc<Notify>) {
        let deadline = *self
            .deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + ROOM_WAIT);
        let _ = tokio::time::timeout_at(deadline, room.notified()).await;
    }
}

/// Pending deliveries, by destination.
#[derive(Default)]
pub struct Schedule {
    lanes: HashMap<Arc<str>, Lane>,
    /// Deliveries pending (due, waiting, or in flight).
    pending: usize,
    /// Bytes of the events with a delivery pending (each event counted once).
    pending_bytes: u64,
    /// Per event: deliveries still pending, and its size.
    events: HashMap<Arc<str>, (usize, u64)>,
    /// Each destination's share of the totals.
    quotas: Quotas,
    /// Senders waiting for room in a full store or share ([`RoomWait`]): each finished
    /// delivery wakes one.
    room: Arc<Notify>,
    room_waiters: usize,
}

#[derive(Default)]
struct Lane {
    ready: VecDeque<Delivery>,
    waiting: BinaryHeap<Reverse<Waiting>>,
    notify: Arc<Notify>,
    /// This destination's deliveries pending (due, waiting, or in flight).
    pending: usize,
    /// Bytes of the events those deliveries carry (an event counted once per delivery).
    bytes: u64,
    /// Deliveries sent to the dead letters at ingest because the share was full.
    shed: u64,
    /// With `order_by`: the deliveries held behind an earlier one of their key.
    order: Option<KeyOrder>,
    /// When a delivery of it last finished (delivered or dead).
    finished_at: Option<Instant>,
}

impl Lane {
    /// Queues a delivery released to the lane, due at `at` (now when `None`).
    fn queue(&mut self, delivery: Delivery, at: Option<Instant>) {
        match at {
            Some(at) if at > Instant::now() => self.waiting.push(Reverse(Waiting { at, delivery })),
            _ => self.ready.push_back(delivery),
        }
    }

    /// A delivery enters the lane: queued, or held behind an earlier one of its key.
    fn enter(&mut self, delivery: Delivery, at: Option<Instant>) {
        let released = match &mut self.order {
            Some(order) => order.enter(delivery, at),
            None => Some((delivery, at)),
        };
        if let Some((delivery, at)) = released {
            self.queue(delivery, at);
        }
    }

    /// Orders the lane by the metadata `key` (or not at all), sorting what waits anew:
    /// at start, after the store rebuilt the schedule, and when a reload changes the
    /// key. (A delivery in flight at a reload is not known here, so one more of its key
    /// may be released beside it, once.)
    fn order_by(&mut self, key: Option<&str>) {
        if self.order.as_ref().map(KeyOrder::key) == key {
            return;
        }
        let mut all: Vec<Due> = self.order.take().map(|mut order| order.drain()).unwrap_or_default();
        all.extend(self.ready.drain(..).map(|delivery| (delivery, None)));
        all.extend(
            std::mem::take(&mut self.waiting)
                .into_iter()
                .map(|Reverse(waiting)| (waiting.delivery, Some(waiting.at))),
        );
        all.sort_by_key(|(delivery, _)| delivery.id);
        self.order = key.map(KeyOrder::new);
        for (delivery, at) in all {
            self.enter(delivery, at);
        }
        self.notify.notify_one();
    }
}

/// One destination's use of the store, for metrics and the admin API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DestinationLoad {
    /// The destination.
    pub destination: Arc<str>,
    /// Its deliveries pending.
    pub pending: usize,
    /// Bytes its deliveries hold.
    pub bytes: u64,
    /// Deliveries dead-lettered at ingest because its share was full.
    pub shed: u64,
}

/// Which of an event's deliveries the store takes in, and which go straight to the dead
/// letters because their destination's share is full.
#[derive(Debug, Default)]
pub struct Admission {
    /// Per delivery, in order: `Some(reason)` when it goes to the dead letters.
    pub dead: Vec<Option<String>>,
    /// Some delivery would go to the dead letters for the full share of a destination
    /// still delivering (one finished within [`PROGRESS`]): a slow receiver, not a
    /// stuck one, worth a short wait for room.
    pub shed_while_delivering: bool,
}

impl Admission {
    /// Whether any delivery goes to the dead letters.
    pub fn any_dead(&self) -> bool {
        self.dead.iter().any(Option::is_some)
    }
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

/// Why a delivery went to the dead letters at once.
fn full_share(destination: &str, pending: usize, held: u64, quota: &Quota) -> String {
    format!(
        "destination {destination}'s share of the store was full ({pending} deliveries and {held} bytes waiting; \
         max_pending = {}, max_bytes = {}): replay it once the receiver has caught up",
        quota.max_pending, quota.max_bytes
    )
}

/// The size an event counts for against the store's byte limit.
pub fn event_bytes(delivery: &Delivery) -> u64 {
    let event = &delivery.event;
    (event.predictions.len() + event.attachments_size() + event.id.len() + 256) as u64
}

impl Schedule {
    fn lane(&mut self, destination: &str) -> &mut Lane {
        if !self.lanes.contains_key(destination) {
            self.lanes.insert(destination.into(), Lane::default());
        }
        self.lanes.get_mut(destination).expect("inserted above")
    }

    /// Deliveries pending.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// A destination's deliveries waiting to be claimed (due, waiting for a retry, or
    /// held behind an earlier one of their key).
    pub fn queued(&self, destination: &str) -> usize {
        self.lanes.get(destination).map_or(0, |lane| {
            lane.ready.len() + lane.waiting.len() + lane.order.as_ref().map_or(0, KeyOrder::held)
        })
    }

    /// Bytes of events with deliveries pending.
    pub fn pending_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Sets each destination's share (at start and at every config reload).
    pub fn set_quotas(&mut self, quotas: Quotas) {
        for (destination, _) in quotas.iter() {
            self.lane(destination);
        }
        for (name, lane) in self.lanes.iter_mut() {
            lane.order_by(quotas.of(name).and_then(|quota| quota.order_by.as_deref()));
        }
        self.quotas = quotas;
    }

    /// Decides what becomes of an event's `deliveries` (all of one event, whose size is
    /// `bytes`): refused (the store or a `refuse` destination is full, or the event can
    /// never fit), or taken in with those whose destination's share is full marked for
    /// the dead letters.
    pub fn admit(
        &self,
        deliveries: &[Delivery],
        bytes: u64,
        max_pending: usize,
        max_bytes: u64,
    ) -> Result<Admission, OutboxError> {
        if bytes > max_bytes {
            return Err(OutboxError::NeverFits {
                bytes,
                limit: max_bytes,
                setting: "storage.max_bytes".into(),
            });
        }
        // The store's totals first: when the store itself is full, every sender waits
        // (with one destination, whose default share is the whole store, that is the
        // backpressure a sender expects). Only then the shares, which keep one stuck
        // destination from filling the store for the others.
        if self.pending + deliveries.len() > max_pending {
            return Err(OutboxError::Full {
                pending: self.pending,
                limit: max_pending,
                retry_after: FULL_RETRY_AFTER,
            });
        }
        if self.pending_bytes + bytes > max_bytes {
            return Err(OutboxError::FullBytes {
                bytes: self.pending_bytes,
                limit: max_bytes,
                retry_after: FULL_RETRY_AFTER,
            });
        }
        let mut admission = Admission::default();
        for delivery in deliveries {
            let destination = &*delivery.destination;
            let lane = self.lanes.get(destination);
            let (pending, held) = lane.map_or((0, 0), |lane| (lane.pending, lane.bytes));
            let delivering = lane
                .and_then(|lane| lane.finished_at)
                .is_some_and(|at| at.elapsed() < PROGRESS);
            let over = self.quotas.of(destination).and_then(|quota| {
                let full = pending + 1 > quota.max_pending || held + bytes > quota.max_bytes;
                full.then_some(quota)
            });
            let Some(quota) = over else {
                admission.dead.push(None);
                continue;
            };
            if quota.when_full == WhenFull::Refuse {
                if bytes > quota.max_bytes {
                    return Err(OutboxError::NeverFits {
                        bytes,
                        limit: quota.max_bytes,
                        setting: format!("destinations.{destination}.max_bytes"),
                    });
                }
                return Err(OutboxError::DestinationFull {
                    destination: destination.to_string(),
                    pending,
                    bytes: held,
                    retry_after: FULL_RETRY_AFTER,
                });
            }
            admission.shed_while_delivering |= delivering;
            admission.dead.push(Some(full_share(destination, pending, held, quota)));
        }
        Ok(admission)
    }

    /// Counts a delivery of `destination` dead-lettered at ingest (its share was full).
    pub fn shed(&mut self, destination: &str) {
        self.lane(destination).shed += 1;
    }

    /// Each destination's use of the store.
    pub fn loads(&self) -> Vec<DestinationLoad> {
        let mut loads: Vec<DestinationLoad> = self
            .lanes
            .iter()
            .map(|(destination, lane)| DestinationLoad {
                destination: destination.clone(),
                pending: lane.pending,
                bytes: lane.bytes,
                shed: lane.shed,
            })
            .collect();
        loads.sort_by(|a, b| a.destination.cmp(&b.destination));
        loads
    }

    /// Adds a delivery, due at `at` (now when `None`).
    pub fn add(&mut self, delivery: Delivery, at: Option<Instant>) {
        self.pending += 1;
        let key: Arc<str> = delivery.event.id.as_str().into();
        let bytes = event_bytes(&delivery);
        let lane = self.lane(&delivery.destination);
        lane.pending += 1;
        lane.bytes += bytes;
        let entry = self.events.entry(key).or_insert((0, bytes));
        if entry.0 == 0 {
            self.pending_bytes += entry.1;
        }
        entry.0 += 1;
        let lane = self.lane(&delivery.destination.clone());
        lane.enter(delivery, at);
        lane.notify.notify_one();
    }

    /// Puts a claimed delivery back, due at `at` (now when `None`): a retry, or one its
    /// lane gave back. (It stays its key's released one.)
    pub fn put_back(&mut self, delivery: Delivery, at: Option<Instant>) {
        let lane = self.lane(&delivery.destination.clone());
        let released = match &mut lane.order {
            Some(order) => order.enter(delivery, at),
            None => Some((delivery, at)),
        };
        if let Some((delivery, at)) = released {
            lane.queue(delivery, at);
        }
        lane.notify.notify_one();
    }

    /// The signal a sender waiting for room waits on: one finished delivery, one wake.
    pub fn room(&mut self) -> Arc<Notify> {
        self.room_waiters += 1;
        self.room.clone()
    }

    /// Marks a claimed delivery finished (delivered or dead).
    pub fn finish(&mut self, delivery: &Delivery) {
        self.pending = self.pending.saturating_sub(1);
        if self.room_waiters > 0 {
            // (A waiter gone by its deadline leaves a wake for the next one: it then
            // checks once more for nothing.)
            self.room_waiters -= 1;
            self.room.notify_one();
        }
        if let Some(lane) = self.lanes.get_mut(&*delivery.destination) {
            lane.finished_at = Some(Instant::now());
            lane.pending = lane.pending.saturating_sub(1);
            lane.bytes = lane.bytes.saturating_sub(event_bytes(delivery));
            if let Some((next, at)) = lane.order.as_mut().and_then(|order| order.leave(delivery)) {
                lane.queue(next, at);
                lane.notify.notify_one();
            }
        }
        if let Some(entry) = self.events.get_mut(delivery.event.id.as_str()) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                self.pending_bytes = self.pending_bytes.saturating_sub(entry.1);
                self.events.remove(delivery.event.id.as_str());
            }
        }
    }

    /// Takes up to `max` due deliveries of a destination: retries now due first, then
    /// the others in the order they came.
    pub fn claim(&mut self, destination: &str, max: usize) -> Claimed {
        let lane = self.lane(destination);
        let now = Instant::now();
        // Retries now due go before newer deliveries, in their order: a delivery does
        // not wait behind those that arrived while it waited, and a batch retried
        // together stays together.
        let mut due = Vec::new();
        while lane.waiting.peek().is_some_and(|Reverse(w)| w.at <= now) {
            if let Some(Reverse(waiting)) = lane.waiting.pop() {
                due.push(waiting.delivery);
            }
        }
        for delivery in due.into_iter().rev() {
            lane.ready.push_front(delivery);
        }
        let take = max.min(lane.ready.len());
        Claimed {
            deliveries: lane.ready.drain(..take).collect(),
            next_due: lane.waiting.peek().map(|Reverse(w)| w.at),
        }
    }

    /// Removes every delivery of a destination that is not in flight.
    pub fn remove_destination(&mut self, destination: &str) -> Vec<Delivery> {
        let Some(lane) = self.lanes.remove(destination) else {
            return Vec::new();
        };
        let held = lane.order.map(|mut order| order.drain()).unwrap_or_default();
        let removed: Vec<Delivery> = lane
            .ready
            .into_iter()
            .chain(lane.waiting.into_iter().map(|Reverse(w)| w.delivery))
            .chain(held.into_iter().map(|(delivery, _)| delivery))
            .collect();
        for delivery in &removed {
            self.finish(delivery);
        }
        lane.notify.notify_one();
        removed
    }

    /// Removes one waiting or due delivery by id (a replay or a retire).
    pub fn take(&mut self, destination: &str, id: DeliveryId) -> Option<Delivery> {
        let lane = self.lanes.get_mut(destination)?;
        if let Some(held) = lane.order.as_mut().and_then(|order| order.take(id)) {
            return Some(held);
        }
        if let Some(index) = lane.ready.iter().position(|d| d.id == id) {
            return lane.ready.remove(index);
        }
        let mut waiting: Vec<Reverse<Waiting>> = std::mem::take(&mut lane.waiting).into_vec();
        let found = waiting
            .iter()
            .position(|Reverse(w)| w.delivery.id == id)
            .map(|i| waiting.swap_remove(i).0.delivery);
        lane.waiting = waiting.into();
        found
    }

    /// The notifier of a destination's lane.
    pub fn notifier(&mut self, destination: &str) -> Arc<Notify> {
        self.lane(destination).notify.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::event::Event;

    fn delivery(id: DeliveryId, event: &Arc<Event>, destination: &str) -> Delivery {
        Delivery {
            id,
            event: event.clone(),
            destination: destination.into(),
            attempts: 0,
            accepted_at: SystemTime::now(),
            batch: None,
        }
    }

    #[test]
    fn due_deliveries_come_first_and_retries_wait_for_their_time() {
        let mut schedule = Schedule::default();
        let event = Arc::new(Event::new("e1", "r", "{}"));
        schedule.add(delivery(1, &event, "a"), None);
        schedule.add(delivery(2, &event, "a"), Some(Instant::now() + Duration::from_secs(60)));
        schedule.add(delivery(3, &event, "b"), None);
        assert_eq!(schedule.pending(), 3);
        let bytes = schedule.pending_bytes();
        assert!(bytes > 0);
        let claimed = schedule.claim("a", 10);
        assert_eq!(claimed.deliveries.iter().map(|d| d.id).collect::<Vec<_>>(), [1]);
        assert!(claimed.next_due.is_some());
        schedule.finish(&claimed.deliveries[0]);
        // The event still has two deliveries pending: its bytes still count.
        assert_eq!(schedule.pending_bytes(), bytes);
        let b = schedule.claim("b", 10);
        schedule.finish(&b.deliveries[0]);
        let waiting = schedule.take("a", 2).unwrap();
        schedule.finish(&waiting);
        assert_eq!((schedule.pending(), schedule.pending_bytes()), (0, 0));
    }

    #[test]
    fn an_ordered_lane_releases_one_delivery_per_key_and_keeps_it_through_retries() {
        let mut schedule = Schedule::default();
        let camera = |id: &str, camera: &str| {
            let mut event = Event::new(id, "r", "{}");
            event.set_metadata("camera", camera);
            Arc::new(event)
        };
        // Added before the order is known, as a durable store rebuilds its schedule.
        schedule.add(delivery(1, &camera("e1", "x"), "d"), None);
        schedule.add(delivery(2, &camera("e2", "x"), "d"), None);
        schedule.add(delivery(3, &camera("e3", "y"), "d"), None);
        let quota = Quota {
            max_pending: 100,
            max_bytes: 1 << 20,
            when_full: WhenFull::DeadLetter,
            order_by: Some("camera".into()),
            in_flight: 1,
        };
        schedule.set_quotas(Quotas::default().with("d", quota));
        assert_eq!(schedule.queued("d"), 3);
        let ids = |claimed: &Claimed| claimed.deliveries.iter().map(|d| d.id).collect::<Vec<_>>();
        let first = schedule.claim("d", 10);
        assert_eq!(ids(&first), [1, 3]);
        // 1 is retried: 2 still waits behind it.
        schedule.put_back(first.deliveries[0].clone(), None);
        schedule.add(delivery(4, &camera("e4", "x"), "d"), None);
        assert_eq!(ids(&schedule.claim("d", 10)), [1]);
        schedule.finish(&first.deliveries[0]);
        assert_eq!(ids(&schedule.claim("d", 10)), [2]);
        // Without the order, what waits is released at once.
        schedule.set_quotas(Quotas::default());
        assert_eq!(ids(&schedule.claim("d", 10)), [4]);
    }

    #[test]
    fn a_full_share_dead_letters_its_destination_only_and_refuse_refuses_the_event() {
        let quota = |when_full| Quota {
            order_by: None,
            in_flight: 1,
            max_pending: 2,
            max_bytes: 1 << 20,
            when_full,
        };
        let mut schedule = Schedule::default();
        schedule.set_quotas(Quotas::default().with("stuck", quota(WhenFull::DeadLetter)));
        for n in 0..2 {
            let event = Arc::new(Event::new(format!("e{n}"), "r", "{}"));
            schedule.add(delivery(n, &event, "stuck"), None);
        }
        let event = Arc::new(Event::new("e9", "r", "{}"));
        let both = [delivery(10, &event, "stuck"), delivery(11, &event, "alive")];
        let admission = schedule.admit(&both, 300, 100, 1 << 30).unwrap();
        assert!(admission.dead[0].as_deref().unwrap().contains("stuck's share"));
        assert!(admission.dead[1].is_none());
        // It has delivered nothing: shed at once, no wait for room.
        let room = RoomWait::default();
        assert!(!room.wanted(&Ok(admission)));

        schedule.set_quotas(Quotas::default().with("stuck", quota(WhenFull::Refuse)));
        let refused = schedule.admit(&both, 300, 100, 1 << 30).unwrap_err();
        assert!(
            matches!(refused, OutboxError::DestinationFull { pending: 2, .. }),
            "{refused}"
        );

        assert!(room.wanted(&Err(refused)), "a refusal waits for room");

        // Finishing one frees a place in the share.
        let claimed = schedule.claim("stuck", 1);
        schedule.finish(&claimed.deliveries[0]);
        assert!(!schedule.admit(&both, 300, 100, 1 << 30).unwrap().any_dead());

        // Full again, now with a delivery finished just before: a slow receiver, not a
        // stuck one; its shed deliveries are worth a wait for room.
        schedule.set_quotas(Quotas::default().with("stuck", quota(WhenFull::DeadLetter)));
        schedule.add(delivery(12, &event, "stuck"), None);
        let admission = schedule.admit(&both, 300, 100, 1 << 30).unwrap();
        assert!(admission.any_dead());
        assert!(room.wanted(&Ok(admission)));
    }

    #[test]
    fn an_event_larger_than_the_store_never_fits() {
        let schedule = Schedule::default();
        let event = Arc::new(Event::new("e1", "r", "{}"));
        let refused = schedule.admit(&[delivery(1, &event, "a")], 5000, 10, 4096).unwrap_err();
        assert!(
            matches!(refused, OutboxError::NeverFits { limit: 4096, .. }),
            "{refused}"
        );
    }

    #[test]
    fn removing_a_destination_returns_what_waited_for_it() {
        let mut schedule = Schedule::default();
        let event = Arc::new(Event::new("e1", "r", "{}"));
        schedule.add(delivery(1, &event, "gone"), None);
        schedule.add(
            delivery(2, &event, "gone"),
            Some(Instant::now() + Duration::from_secs(60)),
        );
        schedule.add(delivery(3, &event, "kept"), None);
        let removed = schedule.remove_destination("gone");
        assert_eq!(removed.len(), 2);
        assert_eq!(schedule.pending(), 1);
    }
}

//! The in-memory store's record of recent events, their deliveries and attempts, and of
//! dead deliveries, bounded so that a long-running Weir does not grow: the oldest
//! events are forgotten first.
//!
//! Recording is on the hot path of every event, so it keeps raw values (times, shared
//! names) and formats them only when the admin API asks, and it keeps an event in one
//! place: its entry, deliveries and first attempt inline in a ring of entries in the
//! order they were accepted, found by id through an index of sequence numbers. An
//! entry spread over a table slot and three small blocks of its own cost three
//! allocations per event, and ten thousand long-lived blocks scattered among each
//! event's short-lived ones kept the allocator's pages from being reused.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap as HashMap, FxHashSet as HashSet};
use smallvec::SmallVec;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use super::attempts::{AttemptCursor, AttemptLine, AttemptPage, AttemptQuery, within};
use super::record::{AttemptRecord, DeliveryRecord, DeliveryState, EventRecord, MAX_HISTORY, timestamp};
use super::{Attempt, Delivery, DeliveryId, DeliveryQuery, Next};
use crate::flood::Flood;

/// Events remembered for the admin API in memory mode.
pub const JOURNAL_EVENTS: usize = 10_000;

/// Dead deliveries kept for replay in memory mode.
pub const MAX_DEAD: usize = 10_000;

/// Dead deliveries forgotten for room: logged once a second, with how many.
static FORGOTTEN: Flood = Flood::new();

struct Entry {
    /// The delivery log's cursor: events are numbered in the order they were accepted.
    seq: u64,
    id: Arc<str>,
    route: Arc<str>,
    accepted_at: SystemTime,
    /// Most events go to one destination.
    deliveries: SmallVec<[Track; 1]>,
}

struct Track {
    id: DeliveryId,
    destination: Arc<str>,
    state: DeliveryState,
    attempts: u32,
    next_attempt_at: Option<SystemTime>,
    last_error: Option<String>,
    last_status: Option<u16>,
    updated_at: SystemTime,
    /// Most deliveries take one attempt.
    history: SmallVec<[Attempt; 1]>,
}

/// Recent events and dead deliveries.
pub struct Journal {
    /// Events in the order they were accepted; their sequence numbers are consecutive.
    events: VecDeque<Entry>,
    /// The sequence numbers of `events`, found by event id.
    index: HashTable<u64>,
    next_seq: u64,
    dead: HashMap<DeliveryId, Delivery>,
    dead_order: VecDeque<DeliveryId>,
    /// Route names shared by their events' entries, so that an entry costs no
    /// allocation for its route.
    routes: HashSet<Arc<str>>,
}

/// Route names kept for sharing; past it (routes renamed many times over by reloads)
/// the set starts afresh.
const MAX_SHARED_ROUTES: usize = 256;

impl Default for Journal {
    /// Sized for a full window at once: growing a table of 10,000 entries by doubling
    /// holds the old table and the new together at each step, which showed as peak
    /// memory under load. Reserved pages that are not written yet cost no memory.
    fn default() -> Self {
        Journal {
            events: VecDeque::with_capacity(JOURNAL_EVENTS + 1),
            index: HashTable::with_capacity(JOURNAL_EVENTS + 1),
            next_seq: 0,
            dead: HashMap::default(),
            dead_order: VecDeque::new(),
            routes: HashSet::default(),
        }
    }
}

impl Journal {
    /// Records an accepted event's deliveries.
    pub fn accepted(&mut self, deliveries: &[Delivery]) {
        let Some(first) = deliveries.first() else { return };
        let id = first.event.id.as_str();
        let route = self.route(&first.event.route);
        let tracks = deliveries
            .iter()
            .map(|d| Track {
                id: d.id,
                destination: d.destination.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: None,
                last_error: None,
                last_status: None,
                updated_at: first.accepted_at,
                history: SmallVec::new(),
            })
            .collect();
        if let Some(entry) = self.entry_mut(id) {
            // Accepted again (a replayed event keeps its place in the log).
            entry.route = route;
            entry.accepted_at = first.accepted_at;
            entry.deliveries = tracks;
            return;
        }
        self.next_seq += 1;
        let seq = self.next_seq;
        self.events.push_back(Entry {
            seq,
            id: id.into(),
            route,
            accepted_at: first.accepted_at,
            deliveries: tracks,
        });
        let events = &self.events;
        self.index
            .insert_unique(hash(id), seq, |&seq| hash(&at(events, seq).id));
        while self.events.len() > JOURNAL_EVENTS {
            if let Some(old) = self.events.pop_front()
                && let Ok(slot) = self.index.find_entry(hash(&old.id), |&seq| seq == old.seq)
            {
                slot.remove();
            }
        }
    }

    /// The entry of event `id`, if it is among the recent ones.
    fn entry(&self, id: &str) -> Option<&Entry> {
        let events = &self.events;
        let seq = *self.index.find(hash(id), |&seq| &*at(events, seq).id == id)?;
        Some(at(events, seq))
    }

    fn entry_mut(&mut self, id: &str) -> Option<&mut Entry> {
        let events = &self.events;
        let seq = *self.index.find(hash(id), |&seq| &*at(events, seq).id == id)?;
        let front = self.events.front()?.seq;
        self.events.get_mut((seq - front) as usize)
    }

    /// The shared name of a route.
    fn route(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.routes.get(name) {
            return shared.clone();
        }
        if self.routes.len() >= MAX_SHARED_ROUTES {
            self.routes.clear();
        }
        let shared: Arc<str> = name.into();
        self.routes.insert(shared.clone());
        shared
    }

    /// Records an attempt and its consequence.
    pub fn attempted(&mut self, delivery: &Delivery, attempt: &Attempt, next: &Next) {
        if let Some(track) = self.track(delivery) {
            track.attempts = delivery.attempts + 1;
            track.last_status = attempt.status;
            track.last_error = attempt.error.clone();
            track.updated_at = SystemTime::now();
            if track.history.is_empty() {
                // Most deliveries take one attempt: room for one, not the four a
                // growing Vec starts with (three empty attempts in each of the
                // journal's 10,000 events).
                track.history.reserve_exact(1);
            }
            track.history.push(attempt.clone());
            if track.history.len() > MAX_HISTORY {
                track.history.remove(MAX_HISTORY / 2);
            }
            match next {
                Next::Delivered => {
                    track.state = DeliveryState::Delivered;
                    track.next_attempt_at = None;
                }
                Next::RetryAt(at) => {
                    track.next_attempt_at = Some(SystemTime::now() + at.saturating_duration_since(Instant::now()));
                }
                Next::Dead(reason) => {
                    track.state = DeliveryState::Dead;
                    track.last_error = Some(reason.clone());
                    track.next_attempt_at = None;
                }
            }
        }
        if let Next::Dead(reason) = next {
            self.bury(delivery.clone(), reason);
        }
    }

    /// Keeps a dead delivery for replay.
    pub fn bury(&mut self, delivery: Delivery, reason: &str) {
        if let Some(track) = self.track(&delivery) {
            track.state = DeliveryState::Dead;
            track.last_error = Some(reason.to_string());
            track.updated_at = SystemTime::now();
        }
        self.dead_order.push_back(delivery.id);
        self.dead.insert(delivery.id, delivery);
        while self.dead_order.len() > MAX_DEAD {
            if let Some(old) = self.dead_order.pop_front()
                && let Some(lost) = self.dead.remove(&old)
                && let Some(count) = FORGOTTEN.note()
            {
                tracing::error!(
                    event = %lost.event.id,
                    destination = %lost.destination,
                    forgotten = count,
                    "more than {MAX_DEAD} dead deliveries in memory: the oldest {count} forgotten since the last such line"
                );
            }
        }
    }

    /// Takes a dead delivery out for replay, marking it pending again.
    pub fn resurrect(&mut self, id: DeliveryId) -> Option<Delivery> {
        let mut delivery = self.dead.remove(&id)?;
        self.dead_order.retain(|d| *d != id);
        delivery.attempts = 0;
        if let Some(track) = self.track(&delivery) {
            track.state = DeliveryState::Pending;
            track.updated_at = SystemTime::now();
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

    fn track(&mut self, delivery: &Delivery) -> Option<&mut Track> {
        self.entry_mut(delivery.event.id.as_str())?
            .deliveries
            .iter_mut()
            .find(|d| d.id == delivery.id)
    }

    /// An event's record.
    pub fn event(&self, id: &str) -> Option<EventRecord> {
        let entry = self.entry(id)?;
        Some(EventRecord {
            id: id.to_string(),
            route: entry.route.to_string(),
            accepted_at: timestamp(entry.accepted_at),
            deliveries: entry.deliveries.iter().map(|t| record(id, t)).collect(),
        })
    }

    /// Deliveries matching a query, most recent first.
    pub fn deliveries(&self, query: &DeliveryQuery) -> Vec<DeliveryRecord> {
        self.events
            .iter()
            .rev()
            .flat_map(|entry| entry.deliveries.iter().map(move |track| (&entry.id, track)))
            .filter(|(_, t)| query.state.is_none_or(|state| t.state == state))
            .filter(|(_, t)| query.destination.as_deref().is_none_or(|name| &*t.destination == name))
            .take(query.limit())
            .map(|(id, track)| record(id, track))
            .collect()
    }
}

impl Journal {
    /// A page of the delivery log: the attempts of whole events, in the order the
    /// events were accepted (or the reverse), until `max` attempts are taken.
    pub fn attempts(&self, query: &AttemptQuery, cursor: Option<AttemptCursor>, max: usize) -> AttemptPage {
        let mut page = AttemptPage::default();
        let events: Box<dyn Iterator<Item = &Entry>> = if query.newest_first {
            let before = cursor.map_or(u64::MAX, |c| c.0 as u64);
            let end = self.events.partition_point(|entry| entry.seq < before);
            Box::new(self.events.range(..end).rev())
        } else {
            let after = cursor.map_or(0, |c| c.0 as u64);
            let start = self.events.partition_point(|entry| entry.seq <= after);
            Box::new(self.events.range(start..))
        };
        for entry in events {
            if page.attempts.len() >= max {
                // The next page starts with this event.
                let next = if query.newest_first {
                    entry.seq + 1
                } else {
                    entry.seq - 1
                };
                page.next = Some(AttemptCursor(next as i64, 0));
                break;
            }
            let id = &*entry.id;
            let mut lines = Vec::new();
            for track in &entry.deliveries {
                if query
                    .destination
                    .as_deref()
                    .is_some_and(|name| name != &*track.destination)
                {
                    continue;
                }
                for attempt in &track.history {
                    let wanted = within(query, attempt.at)
                        && query
                            .status
                            .is_none_or(|status| status.matches(attempt.status, attempt.error.is_some()));
                    if wanted {
                        lines.push((attempt.at, line(id, track, attempt)));
                    }
                }
            }
            lines.sort_by_key(|(at, _)| *at);
            if query.newest_first {
                lines.reverse();
            }
            page.attempts.extend(lines.into_iter().map(|(_, line)| line));
        }
        page
    }

    /// How many deliveries of a destination are dead.
    pub fn dead_of_count(&self, destination: &str) -> usize {
        self.dead.values().filter(|d| &*d.destination == destination).count()
    }
}

/// The index's hash of an event id.
fn hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

/// The entry numbered `seq`, which the index says is in `events`.
fn at(events: &VecDeque<Entry>, seq: u64) -> &Entry {
    let front = events.front().map_or(seq, |entry| entry.seq);
    &events[(seq - front) as usize]
}

fn line(event_id: &str, track: &Track, attempt: &Attempt) -> AttemptLine {
    let record = AttemptRecord::of(attempt);
    AttemptLine {
        at: record.at,
        destination: track.destination.to_string(),
        event_id: event_id.to_string(),
        delivery_id: track.id,
        status: record.status,
        latency_ms: record.latency_ms,
        error: record.error,
        response: record.response,
    }
}

fn record(event_id: &str, track: &Track) -> DeliveryRecord {
    DeliveryRecord {
        id: track.id,
        event_id: event_id.to_string(),
        destination: track.destination.to_string(),
        state: track.state,
        attempts: track.attempts,
        next_attempt_at: track.next_attempt_at.map(timestamp),
        last_error: track.last_error.clone(),
        last_status: track.last_status,
        updated_at: timestamp(track.updated_at),
        history: track.history.iter().map(AttemptRecord::of).collect(),
    }
}

#[cfg(test)]
mod tests {
    use weir_contract::event::Event;

    use super::*;

    fn delivery(id: DeliveryId, event: &str, route: &str) -> Delivery {
        Delivery {
            id,
            event: Arc::new(Event::new(event, route, "{}")),
            destination: "sink".into(),
            attempts: 0,
            accepted_at: SystemTime::now(),
            batch: None,
        }
    }

    /// The journal holds 10,000 events; what each costs is what it costs times that.
    #[test]
    fn an_event_delivered_at_once_holds_one_attempt_and_shares_its_route_name() {
        let mut journal = Journal::default();
        let (a, b) = (delivery(1, "a", "cameras"), delivery(2, "b", "cameras"));
        journal.accepted(std::slice::from_ref(&a));
        journal.accepted(std::slice::from_ref(&b));
        journal.attempted(&a, &Attempt::answered(200), &Next::Delivered);

        let entry = |id| journal.entry(id).expect("recent");
        assert!(Arc::ptr_eq(&entry("a").route, &entry("b").route));
        let history = &entry("a").deliveries[0].history;
        assert_eq!((history.len(), history.spilled()), (1, false));

        // A retried delivery still keeps every attempt.
        for _ in 0..3 {
            journal.attempted(&b, &Attempt::answered(200), &Next::RetryAt(Instant::now()));
        }
        assert_eq!(journal.entry("b").expect("recent").deliveries[0].history.len(), 3);
        assert_eq!(journal.event("b").map(|e| e.route), Some("cameras".to_string()));
    }

    #[test]
    fn the_oldest_events_leave_and_the_rest_stay_found() {
        let mut journal = Journal::default();
        let total = JOURNAL_EVENTS + 2_500;
        let name = |n: usize| format!("e{n}");
        for n in 0..total {
            journal.accepted(&[delivery(n as DeliveryId + 1, &name(n), "r")]);
        }
        assert_eq!(
            (journal.events.len(), journal.index.len()),
            (JOURNAL_EVENTS, JOURNAL_EVENTS)
        );
        let oldest = total - JOURNAL_EVENTS;
        for n in (0..total).step_by(101).chain([oldest - 1, oldest, total - 1]) {
            assert_eq!(journal.event(&name(n)).is_some(), n >= oldest, "{}", name(n));
        }

        // An attempt is recorded against its event's delivery.
        let last = delivery(total as DeliveryId, &name(total - 1), "r");
        journal.attempted(&last, &Attempt::answered(200), &Next::Delivered);
        let record = journal.event(&name(total - 1)).expect("recent");
        assert_eq!(
            (record.deliveries[0].attempts, record.deliveries[0].history.len()),
            (1, 1)
        );

        // Accepted again, an event keeps its place in the log and takes no second one.
        journal.accepted(&[delivery(total as DeliveryId + 1, &name(oldest), "r2")]);
        assert_eq!(journal.events.len(), JOURNAL_EVENTS);
        assert_eq!(journal.events.front().map(|e| e.id.to_string()), Some(name(oldest)));
        assert_eq!(journal.event(&name(oldest)).map(|e| e.route), Some("r2".to_string()));
    }

    #[test]
    fn shared_route_names_stay_bounded() {
        let mut journal = Journal::default();
        for n in 0..(MAX_SHARED_ROUTES * 3) {
            journal.accepted(&[delivery(n as DeliveryId, &format!("e{n}"), &format!("route-{n}"))]);
        }
        assert!(journal.routes.len() <= MAX_SHARED_ROUTES);
        assert_eq!(journal.event("e700").map(|e| e.route), Some("route-700".to_string()));
    }
}

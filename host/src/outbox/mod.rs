//! The outbox: where accepted deliveries wait until their destination takes them.
//!
//! Ingest puts an event in ([`Enqueue::enqueue`]) and answers the sender only once that
//! returned; each destination's lane takes the deliveries that are due
//! ([`Lanes::claim`]) and reports how each attempt went ([`Lanes::complete`]); the
//! admin API reads and replays ([`Records`]). Each holds only its own side. The
//! dispatcher knows nothing of how deliveries are kept: the in-memory store
//! ([`memory`]) and the durable store ([`sqlite`]) implement the same traits.
//!
//! # Layout
//!
//! - this file: the trait and the types that cross it.
//! - [`attempts`]: the delivery log read in pages, and a destination's counts.
//! - [`schedule`]: pending deliveries in memory, per destination, shared by the stores.
//! - [`quota`]: each destination's share of the store, and what happens when it is full.
//! - [`record`]: what the admin API shows of events, deliveries and attempts.
//! - [`journal`]: the in-memory store's bounded record of recent events.
//! - [`memory`]: the in-memory store.
//! - [`recent`]: the in-memory store's window of recently accepted ids.
//! - [`sqlite`]: the durable store.
//! - [`jetstream`]: the store shared by several instances, in NATS JetStream.

pub mod attempts;
pub mod jetstream;
pub mod journal;
pub mod memory;
pub mod order;
pub mod quota;
pub mod recent;
pub mod record;
pub mod schedule;
pub mod sqlite;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use tokio::sync::Notify;

use crate::event::Event;
pub use attempts::{AttemptCursor, AttemptLine, AttemptPage, AttemptQuery, DestinationCounts, StatusFilter};
pub use record::{AttemptRecord, DeliveryQuery, DeliveryRecord, DeliveryState, EventRecord};

/// Identifies one delivery (one event to one destination) within a store.
pub type DeliveryId = u64;

/// One event bound for one destination.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The delivery's id in the store.
    pub id: DeliveryId,
    /// The event as the route's filters left it.
    pub event: Arc<Event>,
    /// The destination's name.
    pub destination: Arc<str>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the event was accepted.
    pub accepted_at: SystemTime,
    /// The batch its last attempt went in, so a retried batch is sent again whole
    /// (kept in memory only: after a restart, batches form anew).
    pub batch: Option<Arc<str>>,
}

/// What happened in one attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When it started.
    pub at: SystemTime,
    /// The HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// How long it took.
    pub latency: Duration,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The first bytes of the response body, for seeing why a receiver refuses.
    pub response: String,
    /// The batch the delivery went in (its request's `webhook-id`), when it went in one.
    pub batch: Option<Arc<str>>,
}

#[cfg(test)]
impl Attempt {
    /// An attempt the receiver answered with `status` (an error above 299), for tests.
    pub(crate) fn answered(status: u16) -> Attempt {
        Attempt {
            at: SystemTime::now(),
            status: Some(status),
            latency: Duration::from_millis(3),
            error: (status >= 300).then(|| format!("answered {status}")),
            response: String::new(),
            batch: None,
        }
    }
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone)]
pub enum Next {
    /// Delivered: done.
    Delivered,
    /// Try again at this time.
    RetryAt(Instant),
    /// Give up: the delivery is dead, for this reason.
    Dead(String),
}

/// Deliveries taken from the store for one lane.
#[derive(Debug, Default)]
pub struct Claimed {
    /// Due now, marked in flight.
    pub deliveries: Vec<Delivery>,
    /// When the next one not yet due will be.
    pub next_due: Option<Instant>,
}

/// What became of an enqueued event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored: its deliveries will be attempted.
    Accepted,
    /// An event with this id was accepted before; nothing new was stored.
    Duplicate,
}

/// Why the store refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutboxError {
    /// The store is full: the sender should try again later.
    #[error("the outbox is full ({pending} deliveries pending, limit {limit}); try again later")]
    Full {
        /// Deliveries pending now.
        pending: usize,
        /// The configured limit.
        limit: usize,
        /// When trying again may succeed.
        retry_after: Duration,
    },
    /// The store holds too many bytes of pending events.
    #[error("the outbox is full ({bytes} bytes of events pending, limit {limit}); try again later")]
    FullBytes {
        /// Bytes pending now.
        bytes: u64,
        /// The configured limit.
        limit: u64,
        /// When trying again may succeed.
        retry_after: Duration,
    },
    /// The event is larger than a limit: no amount of waiting lets it in.
    #[error("the event is {bytes} bytes, more than {setting} ({limit} bytes) can ever hold")]
    NeverFits {
        /// The event's size as the store counts it.
        bytes: u64,
        /// The limit.
        limit: u64,
        /// The setting that sets it.
        setting: String,
    },
    /// A destination whose `when_full` is `refuse` has its share full.
    #[error(
        "destination {destination}'s share of the outbox is full ({pending} deliveries, {bytes} bytes); try again later"
    )]
    DestinationFull {
        /// The destination.
        destination: String,
        /// Its deliveries pending now.
        pending: usize,
        /// Bytes its deliveries hold now.
        bytes: u64,
        /// When trying again may succeed.
        retry_after: Duration,
    },
    /// The store cannot be reached for now (a shared store's servers are down): the
    /// sender should try again shortly.
    #[error("the outbox is unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
        /// When trying again may succeed.
        retry_after: Duration,
    },
    /// The store failed (a disk error, say).
    #[error("the outbox failed: {0}")]
    Failed(String),
}

/// Totals for readiness, metrics and the admin API.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxStats {
    /// Deliveries pending (due, waiting for a retry, or in flight).
    pub pending: usize,
    /// Bytes of events with deliveries pending.
    pub pending_bytes: u64,
    /// Dead deliveries kept for replay.
    pub dead: usize,
    /// Transactions the durable store committed (each one disk sync); 0 in memory.
    pub commits: u64,
}

/// The side of the store ingest sees: putting accepted events in. Nothing else: ingest
/// cannot take deliveries, complete them or move them to the dead letters.
#[async_trait]
pub trait Enqueue: Send + Sync + 'static {
    /// Stores an event bound for its destinations (`event.destinations`), one delivery
    /// each. Returns once the store has it (for a durable store: once it is on disk);
    /// only then may ingest answer the sender.
    async fn enqueue(&self, event: Arc<Event>) -> Result<Enqueued, OutboxError>;
}

/// The side of the store a destination's lane sees: taking due deliveries, and saying
/// how each attempt went.
#[async_trait]
pub trait Lanes: Send + Sync + 'static {
    /// Takes up to `max` due deliveries of `destination`, marking them in flight.
    async fn claim(&self, destination: &str, max: usize) -> Result<Claimed, OutboxError>;

    /// Records an attempt and what becomes of the delivery.
    async fn complete(&self, delivery: &Delivery, attempt: &Attempt, next: Next) -> Result<(), OutboxError>;

    /// Puts a claimed delivery back, due now, without an attempt (its lane stops
    /// before sending it).
    fn give_back(&self, delivery: &Delivery);

    /// Sends a claimed delivery to the dead letters without an attempt (it expired
    /// before it could be sent), for `reason`.
    async fn expired(&self, delivery: &Delivery, reason: String) -> Result<(), OutboxError>;

    /// Notified when `destination` may have new due deliveries.
    fn notifier(&self, destination: &str) -> Arc<Notify>;
}

/// The side of the store the operator sees (the admin API, readiness, metrics, a config
/// reload): totals, records, replays, and retiring a removed destination.
#[async_trait]
pub trait Records: Send + Sync + 'static {
    /// Deliveries not yet delivered nor dead.
    fn pending(&self) -> usize {
        self.stats().pending
    }

    /// Sets each destination's share of the store (at start and at every reload).
    fn set_quotas(&self, quotas: quota::Quotas);

    /// Totals.
    fn stats(&self) -> OutboxStats;

    /// Why the store cannot take events now (its servers cannot be reached), if so:
    /// `/readyz` says not ready with this reason.
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// Each destination's use of the store.
    fn loads(&self) -> Vec<schedule::DestinationLoad>;

    /// An event and its deliveries with their attempts (the polling alternative to
    /// webhooks, and the way to see why a receiver refuses).
    async fn event(&self, id: &str) -> Result<Option<EventRecord>, OutboxError>;

    /// Deliveries matching a query, most recent first.
    async fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, OutboxError>;

    /// Sends a dead delivery again, as new (same event, same `webhook-id`). `false` when
    /// there is no dead delivery of that id.
    async fn replay(&self, id: DeliveryId) -> Result<bool, OutboxError>;

    /// Sends every dead delivery of a destination again; how many.
    async fn replay_dead(&self, destination: &str) -> Result<usize, OutboxError>;

    /// A page of the delivery log: at most `max` (capped at [`attempts::MAX_PAGE`])
    /// attempts matching `query`, after `cursor` (from the start when `None`). Paged so
    /// that the log is streamed, never read whole into memory.
    async fn attempts(
        &self,
        query: &AttemptQuery,
        cursor: Option<AttemptCursor>,
        max: usize,
    ) -> Result<AttemptPage, OutboxError>;

    /// A destination's deliveries waiting and dead.
    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, OutboxError>;

    /// Moves every pending delivery of a destination to the dead letters with
    /// `reason` (the destination was removed from the config); how many.
    async fn retire(&self, destination: &str, reason: &str) -> Result<usize, OutboxError>;
}

/// A whole store: what the server builds and hands out by side.
pub trait Outbox: Enqueue + Lanes + Records {}

impl<T: Enqueue + Lanes + Records> Outbox for T {}

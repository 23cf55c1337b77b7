//! Each destination's pump: pulls deliveries from the destination's consumer as fast as
//! its lane asks for them, and keeps the ones this instance holds from being given to
//! another instance while they wait or are sent.
//!
//! The lane says how many it wants ([`Pump::claim`]); the pump pulls that many at most
//! (every pulled message counts against the consumer's bound across the group, so an
//! instance never hoards what another could send), decodes them and wakes the lane.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, AckKind};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::codec;
use super::held::Held;
use super::setup;
use crate::outbox::Delivery;

/// How long one pull request stays open at most: also how often held deliveries are
/// kept alive and a changed bound is noticed.
const PULL_EXPIRES: Duration = Duration::from_secs(5);

/// One destination's pulled deliveries and what its lane wants.
pub struct Pump {
    pub destination: Arc<str>,
    /// Wakes the lane: deliveries are waiting.
    pub lane: Arc<Notify>,
    /// Wakes the pump: the lane wants more.
    wanted_more: Notify,
    wanted: AtomicUsize,
    /// Pulled, not yet claimed by the lane.
    buffer: std::sync::Mutex<VecDeque<Delivery>>,
    /// Deliveries in flight across the group (the consumer's `max_ack_pending`).
    pub in_flight: AtomicUsize,
    pub stop: CancellationToken,
}

impl Pump {
    pub fn new(destination: Arc<str>, in_flight: usize, stop: CancellationToken) -> Pump {
        Pump {
            destination,
            lane: Arc::new(Notify::new()),
            wanted_more: Notify::new(),
            wanted: AtomicUsize::new(0),
            buffer: Default::default(),
            in_flight: AtomicUsize::new(in_flight),
            stop,
        }
    }

    /// Takes up to `max` pulled deliveries; asks for more when there were fewer.
    pub fn claim(&self, max: usize) -> Vec<Delivery> {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        let count = max.min(buffer.len());
        let taken: Vec<Delivery> = buffer.drain(..count).collect();
        let still = max - count;
        self.wanted.store(still, Ordering::Relaxed);
        if still > 0 {
            self.wanted_more.notify_one();
        }
        taken
    }

    /// Puts a delivery back at the front (its lane stopped before sending it).
    pub fn put_back(&self, delivery: Delivery) {
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_front(delivery);
    }

    /// Everything pulled and not claimed (at a stop or a retirement).
    pub fn take_all(&self) -> Vec<Delivery> {
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect()
    }

    fn buffered(&self) -> usize {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Pulls until stopped.
    pub async fn run(self: Arc<Self>, shared: Arc<Shared>) {
        let streams = tokio::select! {
            streams = shared.ready() => streams,
            _ = self.stop.cancelled() => return,
        };
        let mut bound = 0;
        let mut consumer = None;
        let mut last_touch = Instant::now();
        // Held deliveries are kept alive well within ack_wait, whatever the pump waits on.
        let touch_every = shared.ack_wait / 3;
        while !self.stop.is_cancelled() {
            if last_touch.elapsed() >= touch_every {
                shared.keep_alive(&self.destination, touch_every).await;
                last_touch = Instant::now();
            }
            let want_bound = self.in_flight.load(Ordering::Relaxed);
            if consumer.is_none() || bound != want_bound {
                let config = setup::consumer_config(&shared.names, &self.destination, want_bound, shared.ack_wait);
                match setup::consumer(&streams.deliveries, config).await {
                    Ok(opened) => {
                        consumer = Some(opened);
                        bound = want_bound;
                    }
                    Err(error) => {
                        shared.problem(format!("destination {}: {error}", self.destination));
                        self.pause(Duration::from_secs(1)).await;
                        continue;
                    }
                }
            }
            let room = self.wanted.load(Ordering::Relaxed).saturating_sub(self.buffered());
            if room == 0 {
                tokio::select! {
                    _ = self.wanted_more.notified() => {}
                    _ = tokio::time::sleep_until((last_touch + touch_every).into()) => {}
                    _ = self.stop.cancelled() => {}
                }
                continue;
            }
            let Some(pulling) = &consumer else { continue };
            let batch = pulling
                .batch()
                .max_messages(room)
                .expires(PULL_EXPIRES)
                .messages()
                .await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(error) => {
                    shared.problem(format!("cannot pull deliveries of {}: {error}", self.destination));
                    // The consumer may be gone (deleted, or the stream recreated).
                    consumer = None;
                    self.pause(Duration::from_millis(500)).await;
                    continue;
                }
            };
            loop {
                // (No idle heartbeat on the pull: the client's batch stops waking on
                // new messages after one. A pull lost with the connection is made
                // again at the reconnection instead.)
                let next = tokio::select! {
                    next = batch.next() => next,
                    _ = tokio::time::sleep_until((last_touch + touch_every).into()) => {
                        shared.keep_alive(&self.destination, touch_every).await;
                        last_touch = Instant::now();
                        continue;
                    }
                    _ = shared.connection.connected.notified() => None,
                    _ = self.stop.cancelled() => None,
                };
                match next {
                    Some(Ok(message)) => self.pulled(&shared, message).await,
                    Some(Err(error)) => {
                        // The consumer was deleted (a retirement, a stream set up
                        // again), or the server refused the pull: opened again, after
                        // a pause so that a lasting refusal does not spin.
                        shared.problem(format!("pulling deliveries of {}: {error}", self.destination));
                        consumer = None;
                        self.pause(Duration::from_millis(500)).await;
                        break;
                    }
                    None => break,
                }
            }
        }
    }

    /// A delivery that can never be sent, to the dead letters.
    async fn bury_unsendable(&self, shared: &Shared, sequence: u64, held: Held, reason: String) {
        let event_id = codec::read_head(&held.payload)
            .map(|(head, _)| head.id)
            .unwrap_or_default();
        let mut mark = codec::Mark::dead(event_id, &self.destination, sequence);
        tracing::error!(destination = %self.destination, sequence, %reason, "a delivery cannot be sent");
        if let Err(error) = shared.bury_held(sequence, held, 0, &mut mark, reason).await {
            tracing::warn!(destination = %self.destination, %error, "cannot move an unsendable delivery to the dead letters; will try again");
        }
    }

    async fn pause(&self, delay: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = self.stop.cancelled() => {}
        }
    }

    /// A pulled message: decoded into a delivery for the lane, held for its
    /// acknowledgement.
    async fn pulled(&self, shared: &Shared, message: jetstream::Message) {
        let (sequence, delivered) = match message.info() {
            Ok(info) => (info.stream_sequence, info.delivered),
            Err(error) => {
                tracing::warn!(destination = %self.destination, %error, "a pulled message has no delivery info");
                return;
            }
        };
        let (message, acker) = message.split();
        let held = Held::new(self.destination.clone(), message.payload.clone(), acker);
        let decoded = match codec::read_head(&held.payload) {
            Ok((head, _)) => {
                let stored = match &head.object {
                    Some(name) => shared.read_object(name).await.map(|found| found.ok_or(name)),
                    None => Ok(Ok(Bytes::new())),
                };
                match stored {
                    Ok(Ok(stored)) => {
                        let stored = head.object.is_some().then_some(stored);
                        codec::decode(&held.payload, stored).map_err(|error| error.to_string())
                    }
                    Ok(Err(name)) => {
                        // The attachments are gone (kept for OBJECT_KEPT): it can
                        // never be sent whole; the dead letters say why.
                        let reason = format!("its attachments ({name}) are no longer in the object store");
                        self.bury_unsendable(shared, sequence, held, reason).await;
                        return;
                    }
                    Err(error) => {
                        // The object store is unreachable for now: try again soon.
                        tracing::warn!(destination = %self.destination, %error, "cannot read a delivery's attachments");
                        let _ = held
                            .settle
                            .once(AckKind::Nak(Some(Duration::from_secs(2))), shared.publish_timeout)
                            .await;
                        return;
                    }
                }
            }
            Err(error) => Err(error.to_string()),
        };
        let (head, event) = match decoded {
            Ok(decoded) => decoded,
            Err(error) => {
                // Not Weir's: it can never be sent. Removed, and said loudly.
                tracing::error!(destination = %self.destination, sequence, %error, "removing an unreadable delivery message");
                let _ = held.settle.once(AckKind::Term, shared.publish_timeout).await;
                return;
            }
        };
        if !shared.hold(sequence, held) {
            // Given to us again while we still hold it (a slow attempt outlived
            // ack_wait): the one we hold is the one that will be acknowledged.
            return;
        }
        let delivery = Delivery {
            id: sequence,
            event: Arc::new(event),
            destination: self.destination.clone(),
            attempts: u32::try_from(delivered.saturating_sub(1)).unwrap_or(u32::MAX),
            accepted_at: codec::time(head.accepted_at_ms),
            batch: None,
        };
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(delivery);
        self.lane.notify_one();
    }
}

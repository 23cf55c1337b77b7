//! The JetStream store: the outbox kept in NATS JetStream streams, shared by every Weir
//! instance connected to them.
//!
//! Ingest publishes one message per delivery and answers the sender only once
//! JetStream acknowledged them all (on a replicated stream, once a majority of the
//! cluster has them); the event id (with the destination) is each message's
//! de-duplication id, so a sender's retry through any instance inside
//! `dedupe_window` stores nothing new. Each destination's consumer hands a delivery to
//! one instance at a time; a delivery an instance does not acknowledge in `ack_wait`
//! (it died) goes to another. Retries are delayed negative acknowledgements on the
//! destination's own schedule; dead letters are a stream any instance lists and
//! replays; every attempt is a message of the delivery log that any instance reads.
//!
//! # Layout
//!
//! - this file: the store, and the three sides of the outbox on it.
//! - [`setup`]: connecting, the streams and the consumers.
//! - [`pump`]: pulling each destination's deliveries for its lane.
//! - [`held`]: a pulled delivery, settled once.
//! - [`codec`]: what the messages hold.
//! - [`view`]: what the admin API reads: events, dead letters, the delivery log.

pub mod codec;
pub mod held;
pub mod pump;
pub mod setup;
pub mod view;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_nats::jetstream::{self, AckKind, message::PublishMessage};
use async_trait::async_trait;
use bytes::Bytes;
use rustc_hash::FxHashMap as HashMap;
use tokio::sync::{Notify, OnceCell};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{StorageConfig, WhenFull};
use crate::event::Event;
use crate::outbox::quota::Quotas;
use crate::outbox::schedule::DestinationLoad;
use crate::outbox::{
    Attempt, AttemptCursor, AttemptPage, AttemptQuery, Claimed, Delivery, DeliveryId, DeliveryQuery, DeliveryRecord,
    DestinationCounts, Enqueue, Enqueued, EventRecord, Lanes, Next, OutboxError, OutboxStats, Records,
};
use codec::Mark;
use held::Held;
use pump::Pump;
use setup::{Names, Streams};

/// How long a JetStream API call (not a publish) may take.
const API_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a stop may spend giving back what this instance holds.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// How long an object (attachments too large for a message) is kept: a delivery still
/// waiting after that is dead-lettered when its attachments are found gone.
const OBJECT_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a start waits for the streams before it goes on without them.
const SETUP_WAIT: Duration = Duration::from_secs(10);

/// How long a sender is told to wait when NATS cannot be reached.
const UNREACHABLE_RETRY_AFTER: Duration = Duration::from_secs(2);

/// How often the totals shown by `/readyz`, metrics and the console are read from
/// JetStream (they are shared by the group, so only JetStream knows them).
const STATS_EVERY: Duration = Duration::from_millis(500);

/// The store.
pub struct JetStreamOutbox {
    shared: Arc<Shared>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// What the store's tasks share.
pub struct Shared {
    client: async_nats::Client,
    /// For publishing events, bounded by `publish_timeout` (the sender waits on it).
    js: jetstream::Context,
    /// For everything else (streams, consumers, reads, the object store).
    api: jetstream::Context,
    /// The streams' settings, to set them up again if they are deleted.
    configs: [jetstream::stream::Config; 4],
    names: Names,
    storage: StorageConfig,
    ack_wait: Duration,
    publish_timeout: Duration,
    streams: OnceCell<Arc<Streams>>,
    set_up: Notify,
    /// What the client said of its connection.
    connection: Arc<setup::Connection>,
    pumps: Mutex<HashMap<Arc<str>, Arc<Pump>>>,
    /// Deliveries this instance holds (pulled and not yet acknowledged), by id.
    held: Mutex<HashMap<DeliveryId, Held>>,
    quotas: Mutex<Quotas>,
    totals: Mutex<Totals>,
    /// The last problem reaching JetStream, while it lasts.
    problem: Mutex<Option<(String, Instant)>>,
    stop: CancellationToken,
}

#[derive(Default)]
struct Totals {
    stats: OutboxStats,
    loads: Vec<DestinationLoad>,
}

impl JetStreamOutbox {
    /// Connects (in the background when NATS is not there yet) and sets up the streams.
    pub async fn open(storage: &StorageConfig) -> Result<JetStreamOutbox, String> {
        let settings = &storage.jetstream;
        let connection = Arc::new(setup::Connection::default());
        let client = setup::connect(settings, true, connection.clone()).await?;
        let mut js = jetstream::new(client.clone());
        js.set_timeout(settings.publish_timeout.0);
        let mut api = jetstream::new(client.clone());
        api.set_timeout(API_TIMEOUT);
        let shared = Arc::new(Shared {
            client,
            js,
            api,
            configs: setup::stream_configs(settings, storage),
            names: Names::new(settings),
            storage: storage.clone(),
            ack_wait: settings.ack_wait.0,
            publish_timeout: settings.publish_timeout.0,
            streams: OnceCell::new(),
            set_up: Notify::new(),
            connection,
            pumps: Mutex::default(),
            held: Mutex::default(),
            quotas: Mutex::default(),
            totals: Mutex::default(),
            problem: Mutex::new(None),
            stop: CancellationToken::new(),
        });
        let tasks = vec![
            tokio::spawn(set_up(shared.clone())),
            tokio::spawn(count(shared.clone())),
        ];
        // Starting next to a running NATS, Weir is ready when it says so; with NATS
        // not there (yet), it starts anyway, not ready, and sets up when NATS answers.
        if tokio::time::timeout(SETUP_WAIT, shared.ready()).await.is_err() {
            tracing::warn!(
                problem = shared.unavailable().unwrap_or_default(),
                "starting without JetStream: events are refused with 503 until it answers"
            );
        }
        Ok(JetStreamOutbox {
            shared,
            tasks: Mutex::new(tasks),
        })
    }

    /// Stops pulling, gives back every delivery this instance holds and has not sent
    /// (the others take them at once, rather than after `ack_wait`) and flushes the
    /// acknowledgements. Called once the lanes have stopped.
    pub async fn close(&self) {
        self.shared.stop.cancel();
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.shared_tasks());
        let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
        // The pumps stop first (so that nothing is pulled after the holds are given
        // back); a pump stuck on a lost connection is not waited for past the deadline.
        for mut task in tasks {
            if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
                task.abort();
            }
        }
        self.shared.pumps().clear();
        let left: Vec<Held> = self.shared.held().drain().map(|(_, held)| held).collect();
        let limit = deadline.saturating_duration_since(tokio::time::Instant::now());
        let given_back = left.iter().map(|held| held.settle.once(AckKind::Nak(None), limit));
        let _ = tokio::time::timeout_at(deadline, futures_util::future::join_all(given_back)).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), self.shared.client.flush()).await;
    }

    fn shared_tasks(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Shared {
    fn pumps(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Arc<Pump>>> {
        self.pumps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<DeliveryId, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The streams, once set up.
    async fn ready(&self) -> Arc<Streams> {
        loop {
            let waiting = self.set_up.notified();
            if let Some(streams) = self.streams.get() {
                return streams.clone();
            }
            waiting.await;
        }
    }

    /// Remembers a problem for `/readyz` and the logs (once per kind, not per retry).
    fn problem(&self, problem: String) {
        let mut last = self.problem.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_ref().is_none_or(|(text, _)| *text != problem) {
            tracing::warn!(%problem, "JetStream");
        }
        *last = Some((problem, Instant::now()));
    }

    fn unavailable(&self) -> Option<String> {
        use async_nats::connection::State;
        match self.client.connection_state() {
            State::Connected => {}
            State::Pending | State::Disconnected => {
                return Some(match self.connection.last_error() {
                    Some(error) => format!("NATS cannot be reached ({error}); reconnecting"),
                    None => "NATS cannot be reached; reconnecting".to_string(),
                });
            }
        }
        if self.streams.get().is_none() {
            let problem = self.problem.lock().unwrap_or_else(|e| e.into_inner());
            return Some(match &*problem {
                Some((text, _)) => format!("JetStream is not set up: {text}"),
                None => "JetStream is being set up".to_string(),
            });
        }
        None
    }

    /// Holds a pulled delivery for its acknowledgement; `false` when it is held already
    /// (given to us again while we still work on it: the hold we have stays, and the
    /// new copy is dropped unsettled, which JetStream treats like the first one).
    fn hold(&self, id: DeliveryId, held: Held) -> bool {
        let mut holds = self.held();
        if holds.contains_key(&id) {
            return false;
        }
        holds.insert(id, held);
        true
    }

    fn release(&self, id: DeliveryId) -> Option<Held> {
        self.held().remove(&id)
    }

    /// Tells JetStream this instance still works on the deliveries of `destination` it
    /// has held longer than `older_than`, so that none goes to another instance.
    async fn keep_alive(&self, destination: &str, older_than: Duration) {
        let now = Instant::now();
        let mut touched = Vec::new();
        {
            let mut held = self.held();
            for held in held.values_mut() {
                if &*held.destination == destination && now.duration_since(held.touched) >= older_than {
                    held.touched = now;
                    touched.push(held.settle.clone());
                }
            }
        }
        for settle in touched {
            settle.keep_alive(self.publish_timeout).await;
        }
    }

    async fn object_store(&self) -> Result<jetstream::object_store::ObjectStore, String> {
        match self.api.get_object_store(self.names.object_store()).await {
            Ok(store) => Ok(store),
            Err(_) => self
                .api
                .create_object_store(jetstream::object_store::Config {
                    bucket: self.names.object_store(),
                    num_replicas: self.storage.jetstream.replicas,
                    max_age: self.storage.retention.0.max(OBJECT_KEPT),
                    ..Default::default()
                })
                .await
                .map_err(|error| error.to_string()),
        }
    }

    /// An object's bytes; `Ok(None)` when it is gone (aged out, or removed).
    async fn read_object(&self, name: &str) -> Result<Option<Bytes>, String> {
        use tokio::io::AsyncReadExt;
        let read = async {
            let store = self.object_store().await?;
            let mut object = match store.get(name).await {
                Ok(object) => object,
                Err(error) if error.kind() == jetstream::object_store::GetErrorKind::NotFound => return Ok(None),
                Err(error) => return Err(error.to_string()),
            };
            let mut bytes = Vec::new();
            object
                .read_to_end(&mut bytes)
                .await
                .map_err(|error| error.to_string())?;
            Ok(Some(Bytes::from(bytes)))
        };
        tokio::time::timeout(API_TIMEOUT * 4, read)
            .await
            .unwrap_or_else(|_| Err("the object store did not answer in time".into()))
    }

    /// Stores an event's attachments, within a few publish timeouts (the sender waits).
    async fn write_object(&self, name: &str, bytes: Bytes) -> Result<(), String> {
        let write = async {
            let store = self.object_store().await?;
            store
                .put(name, &mut bytes.as_ref())
                .await
                .map(drop)
                .map_err(|error| error.to_string())
        };
        tokio::time::timeout(self.publish_timeout * 4, write)
            .await
            .unwrap_or_else(|_| Err(format!("not stored within {:?}", self.publish_timeout * 4)))
    }

    /// Publishes a message and waits for JetStream's acknowledgement, at most the
    /// publish timeout.
    async fn publish(
        &self,
        subject: String,
        payload: Bytes,
        id: Option<String>,
    ) -> Result<jetstream::publish::PublishAck, OutboxError> {
        let mut message = PublishMessage::build().payload(payload);
        if let Some(id) = id {
            message = message.message_id(id);
        }
        let published = async {
            let ack = self.js.send_publish(subject, message).await?;
            ack.await
        };
        match tokio::time::timeout(self.publish_timeout, published).await {
            Ok(Ok(ack)) => Ok(ack),
            Ok(Err(error)) => Err(publish_error(&error, &self.storage)),
            Err(_) => Err(OutboxError::Unavailable {
                reason: format!(
                    "JetStream did not acknowledge within {:?} (storage.jetstream.publish_timeout)",
                    self.publish_timeout
                ),
                retry_after: UNREACHABLE_RETRY_AFTER,
            }),
        }
    }

    /// Writes a mark to the delivery log, without waiting for JetStream's
    /// acknowledgement: the lane must not wait a round trip per attempt, and the
    /// delivery's own state is kept by the deliveries stream, not by the log. A mark the
    /// client cannot queue within the publish timeout (disconnected, its queue full) is
    /// logged and lost.
    async fn mark(&self, mark: &Mark) {
        let subject = self.names.attempts(&codec::id_token(&mark.event_id), &mark.destination);
        let payload = Bytes::from(serde_json::to_vec(mark).expect("a mark always serializes"));
        let queued = tokio::time::timeout(
            self.publish_timeout,
            self.js.send_publish(subject, PublishMessage::build().payload(payload)),
        )
        .await;
        let problem = match queued {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => error.to_string(),
            Err(_) => "the client's queue stayed full".to_string(),
        };
        tracing::warn!(event = %mark.event_id, destination = %mark.destination, %problem, "an attempt was not written to the delivery log");
    }

    /// Moves a held message to the dead letters (the same bytes under a head that says
    /// why): the dead letter's id.
    async fn bury(
        &self,
        destination: &str,
        payload: &Bytes,
        id: DeliveryId,
        attempts: u32,
        reason: &str,
    ) -> Result<u64, OutboxError> {
        let (mut head, _) = codec::read_head(payload).map_err(|error| OutboxError::Failed(error.to_string()))?;
        let event_id = head.id.clone();
        head.dead = Some(codec::DeadHead {
            reason: reason.to_string(),
            attempts,
            at_ms: codec::ms(SystemTime::now()),
        });
        let letter = codec::with_head(payload, &head).map_err(|error| OutboxError::Failed(error.to_string()))?;
        let message_id = format!("{event_id}:{destination}:dead:{id}");
        let ack = self
            .publish(self.names.dead(destination), letter, Some(message_id))
            .await?;
        Ok(ack.sequence)
    }
}

impl Shared {
    /// A held delivery to the dead letters, then acknowledged: a crash between the two
    /// leaves a dead letter and a delivery that is sent again, never neither.
    async fn bury_held(
        &self,
        id: DeliveryId,
        held: Held,
        attempts: u32,
        mark: &mut Mark,
        reason: String,
    ) -> Result<(), OutboxError> {
        match self.bury(&held.destination, &held.payload, id, attempts, &reason).await {
            Ok(letter) => {
                mark.state = "dead".into();
                mark.delivery = letter;
                mark.reason = Some(reason);
                let limit = self.publish_timeout;
                let (_, acked) = tokio::join!(self.mark(mark), held.settle.once(AckKind::Ack, limit));
                acked.map_err(|error| OutboxError::Failed(format!("cannot acknowledge a dead delivery: {error}")))
            }
            Err(error) => {
                // Not buried: it stays pending and comes back shortly.
                let _ = held
                    .settle
                    .once(AckKind::Nak(Some(Duration::from_secs(5))), self.publish_timeout)
                    .await;
                Err(error)
            }
        }
    }
}

/// What a failed publish means for the sender.
fn publish_error(error: &jetstream::context::PublishError, limits: &StorageConfig) -> OutboxError {
    use jetstream::context::PublishErrorKind;
    let text = error.to_string();
    match error.kind() {
        PublishErrorKind::MaxPayloadExceeded => OutboxError::Failed(format!("{text}; raise the server's max_payload")),
        PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe | PublishErrorKind::StreamNotFound => {
            OutboxError::Unavailable {
                reason: format!("JetStream: {text}"),
                retry_after: UNREACHABLE_RETRY_AFTER,
            }
        }
        _ if text.contains("maximum messages") => OutboxError::Full {
            pending: limits.max_pending,
            limit: limits.max_pending,
            retry_after: Duration::from_secs(1),
        },
        _ if text.contains("maximum bytes") => OutboxError::FullBytes {
            bytes: limits.max_bytes.0,
            limit: limits.max_bytes.0,
            retry_after: Duration::from_secs(1),
        },
        _ => OutboxError::Failed(format!("JetStream: {text}")),
    }
}

/// Sets up the streams, trying again until it works (NATS may start after Weir, or a
/// cluster may still be electing its leader).
async fn set_up(shared: Arc<Shared>) {
    let mut delay = Duration::from_millis(100);
    loop {
        if shared.client.connection_state() == async_nats::connection::State::Connected {
            match setup::streams(&shared.api, shared.configs.clone()).await {
                Ok(streams) => {
                    let _ = shared.streams.set(Arc::new(streams));
                    *shared.problem.lock().unwrap_or_else(|e| e.into_inner()) = None;
                    shared.set_up.notify_waiters();
                    tracing::info!("JetStream streams are set up");
                    return;
                }
                Err(error) => shared.problem(error),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shared.stop.cancelled() => return,
        }
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Reads the group's totals from JetStream, until stopped.
async fn count(shared: Arc<Shared>) {
    let streams = tokio::select! {
        streams = shared.ready() => streams,
        _ = shared.stop.cancelled() => return,
    };
    loop {
        if shared.client.connection_state() == async_nats::connection::State::Connected {
            let mut stats = OutboxStats::default();
            match streams.deliveries.get_info().await {
                Ok(info) => {
                    stats.pending = info.state.messages as usize;
                    stats.pending_bytes = info.state.bytes;
                }
                Err(error) if error.to_string().contains("not found") => {
                    // Someone deleted the streams: set them up again (the handles stay
                    // valid: they name the streams).
                    if let Err(error) = setup::streams(&shared.api, shared.configs.clone()).await {
                        shared.problem(error);
                    } else {
                        tracing::warn!("the JetStream streams were deleted; set up again");
                    }
                }
                Err(_) => {}
            }
            if let Ok(info) = streams.dead.get_info().await {
                stats.dead = info.state.messages as usize;
            }
            let destinations: Vec<Arc<str>> = shared.pumps().keys().cloned().collect();
            let mut loads = Vec::with_capacity(destinations.len());
            for destination in destinations {
                if let Ok(info) = streams
                    .deliveries
                    .consumer_info(shared.names.consumer(&destination))
                    .await
                {
                    loads.push(DestinationLoad {
                        destination,
                        pending: (info.num_pending as usize).saturating_add(info.num_ack_pending),
                        bytes: 0,
                        shed: 0,
                    });
                }
            }
            *shared.totals.lock().unwrap_or_else(|e| e.into_inner()) = Totals { stats, loads };
        }
        tokio::select! {
            _ = tokio::time::sleep(STATS_EVERY) => {}
            _ = shared.stop.cancelled() => return,
        }
    }
}

#[async_trait]
impl Enqueue for JetStreamOutbox {
    async fn enqueue(&self, event: Arc<Event>) -> Result<Enqueued, OutboxError> {
        let shared = &self.shared;
        if let Some(reason) = shared.unavailable() {
            return Err(OutboxError::Unavailable {
                reason,
                retry_after: UNREACHABLE_RETRY_AFTER,
            });
        }
        let accepted_at = SystemTime::now();
        // A destination whose share of the store is full: refused, or dead at once.
        let mut dead_at_once = Vec::new();
        {
            let quotas = shared.quotas.lock().unwrap_or_else(|e| e.into_inner());
            let totals = shared.totals.lock().unwrap_or_else(|e| e.into_inner());
            for destination in &event.destinations {
                let (Some(quota), Some(load)) = (
                    quotas.of(destination),
                    totals.loads.iter().find(|load| *load.destination == **destination),
                ) else {
                    continue;
                };
                if load.pending >= quota.max_pending {
                    match quota.when_full {
                        WhenFull::Refuse => {
                            return Err(OutboxError::DestinationFull {
                                destination: destination.to_string(),
                                pending: load.pending,
                                bytes: load.bytes,
                                retry_after: Duration::from_secs(5),
                            });
                        }
                        _ => dead_at_once.push(destination.0.clone()),
                    }
                }
            }
        }
        // Attachments too large for one message go to the object store.
        let max_payload = shared.client.server_info().max_payload;
        let inline_size = event.predictions.len() + event.attachments_size() + 4096;
        let object = if inline_size > max_payload && !event.attachments.is_empty() {
            let name = codec::id_token(&event.id);
            shared
                .write_object(&name, codec::attachments(&event))
                .await
                .map_err(|error| OutboxError::Unavailable {
                    reason: format!("cannot store the attachments in the object store: {error}"),
                    retry_after: UNREACHABLE_RETRY_AFTER,
                })?;
            Some(name)
        } else {
            None
        };
        let head = codec::head(&event, accepted_at, object);
        let message = codec::encode(&head, &event);
        if message.len() > max_payload {
            return Err(OutboxError::NeverFits {
                bytes: message.len() as u64,
                limit: max_payload as u64,
                setting: "the NATS server's max_payload".to_string(),
            });
        }
        let token = codec::id_token(&event.id);
        let record = codec::EventMark {
            id: event.id.clone(),
            route: event.route.clone(),
            accepted_at_ms: codec::ms(accepted_at),
            destinations: head.destinations.clone(),
        };
        let record = Bytes::from(serde_json::to_vec(&record).expect("an event record always serializes"));
        let mut publishes = Vec::with_capacity(event.destinations.len() + 1);
        for destination in &event.destinations {
            let id = format!("{}:{}", event.id, &**destination);
            let (subject, payload) = if dead_at_once.contains(&destination.0) {
                let mut dead = head.clone();
                dead.dead = Some(codec::DeadHead {
                    reason: format!(
                        "destination {} had its share of the store full (when_full = \"dead\")",
                        &**destination
                    ),
                    attempts: 0,
                    at_ms: codec::ms(accepted_at),
                });
                (
                    shared.names.dead(destination),
                    codec::with_head(&message, &dead).map_err(|e| OutboxError::Failed(e.to_string()))?,
                )
            } else {
                (shared.names.delivery(destination), message.clone())
            };
            publishes.push(shared.publish(subject, payload, Some(id)));
        }
        publishes.push(shared.publish(shared.names.event(&token), record, Some(event.id.clone())));
        let acks = futures_util::future::join_all(publishes).await;
        let mut duplicates = 0;
        for ack in acks {
            if ack?.duplicate {
                duplicates += 1;
            }
        }
        if duplicates == event.destinations.len() + 1 {
            return Ok(Enqueued::Duplicate);
        }
        Ok(Enqueued::Accepted)
    }
}

#[async_trait]
impl Lanes for JetStreamOutbox {
    async fn claim(&self, destination: &str, max: usize) -> Result<Claimed, OutboxError> {
        let pump = self.shared.pumps().get(destination).cloned();
        let deliveries = pump.map(|pump| pump.claim(max)).unwrap_or_default();
        Ok(Claimed {
            deliveries,
            next_due: None,
        })
    }

    async fn complete(&self, delivery: &Delivery, attempt: &Attempt, next: Next) -> Result<(), OutboxError> {
        let shared = &self.shared;
        let Some(held) = shared.release(delivery.id) else {
            return Err(OutboxError::Failed(format!(
                "delivery {} is not held by this instance any more (its destination was retired)",
                delivery.id
            )));
        };
        let mut mark = Mark {
            event_id: delivery.event.id.clone(),
            destination: delivery.destination.to_string(),
            delivery: delivery.id,
            state: "pending".into(),
            attempt: Some(crate::outbox::AttemptRecord::of(attempt)),
            next_at_ms: None,
            reason: attempt.error.clone(),
            at_ms: codec::ms(SystemTime::now()),
        };
        match next {
            Next::Delivered => {
                mark.state = "delivered".into();
                let limit = shared.publish_timeout;
                let (_, acked) = tokio::join!(shared.mark(&mark), held.settle.once(AckKind::Ack, limit));
                acked.map_err(|error| OutboxError::Failed(format!("cannot acknowledge a delivery: {error}")))
            }
            Next::RetryAt(at) => {
                let delay = at.saturating_duration_since(Instant::now());
                mark.next_at_ms = Some(codec::ms(SystemTime::now() + delay));
                let limit = shared.publish_timeout;
                let (_, naked) = tokio::join!(shared.mark(&mark), held.settle.once(AckKind::Nak(Some(delay)), limit));
                naked.map_err(|error| OutboxError::Failed(format!("cannot schedule a retry: {error}")))
            }
            Next::Dead(reason) => self.bury(delivery, held, mark, reason).await,
        }
    }

    fn give_back(&self, delivery: &Delivery) {
        // Without a pump (its destination is being retired), the delivery stays held:
        // the retirement dead-letters what is held.
        if let Some(pump) = self.shared.pumps().get(&delivery.destination).cloned() {
            pump.put_back(delivery.clone());
        }
    }

    async fn expired(&self, delivery: &Delivery, reason: String) -> Result<(), OutboxError> {
        let Some(held) = self.shared.release(delivery.id) else {
            return Ok(());
        };
        let mark = Mark::dead(delivery.event.id.clone(), &delivery.destination, delivery.id);
        self.bury(delivery, held, mark, reason).await
    }

    fn notifier(&self, destination: &str) -> Arc<Notify> {
        self.pump(destination).lane.clone()
    }
}

impl JetStreamOutbox {
    /// The pump of a destination, started when first asked for.
    fn pump(&self, destination: &str) -> Arc<Pump> {
        let mut pumps = self.shared.pumps();
        if let Some(pump) = pumps.get(destination) {
            return pump.clone();
        }
        let in_flight = {
            let quotas = self.shared.quotas.lock().unwrap_or_else(|e| e.into_inner());
            quotas.of(destination).map_or(1, |quota| quota.in_flight)
        };
        let pump = Arc::new(Pump::new(destination.into(), in_flight, self.shared.stop.child_token()));
        pumps.insert(destination.into(), pump.clone());
        self.shared_tasks()
            .push(tokio::spawn(pump.clone().run(self.shared.clone())));
        pump
    }

    /// A delivery to the dead letters, then acknowledged: a crash between the two
    /// leaves a dead letter and a delivery that is sent again, never neither.
    async fn bury(&self, delivery: &Delivery, held: Held, mut mark: Mark, reason: String) -> Result<(), OutboxError> {
        let attempts = delivery.attempts + u32::from(mark.attempt.is_some());
        self.shared
            .bury_held(delivery.id, held, attempts, &mut mark, reason)
            .await
    }
}

#[async_trait]
impl Records for JetStreamOutbox {
    fn set_quotas(&self, quotas: Quotas) {
        let destinations: Vec<(Arc<str>, usize)> = quotas
            .iter()
            .map(|(name, quota)| (name.clone(), quota.in_flight))
            .collect();
        *self.shared.quotas.lock().unwrap_or_else(|e| e.into_inner()) = quotas;
        for (destination, in_flight) in destinations {
            let pump = self.pump(&destination);
            pump.in_flight.store(in_flight, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn stats(&self) -> OutboxStats {
        self.shared.totals.lock().unwrap_or_else(|e| e.into_inner()).stats
    }

    fn loads(&self) -> Vec<DestinationLoad> {
        self.shared
            .totals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .loads
            .clone()
    }

    fn unavailable(&self) -> Option<String> {
        self.shared.unavailable()
    }

    async fn event(&self, id: &str) -> Result<Option<EventRecord>, OutboxError> {
        view::event(&self.shared, id).await
    }

    async fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, OutboxError> {
        view::deliveries(&self.shared, query).await
    }

    async fn replay(&self, id: DeliveryId) -> Result<bool, OutboxError> {
        view::replay(&self.shared, id).await
    }

    async fn replay_dead(&self, destination: &str) -> Result<usize, OutboxError> {
        view::replay_dead(&self.shared, destination).await
    }

    async fn attempts(
        &self,
        query: &AttemptQuery,
        cursor: Option<AttemptCursor>,
        max: usize,
    ) -> Result<AttemptPage, OutboxError> {
        view::attempts(&self.shared, query, cursor, max).await
    }

    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, OutboxError> {
        view::destination_counts(&self.shared, destination).await
    }

    async fn retire(&self, destination: &str, reason: &str) -> Result<usize, OutboxError> {
        let shared = &self.shared;
        if let Some(pump) = shared.pumps().remove(destination) {
            pump.stop.cancel();
            pump.take_all();
        }
        // What this instance holds of it (pulled, in a batch, or in flight: an attempt
        // finishing after this finds its delivery gone) goes to the dead letters first,
        // while its consumer still takes the acknowledgements.
        let holds: Vec<(DeliveryId, Held)> = {
            let mut held = shared.held();
            let ids: Vec<DeliveryId> = held
                .iter()
                .filter(|(_, held)| &*held.destination == destination)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| held.remove(&id).map(|h| (id, h)))
                .collect()
        };
        let mut moved = 0;
        for (id, held) in holds {
            let event_id = codec::read_head(&held.payload)
                .map(|(head, _)| head.id)
                .unwrap_or_default();
            let mut mark = Mark::dead(event_id, destination, id);
            shared.bury_held(id, held, 0, &mut mark, reason.to_string()).await?;
            moved += 1;
        }
        moved += view::retire(shared, destination, reason).await?;
        Ok(moved)
    }
}

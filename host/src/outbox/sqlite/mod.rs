//! The durable outbox, on SQLite.
//!
//! Why SQLite (through `rusqlite` with its bundled build): it is the most widely
//! deployed crash-safe embedded database, a single file an operator can inspect with
//! the `sqlite3` shell, and its WAL mode gives what an outbox needs: one writer
//! committing in groups, readers (the admin API) that never block it, and a commit that
//! is on disk when it returns (`synchronous = FULL`). The pure-Rust stores (redb,
//! fjall) would do too, but none has SQLite's record of surviving power cuts.
//!
//! The schedule of pending deliveries lives in memory as in the in-memory store
//! (rebuilt from the database at start); the database is the truth: an event is
//! acknowledged only after its transaction committed, and every attempt, retry time and
//! dead letter is written there.
//!
//! # Layout
//!
//! - this file: the store, and the [`Outbox`] it implements.
//! - [`schema`]: tables and connection settings.
//! - [`writer`]: the writer thread and its group commits.
//! - [`read`]: recovery at start, and queries.

pub mod read;
pub mod schema;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use async_trait::async_trait;
use rusqlite::Connection;
use tokio::sync::{Notify, mpsc, oneshot};

use self::writer::{Write, WriterStats};
use super::quota::Quotas;
use super::schedule::{DestinationLoad, RoomWait, Schedule, event_bytes};
use super::{
    Attempt, AttemptCursor, AttemptPage, AttemptQuery, Claimed, Delivery, DeliveryId, DeliveryQuery, DeliveryRecord,
    DeliveryState, DestinationCounts, Enqueue, Enqueued, EventRecord, Lanes, Next, OutboxError, OutboxStats, Records,
};
use weir_contract::state::{Change, Entry};

use crate::event::Event;

/// Writes that may wait for the writer thread; past it, senders wait (backpressure on
/// ingest rather than unbounded memory).
pub const WRITE_QUEUE: usize = 8192;

/// The durable outbox.
pub struct SqliteOutbox {
    path: PathBuf,
    schedule: Arc<Mutex<Schedule>>,
    next_id: AtomicU64,
    dead: AtomicUsize,
    max_pending: usize,
    max_bytes: u64,
    writes: mpsc::Sender<Write>,
    reader: Arc<Mutex<Connection>>,
    stats: Arc<WriterStats>,
    /// The writer thread, joined by [`SqliteOutbox::close`].
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

fn failed(error: impl std::fmt::Display) -> OutboxError {
    OutboxError::Failed(error.to_string())
}

impl SqliteOutbox {
    /// Opens (or creates) the store at `path`, picks up every pending delivery where it
    /// was, and starts the writer thread. Blocking: call it off the async reactor.
    pub fn open(path: &Path, max_pending: usize, max_bytes: u64) -> Result<SqliteOutbox, OutboxError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|error| failed(format!("cannot create {}: {error}", dir.display())))?;
        }
        let context = |error: rusqlite::Error| failed(format!("{}: {error}", path.display()));
        let writer_connection = schema::open(path).map_err(context)?;
        let reader = schema::open(path).map_err(context)?;

        let mut schedule = Schedule::default();
        let pending = read::pending(&reader).map_err(context)?;
        let recovered = pending.len();
        let now = SystemTime::now();
        for entry in pending {
            let at = entry
                .next_attempt_at
                .and_then(|at| at.duration_since(now).ok())
                .map(|wait| Instant::now() + wait);
            schedule.add(entry.delivery, at);
        }
        let next_id = read::max_delivery_id(&reader).map_err(context)? + 1;
        let dead = read::dead_count(&reader).map_err(context)?;
        if recovered > 0 {
            tracing::info!(path = %path.display(), pending = recovered, dead, "picked up pending deliveries where they were");
        }

        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        let stats = Arc::new(WriterStats::default());
        let writer_stats = stats.clone();
        let schedule = Arc::new(Mutex::new(schedule));
        let writer_schedule = schedule.clone();
        let writer = std::thread::Builder::new()
            .name("weir-outbox-writer".into())
            .spawn(move || writer::run(writer_connection, queue, writer_stats, writer_schedule))
            .map_err(|error| failed(format!("cannot start the store's writer thread: {error}")))?;
        Ok(SqliteOutbox {
            path: path.to_path_buf(),
            schedule,
            next_id: AtomicU64::new(next_id),
            dead: AtomicUsize::new(dead),
            max_pending,
            max_bytes,
            writes,
            reader: Arc::new(Mutex::new(reader)),
            stats,
            writer: Mutex::new(Some(writer)),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Commits every write made so far and stops the writer thread, waiting for it.
    /// Later writes fail. Blocking: call it off the async reactor, at shutdown, once
    /// nothing writes any more.
    pub fn close(&self) {
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        let Some(writer) = writer else {
            return;
        };
        // A send that fails finds the writer gone already (its receiver dropped): the
        // join then only reaps the thread.
        let _ = self.writes.blocking_send(Write::Close);
        if writer.join().is_err() {
            tracing::error!("the durable store's writer thread panicked");
        }
    }

    /// The persisted entries of a filter's state store. Blocking: call it off the
    /// async reactor.
    pub fn load_state(&self, scope: &str) -> Result<Vec<(String, Entry)>, OutboxError> {
        let reader = self.reader.lock().unwrap_or_else(PoisonError::into_inner);
        read::state(&reader, scope).map_err(failed)
    }

    /// Writes changed entries of filters' state stores, returning once committed.
    /// Blocking: call it off the async reactor.
    pub fn save_state(&self, changes: Vec<(String, Vec<Change>)>) -> Result<usize, OutboxError> {
        let (reply, answer) = oneshot::channel();
        self.writes
            .blocking_send(Write::SaveState { changes, reply })
            .map_err(|_| failed("the store's writer has stopped"))?;
        answer
            .blocking_recv()
            .map_err(|_| failed("the store's writer has stopped"))?
    }

    /// Transactions committed so far (each one disk sync).
    pub fn commits(&self) -> u64 {
        self.stats.commits.load(Ordering::Relaxed)
    }

    fn schedule(&self) -> MutexGuard<'_, Schedule> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn write(&self, write: Write) -> Result<(), OutboxError> {
        self.writes
            .send(write)
            .await
            .map_err(|_| failed("the store's writer thread has stopped"))
    }

    /// Runs a read on the reader connection, off the reactor.
    async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, OutboxError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let connection = reader.lock().unwrap_or_else(PoisonError::into_inner);
            query(&connection)
        })
        .await
        .map_err(failed)?
        .map_err(failed)
    }

    /// Removes records of deliveries delivered before `before` (and attachments no
    /// delivery will send any more); how many deliveries went.
    pub async fn expire(&self, before: SystemTime, max_bytes: u64) -> Result<usize, OutboxError> {
        let (reply, answer) = oneshot::channel();
        self.write(Write::Expire {
            before,
            max_bytes,
            reply,
        })
        .await?;
        answer.await.map_err(failed)?
    }

    /// Puts revived deliveries back in the schedule.
    async fn reschedule(&self, ids: Vec<DeliveryId>) -> Result<usize, OutboxError> {
        let count = ids.len();
        let loaded = self
            .read(move |connection| {
                let mut deliveries = Vec::new();
                let mut events: std::collections::HashMap<String, Arc<Event>> = std::collections::HashMap::new();
                for id in ids {
                    let Some((destination, event_id)) = read::delivery(connection, id)? else {
                        continue;
                    };
                    let event = match events.get(&event_id) {
                        Some(event) => event.clone(),
                        None => {
                            let Some((event, _)) = read::event(connection, &event_id)? else {
                                continue;
                            };
                            let event = Arc::new(event);
                            events.insert(event_id, event.clone());
                            event
                        }
                    };
                    deliveries.push(Delivery {
                        id,
                        event,
                        destination: destination.as_str().into(),
                        attempts: 0,
                        accepted_at: SystemTime::now(),
                        batch: None,
                    });
                }
                Ok(deliveries)
            })
            .await?;
        let mut schedule = self.schedule();
        for delivery in loaded {
            schedule.add(delivery, None);
        }
        self.dead
            .fetch_sub(count.min(self.dead.load(Ordering::Relaxed)), Ordering::Relaxed);
        Ok(count)
    }
}

#[async_trait]
impl Enqueue for SqliteOutbox {
    async fn enqueue(&self, event: Arc<Event>) -> Result<Enqueued, OutboxError> {
        let destinations = &event.destinations;
        let accepted_at = SystemTime::now();
        let first = self.next_id.fetch_add(destinations.len() as u64, Ordering::Relaxed);
        let deliveries: Vec<Delivery> = destinations
            .iter()
            .enumerate()
            .map(|(i, destination)| Delivery {
                id: first + i as u64,
                event: event.clone(),
                destination: destination.0.clone(),
                attempts: 0,
                accepted_at,
                batch: None,
            })
            .collect();
        let bytes = deliveries.first().map_or(0, event_bytes);
        // Checked before the write: concurrent requests may overshoot the limit by at
        // most their number, which keeps the check off the disk path.
        let mut room = RoomWait::default();
        let admission = loop {
            let waited = {
                let mut schedule = self.schedule();
                let admission = schedule.admit(&deliveries, bytes, self.max_pending, self.max_bytes);
                if room.wanted(&admission) {
                    Err(schedule.room())
                } else {
                    Ok(admission)
                }
            };
            match waited {
                Ok(admission) => break admission?,
                // Then another look (past the wait's end, the last, whatever it says).
                Err(signal) => room.wait(signal).await,
            }
        };
        let shed: Vec<Arc<str>> = deliveries
            .iter()
            .zip(&admission.dead)
            .filter(|(_, dead)| dead.is_some())
            .map(|(delivery, _)| delivery.destination.clone())
            .collect();
        let (reply, answer) = oneshot::channel();
        self.write(Write::Enqueue {
            event,
            deliveries,
            dead: admission.dead,
            reply,
        })
        .await?;
        let enqueued = answer.await.map_err(failed)??;
        if enqueued == Enqueued::Accepted && !shed.is_empty() {
            self.dead.fetch_add(shed.len(), Ordering::Relaxed);
            let mut schedule = self.schedule();
            for destination in &shed {
                schedule.shed(destination);
            }
        }
        Ok(enqueued)
    }
}

#[async_trait]
impl Lanes for SqliteOutbox {
    async fn claim(&self, destination: &str, max: usize) -> Result<Claimed, OutboxError> {
        Ok(self.schedule().claim(destination, max))
    }

    fn give_back(&self, delivery: &Delivery) {
        // Its row is pending on disk already; the schedule takes it in again.
        self.schedule().put_back(delivery.clone(), None);
    }

    async fn expired(&self, delivery: &Delivery, reason: String) -> Result<(), OutboxError> {
        self.schedule().finish(delivery);
        self.dead.fetch_add(1, Ordering::Relaxed);
        // Like an attempt's record, written with the next group commit, not awaited:
        // a crash before it finds the delivery pending, and it expires again.
        let (reply, _unread) = oneshot::channel();
        self.write(Write::Bury {
            ids: vec![delivery.id],
            reason,
            reply,
        })
        .await
    }

    async fn complete(&self, delivery: &Delivery, attempt: &Attempt, next: Next) -> Result<(), OutboxError> {
        let attempts = delivery.attempts + 1;
        let (state, next_attempt_at, error) = match &next {
            Next::Delivered => (DeliveryState::Delivered, None, None),
            Next::RetryAt(at) => {
                let wall = SystemTime::now() + at.saturating_duration_since(Instant::now());
                (DeliveryState::Pending, Some(wall), attempt.error.clone())
            }
            Next::Dead(reason) => (DeliveryState::Dead, None, Some(reason.clone())),
        };
        {
            let mut schedule = self.schedule();
            match next {
                Next::Delivered => schedule.finish(delivery),
                Next::Dead(_) => {
                    schedule.finish(delivery);
                    self.dead.fetch_add(1, Ordering::Relaxed);
                }
                Next::RetryAt(at) => {
                    let mut retry = delivery.clone();
                    retry.attempts = attempts;
                    schedule.put_back(retry, Some(at));
                }
            }
        }
        self.write(Write::Attempted {
            delivery: delivery.id,
            attempt: attempt.clone(),
            attempts,
            state,
            next_attempt_at,
            error,
        })
        .await
    }

    fn notifier(&self, destination: &str) -> Arc<Notify> {
        self.schedule().notifier(destination)
    }
}

#[async_trait]
impl Records for SqliteOutbox {
    fn set_quotas(&self, quotas: Quotas) {
        self.schedule().set_quotas(quotas);
    }

    fn loads(&self) -> Vec<DestinationLoad> {
        self.schedule().loads()
    }

    fn stats(&self) -> OutboxStats {
        let schedule = self.schedule();
        OutboxStats {
            pending: schedule.pending(),
            pending_bytes: schedule.pending_bytes(),
            dead: self.dead.load(Ordering::Relaxed),
            commits: self.commits(),
        }
    }

    async fn event(&self, id: &str) -> Result<Option<EventRecord>, OutboxError> {
        let id = id.to_string();
        self.read(move |connection| read::event_record(connection, &id)).await
    }

    async fn deliveries(&self, query: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, OutboxError> {
        let query = query.clone();
        self.read(move |connection| read::delivery_records(connection, &query))
            .await
    }

    async fn replay(&self, id: DeliveryId) -> Result<bool, OutboxError> {
        let (reply, answer) = oneshot::channel();
        self.write(Write::Revive { ids: vec![id], reply }).await?;
        let revived = answer.await.map_err(failed)??;
        if revived.is_empty() {
            return Ok(false);
        }
        self.reschedule(revived).await?;
        Ok(true)
    }

    async fn replay_dead(&self, destination: &str) -> Result<usize, OutboxError> {
        let name = destination.to_string();
        let ids = self.read(move |connection| read::dead_of(connection, &name)).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let (reply, answer) = oneshot::channel();
        self.write(Write::Revive { ids, reply }).await?;
        let revived = answer.await.map_err(failed)??;
        self.reschedule(revived).await
    }

    async fn attempts(
        &self,
        query: &AttemptQuery,
        cursor: Option<AttemptCursor>,
        max: usize,
    ) -> Result<AttemptPage, OutboxError> {
        let query = query.clone();
        let max = max.clamp(1, super::attempts::MAX_PAGE);
        // One page per read: the reader connection is held for a page, never for a
        // whole export, so the admin API's other reads go on meanwhile.
        self.read(move |connection| read::attempts(connection, &query, cursor, max))
            .await
    }

    async fn destination_counts(&self, destination: &str) -> Result<DestinationCounts, OutboxError> {
        let queued = self.schedule().queued(destination);
        let name = destination.to_string();
        let dead = self
            .read(move |connection| read::dead_count_of(connection, &name))
            .await?;
        Ok(DestinationCounts { queued, dead })
    }

    async fn retire(&self, destination: &str, reason: &str) -> Result<usize, OutboxError> {
        let removed = self.schedule().remove_destination(destination);
        let ids: Vec<DeliveryId> = removed.iter().map(|d| d.id).collect();
        let count = ids.len();
        if count > 0 {
            self.dead.fetch_add(count, Ordering::Relaxed);
            let (reply, answer) = oneshot::channel();
            self.write(Write::Bury {
                ids,
                reason: reason.to_string(),
                reply,
            })
            .await?;
            answer.await.map_err(failed)??;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests;

//! The one thread that writes the durable store, committing in groups.
//!
//! Writes arrive on a bounded channel. The thread takes the first, then every other
//! already waiting (up to [`MAX_BATCH`]), applies them all in one transaction and
//! commits once: under load, many concurrent events share one disk sync, which is what
//! keeps durability from costing an fsync per event. Senders of events wait for the
//! commit; attempt records do not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{mpsc, oneshot};

use super::schema::{now_ms, to_ms};
use weir_contract::state::Change;

use crate::event::Event;
use crate::outbox::record::DeliveryState;
use crate::outbox::schedule::Schedule;
use crate::outbox::{Attempt, Delivery, DeliveryId, Enqueued, OutboxError};

/// Most writes applied in one transaction.
pub const MAX_BATCH: usize = 1024;

/// A write for the store.
pub enum Write {
    /// Store an event and its deliveries; once committed, schedule them and answer.
    /// Scheduling here rather than in the caller makes enqueueing cancellation-safe:
    /// whatever happens to the request, a committed delivery is scheduled.
    Enqueue {
        event: Arc<Event>,
        deliveries: Vec<Delivery>,
        /// Per delivery: the reason it goes straight to the dead letters, if it does.
        dead: Vec<Option<String>>,
        reply: oneshot::Sender<Result<Enqueued, OutboxError>>,
    },
    /// Record an attempt and the delivery's new state.
    Attempted {
        delivery: DeliveryId,
        attempt: Attempt,
        attempts: u32,
        state: DeliveryState,
        next_attempt_at: Option<SystemTime>,
        error: Option<String>,
    },
    /// Mark dead deliveries pending again; answer with those that were dead.
    Revive {
        ids: Vec<DeliveryId>,
        reply: oneshot::Sender<Result<Vec<DeliveryId>, OutboxError>>,
    },
    /// Mark deliveries dead, with a reason; answer once committed.
    Bury {
        ids: Vec<DeliveryId>,
        reason: String,
        reply: oneshot::Sender<Result<usize, OutboxError>>,
    },
    /// Remove records of deliveries delivered before this time, and what they leave
    /// unreferenced; answer with how many deliveries went.
    Expire {
        before: SystemTime,
        /// Most bytes of delivered events' records kept, the newest first.
        max_bytes: u64,
        reply: oneshot::Sender<Result<usize, OutboxError>>,
    },
    /// Write changed entries of filters' state stores (by scope); answer once committed.
    SaveState {
        changes: Vec<(String, Vec<Change>)>,
        reply: oneshot::Sender<Result<usize, OutboxError>>,
    },
    /// Commit what came before, then stop: the store is closing.
    Close,
}

/// Counters of the writer.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Transactions committed (each one disk sync).
    pub commits: AtomicU64,
    /// Writes applied.
    pub writes: AtomicU64,
}

/// Runs the writer until the store closes ([`Write::Close`]) or every sender is dropped.
pub fn run(
    mut connection: Connection,
    mut writes: mpsc::Receiver<Write>,
    stats: Arc<WriterStats>,
    schedule: Arc<Mutex<Schedule>>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut closing = false;
    while let Some(first) = writes.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        // Writes after a close (there should be none) are refused, not lost silently.
        if let Some(at) = batch.iter().position(|write| matches!(write, Write::Close)) {
            closing = true;
            for late in batch.drain(at..) {
                fail(late, "the store is closed");
            }
        }
        let count = batch.len() as u64;
        match apply(&mut connection, &mut batch) {
            Ok(replies) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.writes.fetch_add(count, Ordering::Relaxed);
                for reply in replies {
                    reply.send(&schedule);
                }
            }
            Err(error) => {
                let message = format!("the durable store failed to write: {error}");
                tracing::error!("{message}");
                for write in batch.drain(..) {
                    fail(write, &message);
                }
            }
        }
        batch.clear();
        if closing {
            return;
        }
    }
}

/// An answer to send once the transaction committed.
enum Reply {
    Enqueue(oneshot::Sender<Result<Enqueued, OutboxError>>, Enqueued, Vec<Delivery>),
    Revive(oneshot::Sender<Result<Vec<DeliveryId>, OutboxError>>, Vec<DeliveryId>),
    Count(oneshot::Sender<Result<usize, OutboxError>>, usize),
}

impl Reply {
    fn send(self, schedule: &Mutex<Schedule>) {
        match self {
            Reply::Enqueue(tx, value, deliveries) => {
                if value == Enqueued::Accepted {
                    let mut schedule = schedule.lock().unwrap_or_else(PoisonError::into_inner);
                    for delivery in deliveries {
                        schedule.add(delivery, None);
                    }
                }
                drop(tx.send(Ok(value)));
            }
            Reply::Revive(tx, value) => drop(tx.send(Ok(value))),
            Reply::Count(tx, value) => drop(tx.send(Ok(value))),
        }
    }
}

fn fail(write: Write, message: &str) {
    let error = || OutboxError::Failed(message.to_string());
    match write {
        Write::Enqueue { reply, .. } => drop(reply.send(Err(error()))),
        Write::Revive { reply, .. } => drop(reply.send(Err(error()))),
        Write::Expire { reply, .. } => drop(reply.send(Err(error()))),
        Write::Attempted { delivery, .. } => tracing::error!(delivery, "an attempt record was lost: {message}"),
        Write::Bury { reply, .. } => drop(reply.send(Err(error()))),
        Write::SaveState { reply, .. } => drop(reply.send(Err(error()))),
        Write::Close => {}
    }
}

fn apply(connection: &mut Connection, batch: &mut Vec<Write>) -> rusqlite::Result<Vec<Reply>> {
    let transaction = connection.transaction()?;
    let mut replies = Vec::with_capacity(batch.len());
    for write in batch.drain(..) {
        match write {
            Write::Enqueue {
                event,
                deliveries,
                dead,
                reply,
            } => {
                let outcome = insert_event(&transaction, &event, &deliveries, &dead)?;
                let live = deliveries
                    .into_iter()
                    .zip(&dead)
                    .filter_map(|(delivery, dead)| dead.is_none().then_some(delivery))
                    .collect();
                replies.push(Reply::Enqueue(reply, outcome, live));
            }
            Write::Attempted {
                delivery,
                attempt,
                attempts,
                state,
                next_attempt_at,
                error,
            } => {
                transaction
                    .prepare_cached(
                        "INSERT INTO attempts (delivery_id, at, status, latency_us, error, response, batch) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    )?
                    .execute(params![
                        delivery,
                        to_ms(attempt.at),
                        attempt.status,
                        attempt.latency.as_micros() as i64,
                        attempt.error,
                        attempt.response,
                        attempt.batch.as_deref()
                    ])?;
                transaction
                    .prepare_cached(
                        "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?, last_error = ?, updated_at = ? WHERE id = ?",
                    )?
                    .execute(params![
                        state.as_str(),
                        attempts,
                        next_attempt_at.map(to_ms),
                        attempt.status,
                        error,
                        now_ms(),
                        delivery
                    ])?;
            }
            Write::Revive { ids, reply } => {
                let mut revived = Vec::new();
                for id in ids {
                    let changed = transaction
                        .prepare_cached(
                            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = NULL, updated_at = ? WHERE id = ? AND state = 'dead'",
                        )?
                        .execute(params![now_ms(), id])?;
                    if changed == 1 {
                        revived.push(id);
                    }
                }
                replies.push(Reply::Revive(reply, revived));
            }
            Write::Bury { ids, reason, reply } => {
                let count = ids.len();
                replies.push(Reply::Count(reply, count));
                for id in ids {
                    transaction
                        .prepare_cached(
                            "UPDATE deliveries SET state = 'dead', last_error = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
                        )?
                        .execute(params![reason, now_ms(), id])?;
                }
            }
            Write::Expire {
                before,
                max_bytes,
                reply,
            } => {
                let cutoff = to_ms(before);
                transaction.execute(
                    "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE state = 'delivered' AND updated_at < ?)",
                    [cutoff],
                )?;
                let mut expired = transaction.execute(
                    "DELETE FROM deliveries WHERE state = 'delivered' AND updated_at < ?",
                    [cutoff],
                )?;
                // Past the byte bound, the oldest events all of whose deliveries are
                // delivered go too, whatever their age (their size: the predictions,
                // the metadata, and a share for the rows and attempts).
                transaction.execute("CREATE TEMP TABLE IF NOT EXISTS forgotten (id TEXT PRIMARY KEY)", [])?;
                transaction.execute("DELETE FROM forgotten", [])?;
                transaction.execute(
                    "INSERT INTO forgotten (id) SELECT id FROM ( \
                        SELECT id, SUM(length(predictions) + length(metadata) + 512) \
                            OVER (ORDER BY accepted_at DESC, id DESC) AS newer \
                        FROM events e WHERE NOT EXISTS \
                            (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.state != 'delivered') \
                    ) WHERE newer > ?",
                    [max_bytes.min(i64::MAX as u64) as i64],
                )?;
                transaction.execute(
                    "DELETE FROM attempts WHERE delivery_id IN \
                        (SELECT id FROM deliveries WHERE event_id IN (SELECT id FROM forgotten))",
                    [],
                )?;
                expired += transaction.execute(
                    "DELETE FROM deliveries WHERE event_id IN (SELECT id FROM forgotten)",
                    [],
                )?;
                transaction.execute(
                    "DELETE FROM events WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id)",
                    [],
                )?;
                // Bytes are only needed while a delivery may still send them.
                transaction.execute(
                    "DELETE FROM attachments WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_id = attachments.event_id AND deliveries.state != 'delivered')",
                    [],
                )?;
                replies.push(Reply::Count(reply, expired));
            }
            Write::Close => {}
            Write::SaveState { changes, reply } => {
                let mut count = 0;
                for (scope, entries) in changes {
                    for (key, entry) in entries {
                        count += 1;
                        match entry {
                            Some(entry) => transaction
                                .prepare_cached(
                                    "INSERT OR REPLACE INTO filter_state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)",
                                )?
                                .execute(params![scope, key, entry.value, entry.expires_at.map(|at| at as i64)])?,
                            None => transaction
                                .prepare_cached("DELETE FROM filter_state WHERE scope = ? AND key = ?")?
                                .execute(params![scope, key])?,
                        };
                    }
                }
                transaction.execute("DELETE FROM filter_state WHERE expires_at <= ?", [now_ms()])?;
                replies.push(Reply::Count(reply, count));
            }
        }
    }
    transaction.commit()?;
    Ok(replies)
}

fn insert_event(
    transaction: &rusqlite::Transaction<'_>,
    event: &Event,
    deliveries: &[Delivery],
    dead: &[Option<String>],
) -> rusqlite::Result<Enqueued> {
    let exists = transaction
        .prepare_cached("SELECT 1 FROM events WHERE id = ?")?
        .query_row([&event.id], |_| Ok(()))
        .optional()?
        .is_some();
    if exists {
        return Ok(Enqueued::Duplicate);
    }
    let metadata = serde_json::to_string(&event.metadata).unwrap_or_else(|_| "[]".into());
    let destinations = serde_json::to_string(&event.destinations).unwrap_or_else(|_| "[]".into());
    let now = now_ms();
    transaction
        .prepare_cached(
            "INSERT INTO events (id, route, task, metadata, predictions, destinations, accepted_at, bytes, trace) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )?
        .execute(params![
            event.id,
            event.route,
            event.task.as_str(),
            metadata,
            event.predictions.as_str(),
            destinations,
            now,
            (event.predictions.len() + event.attachments_size()) as i64,
            event.trace
        ])?;
    for (position, attachment) in event.attachments.iter().enumerate() {
        transaction
            .prepare_cached(
                "INSERT INTO attachments (event_id, position, name, content_type, data) VALUES (?, ?, ?, ?, ?)",
            )?
            .execute(params![
                event.id,
                position as i64,
                attachment.name,
                attachment.content_type,
                &attachment.data[..]
            ])?;
    }
    for (delivery, dead) in deliveries.iter().zip(dead) {
        let state = if dead.is_some() { "dead" } else { "pending" };
        transaction
            .prepare_cached(
                "INSERT INTO deliveries (id, event_id, destination, state, attempts, updated_at, last_error) VALUES (?, ?, ?, ?, 0, ?, ?)",
            )?
            .execute(params![delivery.id, event.id, &*delivery.destination, state, now, dead])?;
    }
    Ok(Enqueued::Accepted)
}

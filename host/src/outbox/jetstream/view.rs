//! What the admin API reads from JetStream: an event and its deliveries, the dead
//! letters (listed and replayed), the delivery log, a destination's counts, and
//! retiring a removed destination. Any instance of the group answers the same.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, AckKind};
use bytes::Bytes;
use futures_util::StreamExt;
use rustc_hash::FxHashSet as HashSet;

use super::codec::{self, EventMark, Mark};
use super::setup::Streams;
use super::{Shared, UNREACHABLE_RETRY_AFTER};
use crate::outbox::attempts::{MAX_PAGE, within};
use crate::outbox::record::{MAX_HISTORY, timestamp};
use crate::outbox::{
    AttemptCursor, AttemptLine, AttemptPage, AttemptQuery, DeliveryId, DeliveryQuery, DeliveryRecord, DeliveryState,
    DestinationCounts, EventRecord, OutboxError,
};

/// Most messages one listing reads: what a listing costs is bounded whatever the size
/// of the streams.
const MAX_SCAN: usize = 100_000;

fn streams(shared: &Shared) -> Result<Arc<Streams>, OutboxError> {
    shared.streams.get().cloned().ok_or_else(|| OutboxError::Unavailable {
        reason: shared
            .unavailable()
            .unwrap_or_else(|| "JetStream is being set up".into()),
        retry_after: UNREACHABLE_RETRY_AFTER,
    })
}

fn failed(error: impl std::fmt::Display) -> OutboxError {
    OutboxError::Failed(format!("JetStream: {error}"))
}

/// The next message on `subject` at or after `from`, `None` past the last.
async fn next(
    stream: &Stream,
    subject: &str,
    from: u64,
) -> Result<Option<jetstream::message::StreamMessage>, OutboxError> {
    match stream.direct_get_next_for_subject(subject, Some(from.max(1))).await {
        Ok(message) => Ok(Some(message)),
        Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => Ok(None),
        Err(error) => Err(failed(error)),
    }
}

/// The message at `sequence`, `None` when there is none (deleted, or aged out).
async fn at(stream: &Stream, sequence: u64) -> Result<Option<jetstream::message::StreamMessage>, OutboxError> {
    match stream.direct_get(sequence).await {
        Ok(message) => Ok(Some(message)),
        Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => Ok(None),
        Err(error) => Err(failed(error)),
    }
}

/// Every message on `subject`, oldest first (at most `MAX_SCAN`).
async fn all(stream: &Stream, subject: &str) -> Result<Vec<jetstream::message::StreamMessage>, OutboxError> {
    let mut found = Vec::new();
    let mut from = 1;
    while found.len() < MAX_SCAN {
        let Some(message) = next(stream, subject, from).await? else {
            break;
        };
        from = message.sequence + 1;
        found.push(message);
    }
    Ok(found)
}

fn read_mark(payload: &Bytes) -> Option<Mark> {
    serde_json::from_slice(payload).ok()
}

/// A delivery as its marks tell it: the last one says where it is.
fn delivery_of(event_id: &str, destination: &str, marks: &[Mark]) -> DeliveryRecord {
    let last = marks.last();
    let state = last.map_or(DeliveryState::Pending, |mark| {
        DeliveryState::parse(&mark.state).unwrap_or(DeliveryState::Pending)
    });
    let history: Vec<_> = marks.iter().filter_map(|mark| mark.attempt.clone()).collect();
    let attempts = history.len() as u32;
    let keep_from = history.len().saturating_sub(MAX_HISTORY);
    let last_status = history.last().and_then(|attempt| attempt.status);
    DeliveryRecord {
        id: last.map_or(0, |mark| mark.delivery),
        event_id: event_id.to_string(),
        destination: destination.to_string(),
        state,
        attempts,
        next_attempt_at: last
            .filter(|_| state == DeliveryState::Pending)
            .and_then(|mark| mark.next_at_ms)
            .map(|ms| timestamp(codec::time(ms))),
        last_error: last.and_then(|mark| mark.reason.clone()),
        last_status,
        updated_at: last.map_or_else(
            || timestamp(SystemTime::now()),
            |mark| timestamp(codec::time(mark.at_ms)),
        ),
        history: history[keep_from..].to_vec(),
    }
}

pub async fn event(shared: &Shared, id: &str) -> Result<Option<EventRecord>, OutboxError> {
    let streams = streams(shared)?;
    let token = codec::id_token(id);
    let record = match streams
        .events
        .direct_get_last_for_subject(shared.names.event(&token))
        .await
    {
        Ok(message) => message,
        Err(error) if matches!(error.kind(), DirectGetErrorKind::NotFound) => return Ok(None),
        Err(error) => return Err(failed(error)),
    };
    let record: EventMark = serde_json::from_slice(&record.payload).map_err(failed)?;
    let mut deliveries = Vec::with_capacity(record.destinations.len());
    for destination in &record.destinations {
        let marks: Vec<Mark> = all(&streams.attempts, &shared.names.attempts(&token, destination))
            .await?
            .iter()
            .filter_map(|message| read_mark(&message.payload))
            .collect();
        deliveries.push(delivery_of(id, destination, &marks));
    }
    Ok(Some(EventRecord {
        id: record.id,
        route: record.route,
        accepted_at: timestamp(codec::time(record.accepted_at_ms)),
        deliveries,
    }))
}

/// A dead letter as a delivery record.
fn dead_record(shared: &Shared, message: &jetstream::message::StreamMessage) -> Option<DeliveryRecord> {
    let (head, _) = codec::read_head(&message.payload).ok()?;
    let dead = head.dead?;
    let destination = shared.names.destination_of(&message.subject)?.to_string();
    Some(DeliveryRecord {
        id: message.sequence,
        event_id: head.id,
        destination,
        state: DeliveryState::Dead,
        attempts: dead.attempts,
        next_attempt_at: None,
        last_error: Some(dead.reason),
        last_status: None,
        updated_at: timestamp(codec::time(dead.at_ms)),
        history: Vec::new(),
    })
}

pub async fn deliveries(shared: &Shared, query: &DeliveryQuery) -> Result<Vec<DeliveryRecord>, OutboxError> {
    let streams = streams(shared)?;
    let limit = query.limit();
    if query.state == Some(DeliveryState::Dead) {
        // Newest first: back from the last dead letter, reading no more than the page.
        let info = streams.dead.get_info().await.map_err(failed)?;
        let (first, last) = (info.state.first_sequence.max(1), info.state.last_sequence);
        let mut found = Vec::new();
        let mut sequence = last;
        let mut scanned = 0;
        while sequence >= first && found.len() < limit && scanned < MAX_SCAN {
            scanned += 1;
            if let Some(message) = at(&streams.dead, sequence).await?
                && let Some(record) = dead_record(shared, &message)
                && query.destination.as_ref().is_none_or(|d| *d == record.destination)
            {
                found.push(record);
            }
            sequence -= 1;
        }
        return Ok(found);
    }
    // Other states: the delivery log, newest first; a delivery's newest mark says
    // where it is, its marks what happened. (A delivery never attempted yet has no
    // mark, and is not listed.)
    let info = streams.attempts.get_info().await.map_err(failed)?;
    let (first, last) = (info.state.first_sequence, info.state.last_sequence);
    let mut seen = HashSet::default();
    let mut found = Vec::new();
    let mut sequence = last;
    let mut scanned = 0;
    while sequence >= first.max(1) && found.len() < limit && scanned < MAX_SCAN {
        scanned += 1;
        if let Some(message) = at(&streams.attempts, sequence).await?
            && let Some(mark) = read_mark(&message.payload)
            && seen.insert((mark.event_id.clone(), mark.destination.clone()))
        {
            let state = DeliveryState::parse(&mark.state).unwrap_or(DeliveryState::Pending);
            let wanted = query.state.is_none_or(|wanted| wanted == state)
                && query.destination.as_ref().is_none_or(|d| *d == mark.destination);
            if wanted {
                // The whole history, as the event view shows it.
                let subject = shared
                    .names
                    .attempts(&codec::id_token(&mark.event_id), &mark.destination);
                let marks: Vec<Mark> = all(&streams.attempts, &subject)
                    .await?
                    .iter()
                    .filter_map(|message| read_mark(&message.payload))
                    .collect();
                found.push(delivery_of(&mark.event_id, &mark.destination, &marks));
            }
        }
        sequence -= 1;
    }
    Ok(found)
}

/// Sends a dead letter again as a new delivery, then removes it.
async fn revive(
    shared: &Shared,
    streams: &Streams,
    message: &jetstream::message::StreamMessage,
) -> Result<bool, OutboxError> {
    let Some(destination) = shared.names.destination_of(&message.subject) else {
        return Ok(false);
    };
    let Ok((mut head, _)) = codec::read_head(&message.payload) else {
        return Ok(false);
    };
    if head.dead.take().is_none() {
        return Ok(false);
    }
    let event_id = head.id.clone();
    let again = codec::with_head(&message.payload, &head).map_err(failed)?;
    // A new id: the first one may still be inside the de-duplication window. The same
    // one for every instance replaying this dead letter: two replaying it at once
    // publish it once.
    let id = format!("{event_id}:{destination}:replay:{}", message.sequence);
    let ack = shared
        .publish(shared.names.delivery(destination), again, Some(id))
        .await?;
    shared
        .mark(&Mark {
            event_id,
            destination: destination.to_string(),
            delivery: ack.sequence,
            state: "pending".into(),
            attempt: None,
            next_at_ms: None,
            reason: Some("replayed".into()),
            at_ms: codec::ms(SystemTime::now()),
        })
        .await;
    // Removed by another instance replaying it at the same time: replayed all the same.
    let _ = streams.dead.delete_message(message.sequence).await;
    Ok(true)
}

pub async fn replay(shared: &Shared, id: DeliveryId) -> Result<bool, OutboxError> {
    let streams = streams(shared)?;
    match at(&streams.dead, id).await? {
        Some(message) => revive(shared, &streams, &message).await,
        None => Ok(false),
    }
}

pub async fn replay_dead(shared: &Shared, destination: &str) -> Result<usize, OutboxError> {
    let streams = streams(shared)?;
    let subject = shared.names.dead(destination);
    let (mut count, mut from) = (0, 1);
    // One at a time: the dead letters are never all in memory.
    while let Some(message) = next(&streams.dead, &subject, from).await? {
        from = message.sequence + 1;
        if revive(shared, &streams, &message).await? {
            count += 1;
        }
    }
    Ok(count)
}

fn line_of(mark: Mark) -> Option<(AttemptLine, SystemTime, bool)> {
    let attempt = mark.attempt?;
    let at = humantime::parse_rfc3339(&attempt.at).ok()?;
    let failed = attempt.error.is_some();
    Some((
        AttemptLine {
            at: attempt.at,
            destination: mark.destination,
            event_id: mark.event_id,
            delivery_id: mark.delivery,
            status: attempt.status,
            latency_ms: attempt.latency_ms,
            error: attempt.error,
            response: attempt.response,
        },
        at,
        failed,
    ))
}

pub async fn attempts(
    shared: &Shared,
    query: &AttemptQuery,
    cursor: Option<AttemptCursor>,
    max: usize,
) -> Result<AttemptPage, OutboxError> {
    let streams = streams(shared)?;
    let max = max.clamp(1, MAX_PAGE);
    let info = streams.attempts.get_info().await.map_err(failed)?;
    let (first, last) = (info.state.first_sequence.max(1), info.state.last_sequence);
    let selected = |line: &(AttemptLine, SystemTime, bool)| {
        within(query, line.1)
            && query.destination.as_ref().is_none_or(|d| *d == line.0.destination)
            && query.status.is_none_or(|status| status.matches(line.0.status, line.2))
    };
    let mut page = AttemptPage::default();
    let mut scanned = 0;
    if query.newest_first {
        let mut sequence = cursor.map_or(last, |c| (c.0.max(0) as u64).saturating_sub(1).min(last));
        while sequence >= first && page.attempts.len() < max && scanned < MAX_SCAN {
            scanned += 1;
            if let Some(message) = at(&streams.attempts, sequence).await?
                && let Some(line) = read_mark(&message.payload).and_then(line_of)
                && selected(&line)
            {
                page.attempts.push(line.0);
            }
            sequence -= 1;
            if (page.attempts.len() == max || scanned == MAX_SCAN) && sequence >= first {
                // A full page, or as much as one page may read: go on from here.
                page.next = Some(AttemptCursor(sequence as i64 + 1, 0));
            }
        }
    } else {
        let subject = format!("{}.attempts.*.*", shared.storage.jetstream.name);
        let mut from = cursor.map_or(first, |c| (c.0.max(0) as u64).max(first));
        while page.attempts.len() < max && scanned < MAX_SCAN {
            scanned += 1;
            let Some(message) = next(&streams.attempts, &subject, from).await? else {
                break;
            };
            from = message.sequence + 1;
            if let Some(line) = read_mark(&message.payload).and_then(line_of)
                && selected(&line)
            {
                page.attempts.push(line.0);
            }
            if (page.attempts.len() == max || scanned == MAX_SCAN) && from <= last {
                page.next = Some(AttemptCursor(from as i64, 0));
            }
        }
    }
    Ok(page)
}

pub async fn destination_counts(shared: &Shared, destination: &str) -> Result<DestinationCounts, OutboxError> {
    let streams = streams(shared)?;
    let queued = match streams
        .deliveries
        .consumer_info(shared.names.consumer(destination))
        .await
    {
        Ok(info) => info.num_pending as usize,
        Err(_) => 0,
    };
    let mut dead = 0;
    let mut subjects = streams
        .dead
        .info_with_subjects(shared.names.dead(destination))
        .await
        .map_err(failed)?;
    while let Some(entry) = subjects.next().await {
        dead += entry.map_err(failed)?.1;
    }
    Ok(DestinationCounts { queued, dead })
}

/// Moves every delivery still waiting for `destination` to the dead letters, and
/// removes its consumer. The consumer is deleted first: what it held back (deliveries
/// waiting for a delayed retry count as unacknowledged) is then read through a consumer
/// of its own, with no bound, and each goes to the dead letters before it is removed.
pub async fn retire(shared: &Shared, destination: &str, reason: &str) -> Result<usize, OutboxError> {
    let streams = streams(shared)?;
    let _ = streams
        .deliveries
        .delete_consumer(&shared.names.consumer(destination))
        .await;
    let name = format!("{}-retiring", shared.names.consumer(destination));
    let config = jetstream::consumer::pull::Config {
        durable_name: Some(name.clone()),
        filter_subject: shared.names.delivery(destination),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: Duration::from_secs(60),
        max_ack_pending: -1,
        inactive_threshold: Duration::from_secs(300),
        ..Default::default()
    };
    let consumer = streams.deliveries.create_consumer(config).await.map_err(failed)?;
    let mut moved = 0;
    loop {
        let mut batch = consumer
            .fetch()
            .max_messages(500)
            .expires(Duration::from_secs(1))
            .messages()
            .await
            .map_err(failed)?;
        let mut any = false;
        while let Some(message) = batch.next().await {
            let Ok(message) = message else { break };
            any = true;
            let sequence = message.info().map(|info| info.stream_sequence).unwrap_or(0);
            let (message, acker) = message.split();
            let held = super::held::Held::new(destination.into(), message.payload.clone(), acker);
            let event_id = codec::read_head(&held.payload)
                .map(|(head, _)| head.id)
                .unwrap_or_default();
            let mut mark = Mark::dead(event_id, destination, sequence);
            if codec::read_head(&held.payload).is_err() {
                let _ = held.settle.once(AckKind::Term, shared.publish_timeout).await;
                continue;
            }
            shared
                .bury_held(sequence, held, 0, &mut mark, reason.to_string())
                .await?;
            moved += 1;
        }
        if !any {
            break;
        }
    }
    let _ = streams.deliveries.delete_consumer(&name).await;
    Ok(moved)
}

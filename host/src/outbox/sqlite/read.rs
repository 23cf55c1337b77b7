//! Reading the durable store: rebuilding the schedule at start, loading events for
//! replay, and the admin API's queries. Reads use their own connection; in WAL mode they
//! never wait for the writer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::schema::from_ms;
use crate::event::{Attachment, Event, Predictions, Task};
use crate::outbox::record::{
    AttemptRecord, DeliveryQuery, DeliveryRecord, DeliveryState, EventRecord, MAX_HISTORY, timestamp,
};
use crate::outbox::{AttemptCursor, AttemptLine, AttemptPage, AttemptQuery, Delivery, DeliveryId, StatusFilter};

/// A pending delivery found at start, and when it is next due.
pub struct Pending {
    /// The delivery.
    pub delivery: Delivery,
    /// When its next attempt is due; `None` when due now.
    pub next_attempt_at: Option<SystemTime>,
}

/// Every pending delivery, with its event loaded once however many destinations share
/// it.
pub fn pending(connection: &Connection) -> rusqlite::Result<Vec<Pending>> {
    let mut statement = connection.prepare(
        "SELECT id, event_id, destination, attempts, next_attempt_at FROM deliveries WHERE state = 'pending' ORDER BY id",
    )?;
    let rows: Vec<(DeliveryId, String, String, u32, Option<i64>)> = statement
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut events: HashMap<String, Option<(Arc<Event>, SystemTime)>> = HashMap::new();
    let mut pending = Vec::with_capacity(rows.len());
    for (id, event_id, destination, attempts, next) in rows {
        if !events.contains_key(&event_id) {
            let loaded = event(connection, &event_id)?.map(|(event, at)| (Arc::new(event), at));
            events.insert(event_id.clone(), loaded);
        }
        let Some(Some((event, accepted_at))) = events.get(&event_id) else {
            tracing::error!(delivery = id, event = %event_id, "a pending delivery's event is missing from the store; skipping it");
            continue;
        };
        pending.push(Pending {
            delivery: Delivery {
                id,
                event: event.clone(),
                destination: destination.as_str().into(),
                attempts,
                accepted_at: *accepted_at,
                batch: None,
            },
            next_attempt_at: next.map(from_ms),
        });
    }
    Ok(pending)
}

/// An event with its stored attachments, and when it was accepted.
pub fn event(connection: &Connection, id: &str) -> rusqlite::Result<Option<(Event, SystemTime)>> {
    let row = connection
        .prepare_cached(
            "SELECT route, task, metadata, predictions, destinations, accepted_at, trace FROM events WHERE id = ?",
        )?
        .query_row([id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, Option<String>>(6)?,
            ))
        })
        .optional()?;
    let Some((route, task, metadata, predictions, destinations, accepted_at, trace)) = row else {
        return Ok(None);
    };
    let mut attachments = Vec::new();
    let mut statement = connection
        .prepare_cached("SELECT name, content_type, data FROM attachments WHERE event_id = ? ORDER BY position")?;
    for attachment in statement.query_map([id], |row| {
        Ok(Attachment {
            name: row.get(0)?,
            content_type: row.get(1)?,
            data: Bytes::from(row.get::<_, Vec<u8>>(2)?),
        })
    })? {
        attachments.push(attachment?);
    }
    let event = Event {
        id: id.to_string(),
        route,
        task: Task::parse(&task).unwrap_or(Task::OTHER),
        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
        predictions: Predictions::new(predictions),
        attachments,
        destinations: serde_json::from_str(&destinations).unwrap_or_default(),
        trace,
    };
    Ok(Some((event, from_ms(accepted_at))))
}

/// A delivery's destination and event id, when it exists.
pub fn delivery(connection: &Connection, id: DeliveryId) -> rusqlite::Result<Option<(String, String)>> {
    connection
        .prepare_cached("SELECT destination, event_id FROM deliveries WHERE id = ?")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()
}

/// The highest delivery id used.
pub fn max_delivery_id(connection: &Connection) -> rusqlite::Result<DeliveryId> {
    connection.query_row("SELECT COALESCE(MAX(id), 0) FROM deliveries", [], |row| row.get(0))
}

/// How many deliveries are dead.
pub fn dead_count(connection: &Connection) -> rusqlite::Result<usize> {
    connection.query_row("SELECT COUNT(*) FROM deliveries WHERE state = 'dead'", [], |row| {
        row.get(0)
    })
}

/// Ids of a destination's dead deliveries, oldest first.
pub fn dead_of(connection: &Connection, destination: &str) -> rusqlite::Result<Vec<DeliveryId>> {
    let mut statement =
        connection.prepare_cached("SELECT id FROM deliveries WHERE state = 'dead' AND destination = ? ORDER BY id")?;
    statement.query_map([destination], |row| row.get(0))?.collect()
}

const DELIVERY_COLUMNS: &str =
    "id, event_id, destination, state, attempts, next_attempt_at, last_error, last_status, updated_at";

fn delivery_record(row: &Row<'_>) -> rusqlite::Result<DeliveryRecord> {
    let state: String = row.get(3)?;
    Ok(DeliveryRecord {
        id: row.get(0)?,
        event_id: row.get(1)?,
        destination: row.get(2)?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
        attempts: row.get(4)?,
        next_attempt_at: row.get::<_, Option<i64>>(5)?.map(|ms| timestamp(from_ms(ms))),
        last_error: row.get(6)?,
        last_status: row.get(7)?,
        updated_at: timestamp(from_ms(row.get(8)?)),
        history: Vec::new(),
    })
}

fn history(connection: &Connection, delivery: DeliveryId) -> rusqlite::Result<Vec<AttemptRecord>> {
    let mut statement = connection.prepare_cached(
        "SELECT at, status, latency_us, error, response, batch FROM attempts WHERE delivery_id = ? ORDER BY at, rowid",
    )?;
    let mut all: Vec<AttemptRecord> = statement
        .query_map([delivery], |row| {
            Ok(AttemptRecord {
                at: timestamp(from_ms(row.get(0)?)),
                status: row.get(1)?,
                latency_ms: row.get::<_, i64>(2)? as f64 / 1e3,
                error: row.get(3)?,
                response: row.get(4)?,
                batch: row.get(5)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    if all.len() > MAX_HISTORY {
        // Keep the first attempts and the latest ones.
        let tail = all.split_off(all.len() - MAX_HISTORY / 2);
        all.truncate(MAX_HISTORY / 2);
        all.extend(tail);
    }
    Ok(all)
}

/// An event's record, with its deliveries and their attempts.
pub fn event_record(connection: &Connection, id: &str) -> rusqlite::Result<Option<EventRecord>> {
    let head = connection
        .prepare_cached("SELECT route, accepted_at FROM events WHERE id = ?")?
        .query_row([id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .optional()?;
    let Some((route, accepted_at)) = head else {
        return Ok(None);
    };
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE event_id = ? ORDER BY id"
    ))?;
    let mut deliveries: Vec<DeliveryRecord> = statement.query_map([id], delivery_record)?.collect::<Result<_, _>>()?;
    for delivery in &mut deliveries {
        delivery.history = history(connection, delivery.id)?;
    }
    Ok(Some(EventRecord {
        id: id.to_string(),
        route,
        accepted_at: timestamp(from_ms(accepted_at)),
        deliveries,
    }))
}

/// Deliveries matching a query, most recent first, with their attempts.
pub fn delivery_records(connection: &Connection, query: &DeliveryQuery) -> rusqlite::Result<Vec<DeliveryRecord>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries
         WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR destination = ?2)
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let state = query.state.map(DeliveryState::as_str);
    let mut records: Vec<DeliveryRecord> = statement
        .query_map(params![state, query.destination, query.limit() as i64], delivery_record)?
        .collect::<Result<_, _>>()?;
    for record in &mut records {
        record.history = history(connection, record.id)?;
    }
    Ok(records)
}

/// A page of the delivery log, in (time, row) order or its reverse.
pub fn attempts(
    connection: &Connection,
    query: &AttemptQuery,
    cursor: Option<AttemptCursor>,
    max: usize,
) -> rusqlite::Result<AttemptPage> {
    // Fixed fragments only: every value is a parameter.
    let status = match query.status {
        None => "1",
        Some(StatusFilter::Ok) => "a.error IS NULL",
        Some(StatusFilter::Failed) => "a.error IS NOT NULL",
        Some(StatusFilter::NoAnswer) => "a.status IS NULL AND a.error IS NOT NULL",
        Some(StatusFilter::Class(_) | StatusFilter::Exact(_)) => "a.status BETWEEN ?6 AND ?7",
    };
    let (after, order) = if query.newest_first {
        ("(a.at, a.rowid) < (?4, ?5)", "DESC")
    } else {
        ("(a.at, a.rowid) > (?4, ?5)", "ASC")
    };
    let sql = format!(
        "SELECT a.rowid, a.at, a.status, a.latency_us, a.error, a.response, a.delivery_id, d.event_id, d.destination
         FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
         WHERE (?1 IS NULL OR a.at >= ?1) AND (?2 IS NULL OR a.at < ?2) AND (?3 IS NULL OR d.destination = ?3)
           AND {after} AND {status}
         ORDER BY a.at {order}, a.rowid {order} LIMIT ?8"
    );
    let (low, high) = match query.status {
        Some(StatusFilter::Class(class)) => (class * 100, class * 100 + 99),
        Some(StatusFilter::Exact(code)) => (code, code),
        _ => (0, 0),
    };
    let start = if query.newest_first {
        AttemptCursor(i64::MAX, i64::MAX)
    } else {
        AttemptCursor(i64::MIN, i64::MIN)
    };
    let cursor = cursor.unwrap_or(start);
    let mut statement = connection.prepare_cached(&sql)?;
    let mut last = None;
    let attempts: Vec<AttemptLine> = statement
        .query_map(
            params![
                query.since.map(super::schema::to_ms),
                query.until.map(super::schema::to_ms),
                query.destination,
                cursor.0,
                cursor.1,
                low,
                high,
                max as i64
            ],
            |row| {
                let at: i64 = row.get(1)?;
                Ok((
                    AttemptCursor(at, row.get(0)?),
                    AttemptLine {
                        at: timestamp(from_ms(at)),
                        status: row.get(2)?,
                        latency_ms: row.get::<_, i64>(3)? as f64 / 1e3,
                        error: row.get(4)?,
                        response: row.get(5)?,
                        delivery_id: row.get(6)?,
                        event_id: row.get(7)?,
                        destination: row.get(8)?,
                    },
                ))
            },
        )?
        .map(|row| {
            row.map(|(position, line)| {
                last = Some(position);
                line
            })
        })
        .collect::<Result<_, _>>()?;
    let next = if attempts.len() == max { last } else { None };
    Ok(AttemptPage { attempts, next })
}

/// How many deliveries of a destination are dead.
pub fn dead_count_of(connection: &Connection, destination: &str) -> rusqlite::Result<usize> {
    connection
        .prepare_cached("SELECT COUNT(*) FROM deliveries WHERE state = 'dead' AND destination = ?")?
        .query_row([destination], |row| row.get(0))
}

/// The persisted, unexpired entries of one filter state scope.
pub fn state(connection: &Connection, scope: &str) -> rusqlite::Result<Vec<(String, weir_contract::state::Entry)>> {
    let mut statement = connection.prepare_cached(
        "SELECT key, value, expires_at FROM filter_state WHERE scope = ? AND (expires_at IS NULL OR expires_at > ?)",
    )?;
    let rows = statement.query_map(rusqlite::params![scope, super::schema::now_ms()], |row| {
        let expires_at: Option<i64> = row.get(2)?;
        Ok((
            row.get::<_, String>(0)?,
            weir_contract::state::Entry {
                value: row.get(1)?,
                expires_at: expires_at.map(|at| at.max(0) as u64),
            },
        ))
    })?;
    rows.collect()
}

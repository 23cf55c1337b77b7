//! The durable store's tables, and how a connection is set up.
//!
//! - `events`: one row per accepted event: its predictions, metadata, route and trace
//!   context.
//! - `attachments`: the bytes an event's destinations will send, once per event.
//! - `deliveries`: one row per event and destination, with its state, attempt count
//!   and next attempt time (surviving restarts).
//! - `attempts`: every attempt: time, status, latency, error, first bytes of the answer;
//!   indexed by time for the delivery log; the batch an attempt's request carried.
//! - `filter_state`: the entries of filters' state stores kept `durable`, by scope
//!   (`route/plugin#n`) and key, with their expiry.
//!
//! Times are milliseconds since the Unix epoch.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

/// The schema version this Weir writes (`PRAGMA user_version`). 2 added
/// `events.trace` and `attempts.batch`; a version-1 file is upgraded in place when
/// opened.
pub const SCHEMA_VERSION: i64 = 2;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    task TEXT NOT NULL,
    metadata TEXT NOT NULL,
    predictions TEXT NOT NULL,
    destinations TEXT NOT NULL,
    accepted_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    trace TEXT
);
CREATE TABLE IF NOT EXISTS attachments (
    event_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (event_id, position)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    destination TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at INTEGER,
    last_status INTEGER,
    last_error TEXT,
    updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries (state, destination, id);
CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    latency_us INTEGER NOT NULL,
    error TEXT,
    response TEXT NOT NULL,
    batch TEXT
);
CREATE INDEX IF NOT EXISTS attempts_by_delivery ON attempts (delivery_id);
CREATE INDEX IF NOT EXISTS attempts_by_time ON attempts (at);
CREATE TABLE IF NOT EXISTS filter_state (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (scope, key)
);
";

/// Opens (creating if needed) the database, in WAL mode with a full sync at every
/// commit: a commit that returned is on disk.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "FULL")?;
    let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "{} was written by a newer Weir (schema {version}, this one knows {SCHEMA_VERSION}); upgrade Weir or use another path",
            path.display()
        )));
    }
    connection.execute_batch(SCHEMA)?;
    if version == 1 {
        // Version 1's tables, kept by CREATE TABLE IF NOT EXISTS as they were.
        add_column(&connection, "events", "trace")?;
        add_column(&connection, "attempts", "batch")?;
    }
    connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(connection)
}

/// Adds a nullable text column to a table that lacks it.
fn add_column(connection: &Connection, table: &str, column: &str) -> rusqlite::Result<()> {
    let present: bool = connection.query_row(
        &format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?"),
        [column],
        |row| row.get(0),
    )?;
    if !present {
        connection.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} TEXT"))?;
    }
    Ok(())
}

/// Now, in milliseconds since the epoch.
pub fn now_ms() -> i64 {
    to_ms(SystemTime::now())
}

/// A time in milliseconds since the epoch.
pub fn to_ms(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Milliseconds since the epoch as a time.
pub fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

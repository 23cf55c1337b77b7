//! What the admin API shows: events, their deliveries, and every attempt.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::{Attempt, DeliveryId};

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryState {
    /// Waiting to be attempted (or retried), or in flight.
    Pending,
    /// Delivered: a 2xx.
    Delivered,
    /// Given up on; kept in the dead letters for replay.
    Dead,
}

impl DeliveryState {
    /// The name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    /// Parses a state name.
    pub fn parse(text: &str) -> Option<DeliveryState> {
        match text {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// One attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptRecord {
    /// When it started (RFC 3339).
    pub at: String,
    /// The HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// Why it failed.
    pub error: Option<String>,
    /// The first bytes of the response body.
    pub response: String,
    /// The batch the delivery went in (its request's `webhook-id`), if it went in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
}

impl AttemptRecord {
    /// The record of an attempt.
    pub fn of(attempt: &Attempt) -> Self {
        AttemptRecord {
            at: timestamp(attempt.at),
            status: attempt.status,
            latency_ms: (attempt.latency.as_secs_f64() * 1e6).round() / 1e3,
            error: attempt.error.clone(),
            response: attempt.response.clone(),
            batch: attempt.batch.as_deref().map(str::to_string),
        }
    }
}

/// One delivery, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// The delivery's id (for replay).
    pub id: DeliveryId,
    /// The event's id (its `webhook-id`).
    pub event_id: String,
    /// The destination.
    pub destination: String,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (pending deliveries waiting for a retry).
    pub next_attempt_at: Option<String>,
    /// Why it is dead, or the last failure.
    pub last_error: Option<String>,
    /// The last HTTP status.
    pub last_status: Option<u16>,
    /// When the state last changed.
    pub updated_at: String,
    /// Every attempt, oldest first (the most recent ones, when there were many).
    pub history: Vec<AttemptRecord>,
}

/// One event and its deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// The event id.
    pub id: String,
    /// The route it came in on.
    pub route: String,
    /// When it was accepted.
    pub accepted_at: String,
    /// Its deliveries.
    pub deliveries: Vec<DeliveryRecord>,
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct DeliveryQuery {
    /// Only in this state.
    pub state: Option<DeliveryState>,
    /// Only to this destination.
    pub destination: Option<String>,
    /// At most this many (default 100, at most 10 000).
    pub limit: Option<usize>,
}

impl DeliveryQuery {
    /// The limit, defaulted and capped.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 10_000)
    }
}

/// Attempts kept per delivery: the first few and the most recent ones are what explain
/// a failure; a delivery retried for days must not grow without bound.
pub const MAX_HISTORY: usize = 32;

/// A time as RFC 3339 with milliseconds.
pub fn timestamp(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// A time `delay` from now, as RFC 3339.
pub fn timestamp_in(delay: Duration) -> String {
    timestamp(SystemTime::now() + delay)
}

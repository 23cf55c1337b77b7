//! The delivery log: every recorded attempt, read in pages so that a log of any length
//! is streamed (`GET /admin/attempts`, `weir log export`) rather than held in memory,
//! and a destination's counts for the console.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::DeliveryId;

/// Most attempts one page may hold: what a page costs in memory is bounded by it (and
/// by the response prefix each attempt keeps).
pub const MAX_PAGE: usize = 1000;

/// Which attempts an answer's `status` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Attempts that succeeded (a 2xx, or written to the `log:` target).
    Ok,
    /// Attempts that failed (any other answer, or none).
    Failed,
    /// Attempts that got no answer (connection refused, timeout).
    NoAnswer,
    /// Answers in this class: `5` for `5xx`.
    Class(u16),
    /// Exactly this status.
    Exact(u16),
}

impl StatusFilter {
    /// Reads `ok`, `failed`, `none`, `2xx`..`5xx` or a status code.
    pub fn parse(text: &str) -> Result<StatusFilter, String> {
        let text = text.trim().to_ascii_lowercase();
        match text.as_str() {
            "ok" | "delivered" => return Ok(StatusFilter::Ok),
            "failed" => return Ok(StatusFilter::Failed),
            "none" => return Ok(StatusFilter::NoAnswer),
            _ => {}
        }
        if let Some(class) = text.strip_suffix("xx")
            && let Ok(class @ 1..=5) = class.parse::<u16>()
        {
            return Ok(StatusFilter::Class(class));
        }
        match text.parse::<u16>() {
            Ok(code @ 100..=599) => Ok(StatusFilter::Exact(code)),
            _ => Err(format!(
                "status {text:?} is not one of ok, failed, none, 2xx, 3xx, 4xx, 5xx or an HTTP status code"
            )),
        }
    }

    /// Whether an attempt with this status and error is selected.
    pub fn matches(self, status: Option<u16>, failed: bool) -> bool {
        match self {
            StatusFilter::Ok => !failed,
            StatusFilter::Failed => failed,
            StatusFilter::NoAnswer => status.is_none() && failed,
            StatusFilter::Class(class) => status.is_some_and(|s| s / 100 == class),
            StatusFilter::Exact(code) => status == Some(code),
        }
    }
}

/// Which attempts to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttemptQuery {
    /// Only attempts started at or after this time.
    pub since: Option<SystemTime>,
    /// Only attempts started before this time.
    pub until: Option<SystemTime>,
    /// Only attempts to this destination.
    pub destination: Option<String>,
    /// Only attempts with this kind of answer.
    pub status: Option<StatusFilter>,
    /// Newest first (the console's last errors) rather than oldest first (the log).
    pub newest_first: bool,
}

/// Where a page of attempts ends: pass it back for the next page. Its values are the
/// store's own (time and row for the durable store, an event's sequence number in
/// memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptCursor(pub i64, pub i64);

/// One attempt of the delivery log: one line of `GET /admin/attempts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptLine {
    /// When it started (RFC 3339).
    pub at: String,
    /// The destination.
    pub destination: String,
    /// The event's id (its `webhook-id`).
    pub event_id: String,
    /// The delivery's id (for replay).
    pub delivery_id: DeliveryId,
    /// The HTTP status, if the receiver answered.
    pub status: Option<u16>,
    /// How long it took, in milliseconds.
    pub latency_ms: f64,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The first bytes of the receiver's answer.
    pub response: String,
}

/// A page of the delivery log.
#[derive(Debug, Clone, Default)]
pub struct AttemptPage {
    /// The attempts, in the query's order.
    pub attempts: Vec<AttemptLine>,
    /// Where the next page starts; `None` when this was the last.
    pub next: Option<AttemptCursor>,
}

/// A destination's deliveries, as the console shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DestinationCounts {
    /// Waiting to be attempted, or for a retry (not counting those in flight).
    pub queued: usize,
    /// Dead, kept for replay.
    pub dead: usize,
}

/// Whether an attempt started at `at` is within the query's times.
pub fn within(query: &AttemptQuery, at: SystemTime) -> bool {
    query.since.is_none_or(|since| at >= since) && query.until.is_none_or(|until| at < until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_filters_read_and_select() {
        let cases = [
            ("ok", Some(StatusFilter::Ok)),
            ("failed", Some(StatusFilter::Failed)),
            ("none", Some(StatusFilter::NoAnswer)),
            ("5xx", Some(StatusFilter::Class(5))),
            ("503", Some(StatusFilter::Exact(503))),
            ("6xx", None),
            ("99", None),
            ("later", None),
        ];
        for (text, expected) in cases {
            assert_eq!(StatusFilter::parse(text).ok(), expected, "{text}");
        }
        assert!(StatusFilter::Class(5).matches(Some(503), true));
        assert!(!StatusFilter::Class(5).matches(Some(429), true));
        assert!(StatusFilter::NoAnswer.matches(None, true));
        // The log: target answers with no status and no error: it succeeded.
        assert!(StatusFilter::Ok.matches(None, false));
        assert!(!StatusFilter::NoAnswer.matches(None, false));
    }
}

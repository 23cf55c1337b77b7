//! What a filter decides about an event, and how it says it could not decide.

use crate::edit::Edit;

/// The outcome of a filter for one event. The edits the filter made during the call
/// travel with a [`Verdict::Keep`]; a drop discards them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the event on, with the edits made during the call.
    Keep,
    /// Stop the event here, for this reason (counted and logged).
    Drop(String),
}

impl Verdict {
    /// Stops the event, for this reason.
    pub fn drop(reason: impl Into<String>) -> Self {
        Verdict::Drop(reason.into())
    }
}

/// Why a filter could not build itself or process an event, as opposed to dropping it
/// on purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FilterError {
    /// What went wrong.
    pub message: String,
    /// Whether the same event could succeed later: Weir then refuses it with 503 and
    /// `Retry-After`, so the sender sends it again, instead of applying the route's
    /// failure policy.
    pub retryable: bool,
}

impl FilterError {
    /// An error that retrying will not mend.
    pub fn new(message: impl Into<String>) -> Self {
        FilterError {
            message: message.into(),
            retryable: false,
        }
    }

    /// An error the same event may not meet later.
    pub fn retryable(message: impl Into<String>) -> Self {
        FilterError {
            message: message.into(),
            retryable: true,
        }
    }
}

/// A filter's answer for one event in contract terms, whichever ABI carried it (a
/// component's verdict and 0.1 changes record, a core module's JSON): the one shape
/// the host decides from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Keep the event, after these edits (applied in order, each checked), on top of
    /// those the filter made during the call.
    Keep(Vec<Edit>),
    /// Drop it, for this reason.
    Drop(String),
    /// The filter could not process the event.
    Error(FilterError),
}

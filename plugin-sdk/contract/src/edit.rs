//! Edits: the changes a filter makes to the event it keeps, each checked against the
//! event before it applies.
//!
//! Edits come from guest code, so each is checked: a filter cannot smuggle invalid JSON
//! downstream, remove an attachment that is not there, or route an event to a
//! destination the route does not deliver to. In contract 0.2 a filter makes edits one
//! call at a time and hears a refusal at once ([`crate::Working::apply`]); a 0.1
//! filter returned them all in one record ([`crate::v01::Changes`]), applied in a
//! fixed order by the same code.

use crate::limits::Limits;

/// One change to an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Keep only the listed predictions at these indices; the others leave the document.
    KeepPredictions(Vec<u32>),
    /// Replace the predictions document with this JSON text.
    SetPredictions(String),
    /// Remove the attachment of this name.
    RemoveAttachment(String),
    /// Add a metadata entry, or overwrite the value of the key in place.
    SetMetadata(String, String),
    /// Remove a metadata entry (if there is one).
    RemoveMetadata(String),
    /// Narrow the destinations to these names, keeping the route's order.
    NarrowDestinations(Vec<String>),
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// A prediction index is past the end of the list.
    #[error("kept prediction {index}, but the event lists {count}")]
    NoSuchPrediction {
        /// The index given.
        index: u32,
        /// How many there are.
        count: usize,
    },
    /// The replacement predictions are not JSON.
    #[error("returned predictions that are not valid JSON ({0})")]
    InvalidJson(String),
    /// An attachment to remove does not exist.
    #[error("removed attachment {0:?}, which the event does not have")]
    NoSuchAttachment(String),
    /// A destination is not one the event is bound for.
    #[error("routed the event to {name:?}, which is not one of its destinations ({current})")]
    NoSuchDestination {
        /// The destination named.
        name: String,
        /// The event's destinations, comma-separated.
        current: String,
    },
    /// The edit would take the event past one of Weir's limits.
    #[error("{0}")]
    TooLarge(String),
    /// Both a new document and predictions to keep were given (contract 0.1 only,
    /// where changes come as one record).
    #[error("returned both new predictions and predictions to keep; return one")]
    Conflicting,
}

impl EditError {
    /// The refusal's kind, as the contract names it (`no-such-prediction`...).
    pub fn kind(&self) -> &'static str {
        match self {
            EditError::NoSuchPrediction { .. } => "no-such-prediction",
            EditError::InvalidJson(_) => "invalid-json",
            EditError::NoSuchAttachment(_) => "no-such-attachment",
            EditError::NoSuchDestination { .. } => "no-such-destination",
            EditError::TooLarge(_) => "too-large",
            EditError::Conflicting => "conflicting",
        }
    }
}

/// Checks a metadata entry a filter sets against the limits senders meet too.
pub(crate) fn check_metadata(key: &str, value: &str, entries: usize, limits: &Limits) -> Result<(), EditError> {
    if key.is_empty() {
        return Err(EditError::TooLarge("a metadata key must not be empty".into()));
    }
    if key.len() > limits.max_metadata_key {
        return Err(EditError::TooLarge(format!(
            "the metadata key is {} bytes; the limit is {}",
            key.len(),
            limits.max_metadata_key
        )));
    }
    if value.len() > limits.max_metadata_value {
        return Err(EditError::TooLarge(format!(
            "the value of metadata {key:?} is {} bytes; the limit is {}",
            value.len(),
            limits.max_metadata_value
        )));
    }
    if entries > limits.max_metadata_entries {
        return Err(EditError::TooLarge(format!(
            "the event would have {entries} metadata entries; the limit is {}",
            limits.max_metadata_entries
        )));
    }
    Ok(())
}

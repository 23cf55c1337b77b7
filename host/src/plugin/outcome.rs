//! What a filter did with an event, whatever kind of plugin it is.

use std::sync::Arc;

use weir_contract::Working;

use crate::event::Event;

/// What a filter did with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Passed on unchanged.
    Kept,
    /// Passed on, changed into this event.
    Modified(Arc<Event>),
    /// Stopped, for this reason.
    Dropped(String),
}

impl Outcome {
    /// The outcome of a kept event with the edits made to it.
    pub(crate) fn from_working(working: Working) -> Outcome {
        match working.finish() {
            Some(edited) => Outcome::Modified(Arc::new(edited)),
            None => Outcome::Kept,
        }
    }

    /// The outcome with a drop reason bounded ([`crate::text::cap`]): the reason
    /// travels into the ingest answer, the log and the records.
    pub(crate) fn bounded(self) -> Outcome {
        match self {
            Outcome::Dropped(reason) => Outcome::Dropped(crate::text::cap(reason, crate::text::MAX_GUEST_TEXT)),
            other => other,
        }
    }
}

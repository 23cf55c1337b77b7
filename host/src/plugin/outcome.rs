//! What a filter did with an event, whatever kind of plugin it is.

use std::sync::Arc;

use weir_contract::{Answer, EditError, Working};

use super::error::{FilterError, Misbehavior};
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

/// What a guest's answer means for the event, for both ABIs: `working` gives the edits
/// the guest made during the call (made only for a kept event), `answer` what it returned (or the reason its
/// returned edits could not apply). A kept event's returned edits apply after those
/// made during the call; a drop or an error discards them.
pub(crate) fn decide(
    answer: Result<Answer, EditError>,
    working: impl FnOnce() -> Working,
    plugin: &str,
) -> Result<Outcome, FilterError> {
    let invalid = |error| FilterError::Misbehaved {
        plugin: plugin.to_string(),
        misbehavior: Misbehavior::InvalidOutput(error),
    };
    match answer.map_err(invalid)? {
        Answer::Drop(reason) => Ok(Outcome::Dropped(reason)),
        Answer::Error(error) => Err(FilterError::Declined {
            plugin: plugin.to_string(),
            message: error.message,
            retryable: error.retryable,
        }),
        Answer::Keep(edits) => {
            let mut working = working();
            working.apply_all(edits).map_err(invalid)?;
            Ok(match working.finish() {
                Some(edited) => Outcome::Modified(Arc::new(edited)),
                None => Outcome::Kept,
            })
        }
    }
}

impl Outcome {
    /// The outcome with a drop reason bounded ([`crate::text::cap`]): the reason
    /// travels into the ingest answer, the log and the records.
    pub(crate) fn bounded(self) -> Outcome {
        match self {
            Outcome::Dropped(reason) => Outcome::Dropped(crate::text::cap(reason, crate::text::MAX_GUEST_TEXT)),
            other => other,
        }
    }
}

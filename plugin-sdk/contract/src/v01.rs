//! Contract 0.1, which filters built before 0.2 still speak: the verdict carries every
//! change in one record. It is applied as the edits of 0.2, in a fixed order (the
//! predictions, attachments removed, metadata removed, metadata set, destinations), by
//! the same code, so a 0.1 filter gives the results it always gave.

use crate::edit::{Edit, EditError};
use crate::task::Task;

/// The changes of a 0.1 `modify` verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Replacement predictions document (JSON text).
    pub predictions: Option<String>,
    /// Indices of the listed predictions to keep (the others are removed).
    pub keep_predictions: Option<Vec<u32>>,
    /// Attachments to remove, by name.
    pub remove_attachments: Vec<String>,
    /// Metadata entries to add or overwrite.
    pub set_metadata: Vec<(String, String)>,
    /// Metadata keys to remove.
    pub remove_metadata: Vec<String>,
    /// The destinations to narrow the event to.
    pub destinations: Option<Vec<String>>,
}

impl Changes {
    /// The edits these changes mean, in the order 0.1 applied them.
    pub fn into_edits(self) -> Result<Vec<Edit>, EditError> {
        let mut edits = Vec::new();
        match (self.keep_predictions, self.predictions) {
            (Some(_), Some(_)) => return Err(EditError::Conflicting),
            (Some(keep), None) => edits.push(Edit::KeepPredictions(keep)),
            (None, Some(json)) => edits.push(Edit::SetPredictions(json)),
            (None, None) => {}
        }
        edits.extend(self.remove_attachments.into_iter().map(Edit::RemoveAttachment));
        edits.extend(self.remove_metadata.into_iter().map(Edit::RemoveMetadata));
        edits.extend(self.set_metadata.into_iter().map(|(k, v)| Edit::SetMetadata(k, v)));
        if let Some(mut destinations) = self.destinations {
            destinations.dedup();
            edits.push(Edit::NarrowDestinations(destinations));
        }
        Ok(edits)
    }
}

/// The task as 0.1 names it: one of its six kinds, `other` for any task 0.1 did not
/// know.
pub fn task_kind(task: &Task) -> Task {
    if task.is_well_known() {
        task.clone()
    } else {
        Task::OTHER
    }
}

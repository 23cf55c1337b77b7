//! What a filter decides about an event.

use serde::Serialize;

use crate::Error;

/// The outcome of a filter for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Pass the event on unchanged.
    Keep,
    /// Stop the event here, for this reason (Weir counts and logs it).
    Drop(String),
    /// Pass the event on with these changes.
    Modify(Changes),
}

impl Verdict {
    /// Stops the event, for this reason.
    pub fn drop(reason: impl Into<String>) -> Self {
        Verdict::Drop(reason.into())
    }
}

impl From<Changes> for Verdict {
    fn from(changes: Changes) -> Self {
        Verdict::Modify(changes)
    }
}

/// Changes to an event that a filter keeps. Build with the methods, then turn into a
/// [`Verdict`] with `.into()`.
///
/// ```
/// use weir_plugin_sdk::{Changes, Verdict};
/// let verdict: Verdict = Changes::new()
///     .remove_attachment("mask_0000.png")
///     .set_metadata("checked-by", "my-filter")
///     .route_to(["slack"])
///     .into();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Replacement predictions document, as JSON text.
    pub predictions: Option<String>,
    /// Indices of [`crate::Event::prediction_list`] to keep; Weir removes the others
    /// from the document.
    pub keep_predictions: Option<Vec<u32>>,
    /// Attachments to remove, by name. Each must exist on the event.
    pub remove_attachments: Vec<String>,
    /// Metadata entries to add or overwrite.
    pub set_metadata: Vec<(String, String)>,
    /// Metadata keys to remove.
    pub remove_metadata: Vec<String>,
    /// The destinations to narrow the event to; each must be one of the event's
    /// current destinations. `Some(vec![])` sends the event nowhere.
    pub destinations: Option<Vec<String>>,
}

impl Changes {
    /// No changes yet.
    pub fn new() -> Self {
        Changes::default()
    }

    /// Replaces the predictions document with this JSON text.
    pub fn predictions(mut self, json: impl Into<String>) -> Self {
        self.predictions = Some(json.into());
        self
    }

    /// Keeps only these predictions (indices of [`crate::Event::prediction_list`]):
    /// Weir removes the others from the document and leaves the rest of it as it was.
    pub fn keep_predictions(mut self, indices: impl IntoIterator<Item = u32>) -> Self {
        self.keep_predictions = Some(indices.into_iter().collect());
        self
    }

    /// Replaces the predictions document with `value` serialised as JSON.
    pub fn predictions_json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, Error> {
        Ok(self.predictions(serde_json::to_string(value)?))
    }

    /// Removes the attachment of this name.
    pub fn remove_attachment(mut self, name: impl Into<String>) -> Self {
        self.remove_attachments.push(name.into());
        self
    }

    /// Sets a metadata entry.
    pub fn set_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set_metadata.push((key.into(), value.into()));
        self
    }

    /// Removes a metadata entry.
    pub fn remove_metadata(mut self, key: impl Into<String>) -> Self {
        self.remove_metadata.push(key.into());
        self
    }

    /// Narrows the event's destinations to these names.
    pub fn route_to<I, S>(mut self, destinations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.destinations = Some(destinations.into_iter().map(Into::into).collect());
        self
    }

    /// Whether these changes change nothing.
    pub fn is_empty(&self) -> bool {
        self == &Changes::default()
    }
}

//! The event envelope: one prediction as it travels from ingest through the filter
//! chain to dispatch.
//!
//! An event is immutable once built; a filter that changes it produces a new event
//! ([`Event::apply`]). Attachments are [`Bytes`], so every version of an event shares
//! the same image and mask buffers instead of copying them.

mod changes;
mod parsed;
pub mod task;

use bytes::Bytes;

pub use changes::{Changes, InvalidChange, Verdict};
pub use parsed::ParsedEvent;
pub use task::TaskKind;

/// One prediction event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable id: the sender's idempotency key, or one Weir assigned.
    pub id: String,
    /// The route it came in on.
    pub route: String,
    /// The model's task, when known.
    pub task: TaskKind,
    /// Key/value pairs that travel with the event, in order, keys unique.
    pub metadata: Vec<(String, String)>,
    /// The predictions document (`predictions.json`), always valid JSON.
    pub predictions: String,
    /// Files that travel with the event, names unique.
    pub attachments: Vec<Attachment>,
    /// The destinations the event is bound for.
    pub destinations: Vec<String>,
}

/// A file that travels with an event.
#[derive(Clone, PartialEq)]
pub struct Attachment {
    /// File name, unique within the event (`image.jpeg`, `mask_0000.png`).
    pub name: String,
    /// MIME type as the sender declared it.
    pub content_type: String,
    /// The bytes, shared between versions of the event.
    pub data: Bytes,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes would drown any log or test failure; their size is what helps.
        f.debug_struct("Attachment")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("size", &self.data.len())
            .finish()
    }
}

impl Event {
    /// An event with these predictions and nothing else; the task is recognised from
    /// the predictions.
    pub fn new(id: impl Into<String>, route: impl Into<String>, predictions: impl Into<String>) -> Self {
        let predictions = predictions.into();
        let task = TaskKind::recognise(&predictions);
        Event::with_task(id, route, predictions, task)
    }

    /// An event with these predictions, of a task already known.
    pub fn with_task(id: impl Into<String>, route: impl Into<String>, predictions: String, task: TaskKind) -> Self {
        Event {
            id: id.into(),
            route: route.into(),
            task,
            metadata: Vec::new(),
            predictions,
            attachments: Vec::new(),
            destinations: Vec::new(),
        }
    }

    /// The attachment of this name.
    pub fn attachment(&self, name: &str) -> Option<&Attachment> {
        self.attachments.iter().find(|a| a.name == name)
    }

    /// The value of a metadata entry.
    pub fn metadata_value(&self, key: &str) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Sets a metadata entry, replacing any earlier value of the key in place.
    pub fn set_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        match self.metadata.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.metadata.push((key, value)),
        }
    }

    /// Total size of the attachments in bytes.
    pub fn attachments_size(&self) -> usize {
        self.attachments.iter().map(|a| a.data.len()).sum()
    }
}

/// The MIME type of an attachment, guessed from its file name, for senders that do not
/// declare one.
pub fn content_type_of(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("json") => "application/json",
        Some("txt") => "text/plain",
        _ => "application/octet-stream",
    }
}

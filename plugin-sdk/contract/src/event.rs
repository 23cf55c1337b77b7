//! The event: one prediction as it travels from ingest through the filter chain to
//! delivery, and its predictions document, parsed at most once.
//!
//! An event is immutable once built; a filter that edits it produces a new event
//! ([`crate::Working`]). Attachments are [`Bytes`] and the predictions text an
//! `Arc<str>`, so every version of an event shares the image, the masks and, until a
//! filter changes them, the predictions.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::predictions::{Document, ParseError};
use crate::task::Task;

/// One prediction event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable id: the sender's idempotency key, or one Weir assigned.
    pub id: String,
    /// The route it came in on.
    pub route: String,
    /// The model's task.
    pub task: Task,
    /// Key/value pairs that travel with the event, in order, keys unique.
    pub metadata: Vec<(String, String)>,
    /// The predictions document (`predictions.json`).
    pub predictions: Predictions,
    /// Files that travel with the event, names unique.
    pub attachments: Vec<Attachment>,
    /// The destinations the event is bound for, in the route's order: names shared with
    /// the route that set them.
    pub destinations: Vec<DestinationName>,
    /// The W3C trace context (`traceparent`) the event travels in: the sender's, or one
    /// the host started. Filters neither see nor change it; deliveries carry it.
    pub trace: Option<String>,
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

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    pub fn new(id: impl Into<String>, route: impl Into<String>, predictions: impl Into<Arc<str>>) -> Self {
        let predictions = Predictions::new(predictions);
        let task = predictions.document().map_or(Task::OTHER, Document::task);
        Event::with_task(id, route, predictions, task)
    }

    /// An event with these predictions, of a task already known.
    pub fn with_task(id: impl Into<String>, route: impl Into<String>, predictions: Predictions, task: Task) -> Self {
        Event {
            id: id.into(),
            route: route.into(),
            task,
            metadata: Vec::new(),
            predictions,
            attachments: Vec::new(),
            destinations: Vec::new(),
            trace: None,
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

/// A predictions document: its text, shared by every version of the event that did not
/// change it, and the parse of that text, made once, on first use, and shared too.
///
/// Ingest parses the document to validate it and recognise the task; every filter that
/// reads the prediction list, and the edits that keep predictions by index, use that
/// same parse.
#[derive(Clone)]
pub struct Predictions(Arc<Inner>);

struct Inner {
    text: Arc<str>,
    parsed: OnceLock<Parsed>,
}

/// `None` when the text is not JSON.
type MaybeDocument<'a> = Option<Document<'a>>;

self_cell::self_cell!(
    /// The text and its parse, the document borrowing the text.
    struct Parsed {
        owner: Arc<str>,
        #[covariant]
        dependent: MaybeDocument,
    }
);

impl Predictions {
    /// Predictions from text already known to be JSON (from the store, say); parsed
    /// only when something reads them.
    pub fn new(text: impl Into<Arc<str>>) -> Self {
        Predictions(Arc::new(Inner {
            text: text.into(),
            parsed: OnceLock::new(),
        }))
    }

    /// Predictions parsed now: an error when the text is not JSON.
    pub fn parse(text: impl Into<Arc<str>>) -> Result<Self, ParseError> {
        let text = text.into();
        let parsed = Parsed::try_new(text.clone(), |text| Document::parse(text).map(Some))?;
        let cell = OnceLock::new();
        let _ = cell.set(parsed);
        Ok(Predictions(Arc::new(Inner { text, parsed: cell })))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// The text, shared.
    pub fn shared(&self) -> &Arc<str> {
        &self.0.text
    }

    /// The text as shared bytes, without a copy: what a request body carries, every
    /// attempt to every destination pointing at this one text.
    pub fn bytes(&self) -> bytes::Bytes {
        bytes::Bytes::from_owner(SharedText(self.0.text.clone()))
    }

    /// The parsed document (parsing it now if nothing did yet), or `None` when the
    /// text is not JSON.
    pub fn document(&self) -> Option<&Document<'_>> {
        self.0
            .parsed
            .get_or_init(|| Parsed::new(self.0.text.clone(), |text| Document::parse(text).ok()))
            .borrow_dependent()
            .as_ref()
    }
}

/// The predictions' text as the owner of a [`bytes::Bytes`].
struct SharedText(Arc<str>);

impl AsRef<[u8]> for SharedText {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl Deref for Predictions {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0.text
    }
}

impl PartialEq for Predictions {
    fn eq(&self, other: &Self) -> bool {
        self.0.text == other.0.text
    }
}

impl fmt::Debug for Predictions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0.text, f)
    }
}

impl From<&str> for Predictions {
    fn from(text: &str) -> Self {
        Predictions::new(text)
    }
}

impl From<String> for Predictions {
    fn from(text: String) -> Self {
        Predictions::new(text)
    }
}

/// The name of a destination: shared (an `Arc<str>`) by the route and every event bound
/// for it, compared as the text it is.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestinationName(pub Arc<str>);

impl Deref for DestinationName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DestinationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for DestinationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for DestinationName {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for DestinationName {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for DestinationName {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl serde::Serialize for DestinationName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for DestinationName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(DestinationName(String::deserialize(deserializer)?.into()))
    }
}

impl From<&str> for DestinationName {
    fn from(name: &str) -> Self {
        DestinationName(name.into())
    }
}

impl From<String> for DestinationName {
    fn from(name: String) -> Self {
        DestinationName(name.into())
    }
}

impl From<Arc<str>> for DestinationName {
    fn from(name: Arc<str>) -> Self {
        DestinationName(name)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parse_is_made_once_and_shared_by_clones() {
        let predictions = Predictions::parse(r#"{"predictions":[{"class":"a"}]}"#).unwrap();
        let copy = predictions.clone();
        let first = predictions.document().unwrap() as *const Document<'_>;
        let second = copy.document().unwrap() as *const Document<'_>;
        assert_eq!(first, second);
        assert!(Predictions::parse("{").is_err());
        assert!(Predictions::new("{").document().is_none());
    }

    #[test]
    fn the_bytes_are_the_text_itself() {
        let predictions = Predictions::new(r#"{"predictions":[]}"#);
        let bytes = predictions.bytes();
        assert_eq!(&bytes[..], predictions.as_bytes());
        assert_eq!(bytes.as_ptr(), predictions.as_ptr(), "shared, not copied");
    }

    #[test]
    fn recognises_every_fixture() {
        let fixtures = [
            (
                include_str!("../../../tests/fixtures/object-detection.json"),
                Task::OBJECT_DETECTION,
            ),
            (
                include_str!("../../../tests/fixtures/classification.json"),
                Task::CLASSIFICATION,
            ),
            (
                include_str!("../../../tests/fixtures/multilabel-classification.json"),
                Task::MULTILABEL_CLASSIFICATION,
            ),
            (
                include_str!("../../../tests/fixtures/instance-segmentation.json"),
                Task::INSTANCE_SEGMENTATION,
            ),
            (
                include_str!("../../../tests/fixtures/semantic-segmentation.json"),
                Task::SEMANTIC_SEGMENTATION,
            ),
            (include_str!("../../../tests/fixtures/job-results.json"), Task::OTHER),
        ];
        for (doc, expected) in fixtures {
            assert_eq!(Event::new("e", "r", doc).task, expected);
        }
    }

    #[test]
    fn recognises_tasks_from_field_or_shape_with_one_set_of_field_rules() {
        let cases = [
            (r#"{"task":"Object_Detection","predictions":[]}"#, "object-detection"),
            (r#"{"task":"image-classification"}"#, "classification"),
            (r#"{"task":"pose-estimation"}"#, "pose-estimation"),
            (
                r#"{"task":"not a task!","predictions":[{"class":"a","bbox":{}}]}"#,
                "object-detection",
            ),
            (
                r#"{"predictions":[{"class":"a","confidence":1,"bbox":{}}]}"#,
                "object-detection",
            ),
            (
                r#"{"predictions":[{"label":"a","score":1,"box":[1,2,3,4]}]}"#,
                "object-detection",
            ),
            (r#"{"predictions":[{"class":"a","confidence":1}]}"#, "classification"),
            (
                r#"{"predictions":[{"label":"a","score":1},{"label":"b","score":1}]}"#,
                "multilabel-classification",
            ),
            (
                r#"{"predictions":[{"class":"a","confidence":1,"mask":"m"}]}"#,
                "instance-segmentation",
            ),
            (
                r#"{"predictions":[{"label":"a","score":1,"mask":"m"}]}"#,
                "instance-segmentation",
            ),
            (r#"{"predictions":[{"class":"a","mask":"m"}]}"#, "semantic-segmentation"),
            (r#"[{"class":"a","bbox":[0,0,1,1]}]"#, "object-detection"),
            (r#"{"predictions":[]}"#, "other"),
            (r#"{"predictions":[{"x":1}]}"#, "other"),
            (r#"{"predictions":[{"class":"a"},{"x":1}]}"#, "other"),
            (r#"{"jobResults":[]}"#, "other"),
            ("not json", "other"),
        ];
        for (doc, expected) in cases {
            assert_eq!(Event::new("e", "r", doc).task.as_str(), expected, "{doc}");
        }
    }
}

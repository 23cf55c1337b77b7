//! The event as a filter sees it.
//!
//! Inside Weir every method reads the host's copy of the event on demand, so a filter
//! pays only for what it reads: a class filter that never asks for the image never
//! copies it. In native unit tests the same methods read a [`TestEvent`].

use serde::de::DeserializeOwned;

use crate::Error;
use crate::export::bindings::weir::filter::types as wit;
use crate::testing::TestEvent;

/// The kind of model that produced the predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    /// Boxes with a class and confidence each.
    ObjectDetection,
    /// One class for the whole image.
    Classification,
    /// Several labels for the whole image, each with its confidence.
    MultilabelClassification,
    /// One mask per detected instance.
    InstanceSegmentation,
    /// One mask per class.
    SemanticSegmentation,
    /// Not known, or none of the above.
    Other,
}

/// A file that travels with the event, described without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name, unique within the event (`image.jpeg`, `mask_0000.png`).
    pub name: String,
    /// The MIME type the sender declared.
    pub content_type: String,
    /// The size in bytes.
    pub size: u64,
}

/// One prediction of [`Event::prediction_list`].
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The class label.
    pub class: String,
    /// The confidence, when the model gives one.
    pub confidence: Option<f64>,
    /// The mask file it refers to, for segmentation.
    pub mask: Option<String>,
}

/// One prediction event, lent to the filter for one call.
pub struct Event<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    Host(&'a wit::Event),
    Test(&'a TestEvent),
}

impl<'a> Event<'a> {
    pub(crate) fn host(event: &'a wit::Event) -> Self {
        Event {
            source: Source::Host(event),
        }
    }

    pub(crate) fn test(event: &'a TestEvent) -> Self {
        Event {
            source: Source::Test(event),
        }
    }

    /// The event id, stable across retries.
    pub fn id(&self) -> String {
        match self.source {
            Source::Host(event) => event.id(),
            Source::Test(event) => event.id.clone(),
        }
    }

    /// The name of the route the event came in on.
    pub fn route(&self) -> String {
        match self.source {
            Source::Host(event) => event.route(),
            Source::Test(event) => event.route.clone(),
        }
    }

    /// The model's task, when Weir knows it.
    pub fn task(&self) -> Task {
        match self.source {
            Source::Host(event) => match event.task() {
                wit::TaskKind::ObjectDetection => Task::ObjectDetection,
                wit::TaskKind::Classification => Task::Classification,
                wit::TaskKind::MultilabelClassification => Task::MultilabelClassification,
                wit::TaskKind::InstanceSegmentation => Task::InstanceSegmentation,
                wit::TaskKind::SemanticSegmentation => Task::SemanticSegmentation,
                wit::TaskKind::Other => Task::Other,
            },
            Source::Test(event) => event.task,
        }
    }

    /// All metadata entries, in order.
    pub fn metadata(&self) -> Vec<(String, String)> {
        match self.source {
            Source::Host(event) => event.metadata(),
            Source::Test(event) => event.metadata.clone(),
        }
    }

    /// The value of one metadata entry.
    pub fn metadata_value(&self, key: &str) -> Option<String> {
        self.metadata().into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The predictions document, as JSON text.
    pub fn predictions(&self) -> String {
        match self.source {
            Source::Host(event) => event.predictions(),
            Source::Test(event) => event.predictions.clone(),
        }
    }

    /// The predictions document, parsed into `T` (a `serde_json::Value`, or a struct of
    /// your own).
    pub fn predictions_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.predictions())
            .map_err(|error| Error::msg(format!("predictions are not of the expected shape: {error}")))
    }

    /// The predictions, as Weir read them from the document (see
    /// [`crate::predictions::Document::listed`]): no JSON parsing in the filter. Keep a
    /// subset with [`crate::Changes::keep_predictions`].
    pub fn prediction_list(&self) -> Vec<Item> {
        match self.source {
            Source::Host(event) => event
                .prediction_list()
                .into_iter()
                .map(|p| Item {
                    class: p.class,
                    confidence: p.confidence,
                    mask: p.mask,
                })
                .collect(),
            Source::Test(event) => match crate::predictions::Document::parse(&event.predictions) {
                Ok(doc) => doc
                    .listed()
                    .iter()
                    .map(|p| Item {
                        class: p.class.to_string(),
                        confidence: p.confidence,
                        mask: p.mask.map(str::to_string),
                    })
                    .collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    /// The attachments, without their bytes.
    pub fn attachments(&self) -> Vec<Attachment> {
        match self.source {
            Source::Host(event) => event
                .attachments()
                .into_iter()
                .map(|a| Attachment {
                    name: a.name,
                    content_type: a.content_type,
                    size: a.size,
                })
                .collect(),
            Source::Test(event) => event
                .attachments
                .iter()
                .map(|(attachment, _)| attachment.clone())
                .collect(),
        }
    }

    /// The bytes of one attachment, copied from the host only now.
    pub fn attachment_bytes(&self, name: &str) -> Option<Vec<u8>> {
        match self.source {
            Source::Host(event) => event.attachment_bytes(name),
            Source::Test(event) => event
                .attachments
                .iter()
                .find(|(attachment, _)| attachment.name == name)
                .map(|(_, bytes)| bytes.clone()),
        }
    }

    /// The destinations the event is currently bound for.
    pub fn destinations(&self) -> Vec<String> {
        match self.source {
            Source::Host(event) => event.destinations(),
            Source::Test(event) => event.destinations.clone(),
        }
    }
}

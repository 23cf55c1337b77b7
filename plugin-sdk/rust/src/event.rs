//! The event as a filter sees it, and the edits it makes to it.
//!
//! Inside Weir every method reads the host's copy of the event on demand, so a filter
//! pays only for what it reads: a class filter that never asks for the image never
//! copies it. Edits are calls too, each checked by Weir at once. In native unit tests
//! the same methods read and edit a [`crate::testing::TestEvent`] with Weir's own code
//! (the `weir-contract` crate).

use serde::Serialize;
use serde::de::DeserializeOwned;
use weir_contract::{Edit, Working};

use crate::error::{Error, Refused};
use crate::export::bindings::weir::filter::types as wit;

pub use weir_contract::Task;
pub use weir_contract::predictions::BBox;

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
pub struct Prediction {
    /// Its place in the list: what [`Event::keep_predictions`] takes.
    pub index: u32,
    /// The class label (`class`, or `label`).
    pub class: String,
    /// The confidence (`confidence` or `score`), when the model gives one.
    pub confidence: Option<f64>,
    /// The mask file it refers to, for segmentation.
    pub mask: Option<String>,
    /// The bounding box, in the document's own units, when it has one.
    pub bbox: Option<BBox>,
    /// The prediction as it stands in the document, as JSON text: for fields Weir
    /// does not read.
    pub json: String,
}

impl Prediction {
    /// The prediction's JSON parsed into `T` (a `serde_json::Value`, or a struct of your
    /// own), for the fields Weir does not read.
    pub fn json_as<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_str(&self.json).map_err(|error| {
            Error::msg(format!(
                "prediction {} is not of the expected shape: {error}",
                self.index
            ))
        })
    }
}

/// One prediction event, lent to the filter for one call.
pub struct Event<'a> {
    source: Source<'a>,
}

enum Source<'a> {
    Host(&'a wit::Event),
    Test(&'a mut Working),
}

fn refused(refusal: wit::Refusal) -> Refused {
    Refused {
        kind: refusal.kind,
        message: refusal.message,
    }
}

impl<'a> Event<'a> {
    pub(crate) fn host(event: &'a wit::Event) -> Self {
        Event {
            source: Source::Host(event),
        }
    }

    pub(crate) fn test(working: &'a mut Working) -> Self {
        Event {
            source: Source::Test(working),
        }
    }

    /// The event id, stable across retries.
    pub fn id(&self) -> String {
        match &self.source {
            Source::Host(event) => event.id(),
            Source::Test(working) => working.event().id.clone(),
        }
    }

    /// The name of the route the event came in on.
    pub fn route(&self) -> String {
        match &self.source {
            Source::Host(event) => event.route(),
            Source::Test(working) => working.event().route.clone(),
        }
    }

    /// The model's task (well-known ones are [`Task`]'s constants; compare with
    /// `event.task() == Task::OBJECT_DETECTION`).
    pub fn task(&self) -> Task {
        match &self.source {
            Source::Host(event) => Task::parse(&event.task()).unwrap_or(Task::OTHER),
            Source::Test(working) => working.event().task.clone(),
        }
    }

    /// All metadata entries, in order.
    pub fn metadata(&self) -> Vec<(String, String)> {
        match &self.source {
            Source::Host(event) => event.metadata(),
            Source::Test(working) => working.event().metadata.clone(),
        }
    }

    /// The value of one metadata entry.
    pub fn metadata_value(&self, key: &str) -> Option<String> {
        match &self.source {
            Source::Host(event) => event.metadata_value(key),
            Source::Test(working) => working.event().metadata_value(key).map(str::to_string),
        }
    }

    /// The predictions document, as JSON text.
    pub fn predictions(&self) -> String {
        match &self.source {
            Source::Host(event) => event.predictions(),
            Source::Test(working) => working.event().predictions.to_string(),
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
    /// subset with [`Event::keep_predictions`].
    pub fn prediction_list(&self) -> Vec<Prediction> {
        match &self.source {
            Source::Host(event) => event
                .prediction_list()
                .into_iter()
                .map(|p| Prediction {
                    index: p.index,
                    class: p.class,
                    confidence: p.confidence,
                    mask: p.mask,
                    bbox: p.bbox.map(|b| BBox {
                        x: b.x,
                        y: b.y,
                        width: b.width,
                        height: b.height,
                    }),
                    json: p.json,
                })
                .collect(),
            Source::Test(working) => match working.event().predictions.document() {
                Some(doc) => doc
                    .listed()
                    .iter()
                    .map(|p| Prediction {
                        index: p.index,
                        class: p.class.to_string(),
                        confidence: p.confidence,
                        mask: p.mask.map(str::to_string),
                        bbox: p.bbox,
                        json: p.json.to_string(),
                    })
                    .collect(),
                None => Vec::new(),
            },
        }
    }

    /// The attachments, without their bytes.
    pub fn attachments(&self) -> Vec<Attachment> {
        match &self.source {
            Source::Host(event) => event
                .attachments()
                .into_iter()
                .map(|a| Attachment {
                    name: a.name,
                    content_type: a.content_type,
                    size: a.size,
                })
                .collect(),
            Source::Test(working) => working
                .event()
                .attachments
                .iter()
                .map(|a| Attachment {
                    name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    size: a.data.len() as u64,
                })
                .collect(),
        }
    }

    /// The bytes of one attachment, copied from the host only now.
    pub fn attachment_bytes(&self, name: &str) -> Option<Vec<u8>> {
        match &self.source {
            Source::Host(event) => event.attachment_bytes(name),
            Source::Test(working) => working.event().attachment(name).map(|a| a.data.to_vec()),
        }
    }

    /// The destinations the event is currently bound for.
    pub fn destinations(&self) -> Vec<String> {
        match &self.source {
            Source::Host(event) => event.destinations(),
            Source::Test(working) => working.event().destinations.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn edit(&mut self, edit: Edit) -> Result<(), Refused> {
        match &mut self.source {
            Source::Host(event) => match edit {
                Edit::KeepPredictions(indices) => event.keep_predictions(&indices),
                Edit::SetPredictions(json) => event.set_predictions(&json),
                Edit::RemoveAttachment(name) => event.remove_attachment(&name),
                Edit::SetMetadata(key, value) => event.set_metadata(&key, &value),
                Edit::RemoveMetadata(key) => event.remove_metadata(&key),
                Edit::NarrowDestinations(names) => event.narrow_destinations(&names),
            }
            .map_err(refused),
            Source::Test(working) => working.apply(edit).map_err(Refused::from),
        }
    }

    /// Keeps only the predictions at these indices of [`Event::prediction_list`]; Weir
    /// removes the others from the document and leaves the rest of it as it was. After
    /// it, the list holds the kept predictions, indexed afresh.
    pub fn keep_predictions(&mut self, indices: impl IntoIterator<Item = u32>) -> Result<(), Refused> {
        self.edit(Edit::KeepPredictions(indices.into_iter().collect()))
    }

    /// Replaces the predictions document with this JSON text.
    pub fn set_predictions(&mut self, json: impl Into<String>) -> Result<(), Refused> {
        self.edit(Edit::SetPredictions(json.into()))
    }

    /// Replaces the predictions document with `value` serialised as JSON.
    pub fn set_predictions_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let json = serde_json::to_string(value)?;
        Ok(self.set_predictions(json)?)
    }

    /// Removes the attachment of this name.
    pub fn remove_attachment(&mut self, name: impl Into<String>) -> Result<(), Refused> {
        self.edit(Edit::RemoveAttachment(name.into()))
    }

    /// Sets a metadata entry (overwriting the key's value in place).
    pub fn set_metadata(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<(), Refused> {
        self.edit(Edit::SetMetadata(key.into(), value.into()))
    }

    /// Removes a metadata entry, if there is one.
    pub fn remove_metadata(&mut self, key: impl Into<String>) -> Result<(), Refused> {
        self.edit(Edit::RemoveMetadata(key.into()))
    }

    /// Narrows the event's destinations to these names (each must be one of
    /// [`Event::destinations`]); none sends the event nowhere.
    pub fn narrow_destinations<I, S>(&mut self, names: I) -> Result<(), Refused>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.edit(Edit::NarrowDestinations(names.into_iter().map(Into::into).collect()))
    }
}

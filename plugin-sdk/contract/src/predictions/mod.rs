//! Reading and narrowing predictions documents in the shapes inference platforms send.
//!
//! Two families are recognised:
//!
//! - **Per-image predictions** (camera inference): an object with a `predictions` array
//!   (or a bare array) whose items carry `class` (or `label`), an optional `confidence`
//!   (or `score`), and for segmentation a `mask` file name. This covers object
//!   detection, classification, multilabel classification, instance and semantic
//!   segmentation.
//! - **Batch job results**: an object with `jobResults[]` (each with `class` and
//!   `image.confidence`) and/or `imageResults[]` (each with `objects[]` of `class` and
//!   `confidence`). Both lists describe the same detections; [`Document::items`] reads
//!   `imageResults` when present, and [`Document::retain`] narrows both alike.
//!
//! A [`Document`] borrows the JSON text and never re-prints what it does not change:
//! kept predictions and every other field reach the output as the exact text they came
//! in as (numbers keep their digits, strings their escapes). Only the arrays that lost
//! items are rebuilt, as their kept items separated by commas.
//!
//! ```
//! use weir_contract::predictions::Document;
//! let text = r#"{"camera":"dock-3","predictions":[{"class":"person","confidence":0.9},{"class":"dog","confidence":0.4}]}"#;
//! let mut doc = Document::parse(text).unwrap();
//! let retained = doc.retain(|p| p.class == "person");
//! assert_eq!((retained.kept, retained.removed), (1, 1));
//! assert_eq!(doc.to_json(), r#"{"camera":"dock-3","predictions":[{"class":"person","confidence":0.9}]}"#);
//! ```

mod glance;
mod read;
mod scan;

use std::borrow::Cow;
use std::ops::Range;

pub use self::glance::{Glance, glance};
pub use self::scan::BBox;
use self::scan::{Entries, Probe, ScannedList, array_items, object_entries, scan_document, span, string_value};
use crate::task::Task;

/// Whether the JSON `text` may have an object key `key`, without parsing it: a cheap
/// test before [`Document::parse`] for filters that act only on documents with a given
/// field (`mask`, say). A document without a single escape writes every key literally,
/// so when `"key"` does not occur the key is not there; a document with escapes, or a
/// key that would need them, may hide it.
pub fn may_hold_key(text: &str, key: &str) -> bool {
    text.contains('\\')
        || key.chars().any(|c| c == '"' || c == '\\' || c.is_control())
        || text.contains(&format!("\"{key}\""))
}

/// One prediction, as read from a [`Document`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'a> {
    /// Its place in [`Document::listed`], which [`Document::retain_indices`] takes.
    pub index: u32,
    /// The class label (`class`, or `label`).
    pub class: &'a str,
    /// The confidence (`confidence` or `score`; in batch job results also
    /// `image.confidence`), when the model gives one (semantic segmentation does not).
    pub confidence: Option<f64>,
    /// The mask file this prediction refers to (`mask`), for segmentation.
    pub mask: Option<&'a str>,
    /// The bounding box (`bbox` or `box`), in the document's own units.
    pub bbox: Option<BBox>,
    /// The prediction's JSON text, as it stands in the document.
    pub json: &'a str,
}

/// The top of a predictions document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// An object (the usual case).
    Object,
    /// An array of predictions.
    Array,
    /// A string, number, boolean or null: not a predictions document.
    Scalar,
}

/// Why a predictions document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("predictions are not valid JSON: {0}")]
pub struct ParseError(pub String);

/// What [`Document::retain`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retained {
    /// Predictions kept.
    pub kept: usize,
    /// Predictions removed.
    pub removed: usize,
    /// Mask files referred to only by removed predictions, in document order.
    pub orphaned_masks: Vec<String>,
}

/// A parsed predictions document, borrowing its text.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    text: &'a str,
    root: Root,
    /// The top-level entries, when the document is an object.
    entries: Option<Entries<'a>>,
    /// `predictions[]`, or the document itself when it is an array.
    plain: Option<List<'a>>,
    /// `jobResults[]`.
    jobs: Option<List<'a>>,
    /// `imageResults[]`.
    images: Option<Images<'a>>,
}

/// An array of predictions and what has been decided about each.
#[derive(Debug, Clone)]
struct List<'a> {
    /// Where the array is, in the text it was read from.
    span: Range<usize>,
    items: Vec<Item<'a>>,
}

#[derive(Debug, Clone)]
struct Item<'a> {
    raw: &'a str,
    /// `None` for items that are not objects: they are never judged, always kept.
    probe: Option<Probe<'a>>,
    keep: bool,
    /// The item's new text, when a field was removed from it.
    rewritten: Option<String>,
}

/// `imageResults[]`: images, each with its own list of objects.
#[derive(Debug, Clone)]
struct Images<'a> {
    span: Range<usize>,
    images: Vec<Image<'a>>,
}

#[derive(Debug, Clone)]
struct Image<'a> {
    raw: &'a str,
    /// The image's `objects`, with spans relative to `raw`.
    objects: Option<List<'a>>,
    keep: bool,
}

impl<'a> List<'a> {
    fn new(scanned: ScannedList<'a>) -> Self {
        List {
            span: scanned.span,
            items: scanned
                .items
                .into_iter()
                .map(|(raw, probe)| Item {
                    raw,
                    probe,
                    keep: true,
                    rewritten: None,
                })
                .collect(),
        }
    }

    fn changed(&self) -> bool {
        self.items.iter().any(|item| !item.keep || item.rewritten.is_some())
    }

    fn kept(&self) -> impl Iterator<Item = &Item<'a>> {
        self.items.iter().filter(|item| item.keep)
    }

    /// The array with only its kept items, in `container`'s formatting: the text
    /// between `[` and the first item, between items, and before `]` is reused as the
    /// sender wrote it.
    fn render(&self, container: &str) -> String {
        let spans: Vec<Range<usize>> = self.items.iter().map(|item| span(container, item.raw)).collect();
        let (Some(first), Some(last)) = (spans.first(), spans.last()) else {
            return "[]".into();
        };
        let mut out = String::with_capacity(self.span.len());
        let mut kept = self
            .items
            .iter()
            .zip(&spans)
            .enumerate()
            .filter(|(_, (item, _))| item.keep)
            .peekable();
        if kept.peek().is_none() {
            return "[]".into();
        }
        out.push('[');
        out.push_str(&container[self.span.start + 1..first.start]);
        for (n, (i, (item, _))) in kept.enumerate() {
            if n > 0 {
                out.push_str(&container[spans[i - 1].end..spans[i].start]);
            }
            out.push_str(item.rewritten.as_deref().unwrap_or(item.raw));
        }
        out.push_str(&container[last.end..self.span.end - 1]);
        out.push(']');
        out
    }
}

impl<'a> Item<'a> {
    /// The prediction this item is, if it is one; its index is set by the listing.
    fn prediction(&self, job: bool) -> Option<Prediction<'_>> {
        let probe = self.probe.as_ref()?;
        Some(Prediction {
            index: 0,
            bbox: probe.bbox,
            json: self.rewritten.as_deref().unwrap_or(self.raw),
            class: probe.class.as_deref()?,
            confidence: if job {
                probe.confidence.or(probe.image_confidence)
            } else {
                probe.confidence
            },
            mask: probe.mask.as_deref(),
        })
    }
}

impl<'a> Document<'a> {
    /// Parses a predictions document. Any JSON value is accepted; documents of no
    /// recognised shape simply have no items.
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        let scanned = scan_document(text).map_err(|error| ParseError(error.to_string()))?;
        let root = match text.trim_start().as_bytes().first() {
            Some(b'{') => Root::Object,
            Some(b'[') => Root::Array,
            _ => Root::Scalar,
        };
        let images = scanned
            .entries
            .as_ref()
            .filter(|_| scanned.predictions.is_none())
            .and_then(|entries| entries.iter().find(|(key, _)| key == "imageResults"))
            .and_then(|(_, raw)| read_images(text, raw));
        Ok(Document {
            text,
            root,
            jobs: scanned.jobs.filter(|_| scanned.predictions.is_none()).map(List::new),
            plain: scanned.predictions.map(List::new),
            entries: scanned.entries,
            images,
        })
    }

    /// A top-level string, number or boolean field, as text (`camera`, `timestamp`,
    /// `feedId`).
    pub fn field(&self, name: &str) -> Option<String> {
        let raw = self.raw_field(name)?;
        match raw.as_bytes().first()? {
            b'"' => string_value(raw).map(Cow::into_owned),
            b'{' | b'[' | b'n' => None,
            _ => Some(raw.to_string()),
        }
    }

    /// A top-level field as raw JSON text, exactly as it appears in the document.
    pub fn raw_field(&self, name: &str) -> Option<&'a str> {
        let entries = self.entries.as_ref()?;
        entries.iter().find(|(key, _)| key == name).map(|(_, raw)| *raw)
    }

    /// The predictions still in the document, in document order. Unlike
    /// [`Document::listed`], batch job results are read from `imageResults` alone when
    /// the document has them (`jobResults` describes the same detections again); the
    /// predictions keep their index in the listing.
    pub fn items(&self) -> Vec<Prediction<'_>> {
        let skip_jobs = self.images.is_some();
        self.collect()
            .into_iter()
            .filter(|(_, from_jobs, _)| !(skip_jobs && *from_jobs))
            .map(|(_, _, prediction)| prediction)
            .collect()
    }

    /// Keeps only the predictions for which `keep` is true, in every list of the
    /// document. In batch results, an image left with no objects is removed too.
    pub fn retain(&mut self, mut keep: impl FnMut(&Prediction<'_>) -> bool) -> Retained {
        self.retain_at(|_, prediction| keep(prediction))
    }

    /// Every prediction of the document, in document order, across all its lists. Unlike
    /// [`Document::items`], batch job results list the detections of `jobResults` and
    /// of `imageResults` both (they describe the same detections twice). This is the
    /// list Weir gives filters as `event.prediction-list`, and the one
    /// [`Document::retain_indices`] indexes.
    pub fn listed(&self) -> Vec<Prediction<'_>> {
        self.collect()
            .into_iter()
            .map(|(_, _, prediction)| prediction)
            .collect()
    }

    /// How many predictions [`Document::listed`] has, without building them.
    pub fn count(&self) -> usize {
        self.offsets().len()
    }

    /// The byte offsets of the listed predictions, in listing order: what an index
    /// of the listing maps to, found without building the predictions.
    fn offsets(&self) -> Vec<usize> {
        let text = self.text;
        let mut offsets = Vec::new();
        let mut lists = 0;
        for (list, job) in [(&self.plain, false), (&self.jobs, true)] {
            if let Some(list) = list {
                lists += 1;
                offsets.extend(
                    list.kept()
                        .filter(|item| item.prediction(job).is_some())
                        .map(|item| span(text, item.raw).start),
                );
            }
        }
        if let Some(images) = &self.images {
            lists += 1;
            for objects in images
                .images
                .iter()
                .filter(|image| image.keep)
                .filter_map(|image| image.objects.as_ref())
            {
                offsets.extend(
                    objects
                        .kept()
                        .filter(|item| item.prediction(false).is_some())
                        .map(|item| span(text, item.raw).start),
                );
            }
        }
        // One list is in document order already; several interleave.
        if lists > 1 {
            offsets.sort_unstable();
        }
        offsets
    }

    /// Every kept prediction with its byte offset and whether it came from
    /// `jobResults`, in document order, indexed.
    fn collect(&self) -> Vec<(usize, bool, Prediction<'_>)> {
        let mut all: Vec<(usize, bool, Prediction<'_>)> = Vec::new();
        let text = self.text;
        for (list, job) in [(&self.plain, false), (&self.jobs, true)] {
            if let Some(list) = list {
                for item in list.kept() {
                    if let Some(prediction) = item.prediction(job) {
                        all.push((span(text, item.raw).start, job, prediction));
                    }
                }
            }
        }
        if let Some(images) = &self.images {
            for objects in images
                .images
                .iter()
                .filter(|image| image.keep)
                .filter_map(|image| image.objects.as_ref())
            {
                for item in objects.kept() {
                    if let Some(prediction) = item.prediction(false) {
                        all.push((span(text, item.raw).start, false, prediction));
                    }
                }
            }
        }
        all.sort_by_key(|(at, _, _)| *at);
        for (index, (_, _, prediction)) in all.iter_mut().enumerate() {
            prediction.index = index as u32;
        }
        all
    }

    /// What the top of the document is.
    pub fn root(&self) -> Root {
        self.root
    }

    /// The model's task: the document's `task` field when it holds a task name,
    /// otherwise recognised from the shape of its per-image predictions (each an
    /// object with a class): masks with confidences are instance segmentation, masks
    /// alone semantic segmentation, boxes object detection, one prediction
    /// classification and several multilabel classification. [`Task::OTHER`] when
    /// neither tells (batch job results among them).
    pub fn task(&self) -> Task {
        let name = self.raw_field("task").and_then(string_value);
        if let Some(named) = name.and_then(|name| Task::parse(&name).ok()) {
            return named;
        }
        let Some(plain) = &self.plain else {
            return Task::OTHER;
        };
        let items: Vec<&Probe<'_>> = plain.kept().filter_map(|item| item.probe.as_ref()).collect();
        let all_classified = items.len() == plain.kept().count() && items.iter().all(|p| p.class.is_some());
        if items.is_empty() || !all_classified {
            return Task::OTHER;
        }
        let mask = items.iter().any(|p| p.mask.is_some());
        let confidence = items.iter().any(|p| p.confidence.is_some());
        if mask {
            if confidence {
                Task::INSTANCE_SEGMENTATION
            } else {
                Task::SEMANTIC_SEGMENTATION
            }
        } else if items.iter().any(|p| p.boxed) {
            Task::OBJECT_DETECTION
        } else if items.len() == 1 {
            Task::CLASSIFICATION
        } else {
            Task::MULTILABEL_CLASSIFICATION
        }
    }

    /// Keeps only the predictions at these indices of [`Document::listed`]; `Err` names
    /// the first index out of range.
    pub fn retain_indices(&mut self, keep: &[u32]) -> Result<Retained, u32> {
        // The listed order is document order: map each index to its item's offset.
        let offsets = self.offsets();
        if let Some(bad) = keep.iter().find(|i| **i as usize >= offsets.len()) {
            return Err(*bad);
        }
        let mut kept: Vec<usize> = keep.iter().map(|i| offsets[*i as usize]).collect();
        kept.sort_unstable();
        Ok(self.retain_in(&offsets, |at, _| kept.binary_search(&at).is_ok()))
    }

    /// [`Document::retain`], with each prediction's byte offset in the document.
    fn retain_at(&mut self, keep: impl FnMut(usize, &Prediction<'_>) -> bool) -> Retained {
        let order = self.offsets();
        self.retain_in(&order, keep)
    }

    /// [`Document::retain_at`], given the listing's offsets (`order`), which tell each
    /// prediction its index.
    fn retain_in(&mut self, order: &[usize], mut keep: impl FnMut(usize, &Prediction<'_>) -> bool) -> Retained {
        let text = self.text;
        let mut retained = Retained::default();
        let mut kept_masks: Vec<String> = Vec::new();
        let mut removed_masks: Vec<String> = Vec::new();
        let mut judge = |list: &mut List<'_>, job: bool, counted: bool| {
            for item in list.items.iter_mut().filter(|item| item.keep) {
                let Some(mut prediction) = item.prediction(job) else {
                    continue;
                };
                let at = span(text, item.raw).start;
                prediction.index = order.binary_search(&at).unwrap_or_default() as u32;
                let verdict = keep(at, &prediction);
                if let Some(mask) = prediction.mask {
                    let masks = if verdict { &mut kept_masks } else { &mut removed_masks };
                    masks.push(mask.to_string());
                }
                if counted {
                    if verdict {
                        retained.kept += 1;
                    } else {
                        retained.removed += 1;
                    }
                }
                item.keep = verdict;
            }
        };
        if let Some(plain) = &mut self.plain {
            judge(plain, false, true);
        }
        let images_counted = self.images.is_some();
        if let Some(jobs) = &mut self.jobs {
            judge(jobs, true, !images_counted);
        }
        if let Some(images) = &mut self.images {
            for image in images.images.iter_mut().filter(|image| image.keep) {
                let Some(objects) = &mut image.objects else {
                    continue;
                };
                if objects.items.is_empty() {
                    continue;
                }
                judge(objects, false, true);
                image.keep = objects.kept().next().is_some();
            }
        }
        for mask in removed_masks {
            if !kept_masks.contains(&mask) && !retained.orphaned_masks.contains(&mask) {
                retained.orphaned_masks.push(mask);
            }
        }
        retained
    }

    /// Removes a field from every prediction that has it (`mask`, say); returns how
    /// many predictions changed.
    pub fn remove_field(&mut self, field: &str) -> usize {
        let mut changed = 0;
        let mut strip = |list: &mut List<'_>| {
            for item in list.items.iter_mut().filter(|item| item.keep) {
                let text = item.rewritten.as_deref().unwrap_or(item.raw);
                let Some(entries) = object_entries(text) else {
                    continue;
                };
                if !entries.iter().any(|(key, _)| key == field) {
                    continue;
                }
                let mut out = String::with_capacity(text.len());
                out.push('{');
                for (key, raw) in entries.iter().filter(|(key, _)| key != field) {
                    if out.len() > 1 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(key).unwrap_or_default());
                    out.push(':');
                    out.push_str(raw);
                }
                out.push('}');
                if let Some(probe) = &mut item.probe {
                    match field {
                        "mask" => probe.mask = None,
                        "confidence" | "score" => probe.confidence = None,
                        "class" | "label" => probe.class = None,
                        "bbox" | "box" => {
                            probe.bbox = None;
                            probe.boxed = false;
                        }
                        _ => {}
                    }
                }
                item.rewritten = Some(out);
                changed += 1;
            }
        };
        if let Some(plain) = &mut self.plain {
            strip(plain);
        }
        if let Some(jobs) = &mut self.jobs {
            strip(jobs);
        }
        if let Some(images) = &mut self.images {
            for image in images.images.iter_mut() {
                if let Some(objects) = &mut image.objects {
                    strip(objects);
                }
            }
        }
        changed
    }

    /// Whether anything was removed or rewritten.
    pub fn is_changed(&self) -> bool {
        self.plain.as_ref().is_some_and(List::changed)
            || self.jobs.as_ref().is_some_and(List::changed)
            || self.images.as_ref().is_some_and(Images::changed)
    }

    /// The document as JSON text: the original text, with the arrays that changed
    /// rebuilt from their kept items.
    pub fn to_json(&self) -> String {
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        for list in [&self.plain, &self.jobs].into_iter().flatten() {
            if list.changed() {
                edits.push((list.span.clone(), list.render(self.text)));
            }
        }
        if let Some(images) = self.images.as_ref().filter(|images| images.changed()) {
            edits.push((images.span.clone(), images.render(self.text)));
        }
        splice(self.text, edits)
    }
}

impl Images<'_> {
    fn changed(&self) -> bool {
        self.images
            .iter()
            .any(|image| !image.keep || image.objects.as_ref().is_some_and(List::changed))
    }

    fn render(&self, container: &str) -> String {
        let images = List {
            span: self.span.clone(),
            items: self
                .images
                .iter()
                .map(|image| Item {
                    raw: image.raw,
                    probe: None,
                    keep: image.keep,
                    rewritten: image
                        .objects
                        .as_ref()
                        .filter(|objects| objects.changed())
                        .map(|objects| splice(image.raw, vec![(objects.span.clone(), objects.render(image.raw))])),
                })
                .collect(),
        };
        images.render(container)
    }
}

/// `imageResults[]`, with each image's `objects` read as a list.
fn read_images<'a>(text: &'a str, raw: &'a str) -> Option<Images<'a>> {
    let images = array_items(raw)?
        .into_iter()
        .map(|(image, probe)| {
            let objects = probe.and_then(|probe| probe.objects).and_then(|objects| {
                let objects_text = &image[objects];
                Some(List::new(ScannedList {
                    span: span(image, objects_text),
                    items: array_items(objects_text)?,
                }))
            });
            Image {
                raw: image,
                objects,
                keep: true,
            }
        })
        .collect();
    Some(Images {
        span: span(text, raw),
        images,
    })
}

/// `text` with each range replaced; ranges must not overlap.
fn splice(text: &str, mut edits: Vec<(Range<usize>, String)>) -> String {
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests;

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
//! Everything else in the document is left exactly as it was.

use serde_json::{Map, Value};

use crate::Error;

/// One prediction, as read from a [`Document`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction<'a> {
    /// The class label.
    pub class: &'a str,
    /// The confidence, when the model gives one (semantic segmentation does not).
    pub confidence: Option<f64>,
    /// The mask file this prediction refers to, for segmentation.
    pub mask: Option<&'a str>,
}

/// What [`Document::retain`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retained {
    /// Predictions kept.
    pub kept: usize,
    /// Predictions removed.
    pub removed: usize,
    /// Mask files referred to only by removed predictions.
    pub orphaned_masks: Vec<String>,
}

/// A parsed predictions document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    value: Value,
}

impl Document {
    /// Parses a predictions document. Any JSON object or array is accepted; documents
    /// of no recognised shape simply have no items.
    pub fn parse(json: &str) -> Result<Self, Error> {
        let value: Value = serde_json::from_str(json)
            .map_err(|error| Error::msg(format!("predictions are not valid JSON: {error}")))?;
        Ok(Document { value })
    }

    /// The whole document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The whole document, to change freely.
    pub fn value_mut(&mut self) -> &mut Value {
        &mut self.value
    }

    /// The document as JSON text.
    pub fn to_json(&self) -> String {
        self.value.to_string()
    }

    /// A top-level string or number field, as text (`camera`, `timestamp`, `feedId`).
    pub fn field(&self, name: &str) -> Option<String> {
        match self.value.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The predictions, in document order.
    pub fn items(&self) -> Vec<Prediction<'_>> {
        let mut items = Vec::new();
        match &self.value {
            Value::Array(list) => items.extend(list.iter().filter_map(read_plain)),
            Value::Object(doc) => {
                if let Some(Value::Array(list)) = doc.get("predictions") {
                    items.extend(list.iter().filter_map(read_plain));
                } else if let Some(Value::Array(images)) = doc.get("imageResults") {
                    for image in images {
                        if let Some(Value::Array(objects)) = image.get("objects") {
                            items.extend(objects.iter().filter_map(read_plain));
                        }
                    }
                } else if let Some(Value::Array(jobs)) = doc.get("jobResults") {
                    items.extend(jobs.iter().filter_map(read_job));
                }
            }
            _ => {}
        }
        items
    }

    /// Keeps only the predictions for which `keep` is true, in every list of the
    /// document. In batch results, an image left with no objects is removed too.
    pub fn retain(&mut self, mut keep: impl FnMut(&Prediction<'_>) -> bool) -> Retained {
        let mut retained = Retained::default();
        let mut kept_masks = Vec::new();
        let mut removed_masks = Vec::new();
        let mut tally = |prediction: &Prediction<'_>, counted: bool| {
            let keep = keep(prediction);
            if counted {
                if keep {
                    retained.kept += 1;
                } else {
                    retained.removed += 1;
                }
            }
            if let Some(mask) = prediction.mask {
                if keep {
                    kept_masks.push(mask.to_string());
                } else {
                    removed_masks.push(mask.to_string());
                }
            }
            keep
        };
        match &mut self.value {
            Value::Array(list) => retain_plain(list, &mut tally, true),
            Value::Object(doc) => {
                if let Some(Value::Array(list)) = doc.get_mut("predictions") {
                    retain_plain(list, &mut tally, true);
                } else {
                    retain_job(doc, &mut tally);
                }
            }
            _ => {}
        }
        for mask in removed_masks {
            if !kept_masks.contains(&mask) && !retained.orphaned_masks.contains(&mask) {
                retained.orphaned_masks.push(mask);
            }
        }
        retained
    }
}

/// Batch job results: `imageResults` is the counted list when present.
fn retain_job(doc: &mut Map<String, Value>, tally: &mut impl FnMut(&Prediction<'_>, bool) -> bool) {
    let images_counted = matches!(doc.get("imageResults"), Some(Value::Array(_)));
    if let Some(Value::Array(jobs)) = doc.get_mut("jobResults") {
        jobs.retain(|job| match read_job(job) {
            Some(prediction) => tally(&prediction, !images_counted),
            None => true,
        });
    }
    if let Some(Value::Array(images)) = doc.get_mut("imageResults") {
        images.retain_mut(|image| match image.get_mut("objects") {
            Some(Value::Array(objects)) if !objects.is_empty() => {
                retain_plain(objects, tally, true);
                !objects.is_empty()
            }
            _ => true,
        });
    }
}

fn retain_plain(
    list: &mut Vec<Value>,
    tally: &mut impl FnMut(&Prediction<'_>, bool) -> bool,
    counted: bool,
) {
    list.retain(|item| match read_plain(item) {
        Some(prediction) => tally(&prediction, counted),
        None => true,
    });
}

fn read_plain(item: &Value) -> Option<Prediction<'_>> {
    let class = item.get("class").or_else(|| item.get("label"))?.as_str()?;
    let confidence = item
        .get("confidence")
        .or_else(|| item.get("score"))
        .and_then(Value::as_f64);
    let mask = item.get("mask").and_then(Value::as_str);
    Some(Prediction {
        class,
        confidence,
        mask,
    })
}

fn read_job(job: &Value) -> Option<Prediction<'_>> {
    let class = job.get("class")?.as_str()?;
    let confidence = job
        .get("confidence")
        .or_else(|| job.get("image").and_then(|image| image.get("confidence")))
        .and_then(Value::as_f64);
    Some(Prediction {
        class,
        confidence,
        mask: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_per_image_predictions_with_and_without_confidence() {
        let doc = Document::parse(
            r#"{"predictions":[{"class":"person","confidence":0.9,"mask":"mask_0000.png"},{"label":"road"}]}"#,
        )
        .unwrap();
        assert_eq!(
            doc.items(),
            vec![
                Prediction {
                    class: "person",
                    confidence: Some(0.9),
                    mask: Some("mask_0000.png")
                },
                Prediction {
                    class: "road",
                    confidence: None,
                    mask: None
                },
            ]
        );
    }

    #[test]
    fn reads_job_results_from_image_results_when_present() {
        let doc = Document::parse(
            r#"{"jobResults":[{"class":"car","image":{"confidence":0.5}}],
                "imageResults":[{"objects":[{"class":"car","confidence":0.5},{"class":"dog","confidence":0.4}]}]}"#,
        )
        .unwrap();
        let classes: Vec<_> = doc.items().iter().map(|p| p.class).collect();
        assert_eq!(classes, ["car", "dog"]);
        let jobs_only =
            Document::parse(r#"{"jobResults":[{"class":"car","image":{"confidence":0.5}}]}"#)
                .unwrap();
        assert_eq!(jobs_only.items()[0].confidence, Some(0.5));
    }

    #[test]
    fn retain_narrows_both_job_lists_and_drops_emptied_images() {
        let mut doc = Document::parse(
            r#"{"jobResults":[{"class":"car","image":{"confidence":0.9}},{"class":"person","image":{"confidence":0.9}}],
                "imageResults":[{"id":"a","objects":[{"class":"car","confidence":0.9}]},{"id":"b","objects":[{"class":"person","confidence":0.9}]}]}"#,
        )
        .unwrap();
        let retained = doc.retain(|p| p.class == "person");
        assert_eq!((retained.kept, retained.removed), (1, 1));
        assert_eq!(
            doc.to_json(),
            r#"{"jobResults":[{"class":"person","image":{"confidence":0.9}}],"imageResults":[{"id":"b","objects":[{"class":"person","confidence":0.9}]}]}"#
        );
    }

    #[test]
    fn retain_reports_masks_only_removed_predictions_used() {
        let mut doc = Document::parse(
            r#"[{"class":"a","mask":"m0"},{"class":"b","mask":"m1"},{"class":"a","mask":"m1"}]"#,
        )
        .unwrap();
        let retained = doc.retain(|p| p.class == "a");
        assert_eq!(retained.orphaned_masks, Vec::<String>::new());
        let retained = doc.retain(|p| p.mask == Some("m1"));
        assert_eq!(retained.orphaned_masks, vec!["m0".to_string()]);
    }

    #[test]
    fn documents_of_unknown_shape_have_no_items() {
        let mut doc = Document::parse(r#"{"text":"hello"}"#).unwrap();
        assert!(doc.items().is_empty());
        assert_eq!(doc.retain(|_| false), Retained::default());
        assert!(Document::parse("not json").is_err());
    }
}

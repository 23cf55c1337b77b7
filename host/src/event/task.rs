//! Which kind of model produced an event's predictions.

use std::fmt;

use serde::Deserializer;
use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The model's task, as the `weir:filter` contract names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// Boxes, each with a class and a confidence.
    ObjectDetection,
    /// One class for the whole image.
    Classification,
    /// Several labels for the whole image.
    MultilabelClassification,
    /// One mask per instance.
    InstanceSegmentation,
    /// One mask per class.
    SemanticSegmentation,
    /// Unknown.
    Other,
}

impl TaskKind {
    /// Every kind, in contract order.
    pub const ALL: [TaskKind; 6] = [
        TaskKind::ObjectDetection,
        TaskKind::Classification,
        TaskKind::MultilabelClassification,
        TaskKind::InstanceSegmentation,
        TaskKind::SemanticSegmentation,
        TaskKind::Other,
    ];

    /// The kebab-case name (`object-detection`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::ObjectDetection => "object-detection",
            TaskKind::Classification => "classification",
            TaskKind::MultilabelClassification => "multilabel-classification",
            TaskKind::InstanceSegmentation => "instance-segmentation",
            TaskKind::SemanticSegmentation => "semantic-segmentation",
            TaskKind::Other => "other",
        }
    }

    /// Parses a task name, tolerating `_`, spaces and case (`Object_Detection`).
    pub fn parse(name: &str) -> Option<TaskKind> {
        let normal: String = name
            .trim()
            .chars()
            .map(|c| {
                if c == '_' || c == ' ' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        let normal = normal.strip_prefix("image-").unwrap_or(&normal);
        TaskKind::ALL.into_iter().find(|kind| kind.as_str() == normal)
    }

    /// Recognises the task of a predictions document: its `task` field when it names
    /// one, otherwise its shape: masks with confidences are instance segmentation,
    /// masks alone semantic segmentation, boxes object detection, one confident label
    /// classification and several multilabel classification.
    pub fn recognise(predictions: &str) -> TaskKind {
        inspect(predictions).map_or(TaskKind::Other, |shape| shape.task)
    }
}

/// What the top of a predictions document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// An object (the usual case).
    Object,
    /// An array of predictions.
    Array,
    /// A string, number, boolean or null.
    Scalar,
}

/// What one pass over a predictions document found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The top.
    pub root: Root,
    /// The recognised task.
    pub task: TaskKind,
}

/// Validates a predictions document and recognises its task in one pass, without
/// building the document: ingest does this for every event.
pub fn inspect(predictions: &str) -> Result<Shape, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(predictions);
    let shape = deserializer.deserialize_any(RootVisitor)?;
    deserializer.end()?;
    Ok(shape)
}

#[derive(Default)]
struct Items {
    count: usize,
    all_classified: bool,
    mask: bool,
    confidence: bool,
    bbox: bool,
}

struct RootVisitor;

impl<'de> Visitor<'de> for RootVisitor {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let mut named = None;
        let mut items = None;
        while let Some(key) = map.next_key::<Known>()? {
            match key {
                Known::Task => {
                    let value: Value = map.next_value()?;
                    named = value.as_str().and_then(TaskKind::parse);
                }
                Known::Predictions => items = Some(map.next_value::<ItemsSeed>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let task = named.unwrap_or(match items {
            Some(items) if items.count > 0 && items.all_classified => {
                if items.mask {
                    if items.confidence {
                        TaskKind::InstanceSegmentation
                    } else {
                        TaskKind::SemanticSegmentation
                    }
                } else if items.bbox {
                    TaskKind::ObjectDetection
                } else if items.count == 1 {
                    TaskKind::Classification
                } else {
                    TaskKind::MultilabelClassification
                }
            }
            _ => TaskKind::Other,
        });
        Ok(Shape {
            root: Root::Object,
            task,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Shape {
            root: Root::Array,
            task: TaskKind::Other,
        })
    }

    fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
        Ok(scalar())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
        Ok(scalar())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
        Ok(scalar())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
        Ok(scalar())
    }
    fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
        Ok(scalar())
    }
    fn visit_unit<E>(self) -> Result<Shape, E> {
        Ok(scalar())
    }
}

fn scalar() -> Shape {
    Shape {
        root: Root::Scalar,
        task: TaskKind::Other,
    }
}

/// The keys recognition looks at, read without allocating.
enum Known {
    Task,
    Predictions,
    Class,
    Mask,
    Confidence,
    Bbox,
    Other,
}

impl<'de> serde::Deserialize<'de> for Known {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Known;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, key: &str) -> Result<Known, E> {
                Ok(match key {
                    "task" => Known::Task,
                    "predictions" => Known::Predictions,
                    "class" => Known::Class,
                    "mask" => Known::Mask,
                    "confidence" => Known::Confidence,
                    "bbox" => Known::Bbox,
                    _ => Known::Other,
                })
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The `predictions` array: which fields its items have.
struct ItemsSeed(Items);

impl<'de> serde::Deserialize<'de> for ItemsSeed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemsVisitor)
    }
}

struct ItemsVisitor;

impl<'de> Visitor<'de> for ItemsVisitor {
    type Value = ItemsSeed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemsSeed, A::Error> {
        let mut items = Items {
            all_classified: true,
            ..Items::default()
        };
        while let Some(item) = seq.next_element::<ItemFields>()? {
            items.count += 1;
            items.all_classified &= item.class;
            items.mask |= item.mask;
            items.confidence |= item.confidence;
            items.bbox |= item.bbox;
        }
        Ok(ItemsSeed(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemsSeed, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ItemsSeed(Items::default()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<ItemsSeed, E> {
        Ok(ItemsSeed(Items::default()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<ItemsSeed, E> {
        Ok(ItemsSeed(Items::default()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<ItemsSeed, E> {
        Ok(ItemsSeed(Items::default()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<ItemsSeed, E> {
        Ok(ItemsSeed(Items::default()))
    }
    fn visit_str<E>(self, _: &str) -> Result<ItemsSeed, E> {
        Ok(ItemsSeed(Items::default()))
    }
    fn visit_unit<E>(self) -> Result<ItemsSeed, E> {
        Ok(ItemsSeed(Items::default()))
    }
}

/// Which of the telling fields one prediction has.
#[derive(Default)]
struct ItemFields {
    class: bool,
    mask: bool,
    confidence: bool,
    bbox: bool,
}

impl<'de> serde::Deserialize<'de> for ItemFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = ItemFields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemFields, A::Error> {
                let mut fields = ItemFields::default();
                while let Some(key) = map.next_key::<Known>()? {
                    map.next_value::<IgnoredAny>()?;
                    match key {
                        Known::Class => fields.class = true,
                        Known::Mask => fields.mask = true,
                        Known::Confidence => fields.confidence = true,
                        Known::Bbox => fields.bbox = true,
                        _ => {}
                    }
                }
                Ok(fields)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemFields, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ItemFields::default())
            }
            fn visit_bool<E>(self, _: bool) -> Result<ItemFields, E> {
                Ok(ItemFields::default())
            }
            fn visit_i64<E>(self, _: i64) -> Result<ItemFields, E> {
                Ok(ItemFields::default())
            }
            fn visit_u64<E>(self, _: u64) -> Result<ItemFields, E> {
                Ok(ItemFields::default())
            }
            fn visit_f64<E>(self, _: f64) -> Result<ItemFields, E> {
                Ok(ItemFields::default())
            }
            fn visit_str<E>(self, _: &str) -> Result<ItemFields, E> {
                Ok(ItemFields::default())
            }
            fn visit_unit<E>(self) -> Result<ItemFields, E> {
                Ok(ItemFields::default())
            }
        }
        deserializer.deserialize_any(FieldsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::TaskKind::{self, *};

    #[test]
    fn recognises_tasks_from_field_or_shape() {
        let cases = [
            (r#"{"task":"Object_Detection","predictions":[]}"#, ObjectDetection),
            (r#"{"task":"image-classification"}"#, Classification),
            (
                r#"{"predictions":[{"class":"a","confidence":1,"bbox":{}}]}"#,
                ObjectDetection,
            ),
            (r#"{"predictions":[{"class":"a","confidence":1}]}"#, Classification),
            (
                r#"{"predictions":[{"class":"a","confidence":1},{"class":"b","confidence":1}]}"#,
                MultilabelClassification,
            ),
            (
                r#"{"predictions":[{"class":"a","confidence":1,"mask":"m"}]}"#,
                InstanceSegmentation,
            ),
            (r#"{"predictions":[{"class":"a","mask":"m"}]}"#, SemanticSegmentation),
            (r#"{"predictions":[]}"#, Other),
            (r#"{"predictions":[{"x":1}]}"#, Other),
            (r#"{"jobResults":[]}"#, Other),
            ("not json", Other),
            (r#"{"task":"weather"}"#, Other),
            (
                r#"{"task":"weather","predictions":[{"class":"a","bbox":{}}]}"#,
                ObjectDetection,
            ),
            (r#"[{"class":"a","bbox":{}}]"#, Other),
        ];
        for (doc, expected) in cases {
            assert_eq!(TaskKind::recognise(doc), expected, "{doc}");
        }
    }

    #[test]
    fn inspect_validates_and_tells_the_root() {
        use super::{Root, inspect};
        assert_eq!(inspect("[1,2]").unwrap().root, Root::Array);
        assert_eq!(inspect(r#"{"a":{"b":[null]}}"#).unwrap().root, Root::Object);
        assert_eq!(inspect("42").unwrap().root, Root::Scalar);
        for broken in ["{", r#"{"predictions":[{"class":}]}"#, "[1,]", "{} x", ""] {
            assert!(inspect(broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn recognises_every_fixture() {
        let fixtures = [
            (
                include_str!("../../../tests/fixtures/object-detection.json"),
                ObjectDetection,
            ),
            (
                include_str!("../../../tests/fixtures/classification.json"),
                Classification,
            ),
            (
                include_str!("../../../tests/fixtures/multilabel-classification.json"),
                MultilabelClassification,
            ),
            (
                include_str!("../../../tests/fixtures/instance-segmentation.json"),
                InstanceSegmentation,
            ),
            (
                include_str!("../../../tests/fixtures/semantic-segmentation.json"),
                SemanticSegmentation,
            ),
            (include_str!("../../../tests/fixtures/job-results.json"), Other),
        ];
        for (doc, expected) in fixtures {
            assert_eq!(TaskKind::recognise(doc), expected);
        }
    }
}

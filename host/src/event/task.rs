//! Which kind of model produced an event's predictions.

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
        match serde_json::from_str::<Value>(predictions) {
            Ok(doc) => TaskKind::recognise_value(&doc),
            Err(_) => TaskKind::Other,
        }
    }

    /// [`TaskKind::recognise`] on a parsed document.
    pub fn recognise_value(doc: &Value) -> TaskKind {
        if let Some(kind) = doc.get("task").and_then(Value::as_str).and_then(TaskKind::parse) {
            return kind;
        }
        let Some(items) = doc.get("predictions").and_then(Value::as_array) else {
            return TaskKind::Other;
        };
        let has = |key: &str| items.iter().any(|item| item.get(key).is_some());
        let classified = items.iter().all(|item| item.get("class").is_some());
        if items.is_empty() || !classified {
            TaskKind::Other
        } else if has("mask") {
            if has("confidence") {
                TaskKind::InstanceSegmentation
            } else {
                TaskKind::SemanticSegmentation
            }
        } else if has("bbox") {
            TaskKind::ObjectDetection
        } else if items.len() == 1 {
            TaskKind::Classification
        } else {
            TaskKind::MultilabelClassification
        }
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
        ];
        for (doc, expected) in cases {
            assert_eq!(TaskKind::recognise(doc), expected, "{doc}");
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

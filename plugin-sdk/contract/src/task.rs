//! The model's task: an open vocabulary with well-known names.
//!
//! The contract names the task as a string rather than a closed list, so that a new
//! kind of model (pose estimation, OCR...) is a new value, not a breaking change to
//! every filter built. The well-known names are the five task types of the camera
//! inference platforms, and [`Task::OTHER`] when nothing tells.

use std::borrow::Cow;
use std::fmt;

/// Longest task name accepted.
pub const MAX_TASK_LEN: usize = 64;

/// The kind of model that produced an event's predictions.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Task(Cow<'static, str>);

/// Why a name is not a task name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a task name: use 1 to {MAX_TASK_LEN} letters, digits and dashes, such as object-detection, \
     classification, multilabel-classification, instance-segmentation or semantic-segmentation"
)]
pub struct InvalidTask(pub String);

impl Task {
    /// Boxes, each with a class and a confidence.
    pub const OBJECT_DETECTION: Task = Task(Cow::Borrowed("object-detection"));
    /// One class for the whole image.
    pub const CLASSIFICATION: Task = Task(Cow::Borrowed("classification"));
    /// Several labels for the whole image.
    pub const MULTILABEL_CLASSIFICATION: Task = Task(Cow::Borrowed("multilabel-classification"));
    /// One mask per instance.
    pub const INSTANCE_SEGMENTATION: Task = Task(Cow::Borrowed("instance-segmentation"));
    /// One mask per class.
    pub const SEMANTIC_SEGMENTATION: Task = Task(Cow::Borrowed("semantic-segmentation"));
    /// Nothing tells.
    pub const OTHER: Task = Task(Cow::Borrowed("other"));

    /// The well-known tasks, in the contract's order.
    pub const WELL_KNOWN: [Task; 6] = [
        Task::OBJECT_DETECTION,
        Task::CLASSIFICATION,
        Task::MULTILABEL_CLASSIFICATION,
        Task::INSTANCE_SEGMENTATION,
        Task::SEMANTIC_SEGMENTATION,
        Task::OTHER,
    ];

    /// Reads a task name as senders write it: case, `_` and spaces are forgiven
    /// (`Object_Detection`), an `image-` prefix of a well-known name is dropped
    /// (`image-classification`), and `detection` and `multi-label-classification`
    /// are taken for the well-known names they mean. Any other name of letters,
    /// digits and dashes is a task of its own.
    pub fn parse(name: &str) -> Result<Task, InvalidTask> {
        // Most senders write a well-known name as it is: no normalising needed.
        if let Some(task) = Task::WELL_KNOWN.into_iter().find(|task| task.as_str() == name) {
            return Ok(task);
        }
        let normal: String = name
            .trim()
            .chars()
            .map(|c| match c {
                '_' | ' ' => '-',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        let valid = !normal.is_empty()
            && normal.len() <= MAX_TASK_LEN
            && normal
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(InvalidTask(name.to_string()));
        }
        let known = normal.strip_prefix("image-").unwrap_or(&normal);
        let known = match known {
            "detection" => "object-detection",
            "multi-label-classification" => "multilabel-classification",
            other => other,
        };
        if let Some(task) = Task::WELL_KNOWN.into_iter().find(|task| task.as_str() == known) {
            return Ok(task);
        }
        Ok(Task(Cow::Owned(normal)))
    }

    /// The name (`object-detection`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is one of [`Task::WELL_KNOWN`].
    pub fn is_well_known(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Task({})", self.0)
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Task {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Task {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Task::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_as_senders_write_them() {
        let cases = [
            ("Object_Detection", "object-detection", true),
            ("image-classification", "classification", true),
            ("detection", "object-detection", true),
            ("multi-label classification", "multilabel-classification", true),
            ("pose-estimation", "pose-estimation", false),
            ("OCR", "ocr", false),
        ];
        for (name, expected, well_known) in cases {
            let task = Task::parse(name).unwrap();
            assert_eq!((task.as_str(), task.is_well_known()), (expected, well_known), "{name}");
        }
        for bad in ["", "a/b", "é", &"x".repeat(65)] {
            assert!(Task::parse(bad).is_err(), "{bad}");
        }
    }
}

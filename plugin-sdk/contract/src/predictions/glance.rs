//! A look at a whole predictions document that reads none of its predictions: whether
//! it is JSON, its root, and the task it names.
//!
//! Ingest must refuse what is not JSON and know an event's task (deliveries carry it),
//! but only filters read the predictions themselves. A route without filters has the
//! document glanced at, and its parse ([`Document::parse`]: every prediction's class,
//! confidence and box) left to whatever reads it first. The glance still checks every
//! byte against JSON's grammar, which is most of what the parse costs: it saves a
//! tenth of the parse (docs/BENCHMARKS.md), and all of what a faster grammar check
//! would leave.
//!
//! A glance says yes only where the parse is sure to succeed and to read the same
//! task: the two read keys alike and check every other string against JSON's grammar
//! alike, but the parse also decodes some values (a prediction's `class`, the `task`),
//! and refuses half a surrogate pair there. A glance that skipped a string with an
//! escape in it answers `None`, and so does one that met anything that is not JSON,
//! or a root that is not an object or an array: the parse then decides, and says
//! why it refuses.
//!
//! [`Document::parse`]: super::Document::parse

use std::borrow::Cow;

use super::Root;
use super::read::Reader;
use super::scan::string_value;
use crate::task::Task;

/// What a glance found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glance {
    /// An object or an array (never [`Root::Scalar`]: a glance leaves that to the
    /// parse, which refuses it).
    pub root: Root,
    /// The task the document names in a top-level `task` field, when that is a valid
    /// task name ([`Task::parse`]); `None` when it is not (the parse then recognises the task from
    /// the predictions: [`Document::task`](super::Document::task)).
    pub task: Option<Task>,
}

/// Glances at `text`: `Some` only when [`Document::parse`](super::Document::parse)
/// would read it, as an object or an array, and name the same task (see the module's
/// docs); `None` leaves it to the parse.
pub fn glance(text: &str) -> Option<Glance> {
    let mut reader = Reader::new(text);
    let mut task = None;
    let root = match reader.peek()? {
        b'{' => {
            let mut named = None;
            reader
                .entries(|reader, key| {
                    // The first `task` (the parse reads the first of equal keys).
                    if named.is_none() && key == Cow::Borrowed("task") {
                        let start = reader.at();
                        reader.skip()?;
                        named = Some(reader.since(start));
                        return Ok(());
                    }
                    reader.skip()
                })
                .ok()?;
            task = named.and_then(string_value).and_then(|name| Task::parse(&name).ok());
            Root::Object
        }
        b'[' => {
            reader.skip().ok()?;
            Root::Array
        }
        _ => return None,
    };
    if reader.end().is_err() || reader.skipped_escapes() {
        return None;
    }
    Some(Glance { root, task })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::predictions::Document;
    use crate::predictions::read::tests::{json, replaced};

    #[test]
    fn a_plain_detection_document_is_glanced_at_with_its_named_task() {
        let text = r#"{"camera":"dock-3","task":"object-detection","predictions":[{"class":"person","confidence":0.97,"bbox":{"x":1,"y":2,"width":3,"height":4}}]}"#;
        assert_eq!(
            glance(text),
            Some(Glance {
                root: Root::Object,
                task: Some(Task::OBJECT_DETECTION)
            })
        );
        // Without a task named, the predictions say it: the glance leaves that open.
        let unnamed = r#"[{"class":"person","confidence":0.97}]"#;
        assert_eq!(
            glance(unnamed),
            Some(Glance {
                root: Root::Array,
                task: None
            })
        );
        // Any valid name is a task; one that is not, or not a string, is no task: the
        // parse recognises one from the predictions.
        assert_eq!(
            glance(r#"{"task":"horoscope"}"#).unwrap().task,
            Task::parse("horoscope").ok()
        );
        assert_eq!(glance(r#"{"task":"two words!"}"#).unwrap().task, None);
        assert_eq!(glance(r#"{"task":7}"#).unwrap().task, None);
        // The first of two `task` fields, as the parse reads.
        assert_eq!(
            glance(r#"{"task":"classification","task":"object-detection"}"#)
                .unwrap()
                .task,
            Some(Task::CLASSIFICATION)
        );
    }

    #[test]
    fn what_only_the_parse_can_judge_is_left_to_it() {
        // Not JSON, a bare value, trailing text.
        for text in ["", "{", r#"{"a":}"#, "12", r#""text""#, "null", "{} x", "[1,]"] {
            assert_eq!(glance(text), None, "{text}");
        }
        // Half a surrogate pair in a class: the parse refuses it, the glance only skips it.
        let half = r#"{"task":"classification","predictions":[{"class":"\ud800"}]}"#;
        assert!(Document::parse(half).is_err());
        assert_eq!(glance(half), None);
        // Any escape in a skipped string, then, even a harmless one.
        assert_eq!(glance(r#"{"camera":"d\u00f6ck"}"#), None);
        // Escapes in keys are read alike by both: the glance keeps going.
        assert_eq!(
            glance(r#"{"t\u0061sk":"classification"}"#).unwrap().task,
            Some(Task::CLASSIFICATION)
        );
    }

    /// A document that may name a task, of any shape around it.
    fn document() -> impl Strategy<Value = Value> {
        let task = prop_oneof![
            Just(Value::from("object-detection")),
            Just(Value::from("classification")),
            Just(Value::from("no-such-task")),
            Just(Value::from("not a task!")),
            json(),
        ];
        (
            proptest::option::of(task),
            proptest::collection::vec(("[a-z]{1,8}", json()), 0..4),
            proptest::collection::vec(prop_oneof![json(), prediction()], 0..4),
            any::<bool>(),
        )
            .prop_map(|(task, fields, predictions, bare)| {
                if bare {
                    return Value::Array(predictions);
                }
                let mut object = serde_json::Map::new();
                for (key, value) in fields {
                    object.insert(key, value);
                }
                if let Some(task) = task {
                    object.insert("task".into(), task);
                }
                object.insert("predictions".into(), Value::Array(predictions));
                Value::Object(object)
            })
    }

    /// A prediction whose class is sometimes `@`: where the test writes half a
    /// surrogate pair, which only decoding refuses.
    fn prediction() -> impl Strategy<Value = Value> {
        ("[a-z@]{0,3}", 0.0..1.0f64)
            .prop_map(|(class, confidence)| serde_json::json!({"class": class, "confidence": confidence}))
    }

    proptest! {
        #[test]
        fn a_glance_agrees_with_the_parse(
            value in document(),
            pretty in any::<bool>(),
            cut in any::<prop::sample::Index>(),
            piece in prop::sample::select(&["", "\\ud800", "\"", ",", "}", "x", " "][..]),
        ) {
            let written = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }.unwrap();
            let written = written.replace('@', "\\ud800");
            // Sometimes broken: a piece put in at a character boundary.
            let text = replaced(&written, cut, 0, piece);
            if let Some(seen) = glance(&text) {
                let document = Document::parse(&text);
                prop_assert!(document.is_ok(), "{:?} glanced at, but the parse says {:?}", text, document.err());
                let document = document.unwrap();
                prop_assert_eq!(seen.root, document.root());
                if let Some(task) = seen.task {
                    prop_assert_eq!(task, document.task());
                }
            }
            // A document without escapes is glanced at whenever it parses.
            if !text.contains('\\') && Document::parse(&text).is_ok_and(|document| document.root() != Root::Scalar) {
                prop_assert!(glance(&text).is_some(), "{:?}", text);
            }
        }
    }
}

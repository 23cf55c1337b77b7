//! A filter's verdict on an event, and applying its changes.
//!
//! Changes come from guest code, so [`Event::apply`] checks each one against the event
//! before producing the new version: a filter cannot smuggle invalid JSON downstream,
//! remove an attachment that is not there, or route an event to a destination the
//! route does not deliver to.

use weir_plugin_sdk::predictions::Document;

use super::{Event, ParsedEvent};

/// What a filter decided about one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Pass the event on unchanged.
    Keep,
    /// Stop the event, for this reason.
    Drop(String),
    /// Pass the event on with changes.
    Modify(Changes),
}

/// The changes of a [`Verdict::Modify`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Replacement predictions document (JSON text).
    pub predictions: Option<String>,
    /// Indices of the listed predictions to keep (the others are removed).
    pub keep_predictions: Option<Vec<u32>>,
    /// Attachments to remove, by name.
    pub remove_attachments: Vec<String>,
    /// Metadata entries to add or overwrite.
    pub set_metadata: Vec<(String, String)>,
    /// Metadata keys to remove.
    pub remove_metadata: Vec<String>,
    /// The destinations to narrow the event to.
    pub destinations: Option<Vec<String>>,
}

/// Why a filter's changes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidChange {
    /// The replacement predictions are not JSON.
    #[error("returned predictions that are not valid JSON ({0})")]
    PredictionsNotJson(String),
    /// Both a new document and predictions to keep were given.
    #[error("returned both new predictions and predictions to keep; return one")]
    Conflicting,
    /// A prediction index is past the end of the list.
    #[error("kept prediction {index}, but the event lists {count}")]
    NoSuchPrediction {
        /// The index given.
        index: u32,
        /// How many there are.
        count: usize,
    },
    /// An attachment to remove does not exist.
    #[error("removed attachment {0:?}, which the event does not have")]
    NoSuchAttachment(String),
    /// A destination is not one the event is bound for.
    #[error("routed the event to {name:?}, which is not one of its destinations ({current})")]
    NoSuchDestination {
        /// The destination named.
        name: String,
        /// The event's destinations, comma-separated.
        current: String,
    },
}

impl Event {
    /// The event with `changes` applied, or the first change that is invalid. `parsed`,
    /// when given, is this event's predictions as parsed during the filter call: they
    /// are not parsed again.
    pub fn apply(&self, changes: Changes, parsed: Option<&ParsedEvent>) -> Result<Event, InvalidChange> {
        // The predictions are set last: copied only when the filter did not replace them.
        let mut event = Event {
            id: self.id.clone(),
            route: self.route.clone(),
            task: self.task,
            metadata: self.metadata.clone(),
            predictions: String::new(),
            attachments: self.attachments.clone(),
            destinations: self.destinations.clone(),
        };
        let mut predictions = None;
        if let Some(keep) = changes.keep_predictions {
            if changes.predictions.is_some() {
                return Err(InvalidChange::Conflicting);
            }
            let cached = parsed
                .filter(|parsed| std::ptr::eq(parsed.event().predictions.as_str(), self.predictions.as_str()))
                .and_then(ParsedEvent::document)
                .cloned();
            let mut doc = match cached {
                Some(doc) => doc,
                None => {
                    Document::parse(&self.predictions).map_err(|e| InvalidChange::PredictionsNotJson(e.to_string()))?
                }
            };
            let count = doc.listed().len();
            doc.retain_indices(&keep)
                .map_err(|index| InvalidChange::NoSuchPrediction { index, count })?;
            predictions = Some(doc.to_json());
        }
        if let Some(replaced) = changes.predictions {
            if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&replaced) {
                return Err(InvalidChange::PredictionsNotJson(error.to_string()));
            }
            predictions = Some(replaced);
        }
        event.predictions = predictions.unwrap_or_else(|| self.predictions.clone());
        for name in changes.remove_attachments {
            let Some(index) = event.attachments.iter().position(|a| a.name == name) else {
                return Err(InvalidChange::NoSuchAttachment(name));
            };
            event.attachments.remove(index);
        }
        for key in changes.remove_metadata {
            event.metadata.retain(|(k, _)| *k != key);
        }
        for (key, value) in changes.set_metadata {
            event.set_metadata(key, value);
        }
        if let Some(mut destinations) = changes.destinations {
            if let Some(name) = destinations.iter().find(|d| !event.destinations.contains(d)) {
                return Err(InvalidChange::NoSuchDestination {
                    name: name.clone(),
                    current: event.destinations.join(", "),
                });
            }
            destinations.dedup();
            // Keep the route's order, so dispatch order does not depend on the filter.
            event.destinations.retain(|d| destinations.contains(d));
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::event::Attachment;

    fn event() -> Event {
        let mut event = Event::new("e1", "r", r#"{"predictions":[]}"#);
        event.attachments.push(Attachment {
            name: "mask_0000.png".into(),
            content_type: "image/png".into(),
            data: Bytes::from_static(b"png"),
        });
        event.metadata.push(("camera".into(), "dock-3".into()));
        event.destinations = vec!["a".into(), "b".into(), "c".into()];
        event
    }

    #[test]
    fn applies_every_kind_of_change() {
        let changes = Changes {
            predictions: Some("[]".into()),
            keep_predictions: None,
            remove_attachments: vec!["mask_0000.png".into()],
            set_metadata: vec![("camera".into(), "dock-4".into()), ("k".into(), "v".into())],
            remove_metadata: vec!["nothing".into()],
            destinations: Some(vec!["c".into(), "a".into()]),
        };
        let changed = event().apply(changes, None).unwrap();
        assert_eq!(changed.predictions, "[]");
        assert!(changed.attachments.is_empty());
        assert_eq!(
            changed.metadata,
            [("camera".into(), "dock-4".into()), ("k".into(), "v".into())]
        );
        assert_eq!(changed.destinations, ["a", "c"]);
    }

    #[test]
    fn keeps_listed_predictions_by_index() {
        let mut event = event();
        event.predictions = r#"{"camera":"c","predictions":[{"class":"a"},{"class":"b"},{"class":"c"}]}"#.into();
        let keep = |indices: Vec<u32>| Changes {
            keep_predictions: Some(indices),
            ..Changes::default()
        };
        let changed = event.apply(keep(vec![0, 2]), None).unwrap();
        assert_eq!(
            changed.predictions,
            r#"{"camera":"c","predictions":[{"class":"a"},{"class":"c"}]}"#
        );
        // The document parsed during the call gives the same result; one parsed from
        // another event's text is not used.
        let event = std::sync::Arc::new(event);
        let parsed = ParsedEvent::parse(event.clone());
        let reused = event.apply(keep(vec![0, 2]), Some(&parsed)).unwrap();
        assert_eq!(reused, changed);
        let mut other = (*event).clone();
        other.predictions = r#"[{"class":"x"}]"#.into();
        let stale = ParsedEvent::parse(std::sync::Arc::new(other));
        assert_eq!(event.apply(keep(vec![0, 2]), Some(&stale)).unwrap(), changed);
        let event = (*event).clone();
        assert_eq!(
            event.apply(keep(vec![3]), None).unwrap_err().to_string(),
            "kept prediction 3, but the event lists 3"
        );
        let both = Changes {
            predictions: Some("[]".into()),
            ..keep(vec![0])
        };
        assert_eq!(event.apply(both, None).unwrap_err(), InvalidChange::Conflicting);
    }

    #[test]
    fn refuses_invalid_changes() {
        let cases = [
            (
                Changes {
                    predictions: Some("{".into()),
                    ..Changes::default()
                },
                "returned predictions that are not valid JSON (EOF while parsing an object at line 1 column 1)",
            ),
            (
                Changes {
                    remove_attachments: vec!["image.jpeg".into()],
                    ..Changes::default()
                },
                "removed attachment \"image.jpeg\", which the event does not have",
            ),
            (
                Changes {
                    destinations: Some(vec!["z".into()]),
                    ..Changes::default()
                },
                "routed the event to \"z\", which is not one of its destinations (a, b, c)",
            ),
        ];
        for (changes, message) in cases {
            assert_eq!(event().apply(changes, None).unwrap_err().to_string(), message);
        }
    }
}

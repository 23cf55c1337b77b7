//! An event lent to a filter for one call, with the edits made so far.
//!
//! The one place edits are applied: Weir's component and core-module runtimes and the
//! Rust SDK's test harness all go through [`Working::apply`], so a filter whose tests
//! pass is never refused by Weir for an edit the tests accepted.
//!
//! Edits apply at once, in order, to a copy of the event made on the first edit (the
//! attachments' bytes and, until they change, the predictions are shared with the
//! original); reads see the edited copy.

use std::sync::Arc;

use crate::edit::{Edit, EditError, check_metadata};
use crate::event::{DestinationName, Event, Predictions};
use crate::limits::Limits;

/// An event under edit.
#[derive(Debug, Clone)]
pub struct Working {
    original: Arc<Event>,
    edited: Option<Event>,
    limits: Limits,
}

impl Working {
    /// Lends `event`, with no edits yet.
    pub fn new(event: Arc<Event>, limits: Limits) -> Self {
        Working {
            original: event,
            edited: None,
            limits,
        }
    }

    /// The event as edited so far.
    pub fn event(&self) -> &Event {
        self.edited.as_ref().unwrap_or(&self.original)
    }

    /// Whether any edit was made.
    pub fn is_edited(&self) -> bool {
        self.edited.is_some()
    }

    /// The event as the filter left it: `None` when it made no edit.
    pub fn finish(self) -> Option<Event> {
        self.edited
    }

    /// The event as the filter left it, shared: the original when it made no edit.
    pub fn into_event(self) -> Arc<Event> {
        match self.edited {
            Some(edited) => Arc::new(edited),
            None => self.original,
        }
    }

    fn edited(&mut self) -> &mut Event {
        self.edited.get_or_insert_with(|| (*self.original).clone())
    }

    /// Applies one edit, or refuses it and leaves the event as it was.
    pub fn apply(&mut self, edit: Edit) -> Result<(), EditError> {
        match edit {
            Edit::KeepPredictions(keep) => {
                let predictions = self.event().predictions.clone();
                let Some(document) = predictions.document() else {
                    // Not JSON: nothing is listed, so any index is past the end.
                    return match keep.first() {
                        Some(&index) => Err(EditError::NoSuchPrediction { index, count: 0 }),
                        None => Ok(()),
                    };
                };
                let mut edited = document.clone();
                let retained = edited
                    .retain_indices(&keep)
                    .map_err(|index| EditError::NoSuchPrediction {
                        index,
                        count: document.count(),
                    })?;
                if retained.removed > 0 {
                    self.edited().predictions = Predictions::new(edited.to_json());
                }
                Ok(())
            }
            Edit::SetPredictions(json) => {
                let predictions = Predictions::parse(json).map_err(|error| EditError::InvalidJson(error.0))?;
                self.edited().predictions = predictions;
                Ok(())
            }
            Edit::RemoveAttachment(name) => {
                let Some(index) = self.event().attachments.iter().position(|a| a.name == name) else {
                    return Err(EditError::NoSuchAttachment(name));
                };
                self.edited().attachments.remove(index);
                Ok(())
            }
            Edit::SetMetadata(key, value) => {
                let event = self.event();
                let entries = event.metadata.len() + usize::from(event.metadata_value(&key).is_none());
                check_metadata(&key, &value, entries, &self.limits)?;
                self.edited().set_metadata(key, value);
                Ok(())
            }
            Edit::RemoveMetadata(key) => {
                if self.event().metadata_value(&key).is_some() {
                    self.edited().metadata.retain(|(k, _)| *k != key);
                }
                Ok(())
            }
            Edit::NarrowDestinations(names) => {
                let current = &self.event().destinations;
                if let Some(name) = names.iter().find(|name| !current.iter().any(|d| d == *name)) {
                    return Err(EditError::NoSuchDestination {
                        name: name.clone(),
                        current: current.iter().map(|d| &**d).collect::<Vec<&str>>().join(", "),
                    });
                }
                let kept = |d: &DestinationName| names.iter().any(|name| d == name);
                if !current.iter().all(kept) {
                    // Keep the route's order, so dispatch order does not depend on the filter.
                    self.edited().destinations.retain(kept);
                }
                Ok(())
            }
        }
    }

    /// Applies edits in order, stopping at the first refused one.
    pub fn apply_all(&mut self, edits: impl IntoIterator<Item = Edit>) -> Result<(), EditError> {
        edits.into_iter().try_for_each(|edit| self.apply(edit))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::event::Attachment;

    fn event() -> Arc<Event> {
        let mut event = Event::new(
            "e1",
            "r",
            r#"{"camera":"c","predictions":[{"class":"a"},{"class":"b"},{"class":"c"}]}"#,
        );
        event.attachments.push(Attachment {
            name: "mask_0000.png".into(),
            content_type: "image/png".into(),
            data: Bytes::from_static(b"png"),
        });
        event.metadata.push(("camera".into(), "dock-3".into()));
        event.destinations = vec!["a".into(), "b".into(), "c".into()];
        Arc::new(event)
    }

    fn working() -> Working {
        Working::new(event(), Limits::default())
    }

    #[test]
    fn applies_every_kind_of_edit_in_order_and_reads_see_them() {
        let mut working = working();
        working.apply(Edit::KeepPredictions(vec![0, 2])).unwrap();
        assert_eq!(
            working.event().predictions.as_str(),
            r#"{"camera":"c","predictions":[{"class":"a"},{"class":"c"}]}"#
        );
        // Indices are afresh after an edit: 1 is now "c".
        working.apply(Edit::KeepPredictions(vec![1])).unwrap();
        assert_eq!(
            working.event().predictions.as_str(),
            r#"{"camera":"c","predictions":[{"class":"c"}]}"#
        );
        working.apply(Edit::RemoveAttachment("mask_0000.png".into())).unwrap();
        working
            .apply(Edit::SetMetadata("camera".into(), "dock-4".into()))
            .unwrap();
        working.apply(Edit::SetMetadata("k".into(), "v".into())).unwrap();
        working.apply(Edit::RemoveMetadata("nothing".into())).unwrap();
        working
            .apply(Edit::NarrowDestinations(vec!["c".into(), "a".into()]))
            .unwrap();
        let edited = working.finish().unwrap();
        assert!(edited.attachments.is_empty());
        assert_eq!(
            edited.metadata,
            [("camera".into(), "dock-4".into()), ("k".into(), "v".into())]
        );
        assert_eq!(edited.destinations, ["a", "c"]);
    }

    #[test]
    fn a_refused_edit_changes_nothing_and_says_why() {
        let cases = [
            (
                Edit::KeepPredictions(vec![3]),
                "kept prediction 3, but the event lists 3",
            ),
            (
                Edit::SetPredictions("{".into()),
                "returned predictions that are not valid JSON (EOF while parsing an object at line 1 column 1)",
            ),
            (
                Edit::RemoveAttachment("image.jpeg".into()),
                "removed attachment \"image.jpeg\", which the event does not have",
            ),
            (
                Edit::NarrowDestinations(vec!["z".into()]),
                "routed the event to \"z\", which is not one of its destinations (a, b, c)",
            ),
            (
                Edit::SetMetadata("k".into(), "v".repeat(5000)),
                "the value of metadata \"k\" is 5000 bytes; the limit is 4096",
            ),
        ];
        for (edit, message) in cases {
            let mut working = working();
            assert_eq!(working.apply(edit).unwrap_err().to_string(), message);
            assert!(!working.is_edited());
        }
    }

    #[test]
    fn edits_that_change_nothing_leave_the_event_shared() {
        let original = event();
        let mut working = Working::new(original.clone(), Limits::default());
        working.apply(Edit::KeepPredictions(vec![0, 1, 2])).unwrap();
        working.apply(Edit::RemoveMetadata("absent".into())).unwrap();
        working
            .apply(Edit::NarrowDestinations(vec!["a".into(), "b".into(), "c".into()]))
            .unwrap();
        assert!(Arc::ptr_eq(&working.into_event(), &original));
    }
}

//! Running a filter natively, outside Weir, on an event made up for the test.
//!
//! ```
//! use weir_plugin_sdk::testing::{Harness, TestEvent};
//! # use weir_plugin_sdk::{Error, Event, Filter, Verdict};
//! # struct KeepAll;
//! # impl Filter for KeepAll {
//! #     type Config = serde_json::Value;
//! #     fn new(_: serde_json::Value) -> Result<Self, Error> { Ok(KeepAll) }
//! #     fn filter(&mut self, _: &Event<'_>) -> Result<Verdict, Error> { Ok(Verdict::Keep) }
//! # }
//! let mut harness = Harness::<KeepAll>::new("{}").unwrap();
//! let event = TestEvent::new(r#"{"predictions": []}"#);
//! assert_eq!(harness.filter(&event).unwrap(), Verdict::Keep);
//! ```

use crate::export::build;
use crate::{Attachment, Error, Event, Filter, Task, Verdict};

/// An event built by hand, for running a filter natively.
#[derive(Debug, Clone)]
pub struct TestEvent {
    pub(crate) id: String,
    pub(crate) route: String,
    pub(crate) task: Task,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) predictions: String,
    pub(crate) attachments: Vec<(Attachment, Vec<u8>)>,
    pub(crate) destinations: Vec<String>,
}

impl TestEvent {
    /// An event with these predictions (JSON text), id `test-event`, route `test`,
    /// task [`Task::Other`], no metadata, no attachments and no destinations.
    pub fn new(predictions: impl Into<String>) -> Self {
        TestEvent {
            id: "test-event".into(),
            route: "test".into(),
            task: Task::Other,
            metadata: Vec::new(),
            predictions: predictions.into(),
            attachments: Vec::new(),
            destinations: Vec::new(),
        }
    }

    /// Sets the event id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Sets the route name.
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.route = route.into();
        self
    }

    /// Sets the task.
    pub fn with_task(mut self, task: Task) -> Self {
        self.task = task;
        self
    }

    /// Adds a metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// Adds an attachment.
    pub fn with_attachment(
        mut self,
        name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: impl Into<Vec<u8>>,
    ) -> Self {
        let bytes = bytes.into();
        let attachment = Attachment {
            name: name.into(),
            content_type: content_type.into(),
            size: bytes.len() as u64,
        };
        self.attachments.push((attachment, bytes));
        self
    }

    /// Sets the destinations the event is bound for.
    pub fn with_destinations<I, S>(mut self, destinations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.destinations = destinations.into_iter().map(Into::into).collect();
        self
    }
}

/// A filter built from a config, ready to run on test events one after another, as an
/// instance inside Weir would.
pub struct Harness<F> {
    filter: F,
}

impl<F: Filter> Harness<F> {
    /// Builds the filter from its JSON config, as Weir's `init` does.
    pub fn new(config: &str) -> Result<Self, Error> {
        Ok(Harness {
            filter: build::<F>(config)?,
        })
    }

    /// Runs the filter on one event.
    pub fn filter(&mut self, event: &TestEvent) -> Result<Verdict, Error> {
        self.filter.filter(&Event::test(event))
    }
}

/// Builds the filter from `config` and runs it on one event.
pub fn run<F: Filter>(config: &str, event: &TestEvent) -> Result<Verdict, Error> {
    Harness::<F>::new(config)?.filter(event)
}

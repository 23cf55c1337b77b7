//! Running a filter natively, outside Weir, on an event made up for the test.
//!
//! The harness judges a filter with Weir's own code: edits are checked and applied by
//! the same functions Weir runs (the `weir-contract` crate), the state store is Weir's
//! store, and the output is the event Weir would pass on. A filter whose tests pass is
//! not refused by Weir for the edits those tests made.
//!
//! ```
//! use weir_plugin_sdk::testing::{Harness, Outcome, TestEvent};
//! # use weir_plugin_sdk::{Error, Event, Filter, Verdict};
//! # struct Tag;
//! # impl Filter for Tag {
//! #     type Config = serde_json::Value;
//! #     fn new(_: serde_json::Value) -> Result<Self, Error> { Ok(Tag) }
//! #     fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
//! #         event.set_metadata("seen", "yes")?;
//! #         Ok(Verdict::Keep)
//! #     }
//! # }
//! let mut harness = Harness::<Tag>::new("{}").unwrap();
//! let event = TestEvent::new(r#"{"predictions": []}"#);
//! let Outcome::Kept(out) = harness.filter(&event).unwrap() else { panic!("dropped") };
//! assert_eq!(out.metadata_value("seen"), Some("yes"));
//! ```

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use weir_contract::state::{Store, StoreLimits};
use weir_contract::{Attachment, Event as ContractEvent, Limits, Task, Working};

use crate::export::build;
use crate::{Error, Event, Filter, Verdict};

/// The event type the harness passes on: Weir's own.
pub use weir_contract::Event as OutputEvent;

/// An event built by hand, for running a filter natively.
#[derive(Debug, Clone)]
pub struct TestEvent {
    event: ContractEvent,
}

impl TestEvent {
    /// An event with these predictions (JSON text), id `test-event`, route `test`, the
    /// task Weir would recognise, no metadata, no attachments and no destinations.
    pub fn new(predictions: impl Into<String>) -> Self {
        let predictions: String = predictions.into();
        TestEvent {
            event: ContractEvent::new("test-event", "test", predictions),
        }
    }

    /// Sets the event id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.event.id = id.into();
        self
    }

    /// Sets the route name.
    pub fn with_route(mut self, route: impl Into<String>) -> Self {
        self.event.route = route.into();
        self
    }

    /// Sets the task.
    pub fn with_task(mut self, task: Task) -> Self {
        self.event.task = task;
        self
    }

    /// Adds a metadata entry.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.event.set_metadata(key, value);
        self
    }

    /// Adds an attachment.
    pub fn with_attachment(
        mut self,
        name: impl Into<String>,
        content_type: impl Into<String>,
        bytes: impl Into<Vec<u8>>,
    ) -> Self {
        self.event.attachments.push(Attachment {
            name: name.into(),
            content_type: content_type.into(),
            data: Bytes::from(bytes.into()),
        });
        self
    }

    /// Sets the destinations the event is bound for.
    pub fn with_destinations<I, S>(mut self, destinations: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.event.destinations = destinations.into_iter().map(|d| d.into().into()).collect();
        self
    }

    /// The event as Weir holds it.
    pub fn event(&self) -> &ContractEvent {
        &self.event
    }
}

/// What became of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Passed on: the event as the filter left it (edits applied).
    Kept(OutputEvent),
    /// Stopped, for this reason.
    Dropped(String),
}

impl Outcome {
    /// The event passed on, if it was.
    pub fn kept(self) -> Option<OutputEvent> {
        match self {
            Outcome::Kept(event) => Some(event),
            Outcome::Dropped(_) => None,
        }
    }

    /// The reason, if the event was dropped.
    pub fn dropped(&self) -> Option<&str> {
        match self {
            Outcome::Dropped(reason) => Some(reason),
            Outcome::Kept(_) => None,
        }
    }
}

/// The state store a harness lends its filter, with the harness's clock. (Inside Weir,
/// on wasm32, the state calls go to the host and this store is never read.)
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
struct TestState {
    store: Store,
    /// Milliseconds since the epoch, as the store sees them.
    now: u64,
}

thread_local! {
    /// The store of the harness whose filter is running on this thread, if any.
    static ACTIVE: RefCell<Option<Rc<RefCell<TestState>>>> = const { RefCell::new(None) };
    /// The store used outside any harness (a filter's helper called directly).
    static LOOSE: RefCell<Option<Rc<RefCell<TestState>>>> = const { RefCell::new(None) };
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn wall_clock() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs `f` on the state store of the running harness (or a store of this thread's, on
/// the wall clock, outside any harness).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
pub(crate) fn with_state<T>(f: impl FnOnce(&mut Store, u64) -> T) -> T {
    let state = ACTIVE.with(|active| active.borrow().clone()).unwrap_or_else(|| {
        LOOSE.with(|loose| {
            loose
                .borrow_mut()
                .get_or_insert_with(|| {
                    Rc::new(RefCell::new(TestState {
                        store: Store::new(StoreLimits::default(), false),
                        now: 0,
                    }))
                })
                .clone()
        })
    });
    let mut state = state.borrow_mut();
    let now = if ACTIVE.with(|active| active.borrow().is_some()) {
        state.now
    } else {
        wall_clock()
    };
    f(&mut state.store, now)
}

/// Lends `state` to the filter for the length of `run`.
fn lending<T>(state: &Rc<RefCell<TestState>>, run: impl FnOnce() -> T) -> T {
    let previous = ACTIVE.with(|active| active.replace(Some(state.clone())));
    let result = run();
    ACTIVE.with(|active| *active.borrow_mut() = previous);
    result
}

/// A filter built from a config, ready to run on test events one after another, as an
/// instance inside Weir would, with a state store and a clock of its own.
pub struct Harness<F> {
    filter: F,
    state: Rc<RefCell<TestState>>,
}

impl<F: Filter> Harness<F> {
    /// Builds the filter from its JSON config, as Weir's `init` does, with a state
    /// store of the default bounds.
    pub fn new(config: &str) -> Result<Self, Error> {
        Harness::with_state_limits(config, StoreLimits::default())
    }

    /// Builds the filter with a state store of these bounds.
    pub fn with_state_limits(config: &str, limits: StoreLimits) -> Result<Self, Error> {
        let state = Rc::new(RefCell::new(TestState {
            store: Store::new(limits, false),
            // A fixed start, so tests of expiry do not depend on the day they run.
            now: 1_700_000_000_000,
        }));
        let filter = lending(&state, || build::<F>(config))?;
        Ok(Harness { filter, state })
    }

    /// Runs the filter on one event, applying its edits with Weir's code.
    pub fn filter(&mut self, event: &TestEvent) -> Result<Outcome, Error> {
        let mut working = Working::new(Arc::new(event.event.clone()), Limits::default());
        let verdict = lending(&self.state, || self.filter.filter(&mut Event::test(&mut working)))?;
        Ok(match verdict {
            Verdict::Keep => Outcome::Kept(Arc::unwrap_or_clone(working.into_event())),
            Verdict::Drop(reason) => Outcome::Dropped(reason),
        })
    }

    /// Moves the harness's clock on, for filters whose state expires.
    pub fn advance(&mut self, by: Duration) {
        self.state.borrow_mut().now += by.as_millis() as u64;
    }

    /// The filter, as built.
    pub fn get(&self) -> &F {
        &self.filter
    }
}

/// Builds the filter from `config` and runs it on one event.
pub fn run<F: Filter>(config: &str, event: &TestEvent) -> Result<Outcome, Error> {
    Harness::<F>::new(config)?.filter(event)
}

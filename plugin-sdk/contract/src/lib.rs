//! The contract between Weir and its filters, written once.
//!
//! `wit/filter.wit` defines the contract for components and `wit/core-module.md` for
//! plain modules; this crate is their meaning in code, shared by Weir (which serves
//! the contract) and the Rust SDK (whose test harness must judge a filter exactly as
//! Weir will). It has no WebAssembly dependency.
//!
//! # Layout
//!
//! - [`event`]: the event and its predictions document, parsed at most once.
//! - [`predictions`]: reading and narrowing predictions documents: the one scanner,
//!   with one set of field rules, that lists predictions and recognises the task.
//! - [`task`]: the model's task, an open vocabulary with well-known names.
//! - [`edit`] and [`working`]: the edits a filter makes, and the one code that checks
//!   and applies them to a lent event.
//! - [`verdict`]: keep or drop, and the filter's error.
//! - [`state`]: the bounded key/value store a filter keeps across events.
//! - [`wire`]: the contract as JSON, for core modules.
//! - [`v01`]: contract 0.1's changes record, applied as 0.2 edits.
//! - [`version`]: contract versions.
//! - [`limits`]: what a filter may put into an event.

pub mod edit;
pub mod event;
pub mod limits;
pub mod predictions;
pub mod state;
pub mod task;
pub mod v01;
pub mod verdict;
pub mod version;
pub mod wire;
pub mod working;

pub use edit::{Edit, EditError};
pub use event::{Attachment, DestinationName, Event, Predictions, content_type_of};
pub use limits::Limits;
pub use task::Task;
pub use verdict::{Answer, FilterError, Verdict};
pub use version::Version;
pub use working::Working;

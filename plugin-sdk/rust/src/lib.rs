//! Write [Weir](https://github.com/) filters in Rust.
//!
//! A filter is a type that implements [`Filter`]: it is built once per instance from
//! its configuration (any `serde` type, parsed from the route's JSON config) and then
//! decides the fate of each [`Event`]: [`Verdict::Keep`] (with the edits it made to the
//! event) or [`Verdict::Drop`]. [`export_filter!`] turns it into a WebAssembly
//! component of the `weir:filter@0.2.0` world; build it with
//! `cargo build --release --target wasm32-wasip2` and drop the `.wasm` into Weir's
//! plugin folder.
//!
//! ```
//! use serde::Deserialize;
//! use weir_plugin_sdk::{Error, Event, Filter, Verdict};
//!
//! /// Keeps events whose metadata names one of the configured cameras, and tags them.
//! struct CameraFilter {
//!     cameras: Vec<String>,
//! }
//!
//! #[derive(Deserialize)]
//! struct Config {
//!     cameras: Vec<String>,
//! }
//!
//! impl Filter for CameraFilter {
//!     type Config = Config;
//!
//!     fn new(config: Config) -> Result<Self, Error> {
//!         Ok(CameraFilter { cameras: config.cameras })
//!     }
//!
//!     fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error> {
//!         match event.metadata_value("camera") {
//!             Some(camera) if self.cameras.contains(&camera) => {
//!                 event.set_metadata("checked-by", "camera-filter")?;
//!                 Ok(Verdict::Keep)
//!             }
//!             _ => Ok(Verdict::drop("not one of our cameras")),
//!         }
//!     }
//! }
//!
//! weir_plugin_sdk::export_filter!(CameraFilter);
//!
//! // Filters run natively too, with Weir's own code applying their edits: that is how
//! // their unit tests work.
//! use weir_plugin_sdk::testing::{Outcome, TestEvent, run};
//! let event = TestEvent::new(r#"{"predictions": []}"#).with_metadata("camera", "dock-3");
//! let Outcome::Kept(out) = run::<CameraFilter>(r#"{"cameras": ["dock-3"]}"#, &event).unwrap() else {
//!     panic!("dropped")
//! };
//! assert_eq!(out.metadata_value("checked-by"), Some("camera-filter"));
//! ```
//!
//! # Layout
//!
//! - [`Filter`] and [`export_filter!`]: what a filter implements, and how it is exported.
//! - [`Event`]: the event as the filter sees it, read lazily from the host, and the
//!   edits it makes to it.
//! - [`Verdict`], [`Error`] and [`Refused`]: what the filter decides, how it fails, and
//!   how Weir refuses an edit.
//! - [`state`]: a key/value store that outlives one event.
//! - [`predictions`]: reading and narrowing the prediction shapes inference platforms
//!   send (Weir's own reader).
//! - [`log`]: writing to Weir's log.
//! - [`testing`]: running a filter natively on a made-up event, for unit tests.
#![deny(missing_docs)]

mod error;
mod event;
mod export;
pub mod log;
pub mod state;
pub mod testing;

pub use error::{Error, Refused};

/// The README's example filter, compiled (and its claims run) as a doctest.
#[doc = include_str!("../README.md")]
mod readme {}
pub use event::{Attachment, BBox, Event, Prediction, Task};
pub use weir_contract::Verdict;
/// Reading and narrowing predictions documents: the reader Weir itself uses.
pub use weir_contract::predictions;

/// The contract version this SDK builds filters against.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// What a filter implements.
///
/// Weir creates an instance of the filter's component, builds the filter once with
/// [`Filter::new`], then calls [`Filter::filter`] for each event of the route, one at a
/// time. Several instances may run side by side, and an instance may be replaced at any
/// time: keep what must be seen by every event in [`state`], not in the filter.
pub trait Filter: Sized + 'static {
    /// The filter's configuration, parsed from the route's JSON `config`.
    ///
    /// A route that gives no config passes `{}`; use `#[serde(default)]` for optional
    /// keys and `#[serde(deny_unknown_fields)]` to catch misspelt ones.
    type Config: serde::de::DeserializeOwned;

    /// Builds the filter. An error refuses the configuration: Weir reports the plugin as
    /// failing to initialise with this message.
    fn new(config: Self::Config) -> Result<Self, Error>;

    /// Decides what happens to one event, editing it on the way if it keeps it.
    ///
    /// Return [`Verdict::Drop`] to stop an event on purpose. Return an error when the
    /// event cannot be processed (say, its predictions lack a field the filter needs):
    /// the route's failure policy then decides what happens to it (or, for
    /// [`Error::retryable`], the sender is asked to send it again later).
    fn filter(&mut self, event: &mut Event<'_>) -> Result<Verdict, Error>;
}

/// Exports a [`Filter`] implementation as the component's `weir:filter` world.
///
/// Invoke it once, at the top level of the filter's crate, which must be built as a
/// `cdylib` for the `wasm32-wasip2` target.
#[macro_export]
macro_rules! export_filter {
    ($filter:ty) => {
        #[doc(hidden)]
        type __WeirFilterExport = $crate::__private::Export<$filter>;
        $crate::__private::export_world!(
            __WeirFilterExport with_types_in $crate::__private::bindings
        );
    };
}

/// Items the macros use. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::Export;
    pub use crate::export::bindings;
    pub use crate::export::bindings::export_world;
}

//! The plugin runtime: running user WebAssembly filters on events.
//!
//! # Layout
//!
//! - [`engine`]: the one wasmtime engine, its pooling allocator and the epoch ticker
//!   that enforces call deadlines.
//! - [`cache`]: compiled code on disk, so a restart does not recompile plugins.
//! - [`compiled`]: a compiled plugin file ([`Plugin`]), checked against the contract:
//!   a component of the `weir:filter` world, or a core module of the JSON ABI.
//! - [`filter`]: a plugin with its route config and limits ([`Filter`]), running events
//!   on a pool of warm instances.
//! - [`registry`]: the loaded plugins by name, keeping the last good version.
//! - [`instance`]: one instance, whichever kind: its `init`, and one call per event.
//! - [`outcome`]: what a filter did with an event, decided from its answer the same
//!   way for both ABIs.
//! - [`sandbox`]: what every instance runs under: deadline, memory cap, captured
//!   output, log quota.
//! - [`state`]: the filters' key/value stores, kept across events and reloads.
//! - [`component`]: filters as components of the `weir:filter` world, each served
//!   contract version.
//! - [`module`]: filters as core modules of the JSON ABI (`wit/core-module.md`).
//! - [`log`]: the budget, per plugin per second, of everything a plugin causes to be
//!   logged.
//! - [`stdio`]: guest stdout/stderr, captured and capped.
//! - [`error`]: the errors, kept apart as the guest declined / misbehaved / host failed.
//! - [`examples`]: the example plugins built into the binary.
//!
//! The layers (kept by `tests/boundaries.rs`): `component/` and `module/` stand on the
//! shared sandbox, state, errors and outcome, and never reach each other; the engine,
//! the compiled plugin and the instance are where the two ABIs meet.
//!
//! The path of one event: [`Filter::run`] takes a warm instance (or makes one from the
//! plugin's `InstancePre`), lends it the event, calls `filter` under a deadline and a
//! memory cap, applies the edits with the contract's code, and returns the instance to
//! the pool unless it misbehaved.

pub mod cache;
pub mod compiled;
#[allow(unsafe_code, missing_docs)]
mod component;
pub mod engine;
pub mod error;
pub mod examples;
pub mod filter;
mod instance;
pub mod log;
mod module;
mod outcome;
pub mod registry;
mod sandbox;
pub mod state;
mod stdio;

pub use compiled::Plugin;
pub use engine::{EngineSettings, PluginEngine};
pub use error::{FilterError, LoadError, Misbehavior};
pub use filter::{Filter, FilterSettings, FilterStats, FilterTotals, InstancePolicy, Outcome};

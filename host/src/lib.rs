//! Weir: a WebAssembly-plugin event router for machine-learning predictions.
//!
//! # Layout
//!
//! - [`event`]: the event envelope, and a filter's verdict on it.
//! - [`plugin`]: the plugin runtime: engine, compiled plugins, instance pools, limits.
//! - [`cli`]: the `weir` command line.

pub mod cli;
pub mod event;
pub mod plugin;

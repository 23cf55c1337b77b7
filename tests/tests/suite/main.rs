//! Weir's end-to-end suite: one test binary.
//!
//! - `examples`: each example filter on the fixture events, exact outputs.
//! - `misbehaving`: guests that loop, bomb memory, trap, lie; each outcome named.
//! - `loading`: files that are not filters, and what Weir says about them.
//! - `instances`: reuse, fresh instances, recycling, concurrency.
//! - `javascript`: the componentize-js filter, side by side with the Rust one.
//! - `filter_command`: `weir filter`, the plugin author's command.

mod examples;
mod filter_command;
mod instances;
mod javascript;
mod loading;
mod misbehaving;
mod support;

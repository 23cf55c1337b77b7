//! Weir's end-to-end suite: one test binary.
//!
//! - `bench_command`: `weir bench` runs and reports (figures are not asserted).
//! - `check_command`: `weir check` on broken configs (golden files).
//! - `core_module`: filters as plain modules (`wit/core-module.md`), the WAT example.
//! - `delivery`: the router end to end, from ingest to receivers.
//! - `durability`: kill -9, restarts, dead letters, backpressure, circuit breaker.
//! - `examples`: each example filter on the fixture events, exact outputs.
//! - `misbehaving`: guests that loop, bomb memory, trap, lie; each outcome named.
//! - `loading`: files that are not filters, and what Weir says about them.
//! - `instances`: reuse, fresh instances, recycling, concurrency.
//! - `reload`: plugins replaced, broken, half-written, removed; config reloads.
//! - `lifecycle`: health, readiness, the Unix socket, SIGTERM.
//! - `javascript`: the componentize-js filter, side by side with the Rust one.
//! - `failure_policy`: a trapping filter under each failure policy.
//! - `ingest_errors`: malformed input, authentication, idempotency.
//! - `filter_command`: `weir filter`, the plugin author's command.
//! - `state`: filters' state across events, instances, hot swaps and restarts.
//! - `compat`: filters built against contract 0.1 on this Weir, and the contract's
//!   versioning rules.

mod bench_command;
mod check_command;
mod compat;
mod core_module;
mod delivery;
mod durability;
mod examples;
mod failure_policy;
mod filter_command;
mod ingest_errors;
mod instances;
mod javascript;
mod lifecycle;
mod loading;
mod misbehaving;
mod reload;
mod state;
mod support;

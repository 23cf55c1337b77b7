//! Weir: a WebAssembly-plugin event router for machine-learning predictions.
//!
//! The event path, in modules:
//!
//! ```text
//! ingest --> pipeline (plugin filters) --> outbox --> dispatch --> webhook URLs
//! ```
//!
//! # Layout
//!
//! - [`config`]: the TOML config, typed, validated all at once.
//! - [`connections`]: accepting connections: caps, TLS, JSON bodies for low-level errors.
//! - [`event`]: the event envelope the stages pass on.
//! - [`ingest`]: the handler that accepts predictions.
//! - [`pipeline`]: one event through a route's filters, and the failure policy.
//! - [`plugin`]: the plugin runtime: engine, compiled plugins, instance pools, limits.
//! - [`outbox`]: where accepted deliveries wait.
//! - [`dispatch`]: per-destination lanes that deliver, sign and retry.
//! - [`reload`]: hot reload of plugins and the config.
//! - [`topology`]: a config made into running routes and destinations.
//! - [`admin`]: health, readiness, metrics, the admin API and the operator's console.
//! - [`metrics`]: the Prometheus counters of ingest and delivery.
//! - [`server`]: starting and stopping all of it.
//! - [`text`]: text others supply, capped and escaped before it is carried or shown.
//!
//! The `weir` binary (`src/bin/weir/`) holds the command line and the benchmark
//! harness; this library is the runtime they drive.

pub mod admin;
pub mod config;
pub mod connections;
pub mod dispatch;
pub mod event;
pub mod flood;
pub mod ingest;
pub mod metrics;
pub mod outbox;
pub mod pipeline;
pub mod plugin;
pub mod reload;
pub mod server;
pub mod text;
pub mod topology;

/// Installs rustls's ring provider as the process's TLS provider, once; every later
/// call is a no-op. Delivery and the admin commands' HTTP clients need one: the crates
/// are built without a default, so that exactly one provider is ever linked.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

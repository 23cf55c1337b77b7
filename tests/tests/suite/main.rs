//! Weir's end-to-end suite: one test binary.
//!
//! - `bench_command`: `weir bench` runs and reports (figures are not asserted).
//! - `check_command`: `weir check` on broken configs (golden files).
//! - `core_module`: filters as plain modules (`wit/core-module.md`), the WAT example.
//! - `quickstart`: the README's quickstart: default config, its curl, its answer.
//! - `ingest`: what each part of a request becomes (metadata, attachments, task, id).
//! - `delivery`: the router end to end, from ingest to receivers.
//! - `delivery_options`: expiry, rates and pauses, CloudEvents, trace context.
//! - `durability`: kill -9, restarts, dead letters, backpressure, circuit breaker.
//! - `examples`: each example filter on the fixture events, exact outputs.
//! - `misbehaving`: guests that loop, bomb memory, trap, lie; each outcome named.
//! - `logs`: Weir's own log lines: figures rounded, nothing secret.
//! - `plugin_limits`: instances, memory and compilation, bounded for all plugins.
//! - `hostile_guests`: guests that forge log lines, flood the log, return huge text.
//! - `sandbox`: no files, no environment, no network for a filter at run time.
//! - `loading`: files that are not filters, and what Weir says about them.
//! - `instances`: reuse, fresh instances, recycling, concurrency.
//! - `reload`: plugins replaced, broken, half-written, removed; config reloads.
//! - `lifecycle`: health, readiness, the Unix socket, SIGTERM, SIGINT, SIGHUP.
//! - `javascript`: the componentize-js filter, side by side with the Rust one.
//! - `languages`: filters in the ten languages: the class filter in each, the Python
//!   cooldown, `weir new`, the SDKs' own checks.
//! - `failure_policy`: a trapping filter under each failure policy.
//! - `ingest_errors`: malformed input, authentication, idempotency.
//! - `filter_command`: `weir filter`, the plugin author's command.
//! - `state`: filters' state across events, instances, hot swaps and restarts.
//! - `compat`: filters built against contract 0.1 on this Weir, and the contract's
//!   versioning rules.
//! - `console`: the operator's console in a real browser (headless Chromium), and its
//!   pages without JavaScript.
//! - `admin_api`: the admin token, cross-site requests, JSON errors, test sends, the
//!   delivery log, and what senders choose (destinations, metadata-only deliveries).
//! - `deploy`, `deploy_container`, `deploy_systemd`, `deploy_kubernetes`: the
//!   distribution build, the container, the systemd unit and the Kubernetes sidecar
//!   (`host/deploy/`), checked as far as this machine allows.
//! - `claims_table`: every test `tests/README.md` names exists.

mod address_rules;
mod admin_api;
mod admission;
mod bench_command;
mod browser;
mod check_command;
mod claims_table;
mod compat;
mod connections;
mod console;
mod core_module;
mod delivery;
mod delivery_options;
mod deploy;
mod deploy_container;
mod deploy_kubernetes;
mod deploy_systemd;
mod durability;
mod examples;
mod failure_policy;
mod filter_command;
mod hostile_guests;
mod ingest;
mod ingest_errors;
mod instances;
mod javascript;
mod jetstream;
mod languages;
mod lifecycle;
mod loading;
mod logs;
mod misbehaving;
mod plugin_limits;
mod quickstart;
mod reload;
mod sandbox;
mod sender_limits;
mod state;
mod tls;
mod verifying_docs;

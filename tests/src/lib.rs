//! Support for Weir's end-to-end suite (`tests/tests/suite/`): everything its modules
//! share lives here, one module per concept, so that a test file holds tests and what
//! is particular to them.
//!
//! # Layout
//!
//! - [`config`]: the config a test starts Weir with, built in code ([`WeirConfig`]).
//! - [`router`]: the real router, started in the test process, and talking to it.
//! - [`process`]: Weir as a child process (`weir run`), for signals, exit codes and logs.
//! - [`records`]: Weir's own records (events, deliveries, attempts, plugins), which
//!   decide every outcome.
//! - [`wait`]: bounded waits ([`eventually`]); no test sleeps before an assertion.
//! - [`receiver`]: a webhook receiver that records what arrives and answers from a script.
//! - [`scratch`]: a fresh folder of its own for each test that needs files.
//! - [`fixtures`]: the prediction fixtures and the events a camera would send of them.
//! - [`multipart`]: multipart bodies, written and read.
//! - [`plugins`]: plugin files (guests, examples) and the engine they load on.
//! - [`filters`]: a filter run directly on an event, and its outcome.
//! - [`compare`]: golden files and JSON documents.
//! - [`languages`]: filters in the ten languages, built by their own toolchains.
//! - [`node`]: building the example filters that need node (JavaScript,
//!   AssemblyScript), or saying why not, and what a test does when a toolchain is
//!   missing.
//! - this file: the repository's root, an HTTP client, and the most used items of the
//!   modules above, re-exported.

pub mod compare;
pub mod config;
pub mod filters;
pub mod fixtures;
pub mod languages;
pub mod multipart;
pub mod nats;
pub mod node;
pub mod plugins;
pub mod process;
pub mod receiver;
pub mod records;
pub mod router;
pub mod scratch;
pub mod wait;

use std::path::{Path, PathBuf};

pub use compare::{assert_json, golden};
pub use config::WeirConfig;
pub use fixtures::{FIXTURES, camera_multipart, fixture, fixture_bytes, fixture_event, fixture_masks, fixture_path};
pub use multipart::{Part, multipart_body, parse_multipart};
pub use plugins::{engine, example_path, guest_0_1, load, test_guest_path};
pub use records::{gap, parse_time};
pub use wait::eventually;

/// The repository root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// An HTTP client for talking to Weir and its receivers. Installs the TLS crypto
/// provider first (as `weir` itself does at start), so a test that runs alone, with no
/// in-process server before it, can build a client too.
pub fn http_client() -> reqwest::Client {
    weir::install_tls_provider();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

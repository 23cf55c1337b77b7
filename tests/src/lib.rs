//! Support for Weir's end-to-end suite: fixtures, the guest plugins, a shared plugin
//! engine, and building the JavaScript example.
//!
//! # Layout
//!
//! - this file: fixtures and plugin files.
//! - [`languages`]: filters in the ten languages, built by their own toolchains.
//! - [`node`]: building the example filters that need node (JavaScript, AssemblyScript),
//!   or saying why not, and what a test does when a toolchain is missing.
//! - [`process`]: Weir as a child process, for signals and crashes.
//! - [`receiver`]: a webhook receiver that records what arrives.
//! - [`router`]: the real router, started in the test process.

pub mod languages;
pub mod node;
pub mod process;
pub mod receiver;
pub mod router;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use weir::event::{Attachment, Event};
use weir::plugin::{EngineSettings, Plugin, PluginEngine};

/// The repository root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

/// A fixture file's path (`tests/fixtures/NAME`).
pub fn fixture_path(name: &str) -> PathBuf {
    workspace().join("tests").join("fixtures").join(name)
}

/// A fixture file as text.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A fixture file as bytes.
pub fn fixture_bytes(name: &str) -> Bytes {
    Bytes::from(std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}")))
}

/// The masks a fixture comes with, as (attachment name, fixture file).
pub fn fixture_masks(stem: &str) -> Vec<(String, String)> {
    (0..10)
        .map(|i| (format!("mask_{i:04}.png"), format!("{stem}.mask_{i:04}.png")))
        .filter(|(_, file)| fixture_path(file).exists())
        .collect()
}

/// The event of a fixture (`object-detection`, ...), as a camera would send it: the
/// predictions, the image, and the masks the fixture has.
pub fn fixture_event(stem: &str) -> Event {
    let mut event = Event::new(format!("{stem}-1"), "test", fixture(&format!("{stem}.json")));
    event.attachments.push(Attachment {
        name: "image.jpeg".into(),
        content_type: "image/jpeg".into(),
        data: fixture_bytes("image.jpeg"),
    });
    for (name, file) in fixture_masks(stem) {
        event.attachments.push(Attachment {
            name,
            content_type: "image/png".into(),
            data: fixture_bytes(&file),
        });
    }
    event
}

/// The test guest plugin (`tests/guests/misbehave`), built by the build script.
pub fn test_guest_path() -> PathBuf {
    Path::new(env!("WEIR_TEST_GUESTS")).join("weir_test_guest.wasm")
}

/// A guest built against contract 0.1.0 and committed (`tests/guests/v0.1.0/NAME.wasm`):
/// what filters built before 0.2 look like to every later Weir.
pub fn guest_0_1(name: &str) -> PathBuf {
    workspace()
        .join("tests")
        .join("guests")
        .join("v0.1.0")
        .join(format!("{name}.wasm"))
}

/// An example plugin's built `.wasm` file.
pub fn example_path(name: &str) -> PathBuf {
    Path::new(env!("WEIR_TEST_GUESTS")).join(format!("{}.wasm", name.replace('-', "_")))
}

/// An HTTP client for talking to Weir and its receivers. Installs the TLS crypto
/// provider first (as `weir` itself does at start), so a test that runs alone, with no
/// in-process server before it, can build a client too.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

/// One plugin engine for the whole test binary: engines reserve a lot of address
/// space, and sharing one also shares its compiled-code cache.
pub fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let settings = EngineSettings {
            cache_dir: Some(workspace().join("target").join("weir-test-cache")),
            ..EngineSettings::default()
        };
        PluginEngine::new(&settings).expect("plugin engine")
    })
}

/// Loads a plugin file on the shared engine.
pub fn load(name: &str, path: &Path) -> Arc<Plugin> {
    Arc::new(Plugin::from_file(engine(), name, path).unwrap_or_else(|e| panic!("{e}")))
}

/// Compares `actual` with the golden file `tests/golden/NAME`, byte for byte. Run the
/// suite with `WEIR_UPDATE_GOLDEN=1` to write the files after a deliberate change, and
/// review the diff. In CI (`CI` set) the variable is refused: there a golden file is
/// only ever compared, so a stray variable cannot turn every comparison into a pass.
#[track_caller]
pub fn golden(name: &str, actual: &str) {
    let path = workspace().join("tests").join("golden").join(name);
    if std::env::var_os("WEIR_UPDATE_GOLDEN").is_some() {
        assert!(
            std::env::var_os("CI").is_none(),
            "WEIR_UPDATE_GOLDEN is set in CI (CI is set): golden files are compared in CI, never written; \
             update them locally and commit the diff"
        );
        std::fs::create_dir_all(path.parent().expect("golden files live in a folder")).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}; run with WEIR_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output:\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Polls `check` until it gives a value and returns it; panics naming `what` when
/// `limit` passes first. For conditions Weir's own records will show (an attempt
/// recorded, a state reached): every wait in the suite is bounded, so a Weir that never
/// gets there fails the test instead of hanging CI.
pub async fn eventually<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Parses an RFC 3339 timestamp of Weir's records (`2026-01-02T03:04:05.678Z`).
#[track_caller]
pub fn parse_time(text: &serde_json::Value) -> std::time::SystemTime {
    let text = text.as_str().unwrap_or_else(|| panic!("not a timestamp: {text}"));
    humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text:?} is not an RFC 3339 time: {e}"))
}

/// How long after `earlier` `later` is (zero when it is not after).
pub fn gap(earlier: std::time::SystemTime, later: std::time::SystemTime) -> Duration {
    later.duration_since(earlier).unwrap_or(Duration::ZERO)
}

/// Asserts that `actual` is the JSON document `expected`: same values, same key order
/// (whitespace and number spelling aside).
#[track_caller]
pub fn assert_json(actual: &str, expected: serde_json::Value) {
    let parsed: serde_json::Value = serde_json::from_str(actual).unwrap_or_else(|e| panic!("not JSON ({e}): {actual}"));
    assert_eq!(parsed.to_string(), expected.to_string());
}

/// A part of a multipart body: (field name, file name, content type, bytes).
pub type Part<'a> = (&'a str, Option<&'a str>, &'a str, &'a [u8]);

/// A `multipart/form-data` body of these parts, and its content type.
pub fn multipart_body(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = "----weir-test-boundary-7d3a";
    let mut body = Vec::new();
    for (field, file, content_type, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(file) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{file}\"\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{field}\"\r\n").as_bytes()),
        }
        body.extend_from_slice(format!("Content-Type: {content_type}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A camera event as seed 000 sends it: multipart with `predictions.json`,
/// `image.jpeg` and the fixture's masks, each in a `file` field.
pub fn camera_multipart(stem: &str) -> (String, Vec<u8>) {
    let predictions = fixture(&format!("{stem}.json"));
    let image = fixture_bytes("image.jpeg");
    let masks: Vec<(String, Bytes)> = fixture_masks(stem)
        .into_iter()
        .map(|(name, file)| (name, fixture_bytes(&file)))
        .collect();
    let mut parts: Vec<Part<'_>> = vec![
        ("file", Some("image.jpeg"), "image/jpeg", &image),
        (
            "file",
            Some("predictions.json"),
            "application/json",
            predictions.as_bytes(),
        ),
    ];
    for (name, bytes) in &masks {
        parts.push(("file", Some(name.as_str()), "image/png", bytes));
    }
    multipart_body(&parts)
}

/// The parts of a received multipart body: (file name, content type, bytes), parsed
/// by an independent implementation (multer).
pub async fn parse_multipart(content_type: &str, body: Bytes) -> Vec<(String, String, Bytes)> {
    let boundary = multer::parse_boundary(content_type).expect("a multipart content type");
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.expect("a well-formed multipart body") {
        let name = field.file_name().unwrap_or_default().to_string();
        let content_type = field.content_type().map(ToString::to_string).unwrap_or_default();
        parts.push((name, content_type, field.bytes().await.unwrap()));
    }
    parts
}

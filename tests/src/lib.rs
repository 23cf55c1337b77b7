//! Support for Weir's end-to-end suite: fixtures, the guest plugins, a shared plugin
//! engine, and building the JavaScript example.
//!
//! # Layout
//!
//! - this file: fixtures and plugin files.
//! - [`js`]: building `plugins/js-class-filter` with node, or saying why not.

pub mod js;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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
        .map(|i| {
            (
                format!("mask_{i:04}.png"),
                format!("{stem}.mask_{i:04}.png"),
            )
        })
        .filter(|(_, file)| fixture_path(file).exists())
        .collect()
}

/// The event of a fixture (`object-detection`, ...), as a camera would send it: the
/// predictions, the image, and the masks the fixture has.
pub fn fixture_event(stem: &str) -> Event {
    let mut event = Event::new(
        format!("{stem}-1"),
        "test",
        fixture(&format!("{stem}.json")),
    );
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

/// An example plugin's built `.wasm` file.
pub fn example_path(name: &str) -> PathBuf {
    Path::new(env!("WEIR_TEST_GUESTS")).join(format!("{}.wasm", name.replace('-', "_")))
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
/// review the diff.
#[track_caller]
pub fn golden(name: &str, actual: &str) {
    let path = workspace().join("tests").join("golden").join(name);
    if std::env::var_os("WEIR_UPDATE_GOLDEN").is_some() {
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

/// Asserts that `actual` is the JSON document `expected`: same values, same key order
/// (whitespace and number spelling aside).
#[track_caller]
pub fn assert_json(actual: &str, expected: serde_json::Value) {
    let parsed: serde_json::Value =
        serde_json::from_str(actual).unwrap_or_else(|e| panic!("not JSON ({e}): {actual}"));
    assert_eq!(parsed.to_string(), expected.to_string());
}

//! Plugin files (the test guest, the examples, guests built against an older contract)
//! and loading them on one engine shared by the whole test binary.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use weir::plugin::examples::example;
use weir::plugin::{EngineSettings, Plugin, PluginEngine};

use crate::workspace;

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

/// An example plugin built into Weir, by name (`class-filter`), on the shared engine.
pub fn example_plugin(name: &str) -> Arc<Plugin> {
    let example = example(name).unwrap_or_else(|| panic!("no example {name}"));
    Arc::new(Plugin::from_bytes(engine(), example.name, example.name, example.bytes).unwrap())
}

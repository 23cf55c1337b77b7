//! Files that are not filters, and what Weir says about each: always the file, and
//! what to do.

use std::path::PathBuf;

use weir::plugin::{LoadError, Plugin};
use weir_tests::{engine, example_path};

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = weir_tests::workspace().join("target").join("test-scratch");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load_error(name: &str, bytes: &[u8]) -> LoadError {
    let path = scratch(name, bytes);
    match Plugin::from_file(engine(), name, &path) {
        Ok(_) => panic!("{name} loaded"),
        Err(error) => {
            assert!(error.to_string().starts_with(&path.display().to_string()), "{error}");
            error
        }
    }
}

#[test]
fn a_missing_file_is_a_read_error() {
    let error = Plugin::from_file(engine(), "gone", std::path::Path::new("/nonexistent/gone.wasm")).unwrap_err();
    assert!(matches!(error, LoadError::Read { .. }), "{error:?}");
}

#[test]
fn a_text_file_is_not_wasm() {
    let error = load_error("notes.wasm", b"this is not wasm");
    assert!(matches!(error, LoadError::NotWasm { .. }), "{error:?}");
    assert!(error.to_string().contains("build the filter for wasm32-wasip2"));
}

#[test]
fn a_core_module_without_the_abi_is_told_what_it_lacks() {
    let error = load_error("core.wasm", &wat::parse_str("(module)").unwrap());
    assert!(matches!(error, LoadError::WrongAbi { .. }), "{error:?}");
    assert!(error.to_string().contains("see wit/core-module.md"), "{error}");
}

#[test]
fn a_truncated_component_does_not_compile() {
    let bytes = std::fs::read(example_path("class-filter")).unwrap();
    let error = load_error("truncated.wasm", &bytes[..bytes.len() / 2]);
    assert!(matches!(error, LoadError::Compile { .. }), "{error:?}");
}

#[test]
fn a_component_of_another_world_is_refused() {
    let empty = wat::parse_str("(component)").unwrap();
    let error = load_error("empty.wasm", &empty);
    assert!(matches!(error, LoadError::WrongWorld { .. }), "{error:?}");
    assert!(
        error.to_string().contains("does not implement the weir:filter world"),
        "{error}"
    );

    let wants_network =
        wat::parse_str(r#"(component (import "evil:net/socket" (instance (export "connect" (func)))))"#).unwrap();
    let error = load_error("network.wasm", &wants_network);
    assert!(matches!(error, LoadError::WrongWorld { .. }), "{error:?}");
    assert!(error.to_string().contains("evil:net/socket"), "{error}");
}

#[test]
fn the_compiled_code_cache_serves_the_second_load() {
    use weir::plugin::cache::CacheOutcome;
    let path = example_path("strip-masks");
    let first = Plugin::from_file(engine(), "strip-masks", &path).unwrap();
    let second = Plugin::from_file(engine(), "strip-masks", &path).unwrap();
    assert_ne!(first.cache_outcome(), CacheOutcome::CompiledUncached);
    assert_eq!(second.cache_outcome(), CacheOutcome::Hit);
    assert_eq!(first.hash(), second.hash());
}

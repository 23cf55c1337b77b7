//! Files that are not filters, and what Weir says about each: always the file, and
//! what to do.

use std::path::PathBuf;

use weir::plugin::{LoadError, Plugin};
use weir_tests::config::{Destination, Filter, Plugins, Route, Storage};
use weir_tests::{WeirConfig, engine, example_path};

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

/// A plugin engine with a cache folder of its own, emptied first.
fn engine_with_cache(name: &str) -> (weir::plugin::PluginEngine, PathBuf) {
    let cache = weir_tests::scratch::folder(name).join("cache");
    let engine = weir::plugin::PluginEngine::new(&weir::plugin::EngineSettings {
        cache_dir: Some(cache.clone()),
        max_instances: 8,
        ..weir::plugin::EngineSettings::default()
    })
    .unwrap();
    (engine, cache)
}

#[test]
fn a_cache_entry_swapped_for_another_plugins_is_compiled_again_not_run() {
    use weir::plugin::cache::CacheOutcome;
    let (engine, cache) = engine_with_cache("cache-swap");
    let masks = Plugin::from_file(&engine, "strip-masks", &example_path("strip-masks")).unwrap();
    let classes = Plugin::from_file(&engine, "class-filter", &example_path("class-filter")).unwrap();
    assert_eq!(classes.cache_outcome(), CacheOutcome::Compiled);
    let entry_of = |hash: &str| {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.file_name().unwrap().to_string_lossy().starts_with(hash))
            .unwrap()
    };
    let (from, to) = (entry_of(masks.hash()), entry_of(classes.hash()));
    // Loaded code maps its entry: the plugins go before an entry is changed in place.
    drop((masks, classes));
    // The class filter's entry now holds the mask stripper's code.
    std::fs::copy(from, to).unwrap();
    let reloaded = Plugin::from_file(&engine, "class-filter", &example_path("class-filter")).unwrap();
    assert_eq!(
        reloaded.cache_outcome(),
        CacheOutcome::Compiled,
        "the swapped entry was trusted"
    );
    // And the entry written back is the class filter's own again.
    let again = Plugin::from_file(&engine, "class-filter", &example_path("class-filter")).unwrap();
    assert_eq!(again.cache_outcome(), CacheOutcome::Hit);
}

#[test]
fn a_damaged_cache_entry_is_compiled_again() {
    use weir::plugin::cache::CacheOutcome;
    let (engine, cache) = engine_with_cache("cache-damaged");
    Plugin::from_file(&engine, "strip-masks", &example_path("strip-masks")).unwrap();
    let entry = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, bytes).unwrap();
    let reloaded = Plugin::from_file(&engine, "strip-masks", &example_path("strip-masks")).unwrap();
    assert_eq!(reloaded.cache_outcome(), CacheOutcome::Compiled);

    // Cut short (the trailer gone, or only the trailer left): compiled again too.
    drop(reloaded);
    for keep in [bytes_len(&entry) - 20, 40] {
        let bytes = std::fs::read(&entry).unwrap();
        std::fs::write(&entry, &bytes[..keep]).unwrap();
        let reloaded = Plugin::from_file(&engine, "strip-masks", &example_path("strip-masks")).unwrap();
        assert_eq!(reloaded.cache_outcome(), CacheOutcome::Compiled, "cut to {keep} bytes");
    }
}

fn bytes_len(path: &std::path::Path) -> usize {
    std::fs::metadata(path).unwrap().len() as usize
}

/// A cached plugin's code is mapped from its entry, not copied: loading it leaves the
/// code in the page cache, and an entry replaced by renaming (as the cache writes
/// them) leaves the code already loaded running.
#[tokio::test]
async fn cached_code_is_mapped_from_its_entry_and_survives_the_entry_being_replaced() {
    use weir::plugin::cache::CacheOutcome;
    let (engine, cache) = engine_with_cache("cache-mapped");
    let path = example_path("class-filter");
    Plugin::from_file(&engine, "class-filter", &path).unwrap();
    let plugin = Plugin::from_file(&engine, "class-filter", &path).unwrap();
    assert_eq!(plugin.cache_outcome(), CacheOutcome::Hit);
    let entry = std::fs::read_dir(&cache).unwrap().next().unwrap().unwrap().path();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(
        maps.lines().any(|line| line.ends_with(&*entry.to_string_lossy())),
        "the entry is not mapped:\n{maps}"
    );

    let settings = weir::plugin::FilterSettings {
        config: r#"{"classes":["person"]}"#.into(),
        max_instances: 1,
        ..weir::plugin::FilterSettings::default()
    };
    let filter = weir::plugin::Filter::new(std::sync::Arc::new(plugin), settings)
        .await
        .unwrap();
    let event = || {
        let mut event = weir::event::Event::new(
            "e1",
            "cameras",
            r#"{"predictions":[{"class":"person","confidence":0.9},{"class":"dog","confidence":0.8}]}"#,
        );
        event.destinations = vec!["a".into()];
        std::sync::Arc::new(event)
    };
    let before = filter.run(&event()).await.unwrap();

    // Replaced the way the cache replaces entries: a new file renamed over it.
    let fresh = entry.with_extension("fresh");
    std::fs::write(&fresh, b"not code").unwrap();
    std::fs::rename(&fresh, &entry).unwrap();
    assert_eq!(filter.run(&event()).await.unwrap(), before);
}

#[test]
fn the_cache_folder_and_its_entries_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (engine, cache) = engine_with_cache("cache-private");
    Plugin::from_file(&engine, "strip-masks", &example_path("strip-masks")).unwrap();
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

#[tokio::test]
async fn a_plugin_name_that_is_a_path_is_refused_and_nothing_outside_the_folder_loads() {
    // A real filter just outside the plugin folder, and one at an absolute path.
    let dir = weir_tests::scratch::plugins_folder("confined");
    let plugins = dir.join("plugins");
    std::fs::copy(example_path("class-filter"), dir.join("outside.wasm")).unwrap();
    let absolute = dir.join("outside");
    for name in ["../outside", absolute.to_str().unwrap(), ".hidden", "sub/dir"] {
        let config = WeirConfig::new()
            .storage(Storage::memory())
            .plugins(Plugins::new().dir(&plugins))
            .route("r", Route::to(["log"]).filter(Filter::plugin(name)))
            .destination("log", Destination::url("log:"));
        let Err(weir::server::StartError::Config(problems)) = weir_tests::router::try_start(&config).await else {
            panic!("{name:?} was accepted as a plugin name")
        };
        let said: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            said.iter()
                .any(|problem| problem.contains("routes.r.filters[0].plugin") && problem.contains("not a plugin name")),
            "{name:?}: {said:?}"
        );
    }
}

//! Filters in the ten languages (`plugin-sdk/<language>/`): each language's class
//! filter gives the Rust one's output to the byte on every fixture; the Python cooldown
//! behaves as the Rust one; `weir new` writes, in every language, a project that builds
//! with one command and runs (a Rust one wherever `CARGO_TARGET_DIR` sends cargo); each
//! SDK's own checks pass.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use weir::event::Event;
use weir::plugin::{Filter, FilterSettings, Outcome, Plugin};
use weir_tests::languages::{self, LANGUAGES};
use weir_tests::node::required;
use weir_tests::plugins::example_plugin;
use weir_tests::{FIXTURES, engine, fixture_event, workspace};

const CONFIGS: [&str; 5] = [
    r#"{"classes":["person","car"],"min_confidence":0.5}"#,
    r#"{"classes":["person"],"min_confidence":0.9}"#,
    r#"{"classes":["vehicle","forklift-present"]}"#,
    r#"{"classes":["person"],"remove_orphaned_masks":false}"#,
    "{}",
];

fn settings(config: &str) -> FilterSettings {
    FilterSettings {
        config: config.into(),
        // An interpreter's first calls are slow on a loaded machine; the deadline is
        // not what these tests are about.
        timeout: Duration::from_secs(10),
        max_instances: 1,
        ..FilterSettings::default()
    }
}

async fn filter(plugin: Arc<Plugin>, config: &str) -> Filter {
    Filter::new(plugin, settings(config))
        .await
        .unwrap_or_else(|e| panic!("{config}: {e}"))
}

fn load(name: &str, wasm: &Path) -> Arc<Plugin> {
    Arc::new(Plugin::from_file(engine(), name, wasm).unwrap_or_else(|e| panic!("{e}")))
}

fn bound(mut event: Event) -> Arc<Event> {
    event.destinations = vec!["a".into(), "b".into()];
    Arc::new(event)
}

#[tokio::test]
async fn the_class_filter_gives_the_rust_output_to_the_byte_in_every_language() {
    let rust = example_plugin("class-filter");
    for language in LANGUAGES.iter().filter(|l| **l != "rust") {
        let test = format!("languages::class_filter::{language}");
        let Some(wasm) = required(&test, languages::example(language, "class-filter")) else {
            continue;
        };
        let plugin = load(&format!("{language}-class-filter"), &wasm);
        assert_eq!(
            plugin
                .contract_version()
                .map(|v| v.to_string())
                .as_deref()
                .unwrap_or("0.2.0"),
            "0.2.0"
        );
        for config in CONFIGS {
            let theirs = filter(plugin.clone(), config).await;
            let ours = filter(rust.clone(), config).await;
            for fixture in FIXTURES {
                let event = bound(fixture_event(fixture));
                let expected = ours.run(&event).await.unwrap();
                let got = theirs
                    .run(&event)
                    .await
                    .unwrap_or_else(|e| panic!("{language} on {fixture} with {config}: {e}"));
                assert_eq!(got, expected, "{language} on {fixture} with {config}");
            }
        }
        // A config Rust refuses, the language refuses too.
        let refused = Filter::new(plugin, settings(r#"{"min_confidence":2}"#)).await;
        assert!(refused.is_err(), "{language} accepted min_confidence 2");
    }
}

/// The outcome of a sequence of frames, as kept/dropped with the drop reasons.
async fn run_frames(filter: &Filter, frames: &[(&str, &[&str])]) -> Vec<String> {
    let mut outcomes = Vec::new();
    for (camera, classes) in frames {
        let predictions: Vec<String> = classes
            .iter()
            .map(|class| format!(r#"{{"class":"{class}","confidence":0.9}}"#))
            .collect();
        let mut event = Event::new(
            "frame",
            "cameras",
            format!(r#"{{"camera":"{camera}","predictions":[{}]}}"#, predictions.join(",")),
        );
        event.set_metadata("camera", *camera);
        outcomes.push(match filter.run(&bound(event)).await.unwrap() {
            Outcome::Dropped(reason) => format!("dropped: {reason}"),
            Outcome::Modified(event) => format!("kept {:?}", event.metadata_value("cooldown-key")),
            Outcome::Kept => "kept".into(),
        });
    }
    outcomes
}

#[tokio::test]
async fn the_python_cooldown_behaves_as_the_rust_one() {
    let Some(wasm) = required(
        "languages::the_python_cooldown_behaves_as_the_rust_one",
        languages::example("python", "cooldown"),
    ) else {
        return;
    };
    let python = load("python-cooldown", &wasm);
    let frames: &[(&str, &[&str])] = &[
        ("dock-3", &["person"]),
        ("dock-3", &["person"]),
        ("dock-4", &["person"]),
        ("dock-3", &["person", "car"]),
        ("dock-3", &["car", "person", "person"]),
        ("dock-3", &[]),
    ];
    for config in [
        r#"{"seconds": 600}"#,
        r#"{"seconds": 600, "key": ["field.camera"], "new_objects": "set"}"#,
        r#"{"seconds": 600, "key": ["metadata.camera"], "new_objects": "count"}"#,
        r#"{"seconds": 600, "key": ["route", "class"], "classes": ["car"]}"#,
    ] {
        // Each filter keeps its own state store: both start empty.
        let ours = run_frames(&filter(example_plugin("cooldown"), config).await, frames).await;
        let theirs = run_frames(&filter(python.clone(), config).await, frames).await;
        assert_eq!(theirs, ours, "{config}");
    }
}

#[tokio::test]
async fn weir_new_writes_a_project_that_builds_with_one_command_and_runs_in_every_language() {
    let weir = env!("CARGO_BIN_EXE_weir");
    for language in LANGUAGES {
        let test = format!("languages::weir_new::{language}");
        let Some((dir, wasm)) = required(&test, languages::new_project(weir, language)) else {
            continue;
        };
        let out = Command::new(weir)
            .args(["filter", "--json", "--plugin"])
            .arg(&wasm)
            .arg("--event")
            .arg(dir.join("sample-event.json"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{language}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(result["plugin"]["contract"], "0.2.0", "{language}: {result}");
        assert!(
            ["keep", "modify"].contains(&result["verdict"].as_str().unwrap_or_default()),
            "{language}: {result}"
        );
    }
}

#[test]
fn a_rust_project_builds_where_cargo_target_dir_sends_cargo() {
    let Some(()) = required("languages::weir_new::rust-target-dir", languages::available("rust")) else {
        return;
    };
    let weir = env!("CARGO_BIN_EXE_weir");
    let scratch = workspace().join("target").join("test-scratch").join("target-dir");
    let _ = std::fs::remove_dir_all(&scratch);
    let (project, elsewhere) = (scratch.join("project"), scratch.join("elsewhere"));
    let written = Command::new(weir)
        .args(["new", "moved-output", "--lang", "rust", "--dir"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let built = Command::new("bash")
        .arg(project.join("build.sh"))
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &elsewhere)
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "build.sh with CARGO_TARGET_DIR set failed:\n{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(elsewhere.join("wasm32-wasip2").is_dir(), "cargo built elsewhere");
    assert!(!project.join("target").exists(), "and not in the project");
    let wasm = std::fs::read(project.join("moved-output.wasm")).unwrap();
    assert!(wasm.starts_with(b"\0asm"), "the component was copied out");
}

#[test]
fn weir_new_refuses_an_unknown_language_or_an_existing_folder() {
    let weir = env!("CARGO_BIN_EXE_weir");
    let out = Command::new(weir)
        .args(["new", "x", "--lang", "cobol"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not one of rust, python, javascript, typescript, go"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(weir)
        .args(["new", "x", "--lang", "wat", "--dir"])
        .arg(workspace().join("tests"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists and is not empty"));
}

#[test]
fn each_sdks_own_checks_pass() {
    let weir = env!("CARGO_BIN_EXE_weir");
    // The core-module SDKs: an exercise filter using every edit, the state store and
    // the log, built and checked with `weir filter`.
    for language in ["go", "c", "cpp", "zig", "assemblyscript"] {
        if required(&format!("languages::sdk::{language}"), languages::available(language)).is_none() {
            continue;
        }
        let test = workspace().join("plugin-sdk").join(language).join("test");
        let wasm = workspace()
            .join("target")
            .join("lang-plugins")
            .join(format!("{language}-exercise.wasm"));
        let built = Command::new("bash")
            .arg(test.join("build.sh"))
            .arg(&wasm)
            .current_dir(&test)
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{language}: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let checked = Command::new("bash")
            .arg(test.join("check.sh"))
            .arg(&wasm)
            .env("WEIR", weir)
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "{language}: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
    }
    // Python: its unit tests, natively.
    if required("languages::sdk::python", languages::available("python")).is_some() {
        let out = Command::new("python3")
            .args(["-m", "pytest", "-q"])
            .arg(workspace().join("plugin-sdk").join("python").join("tests"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
    // JavaScript: the types generated from the WIT are up to date.
    if required("languages::sdk::javascript", languages::available("javascript")).is_some() {
        let out = Command::new("npm")
            .args(["test", "--silent"])
            .current_dir(workspace().join("plugin-sdk").join("javascript"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

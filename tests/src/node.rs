//! Building the example filters that need node (`plugins/js-class-filter` with
//! componentize-js, `plugins/min-confidence-as` with AssemblyScript) from source.
//!
//! node and npm are on every machine this project builds on, so the suite builds the
//! filters for real; on a machine without them the tests that need them say they were
//! skipped and why, rather than pass silently.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::workspace;

type Built = OnceLock<Mutex<Option<Result<PathBuf, String>>>>;

/// Builds the JavaScript filter (a component) once per test binary and returns its
/// `.wasm`, or why it cannot be built here.
pub fn js_class_filter() -> Result<PathBuf, String> {
    static BUILT: Built = OnceLock::new();
    once(&BUILT, || {
        build("js-class-filter", "@bytecodealliance/componentize-js", |out| {
            let mut command = Command::new("node");
            command.arg("build.mjs").arg(out);
            command
        })
    })
}

/// Builds the AssemblyScript filter (a core module) once per test binary and returns
/// its `.wasm`, or why it cannot be built here.
pub fn min_confidence_as() -> Result<PathBuf, String> {
    static BUILT: Built = OnceLock::new();
    once(&BUILT, || {
        build("min-confidence-as", "assemblyscript", |out| {
            let mut command = Command::new("node");
            command
                .arg(
                    Path::new("node_modules")
                        .join("assemblyscript")
                        .join("bin")
                        .join("asc.js"),
                )
                .arg(Path::new("assembly").join("index.ts"))
                .arg("-o")
                .arg(out)
                .args(["--runtime", "incremental", "--optimize"]);
            command
        })
    })
}

fn once(slot: &Built, build: impl FnOnce() -> Result<PathBuf, String>) -> Result<PathBuf, String> {
    let slot = slot.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    slot.get_or_insert_with(build).clone()
}

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Installs `plugins/{example}`'s npm packages when `package` is missing, then runs the
/// build command (given the output path) in that folder.
fn build(example: &str, package: &str, command: impl FnOnce(&Path) -> Command) -> Result<PathBuf, String> {
    if !available("node") || !available("npm") {
        return Err(format!("node and npm are not installed, so {example} cannot be built"));
    }
    let dir = workspace().join("plugins").join(example);
    if !dir.join("node_modules").join(package).exists() {
        let out = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("running npm install: {e}"))?;
        if !out.status.success() {
            panic!(
                "npm install in {} failed:\n{}",
                dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let target = workspace().join("target").join("node-plugins");
    std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
    let wasm = target.join(format!("{}.wasm", example.replace('-', "_")));
    let out = command(&wasm)
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("running node: {e}"))?;
    // node is here, so a failed build is a real failure, not a skip.
    assert!(
        out.status.success(),
        "building {example} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(wasm)
}

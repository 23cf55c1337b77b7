//! Building the JavaScript example filter (`plugins/js-class-filter`) from source.
//!
//! node and npm are on every machine this project builds on, so the suite builds the
//! filter for real; on a machine without them the tests that need it say they were
//! skipped and why, rather than pass silently.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::workspace;

/// Builds the JavaScript filter once per test binary and returns its `.wasm`, or why
/// it cannot be built here.
pub fn js_class_filter() -> Result<PathBuf, String> {
    static BUILT: OnceLock<Mutex<Option<Result<PathBuf, String>>>> = OnceLock::new();
    let slot = BUILT.get_or_init(|| Mutex::new(None));
    let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    slot.get_or_insert_with(build).clone()
}

fn available(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

fn build() -> Result<PathBuf, String> {
    if !available("node") || !available("npm") {
        return Err("node and npm are not installed, so the JavaScript filter cannot be built".into());
    }
    let dir = workspace().join("plugins").join("js-class-filter");
    if !dir
        .join("node_modules")
        .join("@bytecodealliance")
        .join("componentize-js")
        .exists()
    {
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
    let target = workspace().join("target").join("js-plugins");
    std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
    let wasm = target.join("js_class_filter.wasm");
    let out = Command::new("node")
        .arg("build.mjs")
        .arg(&wasm)
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("running node: {e}"))?;
    // node is here, so a failed build is a real failure, not a skip.
    assert!(
        out.status.success(),
        "building the JavaScript filter failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(wasm)
}

//! Building the example filters that need node (`plugins/javascript/class-filter` with
//! componentize-js, `plugins/assemblyscript/min-confidence` with AssemblyScript) from
//! source, and what a test does when a toolchain is missing ([`required`]).
//!
//! node and npm are on every machine this project builds on, so the suite builds the
//! filters for real. Where they are missing, [`required`] decides: with
//! `WEIR_REQUIRE_TOOLCHAINS` set (`.ci/run` sets it) the test fails; without it (a
//! developer's machine) the test is skipped, and says so on the terminal whatever the
//! harness captures.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::workspace;

/// The variable that turns a missing toolchain from a skip into a failure.
pub const REQUIRE_TOOLCHAINS: &str = "WEIR_REQUIRE_TOOLCHAINS";

/// The built filter, or `None` when the toolchain is missing and the test `test` is to
/// be skipped. With `WEIR_REQUIRE_TOOLCHAINS` set, a missing toolchain panics instead:
/// in CI a test that cannot run has failed. A skip is written straight to the process's
/// stderr (not through `eprintln!`, which the test harness captures and hides for a
/// passing test), and to `target/test-skips.txt`, so it is seen.
pub fn required<T>(test: &str, built: Result<T, String>) -> Option<T> {
    let why = match built {
        Ok(built) => return Some(built),
        Err(why) => why,
    };
    let required = std::env::var_os(REQUIRE_TOOLCHAINS).is_some_and(|v| !v.is_empty() && v != "0");
    assert!(
        !required,
        "{test}: {why}; {REQUIRE_TOOLCHAINS} is set, so a missing toolchain fails the run"
    );
    let line = format!("SKIPPED {test}: {why} (set {REQUIRE_TOOLCHAINS}=1 to make this a failure)\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    let skips = workspace().join("target").join("test-skips.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(skips) {
        let _ = file.write_all(line.as_bytes());
    }
    None
}

type Built = OnceLock<Mutex<Option<Result<PathBuf, String>>>>;

/// Builds the JavaScript filter (a component, with the JavaScript SDK) once per test
/// binary and returns its `.wasm`, or why it cannot be built here.
pub fn js_class_filter() -> Result<PathBuf, String> {
    crate::languages::example("javascript", "class-filter")
}

/// Builds the AssemblyScript filter (a core module) once per test binary and returns
/// its `.wasm`, or why it cannot be built here.
pub fn min_confidence_as() -> Result<PathBuf, String> {
    static BUILT: Built = OnceLock::new();
    once(&BUILT, || {
        build("assemblyscript/min-confidence", "assemblyscript", |out| {
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
    let wasm = target.join(format!("{}.wasm", example.replace(['-', '/'], "_")));
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

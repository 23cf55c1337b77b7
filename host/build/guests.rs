// Builds workspace packages as WebAssembly components (wasm32-wasip2), for build
// scripts. Shared by `host/build.rs` (the example plugins Weir embeds) and
// `tests/build.rs` (the misbehaving guests of the test suite) through `include!`.
//
// The nested cargo uses its own target folder next to the outer one, so it never
// waits on the outer build's lock, and the `plugin` profile of the workspace.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` and returns the folder holding their `.wasm` files (named after
/// each package, with `-` turned into `_`).
fn build_guests(workspace: &Path, packages: &[&str]) -> PathBuf {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    // OUT_DIR is <target>/<profile>/build/<package>-<hash>/out: share one guest build
    // between the dev, release and clippy builds of the same target folder.
    let target = out_dir
        .ancestors()
        .nth(4)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.clone());
    let guest_target = target.join("wasm-guests");

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--profile", "plugin", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&guest_target);
    for package in packages {
        command.args(["-p", package]);
    }
    // What the outer build set for itself must not leak into the guest build: its
    // flags target the host, and clippy's wrapper would lint the guests again.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command.status().expect("running cargo for the wasm32-wasip2 guests");
    if !status.success() {
        panic!(
            "building {} for wasm32-wasip2 failed (see above). If the target is missing, \
             run `rustup target add wasm32-wasip2`.",
            packages.join(", ")
        );
    }
    for package in packages {
        let dir = workspace.join(package_dir(workspace, package));
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        println!("cargo:rerun-if-changed={}", dir.join("Cargo.toml").display());
    }
    for shared in ["plugin-sdk/rust/src", "plugin-sdk/rust/Cargo.toml", "plugin-sdk/contract/src", "plugin-sdk/contract/Cargo.toml", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", workspace.join(shared).display());
    }
    guest_target.join("wasm32-wasip2").join("plugin")
}

/// The folder of a workspace package, found by its manifest's `name`.
fn package_dir(workspace: &Path, package: &str) -> PathBuf {
    for parent in ["plugins/rust", "tests/guests"] {
        let Ok(entries) = std::fs::read_dir(workspace.join(parent)) else { continue };
        for entry in entries.flatten() {
            let manifest = entry.path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
            if text.lines().any(|line| line.trim() == format!("name = \"{package}\"")) {
                return entry.path().strip_prefix(workspace).unwrap_or(&entry.path()).to_path_buf();
            }
        }
    }
    panic!("no package named {package} under plugins/rust/ or tests/guests/");
}

// Builds the example plugins for wasm32-wasip2 so the `weir` binary can embed them:
// the default config runs them with no plugin folder at all.

include!("guests.rs");

/// The example plugins Weir embeds, by package name.
const EXAMPLES: [&str; 4] = ["class-filter", "strip-masks", "reshape", "route-by-class"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ is inside the workspace");
    let dir = build_guests(workspace, &EXAMPLES);
    for example in EXAMPLES {
        let file = dir.join(format!("{}.wasm", example.replace('-', "_")));
        assert!(file.exists(), "{} was not built", file.display());
    }
    println!("cargo:rustc-env=WEIR_EXAMPLE_PLUGINS={}", dir.display());
    println!("cargo:rerun-if-changed=build");
}

// Builds the example plugins for wasm32-wasip2 so the `weir` binary can embed them:
// the default config runs them with no plugin folder at all. Also embeds the templates
// of `weir new`, and the commit Weir is built from (for `weir --version`).

include!("guests.rs");
include!("templates.rs");
include!("commit.rs");

/// The example plugins Weir embeds, by package name: the one list of them.
const EXAMPLES: [&str; 5] = ["class-filter", "strip-masks", "reshape", "route-by-class", "cooldown"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("host/ is inside the workspace");
    let dir = build_guests(workspace, &EXAMPLES);
    // The table `plugin::examples` includes: one entry per example, its bytes embedded.
    let mut table = format!(
        "/// Every embedded example plugin.\npub const EXAMPLES: [Example; {}] = [\n",
        EXAMPLES.len()
    );
    for example in EXAMPLES {
        let file = dir.join(format!("{}.wasm", example.replace('-', "_")));
        assert!(file.exists(), "{} was not built", file.display());
        table.push_str(&format!(
            "    Example {{ name: {example:?}, bytes: include_bytes!({:?}) }},\n",
            file.display().to_string()
        ));
    }
    table.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("examples.rs"), table).expect("writing the examples table");
    write_templates(workspace, &out_dir);
    println!("cargo:rustc-env=WEIR_EXAMPLE_PLUGINS={}", dir.display());
    // `weir --version`: the commit, from `$WEIR_COMMIT` or git, else `unknown`.
    let commit = commit_of(workspace, std::env::var("WEIR_COMMIT").ok());
    println!("cargo:rustc-env=WEIR_BUILD_COMMIT={commit}");
    println!("cargo:rerun-if-env-changed=WEIR_COMMIT");
    for input in commit_inputs(workspace) {
        println!("cargo:rerun-if-changed={}", input.display());
    }
    println!("cargo:rerun-if-changed=build");
}

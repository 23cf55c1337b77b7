// Builds the test suite's guest plugins (tests/guests/*) for wasm32-wasip2.

include!("../host/build/guests.rs");

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.parent().expect("tests/ is inside the workspace");
    let dir = build_guests(workspace, &["weir-test-guest"]);
    println!("cargo:rustc-env=WEIR_TEST_GUESTS={}", dir.display());
    println!("cargo:rerun-if-changed=build.rs");
}

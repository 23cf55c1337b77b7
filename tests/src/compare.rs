//! Comparing what Weir produced with what it should have: golden files
//! (`tests/golden/`) and JSON documents.

use crate::workspace;

/// Compares `actual` with the golden file `tests/golden/NAME`, byte for byte. Run the
/// suite with `WEIR_UPDATE_GOLDEN=1` to write the files after a deliberate change, and
/// review the diff. In CI (`CI` set) the variable is refused: there a golden file is
/// only ever compared, so a stray variable cannot turn every comparison into a pass.
#[track_caller]
pub fn golden(name: &str, actual: &str) {
    let path = workspace().join("tests").join("golden").join(name);
    if std::env::var_os("WEIR_UPDATE_GOLDEN").is_some() {
        assert!(
            std::env::var_os("CI").is_none(),
            "WEIR_UPDATE_GOLDEN is set in CI (CI is set): golden files are compared in CI, never written; \
             update them locally and commit the diff"
        );
        std::fs::create_dir_all(path.parent().expect("golden files live in a folder")).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no golden file {}; run with WEIR_UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the output:\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Asserts that `actual` is the JSON document `expected`: same values, same key order
/// (whitespace and number spelling aside).
#[track_caller]
pub fn assert_json(actual: &str, expected: serde_json::Value) {
    let parsed: serde_json::Value = serde_json::from_str(actual).unwrap_or_else(|e| panic!("not JSON ({e}): {actual}"));
    assert_eq!(parsed.to_string(), expected.to_string());
}

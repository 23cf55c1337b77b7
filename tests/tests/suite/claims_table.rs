//! `tests/README.md` maps each claim of the README to the tests that prove it; this
//! keeps the table honest: every test it names exists (a renamed or removed test
//! fails here until the table says what proves the claim now).

use weir_tests::workspace;

/// The backquoted `word::word` and `word::*` names of a text.
fn named_tests(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|quoted| {
            let (module, test) = quoted.split_once("::")?;
            let word = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            (word(module) && (test == "*" || word(test))).then(|| (module.to_string(), test.to_string()))
        })
        .collect()
}

/// The backquoted function names in the parentheses after a backquoted `host/...` path.
fn named_unit_tests(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for piece in text.split("`host/").skip(1) {
        let Some((path, rest)) = piece.split_once('`') else {
            continue;
        };
        let Some(inner) = rest
            .strip_prefix(" (")
            .and_then(|r| r.split_once(')'))
            .map(|(inner, _)| inner)
        else {
            continue;
        };
        for name in inner.split('`').skip(1).step_by(2) {
            found.push((format!("host/{path}"), name.to_string()));
        }
    }
    found
}

#[test]
fn every_test_the_claims_table_names_exists() {
    let table = std::fs::read_to_string(workspace().join("tests").join("README.md")).unwrap();
    let suite = workspace().join("tests").join("tests").join("suite");
    let names = named_tests(&table);
    assert!(names.len() > 50, "the table names too few tests: {names:?}");
    let mut missing = Vec::new();
    for (module, test) in names {
        if module == "module" {
            continue; // the table's own explanation of the notation
        }
        let Ok(source) = std::fs::read_to_string(suite.join(format!("{module}.rs"))) else {
            missing.push(format!("{module}::{test} (no module {module})"));
            continue;
        };
        if test != "*" && !source.contains(&format!("fn {test}(")) {
            missing.push(format!("{module}::{test}"));
        }
    }
    for (path, test) in named_unit_tests(&table) {
        let source = std::fs::read_to_string(workspace().join(&path)).unwrap_or_default();
        if !source.contains(&format!("fn {test}(")) {
            missing.push(format!("{path}: {test}"));
        }
    }
    assert!(
        missing.is_empty(),
        "tests/README.md names tests that do not exist: {missing:#?}"
    );
}

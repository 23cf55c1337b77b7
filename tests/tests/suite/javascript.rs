//! The JavaScript example filter, built from source with componentize-js, run side by
//! side with the Rust class filter: same config, same fixtures, same outputs.

use weir::plugin::Outcome;
use weir_tests::filters::{example_filter, run};
use weir_tests::node::js_class_filter;
use weir_tests::{FIXTURES, fixture_event, load};

#[tokio::test]
async fn the_javascript_class_filter_matches_the_rust_one_on_every_fixture() {
    let Some(wasm) = weir_tests::node::required(
        "the_javascript_class_filter_matches_the_rust_one_on_every_fixture",
        js_class_filter(),
    ) else {
        return;
    };
    let plugin = load("js-class-filter", &wasm);
    let configs = [
        r#"{"classes":["person","car"],"min_confidence":0.5}"#,
        r#"{"classes":["person"],"min_confidence":0.9}"#,
        r#"{"classes":["vehicle","forklift-present"]}"#,
        r#"{}"#,
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for config in configs {
        // A JavaScript engine's first calls are slow on a loaded machine: the deadline
        // here is not what is tested.
        let settings = weir::plugin::FilterSettings {
            config: config.into(),
            timeout: std::time::Duration::from_secs(5),
            ..Default::default()
        };
        let js = weir::plugin::Filter::new(plugin.clone(), settings).await.unwrap();
        let rust = example_filter("class-filter", config).await;
        for fixture in FIXTURES {
            let from_js = run(&js, fixture_event(fixture)).await.unwrap();
            let from_rust = run(&rust, fixture_event(fixture)).await.unwrap();
            // Both keep predictions by index and Weir edits the document: the outputs
            // are the same to the byte.
            assert_eq!(from_js, from_rust, "{fixture} with {config}");
            kinds.insert(match from_js {
                Outcome::Kept => "kept",
                Outcome::Modified(_) => "modified",
                Outcome::Dropped(_) => "dropped",
            });
        }
    }
    // The comparison covered every kind of verdict.
    assert_eq!(kinds.into_iter().collect::<Vec<_>>(), ["dropped", "kept", "modified"]);
}

#[tokio::test]
async fn the_javascript_filter_refuses_a_bad_config() {
    let Some(wasm) = weir_tests::node::required("the_javascript_filter_refuses_a_bad_config", js_class_filter()) else {
        return;
    };
    let plugin = load("js-class-filter", &wasm);
    let settings = weir::plugin::FilterSettings {
        config: r#"{"min_confidence": 7}"#.into(),
        ..Default::default()
    };
    let Err(error) = weir::plugin::Filter::new(plugin, settings).await else {
        panic!("accepted")
    };
    assert!(
        error
            .to_string()
            .contains("min_confidence must be between 0 and 1, got 7"),
        "{error}"
    );
}

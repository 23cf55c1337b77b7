//! Each example filter on the fixture events of the seed formats (all five task types
//! and the batch job format), checking the exact output.

use serde_json::json;
use weir::event::Task;
use weir::plugin::Outcome;
use weir_tests::filters::{attachment_names, example_filter, modified, run};
use weir_tests::{assert_json, fixture_event, golden};

fn header(task: &str) -> serde_json::Value {
    json!({
        "camera": "dock-3",
        "timestamp": "2026-11-22T10:15:30.120Z",
        "image": { "width": 640, "height": 360 },
        "task": task,
    })
}

/// The fixture header with these predictions, in fixture key order.
fn doc(task: &str, predictions: serde_json::Value) -> serde_json::Value {
    let mut doc = header(task);
    doc["predictions"] = predictions;
    doc
}

fn bbox(x: u32, y: u32, width: u32, height: u32) -> serde_json::Value {
    json!({ "x": x, "y": y, "width": width, "height": height })
}

#[tokio::test]
async fn class_filter_keeps_confident_people_and_cars_in_object_detection() {
    let filter = example_filter("class-filter", r#"{"classes":["person","car"],"min_confidence":0.5}"#).await;
    let event = modified(run(&filter, fixture_event("object-detection")).await);
    assert_eq!(event.task, Task::OBJECT_DETECTION);
    assert_json(
        &event.predictions,
        doc(
            "object-detection",
            json!([
                { "class": "person", "confidence": 0.97, "bbox": bbox(80, 60, 60, 200) },
                { "class": "person", "confidence": 0.91, "bbox": bbox(300, 80, 50, 170) },
                { "class": "car", "confidence": 0.88, "bbox": bbox(400, 180, 200, 120) },
                { "class": "car", "confidence": 0.76, "bbox": bbox(20, 200, 100, 80) },
            ]),
        ),
    );
    golden("class-filter.object-detection.json", &event.predictions);
    assert_eq!(attachment_names(&event), ["image.jpeg"]);
}

#[tokio::test]
async fn class_filter_drops_or_keeps_a_classification() {
    let filter = example_filter("class-filter", r#"{"classes":["person"],"min_confidence":0.5}"#).await;
    let outcome = run(&filter, fixture_event("classification")).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Dropped("no prediction of person at confidence >= 0.5".into())
    );

    let filter = example_filter(
        "class-filter",
        r#"{"classes":["forklift-present"],"min_confidence":0.9}"#,
    )
    .await;
    assert_eq!(
        run(&filter, fixture_event("classification")).await.unwrap(),
        Outcome::Kept
    );
}

#[tokio::test]
async fn class_filter_narrows_multilabel_labels() {
    let filter = example_filter(
        "class-filter",
        r#"{"classes":["person","hard-hat"],"min_confidence":0.5}"#,
    )
    .await;
    let event = modified(run(&filter, fixture_event("multilabel-classification")).await);
    assert_json(
        &event.predictions,
        doc(
            "multilabel-classification",
            json!([{ "class": "person", "confidence": 0.96 }]),
        ),
    );
    golden("class-filter.multilabel-classification.json", &event.predictions);
}

#[tokio::test]
async fn class_filter_removes_instances_and_their_masks() {
    let filter = example_filter("class-filter", r#"{"classes":["person"],"min_confidence":0.5}"#).await;
    let event = modified(run(&filter, fixture_event("instance-segmentation")).await);
    assert_json(
        &event.predictions,
        doc(
            "instance-segmentation",
            json!([
                { "class": "person", "confidence": 0.97, "bbox": bbox(80, 60, 60, 200), "mask": "mask_0000.png" },
                { "class": "person", "confidence": 0.91, "bbox": bbox(300, 80, 50, 170), "mask": "mask_0001.png" },
            ]),
        ),
    );
    golden("class-filter.instance-segmentation.json", &event.predictions);
    assert_eq!(
        attachment_names(&event),
        ["image.jpeg", "mask_0000.png", "mask_0001.png"]
    );
}

#[tokio::test]
async fn class_filter_judges_semantic_regions_by_class_alone() {
    let filter = example_filter(
        "class-filter",
        r#"{"classes":["person","vehicle"],"min_confidence":0.9}"#,
    )
    .await;
    let event = modified(run(&filter, fixture_event("semantic-segmentation")).await);
    assert_json(
        &event.predictions,
        doc(
            "semantic-segmentation",
            json!([
                { "class": "person", "mask": "mask_0001.png" },
                { "class": "vehicle", "mask": "mask_0002.png" },
            ]),
        ),
    );
    golden("class-filter.semantic-segmentation.json", &event.predictions);
    assert_eq!(
        attachment_names(&event),
        ["image.jpeg", "mask_0001.png", "mask_0002.png"]
    );
}

#[tokio::test]
async fn class_filter_narrows_both_lists_of_a_batch_job_result() {
    let filter = example_filter("class-filter", r#"{"classes":["person"],"min_confidence":0.5}"#).await;
    let event = modified(run(&filter, fixture_event("job-results")).await);
    let mut expected: serde_json::Value = serde_json::from_str(&weir_tests::fixture("job-results.json")).unwrap();
    expected["jobResults"].as_array_mut().unwrap().remove(1);
    expected["imageResults"].as_array_mut().unwrap().remove(1);
    assert_json(&event.predictions, expected.clone());
    golden("class-filter.job-results.json", &event.predictions);
    assert_eq!(expected["jobResults"][0]["class"], "person");
    assert_eq!(expected["imageResults"][0]["objects"][0]["class"], "person");
}

#[tokio::test]
async fn strip_masks_removes_mask_files_and_references() {
    let filter = example_filter("strip-masks", "{}").await;
    let event = modified(run(&filter, fixture_event("instance-segmentation")).await);
    assert_eq!(attachment_names(&event), ["image.jpeg"]);
    assert_json(
        &event.predictions,
        doc(
            "instance-segmentation",
            json!([
                { "class": "person", "confidence": 0.97, "bbox": bbox(80, 60, 60, 200) },
                { "class": "person", "confidence": 0.91, "bbox": bbox(300, 80, 50, 170) },
                { "class": "car", "confidence": 0.88, "bbox": bbox(400, 180, 200, 120) },
                { "class": "dog", "confidence": 0.42, "bbox": bbox(200, 250, 60, 70) },
            ]),
        ),
    );
    golden("strip-masks.instance-segmentation.json", &event.predictions);

    let event = modified(run(&filter, fixture_event("semantic-segmentation")).await);
    assert_json(
        &event.predictions,
        doc(
            "semantic-segmentation",
            json!([{ "class": "road" }, { "class": "person" }, { "class": "vehicle" }]),
        ),
    );
    golden("strip-masks.semantic-segmentation.json", &event.predictions);
    assert_eq!(
        run(&filter, fixture_event("object-detection")).await.unwrap(),
        Outcome::Kept
    );
}

#[tokio::test]
async fn reshape_turns_each_task_into_a_chat_message() {
    let filter = example_filter("reshape", "{}").await;
    let cases = [
        (
            "object-detection",
            "dock-3: 3 person (0.97, 0.91, 0.38), 2 car (0.88, 0.76), 1 dog (0.42)",
        ),
        ("classification", "dock-3: 1 forklift-present (0.93)"),
        (
            "multilabel-classification",
            "dock-3: 1 person (0.96), 1 vehicle (0.81), 1 hard-hat (0.22)",
        ),
        (
            "instance-segmentation",
            "dock-3: 2 person (0.97, 0.91), 1 car (0.88), 1 dog (0.42)",
        ),
        ("semantic-segmentation", "dock-3: 1 road, 1 person, 1 vehicle"),
    ];
    for (fixture, text) in cases {
        let event = modified(run(&filter, fixture_event(fixture)).await);
        assert_eq!(
            event.predictions.as_str(),
            json!({ "text": text }).to_string(),
            "{fixture}"
        );
    }

    let filter = example_filter(
        "reshape",
        r#"{"template":"{feedId} ({task}): {summary}","field":"content","include":["id","status"],"min_confidence":0.99}"#,
    )
    .await;
    let event = modified(run(&filter, fixture_event("job-results")).await);
    assert_eq!(
        event.predictions.as_str(),
        json!({
            "content": "Camera_123456 (other): 1 person (1.00), 1 car (1.00)",
            "id": "5d689c71-e68f-46c3-ac71-4053806e71de",
            "status": "COMPLETED_SUCCESSFULLY",
        })
        .to_string()
    );
}

#[tokio::test]
async fn route_by_class_narrows_destinations_by_class() {
    let config =
        r#"{"routes":{"person":["security"],"car":["parking"],"forklift-present":["safety"]},"min_confidence":0.5}"#;
    let filter = example_filter("route-by-class", config).await;
    let bound = |fixture: &str| {
        let mut event = fixture_event(fixture);
        event.destinations = vec!["archive".into(), "parking".into(), "safety".into(), "security".into()];
        event
    };
    let event = modified(run(&filter, bound("object-detection")).await);
    assert_eq!(event.destinations, ["parking", "security"]);
    let event = modified(run(&filter, bound("classification")).await);
    assert_eq!(event.destinations, ["safety"]);
    let event = modified(run(&filter, bound("job-results")).await);
    assert_eq!(event.destinations, ["parking", "security"]);
    // Semantic regions have no confidence: the class alone counts.
    let event = modified(run(&filter, bound("semantic-segmentation")).await);
    assert_eq!(event.destinations, ["security"]);
    let event = modified(run(&filter, bound("multilabel-classification")).await);
    assert_eq!(event.destinations, ["security"]);
    let mut unrouted = bound("classification");
    unrouted.predictions = r#"{"predictions":[{"class":"cat","confidence":0.9}]}"#.into();
    let outcome = run(&filter, unrouted).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::Dropped("no class with a configured destination".into())
    );
}

#[tokio::test]
async fn the_three_rust_filters_chain_on_an_instance_segmentation() {
    let chain = [
        example_filter("class-filter", r#"{"classes":["person","car"],"min_confidence":0.5}"#).await,
        example_filter("strip-masks", "{}").await,
        example_filter("reshape", r#"{"template":"{camera}: {summary}"}"#).await,
    ];
    let mut event = std::sync::Arc::new(fixture_event("instance-segmentation"));
    for filter in &chain {
        if let Outcome::Modified(changed) = filter.run(&event).await.unwrap() {
            event = changed;
        }
    }
    assert_eq!(
        event.predictions.as_str(),
        json!({ "text": "dock-3: 2 person (0.97, 0.91), 1 car (0.88)" }).to_string()
    );
    assert_eq!(attachment_names(&event), ["image.jpeg"]);
}

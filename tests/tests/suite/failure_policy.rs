//! A filter that traps, under each of the three failure policies.

use serde_json::{Value, json};
use weir::config::FailurePolicy;
use weir_tests::config::{Destination, Filter, Plugins, Route};
use weir_tests::receiver::Receiver;
use weir_tests::records::destinations;
use weir_tests::router::start;
use weir_tests::{WeirConfig, test_guest_path};

async fn route_with_trapping_filter(
    policy: FailurePolicy,
    main: &Receiver,
    failed: &Receiver,
) -> weir_tests::router::Weir {
    let route = Route::to(["main"])
        .filter(Filter::plugin("weir_test_guest").config(json!({ "mode": "pass" })))
        .filter(Filter::plugin("strip-masks"))
        .on_filter_error(policy);
    start(
        &WeirConfig::new()
            .plugins(Plugins::new().dir(test_guest_path().parent().unwrap()))
            .route("cameras", route)
            .destination("main", Destination::url(main.url()))
            .destination("failed", Destination::url(failed.url())),
    )
    .await
}

/// An event the test guest panics on (its metadata asks it to).
async fn post_trapping(weir: &weir_tests::router::Weir) -> Value {
    let answer = weir
        .client
        .post(weir.ingest_url("cameras"))
        .header("content-type", "application/json")
        .header("x-weir-meta-mode", "panic")
        .body(r#"{"predictions":[{"class":"person","mask":"mask_0000.png"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    answer.json().await.unwrap()
}

#[tokio::test]
async fn drop_policy_stops_the_event() {
    let (mut main, mut failed) = (Receiver::ok().await, Receiver::ok().await);
    let weir = route_with_trapping_filter(FailurePolicy::Drop, &main, &failed).await;
    let answer = post_trapping(&weir).await;
    assert_eq!(answer["status"], "dropped");
    let reason = answer["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("filter failed: plugin weir_test_guest trapped"),
        "{reason}"
    );
    assert!(reason.contains("misbehave: panic in filter as asked"), "{reason}");
    // Nothing of the dropped event was stored, so nothing of it will be delivered.
    let record = weir
        .admin_get(&format!("/admin/events/{}", answer["id"].as_str().unwrap()))
        .await;
    assert_eq!(record.status(), 404);
    // The next event, which does not trap, goes through: nothing was delivered before.
    weir.post_json("cameras", r#"{"predictions":[]}"#).await;
    assert_eq!(main.next().await.json(), serde_json::json!({ "predictions": [] }));
    assert!(failed.try_next().is_none());
    weir.stop().await;
}

#[tokio::test]
async fn pass_policy_skips_the_failed_filter_only() {
    let (mut main, mut failed) = (Receiver::ok().await, Receiver::ok().await);
    let weir = route_with_trapping_filter(FailurePolicy::Pass, &main, &failed).await;
    let answer = post_trapping(&weir).await;
    assert_eq!(answer["status"], "accepted");
    // The trapping filter was skipped; strip-masks after it still ran.
    assert_eq!(
        main.next().await.json(),
        serde_json::json!({ "predictions": [{ "class": "person" }] })
    );
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    assert_eq!(destinations(&record), ["main"], "{record}");
    assert!(failed.try_next().is_none());
    weir.stop().await;
}

#[tokio::test]
async fn send_to_policy_routes_the_event_to_the_failure_destination_with_the_error() {
    let (mut main, mut failed) = (Receiver::ok().await, Receiver::ok().await);
    let weir = route_with_trapping_filter(FailurePolicy::SendTo("failed".into()), &main, &failed).await;
    let answer = post_trapping(&weir).await;
    assert_eq!(answer["status"], "accepted");
    assert_eq!(answer["destinations"], serde_json::json!(["failed"]));
    let request = failed.next().await;
    // The event as it was when the filter failed, with why.
    assert_eq!(
        request.json(),
        serde_json::json!({ "predictions": [{ "class": "person", "mask": "mask_0000.png" }] })
    );
    assert_eq!(request.header("x-weir-meta-weir-failed-filter"), "weir_test_guest");
    assert!(
        request.header("x-weir-meta-weir-error").contains("trapped"),
        "{:?}",
        request.headers
    );
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    assert_eq!(destinations(&record), ["failed"], "{record}");
    assert!(main.try_next().is_none());
    weir.stop().await;
}

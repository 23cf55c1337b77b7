//! The router end to end: real HTTP in, filters, real receivers out.

use std::time::Duration;

use serde_json::Value;
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::router::start;
use weir_tests::{camera_multipart, fixture, fixture_bytes, parse_multipart};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn survivors_reach_a_json_and_a_multipart_destination_with_the_image_but_no_masks() {
    let (mut json_hook, mut multipart_hook) = (Receiver::ok().await, Receiver::ok().await);
    let weir = start(&format!(
        r#"
        [routes.cameras]
        filters = [{{ plugin = "class-filter", config = {{ classes = ["person"], min_confidence = 0.5 }} }}]
        destinations = ["json", "multipart"]
        [destinations.json]
        url = "{}"
        [destinations.multipart]
        url = "{}"
        format = "multipart"
        include_image = true
        "#,
        json_hook.url(),
        multipart_hook.url()
    ))
    .await;

    // A frame without a person: dropped, delivered nowhere.
    let dropped = weir.post_json("cameras", &fixture("classification.json")).await;
    assert_eq!(dropped.status(), 202);
    let dropped: Value = dropped.json().await.unwrap();
    assert_eq!(dropped["status"], "dropped");
    assert_eq!(
        dropped["reason"],
        "class-filter: no prediction of person at confidence >= 0.5"
    );

    // A camera frame with people, sent as seed 000 sends it.
    let (content_type, body_bytes) = camera_multipart("instance-segmentation");
    let accepted = weir
        .client
        .post(weir.ingest_url("cameras"))
        .header("content-type", content_type)
        .header("x-weir-meta-camera", "dock-3")
        .body(body_bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["status"], "accepted");
    let id = accepted["id"].as_str().unwrap().to_string();

    // The first (and only) thing each receiver sees is the survivor.
    let json = json_hook.next().await;
    assert_eq!(json.header("webhook-id"), id);
    assert_eq!(json.header("content-type"), "application/json");
    assert_eq!(json.header("x-weir-meta-camera"), "dock-3");
    assert_eq!(json.header("x-weir-task"), "instance-segmentation");
    let classes: Vec<Value> = json.json()["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].clone())
        .collect();
    assert_eq!(classes, ["person", "person"]);

    let multipart = multipart_hook.next().await;
    assert_eq!(multipart.header("webhook-id"), id);
    let parts = parse_multipart(multipart.header("content-type"), multipart.body.clone()).await;
    let names: Vec<&str> = parts.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["predictions.json", "image.jpeg"]);
    assert_eq!(parts[1].1, "image/jpeg");
    assert_eq!(parts[1].2, fixture_bytes("image.jpeg"));
    let predictions: Value = serde_json::from_slice(&parts[0].2).unwrap();
    assert_eq!(predictions["predictions"].as_array().unwrap().len(), 2);

    assert!(
        json_hook.within(Duration::from_millis(300)).await.is_none(),
        "a second delivery arrived"
    );
    weir.stop().await;
}

#[tokio::test]
async fn route_by_class_sends_each_event_only_to_its_destination() {
    let (mut people, mut cars) = (Receiver::ok().await, Receiver::ok().await);
    let weir = start(&format!(
        r#"
        [routes.yard]
        filters = [{{ plugin = "route-by-class", config = {{ routes = {{ person = ["people"], car = ["cars"] }}, min_confidence = 0.5 }} }}]
        destinations = ["people", "cars"]
        [destinations.people]
        url = "{}"
        [destinations.cars]
        url = "{}"
        "#,
        people.url(),
        cars.url()
    ))
    .await;
    let person = r#"{"predictions":[{"class":"person","confidence":0.9}]}"#;
    let car = r#"{"predictions":[{"class":"car","confidence":0.9}]}"#;
    let both = r#"{"predictions":[{"class":"car","confidence":0.9},{"class":"person","confidence":0.8}]}"#;
    let mut ids = Vec::new();
    for body in [person, car, both] {
        let answer: Value = weir.post_json("yard", body).await.json().await.unwrap();
        ids.push(answer["id"].as_str().unwrap().to_string());
    }
    let mut got_people = vec![
        people.next().await.header("webhook-id").to_string(),
        people.next().await.header("webhook-id").to_string(),
    ];
    let mut got_cars = vec![
        cars.next().await.header("webhook-id").to_string(),
        cars.next().await.header("webhook-id").to_string(),
    ];
    got_people.sort();
    got_cars.sort();
    let mut want_people = vec![ids[0].clone(), ids[2].clone()];
    let mut want_cars = vec![ids[1].clone(), ids[2].clone()];
    want_people.sort();
    want_cars.sort();
    assert_eq!(got_people, want_people);
    assert_eq!(got_cars, want_cars);
    assert!(people.within(Duration::from_millis(300)).await.is_none());
    weir.stop().await;
}

#[tokio::test]
async fn a_failing_destination_is_retried_with_a_stable_id_and_a_valid_signature() {
    let mut hook = Receiver::scripted(vec![Answer::Status(500), Answer::Status(500)], Answer::Status(200)).await;
    let weir = start(&format!(
        r#"
        [routes.cameras]
        destinations = ["hook"]
        [destinations.hook]
        url = "{}"
        secret = "{SECRET}"
        retry = {{ initial_delay = "20ms", multiplier = 2.0, jitter = 0.0 }}
        "#,
        hook.url()
    ))
    .await;
    let body = fixture("object-detection.json");
    let answer = weir
        .client
        .post(weir.ingest_url("cameras"))
        .header("content-type", "application/json")
        .header("idempotency-key", "frame-000123")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    assert_eq!(answer.json::<Value>().await.unwrap()["id"], "frame-000123");

    let verifier = standardwebhooks::Webhook::new(SECRET).unwrap();
    let mut timestamps = Vec::new();
    for attempt in 1..=3 {
        let request = hook.next().await;
        assert_eq!(request.header("webhook-id"), "frame-000123");
        assert_eq!(request.header("x-weir-attempt"), attempt.to_string());
        assert_eq!(request.body, body.as_bytes());
        verifier
            .verify(&request.body, &request.headers)
            .unwrap_or_else(|e| panic!("attempt {attempt}: the signature does not verify: {e:?}"));
        timestamps.push(request.header("webhook-timestamp").to_string());
    }
    assert!(
        hook.within(Duration::from_millis(300)).await.is_none(),
        "delivered more than three times"
    );
    weir.stop().await;
}

#[tokio::test]
async fn a_receiver_that_never_answers_delays_neither_ingest_nor_other_destinations() {
    let (mut stuck, mut healthy) = (Receiver::scripted(vec![], Answer::Never).await, Receiver::ok().await);
    let weir = start(&format!(
        r#"
        [routes.cameras]
        destinations = ["stuck", "healthy"]
        [destinations.stuck]
        url = "{}"
        timeout = "30s"
        max_in_flight = 2
        [destinations.healthy]
        url = "{}"
        "#,
        stuck.url(),
        healthy.url()
    ))
    .await;
    let events = 20;
    for i in 0..events {
        let answer = weir
            .post_json("cameras", &format!(r#"{{"predictions":[],"n":{i}}}"#))
            .await;
        assert_eq!(answer.status(), 202);
    }
    // Every event reaches the healthy receiver while the stuck one still holds its
    // first requests: ordering, not a stopwatch.
    for _ in 0..events {
        healthy.next().await;
    }
    let mut stuck_got = 0;
    while stuck.try_next().is_some() {
        stuck_got += 1;
    }
    assert!(
        stuck_got <= 2,
        "the stuck lane took {stuck_got} requests despite max_in_flight = 2"
    );
    weir.stop().await;
}

#[tokio::test]
async fn retry_after_from_a_receiver_is_honoured() {
    let mut hook = Receiver::scripted(vec![Answer::RetryAfter(429, 1)], Answer::Status(200)).await;
    let weir = start(&format!(
        r#"
        [routes.r]
        destinations = ["hook"]
        [destinations.hook]
        url = "{}"
        retry = {{ initial_delay = "10ms", jitter = 0.0 }}
        "#,
        hook.url()
    ))
    .await;
    weir.post_json("r", r#"{"predictions":[]}"#).await;
    hook.next().await;
    // The schedule says 10 ms; the receiver asked for 1 s.
    assert!(
        hook.within(Duration::from_millis(500)).await.is_none(),
        "retried before Retry-After"
    );
    hook.next().await;
    weir.stop().await;
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let mut hook = Receiver::scripted(vec![Answer::Status(400)], Answer::Status(200)).await;
    let weir = start(&format!(
        "[routes.r]\ndestinations = [\"hook\"]\n[destinations.hook]\nurl = \"{}\"\nretry = {{ initial_delay = \"10ms\" }}\n",
        hook.url()
    ))
    .await;
    weir.post_json("r", r#"{"predictions":[]}"#).await;
    hook.next().await;
    assert!(
        hook.within(Duration::from_millis(500)).await.is_none(),
        "a 400 was retried"
    );
    weir.stop().await;
}

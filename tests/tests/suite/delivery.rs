//! The router end to end: real HTTP in, filters, real receivers out.

use std::time::Duration;

use serde_json::{Value, json};
use weir::config::BodyFormat;
use weir_tests::config::{Destination, Filter, Retry, Route};
use weir_tests::receiver::{Answer, Receiver};
use weir_tests::records::{delivery, destinations};
use weir_tests::router::start;
use weir_tests::{WeirConfig, camera_multipart, fixture, fixture_bytes, gap, parse_multipart, parse_time};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Whether a request carries a valid Standard Webhooks signature of its raw body, by
/// the specification and nothing of Weir's: HMAC-SHA256, keyed with the base64 after
/// `whsec_`, of `{webhook-id}.{webhook-timestamp}.{body}`, base64 after `v1,`. (The
/// `standardwebhooks` crate refuses bodies that are not UTF-8, such as a multipart
/// body carrying a JPEG.)
fn signed_over_raw_bytes(request: &weir_tests::receiver::Received) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(SECRET.strip_prefix("whsec_").unwrap()).unwrap();
    let mut signed = format!(
        "{}.{}.",
        request.header("webhook-id"),
        request.header("webhook-timestamp")
    )
    .into_bytes();
    signed.extend_from_slice(&request.body);
    let expected = b64.encode(hmac_sha256::HMAC::mac(&signed, &key));
    request
        .header("webhook-signature")
        .split(' ')
        .any(|signature| signature.strip_prefix("v1,") == Some(expected.as_str()))
}

/// A destination at `receiver` that gets multipart bodies with the image.
fn multipart_with_image(receiver: &Receiver) -> Destination {
    Destination::url(receiver.url())
        .format(BodyFormat::Multipart)
        .include_image(true)
}

#[tokio::test]
async fn survivors_reach_a_json_and_a_multipart_destination_with_the_image_but_no_masks() {
    let (mut json_hook, mut multipart_hook) = (Receiver::ok().await, Receiver::ok().await);
    let weir = start(
        &WeirConfig::new()
            .route(
                "cameras",
                Route::to(["json", "multipart"]).filter(
                    Filter::plugin("class-filter").config(json!({ "classes": ["person"], "min_confidence": 0.5 })),
                ),
            )
            .destination("json", Destination::url(json_hook.url()))
            .destination("multipart", multipart_with_image(&multipart_hook)),
    )
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
    assert_eq!(json.header("x-weir-route"), "cameras");
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

    // Weir's records: one attempt each, both delivered; the dropped frame stored nothing.
    let record = weir.settled(&id).await;
    assert_eq!(destinations(&record), ["json", "multipart"]);
    for name in ["json", "multipart"] {
        let made = delivery(&record, name);
        assert_eq!(
            (&made["state"], &made["attempts"]),
            (&"delivered".into(), &1.into()),
            "{record}"
        );
    }
    let dropped_id = dropped["id"].as_str().unwrap();
    let unknown = weir.admin_get(&format!("/admin/events/{dropped_id}")).await;
    assert_eq!(unknown.status(), 404, "a dropped event left deliveries");
    weir.stop().await;
}

#[tokio::test]
async fn route_by_class_sends_each_event_only_to_its_destination() {
    let (mut people, mut cars) = (Receiver::ok().await, Receiver::ok().await);
    let weir = start(
        &WeirConfig::new()
            .route(
                "yard",
                Route::to(["people", "cars"]).filter(Filter::plugin("route-by-class").config(json!({
                    "routes": { "person": ["people"], "car": ["cars"] },
                    "min_confidence": 0.5,
                }))),
            )
            .destination("people", Destination::url(people.url()))
            .destination("cars", Destination::url(cars.url())),
    )
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
    // Weir's records say where each event went, and nowhere else.
    for (id, expected) in ids.iter().zip([vec!["people"], vec!["cars"], vec!["cars", "people"]]) {
        let record = weir.settled(id).await;
        assert_eq!(destinations(&record), expected, "{record}");
    }
    weir.stop().await;
}

#[tokio::test]
async fn during_a_secret_rotation_each_request_verifies_with_the_old_and_the_new_secret() {
    const NEW: &str = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let mut hook = Receiver::ok().await;
    let weir = start(
        &WeirConfig::new()
            .route("cameras", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url()).secret(&format!("{NEW} {SECRET}"))),
    )
    .await;
    assert_eq!(
        weir.post_json("cameras", &fixture("object-detection.json"))
            .await
            .status(),
        202
    );
    let request = hook.next().await;
    assert_eq!(request.header("webhook-signature").split(' ').count(), 2);
    // The Standard Webhooks reference library accepts it under either secret.
    for secret in [NEW, SECRET] {
        standardwebhooks::Webhook::new(secret)
            .unwrap()
            .verify(&request.body, &request.headers)
            .unwrap_or_else(|e| panic!("{secret}: {e:?}"));
    }
    weir.stop().await;
}

#[tokio::test]
async fn credentials_in_a_url_are_sent_as_basic_auth_and_never_shown() {
    use base64::Engine;
    let mut hook = Receiver::ok().await;
    let url = hook.url().replacen("http://", "http://bot:s3cr%40t@", 1) + "?token=chat-secret";
    let weir = start(
        &WeirConfig::new()
            .route("cameras", Route::to(["hook"]))
            .destination("hook", Destination::url(url)),
    )
    .await;
    assert_eq!(weir.post_json("cameras", "{}").await.status(), 202);
    let request = hook.next().await;
    let expected = base64::engine::general_purpose::STANDARD.encode("bot:s3cr@t");
    assert_eq!(request.header("authorization"), format!("Basic {expected}"));
    let config = weir.admin_get("/admin/config").await.text().await.unwrap();
    assert!(!config.contains("s3cr") && !config.contains("chat-secret"), "{config}");
    assert!(config.contains("token=<redacted>"), "{config}");
    weir.stop().await;
}

#[tokio::test]
async fn a_failing_destination_is_retried_with_a_stable_id_and_a_valid_signature() {
    let mut hook = Receiver::scripted(vec![Answer::Status(500), Answer::Status(500)], Answer::Status(200)).await;
    let weir = start(
        &WeirConfig::new().route("cameras", Route::to(["hook"])).destination(
            "hook",
            Destination::url(hook.url()).secret(SECRET).retry(
                Retry::new()
                    .initial_delay(Duration::from_millis(20))
                    .multiplier(2.0)
                    .jitter(0.0),
            ),
        ),
    )
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
        // The reference crate and the by-hand check agree on a UTF-8 body.
        assert!(signed_over_raw_bytes(&request), "attempt {attempt}");
        timestamps.push(request.header("webhook-timestamp").to_string());
    }
    let record = weir.settled("frame-000123").await;
    let made = delivery(&record, "hook");
    assert_eq!(made["state"], "delivered", "{record}");
    assert_eq!(made["attempts"], 3, "{record}");
    let statuses: Vec<&Value> = made["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, [500, 500, 200], "{record}");
    assert!(hook.try_next().is_none(), "delivered more than three times");
    weir.stop().await;
}

#[tokio::test]
async fn a_receiver_that_never_answers_delays_neither_ingest_nor_other_destinations() {
    let (mut stuck, mut healthy) = (Receiver::scripted(vec![], Answer::Never).await, Receiver::ok().await);
    let weir = start(
        &WeirConfig::new()
            .route("cameras", Route::to(["stuck", "healthy"]))
            .destination(
                "stuck",
                Destination::url(stuck.url())
                    .timeout(Duration::from_secs(30))
                    .max_in_flight(2),
            )
            .destination("healthy", Destination::url(healthy.url())),
    )
    .await;
    let events = 20;
    for i in 0..events {
        let answer = weir
            .post_json("cameras", &format!(r#"{{"predictions":[],"n":{i}}}"#))
            .await;
        assert_eq!(answer.status(), 202);
    }
    // The stuck lane takes exactly its two requests, which are never answered...
    stuck.next().await;
    stuck.next().await;
    // ...while every event reaches the healthy receiver: ordering, not a stopwatch.
    for _ in 0..events {
        healthy.next().await;
    }
    let lanes: Value = weir.admin_json("/admin/destinations").await;
    let stuck_lane = lanes["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "stuck")
        .unwrap();
    assert_eq!(stuck_lane["in_flight"], 2, "{lanes}");
    let mut more = 0;
    while stuck.try_next().is_some() {
        more += 1;
    }
    assert_eq!(
        more,
        0,
        "the stuck lane sent {} requests despite max_in_flight = 2",
        2 + more
    );
    weir.stop().await;
}

#[tokio::test]
async fn retry_after_from_a_receiver_is_honoured() {
    let mut hook = Receiver::scripted(vec![Answer::RetryAfter(429, 1)], Answer::Status(200)).await;
    let weir = start(&WeirConfig::new().route("r", Route::to(["hook"])).destination(
        "hook",
        Destination::url(hook.url()).retry(Retry::new().initial_delay(Duration::from_millis(10)).jitter(0.0)),
    ))
    .await;
    let answer: Value = weir.post_json("r", r#"{"predictions":[]}"#).await.json().await.unwrap();
    let id = answer["id"].as_str().unwrap();
    hook.next().await;
    hook.next().await;
    // The schedule says 10 ms; the receiver asked for 1 s. Weir's own record of the two
    // attempts says how long it waited.
    let record = weir.settled(id).await;
    let made = delivery(&record, "hook");
    assert_eq!(made["state"], "delivered", "{record}");
    let history = made["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{record}");
    assert_eq!(history[0]["status"], 429);
    let waited = gap(parse_time(&history[0]["at"]), parse_time(&history[1]["at"]));
    assert!(
        waited >= Duration::from_secs(1),
        "retried {waited:?} after a Retry-After of 1 s: {record}"
    );
    weir.stop().await;
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let mut hook = Receiver::scripted(vec![Answer::Status(400)], Answer::Status(200)).await;
    let weir = start(&WeirConfig::new().route("r", Route::to(["hook"])).destination(
        "hook",
        Destination::url(hook.url()).retry(Retry::new().initial_delay(Duration::from_millis(10))),
    ))
    .await;
    let answer: Value = weir.post_json("r", r#"{"predictions":[]}"#).await.json().await.unwrap();
    hook.next().await;
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    let made = delivery(&record, "hook");
    assert_eq!(made["state"], "dead", "{record}");
    assert_eq!(made["attempts"], 1, "a 400 was retried: {record}");
    assert_eq!(made["last_error"], "answered 400; not retried");
    assert!(hook.try_next().is_none(), "a 400 was retried");
    weir.stop().await;
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let mut elsewhere = Receiver::ok().await;
    let mut hook = Receiver::scripted(vec![], Answer::Redirect(307, elsewhere.url())).await;
    let weir = start(
        &WeirConfig::new()
            .route("r", Route::to(["hook"]))
            .destination("hook", Destination::url(hook.url())),
    )
    .await;
    let answer: Value = weir.post_json("r", r#"{"predictions":[]}"#).await.json().await.unwrap();
    hook.next().await;
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    let made = delivery(&record, "hook");
    assert_eq!(made["state"], "dead", "{record}");
    assert_eq!(made["last_status"], 307);
    let error = made["last_error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!(
            "answered 307 (redirect to {}); redirects are not followed",
            elsewhere.url()
        )),
        "{error}"
    );
    // Following it would have reached `elsewhere` within the attempt, before the record.
    assert!(elsewhere.try_next().is_none(), "the redirect was followed");
    weir.stop().await;
}

#[tokio::test]
async fn an_attempt_past_the_destination_timeout_fails_with_no_answer() {
    let mut hook = Receiver::scripted(vec![], Answer::Slow(200, Duration::from_secs(5))).await;
    let weir = start(
        &WeirConfig::new().route("r", Route::to(["hook"])).destination(
            "hook",
            Destination::url(hook.url())
                .timeout(Duration::from_millis(200))
                .retry(Retry::new().max_retries(0)),
        ),
    )
    .await;
    let answer: Value = weir.post_json("r", r#"{"predictions":[]}"#).await.json().await.unwrap();
    hook.next().await;
    // The receiver would answer 200 after 5 s; the attempt gave up at its timeout.
    let record = weir.settled(answer["id"].as_str().unwrap()).await;
    let made = delivery(&record, "hook");
    assert_eq!(made["state"], "dead", "{record}");
    assert_eq!(made["history"][0]["status"], Value::Null, "{record}");
    assert_eq!(
        made["last_error"], "no answer within 200 ms; gave up after 1 attempts",
        "{record}"
    );
    weir.stop().await;
}

const IMAGE_AND_MASKS: [&str; 5] = [
    "image.jpeg",
    "mask_0000.png",
    "mask_0001.png",
    "mask_0002.png",
    "mask_0003.png",
];

#[tokio::test]
async fn include_masks_sends_the_masks_and_a_signed_multipart_verifies_over_its_raw_bytes() {
    let (mut masks, mut no_masks) = (Receiver::ok().await, Receiver::ok().await);
    let weir = start(
        &WeirConfig::new()
            .route("cameras", Route::to(["masks", "no-masks"]))
            .destination("masks", multipart_with_image(&masks).include_masks(true).secret(SECRET))
            .destination("no-masks", multipart_with_image(&no_masks)),
    )
    .await;
    let (content_type, body) = camera_multipart("instance-segmentation");
    let answer = weir.post("cameras", &content_type, body).await;
    assert_eq!(answer.status(), 202);

    let with = masks.next().await;
    // The signature covers the exact bytes received (binary parts included), checked
    // before any parsing.
    assert!(signed_over_raw_bytes(&with), "the multipart signature does not verify");
    let mut tampered = with.clone();
    let mut bytes = tampered.body.to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    tampered.body = bytes.into();
    assert!(!signed_over_raw_bytes(&tampered), "a changed body still verifies");
    let parts = parse_multipart(with.header("content-type"), with.body.clone()).await;
    let names: Vec<&str> = parts.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names[0], "predictions.json");
    assert_eq!(names[1..], IMAGE_AND_MASKS);
    for (name, content_type, bytes) in &parts[2..] {
        assert_eq!(content_type, "image/png");
        assert_eq!(
            bytes,
            &fixture_bytes(&format!("instance-segmentation.{name}")),
            "{name}"
        );
    }

    let without = no_masks.next().await;
    assert_eq!(without.header("webhook-signature"), "", "no secret, no signature");
    let parts = parse_multipart(without.header("content-type"), without.body.clone()).await;
    let names: Vec<&str> = parts.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["predictions.json", "image.jpeg"]);
    weir.stop().await;
}
